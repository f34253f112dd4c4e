//! The auth suite: for every operation, requests with missing, malformed, unknown, tampered,
//! expired, forbidden and never-issued credentials get the documented 401/403 with the spec's
//! error body (and an accepted one is named by `credential_refused`, with its possible causes);
//! the valid credential with a lower-case scheme succeeds (schemes are case-insensitive).

use super::{Kind, Scenario, Suite, valid_create_body};
use crate::api::{Contract, Label, OperationId};
use crate::checks::{self, Failure};
use crate::context::{Ctx, Stopped};
use crate::error::RunError;
use crate::roles::{Role, random_hex, tamper};
use crate::transport::Auth;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    NoAuthorization,
    EmptyAuthorization,
    BearerWithoutCredential,
    BasicScheme,
    UnknownCredential,
    TamperedCredential,
    LowercaseScheme,
    ExpiredCredential,
    ForbiddenCredential,
    UnissuedCredential,
}

impl Variant {
    const ALL: [Variant; 10] = [
        Variant::NoAuthorization,
        Variant::EmptyAuthorization,
        Variant::BearerWithoutCredential,
        Variant::BasicScheme,
        Variant::UnknownCredential,
        Variant::TamperedCredential,
        Variant::LowercaseScheme,
        Variant::ExpiredCredential,
        Variant::ForbiddenCredential,
        Variant::UnissuedCredential,
    ];

