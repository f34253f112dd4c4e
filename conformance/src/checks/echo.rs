//! What a create answer must say of the request, judged once for every suite that creates:
//! the token carries the name and the privileges that were sent (none sent: an empty list),
//! and it expires at its creation plus the lifetime's duration. The lifecycle suite reports
//! them as `create_echoes_request` and `expiry_matches_lifetime`; the model suite's judge
//! turns the same failures into a mismatch of its lane.

use super::Failure;
use abp_spec::{Lifetime, TokenFields};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

/// How far apart a server may compute two instants of one token.
const SLACK: TimeDelta = TimeDelta::seconds(1);

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn instant(token: &Value, field: &str) -> Option<DateTime<Utc>> {
    let text = token.get(field)?.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn shown(v: Option<&Value>) -> String {
    v.map_or_else(|| "nothing".to_owned(), Value::to_string)
}

/// `create_echoes_request`: the created token's name and privileges are the ones sent.
pub fn create_echoes(fields: &TokenFields, sent: &Value, token: &Value) -> Result<(), Failure> {
    let (name, privileges) = (fields.name.as_str(), fields.privileges.as_str());
    if token.get(name) != sent.get(name) {
        return Err(Failure::new(format!(
            "the created token's {name} differs from the requested one"
        ))
        .expected(shown(sent.get(name)))
        .actual(shown(token.get(name))));
    }
    let want = sent
        .get(privileges)
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    if token.get(privileges) != Some(&want) {
        return Err(Failure::new(format!(
            "the created token's {privileges} differ from the requested ones"
        ))
        .expected(want.to_string())
        .actual(shown(token.get(privileges)))
        .at(fields.pointer(privileges)));
    }
    Ok(())
}

/// `expiry_matches_lifetime`: the token expires at its creation plus the lifetime's duration.
/// A token without both instants is the schema check's business.
pub fn expiry_matches(
    fields: &TokenFields,
    lifetime: &Lifetime,
    token: &Value,
) -> Result<(), Failure> {
    let (Some(created), Some(expires)) = (
        instant(token, &fields.created),
        instant(token, &fields.expires),
    ) else {
        return Ok(());
    };
    let want = created + lifetime.duration;
    if (expires - want).abs() <= SLACK {
        return Ok(());
    }
    Err(Failure::new(format!(
        "{} is not {} + {} (lifetime `{}`)",
        fields.expires, fields.created, lifetime.iso8601, lifetime.name
    ))
    .expected(iso(want))
    .actual(iso(expires))
    .at(format!(
        "{}/x-durations/{}",
        abp_spec::LIFETIME_SCHEMA,
        abp_spec::escape_pointer(&lifetime.name)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> TokenFields {
        abp_spec::Spec::embedded().token_fields().unwrap()
    }

    #[test]
    fn a_token_without_the_privileges_sent_does_not_echo() {
        let sent = json!({"name": "a", "lifetime": "one-week", "privileges": ["x"]});
        let f = create_echoes(&fields(), &sent, &json!({"name": "a", "privileges": []}));
        assert!(f.unwrap_err().message.contains("privileges differ"));
        let sent = json!({"name": "a", "lifetime": "one-week"});
        assert!(create_echoes(&fields(), &sent, &json!({"name": "a", "privileges": []})).is_ok());
        let f = create_echoes(&fields(), &sent, &json!({"name": "b", "privileges": []}));
        assert!(f.unwrap_err().message.contains("name differs"));
    }

    #[test]
    fn an_expiry_a_day_off_is_refused_and_a_moment_off_is_not() {
        let lifetimes = abp_spec::Spec::embedded().lifetimes().unwrap();
        let week = lifetimes.iter().find(|l| l.name == "one-week").unwrap();
        let token =
            |expires: &str| json!({"createdAt": "2026-12-01T10:00:00.000Z", "expiresOn": expires});
        assert!(expiry_matches(&fields(), week, &token("2026-12-08T10:00:00.400Z")).is_ok());
        let f = expiry_matches(&fields(), week, &token("2026-12-09T10:00:00.000Z")).unwrap_err();
        assert!(
            f.message.contains("expiresOn is not createdAt + P7D"),
            "{}",
            f.message
        );
        assert!(expiry_matches(&fields(), week, &json!({})).is_ok());
    }
}
