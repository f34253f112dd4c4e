//! The API's facts the model predicts from, read from the spec once per lane: the statuses
//! of each operation, the access-token header, the lifetimes, the secret and documented fields
//! of a token, the paths; and the create bodies and privilege lists the generator draws from.

use super::ops::Op;
use super::reference::Expect;
use crate::api::Contract;
use serde_json::Value;
use std::collections::BTreeSet;

/// The API's facts the judge predicts from, read from the spec.
pub struct Facts {
    pub(super) list_ok: u16,
    pub(super) create_ok: u16,
    pub(super) delete_ok: u16,
    pub(super) unknown_id: u16,
    pub(super) unauthorized: u16,
    pub(super) forbidden: u16,
    pub header: String,
    pub content_type: String,
    pub lifetimes: Vec<abp_spec::Lifetime>,
    pub secret_fields: Vec<String>,
    /// The token schema's properties: only these are compared between create and list (a
    /// server may add others, whose values may change on every answer).
    pub(super) documented_fields: Vec<String>,
    /// A token's fields by role.
    pub fields: abp_spec::TokenFields,
    pub create_path: String,
    pub list_path: String,
}

impl Facts {
    pub fn read(api: &Contract) -> Result<Facts, String> {
        let need = |op: &abp_spec::Operation, what: &str, s: Option<u16>| {
            s.ok_or_else(|| format!("the spec gives {} no {what}", op.id))
        };
        let documented = |op: &abp_spec::Operation, status: u16| {
            op.response(status)
                .map(|_| status)
                .ok_or_else(|| format!("the spec does not document {status} for {}", op.id))
        };
        Ok(Facts {
            list_ok: need(&api.list, "success status", api.list.success_status())?,
            create_ok: need(&api.create, "success status", api.create.success_status())?,
            delete_ok: need(&api.delete, "success status", api.delete.success_status())?,
            unknown_id: need(
                &api.delete,
                "unknown-id status (x-unknown-id-status)",
                api.delete.unknown_id_status,
            )?,
            unauthorized: documented(&api.list, 401)?,
            forbidden: documented(&api.list, 403)?,
            header: api.access_token_header.clone(),
            content_type: api.create_body.content_type.clone(),
            lifetimes: api.lifetimes.clone(),
            secret_fields: api.secret_fields.clone(),
            documented_fields: api.fields.properties.clone(),
            fields: api.fields.clone(),
            create_path: api.create.path.clone(),
            list_path: api.list.path.clone(),
        })
    }

    /// The status an answer must have.
    pub(super) fn status(&self, op: &Op, expect: Expect) -> u16 {
        match expect {
            Expect::Ok => match op {
                Op::Create { .. } => self.create_ok,
                Op::List { .. } => self.list_ok,
                Op::Delete { .. } | Op::Race { .. } => self.delete_ok,
            },
            Expect::Unauthorized => self.unauthorized,
            Expect::Forbidden => self.forbidden,
            Expect::UnknownId => self.unknown_id,
        }
    }
}

/// Privilege lists from the spec's examples of the create body and of the token answers,
/// plus the empty list and the field left out.
pub fn privilege_choices(api: &Contract) -> Vec<Option<Vec<String>>> {
    let mut pool: BTreeSet<String> = BTreeSet::new();
    let mut collect = |v: Option<&Value>| {
        for p in v.and_then(Value::as_array).into_iter().flatten() {
            if let Some(p) = p.as_str() {
                pool.insert(p.to_owned());
            }
        }
    };
    let field = api.fields.privileges.as_str();
    for example in api.examples() {
        match &example {
            // A list's example: its first token.
            Value::Array(items) => collect(items.first().and_then(|t| t.get(field))),
            other => collect(other.get(field)),
        }
    }
    let pool: Vec<String> = pool.into_iter().collect();
    let mut out = vec![None, Some(Vec::new())];
    out.extend(pool.iter().map(|p| Some(vec![p.clone()])));
    if pool.len() > 1 {
        out.push(Some(pool.clone()));
    }
    out
}

/// A create's body.
pub fn create_body(
    facts: &Facts,
    name: String,
    lifetime: usize,
    privileges: &Option<Vec<String>>,
) -> Value {
    facts.fields.create_body(
        &name,
        &facts.lifetimes[lifetime].name,
        privileges.as_deref(),
    )
}
