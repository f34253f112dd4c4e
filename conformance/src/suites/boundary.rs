//! Valid inputs at the edges of what the spec allows, read from the create body's schema: a
//! string exactly at its `maxLength`, a body exactly at `x-max-body-bytes`, unicode, an
//! escaped name, a `charset` parameter, surrounding whitespace, an empty array, a property the
//! schema does not name (it does not forbid extra properties). Each must be accepted with the
//! documented success and echoed faithfully; the runner then deletes it. The invalid side of
//! each boundary is the validation suite's. Every case names the constraint's JSON pointer,
//! and every name it sends carries the scenario's prefix, so nothing escapes the sweep.

use super::{Kind, NAME_SLOT, Scenario, Suite, name_field, valid_create_body};
use crate::api::{Contract, OperationId};
use crate::checks;
use crate::context::{Ctx, Stopped};
use crate::error::RunError;
use crate::roles::Role;
use crate::transport::Auth;
use abp_spec::{BodyModel, JsonType};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone)]
pub struct Case {
    /// The body, with the name slot (`{{run-name}}`) where the name goes.
    pub body: String,
    /// What follows the prefixed name (unicode, padding to a length).
    pub name_suffix: NameSuffix,
    pub content_type: String,
    /// The constraint the case sits on.
    pub pointer: String,
}

#[derive(Debug, Clone)]
pub enum NameSuffix {
    Text(String),
    /// Pad the prefixed name to exactly this many characters.
    PadTo(usize),
}

pub fn scenarios(api: &Contract) -> Result<Vec<Scenario>, RunError> {
    let request = &api.create_body;
    let base = valid_create_body(api, NAME_SLOT);
    let Some(base) = base.as_object().cloned() else {
        return Ok(Vec::new());
    };
    let Some(name_field) = name_field(&base).map(str::to_owned) else {
        return Ok(Vec::new());
    };
    let Some(name) = request.field(&name_field) else {
        return Ok(Vec::new());
    };
    let ct = request.content_type.clone();
    let text = |m: &Map<String, Value>| Value::Object(m.clone()).to_string();
    let mut out = Vec::new();
    let mut push = |label: &str, summary, case| accepts(&mut out, label, summary, case);

    if let Some(max) = name.constraints.max_length {
        push(
            &format!("{name_field}-of-exactly-{max}"),
            format!("create with `{name_field}` exactly at maxLength {max}: accepted and echoed"),
            Case {
                body: text(&base),
                name_suffix: NameSuffix::PadTo(max as usize),
                content_type: ct.clone(),
                pointer: format!("{}/maxLength", name.pointer),
            },
        );
    }
    push(
        &format!("unicode-{name_field}"),
        format!(
            "create with a `{name_field}` in several scripts and an emoji (UTF-8): echoed byte for byte"
        ),
        Case {
            body: text(&base),
            name_suffix: NameSuffix::Text("-ünïcødé-名前-🔑".into()),
            content_type: ct.clone(),
            pointer: name.pointer.clone(),
        },
    );
    push(
        &format!("escaped-{name_field}"),
        format!(
            "create with `{name_field}` written with JSON escapes (RFC 8259 §7): echoed decoded"
        ),
        Case {
            // `\u00e9` and `\/` decode to `é` and `/`.
            body: text(&base).replace(NAME_SLOT, &format!("{NAME_SLOT}-caf\\u00e9-a\\/b")),
            name_suffix: NameSuffix::Text(String::new()),
            content_type: ct.clone(),
            pointer: name.pointer.clone(),
        },
    );
    push(
        "charset-parameter",
        format!("create with Content-Type `{ct}; charset=utf-8` (RFC 9110 §8.3): accepted"),
        Case {
            body: text(&base),
            name_suffix: NameSuffix::Text(String::new()),
            content_type: format!("{ct}; charset=utf-8"),
            pointer: request.pointer.clone(),
        },
    );
    push(
        "surrounding-whitespace",
        "create with whitespace around the JSON value (RFC 8259 §2): accepted".into(),
        Case {
            body: format!(" \n\t{}\r\n ", text(&base)),
            name_suffix: NameSuffix::Text(String::new()),
            content_type: ct.clone(),
            pointer: request.pointer.clone(),
        },
    );
    shape_cases(request, &base, &ct, &mut out);
    Ok(out)
}

/// One valid-input scenario of the validation suite.
fn accepts(out: &mut Vec<Scenario>, label: &str, summary: String, case: Case) {
    out.push(Scenario {
        name: format!("validation/accepts-{label}"),
        suite: Suite::Validation,
        summary,
        needs: vec![],
        kind: Kind::Boundary(case),
    });
}

