//! The roles of a token's fields, read from the spec: which property of the token schema is
//! the id, the secret, the owner, the expiry and the field the lifetime runs from, and which
//! properties of the create body are the name, the lifetime and the privileges.
//!
//! The runner reads property names from here and never types one, so a field renamed in the
//! spec changes what it reads, or is refused here with the pointer of the schema at fault.
//! The roles are found by structure and by the spec's extensions (TRANSCRIPTION.md, "Field
//! roles"), never by a property's name.

use crate::{LIFETIME_SCHEMA, Operation, RequestBody, Spec, SpecError, escape_pointer};
use serde_json::{Map, Value};

/// A token's fields by role. The create body's fields are echoed under the same names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFields {
    /// The token's id: the property whose schema is the delete path parameter's.
    pub id: String,
    /// The created secret: the property marked `x-secret: true`.
    pub secret: String,
    /// The create body's name: its required string property that is not the lifetime.
    pub name: String,
    /// The create body's lifetime: the property that refers to the lifetime enum.
    pub lifetime: String,
    /// The create body's privileges: its array property.
    pub privileges: String,
    /// The token's owner: the property marked `x-owner: true`.
    pub owner: String,
    /// The token's expiry: the property with `x-expires-from`.
    pub expires: String,
    /// The field the lifetime runs from: the value of `x-expires-from`.
    pub created: String,
    /// Every `format: date-time` property of the token, sorted by name.
    pub timestamps: Vec<String>,
    /// Every property of the token schema (`allOf` followed), sorted by name.
    pub properties: Vec<String>,
    /// The pointer of the token schema (`#/components/schemas/UserAccessToken`).
    pub schema: String,
}

/// The property names an object schema's `required` lists, in its order.
pub(crate) fn required_of(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn invalid(pointer: &str, message: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        pointer: pointer.to_owned(),
        message: message.into(),
    }
}

