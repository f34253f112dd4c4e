//! Constraints the spec never states must not be imposed. Valid but unusual requests a server
//! may wrongly refuse or mishandle: two live tokens with one name (the spec sets no uniqueness
//! on `name`), a media type spelled in other letter case or with a quoted parameter (RFC 9110
//! §8.3.1: type, subtype and parameter names are case-insensitive; §5.6.6: a parameter value
//! may be a quoted-string), and a token id in the other letter case (the id's pattern allows
//! both; an unknown one is a 404, not a 400, and one's own names the same token:
//! TRANSCRIPTION.md, "Either letter case of an id").

use super::stored::{BodyFacts, body_facts, case_body, check_stored, create_raw, scenario_facts};
use super::{Kind, Scenario, Suite};
use crate::api::{Contract, OperationId};
use crate::checks::{self, Failure};
use crate::context::{Ctx, Stopped};
use crate::error::RunError;
use crate::roles::{Role, random_hex};
use crate::transport::Auth;
use serde_json::Value;

#[derive(Debug, Clone)]
pub enum Case {
    /// Two creates with one name: both succeed with distinct tokens, both listed.
    SameName,
    /// A create with this spelling of the documented media type.
    MediaType {
        content_type: String,
        pointer: String,
    },
    /// A delete of one's own token by its id in the other letter case.
    OtherCaseId { pointer: String },
    /// A delete of an unknown id in upper case: the unknown-id status.
    UnknownUppercaseId,
}

/// The media type in other letter case: type capitalized, subtype upper case, a charset
/// parameter with a capitalized name and an upper-case value.
fn other_case(media_type: &str) -> String {
    let (kind, subtype) = media_type.split_once('/').unwrap_or((media_type, ""));
    let mut chars = kind.chars();
    let kind: String = chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default();
    format!("{kind}/{}; Charset=UTF-8", subtype.to_ascii_uppercase())
}

pub fn scenarios(api: &Contract) -> Result<Vec<Scenario>, RunError> {
    let Some(f) = body_facts(api) else {
        return Ok(Vec::new());
    };
    let s = |name: String, summary: String, case: Case| Scenario {
        name,
        suite: if matches!(case, Case::MediaType { .. }) {
            Suite::Validation
        } else {
            Suite::Lifecycle
        },
        summary,
        needs: vec![],
        kind: Kind::Unstated(case),
    };
    let mut out = vec![s(
        format!("lifecycle/two-tokens-with-one-{}", f.name_field),
        format!(
            "two creates with the same `{}` (the spec sets no uniqueness): both succeed, with distinct ids and secrets, and both are listed",
            f.name_field
        ),
        Case::SameName,
    )];
    let ct = &f.content_type;
    for (label, content_type, why) in [
        (
            "media-type-in-other-case",
            other_case(ct),
            "RFC 9110 §8.3.1: type, subtype and parameter names are case-insensitive",
        ),
        (
            "media-type-with-quoted-parameter",
            format!("{ct};charset=\"utf-8\""),
            "RFC 9110 §5.6.6: a parameter value may be a quoted-string, with no space before it",
        ),
    ] {
        out.push(s(
            format!("validation/accepts-{label}"),
            format!("create with Content-Type `{content_type}` ({why}): accepted"),
            Case::MediaType {
                content_type,
                pointer: api.create_body.pointer.clone(),
            },
        ));
    }
    let param = api.delete.path_params().next();
    if let Some(param) = param {
        out.push(s(
            format!("lifecycle/delete-by-{}-in-other-case", param.name),
            "DELETE of one's own token by its id in the other letter case (the pattern allows both; an ObjectId is a hexadecimal number): deleted, gone from the list".into(),
            Case::OtherCaseId {
                pointer: format!("{}/pattern", api.token_id_schema_pointer),
            },
        ));
        out.push(s(
            format!("lifecycle/delete-unknown-{}-in-upper-case", param.name),
            "DELETE of a well-formed unknown id in upper-case hex (the pattern allows it): the documented unknown-id status, not 400".into(),
            Case::UnknownUppercaseId,
        ));
    }
    Ok(out)
}

