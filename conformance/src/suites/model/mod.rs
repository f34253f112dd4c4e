//! The model suite: seeded sequences of operations in concurrent lanes, each answer checked
//! against one reference model of what the server must hold.
//!
//! The budget (`--model-steps`, a step being one request or several sent at once) is split
//! into lanes of about [`LANE_STEPS`] steps. Each lane is a scenario of its own
//! (`model/lane-K`): a pure function of (seed, lane) ([`generate::generate`]) with its own
//! token slots and name prefix, sharing the run's users, judging only its own tokens. Lanes
//! run at once like any scenarios (`--jobs`), so other lanes' writes land between a lane's
//! requests, which makes cross-talk and stale-index faults more visible, while the verdict
//! stays the same whatever the interleaving: a lane's requests are fixed, and its lists
//! ignore every token but its own.
//!
//! - `ops.rs`: the operations and steps; `facts.rs`: the spec's facts the model predicts
//!   from; `reference.rs`: the reference model (state,
//!   `expect`, `apply`) used by all the rest; `generate.rs`: the generator and its guaranteed
//!   coverage; `judge.rs`: runs a lane and judges every answer; `shrink.rs`: shrinks a
//!   failing lane; `script.rs`: steps in words and a curl replay script.
//!
//! On the first mismatch the lane stops and is shrunk within itself. The failure of
//! [`checks::MODEL_MATCHES`] shows the minimal sequence as numbered steps, the command that
//! reruns just that lane against the same target (`--seed N --model-steps T --model-lane
//! K`), and a `curl` script.

mod facts;
mod generate;
mod judge;
mod ops;
mod reference;
mod script;
mod shrink;

pub use generate::{Env, VOLUME, generate};
pub use ops::{Caller, Op, Step, Target};
pub use reference::{Expect, State};

use super::{Kind, Scenario, Suite};
use crate::checks::{self, Failure};
use crate::context::{Ctx, Stopped};
use crate::error::RunError;
use crate::roles::Role;
use facts::Facts;
use rand::RngExt as _;
use std::fmt::Write as _;

/// The budget unless `--model-steps` says otherwise: eight lanes, together well past 25 live
/// tokens for one user, bursts and races of every kind, and a run against a target 50 ms
/// away that still ends within 1.5 s (README, "Performance").
pub const DEFAULT_STEPS: usize = 120;

/// Steps per lane: the longest chain of dependent requests a lane adds to a run.
pub const LANE_STEPS: usize = 15;

/// A shrink stops after this many requests per step of the lane.
const SHRINK_REQUESTS_PER_STEP: usize = 25;

#[derive(Debug, Clone)]
pub struct Case {
    /// Chosen by the run (`--seed`, else drawn) before the scenario starts.
    pub seed: Option<u64>,
    /// The whole suite's budget (`--model-steps`).
    pub steps: usize,
    /// This lane, 0-based (`--model-lane` counts from 1).
    pub lane: usize,
    pub lanes: usize,
}

impl Case {
    /// Steps this lane runs (at least its skeleton).
    pub fn lane_steps(&self) -> usize {
        generate::share(self.steps, self.lanes, self.lane).max(generate::SKELETON_STEPS)
    }
}

/// How many lanes a budget of `steps` runs in.
pub fn lanes(steps: usize) -> usize {
    (steps / LANE_STEPS).max(1)
}

fn lane_scenario(seed: Option<u64>, steps: usize, lane: usize) -> Scenario {
    let case = Case {
        seed,
        steps,
        lane,
        lanes: lanes(steps),
    };
    Scenario {
        name: format!("model/lane-{}", lane + 1),
        suite: Suite::Model,
        summary: summary(&case),
        needs: vec![],
        kind: Kind::Model(case),
    }
}

/// The lanes of the default budget, as `conformance list` shows them.
pub fn scenarios() -> Vec<Scenario> {
    (0..lanes(DEFAULT_STEPS))
        .map(|lane| lane_scenario(None, DEFAULT_STEPS, lane))
        .collect()
}

pub fn summary(case: &Case) -> String {
    let seed = case
        .seed
        .map_or_else(|| "a random seed".to_owned(), |s| format!("seed {s}"));
    let volume = if case.lane == 0 {
        format!(", growing one user past {VOLUME} live tokens")
    } else {
        String::new()
    };
    format!(
        "lane {} of {}: a sequence of {} steps ({seed}) across every role the run has a credential for and every scheme{volume}, checked against the spec's model; a mismatch is shrunk to a minimal replay",
        case.lane + 1,
        case.lanes,
        case.lane_steps()
    )
}

/// Replaces the model scenarios of `scenarios` by the lanes the run's budget asks for, all
/// with one seed (`--seed`, else drawn once), or only lane `only` (1-based, `--model-lane`).
pub fn configure(
    scenarios: Vec<Scenario>,
    seed: Option<u64>,
    steps: Option<usize>,
    only: Option<usize>,
) -> Result<Vec<Scenario>, RunError> {
    let steps = steps.unwrap_or(DEFAULT_STEPS);
    let count = lanes(steps);
    if let Some(k) = only
        && !(1..=count).contains(&k)
    {
        return Err(RunError::Config(format!(
            "--model-lane {k}: a budget of {steps} steps runs {count} lanes (1 to {count})"
        )));
    }
    let seed = Some(seed.unwrap_or_else(|| rand::rng().random::<u64>() >> 12));
    let mut out = Vec::with_capacity(scenarios.len());
    let mut placed = false;
    for s in scenarios {
        if !matches!(s.kind, Kind::Model(_)) {
            out.push(s);
        } else if !placed {
            placed = true;
            out.extend(
                (0..count)
                    .filter(|lane| only.is_none_or(|k| k == lane + 1))
                    .map(|lane| lane_scenario(seed, steps, lane)),
            );
        }
    }
    Ok(out)
}

