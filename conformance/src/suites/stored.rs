//! What a server stores is what it was sent. A server may trim, escape, normalize, sort,
//! de-duplicate or cut what it stores, or count a length in bytes or UTF-16 units where JSON
//! Schema counts characters; none of that shows with plain ASCII names and one privilege. Each
//! case here sends a valid create whose value such a change would alter, and reads the token
//! back from the list (`stored_as_sent`); the length cases sit exactly at `maxLength` in
//! multi-byte and astral characters (accepted) and one past it (rejected, nothing changes).
//!
//! Every name starts with the scenario's prefix (so the sweep finds it): whitespace is tested
//! inside and after the name, never before it. The cases are data read from the create body's
//! schema; each names the JSON pointer of the constraint or decision it rests on.

use super::{Kind, NAME_SLOT, Scenario, Suite, name_field, valid_create_body};
use crate::api::{Contract, OperationId};
use crate::checks::{self, Failure};
use crate::context::{Ctx, Stopped};
use crate::error::RunError;
use crate::roles::Role;
use crate::transport::Auth;
use serde_json::{Map, Value, json};

/// The name of a case's token after the scenario's prefix.
#[derive(Debug, Clone)]
pub enum Name {
    /// The prefix, a label, then this text.
    Suffix(String),
    /// The prefixed name padded with `fill` to exactly `chars` characters (code points).
    PadTo { chars: usize, fill: char },
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: Name,
    /// The privileges sent (`None`: the valid body's).
    pub privileges: Option<Vec<String>>,
    /// The Content-Type sent (`None`: the documented one).
    pub content_type: Option<String>,
    /// Whether the spec accepts the body (else: 400, nothing changes).
    pub valid: bool,
    /// The constraint or decision the case rests on.
    pub pointer: String,
}

/// What the cases need to know of the create body's schema.
pub struct BodyFacts {
    pub base: Map<String, Value>,
    pub name_field: String,
    pub name_pointer: String,
    pub name_max: Option<usize>,
    pub privileges_field: Option<String>,
    pub privileges_pointer: String,
    pub content_type: String,
}

/// The create body's facts, or `None` when the spec has no name slot to vary.
pub fn body_facts(api: &Contract) -> Option<BodyFacts> {
    let body = &api.create_body;
    let base = valid_create_body(api, NAME_SLOT).as_object().cloned()?;
    let name_field = name_field(&base)?.to_owned();
    let name = body.field(&name_field)?;
    // The array of strings: where privileges go.
    let privileges = body.string_array();
    Some(BodyFacts {
        name_pointer: name.pointer.clone(),
        privileges_pointer: privileges.map(|p| p.pointer.clone()).unwrap_or_default(),
        name_max: name
            .constraints
            .max_length
            .and_then(|m| usize::try_from(m).ok()),
        privileges_field: privileges.map(|p| p.name.clone()),
        content_type: body.content_type.clone(),
        base,
        name_field,
    })
}

/// The create body's facts for a running scenario; a spec without a name slot stops it,
/// saying why.
pub fn scenario_facts(ctx: &mut Ctx<'_>) -> Result<BodyFacts, Stopped> {
    match body_facts(ctx.api()) {
        Some(f) => Ok(f),
        None => Err(ctx.step_failed("the create body has no name to vary")),
    }
}

pub fn scenarios(api: &Contract) -> Result<Vec<Scenario>, RunError> {
    let Some(f) = body_facts(api) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    name_text_cases(&f, &mut out);
    privilege_cases(&f, &mut out);
    name_length_cases(&f, &mut out);
    Ok(out)
}

/// One stored-as-sent scenario of the validation suite.
fn stored(out: &mut Vec<Scenario>, label: String, summary: String, case: Case) {
    out.push(Scenario {
        name: format!("validation/{label}"),
        suite: Suite::Validation,
        summary,
        needs: vec![],
        kind: Kind::Stored(case),
    });
}

