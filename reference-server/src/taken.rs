//! What a faulty create takes from the body beyond its schema: the mass-assignment faults
//! (`create-takes-*`, `prototype-pollution`, `set-operator-applied`), each written as the bug
//! a real stack has. The correct server takes nothing of this: `handlers::create` builds the
//! token from the decoded request and the caller alone, and calls [`apply`] only when one of
//! these faults is switched on.

use crate::store::TokenRecord;
use abp_spec::TokenFields;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// One thing a faulty create takes from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// The id, when it is well-formed hex (Mongoose keeps a valid `_id` given to `new Model`).
    Id,
    /// The owner, spread after the caller's.
    Owner,
    /// The creation and update timestamps.
    Timestamps,
    /// The expiry.
    Expiry,
    /// The secret.
    Secret,
    /// Any other string field of the token (the organization).
    Organization,
    /// `Object.assign({}, body)`: a `__proto__` (or `constructor.prototype`) object supplies
    /// the privileges and owner the body leaves out.
    Prototype,
    /// A `$set` object is applied to the stored token.
    SetOperator,
}

fn instant(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn strings(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Changes `record` (and the `secret` the answer shows) as the switched-on faults take from
/// `body`.
pub(crate) fn apply(
    takes: &[Taken],
    fields: &TokenFields,
    body: &Map<String, Value>,
    record: &mut TokenRecord,
    secret: &mut String,
) {
    for taken in takes {
        match taken {
            Taken::Id => {
                if let Some(id) = body.get(&fields.id).and_then(Value::as_str)
                    && !id.is_empty()
                    && id.chars().all(|c| c.is_ascii_hexdigit())
                {
                    record.id = id.to_ascii_lowercase();
                }
            }
            Taken::Owner => {
                if let Some(owner) = body.get(&fields.owner).and_then(Value::as_str) {
                    record.user_id = owner.to_owned();
                }
            }
            Taken::Timestamps => {
                for field in fields.timestamps.iter().filter(|t| **t != fields.expires) {
                    if let Some(t) = body.get(field).and_then(instant) {
                        if *field == fields.created {
                            record.created_at = t;
                        } else {
                            record.updated_at = t;
                        }
                    }
                }
            }
            Taken::Expiry => {
                if let Some(t) = body.get(&fields.expires).and_then(instant) {
                    record.expires_on = t;
                }
            }
            Taken::Secret => {
                if let Some(s) = body.get(&fields.secret).and_then(Value::as_str) {
                    *secret = s.to_owned();
                }
            }
            Taken::Organization => {
                let named = [&fields.id, &fields.secret, &fields.owner, &fields.name];
                for (key, value) in body {
                    if fields.properties.contains(key)
                        && !named.contains(&key)
                        && !fields.timestamps.contains(key)
                        && let Some(text) = value.as_str()
                    {
                        record.organization_id = text.to_owned();
                    }
                }
            }
            Taken::Prototype => {
                let prototype = body
                    .get("__proto__")
                    .or_else(|| body.get("constructor").and_then(|c| c.get("prototype")));
                if let Some(Value::Object(proto)) = prototype {
                    // Only what the body itself lacks: an own property shadows the prototype's.
                    if !body.contains_key(&fields.privileges)
                        && let Some(p) = proto.get(&fields.privileges).and_then(strings)
                    {
                        record.privileges = p;
                    }
                    if let Some(owner) = proto.get(&fields.owner).and_then(Value::as_str) {
                        record.user_id = owner.to_owned();
                    }
                }
            }
            Taken::SetOperator => {
                if let Some(Value::Object(set)) = body.get("$set") {
                    if let Some(p) = set.get(&fields.privileges).and_then(strings) {
                        record.privileges = p;
                    }
                    if let Some(owner) = set.get(&fields.owner).and_then(Value::as_str) {
                        record.user_id = owner.to_owned();
                    }
                }
            }
        }
    }
}