/// The environment a lane may use: who has credentials, what the spec offers.
fn env(ctx: &Ctx<'_>, facts: &Facts) -> Env {
    let has = |r: Role| ctx.credential(r).is_some();
    Env {
        users: [Role::User, Role::OtherUser]
            .into_iter()
            .filter(|r| has(*r))
            .collect(),
        forbidden: has(Role::Forbidden),
        expired: has(Role::Expired),
        lifetimes: facts.lifetimes.len(),
        privileges: facts::privilege_choices(ctx.api()),
    }
}

/// A shell word: as it is when plain, else single-quoted.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The command that reruns just this lane against the same target.
fn replay_command(ctx: &Ctx<'_>, case: &Case, seed: u64) -> String {
    let mut words = vec!["conformance".to_owned(), "run".to_owned()];
    words.extend(ctx.shared.config.target_args.iter().map(|a| shell_word(a)));
    words.push(format!(
        "--suite model --seed {seed} --model-steps {} --model-lane {}",
        case.steps,
        case.lane + 1
    ));
    words.join(" ")
}

/// The sequence of a lane, for tests and tools: the same steps a run sends.
pub fn lane_steps(seed: u64, steps: usize, lane: usize, env: &Env) -> Vec<Step> {
    let case = Case {
        seed: Some(seed),
        steps,
        lane,
        lanes: lanes(steps),
    };
    generate(seed, lane, case.lane_steps(), env)
}

pub async fn run(case: &Case, ctx: &mut Ctx<'_>) -> Result<(), Stopped> {
    // The requests depend on the seed: a snapshot of them would never match.
    ctx.snapshot = false;
    let facts = match Facts::read(ctx.api()) {
        Ok(f) => f,
        Err(why) => {
            return Err(ctx.step_failed(&why));
        }
    };
    if facts.lifetimes.is_empty() {
        return Err(ctx.step_failed("the spec has no lifetimes to create tokens with"));
    }
    let seed = case.seed.unwrap_or_default();
    let env = env(ctx, &facts);
    let steps = generate(seed, case.lane, case.lane_steps(), &env);
    let prefix = ctx.token_name("s-");
    let outcome = judge::execute(ctx, &facts, &steps, prefix).await;
    if outcome.aborted {
        return Err(Stopped);
    }
    let Some(first) = outcome.mismatch else {
        ctx.check(checks::MODEL_MATCHES, Ok(()));
        return Ok(());
    };
    let original = first.step + 1;
    // Delete what the failing lane created before the replays start.
    ctx.clean_up().await;
    let budget = SHRINK_REQUESTS_PER_STEP * case.lane_steps();
    let shrinking = ctx.shared.config.model_shrink;
    let shrunk = if shrinking {
        shrink::shrink(ctx, &facts, &steps, first, budget).await
    } else {
        shrink::Shrunk {
            steps: steps[..=first.step].to_vec(),
            mismatch: first,
            replays: 0,
            requests: 0,
            reproduced: false,
        }
    };
    ctx.tally.stats.requests += shrunk.requests;
    let last = shrunk.mismatch;
    let mut message = format!(
        "the answers left the model: {} (seed {seed}, lane {} of {}, step {original} of {}; ",
        last.message,
        case.lane + 1,
        case.lanes,
        steps.len(),
    );
    if !shrinking {
        let _ = writeln!(message, "not shrunk: --no-shrink)");
    } else if shrunk.reproduced {
        let _ = writeln!(
            message,
            "shrunk to {} steps in {} replays, {} requests)",
            shrunk.steps.len(),
            shrunk.replays,
            shrunk.requests
        );
    } else {
        let _ = writeln!(
            message,
            "no shorter replay of the lane alone failed the same way in {} replays: the failure may need other lanes' tokens beside it)",
            shrunk.replays
        );
    }
    for (n, step) in shrunk.steps.iter().enumerate() {
        let _ = write!(message, "{:>3}. {}", n + 1, script::describe(step, &facts));
        if n == last.step {
            let op = step
                .get(last.op)
                .filter(|_| step.len() > 1)
                .map(|op| format!(" ({})", script::describe_op(op, &facts)))
                .unwrap_or_default();
            let _ = write!(
                message,
                "  ← expected {}, got {}{op}",
                last.expected, last.actual
            );
        }
        message.push('\n');
    }
    let _ = writeln!(
        message,
        "replay exactly: {}",
        replay_command(ctx, case, seed)
    );
    message.push_str("or with this script:\n");
    message.push_str(&script::script(
        &shrunk.steps,
        &facts,
        ctx.api(),
        ctx.shared.transport.base_url(),
    ));
    let mut failure = Failure::new(message.trim_end().to_owned())
        .expected(last.expected)
        .actual(last.actual);
    if let Some(p) = last.pointer {
        failure = failure.at(p);
    }
    ctx.check(checks::MODEL_MATCHES, Err(failure));
    Ok(())
}