    fn label(self) -> &'static str {
        match self {
            Variant::NoAuthorization => "no-authorization",
            Variant::EmptyAuthorization => "empty-authorization",
            Variant::BearerWithoutCredential => "bearer-without-credential",
            Variant::BasicScheme => "basic-scheme",
            Variant::UnknownCredential => "unknown-credential",
            Variant::TamperedCredential => "tampered-credential",
            Variant::LowercaseScheme => "lowercase-scheme",
            Variant::ExpiredCredential => "expired-credential",
            Variant::ForbiddenCredential => "forbidden-credential",
            Variant::UnissuedCredential => "unissued-credential",
        }
    }

    fn summary(self) -> &'static str {
        match self {
            Variant::NoAuthorization => "no Authorization header → 401",
            Variant::EmptyAuthorization => "an empty Authorization header → 401",
            Variant::BearerWithoutCredential => "`Bearer` with no credential → 401",
            Variant::BasicScheme => "the Basic scheme → 401",
            Variant::UnknownCredential => "an unknown bearer credential → 401",
            Variant::TamperedCredential => "ABP_TOKEN with one character changed → 401",
            Variant::LowercaseScheme => "`bearer` (lower case) with ABP_TOKEN succeeds",
            Variant::ExpiredCredential => "the expired credential → 401",
            Variant::ForbiddenCredential => "a user without the privilege → 403",
            Variant::UnissuedCredential => {
                "a credential nobody issued, shaped like ABP_TOKEN → 401"
            }
        }
    }

    fn needs(self) -> Vec<Role> {
        match self {
            Variant::ExpiredCredential => vec![Role::Expired],
            Variant::ForbiddenCredential => vec![Role::Forbidden],
            _ => vec![],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub op: OperationId,
    pub variant: Variant,
}

pub fn scenarios(api: &Contract) -> Result<Vec<Scenario>, RunError> {
    let mut out = Vec::new();
    for kind in OperationId::ALL {
        let op = api.operation(kind);
        for variant in Variant::ALL {
            out.push(Scenario {
                name: format!("auth/{}/{}", kind.label(), variant.label()),
                suite: Suite::Auth,
                summary: format!("{} {}: {}", op.method, op.path, variant.summary()),
                needs: variant.needs(),
                kind: Kind::Auth(Case { op: kind, variant }),
            });
        }
    }
    Ok(out)
}

/// The credential to send: none, a role's bearer credential, or an explicit header.
fn authorization(ctx: &Ctx<'_>, variant: Variant) -> Auth {
    let user = ctx.credential(Role::User).unwrap_or_default();
    let header = |value: String, owner: Option<Role>| Auth::Header {
        name: reqwest::header::AUTHORIZATION.as_str().to_owned(),
        value,
        owner,
    };
    match variant {
        Variant::NoAuthorization => Auth::None,
        Variant::EmptyAuthorization => header(String::new(), None),
        Variant::BearerWithoutCredential => header("Bearer".into(), None),
        Variant::BasicScheme => header("Basic Y29uZm9ybWFuY2U6bm90LWEtcGFzc3dvcmQ=".into(), None),
        Variant::UnknownCredential => header(
            format!("Bearer conformance-unknown-{}", random_hex(16)),
            None,
        ),
        Variant::TamperedCredential => header(format!("Bearer {}", tamper(user)), None),
        // The user's own credential: anything it creates is the user's to delete.
        Variant::LowercaseScheme => header(format!("bearer {user}"), Some(Role::User)),
        Variant::ExpiredCredential => Auth::Role(Role::Expired),
        Variant::ForbiddenCredential => Auth::Role(Role::Forbidden),
        Variant::UnissuedCredential => header(
            format!("Bearer {}", crate::preflight::unissued_credential(user)),
            None,
        ),
    }
}

/// Whether a credential that must not authenticate was refused; when it was accepted, the
/// failure says what that means: a variable holding the wrong credential and a server bug
/// look the same from one answer, unless the server also took a credential nobody issued.
fn judge_refusal(ctx: &mut Ctx<'_>, variant: Variant, status: u16) {
    if !(200..300).contains(&status) {
        ctx.check(checks::CREDENTIAL_REFUSED, Ok(()));
        return;
    }
    let anything = ctx
        .shared
        .unissued_status
        .get()
        .is_some_and(|s| (200..300).contains(s));
    let certain = if anything {
        "; it also accepted a credential nobody issued at first contact, so the server authenticates credentials it never issued"
    } else {
        ""
    };
    let message = match variant {
        Variant::ExpiredCredential => format!(
            "the server accepted {} (answered {status}): either it accepts expired credentials, or {} does not hold an expired one{certain}",
            Role::Expired.env_var(),
            Role::Expired.env_var()
        ),
        Variant::ForbiddenCredential => format!(
            "the server let {} manage tokens (answered {status}): either it ignores the privilege to manage tokens, or {} belongs to a user who has it{certain}",
            Role::Forbidden.env_var(),
            Role::Forbidden.env_var()
        ),
        Variant::UnissuedCredential => format!(
            "the server accepted a bearer credential nobody issued (random, shaped like {}; answered {status}): it authenticates credentials it never issued",
            Role::User.env_var()
        ),
        _ => format!(
            "the server accepted a credential it never issued (answered {status}): it authenticates credentials it never issued"
        ),
    };
    let expected = if variant == Variant::ForbiddenCredential {
        "403"
    } else {
        "401"
    };
    ctx.check(
        checks::CREDENTIAL_REFUSED,
        Err(Failure::new(message)
            .expected(expected)
            .actual(status.to_string())),
    );
}

pub async fn run(case: &Case, ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let op = ctx.api().operation(case.op).clone();
    let expected: Vec<u16> = match case.variant {
        Variant::LowercaseScheme => op.success_status().into_iter().collect(),
        Variant::ForbiddenCredential => vec![403],
        _ => vec![401],
    };
    let must_reject = case.variant != Variant::LowercaseScheme;
    let auth = authorization(ctx, case.variant);
    let mut headers = Vec::new();
    match case.op {
        OperationId::ListMyTokens => {
            let answer = ctx
                .raw(case.op, &op.path, auth, &headers, None, &expected)
                .await;
            if let (true, Some(r)) = (must_reject, answer) {
                judge_refusal(ctx, case.variant, r.status);
            }
        }
        OperationId::CreateMyToken => {
            // This scenario's list is empty before its request (it judges only its own
            // tokens), so only the list after it can show a change.
            let body = valid_create_body(ctx.api(), &ctx.token_name("auth"));
            let content_type = op
                .body
                .as_ref()
                .map(|b| b.content_type.clone())
                .unwrap_or_else(|| "application/json".into());
            headers.push(("content-type", content_type));
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            let answer = ctx
                .raw(case.op, &op.path, auth, &headers, Some(bytes), &expected)
                .await
                .ok_or(Stopped)?;
            if must_reject {
                judge_refusal(ctx, case.variant, answer.status);
                let after = ctx.list_ids(Role::User).await.ok_or(Stopped)?;
                let result = if after.is_empty() {
                    Ok(())
                } else {
                    Err(Failure::new(
                        "a create with a rejected credential changed ABP_TOKEN's list",
                    )
                    .expected("no token of this scenario")
                    .actual(format!("{} tokens", after.len())))
                };
                ctx.check(checks::REJECTION_CHANGES_NOTHING, result);
            }
        }
        OperationId::DeleteMyToken => {
            // Aim the request at a token of our own, so a server that wrongly accepts the
            // credential deletes only what this run created.
            let body = valid_create_body(ctx.api(), &ctx.token_name("auth-delete"));
            let created = ctx.create(Role::User, &body).await.ok_or(Stopped)?;
            let id = created.id.to_string();
            let path = op.path_with(&id);
            let answer = ctx
                .raw(case.op, &path, auth, &headers, None, &expected)
                .await
                .ok_or(Stopped)?;
            if must_reject {
                judge_refusal(ctx, case.variant, answer.status);
            }
            let after = ctx.list_ids(Role::User).await.ok_or(Stopped)?;
            let still_there = after.contains(&id);
            let result = match (must_reject, still_there) {
                (true, true) | (false, false) => Ok(()),
                (true, false) => Err(Failure::new(
                    "a DELETE with a rejected credential removed the token",
                )
                .expected("the token still listed")
                .actual("gone")),
                (false, true) => Err(Failure::new(
                    "a DELETE with the lower-case scheme did not remove the token",
                )
                .expected("the token gone")
                .actual("still listed")),
            };
            let check = if must_reject {
                checks::REJECTION_CHANGES_NOTHING
            } else {
                checks::DELETE_REMOVES_TOKEN
            };
            ctx.check(check, result);
        }
    }
    Ok(())
}
