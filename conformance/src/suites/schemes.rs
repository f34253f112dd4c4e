//! Every ownership rule through every security scheme the spec lists. The lifecycle suite
//! checks isolation and deletion with `Authorization: Bearer`; a server may enforce them on
//! one authentication path and forget the other (OWASP API Security Top 10, API1:2023 Broken
//! Object Level Authorization). For each scheme of `#/components/securitySchemes` (an HTTP
//! bearer credential, a created token's secret in the api-key header), deliberately:
//! another user's list does not show our token, another user's DELETE of it gets the
//! unknown-id status and leaves it, our own DELETE removes it, and a second DELETE gets the
//! unknown-id status.

use super::{Kind, Scenario, Suite, valid_create_body};
use crate::api::{Contract, OperationId};
use crate::checks::{self, Failure};
use crate::context::{Ctx, Stopped};
use crate::roles::Role;
use crate::transport::Auth;
use abp_spec::SecurityScheme;
use serde_json::Value;

/// How a scheme carries a caller's credential.
#[derive(Debug, Clone)]
pub enum Carrier {
    /// `Authorization: Bearer <the role's credential>`.
    Bearer,
    /// A token's secret, created by the role, in this header.
    ApiKey { header: String },
}

#[derive(Debug, Clone)]
pub struct Case {
    /// The scheme's key in `#/components/securitySchemes`.
    pub scheme: String,
    pub carrier: Carrier,
    pub pointer: String,
}

/// Every security scheme of the contract with how it carries a credential, and its pointer.
/// The match is exhaustive: a scheme added to `abp_spec::SecurityScheme` fails the build here
/// until the runner can exercise it (and the contract refuses, by name, a spec scheme it
/// has no variant for).
pub fn carriers(api: &Contract) -> Vec<(String, Carrier, String)> {
    api.schemes
        .iter()
        .map(|scheme| {
            let carrier = match scheme {
                SecurityScheme::Bearer { .. } => Carrier::Bearer,
                SecurityScheme::ApiKeyHeader { header, .. } => Carrier::ApiKey {
                    header: header.clone(),
                },
            };
            (
                scheme.key().to_owned(),
                carrier,
                scheme.pointer().to_owned(),
            )
        })
        .collect()
}

pub fn scenarios(api: &Contract) -> Vec<Scenario> {
    let mut out = Vec::new();
    for (key, carrier, pointer) in carriers(api) {
        let how = match &carrier {
            Carrier::Bearer => "a bearer credential".to_owned(),
            Carrier::ApiKey { header } => format!("a created token's secret in {header}"),
        };
        out.push(Scenario {
            name: format!("auth/{key}/ownership"),
            suite: Suite::Auth,
            summary: format!(
                "through {how}: another user neither sees nor deletes our token (404, still listed); our DELETE removes it; a second DELETE gets 404"
            ),
            needs: vec![Role::OtherUser],
            kind: Kind::Schemes(Case {
                scheme: key.clone(),
                carrier,
                pointer,
            }),
        });
    }
    out
}

/// The credential `role` presents through the case's scheme: for the api-key scheme, the
/// secret of a token `role` creates for it.
async fn credential(ctx: &mut Ctx<'_>, case: &Case, role: Role) -> Option<Auth> {
    match &case.carrier {
        Carrier::Bearer => Some(Auth::Role(role)),
        Carrier::ApiKey { header } => {
            let body = token_body(ctx, &format!("{}-key", role_label(role)))?;
            let created = ctx.create(role, &body).await?;
            Some(Auth::Header {
                name: header.clone(),
                value: created.secret,
                owner: Some(role),
            })
        }
    }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::OtherUser => "other",
        _ => "owner",
    }
}

fn token_body(ctx: &mut Ctx<'_>, label: &str) -> Option<Value> {
    Some(valid_create_body(ctx.api(), &ctx.token_name(label)))
}