/// Names with characters a server may trim, escape or normalize.
fn name_text_cases(f: &BodyFacts, out: &mut Vec<Scenario>) {
    let name = &f.name_field;
    // The decision "what is stored is what was sent" is cited by the description pointers.
    let name_decision = format!("{}/description", f.name_pointer);
    let mut push = |label, summary, case| stored(out, label, summary, case);
    let text = |suffix: &str| Case {
        name: Name::Suffix(suffix.to_owned()),
        privileges: None,
        content_type: None,
        valid: true,
        pointer: name_decision.clone(),
    };
    push(
        format!("stores-{name}-with-whitespace"),
        format!(
            "create with inner runs of spaces, a tab and trailing spaces in `{name}`: listed exactly as sent, not trimmed or collapsed"
        ),
        text("-two  spaces\ta-tab  "),
    );
    push(
        format!("stores-{name}-with-markup-characters"),
        format!(
            "create with `{name}` holding characters HTML, SQL, shells and MongoDB treat specially (<>&'\"%_\\;$): listed exactly as sent, not escaped"
        ),
        text("-<b>&amp;'\"%_\\;--${}`*?"),
    );
    push(
        format!("stores-{name}-in-decomposed-unicode"),
        format!(
            "create with `{name}` holding composed é, decomposed e + U+0301 and the angstrom sign U+212B: listed in the same code points (no NFC or NFD normalization)"
        ),
        text("-caf\u{e9}-cafe\u{301}-\u{212b}"),
    );
    push(
        format!("stores-{name}-outside-the-bmp"),
        format!(
            "create with `{name}` holding characters outside the Basic Multilingual Plane (U+1D11E, an emoji ZWJ sequence): listed exactly as sent"
        ),
        text("-\u{1d11e}-\u{1f469}\u{200d}\u{1f4bb}-\u{1f511}"),
    );
}

/// Privilege lists a server may sort, deduplicate or cap.
fn privilege_cases(f: &BodyFacts, out: &mut Vec<Scenario>) {
    let privileges_decision = format!("{}/description", f.privileges_pointer);
    let mut push = |label, summary, case| stored(out, label, summary, case);
    if let Some(privileges) = &f.privileges_field {
        let with = |items: Vec<String>| Case {
            name: Name::Suffix(String::new()),
            privileges: Some(items),
            content_type: None,
            valid: true,
            pointer: privileges_decision.clone(),
        };
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        push(
            format!("stores-{privileges}-in-order"),
            format!(
                "create with `{privileges}` out of alphabetical order, several sharing prefixes: listed in the order sent (a JSON array is ordered, RFC 8259 §5)"
            ),
            with(strings(&[
                "project:write",
                "organization:user:read",
                "project:read",
                "organization:user",
                "project",
            ])),
        );
        push(
            format!("stores-duplicate-{privileges}"),
            format!(
                "create with a repeated item in `{privileges}` (the schema sets no uniqueItems): listed with the duplicate, as sent"
            ),
            with(strings(&[
                "project:read",
                "organization:user:read",
                "project:read",
            ])),
        );
        // Many items, in descending order: a large but valid body, far under the body limit.
        push(
            format!("stores-many-{privileges}"),
            format!(
                "create with 300 items in `{privileges}` (the schema sets no maxItems): every one listed, in order"
            ),
            with(
                (0..300)
                    .rev()
                    .map(|i| format!("scope:{i:03}:read"))
                    .collect(),
            ),
        );
    }
}

/// Names at the length limit in characters of several widths: JSON Schema counts characters.
fn name_length_cases(f: &BodyFacts, out: &mut Vec<Scenario>) {
    let name = &f.name_field;
    let mut push = |label, summary, case| stored(out, label, summary, case);
    if let Some(max) = f.name_max {
        let pointer = format!("{}/maxLength", f.name_pointer);
        let padded = |chars: usize, fill: char, valid: bool| Case {
            name: Name::PadTo { chars, fill },
            privileges: None,
            content_type: None,
            valid,
            pointer: pointer.clone(),
        };
        push(
            format!("accepts-{name}-of-exactly-{max}-two-byte-characters"),
            format!(
                "create with `{name}` of exactly maxLength {max} characters, most of them two bytes in UTF-8 (é): accepted, since JSON Schema counts characters, not bytes"
            ),
            padded(max, '\u{e9}', true),
        );
        push(
            format!("accepts-{name}-of-exactly-{max}-astral-characters"),
            format!(
                "create with `{name}` of exactly maxLength {max} characters, most of them outside the BMP (U+1D11E: four bytes, two UTF-16 units): accepted"
            ),
            padded(max, '\u{1d11e}', true),
        );
        push(
            format!("{name}-of-{}-astral-characters", max + 1),
            format!(
                "create with `{name}` one character past maxLength {max}, in characters outside the BMP: 400, nothing changes"
            ),
            padded(max + 1, '\u{1d11e}', false),
        );
    }
}

/// The token name a case sends.
pub fn case_name(ctx: &Ctx<'_>, label: &str, name: &Name) -> String {
    let mut out = ctx.token_name(label);
    match name {
        Name::Suffix(s) => out.push_str(s),
        Name::PadTo { chars, fill } => {
            out.push('-');
            while out.chars().count() < *chars {
                out.push(*fill);
            }
        }
    }
    out
}

/// The body a case sends: the valid body with the name and privileges filled in.
pub fn case_body(f: &BodyFacts, name: &str, privileges: Option<&Vec<String>>) -> Value {
    let mut body = f.base.clone();
    body.insert(f.name_field.clone(), json!(name));
    if let (Some(field), Some(items)) = (&f.privileges_field, privileges) {
        body.insert(field.clone(), json!(items));
    }
    Value::Object(body)
}

