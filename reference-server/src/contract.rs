//! The contract facts the server acts on, read once from the spec: where each operation lives,
//! how callers authenticate, what a valid request is and what a correct answer says.
//!
//! Nothing here is typed in by hand. Handlers are bound to the operations of
//! `abp_spec::OperationId`, the enum `cargo xtask regenerate` writes from the spec, so the
//! router's exhaustive match fails to compile when the spec gains an operation, and a spec
//! whose operations differ from the enum is refused at start-up by name. Any other spec the
//! server cannot serve is refused with the JSON pointer of the node at fault.

use crate::ServerError;
use abp_spec::{Lifetime, Operation, OperationId, SchemaValidator, Spec};
use axum::http::{HeaderName, Method, StatusCode};
use serde_json::Value;

/// One operation as the router and the handlers need it.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub method: Method,
    /// The spec's path template relative to the base path, e.g. `/me/tokens/{tokenId}`; axum
    /// uses the same `{name}` syntax.
    pub path: String,
    /// The documented 2xx status.
    pub success: StatusCode,
}

/// The facts of the embedded spec, computed once.
pub(crate) struct Contract {
    /// The path every server URL of the spec shares, e.g. `/api/v1`.
    pub base_path: String,
    pub list: Endpoint,
    pub create: Endpoint,
    pub delete: Endpoint,
    /// The HTTP authentication scheme of the bearer security scheme (`Authorization: <scheme>
    /// <credential>`), compared without regard to case as RFC 9110 requires.
    pub bearer_scheme: String,
    /// The header of the API-key security scheme that carries a created token's secret.
    pub access_token_header: HeaderName,
    /// The name of the delete operation's path parameter.
    pub token_id_param: String,
    pub token_id_validator: SchemaValidator,
    /// The media type of the create body.
    pub create_content_type: String,
    pub create_validator: SchemaValidator,
    /// The create body's string properties that have a `maxLength`, with it.
    pub string_max_lengths: Vec<(String, usize)>,
    /// The largest create body accepted: the spec's `x-max-body-bytes`.
    pub body_limit: usize,
    /// The status for a well-formed id that names none of the caller's tokens
    /// (`x-unknown-id-status`).
    pub unknown_id_status: StatusCode,
    /// The create body's property whose schema is the lifetime enum.
    pub lifetime_property: String,
    /// The lifetime enum in spec order, each with its duration.
    pub lifetimes: Vec<Lifetime>,
    /// The lifetime the spec gives as the example of the create body's `lifetime`.
    pub example_lifetime: Lifetime,
    /// A token's fields by role (what the faults of `taken.rs` read from a body).
    pub fields: abp_spec::TokenFields,
}

fn invalid(pointer: &str, message: impl Into<String>) -> ServerError {
    ServerError::Spec(abp_spec::SpecError::Invalid {
        pointer: pointer.into(),
        message: message.into(),
    })
}

fn status(code: u16, pointer: &str) -> Result<StatusCode, ServerError> {
    StatusCode::from_u16(code).map_err(|_| invalid(pointer, format!("{code} is not a status")))
}

/// Checks that the operation documents every status the server can answer with.
fn documents(op: &Operation, statuses: &[StatusCode]) -> Result<(), ServerError> {
    let documented = op.documented_statuses();
    match statuses.iter().find(|s| !documented.contains(&s.as_u16())) {
        Some(s) => Err(invalid(
            &format!("{}/responses", op.pointer),
            format!("{} does not document {s}, which the server answers", op.id),
        )),
        None => Ok(()),
    }
}

fn endpoint(op: &Operation) -> Result<Endpoint, ServerError> {
    let success = op
        .success_status()
        .ok_or_else(|| invalid(&format!("{}/responses", op.pointer), "no 2xx response"))?;
    let method = Method::from_bytes(op.method.as_bytes())
        .map_err(|_| invalid(&op.pointer, format!("{} is not an HTTP method", op.method)))?;
    Ok(Endpoint {
        method,
        path: op.path.clone(),
        success: status(success, &op.pointer)?,
    })
}