pub async fn run(case: &Case, ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let facts = scenario_facts(ctx)?;
    match case {
        Case::SameName => same_name(ctx, &facts).await?,
        Case::MediaType {
            content_type,
            pointer,
        } => {
            let name = ctx.token_name("media-type");
            let sent = case_body(&facts, &name, None);
            if let Some(created) = create_raw(ctx, &sent, content_type).await
                && let Some(id) = ctx.api().fields.id_of(&created)
            {
                check_stored(ctx, &sent, id, pointer).await?;
            }
        }
        Case::OtherCaseId { pointer } => other_case_id(ctx, &facts, pointer).await?,
        Case::UnknownUppercaseId => {
            let id = random_hex(12).to_ascii_uppercase();
            let gone: Vec<u16> = ctx.api().delete.unknown_id_status.into_iter().collect();
            ctx.delete(Role::User, &id, &gone).await;
        }
    }
    Ok(())
}

async fn same_name(ctx: &mut Ctx<'_>, facts: &BodyFacts) -> Result<(), Stopped> {
    let name = ctx.token_name("same-name");
    let sent = case_body(facts, &name, None);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let created = create_raw(ctx, &sent, &facts.content_type)
            .await
            .ok_or(Stopped)?;
        match ctx.api().fields.id_of(&created) {
            Some(id) => ids.push(id.to_owned()),
            None => return Err(ctx.step_failed("the create answer has no _id")),
        }
    }
    let items = ctx.list(Role::User).await.ok_or(Stopped)?;
    let listed = |id: &str| {
        items.iter().any(|i| {
            ctx.api().fields.id_of(i) == Some(id)
                && i.get(&facts.name_field).and_then(Value::as_str) == Some(name.as_str())
        })
    };
    let missing: Vec<&String> = ids.iter().filter(|id| !listed(id)).collect();
    let result = if ids[0] == ids[1] {
        Err(
            Failure::new("the second create with the same name returned the first token")
                .expected("two distinct ids")
                .actual(format!("{} twice", ids[0])),
        )
    } else if !missing.is_empty() {
        Err(
            Failure::new("not every token created with the same name is listed")
                .expected(format!(
                    "both {} and {} listed with the name",
                    ids[0], ids[1]
                ))
                .actual(format!("missing: {missing:?}"))
                .at(facts.name_pointer.clone()),
        )
    } else {
        Ok(())
    };
    ctx.check(checks::STORED_AS_SENT, result);
    Ok(())
}

/// Each hex letter of `id` in the other case.
fn swap_case(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

async fn other_case_id(ctx: &mut Ctx<'_>, facts: &BodyFacts, pointer: &str) -> Result<(), Stopped> {
    let name = ctx.token_name("id-case");
    let sent = case_body(facts, &name, None);
    let created = create_raw(ctx, &sent, &facts.content_type)
        .await
        .ok_or(Stopped)?;
    let Some(id) = ctx.api().fields.id_of(&created).map(str::to_owned) else {
        return Err(ctx.step_failed("the create answer has no _id"));
    };
    let swapped = swap_case(&id);
    if swapped == id {
        // An id of digits only has no other case; nothing to test (about 1 in 80 000).
        return Ok(());
    }
    let delete = ctx.api().delete.clone();
    let ok: Vec<u16> = delete.success_status().into_iter().collect();
    let path = delete.path_with(&swapped);
    let before = ctx.requests();
    let answer = ctx
        .raw(
            OperationId::DeleteMyToken,
            &path,
            Auth::Role(Role::User),
            &[],
            None,
            &ok,
        )
        .await
        .ok_or(Stopped)?;
    if !ok.contains(&answer.status) {
        // status_expected said it; the token is still there for the clean-up.
        return Ok(());
    }
    // An answer lost on the way, whose retry met the unknown id, counts as the success it
    // likely was; only the list can tell.
    let lost = ctx.lost_answers(before..ctx.requests()) > 0;
    let ids = ctx.list_ids(Role::User).await.ok_or(Stopped)?;
    if !ids.contains(&id) {
        // Deleted under its other spelling: nothing is left for the clean-up.
        ctx.to_clean.retain(|(_, i)| *i != id);
    }
    let result = if ids.contains(&id) && lost {
        // Lost, then unknown, and still listed: the answer that would have shown whether
        // the other spelling names the token never arrived. No verdict either way.
        Ok(())
    } else if ids.contains(&id) {
        Err(Failure::new(
            "the DELETE by the id in the other letter case answered success, but the token is still listed",
        )
        .expected(format!("no item with _id {id}"))
        .actual("still listed")
        .at(pointer.to_owned()))
    } else {
        Ok(())
    };
    ctx.check(checks::DELETE_REMOVES_TOKEN, result);
    Ok(())
}
