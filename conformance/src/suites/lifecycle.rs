//! The lifecycle suite: create with every lifetime, list (masked), authenticate with the
//! created secret, delete, and isolation between two users.

use super::{Kind, Scenario, Suite, valid_create_body};
use crate::api::{Contract, OperationId};
use crate::checks::{self, Failure};
use crate::context::{Created, Ctx, Stopped};
use crate::error::RunError;
use crate::roles::{Role, random_hex};
use crate::transport::Auth;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub enum Case {
    /// One create per lifetime of the spec's enum, with privileges.
    EveryLifetime,
    WithoutPrivileges,
    ListedMasked,
    DeleteRemoves,
    UnknownIdDelete,
    AccessTokenAuthenticates,
    OtherUserIsolation,
}

pub fn scenarios(api: &Contract) -> Result<Vec<Scenario>, RunError> {
    let lifetimes = api
        .lifetimes
        .iter()
        .map(|l| l.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let s = |name: &str, summary: String, needs: Vec<Role>, case: Case| Scenario {
        name: format!("lifecycle/{name}"),
        suite: Suite::Lifecycle,
        summary,
        needs,
        kind: Kind::Lifecycle(case),
    };
    Ok(vec![
        s(
            "create-every-lifetime",
            format!("create a token with each lifetime ({lifetimes}); check echo, clock, expiry, uniqueness"),
            vec![],
            Case::EveryLifetime,
        ),
        s(
            "create-without-privileges",
            "create a token without privileges; it echoes an empty list".into(),
            vec![],
            Case::WithoutPrivileges,
        ),
        s(
            "list-shows-masked-token",
            "a created token is listed with a masked value, never its secret".into(),
            vec![],
            Case::ListedMasked,
        ),
        s(
            "delete-removes-token",
            "DELETE answers the documented empty success, the token leaves the list, a second DELETE gets the documented status".into(),
            vec![],
            Case::DeleteRemoves,
        ),
        s(
            "delete-unknown-id",
            "DELETE of a well-formed id nobody created gets the documented status".into(),
            vec![],
            Case::UnknownIdDelete,
        ),
        s(
            "access-token-authenticates",
            format!(
                "the created secret authenticates in {} until the token is deleted",
                api.access_token_header
            ),
            vec![],
            Case::AccessTokenAuthenticates,
        ),
        s(
            "other-user-isolation",
            "another user neither sees nor deletes our token".into(),
            vec![Role::OtherUser],
            Case::OtherUserIsolation,
        ),
    ])
}

pub async fn run(case: &Case, ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    match case {
        Case::EveryLifetime => every_lifetime(ctx).await?,
        Case::WithoutPrivileges => without_privileges(ctx).await?,
        Case::ListedMasked => listed_masked(ctx).await?,
        Case::DeleteRemoves => delete_removes(ctx).await?,
        Case::UnknownIdDelete => unknown_id_delete(ctx).await?,
        Case::AccessTokenAuthenticates => access_token(ctx).await?,
        Case::OtherUserIsolation => isolation(ctx).await?,
    }
    Ok(())
}

fn body(ctx: &mut Ctx<'_>, label: &str) -> Option<Value> {
    Some(valid_create_body(ctx.api(), &ctx.token_name(label)))
}

/// Checks that a created token echoes what was asked for (`checks::echo`).
fn check_echo(ctx: &mut Ctx<'_>, sent: &Value, created: &Created) {
    let token = serde_json::to_value(&created.token).unwrap_or_default();
    let result = checks::echo::create_echoes(&ctx.api().fields, sent, &token);
    ctx.check(checks::CREATE_ECHOES_REQUEST, result);
}

fn check_clock(ctx: &mut Ctx<'_>, created: &Created) {
    let tolerance = ctx.shared.config.clock_tolerance;
    let skew = created.token.created_at - created.received_at;
    let result =
        if skew.abs() <= tolerance {
            Ok(())
        } else {
            Err(Failure::new(format!(
            "createdAt is {}s away from this machine's clock (tolerance {}s, --clock-tolerance)",
            skew.num_seconds(),
            tolerance.num_seconds()
        ))
        .expected(format!("within {}s of {}", tolerance.num_seconds(), iso(created.received_at)))
        .actual(iso(created.token.created_at)))
        };
    ctx.check(checks::CREATED_AT_NEAR_CLOCK, result);
}

fn check_expiry(ctx: &mut Ctx<'_>, lifetime: &abp_spec::Lifetime, created: &Created) {
    let token = serde_json::to_value(&created.token).unwrap_or_default();
    let result = checks::echo::expiry_matches(&ctx.api().fields, lifetime, &token);
    ctx.check(checks::EXPIRY_MATCHES_LIFETIME, result);
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn every_lifetime(ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let lifetimes = ctx.shared.api.lifetimes.clone();
    for lifetime in &lifetimes {
        let mut sent = body(ctx, &format!("lifetime-{}", lifetime.name)).ok_or(Stopped)?;
        sent[ctx.api().fields.lifetime.as_str()] = json!(lifetime.name);
        let created = ctx.create(Role::User, &sent).await.ok_or(Stopped)?;
        check_echo(ctx, &sent, &created);
        check_clock(ctx, &created);
        check_expiry(ctx, lifetime, &created);
    }
    Ok(())
}

async fn without_privileges(ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let mut sent = body(ctx, "no-privileges").ok_or(Stopped)?;
    if let Some(map) = sent.as_object_mut() {
        map.remove(&ctx.api().fields.privileges);
    }
    let created = ctx.create(Role::User, &sent).await.ok_or(Stopped)?;
    check_echo(ctx, &sent, &created);
    Ok(())
}

async fn listed_masked(ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let sent = body(ctx, "listed").ok_or(Stopped)?;
    let created = ctx.create(Role::User, &sent).await.ok_or(Stopped)?;
    let items = ctx.list(Role::User).await.ok_or(Stopped)?;
    let id = created.id.to_string();
    let item = items
        .iter()
        .find(|i| ctx.api().fields.id_of(i) == Some(id.as_str()));
    let result = match item {
        None => Err(Failure::new("the created token is not in the list")
            .expected(format!("an item with {} {id}", ctx.api().fields.id))
            .actual(format!("{} items, none with that id", items.len()))),
        Some(item) => {
            let fields = &ctx.api().fields;
            let shown = fields.text(item, &fields.secret).unwrap_or("");
            if shown.contains(&created.secret) {
                Err(
                    Failure::new("the list shows the token's secret instead of a masked value")
                        .expected("a masked value")
                        .actual(crate::redact::CREATED_SECRET)
                        .at(fields.pointer(&fields.secret)),
                )
            } else if shown.is_empty() {
                Err(Failure::new("the listed token has no masked value")
                    .expected("a non-empty masked value")
                    .actual("\"\""))
            } else if ctx.api().fields.name_of(item) != Some(created.token.name.as_str()) {
                Err(
                    Failure::new("the listed token's name differs from the created one")
                        .expected(created.token.name.clone())
                        .actual(
                            item.get(fields.name.as_str())
                                .map(Value::to_string)
                                .unwrap_or_default(),
                        ),
                )
            } else {
                Ok(())
            }
        }
    };
    ctx.check(checks::TOKEN_LISTED_MASKED, result);
    Ok(())
}

fn success(ctx: &Ctx<'_>) -> Vec<u16> {
    ctx.api().delete.success_status().into_iter().collect()
}

fn unknown(ctx: &Ctx<'_>) -> Vec<u16> {
    ctx.api().delete.unknown_id_status.into_iter().collect()
}

async fn delete_removes(ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let sent = body(ctx, "deleted").ok_or(Stopped)?;
    let created = ctx.create(Role::User, &sent).await.ok_or(Stopped)?;
    let id = created.id.to_string();
    let ok = success(ctx);
    if ctx.delete(Role::User, &id, &ok).await.is_none() {
        return Err(Stopped);
    }
    let ids = ctx.list_ids(Role::User).await.ok_or(Stopped)?;
    let result = if ids.contains(&id) {
        Err(
            Failure::new("the token is still listed after its DELETE succeeded")
                .expected(format!("no item with _id {id}"))
                .actual("still listed"),
        )
    } else {
        Ok(())
    };
    ctx.check(checks::DELETE_REMOVES_TOKEN, result);
    let gone = unknown(ctx);
    ctx.delete(Role::User, &id, &gone).await;
    Ok(())
}

async fn unknown_id_delete(ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    // A fresh random id: 24 hex characters, which the spec's ObjectId pattern accepts.
    let id = random_hex(12);
    let gone = unknown(ctx);
    ctx.delete(Role::User, &id, &gone).await;
    Ok(())
}

async fn access_token(ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let sent = body(ctx, "access-token").ok_or(Stopped)?;
    let created = ctx.create(Role::User, &sent).await.ok_or(Stopped)?;
    let list = ctx.api().list.clone();
    let header_name = ctx.api().access_token_header.clone();
    let scheme = ctx.api().access_token_pointer.clone();
    let with_secret = || Auth::Header {
        name: header_name.clone(),
        value: created.secret.clone(),
        owner: Some(Role::User),
    };
    // Any documented status but 401 shows the secret authenticated (403 is fine: the token
    // may lack the privilege to manage tokens).
    let authenticated: Vec<u16> = list
        .documented_statuses()
        .into_iter()
        .filter(|s| *s != 401)
        .collect();
    let before = ctx
        .raw(
            OperationId::ListMyTokens,
            &list.path,
            with_secret(),
            &[],
            None,
            &authenticated,
        )
        .await
        .ok_or(Stopped)?;
    let result = if before.status == 401 {
        Err(Failure::new(format!(
            "the created secret does not authenticate in {header_name}"
        ))
        .expected("any status but 401")
        .actual("401")
        .at(scheme.clone()))
    } else {
        Ok(())
    };
    ctx.check(checks::ACCESS_TOKEN_AUTHENTICATES, result);
    let ok = success(ctx);
    ctx.delete(Role::User, &created.id.to_string(), &ok)
        .await
        .ok_or(Stopped)?;
    let after = ctx
        .raw(
            OperationId::ListMyTokens,
            &list.path,
            with_secret(),
            &[],
            None,
            &[401],
        )
        .await
        .ok_or(Stopped)?;
    let result = if after.status == 401 {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "a deleted token's secret still authenticates in {header_name}"
        ))
        .expected("401")
        .actual(after.status.to_string())
        .at(scheme))
    };
    ctx.check(checks::ACCESS_TOKEN_REVOKED, result);
    Ok(())
}