/// The ids of the list `auth` sees, or `None` (reported) when it cannot be read.
async fn listed_ids(ctx: &mut Ctx<'_>, auth: &Auth) -> Option<Vec<String>> {
    let list = ctx.api().list.clone();
    let ok: Vec<u16> = list.success_status().into_iter().collect();
    let answer = ctx
        .raw(
            OperationId::ListMyTokens,
            &list.path,
            auth.clone(),
            &[],
            None,
            &ok,
        )
        .await?;
    let items = Some(&answer)
        .filter(|a| ok.contains(&a.status))
        .and_then(|a| a.json())
        .and_then(|v| v.as_array().cloned());
    let Some(items) = items else {
        ctx.step_failed(&format!(
            "list answered {} without a JSON array",
            answer.status
        ));
        return None;
    };
    Some(
        items
            .iter()
            .filter_map(|i| ctx.api().fields.id_of(i).map(str::to_owned))
            .collect(),
    )
}

async fn delete_as(ctx: &mut Ctx<'_>, auth: &Auth, id: &str, expected: &[u16]) -> Option<u16> {
    let delete = ctx.api().delete.clone();
    let path = delete.path_with(id);
    let answer = ctx
        .raw(
            OperationId::DeleteMyToken,
            &path,
            auth.clone(),
            &[],
            None,
            expected,
        )
        .await?;
    Some(answer.status)
}

pub async fn run(case: &Case, ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let scheme = &case.scheme;
    let body = token_body(ctx, "owned").ok_or(Stopped)?;
    let target = ctx.create(Role::User, &body).await.ok_or(Stopped)?;
    let id = target.id.to_string();
    let ours = credential(ctx, case, Role::User).await.ok_or(Stopped)?;
    let theirs = credential(ctx, case, Role::OtherUser)
        .await
        .ok_or(Stopped)?;
    let gone: Vec<u16> = ctx.api().delete.unknown_id_status.into_iter().collect();
    let ok: Vec<u16> = ctx.api().delete.success_status().into_iter().collect();

    // Another user's list, through the scheme.
    let their_list = listed_ids(ctx, &theirs).await.ok_or(Stopped)?;
    ctx.check(
        checks::ISOLATION_LIST,
        if their_list.contains(&id) {
            Err(Failure::new(format!(
                "another user's list through {scheme} shows our token"
            ))
            .expected(format!("no item with _id {id}"))
            .actual("listed")
            .at(case.pointer.clone()))
        } else {
            Ok(())
        },
    );

    // Another user's DELETE of our token, through the scheme.
    let status = delete_as(ctx, &theirs, &id, &gone).await.ok_or(Stopped)?;
    let still = ctx.list_ids(Role::User).await.ok_or(Stopped)?;
    ctx.check(
        checks::ISOLATION_DELETE,
        if !still.contains(&id) {
            Err(Failure::new(format!(
                "another user's DELETE through {scheme} removed our token"
            ))
            .expected("our token still listed")
            .actual(format!("gone after their DELETE answered {status}"))
            .at(case.pointer.clone()))
        } else if (200..300).contains(&status) {
            Err(Failure::new(format!(
                "another user's DELETE of our token through {scheme} answered success"
            ))
            .expected(
                gone.iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" or "),
            )
            .actual(status.to_string())
            .at(case.pointer.clone()))
        } else {
            Ok(())
        },
    );
    if !still.contains(&id) {
        return Ok(());
    }

    // Our own DELETE, through the scheme: the token leaves our list, a second one is unknown.
    let our_list = listed_ids(ctx, &ours).await.ok_or(Stopped)?;
    if !our_list.contains(&id) {
        return Err(ctx.step_failed(&format!(
            "our own list through {scheme} does not show our token"
        )));
    }
    let status = delete_as(ctx, &ours, &id, &ok).await.ok_or(Stopped)?;
    if !ok.contains(&status) {
        return Ok(());
    }
    let after = listed_ids(ctx, &ours).await.ok_or(Stopped)?;
    ctx.check(
        checks::DELETE_REMOVES_TOKEN,
        if after.contains(&id) {
            Err(Failure::new(format!(
                "the token is still listed after its DELETE through {scheme} succeeded"
            ))
            .expected(format!("no item with _id {id}"))
            .actual("still listed")
            .at(case.pointer.clone()))
        } else {
            Ok(())
        },
    );
    delete_as(ctx, &ours, &id, &gone).await;
    Ok(())
}