impl Spec {
    /// The properties of an object schema with the pointer of each, `$ref`s and `allOf`
    /// followed (sorted by name within each schema).
    pub(crate) fn properties_of(&self, schema: &Value, at: &str) -> Vec<(String, Value, String)> {
        let (schema, at) = self.resolve(schema, at.to_owned());
        let mut out = Vec::new();
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, p) in props {
                let here = format!("{at}/properties/{}", escape_pointer(name));
                out.push((name.clone(), p.clone(), here));
            }
        }
        for (i, member) in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            out.extend(self.properties_of(member, &format!("{at}/allOf/{i}")));
        }
        out
    }

    /// Where a property's schema lives once `$ref`s and a one-member `allOf` are followed
    /// (`_id: {allOf: [$ref ObjectId]}` lives at the ObjectId schema).
    pub(crate) fn home_of(&self, schema: &Value, at: String) -> String {
        let (schema, at) = self.resolve(schema, at);
        match schema.get("allOf").and_then(Value::as_array) {
            Some(members) if members.len() == 1 => self.home_of(&members[0], at),
            _ => at,
        }
    }

    /// The fields of a token by role. Errors name the schema a role was looked for in.
    pub fn token_fields(&self) -> Result<TokenFields, SpecError> {
        let operations = self.operations();
        let create = operations
            .iter()
            .find(|o| o.body.is_some())
            .ok_or_else(|| invalid("#/paths", "no operation has a request body (a create)"))?;
        let body = create.body.as_ref().expect("found by its body");
        let token = self.token_schema(create)?;
        let secret = token.marked(self, "x-secret")?;
        let owner = token.marked(self, "x-owner")?;
        let expires = token.marked(self, "x-expires-from")?;
        let created = token.expires_from(self, &expires)?;
        let id = self.id_property(&operations, &token)?;
        let timestamps = token.timestamps(self);
        let request = self.request_roles(body)?;
        for echoed in [&request.name, &request.lifetime, &request.privileges] {
            if echoed != &request.lifetime && !token.has(echoed) {
                return Err(invalid(
                    &token.at,
                    format!("the token does not echo the create body's `{echoed}`"),
                ));
            }
        }
        Ok(TokenFields {
            id,
            secret,
            name: request.name,
            lifetime: request.lifetime,
            privileges: request.privileges,
            owner,
            expires,
            created,
            timestamps,
            properties: token
                .properties
                .into_iter()
                .map(|(name, _, _)| name)
                .collect(),
            schema: token.at,
        })
    }

    /// The token schema: the schema of the create's success answer.
    fn token_schema(&self, create: &Operation) -> Result<TokenSchema, SpecError> {
        let success = create
            .success_status()
            .ok_or_else(|| invalid(&format!("{}/responses", create.pointer), "no 2xx response"))?;
        let answer = create
            .response(success)
            .and_then(|r| r.content.iter().find_map(|(_, s)| s.clone()))
            .ok_or_else(|| {
                invalid(
                    &format!("{}/responses/{success}", create.pointer),
                    "the create's answer has no schema",
                )
            })?;
        let at = format!("{}/responses/{success}", create.pointer);
        let properties = self.properties_of(&answer, &at);
        let (_, at) = self.resolve(&answer, at);
        Ok(TokenSchema { properties, at })
    }

    /// The token's id: its property whose schema is the first path parameter's (the delete's).
    fn id_property(
        &self,
        operations: &[Operation],
        token: &TokenSchema,
    ) -> Result<String, SpecError> {
        let path_param = operations
            .iter()
            .flat_map(|o| o.path_params())
            .next()
            .ok_or_else(|| invalid("#/paths", "no operation has a path parameter (a token id)"))?;
        let id_home = self.home_of(&path_param.schema, format!("{}/schema", path_param.pointer));
        token
            .properties
            .iter()
            .find(|(_, p, at)| self.home_of(p, at.clone()) == id_home)
            .map(|(name, _, _)| name.clone())
            .ok_or_else(|| {
                invalid(
                    &token.at,
                    format!(
                        "no property of the token has the schema of the path parameter `{}` ({id_home})",
                        path_param.name
                    ),
                )
            })
    }

    /// The create body's roles, found by structure: the property referring to the lifetime
    /// schema, the required string property that is not it, and the array property.
    fn request_roles(&self, body: &RequestBody) -> Result<RequestRoles, SpecError> {
        let request = self.properties_of(&body.schema, &body.pointer);
        let (request_schema, request_at) = self.resolve(&body.schema, body.pointer.clone());
        let required = required_of(request_schema);
        let lifetime = request
            .iter()
            .find(|(_, p, at)| self.home_of(p, at.clone()) == LIFETIME_SCHEMA)
            .map(|(name, _, _)| name.clone())
            .ok_or_else(|| {
                invalid(
                    &request_at,
                    format!("no property of the create body refers to {LIFETIME_SCHEMA}"),
                )
            })?;
        let typed = |wanted: &'static str| {
            request.iter().filter(move |(_, p, _)| {
                let (p, _) = self.resolve(p, String::new());
                p.get("type").and_then(Value::as_str) == Some(wanted)
            })
        };
        let name = typed("string")
            .find(|(name, _, _)| *name != lifetime && required.contains(&name.as_str()))
            .map(|(name, _, _)| name.clone())
            .ok_or_else(|| {
                invalid(
                    &request_at,
                    "no required string property of the create body but the lifetime (a name)",
                )
            })?;
        let privileges = typed("array")
            .map(|(name, _, _)| name.clone())
            .next()
            .ok_or_else(|| {
                invalid(
                    &request_at,
                    "no array property of the create body (the privileges)",
                )
            })?;
        Ok(RequestRoles {
            name,
            lifetime,
            privileges,
        })
    }
}

/// A property of a schema: its name, its schema and its pointer.
type Property = (String, Value, String);

/// The token schema's properties (`allOf` followed) and where it lives.
struct TokenSchema {
    properties: Vec<Property>,
    at: String,
}

/// The create body's fields by role.
struct RequestRoles {
    name: String,
    lifetime: String,
    privileges: String,
}

impl TokenSchema {
    /// Whether the token has this property.
    fn has(&self, name: &str) -> bool {
        self.properties.iter().any(|(n, _, _)| n == name)
    }

    /// The one property whose schema carries `key` (with any value but `false`).
    fn marked(&self, spec: &Spec, key: &str) -> Result<String, SpecError> {
        let found: Vec<&String> = self
            .properties
            .iter()
            .filter(|(_, p, _)| {
                let (p, _) = spec.resolve(p, String::new());
                p.get(key).is_some_and(|v| v != &Value::Bool(false))
            })
            .map(|(name, _, _)| name)
            .collect();
        match found[..] {
            [one] => Ok(one.clone()),
            [] => Err(invalid(
                &self.at,
                format!("no property of the token carries `{key}`"),
            )),
            _ => Err(invalid(
                &self.at,
                format!("more than one property of the token carries `{key}`: {found:?}"),
            )),
        }
    }

