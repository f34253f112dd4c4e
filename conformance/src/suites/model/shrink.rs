//! Shrinking a failing lane: shorter sequences (always with fresh tokens) are replayed until
//! no remaining operation can be dropped without the mismatch going away.

use super::facts::Facts;
use super::judge::{Mismatch, execute};
use super::ops::{Step, positions, without};
use crate::context::Ctx;
use std::collections::BTreeSet;

/// The most replays a shrink may use; each replays at most the failing prefix.
const MAX_REPLAYS: usize = 200;

/// A replay in a context of its own: its events are not reported (the shrunk sequence is),
/// its tokens are deleted at once. Returns the mismatch and the requests it took.
async fn replay(
    ctx: &Ctx<'_>,
    facts: &Facts,
    steps: &[Step],
    attempt: usize,
) -> (Option<Mismatch>, usize) {
    let mut quiet = Ctx::new(ctx.shared, &ctx.scenario, 0);
    quiet.prefix = ctx.prefix.clone();
    quiet.quiet = true;
    let prefix = quiet.token_name(&format!("r{attempt}-"));
    let outcome = execute(&mut quiet, facts, steps, prefix).await;
    quiet.clean_up().await;
    let requests = quiet.tally.stats.requests;
    (outcome.mismatch, requests)
}

/// What a shrink found.
pub struct Shrunk {
    pub steps: Vec<Step>,
    pub mismatch: Mismatch,
    pub replays: usize,
    pub requests: usize,
    /// Whether any replay failed the same way: when none did, the failure needed what ran
    /// beside the lane (other lanes' tokens, say), and the steps are the unshrunk ones.
    pub reproduced: bool,
}

/// Shrinks a failing sequence: drops chunks of operations (halving their size) as long as
/// the replay still fails the same way. Deterministic for a deterministic server.
pub async fn shrink(
    ctx: &Ctx<'_>,
    facts: &Facts,
    steps: &[Step],
    first: Mismatch,
    max_requests: usize,
) -> Shrunk {
    let mut current: Vec<Step> = steps[..=first.step].to_vec();
    let mut best = first;
    let (mut replays, mut requests) = (0, 0);
    let mut reproduced = false;
    let mut chunk = positions(&current).len().div_ceil(2).max(1);
    loop {
        let mut progressed = false;
        let mut start = 0;
        loop {
            // Never drop the failing operation itself: it is what the shrink keeps.
            let all: Vec<(usize, usize)> = positions(&current)
                .into_iter()
                .filter(|p| *p != (best.step, best.op))
                .collect();
            if start >= all.len() || replays >= MAX_REPLAYS || requests >= max_requests {
                break;
            }
            let end = (start + chunk).min(all.len());
            let drop: BTreeSet<(usize, usize)> = all[start..end].iter().copied().collect();
            let candidate = without(&current, &drop);
            replays += 1;
            let (mismatch, n) = replay(ctx, facts, &candidate, replays).await;
            requests += n;
            match mismatch {
                Some(m) if m.kind == best.kind => {
                    current = candidate[..=m.step].to_vec();
                    best = m;
                    progressed = true;
                    reproduced = true;
                }
                _ => start = end,
            }
        }
        if replays >= MAX_REPLAYS || requests >= max_requests || (chunk == 1 && !progressed) {
            break;
        }
        if !progressed {
            chunk = chunk.div_ceil(2);
        }
    }
    Shrunk {
        steps: current,
        mismatch: best,
        replays,
        requests,
        reproduced,
    }
}
