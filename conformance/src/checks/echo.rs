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

/// `create_echoes_request`, judged here for every suite that creates: the created token holds
/// what was sent. Every field sent that the answer has holds the value sent; the name and the
/// privileges, which every token has, must be there; privileges not sent are an empty list
/// (TRANSCRIPTION.md). A field the answer lacks otherwise is the schema check's business, and
/// a property the schema does not know is ignored.
pub fn create_echoes(fields: &TokenFields, sent: &Value, token: &Value) -> Result<(), Failure> {
    let (name, privileges) = (fields.name.as_str(), fields.privileges.as_str());
    let mut differences = Vec::new();
    let mut first = None;
    let mut differ = |field: &str, want: String, got: Option<&Value>| {
        differences.push(format!("{field}: sent {want}, got {}", shown(got)));
        first.get_or_insert_with(|| field.to_owned());
    };
    for (field, value) in sent.as_object().into_iter().flatten() {
        match token.get(field) {
            None if field == name || field == privileges => differ(field, value.to_string(), None),
            Some(got) if got != value => differ(field, value.to_string(), Some(got)),
            _ => {}
        }
    }
    if sent.get(privileges).is_none() && token.get(privileges) != Some(&Value::Array(Vec::new())) {
        differ(
            privileges,
            "nothing (an empty list)".into(),
            token.get(privileges),
        );
    }
    match first {
        None => Ok(()),
        Some(field) => Err(Failure::new(format!(
            "the created token does not echo what was sent: {}",
            differences.join("; ")
        ))
        .expected("the fields as sent")
        .actual(differences.join("; "))
        .at(fields.pointer(&field))),
    }
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
        assert!(
            f.unwrap_err()
                .message
                .contains("privileges: sent [\"x\"], got []")
        );
        let sent = json!({"name": "a", "lifetime": "one-week"});
        assert!(create_echoes(&fields(), &sent, &json!({"name": "a", "privileges": []})).is_ok());
        let f = create_echoes(&fields(), &sent, &json!({"name": "b", "privileges": []}));
        assert!(
            f.unwrap_err()
                .message
                .contains("name: sent \"a\", got \"b\"")
        );
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
