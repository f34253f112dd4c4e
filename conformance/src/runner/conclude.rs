//! The end of a run: what it says beyond its scenarios. Typed warnings (interrupted, no
//! baseline, slowed down, the known-failures review, coverage), the recording's notice, and
//! the gates that fail the run whatever its scenarios did.

use crate::context::Shared;
use crate::events::{CoverageEntry, Event, Gate, Notice, RunStats, Warning};
use crate::report::Reporter;
use crate::roles::Role;
use crate::suites::{Kind, Scenario};

/// Fills the run-wide counts of `stats`, reports the warnings and notices, and returns the
/// coverage and the gates for the finishing event.
pub(super) fn conclude(
    shared: &Shared,
    scenarios: &[Scenario],
    stats: &mut RunStats,
    reporter: &mut dyn Reporter,
) -> (Vec<CoverageEntry>, Vec<Gate>) {
    let config = &shared.config;
    stats.allow_flaky = config.allow_flaky;
    // A signal (or the deadline) at any moment, the final sweep included, makes the run
    // interrupted: what it reports is not a verdict on the target.
    stats.interrupted = shared.control.is_cancelled();
    stats.deadline_passed = shared.control.deadline_passed();
    let mut warnings = Vec::new();
    if stats.interrupted {
        warnings.push(Warning::Interrupted {
            deadline_s: stats
                .deadline_passed
                .then(|| config.deadline.unwrap_or_default().as_secs()),
            not_run: stats.not_run,
            scenarios: stats.scenarios,
            cut_short: stats.cut_short,
            tokens_left: stats.tokens_left,
        });
    }
    let dir = config
        .snapshot_dir
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    if stats.no_baseline > 0 {
        warnings.push(Warning::NoBaseline {
            without: stats.no_baseline,
            scenarios: stats.scenarios,
            target: config.target_name.clone(),
            dir: dir.clone(),
            // Only a run whose scenarios all passed is worth approving as a baseline.
            approvable: stats.failed == 0 && stats.flaky == 0 && !stats.interrupted,
        });
    }
    if let Some(w) = roles_not_played(shared, scenarios) {
        warnings.push(w);
    }
    let mut notices = Vec::new();
    if stats.snapshots_new + stats.snapshots_updated > 0 {
        notices.push(Notice::Recorded {
            new: stats.snapshots_new,
            updated: stats.snapshots_updated,
            dir,
        });
    }
    if let Some(rate) = shared.transport.slowed_to() {
        warnings.push(Warning::Slowed {
            requests_per_second: rate,
        });
    }
    let review = config.known_failures.review();
    stats.stale_known_failures = review.failing;
    let mut gates: Vec<Gate> = review
        .stale
        .into_iter()
        .map(|(scenario, check, entry)| Gate::StaleKnownFailure {
            scenario,
            check,
            entry,
        })
        .collect();
    warnings.extend(
        review
            .messages
            .into_iter()
            .map(|message| Warning::KnownFailures { message }),
    );
    let coverage = shared.coverage.entries(&shared.api);
    let missing = coverage_counts(shared, stats, &coverage);
    if !missing.is_empty() && (whole_run(shared, stats) || config.require_coverage) {
        warnings.push(Warning::CoverageMissing {
            missing: missing.clone(),
            required: config.require_coverage,
        });
    }
    for w in warnings {
        reporter.event(&Event::Warning(w));
    }
    for n in notices {
        reporter.event(&Event::Notice(n));
    }
    if config.require_coverage && !missing.is_empty() {
        gates.push(Gate::CoverageRequired { missing });
    }
    if stats.interrupted {
        gates.push(Gate::Interrupted {
            deadline: stats.deadline_passed,
            not_run: stats.not_run,
            cut_short: stats.cut_short,
        });
    }
    (coverage, gates)
}

/// Counts the documented statuses and those exercised; returns those never exercised.
fn coverage_counts(
    shared: &Shared,
    stats: &mut RunStats,
    coverage: &[CoverageEntry],
) -> Vec<String> {
    stats.coverage_documented = coverage.len();
    stats.coverage_exercised = coverage.iter().filter(|c| c.exercised > 0).count();
    stats.require_coverage = shared.config.require_coverage;
    coverage
        .iter()
        .filter(|c| c.exercised == 0)
        .map(|c| format!("{} {}", c.operation, c.status))
        .collect()
}

/// The model lanes play every role the run has a credential for; the roles without one are
/// named, since the lanes' summary promises every role.
fn roles_not_played(shared: &Shared, scenarios: &[Scenario]) -> Option<Warning> {
    let lanes = scenarios
        .iter()
        .filter(|s| matches!(s.kind, Kind::Model(_)))
        .count();
    let missing: Vec<String> = [Role::OtherUser, Role::Forbidden, Role::Expired]
        .into_iter()
        .filter(|r| shared.config.credentials.get(*r).is_none())
        .map(|r| r.env_var().to_owned())
        .collect();
    // Without the user's credential no lane runs at all (they are skipped, and say so).
    let user = shared.config.credentials.get(Role::User).is_some();
    (lanes > 0 && user && !missing.is_empty()).then_some(Warning::RolesNotPlayed { missing, lanes })
}

/// Coverage is a property of a whole run: a filtered or interrupted one says nothing.
fn whole_run(shared: &Shared, stats: &RunStats) -> bool {
    !stats.interrupted && shared.config.suites.is_empty() && shared.config.scenario_glob.is_none()
}
