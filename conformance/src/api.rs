//! The API's facts as the runner needs them, read from the spec once: the three operations,
//! the access-token header. Nothing here is typed in by hand; a spec that lacks one of them
//! is a configuration error that names what is missing.

use crate::error::RunError;
use abp_spec::{Operation, Spec};

/// The three things the API does. Which operation is which comes from the spec: the one
/// operation with each HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    List,
    Create,
    Delete,
}

impl OpKind {
    pub const ALL: [OpKind; 3] = [OpKind::List, OpKind::Create, OpKind::Delete];

    /// The HTTP method that identifies the operation in the spec.
    pub fn method(self) -> &'static str {
        match self {
            OpKind::List => "GET",
            OpKind::Create => "POST",
            OpKind::Delete => "DELETE",
        }
    }

    /// A short word for scenario names (`auth/list/...`).
    pub fn label(self) -> &'static str {
        match self {
            OpKind::List => "list",
            OpKind::Create => "create",
            OpKind::Delete => "delete",
        }
    }
}

/// The operations and security facts of the spec a run tests against.
#[derive(Debug, Clone)]
pub struct Api {
    pub list: Operation,
    pub create: Operation,
    pub delete: Operation,
    /// The header of the `apiKey` security scheme: where a created secret authenticates.
    pub access_token_header: String,
    /// The pointer of that security scheme, for failure messages.
    pub access_token_pointer: String,
    /// Names of properties the spec marks `x-secret: true` (a created token's secret).
    pub secret_fields: Vec<String>,
}

impl Api {
    pub fn from_spec(spec: &Spec) -> Result<Api, RunError> {
        let operations = spec.operations();
        let find = |kind: OpKind| {
            let mut matching = operations.iter().filter(|o| o.method == kind.method());
            match (matching.next(), matching.next()) {
                (Some(op), None) => Ok(op.clone()),
                (None, _) => Err(RunError::Config(format!(
                    "the spec has no {} operation (the {} operation)",
                    kind.method(),
                    kind.label()
                ))),
                (Some(a), Some(b)) => Err(RunError::Config(format!(
                    "the spec has more than one {} operation ({} and {}); the runner needs one {} operation",
                    kind.method(),
                    a.id,
                    b.id,
                    kind.label()
                ))),
            }
        };
        let delete = find(OpKind::Delete)?;
        if delete.path_params().next().is_none() {
            return Err(RunError::Config(format!(
                "the delete operation {} has no path parameter for the token id",
                delete.id
            )));
        }
        let access_token_header = spec.api_key_header().ok_or_else(|| {
            RunError::Config(
                "the spec has no apiKey security scheme in a header (where a created secret authenticates)"
                    .into(),
            )
        })?;
        let access_token_pointer = spec
            .document()
            .pointer("/components/securitySchemes")
            .and_then(|s| s.as_object())
            .and_then(|s| {
                s.iter().find(|(_, v)| {
                    v.get("name").and_then(|n| n.as_str()) == Some(access_token_header.as_str())
                })
            })
            .map(|(k, _)| {
                format!(
                    "#/components/securitySchemes/{}",
                    abp_spec::escape_pointer(k)
                )
            })
            .unwrap_or_else(|| "#/components/securitySchemes".into());
        let mut secret_fields = Vec::new();
        secret_properties(spec, spec.document(), &mut secret_fields);
        Ok(Api {
            list: find(OpKind::List)?,
            create: find(OpKind::Create)?,
            delete,
            access_token_header,
            access_token_pointer,
            secret_fields,
        })
    }

    pub fn get(&self, kind: OpKind) -> &Operation {
        match kind {
            OpKind::List => &self.list,
            OpKind::Create => &self.create,
            OpKind::Delete => &self.delete,
        }
    }

    /// Which of the three an operationId names.
    pub fn kind_of(&self, operation_id: &str) -> Option<OpKind> {
        OpKind::ALL
            .into_iter()
            .find(|k| self.get(*k).id == operation_id)
    }
}

/// Every property name, anywhere in the spec, whose schema says `x-secret: true`.
fn secret_properties(spec: &Spec, node: &serde_json::Value, out: &mut Vec<String>) {
    match node {
        serde_json::Value::Object(map) => {
            if let Some(props) = map.get("properties").and_then(|p| p.as_object()) {
                for (name, schema) in props {
                    let (schema, _) = spec.resolve(schema, String::new());
                    if schema.get("x-secret").and_then(|v| v.as_bool()) == Some(true)
                        && !out.contains(name)
                    {
                        out.push(name.clone());
                    }
                }
            }
            for v in map.values() {
                secret_properties(spec, v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                secret_properties(spec, v, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_spec_names_every_operation() {
        let api = Api::from_spec(&Spec::embedded()).unwrap();
        assert_eq!(api.list.method, "GET");
        assert!(api.delete.path.contains('{'));
        assert!(!api.access_token_header.is_empty());
        assert_eq!(api.secret_fields.len(), 1, "{:?}", api.secret_fields);
        assert!(Spec::embedded().lookup(&api.access_token_pointer).is_some());
    }
}
