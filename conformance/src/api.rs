//! The API's facts as the runner needs them, read from the spec once: the operations, the
//! access-token header, the secret fields. Nothing here is typed in by hand: the operations are
//! the enum `cargo xtask regenerate` writes from the spec (`abp_spec::OperationId`), bound to
//! the spec by `operationId`, and a spec whose operations differ from it is refused by name.

use crate::error::RunError;
pub use abp_spec::OperationId;
use abp_spec::{Operation, Spec};

/// The runner's word for each operation, in scenario names (`auth/list/...`). The match is
/// exhaustive: an operation added to the spec must be named here, and handled wherever the
/// runner matches on it (the auth suite's calls, [`Api::get`]).
pub trait Label {
    fn label(self) -> &'static str;
}

impl Label for OperationId {
    fn label(self) -> &'static str {
        match self {
            OperationId::ListMyTokens => "list",
            OperationId::CreateMyToken => "create",
            OperationId::DeleteMyToken => "delete",
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
    /// A token's fields by role (id, name, lifetime, …): the runner never types a name.
    pub fields: abp_spec::TokenFields,
}

impl Api {
    pub fn from_spec(spec: &Spec) -> Result<Api, RunError> {
        let operations = spec
            .bind_operations()
            .map_err(|e| RunError::Config(e.to_string()))?;
        let delete = operations.get(OperationId::DeleteMyToken).clone();
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
        let fields = spec
            .token_fields()
            .map_err(|e| RunError::Config(e.to_string()))?;
        let mut secret_fields = Vec::new();
        secret_properties(spec, spec.document(), &mut secret_fields);
        Ok(Api {
            list: operations.get(OperationId::ListMyTokens).clone(),
            create: operations.get(OperationId::CreateMyToken).clone(),
            delete,
            access_token_header,
            access_token_pointer,
            secret_fields,
            fields,
        })
    }

    pub fn get(&self, kind: OperationId) -> &Operation {
        match kind {
            OperationId::ListMyTokens => &self.list,
            OperationId::CreateMyToken => &self.create,
            OperationId::DeleteMyToken => &self.delete,
        }
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
