//! OpenAPI 3.0 schema objects compiled into JSON Schema validators.
//!
//! OpenAPI 3.0 schemas are a dialect of JSON Schema draft 4/5: the same keywords plus
//! `nullable`, `readOnly`, `example` and `x-` extensions. We translate `nullable` into a type
//! union, keep the rest (unknown keywords are ignored by JSON Schema), and validate with the
//! `jsonschema` crate against a root document that carries the spec's `components`, so every
//! `#/components/...` reference resolves exactly as it does in the spec.

use crate::{Spec, SpecError};
use serde_json::{Map, Value, json};

/// A compiled validator for one schema of the spec.
pub struct SchemaValidator {
    validator: jsonschema::Validator,
    /// Where the schema is defined, for messages.
    pub pointer: String,
}

/// One way an instance breaks a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON pointer into the instance (`""` for the root).
    pub instance_path: String,
    /// Where in the schema the failing keyword is, relative to the compiled root.
    pub schema_path: String,
    pub message: String,
    /// The property a `required` keyword found missing; `None` for any other violation.
    pub missing_property: Option<String>,
}

impl std::fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.instance_path.is_empty() {
            "/"
        } else {
            &self.instance_path
        };
        write!(f, "at {at}: {}", self.message)
    }
}

impl SchemaValidator {
    /// Every violation, in the validator's order; empty means valid.
    pub fn violations(&self, instance: &Value) -> Vec<SchemaViolation> {
        self.validator
            .iter_errors(instance)
            .map(|e| SchemaViolation {
                instance_path: e.instance_path().to_string(),
                schema_path: e.schema_path().to_string(),
                message: e.to_string(),
                missing_property: match e.kind() {
                    jsonschema::error::ValidationErrorKind::Required { property } => Some(
                        property
                            .as_str()
                            .map_or_else(|| property.to_string(), str::to_owned),
                    ),
                    _ => None,
                },
            })
            .collect()
    }

    pub fn is_valid(&self, instance: &Value) -> bool {
        self.validator.is_valid(instance)
    }
}

impl Spec {
    /// Compiles `schema` (a schema object of this spec, possibly a `$ref`) found at `pointer`.
    pub fn validator(&self, schema: &Value, pointer: &str) -> Result<SchemaValidator, SpecError> {
        let components = self
            .doc
            .get("components")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let root = json!({
            "allOf": [to_json_schema(schema)],
            "components": to_json_schema(&components),
        });
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| SpecError::Invalid {
                pointer: pointer.to_owned(),
                message: format!("schema does not compile: {e}"),
            })?;
        Ok(SchemaValidator {
            validator,
            pointer: pointer.to_owned(),
        })
    }
}

/// Rewrites the OpenAPI-only keyword `nullable: true` as a JSON Schema type union.
fn to_json_schema(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), to_json_schema(v)))
                .collect();
            if out.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = out.get("type").cloned() {
                    out.insert("type".into(), json!([t, "null"]));
                }
                if let Some(Value::Array(values)) = out.get_mut("enum") {
                    values.push(Value::Null);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_validator() -> SchemaValidator {
        let spec = Spec::embedded();
        spec.validator(
            &json!({"$ref": "#/components/schemas/UserAccessToken"}),
            "#/components/schemas/UserAccessToken",
        )
        .unwrap()
    }

    fn good_token() -> Value {
        json!({
            "_id": "63ea10b94a472e003305232b", "name": "n", "token": "t",
            "privileges": ["project:read"], "userId": "u", "organizationId": "o",
            "expiresOn": "2025-12-06T01:49:03.391Z", "createdAt": "2025-12-06T01:49:03.391Z",
            "updatedAt": "2025-12-06T01:49:03.391Z"
        })
    }

    #[test]
    fn a_documented_token_validates() {
        assert!(token_validator().violations(&good_token()).is_empty());
    }

    #[test]
    fn violations_name_the_field() {
        let mut token = good_token();
        token["createdAt"] = json!("yesterday");
        token.as_object_mut().unwrap().remove("userId");
        token["_id"] = json!("xyz");
        let v = token_validator().violations(&token);
        let paths: Vec<_> = v.iter().map(|v| v.instance_path.as_str()).collect();
        assert!(paths.contains(&"/createdAt"), "{v:#?}");
        assert!(paths.contains(&"/_id"), "{v:#?}");
        assert!(v.iter().any(|v| v.message.contains("userId")), "{v:#?}");
    }

    #[test]
    fn nullable_becomes_a_type_union() {
        let spec = Spec::parse("openapi: 3.0.3\ncomponents: {}\n").unwrap();
        let v = spec
            .validator(&json!({"type": "string", "nullable": true}), "#")
            .unwrap();
        assert!(v.is_valid(&Value::Null));
        assert!(v.is_valid(&json!("x")));
        assert!(!v.is_valid(&json!(1)));
    }
}
