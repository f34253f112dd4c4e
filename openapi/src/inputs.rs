//! Inputs derived from the spec for the runner's reach engine: the token properties that a
//! create request does not carry (the server sets them: the id, the owner, the timestamps, the
//! expiry, the secret, anything else the token shows), each with the shape of a value a
//! client could send in their place. A server that takes such a value from the request body
//! has a mass-assignment bug (OWASP API Security Top 10 2023, API3).
//!
//! Found by structure, like the field roles: every property of the create answer's token
//! schema that the create body's schema does not have, `$ref`s and `allOf` followed.

use crate::{Spec, SpecError, TokenFields};
use serde_json::Value;

/// What kind of value a server-set field holds, so a look-alike can be made for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// The token's id; `example` is the id schema's example (or empty).
    Id { example: String },
    /// The created secret; `example` is the create answer's example value, when the spec has
    /// one.
    Secret { example: Option<String> },
    /// The owner's id (`x-owner`).
    Owner,
    /// A `format: date-time` string.
    DateTime,
    /// An object.
    Object,
    /// An array.
    Array,
    /// An integer.
    Integer,
    /// A number.
    Number,
    /// A boolean: a look-alike cannot be told from a server's own choice, so none is sent.
    Boolean,
    /// Any other string.
    Text,
}

/// A property of the token that the create body does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSet {
    pub field: String,
    /// The property's pointer in the token schema.
    pub pointer: String,
    pub shape: Shape,
}

impl Spec {
    /// The token's properties that the create body's schema lacks, in the token schema's
    /// order (sorted by name).
    pub fn server_set_fields(&self, fields: &TokenFields) -> Result<Vec<ServerSet>, SpecError> {
        let operations = self.operations();
        let create = operations
            .iter()
            .find(|o| o.body.is_some())
            .ok_or_else(|| SpecError::Invalid {
                pointer: "#/paths".into(),
                message: "no operation has a request body (a create)".into(),
            })?;
        let body = create.body.as_ref().expect("found by its body");
        let request: Vec<String> = self
            .properties_of(&body.schema, &body.pointer)
            .into_iter()
            .map(|(name, _, _)| name)
            .collect();
        let token_schema = self.lookup(&fields.schema).cloned().unwrap_or(Value::Null);
        let example = create
            .success_status()
            .and_then(|s| create.response(s))
            .and_then(|r| {
                let at = format!("{}/content", r.pointer);
                self.lookup(&at)?.as_object()?.values().find_map(|media| {
                    media
                        .get("example")?
                        .get(&fields.secret)?
                        .as_str()
                        .map(str::to_owned)
                })
            });
        let mut out = Vec::new();
        for (name, schema, pointer) in self.properties_of(&token_schema, &fields.schema) {
            if request.contains(&name) {
                continue;
            }
            let home = self.home_of(&schema, pointer.clone());
            let resolved = self.lookup(&home).unwrap_or(&schema);
            let kind = resolved.get("type").and_then(Value::as_str).unwrap_or("");
            let format = resolved.get("format").and_then(Value::as_str);
            let shape = if name == fields.id {
                Shape::Id {
                    example: resolved
                        .get("example")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                }
            } else if name == fields.secret {
                Shape::Secret {
                    example: example.clone(),
                }
            } else if name == fields.owner {
                Shape::Owner
            } else if format == Some("date-time") {
                Shape::DateTime
            } else {
                match kind {
                    "object" => Shape::Object,
                    "array" => Shape::Array,
                    "integer" => Shape::Integer,
                    "number" => Shape::Number,
                    "boolean" => Shape::Boolean,
                    _ => Shape::Text,
                }
            };
            out.push(ServerSet {
                field: name,
                pointer,
                shape,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_spec_has_every_read_only_field_of_the_token_with_its_shape() {
        let spec = Spec::embedded();
        let fields = spec.token_fields().unwrap();
        let set = spec.server_set_fields(&fields).unwrap();
        let by_field = |f: &str| set.iter().find(|s| s.field == f).map(|s| s.shape.clone());
        assert!(matches!(by_field(&fields.id), Some(Shape::Id { example }) if example.len() == 24));
        assert!(
            matches!(by_field(&fields.secret), Some(Shape::Secret { example: Some(e) }) if e.starts_with("uat_"))
        );
        assert_eq!(by_field(&fields.owner), Some(Shape::Owner));
        for t in &fields.timestamps {
            assert_eq!(by_field(t), Some(Shape::DateTime), "{t}");
        }
        // What the create body carries is not server-set.
        for sent in [&fields.name, &fields.privileges, &fields.lifetime] {
            assert_eq!(by_field(sent), None, "{sent}");
        }
        // Every other property of the token is.
        assert_eq!(set.len(), fields.properties.len() - 2, "{set:?}");
    }
}