/// The path part of a URL (`https://host/api/v1` → `/api/v1`).
fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("", |i| after_scheme[i..].trim_end_matches('/'))
}

/// The path every server of the spec shares.
fn base_path(spec: &Spec) -> Result<String, ServerError> {
    let servers = spec.servers();
    let first = servers
        .first()
        .ok_or_else(|| invalid("#/servers", "no servers"))?;
    let path = url_path(&first.url);
    match servers.iter().position(|s| url_path(&s.url) != path) {
        Some(i) => Err(invalid(
            &format!("#/servers/{i}/url"),
            format!("the servers disagree on the base path (`{path}` first)"),
        )),
        None => Ok(path.to_owned()),
    }
}

/// The security schemes the server implements: an HTTP scheme (its scheme name) and an API key
/// in a header (its header name).
fn security(spec: &Spec) -> Result<(String, HeaderName), ServerError> {
    const AT: &str = "#/components/securitySchemes";
    let schemes = spec
        .lookup(AT)
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(AT, "no security schemes"))?;
    let text = |s: &Value, key: &str| s.get(key).and_then(Value::as_str).map(str::to_owned);
    let http = schemes
        .values()
        .find(|s| text(s, "type").as_deref() == Some("http"))
        .and_then(|s| text(s, "scheme"))
        .ok_or_else(|| invalid(AT, "no http security scheme"))?;
    let header = schemes
        .iter()
        .find(|(_, s)| {
            text(s, "type").as_deref() == Some("apiKey")
                && text(s, "in").as_deref() == Some("header")
        })
        .and_then(|(key, s)| Some((key, text(s, "name")?)))
        .ok_or_else(|| invalid(AT, "no apiKey security scheme in a header"))?;
    let name = HeaderName::try_from(header.1.as_str()).map_err(|_| {
        invalid(
            &format!("{AT}/{}/name", abp_spec::escape_pointer(header.0)),
            "not a header name",
        )
    })?;
    Ok((http, name))
}

impl Contract {
    /// Reads the facts of the embedded spec.
    pub fn embedded() -> Result<Contract, ServerError> {
        Contract::from_spec(&Spec::embedded())
    }

