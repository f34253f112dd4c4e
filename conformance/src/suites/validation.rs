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
use abp_spec::{BodyField, JsonType};
use serde_json::{Map, Value, json};

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
    let mut d = Derivation::new(api);
    d.missing_required();
    for field in &api.create_body.fields {
        let Some(field_type) = field.json_type() else {
            continue;
        };
        d.wrong_types(field, field_type);
        d.coercible_look_alikes(field, field_type);
        if field_type == JsonType::Array {
            d.wrong_item_types(field);
        }
        d.outside_enum(field);
        if field_type == JsonType::String {
            d.length_bounds(field);
        }
    }
    d.malformed_bodies();
    let mut out = d.finish();
    out.extend(token_id_cases(api));
    out.extend(undocumented_methods(api));
    Ok(out)
}

/// The body cases as they are derived: each step mutates the valid create body and pushes
/// its scenarios, in the order the list shows them.
struct Derivation<'a> {
    api: &'a Contract,
    /// The valid create body, its name field filled with [`NAME_SLOT`].
    base: Value,
    base_map: Map<String, Value>,
    /// The documented 400 of the create, when there is one.
    bad_request: Vec<u16>,
    out: Vec<Scenario>,
    /// The over-long name case: its scenario and the length to pad the prefixed name to.
    long_name: Option<(String, usize)>,
}

fn json_body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

impl<'a> Derivation<'a> {
    fn new(api: &'a Contract) -> Self {
        let base = valid_create_body(api, NAME_SLOT);
        Derivation {
            api,
            base_map: base.as_object().cloned().unwrap_or_default(),
            base,
            bad_request: api.create.response(400).map(|_| 400).into_iter().collect(),
            out: Vec::new(),
            long_name: None,
        }
    }

