//! Effects, not only answers: a write changes exactly what it names. Three tokens that share
//! every attribute a careless query could match on (the name, the privileges, the lifetime,
//! and most likely the creation second: they are created at once) are created; the middle one
//! is deleted by its id. Afterwards the deleted one is gone and the other two are listed,
//! each exactly once, with every field as it was created. A server that deletes by name
//! (`deleteMany({ name })`), by owner and second, or by anything but the id fails here.

use super::stored::{body_facts, case_body, same_value, scenario_facts};
use super::{Kind, Scenario, Suite};
use crate::api::{Contract, OperationId};
use crate::checks::{self, Failure};
use crate::context::{Ctx, RawRequest, Stopped};
use crate::error::RunError;
use crate::roles::Role;
use crate::transport::Auth;
use serde_json::Value;

/// How many look-alikes are created.
const ALIKE: usize = 3;

#[derive(Debug, Clone)]
pub enum Case {
    /// Delete one of three look-alike tokens.
    DeleteAmongLookAlikes,
}

pub fn scenarios(api: &Contract) -> Result<Vec<Scenario>, RunError> {
    if body_facts(api).is_none() {
        return Ok(Vec::new());
    }
    Ok(vec![Scenario {
        name: "lifecycle/delete-spares-look-alikes".into(),
        suite: Suite::Lifecycle,
        summary: format!(
            "create {ALIKE} tokens at once with one name, privileges and lifetime; delete the middle one by its id: it is gone, the other two are listed once each, as created"
        ),
        needs: vec![],
        kind: Kind::Effects(Case::DeleteAmongLookAlikes),
    }])
}

pub async fn run(case: &Case, ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    match case {
        Case::DeleteAmongLookAlikes => delete_among_look_alikes(ctx).await,
    }
}

async fn delete_among_look_alikes(ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let facts = scenario_facts(ctx)?;
    let name = ctx.token_name("alike");
    let privileges = facts.privileges_field.as_ref().map(|_| {
        vec![
            "project:read".to_owned(),
            "organization:user:read".to_owned(),
        ]
    });
    let sent = case_body(&facts, &name, privileges.as_ref());
    let create = ctx.api().create.clone();
    let ok: Vec<u16> = create.success_status().into_iter().collect();
    let request = RawRequest {
        kind: OperationId::CreateMyToken,
        path: create.path.clone(),
        auth: Auth::Role(Role::User),
        headers: vec![("content-type", facts.content_type.clone())],
        body: Some(sent.to_string().into_bytes()),
        expected: ok.clone(),
    };
    let answers = ctx.burst(&vec![request; ALIKE]).await;
    let mut created: Vec<Value> = Vec::new();
    for answer in answers {
        match answer
            .filter(|a| ok.contains(&a.status))
            .and_then(|a| a.json())
        {
            Some(token) => created.push(token),
            // status_expected or the step has said why.
            None => return Err(Stopped),
        }
    }
    let fields = ctx.api().fields.clone();
    let ids: Vec<String> = created
        .iter()
        .filter_map(|t| fields.id_of(t).map(str::to_owned))
        .collect();
    if ids.len() != ALIKE {
        return Err(ctx.step_failed("a create answer has no id"));
    }
    let target = ids[ALIKE / 2].clone();
    let delete = ctx.api().delete.clone();
    let done: Vec<u16> = delete.success_status().into_iter().collect();
    // Raw, so an answer lost on the way whose retry met the unknown id counts as the
    // success it was (the snapshot and the clean-up see the same).
    let answer = ctx
        .raw(
            OperationId::DeleteMyToken,
            &delete.path_with(&target),
            Auth::Role(Role::User),
            &[],
            None,
            &done,
        )
        .await
        .ok_or(Stopped)?;
    if !done.contains(&answer.status) {
        return Ok(());
    }
    let items = ctx.list(Role::User).await.ok_or(Stopped)?;
    let count = |id: &str| items.iter().filter(|i| fields.id_of(i) == Some(id)).count();
    ctx.check(
        checks::DELETE_REMOVES_TOKEN,
        if count(&target) == 0 {
            Ok(())
        } else {
            Err(Failure::new("the deleted look-alike is still listed")
                .expected(format!("no item with _id {target}"))
                .actual(format!("listed {} time(s)", count(&target))))
        },
    );
    let mut wrong = Vec::new();
    for (id, token) in ids.iter().zip(&created) {
        if *id == target {
            continue;
        }
        let listed: Vec<&Value> = items
            .iter()
            .filter(|i| fields.id_of(i) == Some(id.as_str()))
            .collect();
        match listed[..] {
            [] => wrong.push(format!("{id} is gone")),
            [one] => {
                let changed = changed_fields(token, one, &fields);
                if !changed.is_empty() {
                    wrong.push(format!("{id} changed: {}", changed.join(", ")));
                }
            }
            _ => wrong.push(format!("{id} is listed {} times", listed.len())),
        }
    }
    ctx.check(
        checks::DELETE_SPARES_OTHERS,
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(Failure::new(format!(
                "deleting {target} by its id changed the tokens that share its name, privileges and lifetime: {}",
                wrong.join("; ")
            ))
            .expected(format!(
                "the other {} look-alikes listed once each, as created",
                ALIKE - 1
            ))
            .actual(wrong.join("; "))
            .at(delete.pointer.clone()))
        },
    );
    Ok(())
}

/// The spec's fields of the created token that the listed one shows otherwise: the secret
/// is masked in the list by design, and a date-time may be spelled another way for the same
/// instant.
fn changed_fields(created: &Value, listed: &Value, fields: &abp_spec::TokenFields) -> Vec<String> {
    fields
        .properties
        .iter()
        .filter(|k| **k != fields.secret)
        .filter(|k| match (created.get(*k), listed.get(*k)) {
            (Some(a), Some(b)) => !same_value(a, b),
            _ => false,
        })
        .cloned()
        .collect()
}
