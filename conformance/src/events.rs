//! The runner's output: a stream of events. Reporters consume them; they never feed back.
//!
//! Field names are part of the JSON report's contract (README, "JSON report").

use crate::exchange::ExchangeRecord;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        run_id: String,
        target: String,
        base_url: String,
        spec_title: String,
        spec_version: String,
        scenarios: usize,
        started_at: String,
    },
    ScenarioStarted {
        scenario: String,
        suite: String,
        summary: String,
    },
    Exchange(ExchangeRecord),
    Check(CheckRecord),
    ScenarioFinished {
        scenario: String,
        suite: String,
        verdict: Verdict,
        /// Why a scenario was skipped (names the missing variable).
        reason: Option<String>,
        duration_ms: u64,
        requests: usize,
    },
    /// Something a person must act on that is not a check failure: an expired known-failure
    /// entry, a known failure that now passes, missing coverage.
    Warning {
        message: String,
    },
    RunFinished {
        stats: RunStats,
        /// Every documented status of every operation, and whether the run exercised it.
        coverage: Vec<CoverageEntry>,
    },
}

/// One (operation, documented status) pair.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CoverageEntry {
    pub operation: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// How many responses had this status.
    pub exercised: usize,
    /// Whether every response check passed on those responses.
    pub passed: bool,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    Skipped,
    /// Failed only in ways listed in the known-failures file: reported, not gating.
    KnownFailure,
}

/// One check's verdict on one exchange (response checks) or on a scenario step.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckRecord {
    pub scenario: String,
    pub check: String,
    pub passed: bool,
    /// The exchange the verdict is about, by index within the scenario.
    pub exchange: Option<usize>,
    /// The operation the exchange was for (spec operationId).
    pub operation: Option<String>,
    /// The status the exchange got (coverage is computed from passed checks on these).
    pub status: Option<u16>,
    pub message: Option<String>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// Where in the spec the expectation comes from (JSON pointer).
    pub spec_pointer: Option<String>,
    /// Set when this failure is listed in the known-failures file: the entry's reason.
    pub known_failure: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct RunStats {
    pub scenarios: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub requests: usize,
    pub checks_run: usize,
    pub checks_failed: usize,
    /// Failures listed in the known-failures file (not counted in `checks_failed`).
    pub known_failures: usize,
    /// Documented (operation, status) pairs, and how many the run exercised.
    pub coverage_documented: usize,
    pub coverage_exercised: usize,
    /// With `--require-coverage`, a documented status never exercised fails the run.
    pub require_coverage: bool,
    /// The run was interrupted before every scenario ran.
    pub interrupted: bool,
    pub duration_ms: u64,
}

impl RunStats {
    pub fn success(&self) -> bool {
        self.failed == 0
            && !self.interrupted
            && !(self.require_coverage && self.coverage_exercised < self.coverage_documented)
    }
}