    fn push(
        &mut self,
        label: String,
        summary: String,
        body: Vec<u8>,
        content_type: Option<&str>,
        accept: Vec<u16>,
    ) {
        self.out.push(Scenario {
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
    }

    /// A body sent with the documented content type, which must get the documented 400.
    fn rejected(&mut self, label: String, summary: String, body: Vec<u8>) {
        let content_type = self.api.create_body.content_type.as_str();
        self.push(
            label,
            summary,
            body,
            Some(content_type),
            self.bad_request.clone(),
        );
    }

    /// The valid body with `field` set to `value`.
    fn with(&self, field: &str, value: Value) -> Vec<u8> {
        let mut body = self.base_map.clone();
        body.insert(field.to_owned(), value);
        json_body(&Value::Object(body))
    }

    /// Every required field missing, one at a time.
    fn missing_required(&mut self) {
        for field in &self.api.create_body.required {
            let mut body = self.base_map.clone();
            body.remove(field);
            self.rejected(
                format!("missing-{field}"),
                format!("create without the required `{field}`"),
                json_body(&Value::Object(body)),
            );
        }
    }

    /// The field as each JSON type its type does not admit.
    fn wrong_types(&mut self, f: &BodyField, field_type: JsonType) {
        let field = &f.name;
        for (sample_type, sample) in samples() {
            if field_type.admits(sample_type) {
                continue;
            }
            let (sample_type, field_type) = (sample_type.name(), field_type.name());
            let body = self.with(field, sample);
            self.rejected(
                format!("{field}-as-{sample_type}"),
                format!("create with `{field}` as {sample_type} (the spec says {field_type})"),
                body,
            );
        }
    }

    /// Look-alikes a lenient stack coerces into the declared type (Mongoose casts a string to
    /// an array of one, query-string parsers take the first of an array, JSON text gets parsed
    /// twice): the property's own valid value, wrapped or unwrapped. Each is a wrong type all
    /// the same, so 400, and nothing stored.
    fn coercible_look_alikes(&mut self, f: &BodyField, field_type: JsonType) {
        let field = &f.name;
        let Some(valid) = self.base_map.get(field).cloned() else {
            return;
        };
        let mut cases = Vec::new();
        match (field_type, &valid) {
            (JsonType::Array, Value::Array(items)) => {
                if let Some(first) = items.first() {
                    cases.push((
                        "one-bare-item",
                        first.clone(),
                        "its first valid item, not in an array",
                    ));
                }
                cases.push((
                    "json-text",
                    Value::String(valid.to_string()),
                    "its valid value written as JSON text",
                ));
            }
            (JsonType::Array, _) => {}
            (_, value) => cases.push((
                "array-of-one",
                json!([value]),
                "its valid value in an array of one",
            )),
        }
        for (label, sample, what) in cases {
            let body = self.with(field, sample);
            self.rejected(
                format!("{field}-as-{label}"),
                format!(
                    "create with `{field}` as {what} (the spec says {}; a coercing server takes it)",
                    field_type.name()
                ),
                body,
            );
        }
    }

    /// An array field with one item of each JSON type its items' type does not admit.
    fn wrong_item_types(&mut self, f: &BodyField) {
        let field = &f.name;
        let Some(items) = &f.items else {
            return;
        };
        let item_type = items.json_type;
        for (sample_type, sample) in samples() {
            if item_type.is_some_and(|t| t.admits(sample_type)) {
                continue;
            }
            let item_type = item_type.map_or("", JsonType::name);
            // For arrays, nest the field's own example: the docs' defect, reproduced.
            let sample = match (sample_type, self.base_map.get(field)) {
                (JsonType::Array, Some(Value::Array(example))) if !example.is_empty() => {
                    json!([example.clone()])
                }
                _ => json!([sample]),
            };
            let sample_type = sample_type.name();
            let body = self.with(field, sample);
            self.rejected(
                format!("{field}-items-as-{sample_type}"),
                format!("create with `{field}` items as {sample_type} (the spec says {item_type})"),
                body,
            );
        }
    }

    /// An enum field with an unknown value, the first value upper-cased and the empty string,
    /// each unless the enum lists it.
    fn outside_enum(&mut self, f: &BodyField) {
        let field = &f.name;
        let values = &f.constraints.enumeration;
        if values.is_empty() {
            return;
        }
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
            let body = self.with(field, json!(candidate));
            self.rejected(
                format!("{field}-outside-enum-{label}"),
                format!("create with `{field}` = {candidate:?}, not in the enum"),
                body,
            );
        }
    }

    /// A string field one character shorter than its minimum and one longer than its maximum.
    /// The over-long name is the prefixed run name padded at run time, so that even a name a
    /// server wrongly keeps is swept.
    fn length_bounds(&mut self, f: &BodyField) {
        let field = &f.name;
        if let Some(min) = f.constraints.min_length.filter(|m| *m > 0) {
            let body = self.with(field, json!("x".repeat(min as usize - 1)));
            self.rejected(
                format!("{field}-shorter-than-{min}"),
                format!("create with `{field}` shorter than minLength {min}"),
                body,
            );
        }
        if let Some(max) = f.constraints.max_length {
            let name_chars =
                (Some(field.as_str()) == name_field(&self.base_map)).then_some(max as usize + 1);
            let value = match name_chars {
                Some(_) => json!(NAME_SLOT),
                None => json!("x".repeat(max as usize + 1)),
            };
            let body = self.with(field, value);
            self.rejected(
                format!("{field}-longer-than-{max}"),
                format!("create with `{field}` longer than maxLength {max}"),
                body,
            );
            if let Some(n) = name_chars {
                self.long_name = Some((format!("validation/{field}-longer-than-{max}"), n));
            }
        }
    }

    /// Bodies wrong as a whole: truncated JSON, no body, valid JSON sent as text, and a body
    /// one byte over `x-max-body-bytes` (where a 413 is accepted too).
    fn malformed_bodies(&mut self) {
        let ct = Some(self.api.create_body.content_type.as_str());
        let valid = json_body(&self.base);
        let mut malformed = valid.clone();
        malformed.truncate(malformed.len().saturating_sub(1));
        self.rejected(
            "malformed-json".into(),
            "create with a truncated JSON body".into(),
            malformed,
        );
        self.rejected(
            "empty-body".into(),
            "create with an empty body".into(),
            Vec::new(),
        );
        self.push(
            "wrong-content-type".into(),
            "create with a valid JSON body sent as text/plain".into(),
            valid.clone(),
            Some("text/plain"),
            self.bad_request.clone(),
        );
        if let Some(max) = self.api.create_body.max_bytes {
            let mut accept = self.bad_request.clone();
            accept.extend(self.api.create.response(413).map(|_| 413));
            let mut body = self.base_map.clone();
            body.insert("padding".into(), json!(""));
            let overhead = json_body(&Value::Object(body.clone())).len() as u64;
            let pad = (max + 1).saturating_sub(overhead) as usize;
            body.insert("padding".into(), json!("x".repeat(pad)));
            self.push(
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
    }

    /// The body scenarios, the over-long name case told how long to pad the name.
    fn finish(mut self) -> Vec<Scenario> {
        if let Some((scenario, chars)) = self.long_name {
            for s in self.out.iter_mut().filter(|s| s.name == scenario) {
                if let Kind::Validation(Case::Body { name_chars, .. }) = &mut s.kind {
                    *name_chars = Some(chars);
                }
            }
        }
        self.out
    }
}

/// Path parameters: the example mutated (shortened, lengthened, its first character made
/// non-hex) until it breaks the schema. A mutation the schema still accepts is no case.
fn token_id_cases(api: &Contract) -> Vec<Scenario> {
    let accept: Vec<u16> = api.delete.response(400).map(|_| 400).into_iter().collect();
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
    let mut out = Vec::new();
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
    out
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
