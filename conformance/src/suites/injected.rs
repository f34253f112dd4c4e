//! Properties a create must not take (OWASP API Security Top 10 2023, API3: object property
//! level authorization, "mass assignment"). Derived from the spec, for every field:
//!
//! - every property of the token that the create body's schema does not have (the id, the
//!   owner, the timestamps, the expiry, the secret, the organization: `abp_spec::ServerSet`),
//!   sent at the top level of a valid create with a look-alike of its type;
//! - the same values under the keys JavaScript and MongoDB give meaning to: `__proto__`,
//!   `constructor.prototype` (prototype pollution through `Object.assign` or a deep merge)
//!   and `$set` (an update operator passed through to an upsert). These bodies leave the
//!   optional privileges out, so a polluted prototype's value would stand in for them.
//!
//! The prediction (TRANSCRIPTION.md, "Properties a create does not take"): the create answers
//! its success status and the token, in the answer and in the list, shows none of the values
//! sent and everything else as sent; or the server refuses the body with 400 and nothing
//! changes. Either way no injected value is ever stored.

use super::stored::{BodyFacts, case_body, differences, same_value, scenario_facts};
use super::{Kind, Scenario, Suite};
use crate::api::{Contract, OperationId};
use crate::checks::{self, Failure};
use crate::context::{Ctx, Stopped};
use crate::error::RunError;
use crate::roles::Role;
use crate::transport::Auth;
use abp_spec::{ServerSet, Shape};
use serde_json::{Map, Value, json};

/// Where the injected values travel in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carrier {
    /// At the top level, beside the documented properties.
    TopLevel,
    /// As an object under this key.
    Key(&'static str),
    /// Under `constructor`, as its `prototype`.
    ConstructorPrototype,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub carrier: Carrier,
    /// The token fields given look-alike values.
    pub fields: Vec<ServerSet>,
    /// Whether the privileges are left out of the body and injected instead.
    pub privileges_injected: bool,
    /// The pointer the prediction rests on.
    pub pointer: String,
}

/// The keys that carry values into a JavaScript object's prototype or a MongoDB update, with
/// the label used in the scenario name.
const SPECIAL_KEYS: [(&str, Carrier); 3] = [
    ("proto", Carrier::Key("__proto__")),
    ("constructor-prototype", Carrier::ConstructorPrototype),
    ("dollar-set", Carrier::Key("$set")),
];

pub fn scenarios(api: &Contract) -> Result<Vec<Scenario>, RunError> {
    // A boolean's look-alike cannot be told from the server's own choice.
    let set: Vec<ServerSet> = api
        .server_set
        .iter()
        .filter(|f| f.shape != Shape::Boolean)
        .cloned()
        .collect();
    let decision = api.fields.schema.clone();
    let mut out = Vec::new();
    for field in &set {
        out.push(Scenario {
            name: format!("validation/ignores-read-only-{}", field.field),
            suite: Suite::Validation,
            summary: format!(
                "create with `{}` (the token has it, the create body does not) set to a look-alike: the server's own value or 400, never the value sent",
                field.field
            ),
            needs: vec![],
            kind: Kind::Injected(Case {
                carrier: Carrier::TopLevel,
                fields: vec![field.clone()],
                privileges_injected: false,
                pointer: field.pointer.clone(),
            }),
        });
    }
    for (label, carrier) in SPECIAL_KEYS {
        let key = match &carrier {
            Carrier::Key(k) => (*k).to_owned(),
            _ => "constructor.prototype".to_owned(),
        };
        out.push(Scenario {
            name: format!("validation/ignores-{label}-key"),
            suite: Suite::Validation,
            summary: format!(
                "create without `{}` but with `{key}` holding it and every read-only field: none of them is stored",
                api.fields.privileges
            ),
            needs: vec![],
            kind: Kind::Injected(Case {
                carrier,
                fields: set.clone(),
                privileges_injected: true,
                pointer: decision.clone(),
            }),
        });
    }
    Ok(out)
}

/// A value of the field's shape that no correct server would choose for this token. Fixed,
/// not random, so that the snapshot of the exchange (which keeps request bodies as sent) is
/// the same on every run.
fn look_alike(shape: &Shape) -> Option<Value> {
    let repeat =
        |pattern: &str, len: usize| -> String { pattern.chars().cycle().take(len).collect() };
    Some(match shape {
        Shape::Id { example } => {
            let hex = !example.is_empty() && example.chars().all(|c| c.is_ascii_hexdigit());
            if hex {
                json!(repeat("c0ffee", example.len()))
            } else {
                json!("injected-id")
            }
        }
        Shape::Secret { example } => {
            // As long as a real secret, but visibly not one (dots are outside the base64url
            // alphabet, and no issued prefix): reports and snapshots may show it.
            let len = example.as_deref().map_or(32, str::len);
            json!(repeat("injected.secret.look-alike.", len))
        }
        Shape::Owner => json!("injected-owner"),
        Shape::DateTime => json!("2001-02-03T04:05:06.789Z"),
        Shape::Object => json!({ "conformanceInjected": true }),
        Shape::Array => json!(["conformance:injected"]),
        Shape::Integer => json!(424_242),
        Shape::Number => json!(4242.5),
        Shape::Text => json!("injected-by-the-client"),
        Shape::Boolean => return None,
    })
}

/// The injected values, by field, with their shapes.
fn injections(case: &Case, facts: &BodyFacts, privileges: &str) -> Vec<(String, Shape, Value)> {
    let mut out: Vec<(String, Shape, Value)> = case
        .fields
        .iter()
        .filter_map(|f| Some((f.field.clone(), f.shape.clone(), look_alike(&f.shape)?)))
        .collect();
    if case.privileges_injected && facts.privileges_field.is_some() {
        out.push((
            privileges.to_owned(),
            Shape::Array,
            json!(["conformance:injected"]),
        ));
    }
    out
}