    pub fn from_spec(spec: &Spec) -> Result<Contract, ServerError> {
        let operations = spec.bind_operations()?;
        let list_op = operations.get(OperationId::ListMyTokens);
        let create_op = operations.get(OperationId::CreateMyToken);
        let delete_op = operations.get(OperationId::DeleteMyToken);

        let body = create_op.body.clone().ok_or_else(|| {
            invalid(
                &create_op.pointer,
                format!("{} has no request body", create_op.id),
            )
        })?;
        let create_validator = spec.validator(&body.schema, &body.pointer)?;
        let body_limit = body
            .max_bytes
            .and_then(|b| usize::try_from(b).ok())
            .ok_or_else(|| invalid(&body.pointer, "the create body has no x-max-body-bytes"))?;

        let lifetimes = spec.lifetimes()?;
        // The lifetime property's example names the lifetime the faults fall back to.
        let (request_schema, _) = spec.resolve(&body.schema, body.pointer.clone());
        let (lifetime_property, lifetime_schema) = request_schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, p)| (name, spec.resolve(p, String::new())))
            .find(|(_, (_, at))| at == abp_spec::LIFETIME_SCHEMA)
            .map(|(name, (schema, _))| (name.clone(), schema))
            .ok_or_else(|| {
                invalid(
                    &body.pointer,
                    format!("no property refers to {}", abp_spec::LIFETIME_SCHEMA),
                )
            })?;
        let string_max_lengths = request_schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(name, p)| {
                let (p, _) = spec.resolve(p, String::new());
                let max = p.get("maxLength").and_then(Value::as_u64)?;
                Some((name.clone(), usize::try_from(max).ok()?))
            })
            .collect();
        let example_name = lifetime_schema.get("example").and_then(Value::as_str);
        let example_lifetime = lifetimes
            .iter()
            .find(|l| Some(l.name.as_str()) == example_name)
            .or_else(|| lifetimes.first())
            .cloned()
            .ok_or_else(|| invalid(abp_spec::LIFETIME_SCHEMA, "no lifetimes"))?;

        let param = delete_op
            .params
            .iter()
            .find(|p| p.location == "path")
            .ok_or_else(|| {
                invalid(
                    &delete_op.pointer,
                    format!("{} has no path parameter", delete_op.id),
                )
            })?;
        let token_id_validator = spec.validator(&param.schema, &param.pointer)?;
        let unknown_id_status = delete_op.unknown_id_status.ok_or_else(|| {
            invalid(
                &delete_op.pointer,
                format!("{} has no x-unknown-id-status", delete_op.id),
            )
        })?;
        let unknown_id_status = status(unknown_id_status, &delete_op.pointer)?;

        let (bearer_scheme, access_token_header) = security(spec)?;

        // Every status the handlers answer with must be documented.
        let auth = [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN];
        documents(list_op, &auth)?;
        documents(
            create_op,
            &[
                &auth[..],
                &[StatusCode::BAD_REQUEST, StatusCode::PAYLOAD_TOO_LARGE],
            ]
            .concat(),
        )?;
        documents(
            delete_op,
            &[&auth[..], &[StatusCode::BAD_REQUEST, unknown_id_status]].concat(),
        )?;

        Ok(Contract {
            base_path: base_path(spec)?,
            list: endpoint(list_op)?,
            create: endpoint(create_op)?,
            delete: endpoint(delete_op)?,
            bearer_scheme,
            access_token_header,
            token_id_param: param.name.clone(),
            token_id_validator,
            create_content_type: body.content_type.clone(),
            create_validator,
            string_max_lengths,
            body_limit,
            unknown_id_status,
            lifetime_property,
            lifetimes,
            example_lifetime,
            fields: spec.token_fields().map_err(ServerError::Spec)?,
        })
    }

    /// The lifetime with this name.
    pub fn lifetime(&self, name: &str) -> Option<&Lifetime> {
        self.lifetimes.iter().find(|l| l.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_come_from_the_spec() {
        let spec = Spec::embedded();
        let c = Contract::from_spec(&spec).unwrap();
        let ops = spec.operations();
        for e in [&c.list, &c.create, &c.delete] {
            assert!(
                ops.iter()
                    .any(|o| o.path == e.path && o.method == e.method.as_str()),
                "{e:?}"
            );
        }
        assert!(spec.servers().iter().all(|s| s.url.ends_with(&c.base_path)));
        assert!(c.delete.path.contains(&format!("{{{}}}", c.token_id_param)));
        assert!(c.lifetimes.len() >= 2);
        assert!(c.lifetimes.contains(&c.example_lifetime));
    }

    #[test]
    fn url_paths() {
        assert_eq!(url_path("https://h.example/a/b/"), "/a/b");
        assert_eq!(url_path("http://h:1"), "");
    }

    /// A spec with an operation this build has no handler for is refused by name, rather
    /// than served with a 405 for it.
    #[test]
    fn a_spec_with_an_operation_the_server_does_not_know_is_refused_by_name() {
        let mut doc = Spec::embedded().document().clone();
        let paths = doc["paths"].as_object_mut().unwrap();
        let (_, item) = paths.iter().next().unwrap();
        let mut item = item.clone();
        item["get"]["operationId"] = "listOtherTokens".into();
        paths.insert("/elsewhere".into(), item);
        let spec = Spec::parse(&doc.to_string()).unwrap();
        let e = Contract::from_spec(&spec).err().unwrap().to_string();
        assert!(e.contains("`listOtherTokens` (GET /elsewhere)"), "{e}");
    }
}
