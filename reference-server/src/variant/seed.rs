//! The data `many-tokens` seeds at start-up: every user who may manage tokens already holds
//! tokens a run did not create, and must leave alone.

use super::{Variant, Variants};
use crate::behaviour::Behaviour;
use crate::error::ServerError;
use crate::fixtures::Fixtures;
use crate::store::TokenRecord;
use crate::tokens::{now_ms, object_id, sha256_hex};
use chrono::TimeDelta;

/// How many tokens `many-tokens` gives each user who may manage tokens.
pub const SEEDED_TOKENS: usize = 40;

/// The name prefix of the tokens `many-tokens` seeds.
pub const SEEDED_NAME_PREFIX: &str = "held-before-the-run-";

/// Gives every user who may manage tokens [`SEEDED_TOKENS`] tokens (`many-tokens`).
pub(crate) fn seed(
    variants: &Variants,
    fixtures: &Fixtures,
    behaviour: &Behaviour,
) -> Result<(), ServerError> {
    if !variants.has(Variant::ManyTokens) {
        return Ok(());
    }
    let now = now_ms();
    for user in fixtures.users.iter().filter(|u| u.may_manage_tokens()) {
        for n in 0..SEEDED_TOKENS {
            let secret = behaviour.secrets.secret(&user.id);
            let created = now - TimeDelta::hours(1) + TimeDelta::seconds(n as i64);
            behaviour.store.insert(&TokenRecord {
                id: object_id(created),
                name: format!("{SEEDED_NAME_PREFIX}{n:02}"),
                hash: sha256_hex(&secret),
                masked: (behaviour.mask)(&secret),
                privileges: Vec::new(),
                user_id: user.id.clone(),
                organization_id: user.organization.clone(),
                created_at: created,
                updated_at: created,
                expires_on: created + TimeDelta::days(3650),
            })?;
        }
    }
    Ok(())
}