async fn isolation(ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let sent = body(ctx, "isolation").ok_or(Stopped)?;
    let created = ctx.create(Role::User, &sent).await.ok_or(Stopped)?;
    let id = created.id.to_string();
    let theirs = ctx.list_ids(Role::OtherUser).await.ok_or(Stopped)?;
    let result = if theirs.contains(&id) {
        Err(Failure::new("another user's list shows our token")
            .expected(format!(
                "no item with _id {id} in ABP_OTHER_USER_TOKEN's list"
            ))
            .actual("listed"))
    } else {
        Ok(())
    };
    ctx.check(checks::ISOLATION_LIST, result);
    let gone = unknown(ctx);
    let status = ctx
        .delete(Role::OtherUser, &id, &gone)
        .await
        .ok_or(Stopped)?;
    let ours = ctx.list_ids(Role::User).await.ok_or(Stopped)?;
    let result = if !ours.contains(&id) {
        Err(Failure::new("another user's DELETE removed our token")
            .expected("our token still listed")
            .actual(format!("gone after their DELETE answered {status}")))
    } else if (200..300).contains(&status) {
        Err(
            Failure::new("another user's DELETE of our token answered success")
                .expected(
                    gone.iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(" or "),
                )
                .actual(status.to_string()),
        )
    } else {
        Ok(())
    };
    ctx.check(checks::ISOLATION_DELETE, result);
    Ok(())
}
