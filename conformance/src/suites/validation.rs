//! The validation suite, generated from the spec: for the create body, every required field
//! missing, every wrong JSON type of every field (and of array items), enum values outside the
//! enum, strings outside their length bounds; malformed, empty, mistyped and oversized bodies;
//! for path parameters, values that break their pattern. Each must get the documented 400
//! (413 accepted for an oversized body) and leave the list unchanged.

use super::{Kind, NAME_SLOT, Scenario, Suite, name_field, valid_create_body};
use crate::api::{Contract, OperationId};
use crate::checks::{self, Failure};
use crate::context::{Ctx, Stopped};
use crate::error::RunError;
use crate::roles::Role;
use crate::transport::Auth;
use abp_spec::JsonType;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub enum Case {
    /// A create request with this body.
    Body {
        body: Vec<u8>,
        content_type: Option<String>,
        accept: Vec<u16>,
        /// The name, when the case is about its length: the prefixed name padded to this
        /// many characters (so even an over-long name a server wrongly keeps is sweepable).
        name_chars: Option<usize>,
    },
    /// A delete of this (malformed) id.
    TokenId {
        param: String,
        id: String,
        accept: Vec<u16>,
    },
    /// A method the spec does not document on the path of `kind`'s operation.
    Method {
        kind: OperationId,
        method: String,
        /// The methods the spec documents on that path.
        documented: Vec<String>,
    },
}

/// Whether an undocumented method is probed on every path: each method of OpenAPI's Path Item
/// Object but OPTIONS (answered by the CORS layer in front of many APIs), HEAD (which follows
/// GET, RFC 9110 section 9.3.2) and TRACE (usually refused by the proxy before the API sees it).
fn probed(method: &str) -> bool {
    !matches!(method, "options" | "head" | "trace")
}

/// One scenario per method the spec does not document on each of its paths. What is documented
/// is every operation the spec has on the path, so an operation added to the spec is never
/// probed for a 405.
fn undocumented_methods(api: &Contract) -> Vec<Scenario> {
    let operations: Vec<&abp_spec::Operation> = api.operations().map(|(_, op)| op).collect();
    let mut out = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for kind in OperationId::ALL {
        let path = api.operation(kind).path.as_str();
        if seen.contains(&path) {
            continue;
        }
        seen.push(path);
        let documented: Vec<String> = operations
            .iter()
            .filter(|op| op.path == path)
            .map(|op| op.method.to_ascii_uppercase())
            .collect();
        let label = path
            .trim_matches('/')
            .replace('/', "-")
            .replace(['{', '}'], "");
        for method in abp_spec::PATH_ITEM_METHODS
            .into_iter()
            .filter(|m| probed(m))
        {
            let method = method.to_ascii_uppercase();
            if documented.contains(&method) {
                continue;
            }
            out.push(Scenario {
                name: format!("validation/method-{}-{label}", method.to_ascii_lowercase()),
                suite: Suite::Validation,
                summary: format!(
                    "{method} {path}, which the spec does not document, answers 405 with Allow: {}",
                    documented.join(", ")
                ),
                needs: vec![],
                kind: Kind::Validation(Case::Method {
                    kind,
                    method,
                    documented: documented.clone(),
                }),
            });
        }
    }
    out
}

/// A JSON value of each type, to put where another type belongs.
/// A value of each JSON type.
fn samples() -> [(JsonType, Value); 7] {
    JsonType::ALL.map(|t| {
        let v = match t {
            JsonType::String => json!("wrong"),
            JsonType::Integer => json!(7),
            JsonType::Number => json!(1.5),
            JsonType::Boolean => json!(true),
            JsonType::Array => json!([]),
            JsonType::Object => json!({}),
            JsonType::Null => Value::Null,
        };
        (t, v)
    })
}

