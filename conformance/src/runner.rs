//! The run loop: preflight, scheduling, sweep. Knows nothing about output.
//!
//! Up to `--jobs` scenarios run at once. Each buffers its own events in its [`Ctx`]; the loop
//! hands them to the reporter in scenario order (the order `conformance list` shows), so the
//! terminal, JUnit, JSON, HTML and snapshots are the same whatever the interleaving. Live
//! progress, which is about the interleaving, goes through [`Reporter::progress`] instead.

use crate::config::RunConfig;
use crate::context::{Ctx, Shared};
use crate::error::RunError;
use crate::events::{Event, Progress, RunStats, ScenarioResult, Verdict};
use crate::report::Reporter;
use crate::roles::Role;
use crate::suites::{self, Scenario};
use crate::tally;
use futures_util::StreamExt as _;
use std::sync::atomic::Ordering;
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

/// Runs the selected scenarios against the configured target.
pub async fn run(config: RunConfig, reporter: &mut dyn Reporter) -> Result<RunStats, RunError> {
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
    let scenarios = match suites::select(&config).and_then(|s| {
        let existing = suites::all(&config.contract)?
            .into_iter()
            .map(|s| s.name)
            .collect();
        config
            .known_failures
            .check_scenarios(&existing)
            .map_err(RunError::Config)?;
        Ok(s)
    }) {
        Ok(s) => s,
        Err(e) => {
            let reason = e.to_string();
            return abort(reporter, e, reason);
        }
    };
    let shared = match Shared::new(config) {
        Ok(s) => s,
        Err(e) => {
            let reason = e.to_string();
            return abort(reporter, e, reason);
        }
    };
    let deadline = shared.config.deadline.map(|limit| {
        let (cancel, passed) = (
            shared.config.cancel.clone(),
            shared.config.deadline_passed.clone(),
        );
        DeadlineGuard(tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            passed.store(true, Ordering::SeqCst);
            cancel.store(true, Ordering::SeqCst);
        }))
    });
    let first_contact = tokio::select! {
        result = crate::preflight::preflight(&shared) => result,
        () = cancelled(&shared.config.cancel) => Err(if shared.config.deadline_passed.load(Ordering::SeqCst) {
            RunError::Unreachable {
                url: shared.config.base_url.clone(),
                reason: format!("no answer to the first requests within --deadline {} s", shared.config.deadline.unwrap_or_default().as_secs()),
            }
        } else {
            RunError::Interrupted
        }),
    };
    if let Err(e) = first_contact {
        let reason = shared.redactor.apply(&e.to_string());
        return abort(reporter, e, reason);
    }
    let mut stats = RunStats::default();
    reporter.event(&Event::RunStarted {
        run_id: shared.run_id.clone(),
        target: shared.config.target_name.clone(),
        base_url: shared.config.base_url.clone(),
        spec_title: shared.api.title().to_owned(),
        spec_version: shared.api.version().to_owned(),
        scenarios: scenarios.len(),
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });

    let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
    let jobs = shared.config.jobs.max(1);
    let shared_ref = &shared;
    let scenarios_ref = &scenarios;
    // With several jobs, the scenarios with the most round trips start first, so the longest
    // chain of requests is not left for the end; `--jobs 1` keeps the listed order exactly.
    let mut start_order: Vec<usize> = (0..scenarios.len()).collect();
    if jobs > 1 {
        start_order.sort_by_key(|i| std::cmp::Reverse(weight(&scenarios[*i], &shared)));
    }
    let mut outcomes = futures_util::stream::iter(start_order)
        .map(move |seq| {
            let progress = progress_tx.clone();
            let scenario = &scenarios_ref[seq];
            async move { (seq, run_scenario(shared_ref, seq, scenario, progress).await) }
        })
        .buffer_unordered(jobs);
    // Outcomes that finished before an earlier scenario did, by position.
    let mut parked: std::collections::BTreeMap<usize, Outcome> = Default::default();
    let mut next_in_order = 0;
    let mut not_run = 0;
    let mut ready: std::collections::VecDeque<Outcome> = Default::default();
    let mut finished = false;
    loop {
        while ready
            .front()
            .is_some_and(|o| shared.transport.posts_settled(o.watermark))
        {
            let Some(mut outcome) = ready.pop_front() else {
                break;
            };
            tally::absorb(&mut stats, &outcome.stats);
            match outcome.verdict {
                Some(Verdict::Failed) => stats.failed += 1,
                Some(Verdict::Skipped) => stats.skipped += 1,
                Some(Verdict::TargetUnavailable) => stats.unavailable += 1,
                Some(Verdict::NotRun) | None => not_run += 1,
                Some(Verdict::Interrupted) => stats.cut_short += 1,
                Some(Verdict::Flaky) => stats.flaky += 1,
                Some(Verdict::Passed) => stats.passed += 1,
                Some(Verdict::KnownFailure) => stats.known_scenarios += 1,
            }
            for event in &mut outcome.events {
                event.redact(&shared.redactor);
                reporter.event(event);
            }
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
    stats.not_run = not_run;
    let cleanup_policy = shared.config.retry.for_cleanup();
    let mut swept = crate::transport::RETRY_POLICY
        .scope(cleanup_policy, sweep(&shared))
        .await;
    tally::absorb(&mut stats, &swept.stats);
    for event in &mut swept.events {
        event.redact(&shared.redactor);
        reporter.event(event);
    }
    stats.scenarios = scenarios.len();
    stats.allow_flaky = shared.config.allow_flaky;
    // A signal (or the deadline) at any moment, the final sweep included, makes the run
    // interrupted: what it reports is not a verdict on the target.
    stats.interrupted = shared.config.cancel.load(Ordering::SeqCst);
    stats.deadline_passed = shared.config.deadline_passed.load(Ordering::SeqCst);
    drop(deadline);
    if stats.interrupted {
        let why = if stats.deadline_passed {
            format!(
                "the run's deadline (--deadline {} s) passed",
                shared.config.deadline.unwrap_or_default().as_secs()
            )
        } else {
            "interrupted by a signal".to_owned()
        };
        reporter.event(&Event::Warning {
            message: format!(
                "{why}: {} of {} scenarios did not run and {} were cut short; {}",
                stats.not_run,
                scenarios.len(),
                stats.cut_short,
                if stats.tokens_left == 0 {
                    "the tokens this run created were deleted"
                } else {
                    "not every token this run created could be deleted (see below)"
                }
            ),
        });
    }
    let dir = shared
        .config
        .snapshot_dir
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    if stats.no_baseline > 0 {
        let record = shared
            .config
            .record_command
            .clone()
            .unwrap_or_else(|| "the same command with --update-snapshots".into());
        // Only a run whose scenarios all passed is worth approving as a baseline.
        let approve = if stats.failed == 0 && stats.flaky == 0 && !stats.interrupted {
            format!("Approve this run's answers as the baseline with: {record}")
        } else {
            "Fix the failures (or finish the run) before approving its answers as the baseline."
                .to_owned()
        };
        reporter.event(&Event::Warning {
            message: format!(
                "{} of {} scenarios have no approved snapshot for target `{}` yet, so snapshots did not gate this run; their exchanges are pending review in {dir} (.snap.new). {approve}",
                stats.no_baseline,
                scenarios.len(),
                shared.config.target_name
            ),
        });
    }
    if stats.snapshots_new + stats.snapshots_updated > 0 {
        reporter.event(&Event::Notice {
            message: format!(
                "recorded {} new and {} changed approved snapshots in {dir}; review and commit them",
                stats.snapshots_new, stats.snapshots_updated
            ),
        });
    }
    if let Some(rate) = shared.transport.slowed_to() {
        reporter.event(&Event::Warning {
            message: format!(
                "the target refused requests (429 or 503): the run slowed down to {rate:.1} requests/s; --max-rps sets a pace from the start"
            ),
        });
    }

    let review = shared.config.known_failures.review();
    stats.stale_known_failures = review.failing;
    let mut gates: Vec<crate::events::Gate> = review
        .stale
        .into_iter()
        .map(
            |(scenario, check, entry)| crate::events::Gate::StaleKnownFailure {
                scenario,
                check,
                entry,
            },
        )
        .collect();
    for message in review.messages {
        reporter.event(&Event::Warning { message });
    }
    let coverage = shared.coverage.entries(&shared.api);
    stats.coverage_documented = coverage.len();
    stats.coverage_exercised = coverage.iter().filter(|c| c.exercised > 0).count();
    stats.require_coverage = shared.config.require_coverage;
    // Coverage is a property of a whole run: a filtered or interrupted one says nothing.
    let whole_run = !stats.interrupted
        && shared.config.suites.is_empty()
        && shared.config.scenario_glob.is_none();
    let missing: Vec<String> = coverage
        .iter()
        .filter(|c| c.exercised == 0)
        .map(|c| format!("{} {}", c.operation, c.status))
        .collect();
    if !missing.is_empty() && (whole_run || shared.config.require_coverage) {
        reporter.event(&Event::Warning {
            message: format!(
                "documented statuses never exercised: {}{}",
                missing.join(", "),
                if shared.config.require_coverage {
                    " (--require-coverage fails the run)"
                } else {
                    ""
                }
            ),
        });
    }
    if shared.config.require_coverage && !missing.is_empty() {
        gates.push(crate::events::Gate::CoverageRequired { missing });
    }
    if stats.interrupted {
        gates.push(crate::events::Gate::Interrupted {
            deadline: stats.deadline_passed,
            not_run: stats.not_run,
            cut_short: stats.cut_short,
        });
    }
    stats.duration_ms = started.elapsed().as_millis() as u64;
    reporter.event(&Event::RunFinished {
        stats,
        coverage,
        gates,
    });
    Ok(stats)
}

/// How many round trips a scenario is expected to take: the scheduler starts heavy ones first.
fn weight(scenario: &Scenario, shared: &Shared) -> usize {
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

async fn run_scenario(
    shared: &Shared,
    seq: usize,
    scenario: &Scenario,
    progress: tokio::sync::mpsc::UnboundedSender<Progress>,
) -> Outcome {
    // Once interrupted, scenarios that have not started do not start.
    if shared.config.cancel.load(Ordering::SeqCst) {
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
            while verdict == Verdict::Failed
                && rerun < reruns
                && !shared.config.cancel.load(Ordering::SeqCst)
            {
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

/// One execution of a scenario, in a fresh [`Ctx`] of its own.
struct Attempt {
    events: Vec<Event>,
    stats: RunStats,
    verdict: Verdict,
    reason: Option<String>,
    requests: usize,
}

async fn attempt(shared: &Shared, seq: usize, scenario: &Scenario) -> Attempt {
    let mut ctx = Ctx::new(shared, &scenario.name, seq);
    // A signal (or the deadline) stops the scenario where it is; what it created is still
    // deleted. A scenario that ends while the run is being cancelled may have stopped
    // early on its own (the model suite does): it is cut short too, never a pass.
    let stopped = tokio::select! {
        () = suites::execute(scenario, &mut ctx) => false,
        () = cancelled(&shared.config.cancel) => true,
    };
    let cut_short = stopped || shared.config.cancel.load(Ordering::SeqCst);
    ctx.clean_up().await;
    let mut verdict = ctx.tally.verdict();
    let mut reason = (verdict == Verdict::TargetUnavailable)
        .then(|| ctx.tally.unserved.clone())
        .flatten();
    if cut_short && verdict != Verdict::Failed {
        verdict = Verdict::Interrupted;
        reason = Some(if shared.config.deadline_passed.load(Ordering::SeqCst) {
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

/// Resolves once the run is cancelled (a signal, or the deadline).
pub async fn cancelled(flag: &std::sync::atomic::AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Stops the deadline's timer when the run ends first.
struct DeadlineGuard(tokio::task::JoinHandle<()>);

impl Drop for DeadlineGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn started_event(scenario: &Scenario) -> Event {
    Event::ScenarioStarted {
        scenario: scenario.name.clone(),
        suite: scenario.suite.as_str().to_owned(),
        summary: scenario.summary.clone(),
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
async fn sweep(shared: &Shared) -> Outcome {
    let mut ctx = Ctx::new(shared, "cleanup/sweep", 0);
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
    let command = shared
        .config
        .cleanup_command
        .clone()
        .unwrap_or_else(|| "conformance cleanup".into());
    if earlier > 0 {
        // Live credentials of a killed run: say so once, with the way to remove them.
        ctx.events.push(Event::Warning {
            message: format!(
                "{earlier} tokens named by earlier runs are still on the account (a run killed or interrupted twice leaves its tokens, and so does a target that does not carry out its DELETEs); list them with `{command}` and delete them with `{command} --yes`"
            ),
        });
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
    let mut uncertain = Vec::new();
    if still > 0 {
        uncertain.push(format!(
            "{} this run created {} still listed after the final clean-up ({} answered its DELETE; the target did not remove {})",
            crate::events::count(still, "access token", "access tokens"),
            if still == 1 { "is" } else { "are" },
            if unconfirmed > 0 { "not every one" } else { "every one" },
            if still == 1 { "it" } else { "them" }
        ));
    }
    if unconfirmed > 0 {
        uncertain.push(format!(
            "{unconfirmed} tokens this run created could not be confirmed deleted (their DELETE got no success or unknown-id answer)"
        ));
    }
    if !unread.is_empty() {
        uncertain.push(format!(
            "the final list of {} could not be read, so tokens of this run whose create got no readable answer may be left",
            unread.join(" and ")
        ));
    }
    if !uncertain.is_empty() {
        ctx.events.push(Event::Warning {
            message: format!(
                "{}; list them with `{command}` and delete them with `{command} --yes` (they are named {}…)",
                uncertain.join("; "),
                shared.prefix
            ),
        });
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