/// The body's shape at its edges: a property the schema does not name, empty arrays, and the
/// largest body the server must take.
fn shape_cases(request: &BodyModel, base: &Map<String, Value>, ct: &str, out: &mut Vec<Scenario>) {
    let text = |m: &Map<String, Value>| Value::Object(m.clone()).to_string();
    let ct = ct.to_owned();
    let mut push = |label: &str, summary, case| accepts(out, label, summary, case);
    if !request.closed {
        let mut extra = base.clone();
        extra.insert("x-extra-property".into(), json!("ignored"));
        push(
            "unknown-property",
            "create with a property the schema does not name (it does not forbid others): accepted"
                .into(),
            Case {
                body: text(&extra),
                name_suffix: NameSuffix::Text(String::new()),
                content_type: ct.clone(),
                pointer: request.schema_pointer.clone(),
            },
        );
    }
    for f in &request.fields {
        if f.json_type() != Some(JsonType::Array) {
            continue;
        }
        let field = &f.name;
        if f.constraints.min_items.unwrap_or(0) == 0 {
            let mut empty = base.clone();
            empty.insert(field.clone(), json!([]));
            push(
                &format!("empty-{field}"),
                format!(
                    "create with `{field}` as an empty array (no minItems): accepted, echoed empty"
                ),
                Case {
                    body: text(&empty),
                    name_suffix: NameSuffix::Text(String::new()),
                    content_type: ct.clone(),
                    pointer: f.pointer.clone(),
                },
            );
        }
    }
    // The largest body a server must accept: a string item of an array grown to the limit.
    if let (Some(max), Some(field)) = (request.max_bytes, request.string_array()) {
        let mut body = base.clone();
        body.insert(field.name.clone(), json!([""]));
        // The name is filled in at run time; its length is fixed (prefix + label), so the
        // padding is computed for the final size.
        push(
            &format!("body-of-exactly-{max}-bytes"),
            format!("create with a body of exactly {max} bytes (x-max-body-bytes): accepted"),
            Case {
                body: text(&body),
                name_suffix: NameSuffix::Text(String::new()),
                content_type: ct.clone(),
                pointer: format!(
                    "{}/x-max-body-bytes",
                    request
                        .pointer
                        .rsplit_once("/content/")
                        .map_or(request.pointer.as_str(), |(b, _)| b)
                ),
            },
        );
    }
}

/// The body as sent: the name filled in, and for the at-the-limit case padded to the limit.
fn body_for(case: &Case, name: &str, max_bytes: Option<u64>) -> Vec<u8> {
    let mut body = case.body.replace(NAME_SLOT, name);
    if case.pointer.ends_with("/x-max-body-bytes")
        && let Some(max) = max_bytes
    {
        // `[""]` holds the padding; every added `x` adds one byte.
        let missing = (max as usize).saturating_sub(body.len());
        body = body.replacen("[\"\"]", &format!("[\"{}\"]", "x".repeat(missing)), 1);
    }
    body.into_bytes()
}

pub async fn run(case: &Case, ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let mut name = ctx.token_name("boundary");
    match &case.name_suffix {
        NameSuffix::Text(t) => name.push_str(t),
        NameSuffix::PadTo(n) => {
            while name.chars().count() < *n {
                name.push('x');
            }
        }
    }
    let create = ctx.api().create.clone();
    let body = body_for(case, &name, create.body.as_ref().and_then(|b| b.max_bytes));
    let sent: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let expected: Vec<u16> = create.success_status().into_iter().collect();
    let headers = [("content-type", case.content_type.clone())];
    let response = ctx
        .raw(
            OperationId::CreateMyToken,
            &create.path,
            Auth::Role(Role::User),
            &headers,
            Some(body),
            &expected,
        )
        .await
        .ok_or(Stopped)?;
    if !expected.contains(&response.status) {
        // status_expected has said it; the echo means nothing without a token.
        return Ok(());
    }
    let got = response.json().unwrap_or(Value::Null);
    let result = checks::echo::create_echoes(&ctx.api().fields, &sent, &got)
        .map_err(|f| f.at(case.pointer.clone()));
    ctx.check(checks::CREATE_ECHOES_REQUEST, result);
    // What was stored, read back: the list must show it as sent.
    if let Some(id) = ctx.api().fields.id_of(&got).map(str::to_owned) {
        super::stored::check_stored(ctx, &sent, &id, &case.pointer).await?;
    }
    Ok(())
}
