//! The run loop: preflight, scheduling, sweep, conclusion. Knows nothing about output.
//!
//! Up to `--jobs` scenarios run at once. Each buffers its own events in its [`Ctx`]; the loop
//! hands them to the reporter in scenario order (the order `conformance list` shows), so the
//! terminal, JUnit, JSON, HTML and snapshots are the same whatever the interleaving. Live
//! progress, which is about the interleaving, goes through [`Reporter::progress`] instead.
//!
//! The steps, each a function of its own: `select` the scenarios, `start` (the shared state,
//! the deadline, preflight), `schedule` them in order, `sweep` what is left, and `conclude`
//! (warnings, gates, the verdict event).

mod conclude;
mod scenario;
mod sweep;

use crate::config::{RunConfig, RunControl};
use crate::context::{Ctx, Shared};
use crate::error::RunError;
use crate::events::{Event, RunStats, Verdict};
use crate::report::Reporter;
use crate::suites::{self, Scenario};
use crate::tally;
use futures_util::StreamExt as _;
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

/// What running one scenario produced, in the order it happened.
struct Outcome {
    events: Vec<Event>,
    stats: RunStats,
    verdict: Option<Verdict>,
    /// Creates sent by any scenario before this one ended; its events wait until they are
    /// answered, so every secret its responses could show is known to the redactor.
    watermark: u64,
}

/// Runs the selected scenarios against the configured target, with a control of its own.
pub async fn run(config: RunConfig, reporter: &mut dyn Reporter) -> Result<RunStats, RunError> {
    run_controlled(config, RunControl::default(), reporter).await
}

/// Runs the selected scenarios; `control` cancels the run from outside (a signal handler).
pub async fn run_controlled(
    config: RunConfig,
    control: RunControl,
    reporter: &mut dyn Reporter,
) -> Result<RunStats, RunError> {
    let started = Instant::now();
    let (target, base_url) = (config.target_name.clone(), config.base_url.clone());
    // Every way of ending before the first scenario still gives every report its verdict.
    let abort = |reporter: &mut dyn Reporter, error: RunError, reason: String| {
        reporter.event(&Event::RunAborted {
            target: target.clone(),
            base_url: base_url.clone(),
            reason,
            exit_code: error.exit_code(),
        });
        Err(error)
    };
    let scenarios = match select(&config) {
        Ok(s) => s,
        Err(e) => {
            let reason = e.to_string();
            return abort(reporter, e, reason);
        }
    };
    let shared = match Shared::new(config, control) {
        Ok(s) => s,
        Err(e) => {
            let reason = e.to_string();
            return abort(reporter, e, reason);
        }
    };
    let deadline = match start(&shared).await {
        Ok(guard) => guard,
        Err(e) => {
            let reason = shared.redactor.apply(&e.to_string());
            return abort(reporter, e, reason);
        }
    };
    reporter.event(&Event::RunStarted {
        run_id: shared.run_id.clone(),
        target: shared.config.target_name.clone(),
        base_url: shared.config.base_url.clone(),
        spec_title: shared.api.title().to_owned(),
        spec_version: shared.api.version().to_owned(),
        scenarios: scenarios.len(),
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    let mut stats = schedule(&shared, &scenarios, reporter).await;
    let cleanup_policy = shared.config.retry.for_cleanup();
    let mut swept = crate::transport::RETRY_POLICY
        .scope(cleanup_policy, sweep::sweep(&shared))
        .await;
    tally::absorb(&mut stats, &swept.stats);
    deliver(&shared, &mut swept.events, reporter);
    drop(deadline);
    stats.scenarios = scenarios.len();
    let (coverage, gates) = conclude::conclude(&shared, &scenarios, &mut stats, reporter);
    stats.duration_ms = started.elapsed().as_millis() as u64;
    reporter.event(&Event::RunFinished {
        stats,
        coverage,
        gates,
    });
    Ok(stats)
}

/// The scenarios `--suite` and `--scenario` select, once the known-failures file is checked
/// against every scenario the spec yields.
fn select(config: &RunConfig) -> Result<Vec<Scenario>, RunError> {
    let all = suites::all(&config.contract)?;
    let existing = all.iter().map(|s| s.name.clone()).collect();
    config
        .known_failures
        .check_scenarios(&existing)
        .map_err(RunError::Config)?;
    suites::select(config, all)
}

/// Starts the deadline's timer and makes first contact (preflight); a signal or the deadline
/// during preflight ends the run before any scenario.
async fn start(shared: &Shared) -> Result<Option<DeadlineGuard>, RunError> {
    let deadline = shared.config.deadline.map(|limit| {
        let control = shared.control.clone();
        DeadlineGuard(tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            control.deadline_passes();
        }))
    });
    let first_contact = tokio::select! {
        result = crate::preflight::preflight(shared) => result,
        () = shared.control.cancelled() => Err(if shared.control.deadline_passed() {
            RunError::Unreachable {
                url: shared.config.base_url.clone(),
                reason: format!(
                    "no answer to the first requests within --deadline {} s",
                    shared.config.deadline.unwrap_or_default().as_secs()
                ),
            }
        } else {
            RunError::Interrupted
        }),
    };
    first_contact.map(|()| deadline)
}

