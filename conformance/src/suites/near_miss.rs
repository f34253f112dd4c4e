//! Credentials that are almost right, for every security scheme the spec defines: the
//! credential cut short by one character, extended by one, with one character changed, in the
//! other letter case, with a space inside, the list's masked form of a secret, and the scheme
//! word missing, doubled or put where it does not belong. Each must be refused with 401; the
//! response checks judge the challenge (`www_authenticate`) and the error body.
//!
//! Each near miss is a bug a real stack has: a secret looked up with `LIKE 'value%'` or
//! compared with `startsWith`, a case-insensitive collation (MySQL's `_ci`), a lookup by the
//! characters the mask shows, `header.replace('Bearer ', '')` that lets a bare credential
//! through, whitespace stripped inside a value. Whitespace *around* a header value is not
//! varied: it is not part of the value (RFC 9110, section 5.5), so a server that accepts it is
//! right (TRANSCRIPTION.md, "Near-miss credentials").

use super::schemes::{Carrier, carriers};
use super::{Kind, Scenario, Suite, valid_create_body};
use crate::api::{Contract, OperationId};
use crate::checks::{self, Failure};
use crate::context::{Ctx, Stopped};
use crate::error::RunError;
use crate::roles::{Role, tamper};
use crate::transport::Auth;

/// How a credential is bent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bend {
    /// The last character dropped.
    Truncated,
    /// One character appended.
    Extended,
    /// The middle character changed.
    OneCharChanged,
    /// Every ASCII letter in the other case.
    OtherCase,
    /// A space inserted in the middle.
    SpaceInside,
    /// The masked form the list shows (a created secret only).
    Masked,
    /// The credential alone in `Authorization`, without the scheme word.
    WithoutSchemeWord,
    /// The scheme word twice.
    SchemeWordTwice,
    /// The bearer scheme word in front of a secret in the api-key header.
    WithSchemeWord,
}

