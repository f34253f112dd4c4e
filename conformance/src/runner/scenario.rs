//! One scenario's run: skipped for a missing credential, attempted in a fresh context, tried
//! again on failure (`--rerun-failures`: one that then passes is flaky), cut short by a signal
//! or the deadline, and turned into its started and finished events.

use super::Outcome;
use crate::context::Shared;
use crate::events::{Event, Progress, RunStats, ScenarioResult, Verdict};
use crate::suites::{self, Scenario};
use std::time::Instant;

/// How many round trips a scenario is expected to take: the scheduler starts heavy ones first.
pub(super) fn weight(scenario: &Scenario, shared: &Shared) -> usize {
    use crate::suites::{Kind, auth, lifecycle};
    match &scenario.kind {
        // A create and a delete per lifetime.
        Kind::Lifecycle(lifecycle::Case::EveryLifetime) => 2 * shared.api.lifetimes.len(),
        Kind::Lifecycle(lifecycle::Case::OtherUserIsolation) => 5,
        Kind::Lifecycle(_) => 4,
        Kind::Auth(auth::Case { op, .. }) => match op {
            crate::api::OperationId::ListMyTokens => 1,
            _ => 4,
        },
        Kind::Validation(_) => 3,
        // A round trip per step, and the heaviest of all: lanes start first.
        Kind::Model(case) => case.lane_steps() + 1,
        // A create, and the clean-up's delete.
        Kind::Boundary(_) => 2,
        // A create, a list, the clean-up's delete (two creates or two lists for some).
        Kind::Stored(_) | Kind::Unstated(_) => 4,
        // Three creates, three lists, three deletes and the clean-up.
        Kind::Schemes(_) | Kind::Effects(_) => 12,
        // A create, a list, the clean-up's delete.
        Kind::Injected(_) => 3,
        // A create, perhaps a list, the bent request, the clean-up's delete.
        Kind::NearMiss(_) => 4,
    }
}

pub(super) async fn run(
    shared: &Shared,
    seq: usize,
    scenario: &Scenario,
    progress: tokio::sync::mpsc::UnboundedSender<Progress>,
) -> Outcome {
    // Once interrupted, scenarios that have not started do not start.
    if shared.control.is_cancelled() {
        return Outcome {
            events: vec![
                started_event(scenario),
                finished_event(
                    scenario,
                    Verdict::NotRun,
                    Some("the run was interrupted before this scenario started".into()),
                    0,
                    0,
                    ScenarioResult::default(),
                ),
            ],
            stats: RunStats::default(),
            verdict: Some(Verdict::NotRun),
            watermark: 0,
        };
    }
    let _ = progress.send(Progress::Started {
        scenario: scenario.name.clone(),
    });
    let started = Instant::now();
    let mut events = vec![started_event(scenario)];
    let missing = scenario
        .needs
        .iter()
        .find(|r| shared.config.credentials.get(**r).is_none());
    let (verdict, reason, stats, requests) = match missing {
        Some(missing) => (
            Verdict::Skipped,
            Some(format!("needs {} (not set)", missing.env_var())),
            RunStats::default(),
            0,
        ),
        None => {
            let mut first = attempt(shared, seq, scenario).await;
            let mut reason = first.reason.take();
            let mut verdict = first.verdict;
            let mut requests = first.requests;
            // A failure is tried again with fresh tokens: one that does not reproduce is
            // flaky, a verdict of its own; the events shown are the failing attempt's.
            let reruns = shared.config.rerun_failures;
            let mut rerun = 0;
            while verdict == Verdict::Failed && rerun < reruns && !shared.control.is_cancelled() {
                rerun += 1;
                let again = attempt(shared, seq, scenario).await;
                requests += again.requests;
                first.stats.requests += again.stats.requests;
                first.stats.retries += again.stats.retries;
                if again.verdict == Verdict::Passed || again.verdict == Verdict::KnownFailure {
                    verdict = Verdict::Flaky;
                    reason = Some(format!(
                        "failed, then passed on re-run {rerun} of {reruns} (--rerun-failures): not reproducible"
                    ));
                } else if again.verdict == Verdict::Interrupted {
                    break;
                } else if rerun == reruns {
                    reason = Some(format!("failed again on {reruns} re-runs"));
                }
            }
            events.append(&mut first.events);
            (verdict, reason, first.stats, requests)
        }
    };
    let mut result = ScenarioResult::default();
    for event in &events {
        match event {
            Event::Check(c) => result.checks.push(c.clone()),
            Event::Exchange(x) => result.exchanges.push(x.clone()),
            _ => {}
        }
    }
    events.push(finished_event(
        scenario,
        verdict,
        reason,
        started.elapsed().as_millis() as u64,
        requests,
        result,
    ));
    let _ = progress.send(Progress::Finished {
        scenario: scenario.name.clone(),
        verdict,
    });
    Outcome {
        events,
        stats,
        verdict: Some(verdict),
        watermark: shared.transport.posts_started(),
    }
}

/// One execution of a scenario, in a fresh [`crate::context::Ctx`] of its own.
struct Attempt {
    events: Vec<Event>,
    stats: RunStats,
    verdict: Verdict,
    reason: Option<String>,
    requests: usize,
}

async fn attempt(shared: &Shared, seq: usize, scenario: &Scenario) -> Attempt {
    let mut ctx = super::context(shared, &scenario.name, seq);
    // A signal (or the deadline) stops the scenario where it is; what it created is still
    // deleted. A scenario that ends while the run is being cancelled may have stopped
    // early on its own (the model suite does): it is cut short too, never a pass.
    let stopped = tokio::select! {
        () = suites::execute(scenario, &mut ctx) => false,
        () = shared.control.cancelled() => true,
    };
    let cut_short = stopped || shared.control.is_cancelled();
    ctx.clean_up().await;
    let mut verdict = ctx.tally.verdict();
    let mut reason = (verdict == Verdict::TargetUnavailable)
        .then(|| ctx.tally.unserved.clone())
        .flatten();
    if cut_short && verdict != Verdict::Failed {
        verdict = Verdict::Interrupted;
        reason = Some(if shared.control.deadline_passed() {
            "cut short: the run's deadline (--deadline) passed while it ran".to_owned()
        } else {
            "cut short: the run was interrupted while it ran".to_owned()
        });
    } else {
        // A scenario cut short has only part of its exchanges: no snapshot to compare.
        ctx.compare_snapshot(&scenario.summary);
        verdict = ctx.tally.verdict();
        if verdict == Verdict::TargetUnavailable {
            reason = ctx.tally.unserved.clone();
        }
    }
    Attempt {
        requests: ctx.requests(),
        events: std::mem::take(&mut ctx.events),
        stats: ctx.tally.stats,
        verdict,
        reason,
    }
}

fn started_event(scenario: &Scenario) -> Event {
    Event::ScenarioStarted {
        scenario: scenario.name.clone(),
        suite: scenario.suite.as_str().to_owned(),
        summary: scenario.summary.clone(),
        rerun: scenario.rerun_flags(),
    }
}

fn finished_event(
    scenario: &Scenario,
    verdict: Verdict,
    reason: Option<String>,
    duration_ms: u64,
    requests: usize,
    result: ScenarioResult,
) -> Event {
    Event::ScenarioFinished {
        scenario: scenario.name.clone(),
        suite: scenario.suite.as_str().to_owned(),
        verdict,
        reason,
        duration_ms,
        requests,
        result,
    }
}
