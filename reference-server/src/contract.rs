//! The contract as the server acts on it: `abp_spec::Contract` (the spec compiled once, shared
//! by every crate) seen through axum's types: where each operation lives, how callers
//! authenticate, what a valid request is and which statuses the answers carry.
//!
//! Nothing here reads the spec: every fact comes from the compiled contract, which refuses a
//! spec it cannot describe with the JSON pointer of the node at fault. Handlers are bound to
//! the operations of `abp_spec::OperationId`, the enum `cargo xtask regenerate` writes from the
//! spec, so the router's exhaustive match fails to compile when the spec gains an operation,
//! and a spec whose operations differ from the enum is refused at start-up by name. The
//! security schemes are matched exhaustively too: a scheme the server cannot serve fails the
//! build here.

use crate::error::ServerError;
use abp_spec::{JsonType, Operation, SecurityScheme, Server};
use axum::http::{HeaderName, Method, StatusCode};
use std::sync::Arc;

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

/// The server's view of the compiled contract, built once at start-up.
pub(crate) struct Contract {
    /// The compiled contract every other fact here is derived from, and that the handlers ask
    /// for the rest (lifetimes, the token's fields, the validators).
    pub spec: Arc<abp_spec::Contract>,
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
    /// The create body's string properties that have a maximum length, with it.
    pub string_max_lengths: Vec<(String, usize)>,
    /// The largest create body accepted (the spec's body limit).
    pub body_limit: usize,
    /// The status for a well-formed id that names none of the caller's tokens.
    pub unknown_id_status: StatusCode,
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
fn base_path(servers: &[Server]) -> Result<String, ServerError> {
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

/// The bearer scheme's word and the API-key header: the server serves one of each. Two
/// schemes of a kind that disagree would leave one unserved, so the second is refused by its
/// pointer.
fn security(schemes: &[SecurityScheme]) -> Result<(String, HeaderName), ServerError> {
    let mut bearer: Option<&String> = None;
    let mut header: Option<(&String, &String)> = None;
    for scheme in schemes {
        let (first, value) = match scheme {
            SecurityScheme::Bearer { word, .. } => (*bearer.get_or_insert(word), word),
            SecurityScheme::ApiKeyHeader {
                header: name,
                pointer,
                ..
            } => (header.get_or_insert((name, pointer)).0, name),
        };
        if !first.eq_ignore_ascii_case(value) {
            return Err(invalid(
                scheme.pointer(),
                format!(
                    "the server serves one scheme of this kind, and `{}` ({value}) differs \
                     from the first ({first})",
                    scheme.key()
                ),
            ));
        }
    }
    // The compiled contract holds at least one of each.
    const AT: &str = "#/components/securitySchemes";
    let word = bearer.ok_or_else(|| invalid(AT, "no bearer scheme"))?;
    let (name, at) = header.ok_or_else(|| invalid(AT, "no API-key header scheme"))?;
    let header = HeaderName::try_from(name.as_str())
        .map_err(|_| invalid(at, format!("`{name}` is not a header name")))?;
    Ok((word.to_owned(), header))
}

impl Contract {
    /// The contract of the embedded spec.
    pub fn embedded() -> Result<Contract, ServerError> {
        Contract::from_compiled(abp_spec::Contract::embedded())
    }

    /// Derives the server's contract from a compiled one, refusing a contract the server
    /// cannot serve by the pointer at fault.
    pub fn from_compiled(spec: Arc<abp_spec::Contract>) -> Result<Contract, ServerError> {
        let body = &spec.create_body;
        let body_limit = body
            .max_bytes
            .and_then(|b| usize::try_from(b).ok())
            .ok_or_else(|| invalid(&body.pointer, "the create body states no size limit"))?;
        let string_max_lengths = body
            .fields
            .iter()
            .filter(|f| f.json_type() == Some(JsonType::String))
            .filter_map(|f| {
                let max = usize::try_from(f.constraints.max_length?).ok()?;
                Some((f.name.clone(), max))
            })
            .collect();

        let delete = &spec.delete;
        let param = delete.path_params().next().ok_or_else(|| {
            invalid(
                &delete.pointer,
                format!("{} has no path parameter", delete.id),
            )
        })?;
        let unknown_id_status = delete.unknown_id_status.ok_or_else(|| {
            invalid(
                &delete.pointer,
                format!("{} states no status for an unknown id", delete.id),
            )
        })?;
        let unknown_id_status = status(unknown_id_status, &delete.pointer)?;

        let (bearer_scheme, access_token_header) = security(&spec.schemes)?;

        // Every status the handlers answer with must be documented.
        let auth = [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN];
        documents(&spec.list, &auth)?;
        documents(
            &spec.create,
            &[
                &auth[..],
                &[StatusCode::BAD_REQUEST, StatusCode::PAYLOAD_TOO_LARGE],
            ]
            .concat(),
        )?;
        documents(
            delete,
            &[&auth[..], &[StatusCode::BAD_REQUEST, unknown_id_status]].concat(),
        )?;

        Ok(Contract {
            base_path: base_path(&spec.servers)?,
            list: endpoint(&spec.list)?,
            create: endpoint(&spec.create)?,
            delete: endpoint(delete)?,
            bearer_scheme,
            access_token_header,
            token_id_param: param.name.clone(),
            string_max_lengths,
            body_limit,
            unknown_id_status,
            spec,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abp_spec::Spec;
    use serde_json::json;

    /// Compiles `spec` and derives the server's contract from it.
    fn from_spec(spec: Spec) -> Result<Contract, ServerError> {
        Contract::from_compiled(Arc::new(abp_spec::Contract::compile(spec)?))
    }

    #[test]
    fn facts_come_from_the_compiled_contract() {
        let c = Contract::embedded().unwrap();
        for (e, op) in [
            (&c.list, &c.spec.list),
            (&c.create, &c.spec.create),
            (&c.delete, &c.spec.delete),
        ] {
            assert_eq!((e.method.as_str(), &e.path), (op.method.as_str(), &op.path));
        }
        assert!(c.spec.servers.iter().all(|s| s.url.ends_with(&c.base_path)));
        assert!(c.delete.path.contains(&format!("{{{}}}", c.token_id_param)));
        assert_eq!(c.spec.challenge_schemes(), vec![c.bearer_scheme.clone()]);
        assert_eq!(c.access_token_header.as_str(), c.spec.access_token_header);
        assert!(!c.string_max_lengths.is_empty());
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
        let e = from_spec(spec).err().unwrap().to_string();
        assert!(e.contains("`listOtherTokens` (GET /elsewhere)"), "{e}");
    }

    /// Two API-key headers would leave one unserved: refused by the pointer of the second.
    #[test]
    fn a_second_api_key_header_is_refused_by_pointer() {
        let mut doc = Spec::embedded().document().clone();
        doc["components"]["securitySchemes"]["zzOther"] =
            json!({"type": "apiKey", "in": "header", "name": "x-other-key"});
        let spec = Spec::parse(&doc.to_string()).unwrap();
        let e = from_spec(spec).err().unwrap().to_string();
        assert!(e.contains("securitySchemes/zzOther"), "{e}");
    }
}