impl Bend {
    fn label(self) -> &'static str {
        match self {
            Bend::Truncated => "truncated",
            Bend::Extended => "extended",
            Bend::OneCharChanged => "one-character-changed",
            Bend::OtherCase => "other-letter-case",
            Bend::SpaceInside => "space-inside",
            Bend::Masked => "masked-form",
            Bend::WithoutSchemeWord => "without-scheme-word",
            Bend::SchemeWordTwice => "scheme-word-twice",
            Bend::WithSchemeWord => "with-bearer-scheme-word",
        }
    }

    fn says(self) -> &'static str {
        match self {
            Bend::Truncated => "cut short by its last character",
            Bend::Extended => "with one character appended",
            Bend::OneCharChanged => "with its middle character changed",
            Bend::OtherCase => "in the other letter case",
            Bend::SpaceInside => "with a space inserted in the middle",
            Bend::Masked => "in the masked form the list shows",
            Bend::WithoutSchemeWord => "without the bearer scheme word",
            Bend::SchemeWordTwice => "after the bearer scheme word written twice",
            Bend::WithSchemeWord => "prefixed with the bearer scheme word",
        }
    }

    /// The bends of a carrier, as `conformance list` names them.
    pub fn described(carrier: &Carrier) -> Vec<&'static str> {
        Bend::for_carrier(carrier)
            .iter()
            .map(|b| b.says())
            .collect()
    }

    /// The bends that apply to a carrier. The bearer credential's one-character change is
    /// the auth suite's `tampered-credential`, so it is not repeated here.
    fn for_carrier(carrier: &Carrier) -> &'static [Bend] {
        match carrier {
            Carrier::Bearer => &[
                Bend::Truncated,
                Bend::Extended,
                Bend::OtherCase,
                Bend::SpaceInside,
                Bend::WithoutSchemeWord,
                Bend::SchemeWordTwice,
            ],
            Carrier::ApiKey { .. } => &[
                Bend::Truncated,
                Bend::Extended,
                Bend::OneCharChanged,
                Bend::OtherCase,
                Bend::SpaceInside,
                Bend::Masked,
                Bend::WithSchemeWord,
            ],
        }
    }

    /// The bent value, `None` when the bend leaves it as it was (a credential with no
    /// letter has no other case).
    fn apply(self, credential: &str) -> Option<String> {
        let chars: Vec<char> = credential.chars().collect();
        let bent = match self {
            Bend::Truncated => chars[..chars.len().saturating_sub(1)].iter().collect(),
            // A letter that base64 and hex alphabets share, never padding.
            Bend::Extended => format!("{credential}A"),
            Bend::OneCharChanged => tamper(credential),
            Bend::OtherCase => chars
                .iter()
                .map(|c| {
                    if c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
            Bend::SpaceInside => {
                let mid = chars.len() / 2;
                chars[..mid]
                    .iter()
                    .chain(std::iter::once(&' '))
                    .chain(chars[mid..].iter())
                    .collect()
            }
            Bend::WithoutSchemeWord | Bend::Masked => credential.to_owned(),
            Bend::SchemeWordTwice => format!("Bearer {credential}"),
            Bend::WithSchemeWord => format!("Bearer {credential}"),
        };
        let unchanged = bent == credential
            && !matches!(
                self,
                Bend::WithoutSchemeWord | Bend::Masked | Bend::SchemeWordTwice
            );
        (!bent.is_empty() && !unchanged).then_some(bent)
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub scheme: String,
    pub carrier: Carrier,
    pub bend: Bend,
    pub pointer: String,
}

pub fn scenarios(api: &Contract) -> Result<Vec<Scenario>, RunError> {
    let list = &api.list;
    let mut out = Vec::new();
    for (key, carrier, pointer) in carriers(api) {
        let whose = match &carrier {
            Carrier::Bearer => "ABP_TOKEN".to_owned(),
            Carrier::ApiKey { header } => format!("a created token's secret in {header}"),
        };
        for &bend in Bend::for_carrier(&carrier) {
            out.push(Scenario {
                name: format!("auth/{key}/near-miss-{}", bend.label()),
                suite: Suite::Auth,
                summary: format!(
                    "{} {} with {whose} {}: 401 with a challenge, never the list",
                    list.method,
                    list.path,
                    bend.says()
                ),
                needs: vec![],
                kind: Kind::NearMiss(Case {
                    scheme: key.clone(),
                    carrier: carrier.clone(),
                    bend,
                    pointer: pointer.clone(),
                }),
            });
        }
    }
    Ok(out)
}

/// The header that carries the bent credential, and whose it is.
async fn bent_header(ctx: &mut Ctx<'_>, case: &Case) -> Result<Option<(String, String)>, Stopped> {
    match &case.carrier {
        Carrier::Bearer => {
            let Some(user) = ctx.credential(Role::User) else {
                return Err(ctx.step_failed(&format!("{} is not set", Role::User.env_var())));
            };
            let Some(bent) = case.bend.apply(user) else {
                return Ok(None);
            };
            redact_bent(ctx, case, &bent);
            let value = match case.bend {
                Bend::WithoutSchemeWord => bent,
                _ => format!("Bearer {bent}"),
            };
            Ok(Some((
                reqwest::header::AUTHORIZATION.as_str().to_owned(),
                value,
            )))
        }
        Carrier::ApiKey { header } => {
            let body = valid_create_body(ctx.api(), &ctx.token_name("near-miss"));
            let created = ctx.create(Role::User, &body).await.ok_or(Stopped)?;
            let credential = if case.bend == Bend::Masked {
                let items = ctx.list(Role::User).await.ok_or(Stopped)?;
                let fields = &ctx.api().fields;
                let masked = items
                    .iter()
                    .find(|i| fields.id_of(i) == Some(created.id.as_str()))
                    .and_then(|i| fields.text(i, &fields.secret))
                    .map(str::to_owned);
                match masked {
                    // The list check reports a missing or unmasked item; nothing to bend.
                    Some(m) if m != created.secret => m,
                    _ => return Ok(None),
                }
            } else {
                created.secret.clone()
            };
            let Some(bent) = case.bend.apply(&credential) else {
                return Ok(None);
            };
            redact_bent(ctx, case, &bent);
            Ok(Some((header.clone(), bent)))
        }
    }
}

/// A bent credential is all but a secret (one character off, one missing): it is redacted
/// like one in every report, as the auth suite's tampered credential is.
fn redact_bent(ctx: &Ctx<'_>, case: &Case, bent: &str) {
    let hides = matches!(
        case.bend,
        Bend::Truncated
            | Bend::Extended
            | Bend::OneCharChanged
            | Bend::OtherCase
            | Bend::SpaceInside
    );
    if hides {
        let whose = match case.carrier {
            Carrier::Bearer => Role::User.env_var().to_owned(),
            Carrier::ApiKey { .. } => "a created secret".to_owned(),
        };
        ctx.shared
            .redactor
            .add(bent, &format!("[{} {whose}]", case.bend.label()));
    }
}

pub async fn run(case: &Case, ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    let Some((name, value)) = bent_header(ctx, case).await? else {
        return Ok(());
    };
    let list = ctx.api().list.clone();
    let refused: Vec<u16> = list.response(401).map(|_| 401).into_iter().collect();
    let answer = ctx
        .raw(
            OperationId::ListMyTokens,
            &list.path,
            Auth::Header {
                name: name.clone(),
                value,
                owner: None,
            },
            &[],
            None,
            &refused,
        )
        .await
        .ok_or(Stopped)?;
    let result = if (200..300).contains(&answer.status) {
        Err(Failure::new(format!(
            "a credential {} in {name} was accepted through {}",
            case.bend.says(),
            case.scheme
        ))
        .expected("401: it is not the credential the server issued")
        .actual(format!("{} (the list was served)", answer.status))
        .at(case.pointer.clone()))
    } else {
        Ok(())
    };
    ctx.check(checks::CREDENTIAL_REFUSED, result);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bend_changes_the_credential_or_says_it_cannot() {
        let secret = "uat_Q2hhbmdlIG1lIGluIHByb2R1Y3Rpb24gcGxlYXNlIFprM1E";
        for bend in [
            Bend::Truncated,
            Bend::Extended,
            Bend::OneCharChanged,
            Bend::OtherCase,
            Bend::SpaceInside,
            Bend::WithSchemeWord,
        ] {
            let bent = bend.apply(secret).unwrap();
            assert_ne!(bent, secret, "{bend:?}");
        }
        assert_eq!(
            Bend::Truncated.apply(secret).unwrap().len(),
            secret.len() - 1
        );
        assert!(Bend::Extended.apply(secret).unwrap().starts_with(secret));
        assert_eq!(Bend::OtherCase.apply("0123456789"), None);
        assert_eq!(Bend::Truncated.apply("x"), None);
        assert_eq!(
            Bend::OtherCase.apply("abC1").as_deref(),
            Some("ABc1"),
            "letters swap, digits stay"
        );
    }
}