/// Creates with `body` as raw bytes and `content_type`; returns the created token's id when
/// the create succeeded (`status_expected` has judged the status).
pub async fn create_raw(ctx: &mut Ctx<'_>, body: &Value, content_type: &str) -> Option<Value> {
    let create = ctx.api().create.clone();
    let expected: Vec<u16> = create.success_status().into_iter().collect();
    let response = ctx
        .raw(
            OperationId::CreateMyToken,
            &create.path,
            Auth::Role(Role::User),
            &[("content-type", content_type.to_owned())],
            Some(body.to_string().into_bytes()),
            &expected,
        )
        .await?;
    if !expected.contains(&response.status) {
        return None;
    }
    response.json()
}

/// Whether two JSON values say the same: equal, or two RFC 3339 date-times naming the same
/// instant (`…Z` and `…+01:00` spell one moment two ways).
pub fn same_value(a: &Value, b: &Value) -> bool {
    let instant = |v: &Value| {
        v.as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    match (instant(a), instant(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// The fields of `sent` that `token` shows otherwise, as `field: sent …, got …` lines.
pub fn differences(sent: &Value, token: &Value) -> Vec<String> {
    sent.as_object()
        .into_iter()
        .flatten()
        .filter(|(field, value)| token.get(*field).is_some_and(|v| v != *value))
        .map(|(field, value)| format!("{field}: sent {value}, got {}", token[field]))
        .collect()
}

/// Checks that the list shows the token with the id `id` with the fields of `sent`.
pub async fn check_stored(
    ctx: &mut Ctx<'_>,
    sent: &Value,
    id: &str,
    pointer: &str,
) -> Result<(), Stopped> {
    let items = ctx.list(Role::User).await.ok_or(Stopped)?;
    let result = match items.iter().find(|i| ctx.api().fields.id_of(i) == Some(id)) {
        None => Err(
            Failure::new(format!("the created token {id} is not listed"))
                .expected(format!("an item with _id {id}"))
                .actual(format!("{} items, none with that id", items.len()))
                .at(pointer.to_owned()),
        ),
        Some(listed) => {
            let changed = differences(sent, listed);
            if changed.is_empty() {
                Ok(())
            } else {
                Err(Failure::new(format!(
                    "the listed token is not stored as it was sent: {}",
                    changed.join("; ")
                ))
                .expected("every field exactly as sent")
                .actual(changed.join("; "))
                .at(pointer.to_owned()))
            }
        }
    };
    ctx.check(checks::STORED_AS_SENT, result);
    Ok(())
}

pub async fn run(case: &Case, ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let facts = scenario_facts(ctx)?;
    let name = case_name(ctx, "stored", &case.name);
    let sent = case_body(&facts, &name, case.privileges.as_ref());
    let content_type = case
        .content_type
        .clone()
        .unwrap_or_else(|| facts.content_type.clone());
    if !case.valid {
        return rejected(ctx, &sent, &content_type).await;
    }
    let created = create_raw(ctx, &sent, &content_type).await.ok_or(Stopped)?;
    let echoed = checks::echo::create_echoes(&ctx.api().fields, &sent, &created)
        .map_err(|f| f.at(case.pointer.clone()));
    ctx.check(checks::CREATE_ECHOES_REQUEST, echoed);
    if let Some(id) = ctx.api().fields.id_of(&created) {
        check_stored(ctx, &sent, id, &case.pointer).await?;
    }
    Ok(())
}

/// A body the spec rejects: the documented 400, and the list is unchanged.
async fn rejected(ctx: &mut Ctx<'_>, sent: &Value, content_type: &str) -> Result<(), Stopped> {
    let before = ctx.list_ids(Role::User).await.ok_or(Stopped)?;
    let create = ctx.api().create.clone();
    let bad_request: Vec<u16> = create
        .documented_statuses()
        .into_iter()
        .filter(|s| *s == 400)
        .collect();
    if ctx
        .raw(
            OperationId::CreateMyToken,
            &create.path,
            Auth::Role(Role::User),
            &[("content-type", content_type.to_owned())],
            Some(sent.to_string().into_bytes()),
            &bad_request,
        )
        .await
        .is_none()
    {
        return Err(Stopped);
    }
    let after = ctx.list_ids(Role::User).await.ok_or(Stopped)?;
    let result = if before == after {
        Ok(())
    } else {
        Err(Failure::new("the rejected request changed the list")
            .expected(format!("the same {} tokens", before.len()))
            .actual(format!("{} tokens", after.len())))
    };
    ctx.check(checks::REJECTION_CHANGES_NOTHING, result);
    Ok(())
}
