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
    RunFinished {
        stats: RunStats,
    },
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    Skipped,
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
    pub duration_ms: u64,
}

impl RunStats {
    pub fn success(&self) -> bool {
        self.failed == 0
    }
}