pub fn scenarios(api: &Contract) -> Result<Vec<Scenario>, RunError> {
    let create = &api.create;
    let request = &api.create_body;
    let bad_request: Vec<u16> = create.response(400).map(|_| 400).into_iter().collect();
    let base = valid_create_body(api, NAME_SLOT);
    let base_map = base.as_object().cloned().unwrap_or_default();

    let mut out = Vec::new();
    // The over-long name case: its scenario and the length to pad the prefixed name to.
    let mut long_name: Option<(String, usize)> = None;
    let mut push = |label: String,
                    summary: String,
                    body: Vec<u8>,
                    content_type: Option<&str>,
                    accept: Vec<u16>| {
        out.push(Scenario {
            name: format!("validation/{label}"),
            suite: Suite::Validation,
            summary,
            needs: vec![],
            kind: Kind::Validation(Case::Body {
                body,
                content_type: content_type.map(str::to_owned),
                accept,
                name_chars: None,
            }),
        });
    };
    let json_body = |v: &Value| serde_json::to_vec(v).unwrap_or_default();
    let ct = Some(request.content_type.as_str());

    for field in &request.required {
        let mut body = base_map.clone();
        body.remove(field);
        push(
            format!("missing-{field}"),
            format!("create without the required `{field}`"),
            json_body(&Value::Object(body)),
            ct,
            bad_request.clone(),
        );
    }

    for f in &request.fields {
        let field = &f.name;
        let Some(field_type) = f.json_type() else {
            continue;
        };
        for (sample_type, sample) in samples() {
            if field_type.admits(sample_type) {
                continue;
            }
            let (sample_type, field_type) = (sample_type.name(), field_type.name());
            let mut body = base_map.clone();
            body.insert(field.clone(), sample);
            push(
                format!("{field}-as-{sample_type}"),
                format!("create with `{field}` as {sample_type} (the spec says {field_type})"),
                json_body(&Value::Object(body)),
                ct,
                bad_request.clone(),
            );
        }
        if field_type == JsonType::Array
            && let Some(items) = &f.items
        {
            let item_type = items.json_type;
            for (sample_type, sample) in samples() {
                if item_type.is_some_and(|t| t.admits(sample_type)) {
                    continue;
                }
                let item_type = item_type.map_or("", JsonType::name);
                let sample_type = sample_type.name();
                // For arrays, nest the field's own example: the docs' defect, reproduced.
                let sample = match (sample_type, base_map.get(field)) {
                    ("array", Some(Value::Array(example))) if !example.is_empty() => {
                        json!([example.clone()])
                    }
                    _ => json!([sample]),
                };
                let mut body = base_map.clone();
                body.insert(field.clone(), sample);
                push(
                    format!("{field}-items-as-{sample_type}"),
                    format!(
                        "create with `{field}` items as {sample_type} (the spec says {item_type})"
                    ),
                    json_body(&Value::Object(body)),
                    ct,
                    bad_request.clone(),
                );
            }
        }
        let values = &f.constraints.enumeration;
        if !values.is_empty() {
            let first = values.first().and_then(Value::as_str).unwrap_or("value");
            let candidates = [
                ("unknown".to_owned(), format!("not-a-{field}")),
                ("uppercase".to_owned(), first.to_uppercase()),
                ("empty".to_owned(), String::new()),
            ];
            for (label, candidate) in candidates {
                if values
                    .iter()
                    .any(|v| v.as_str() == Some(candidate.as_str()))
                {
                    continue;
                }
                let mut body = base_map.clone();
                body.insert(field.clone(), json!(candidate));
                push(
                    format!("{field}-outside-enum-{label}"),
                    format!("create with `{field}` = {candidate:?}, not in the enum"),
                    json_body(&Value::Object(body)),
                    ct,
                    bad_request.clone(),
                );
            }
        }
        if field_type == JsonType::String {
            if let Some(min) = f.constraints.min_length.filter(|m| *m > 0) {
                let mut body = base_map.clone();
                body.insert(field.clone(), json!("x".repeat(min as usize - 1)));
                push(
                    format!("{field}-shorter-than-{min}"),
                    format!("create with `{field}` shorter than minLength {min}"),
                    json_body(&Value::Object(body)),
                    ct,
                    bad_request.clone(),
                );
            }
            if let Some(max) = f.constraints.max_length {
                let mut body = base_map.clone();
                let name_chars =
                    (Some(field.as_str()) == name_field(&base_map)).then_some(max as usize + 1);
                let value = match name_chars {
                    Some(_) => json!(NAME_SLOT),
                    None => json!("x".repeat(max as usize + 1)),
                };
                body.insert(field.clone(), value);
                push(
                    format!("{field}-longer-than-{max}"),
                    format!("create with `{field}` longer than maxLength {max}"),
                    json_body(&Value::Object(body)),
                    ct,
                    bad_request.clone(),
                );
                if let Some(n) = name_chars {
                    long_name = Some((format!("validation/{field}-longer-than-{max}"), n));
                }
            }
        }
    }

    let valid = json_body(&base);
    let mut malformed = valid.clone();
    malformed.truncate(malformed.len().saturating_sub(1));
    push(
        "malformed-json".into(),
        "create with a truncated JSON body".into(),
        malformed,
        ct,
        bad_request.clone(),
    );
    push(
        "empty-body".into(),
        "create with an empty body".into(),
        Vec::new(),
        ct,
        bad_request.clone(),
    );
    push(
        "wrong-content-type".into(),
        "create with a valid JSON body sent as text/plain".into(),
        valid.clone(),
        Some("text/plain"),
        bad_request.clone(),
    );
    if let Some(max) = request.max_bytes {
        let mut accept = bad_request.clone();
        accept.extend(create.response(413).map(|_| 413));
        let mut body = base_map.clone();
        body.insert("padding".into(), json!(""));
        let overhead = json_body(&Value::Object(body.clone())).len() as u64;
        let pad = (max + 1).saturating_sub(overhead) as usize;
        body.insert("padding".into(), json!("x".repeat(pad)));
        push(
            format!("body-over-{max}-bytes"),
            format!(
                "create with a {}-byte body (x-max-body-bytes is {max})",
                max + 1
            ),
            json_body(&Value::Object(body)),
            ct,
            accept,
        );
    }

    if let Some((scenario, chars)) = long_name {
        for s in out.iter_mut().filter(|s| s.name == scenario) {
            if let Kind::Validation(Case::Body { name_chars, .. }) = &mut s.kind {
                *name_chars = Some(chars);
            }
        }
    }

    // Path parameters: mutate the example until it breaks the schema.
    {
        let delete = &api.delete;
        let accept: Vec<u16> = delete.response(400).map(|_| 400).into_iter().collect();
        {
            let param_name = &api.token_id_param;
            let example = api.token_id_example.clone().unwrap_or_else(|| "0".into());
            let validator = &api.token_id_validator;
            // By characters, not bytes: the example comes from the spec, which may be anyone's.
            let non_hex: String = std::iter::once('z')
                .chain(example.chars().skip(1))
                .collect();
            let mut short = example.clone();
            short.pop();
            let candidates = [
                ("short", short),
                ("long", format!("{example}0")),
                ("non-hex", non_hex),
            ];
            for (label, id) in candidates {
                if id.is_empty() || validator.is_valid(&json!(id)) {
                    continue;
                }
                out.push(Scenario {
                    name: format!("validation/{param_name}-{label}"),
                    suite: Suite::Validation,
                    summary: format!("delete with {param_name} = {id:?}, which breaks its schema"),
                    needs: vec![],
                    kind: Kind::Validation(Case::TokenId {
                        param: param_name.clone(),
                        id,
                        accept: accept.clone(),
                    }),
                });
            }
        }
    }
    out.extend(undocumented_methods(api));
    Ok(out)
}