/// Runs the scenarios, up to `--jobs` at once, and hands their events to the reporter in
/// scenario order. Returns the scenarios' counts.
async fn schedule(
    shared: &Shared,
    scenarios: &[Scenario],
    reporter: &mut dyn Reporter,
) -> RunStats {
    let mut stats = RunStats::default();
    let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
    let jobs = shared.config.jobs.max(1);
    // With several jobs, the scenarios with the most round trips start first, so the longest
    // chain of requests is not left for the end; `--jobs 1` keeps the listed order exactly.
    let mut start_order: Vec<usize> = (0..scenarios.len()).collect();
    if jobs > 1 {
        start_order.sort_by_key(|i| std::cmp::Reverse(scenario::weight(&scenarios[*i], shared)));
    }
    let mut outcomes = futures_util::stream::iter(start_order)
        .map(move |seq| {
            let progress = progress_tx.clone();
            let scenario = &scenarios[seq];
            async move { (seq, scenario::run(shared, seq, scenario, progress).await) }
        })
        .buffer_unordered(jobs);
    // Outcomes that finished before an earlier scenario did, by position.
    let mut parked: BTreeMap<usize, Outcome> = BTreeMap::new();
    let mut next_in_order = 0;
    let mut ready: VecDeque<Outcome> = VecDeque::new();
    let mut finished = false;
    loop {
        while ready
            .front()
            .is_some_and(|o| shared.transport.posts_settled(o.watermark))
        {
            let Some(mut outcome) = ready.pop_front() else {
                break;
            };
            count(&mut stats, &outcome);
            deliver(shared, &mut outcome.events, reporter);
        }
        if finished && ready.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            Some(p) = progress_rx.recv() => reporter.progress(&p),
            next = outcomes.next(), if !finished => match next {
                Some((seq, outcome)) => {
                    parked.insert(seq, outcome);
                    while let Some(o) = parked.remove(&next_in_order) {
                        ready.push_back(o);
                        next_in_order += 1;
                    }
                }
                None => finished = true,
            },
            // A held-back outcome waits for creates in flight; look again shortly.
            () = tokio::time::sleep(std::time::Duration::from_millis(5)), if !ready.is_empty() => {}
        }
    }
    stats
}

/// Adds one scenario's outcome to the run's counts.
fn count(stats: &mut RunStats, outcome: &Outcome) {
    tally::absorb(stats, &outcome.stats);
    match outcome.verdict {
        Some(Verdict::Failed) => stats.failed += 1,
        Some(Verdict::Skipped) => stats.skipped += 1,
        Some(Verdict::TargetUnavailable) => stats.unavailable += 1,
        Some(Verdict::NotRun) | None => stats.not_run += 1,
        Some(Verdict::Interrupted) => stats.cut_short += 1,
        Some(Verdict::Flaky) => stats.flaky += 1,
        Some(Verdict::Passed) => stats.passed += 1,
        Some(Verdict::KnownFailure) => stats.known_scenarios += 1,
    }
}

/// Redacts events once more (a secret learned since they were built) and reports them.
fn deliver(shared: &Shared, events: &mut [Event], reporter: &mut dyn Reporter) {
    for event in events {
        event.redact(&shared.redactor);
        reporter.event(event);
    }
}

/// Stops the deadline's timer when the run ends first.
struct DeadlineGuard(tokio::task::JoinHandle<()>);

impl Drop for DeadlineGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A fresh context for `scenario`, for the steps that run one.
fn context<'a>(shared: &'a Shared, name: &str, seq: usize) -> Ctx<'a> {
    Ctx::new(shared, name, seq)
}