/// The failures of one token object: an injected value taken, a special key echoed, a sent
/// field changed.
fn judge(
    token: &Value,
    injected: &[(String, Shape, Value)],
    special: Option<&str>,
    sent: &Value,
) -> Vec<String> {
    let mut wrong: Vec<String> = injected
        .iter()
        .filter(|(field, _, value)| token.get(field).is_some_and(|v| same_value(value, v)))
        .map(|(field, _, value)| format!("{field} is the {value} sent"))
        .collect();
    if let Some(key) = special
        && token.get(key).is_some()
    {
        wrong.push(format!("the token shows the `{key}` key sent"));
    }
    wrong.extend(differences(sent, token));
    wrong
}

pub async fn run(case: &Case, ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let facts = scenario_facts(ctx)?;
    let privileges = ctx.api().fields.privileges.clone();
    let name = ctx.token_name("injected");
    let mut sent = case_body(&facts, &name, None);
    if case.privileges_injected
        && let (Value::Object(map), Some(field)) = (&mut sent, &facts.privileges_field)
    {
        map.remove(field);
    }
    let injected = injections(case, &facts, &privileges);
    let mut body = sent.clone();
    let values: Map<String, Value> = injected
        .iter()
        .map(|(f, _, v)| (f.clone(), v.clone()))
        .collect();
    let special = match &case.carrier {
        Carrier::TopLevel => None,
        Carrier::Key(k) => Some(*k),
        Carrier::ConstructorPrototype => Some("constructor"),
    };
    if let Value::Object(map) = &mut body {
        match &case.carrier {
            Carrier::TopLevel => map.extend(values),
            Carrier::Key(k) => {
                map.insert((*k).to_owned(), Value::Object(values));
            }
            Carrier::ConstructorPrototype => {
                map.insert("constructor".into(), json!({ "prototype": values }));
            }
        }
    }

    let create = ctx.api().create.clone();
    let mut expected: Vec<u16> = create.success_status().into_iter().collect();
    expected.extend(create.response(400).map(|_| 400));
    let answer = ctx
        .raw(
            OperationId::CreateMyToken,
            &create.path,
            Auth::Role(Role::User),
            &[("content-type", facts.content_type.clone())],
            Some(body.to_string().into_bytes()),
            &expected,
        )
        .await
        .ok_or(Stopped)?;
    if create.success_status() != Some(answer.status) {
        if answer.status != 400 {
            // status_expected has said what is wrong with the answer.
            return Ok(());
        }
        let after = ctx.list_ids(Role::User).await.ok_or(Stopped)?;
        ctx.check(
            checks::REJECTION_CHANGES_NOTHING,
            if after.is_empty() {
                Ok(())
            } else {
                Err(Failure::new("the refused create added a token")
                    .expected("no token of this scenario")
                    .actual(format!("added {}", json!(after))))
            },
        );
        return Ok(());
    }
    let Some(created) = answer.json() else {
        return Err(ctx.step_failed("the create answer is not JSON"));
    };
    let in_answer = judge(&created, &injected, special, &sent);
    let id = ctx.api().fields.id_of(&created).map(str::to_owned);
    let items = ctx.list(Role::User).await.ok_or(Stopped)?;
    let listed = id
        .as_deref()
        .and_then(|id| items.iter().find(|i| ctx.api().fields.id_of(i) == Some(id)));
    let in_list = match listed {
        Some(token) => judge(token, &injected, special, &sent),
        None => vec![format!(
            "the created token {} is not in its owner's list (was its owner taken from the body?)",
            id.as_deref().unwrap_or("(no id)")
        )],
    };
    let sent_values = injected
        .iter()
        .map(|(f, _, v)| format!("{f}: {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let result = if in_answer.is_empty() && in_list.is_empty() {
        Ok(())
    } else {
        let mut what = Vec::new();
        if !in_answer.is_empty() {
            what.push(format!("in the create answer: {}", in_answer.join("; ")));
        }
        if !in_list.is_empty() {
            what.push(format!("in the list: {}", in_list.join("; ")));
        }
        Err(Failure::new(format!(
            "the create took what the client may not set{}",
            special.map_or(String::new(), |k| format!(" (sent under `{k}`)"))
        ))
        .expected(format!(
            "none of {sent_values}; the name and privileges as sent"
        ))
        .actual(what.join(" · "))
        .at(case.pointer.clone()))
    };
    ctx.check(checks::EXTRA_PROPERTIES_IGNORED, result);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_have_the_shape_of_the_field() {
        let id = look_alike(&Shape::Id {
            example: "63ea10b94a472e003305232b".into(),
        })
        .unwrap();
        let id = id.as_str().unwrap();
        assert_eq!(id.len(), 24);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        let example = "uat_Q2hhbmdlIG1lIGluIHByb2R1Y3Rpb24gcGxlYXNlIFprM1E";
        let secret = look_alike(&Shape::Secret {
            example: Some(example.into()),
        })
        .unwrap();
        let secret = secret.as_str().unwrap();
        assert_eq!(secret.len(), example.len(), "{secret}");
        assert_ne!(secret, example);
        assert_eq!(look_alike(&Shape::Boolean), None);
    }

    #[test]
    fn a_date_time_is_taken_when_it_names_the_same_instant_in_another_spelling() {
        let sent = json!("2001-02-03T04:05:06.789Z");
        assert!(same_value(&sent, &json!("2001-02-03T05:05:06.789+01:00")));
        assert!(!same_value(&sent, &json!("2026-12-07T08:00:00.000Z")));
        assert!(same_value(&json!("a"), &json!("a")));
    }
}