pub async fn run(case: &Case, ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    // The list judged is this scenario's own tokens, and it has none before its request: a
    // list before would always be empty, and only a create can add to it, so only the body
    // cases list afterwards.
    let auth = Auth::Role(Role::User);
    match case {
        Case::Body {
            body,
            content_type,
            accept,
            name_chars,
        } => {
            let mut name = ctx.token_name("validation");
            if let Some(n) = name_chars {
                while name.chars().count() < *n {
                    name.push('x');
                }
            }
            let body = String::from_utf8_lossy(body)
                .replace(NAME_SLOT, &name)
                .into_bytes();
            let mut headers = Vec::new();
            if let Some(ct) = content_type {
                headers.push(("content-type", ct.clone()));
            }
            let path = ctx.api().create.path.clone();
            if ctx
                .raw(
                    OperationId::CreateMyToken,
                    &path,
                    auth,
                    &headers,
                    Some(body),
                    accept,
                )
                .await
                .is_none()
            {
                return Err(Stopped);
            }
        }
        Case::Method {
            kind,
            method,
            documented,
        } => {
            let op = ctx.api().operation(*kind);
            let path = if op.path_params().next().is_some() {
                op.path_with(&crate::roles::random_hex(12))
            } else {
                op.path.clone()
            };
            let answer = ctx
                .undocumented(*kind, method, &path, Auth::Role(Role::User))
                .await
                .ok_or(Stopped)?;
            let verdict = checks::semantics::method_not_allowed(method, &path, documented, &answer);
            ctx.check(checks::METHOD_NOT_ALLOWED, verdict);
            return Ok(());
        }
        Case::TokenId { param, id, accept } => {
            // Sent as it is: the point is a value that breaks the parameter's schema.
            let path = ctx.api().delete.path.replace(&format!("{{{param}}}"), id);
            ctx.raw(OperationId::DeleteMyToken, &path, auth, &[], None, accept)
                .await;
            return Ok(());
        }
    }
    let after = ctx.list_ids(Role::User).await.ok_or(Stopped)?;
    let result = if after.is_empty() {
        Ok(())
    } else {
        Err(Failure::new("the rejected request changed the list")
            .expected("no token of this scenario")
            .actual(format!("added {}", json!(after))))
    };
    ctx.check(checks::REJECTION_CHANGES_NOTHING, result);
    Ok(())
}