    /// The field the lifetime runs from: the `x-expires-from` of the expiry, which must name
    /// another property of the token.
    fn expires_from(&self, spec: &Spec, expires: &str) -> Result<String, SpecError> {
        let expires_at = &self
            .properties
            .iter()
            .find(|(name, _, _)| *name == expires)
            .expect("found among them")
            .2;
        self.properties
            .iter()
            .find(|(name, _, _)| *name == expires)
            .and_then(|(_, p, _)| {
                let (p, _) = spec.resolve(p, String::new());
                p.get("x-expires-from")?.as_str().map(str::to_owned)
            })
            .filter(|from| self.has(from))
            .ok_or_else(|| {
                invalid(
                    &format!("{expires_at}/x-expires-from"),
                    "not the name of another property of the token",
                )
            })
    }

    /// Every `format: date-time` property, in the properties' order.
    fn timestamps(&self, spec: &Spec) -> Vec<String> {
        self.properties
            .iter()
            .filter(|(_, p, _)| {
                let (p, _) = spec.resolve(p, String::new());
                p.get("format").and_then(Value::as_str) == Some("date-time")
            })
            .map(|(name, _, _)| name.clone())
            .collect()
    }
}

impl TokenFields {
    /// The pointer of a property of the token schema, for failure messages.
    pub fn pointer(&self, field: &str) -> String {
        format!("{}/properties/{}", self.schema, escape_pointer(field))
    }

    /// A string field of a JSON object.
    pub fn text<'v>(&self, object: &'v Value, field: &str) -> Option<&'v str> {
        object.get(field).and_then(Value::as_str)
    }

    /// The id of a token object.
    pub fn id_of<'v>(&self, token: &'v Value) -> Option<&'v str> {
        self.text(token, &self.id)
    }

    /// The name of a token object.
    pub fn name_of<'v>(&self, token: &'v Value) -> Option<&'v str> {
        self.text(token, &self.name)
    }

    /// A create body with these values (privileges left out when `None`).
    pub fn create_body(&self, name: &str, lifetime: &str, privileges: Option<&[String]>) -> Value {
        let mut body = Map::new();
        body.insert(self.name.clone(), Value::from(name));
        body.insert(self.lifetime.clone(), Value::from(lifetime));
        if let Some(p) = privileges {
            body.insert(self.privileges.clone(), Value::from(p.to_vec()));
        }
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_spec_gives_every_role_a_field() {
        let f = Spec::embedded().token_fields().unwrap();
        assert_eq!(
            [
                &f.id,
                &f.secret,
                &f.name,
                &f.lifetime,
                &f.privileges,
                &f.owner,
                &f.expires,
                &f.created
            ],
            [
                "_id",
                "token",
                "name",
                "lifetime",
                "privileges",
                "userId",
                "expiresOn",
                "createdAt"
            ]
        );
        assert_eq!(f.timestamps, ["createdAt", "expiresOn", "updatedAt"]);
        assert!(f.properties.contains(&"organizationId".to_owned()));
        assert!(Spec::embedded().lookup(&f.pointer(&f.expires)).is_some());
    }

    /// A renamed field is read under its new name: nothing in the tools holds the old one.
    #[test]
    fn a_renamed_field_is_read_under_its_new_name() {
        let text = crate::EMBEDDED_YAML
            .replace("        _id:\n", "        id:\n")
            .replace("        - _id\n", "        - id\n");
        let f = Spec::parse(&text).unwrap().token_fields().unwrap();
        assert_eq!(f.id, "id");
    }

    #[test]
    fn a_role_without_a_field_is_refused_with_the_schema() {
        let text = crate::EMBEDDED_YAML.replace("          x-owner: true\n", "");
        let e = Spec::parse(&text)
            .unwrap()
            .token_fields()
            .unwrap_err()
            .to_string();
        assert!(e.contains("#/components/schemas/UserAccessToken"), "{e}");
        assert!(e.contains("`x-owner`"), "{e}");
        let text =
            crate::EMBEDDED_YAML.replace("x-expires-from: createdAt", "x-expires-from: bornAt");
        let e = Spec::parse(&text)
            .unwrap()
            .token_fields()
            .unwrap_err()
            .to_string();
        assert!(e.contains("x-expires-from"), "{e}");
    }
}
