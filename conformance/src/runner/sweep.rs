//! The final sweep: every token still carrying this run's prefix is deleted, and the account
//! is listed once more, so tokens a target kept (a DELETE answered 204 and ignored, a rate
//! limit that refused the deletes) are counted rather than believed gone.

use super::Outcome;
use crate::context::Shared;
use crate::events::{Event, Warning};
use crate::roles::Role;

/// Each role's list, all at once and quietly (the sweep reports only its deletions): `None`
/// for a role without a credential, `Some(None)` for a list that could not be read.
async fn quiet_lists(
    shared: &Shared,
    roles: &[Role],
) -> Vec<(
    Role,
    Option<Option<Vec<abp_tokens_client::types::UserAccessToken>>>,
)> {
    let lists = futures_util::future::join_all(roles.iter().map(|role| {
        shared
            .transport
            .typed(*role, |c| async move { c.list_my_tokens().await })
    }))
    .await;
    roles
        .iter()
        .zip(lists)
        .map(|(role, list)| {
            (
                *role,
                list.map(|(result, _)| result.ok().map(|l| l.into_inner())),
            )
        })
        .collect()
}

/// Deletes any token still carrying this run's prefix (say a create that answered an error
/// yet stored the token). Only this run's names are touched.
pub(super) async fn sweep(shared: &Shared) -> Outcome {
    let mut ctx = super::context(shared, "cleanup/sweep", 0);
    let roles = [Role::User, Role::OtherUser];
    let mut earlier = 0;
    // Roles whose list could not be read: what they still hold of this run is not known.
    let mut unread = Vec::new();
    for (role, list) in quiet_lists(shared, &roles).await {
        let list = match list {
            Some(Some(list)) => list,
            Some(None) => {
                unread.push(role.env_var());
                continue;
            }
            // No credential for the role: it created nothing.
            None => continue,
        };
        for token in list {
            if token.name.starts_with(&shared.prefix) {
                ctx.to_clean.push((role, token.id.to_string()));
            } else if crate::context::is_run_token_name(&token.name) {
                earlier += 1;
            }
        }
    }
    if earlier > 0 {
        // Live credentials of a killed run: say so once, with the way to remove them.
        ctx.events
            .push(Event::Warning(Warning::EarlierTokens { tokens: earlier }));
    }
    let swept: Vec<Role> = roles
        .into_iter()
        .filter(|r| ctx.to_clean.iter().any(|(role, _)| role == r))
        .collect();
    let unconfirmed = ctx.clean_up().await;
    // A DELETE's success is the target's word; the list is its state. Whatever this run
    // deleted in the sweep is listed once more, so a target that answers 204 and keeps the
    // token (or a rate limit that refused the deletes) is counted, not believed.
    let mut still = 0;
    for (role, list) in quiet_lists(shared, &swept).await {
        match list {
            Some(Some(list)) => {
                still += list
                    .iter()
                    .filter(|t| t.name.starts_with(&shared.prefix))
                    .count();
            }
            _ => unread.push(role.env_var()),
        }
    }
    // Tokens are live credentials: a run that cannot confirm it removed its own says how
    // many it left, and how to remove them, in every report.
    if still > 0 || unconfirmed > 0 || !unread.is_empty() {
        ctx.events.push(Event::Warning(Warning::TokensLeft {
            still,
            unconfirmed,
            unread: unread.iter().map(|v| v.to_string()).collect(),
            prefix: shared.prefix.clone(),
        }));
    }
    let mut stats = ctx.tally.stats;
    stats.tokens_left = still.max(unconfirmed);
    Outcome {
        events: std::mem::take(&mut ctx.events),
        stats,
        verdict: None,
        watermark: 0,
    }
}
