//! Relations between the fields of one token, checked on every token any response shows (each
//! create answer and each list item), not only in the scenarios that look at one token: a token
//! is not updated before it was created (`updatedAt`, and a `lastUsed…` field when a server
//! adds one, not before `createdAt`), it expires after it was created, and a created token
//! expires at `createdAt` plus the duration of one of the spec's lifetimes (the lifetime of a
//! listed token is not known, and a listed token may be someone else's, so the list is held
//! to the relations only).

use super::{Failure, Outcome, ResponseCx};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

/// How far apart a server may compute two instants of one token (as `expiry_matches_lifetime`).
const SLACK: TimeDelta = TimeDelta::seconds(1);

fn instant(token: &Value, field: &str) -> Option<DateTime<Utc>> {
    let text = token.get(field)?.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The first relation `token` breaks, if any. `created` says whether it is a create answer.
fn broken(token: &Value, created: bool, cx: &ResponseCx) -> Option<Failure> {
    // Without a readable creation time there is nothing to relate (the schema check says why).
    let fields = &cx.contract.fields;
    let (created_field, expires_field) = (fields.created.as_str(), fields.expires.as_str());
    let created_at = instant(token, created_field)?;
    let id = fields.id_of(token).unwrap_or("?");
    // Where the relations are decided (TRANSCRIPTION.md, "A token's timestamps relate"): a
    // timestamp of the spec other than the creation and the expiry (`updatedAt`), and a
    // `lastUsed…` a server adds, must not precede the creation.
    let later_pointer = fields
        .timestamps
        .iter()
        .find(|t| *t != created_field && *t != expires_field)
        .map_or_else(|| fields.schema.clone(), |t| fields.pointer(t));
    let mut later: Vec<String> = fields
        .timestamps
        .iter()
        .filter(|t| *t != created_field && *t != expires_field)
        .cloned()
        .collect();
    later.extend(
        token
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .filter(|k| k.starts_with("lastUsed")),
    );
    for field in later {
        if let Some(t) = instant(token, &field)
            && t < created_at
        {
            return Some(
                Failure::new(format!(
                    "token {id}'s {field} is before its {created_field}: a token cannot change before it exists"
                ))
                .expected(format!("{field} at or after {}", iso(created_at)))
                .actual(iso(t))
                .at(later_pointer),
            );
        }
    }
    let expires_on = instant(token, expires_field)?;
    if expires_on <= created_at {
        return Some(
            Failure::new(format!("token {id} expires at or before it was created"))
                .expected(format!("{expires_field} after {}", iso(created_at)))
                .actual(iso(expires_on))
                .at(fields.pointer(expires_field)),
        );
    }
    let lifetimes = &cx.contract.lifetimes;
    if created && !lifetimes.is_empty() {
        let lasts = expires_on - created_at;
        if !lifetimes
            .iter()
            .any(|l| (lasts - l.duration).abs() <= SLACK)
        {
            let known: Vec<&str> = lifetimes.iter().map(|l| l.iso8601.as_str()).collect();
            return Some(
                Failure::new(format!(
                    "the created token {id} lasts {}s from {created_field} to {expires_field}, the duration of no lifetime of the spec",
                    lasts.num_seconds()
                ))
                .expected(format!("{created_field} plus one of {}", known.join(", ")))
                .actual(format!("{} to {}", iso(created_at), iso(expires_on)))
                .at(format!("{}/x-durations", abp_spec::LIFETIME_SCHEMA)),
            );
        }
    }
    None
}

pub fn token_invariants(cx: &ResponseCx) -> Outcome {
    if !(200..300).contains(&cx.response.status) {
        return None;
    }
    let body: Value = serde_json::from_slice(&cx.response.body).ok()?;
    let (tokens, created): (Vec<&Value>, bool) = match &body {
        Value::Array(items) => (items.iter().filter(|i| i.is_object()).collect(), false),
        // An object answer of the operation that takes a body is a create's.
        Value::Object(_) => (vec![&body], cx.op.body.is_some()),
        _ => return None,
    };
    // An empty list passes: whether the check applies must not depend on what concurrent
    // scenarios have in the list at that moment (the report is the same for any --jobs).
    match tokens.iter().find_map(|t| broken(t, created, cx)) {
        Some(failure) => Some(Err(failure)),
        None => Some(Ok(())),
    }
}
