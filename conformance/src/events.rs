//! The runner's output: a stream of events. Reporters consume them; they never feed back.
//!
//! Field names are part of the JSON report's contract (README, "JSON report").

use crate::exchange::ExchangeRecord;
use crate::redact::Redactor;
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
        /// The `conformance run` flags that select exactly this scenario again (a model lane:
        /// its suite, seed, budget and lane), to follow the flags naming the target.
        rerun: String,
    },
    Exchange(ExchangeRecord),
    /// A request was sent again: a 429/503 waited out, or a transport failure on a request
    /// that may be repeated. The retried attempt is not judged; the next exchange is.
    Retry {
        scenario: String,
        /// The index the exchange that follows will have.
        exchange: usize,
        method: String,
        path: String,
        /// The retried attempt's status; `None` when it got no response.
        status: Option<u16>,
        reason: String,
        wait_ms: u64,
    },
    Check(CheckRecord),
    ScenarioFinished {
        scenario: String,
        suite: String,
        verdict: Verdict,
        /// Why a scenario was skipped (names the missing variable).
        reason: Option<String>,
        duration_ms: u64,
        requests: usize,
        /// The scenario's checks and exchanges, redacted, for reporters that render a
        /// scenario at once. Not in the JSON report, which carries them as their own events.
        #[serde(skip)]
        result: ScenarioResult,
    },
    /// Something a person must act on that is not a check failure: an expired known-failure
    /// entry, a known failure that now passes, missing coverage, tokens left. Reporters word
    /// it (`report::wording`).
    Warning(Warning),
    /// Something the run did that a person should know of, which is not a problem: the
    /// snapshots a recording wrote.
    Notice(Notice),
    /// The run ended before any scenario: preflight found a setup mistake (exit 2), the
    /// target did not answer (exit 3), or the run was interrupted (exit 130). Reporters say
    /// so instead of reporting an empty run as passed.
    RunAborted {
        target: String,
        base_url: String,
        /// What ended it, in one line (credentials redacted).
        reason: String,
        exit_code: u8,
    },
    RunFinished {
        stats: RunStats,
        /// Every documented status of every operation, and whether the run exercised it.
        coverage: Vec<CoverageEntry>,
        /// Why the verdict is not PASSED where no scenario's verdict shows it: every
        /// reporter shows these, so no count or testcase says green when the exit code
        /// says otherwise.
        gates: Vec<Gate>,
    },
}

/// A reason of the run's verdict that belongs to no scenario.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "gate", rename_all = "snake_case")]
pub enum Gate {
    /// A known-failure entry whose check ran and passed, under `CI=true`: the file must not
    /// excuse a failure that no longer happens.
    StaleKnownFailure {
        scenario: String,
        check: String,
        /// The entry's reason, issue and owner.
        entry: String,
    },
    /// `--require-coverage`, and documented statuses no response exercised.
    CoverageRequired { missing: Vec<String> },
    /// The run was interrupted (a signal or `--deadline`), even after its last scenario.
    Interrupted {
        deadline: bool,
        not_run: usize,
        cut_short: usize,
    },
}

impl Gate {
    /// The gate in one line, as every reporter words it.
    pub fn describe(&self) -> String {
        match self {
            Gate::StaleKnownFailure {
                scenario,
                check,
                entry,
            } => format!(
                "stale known failure {scenario} / {check}: the check passed, so the entry must be removed from the known-failures file ({entry})"
            ),
            Gate::CoverageRequired { missing } => format!(
                "--require-coverage: {} documented status{} never exercised: {}",
                missing.len(),
                if missing.len() == 1 { "" } else { "es" },
                missing.join(", ")
            ),
            Gate::Interrupted {
                deadline,
                not_run,
                cut_short,
            } => format!(
                "{}: {not_run} scenario{} not run, {cut_short} cut short; this run is not a verdict on the target",
                if *deadline {
                    "the --deadline passed"
                } else {
                    "interrupted by a signal"
                },
                if *not_run == 1 { "" } else { "s" }
            ),
        }
    }
}

/// Everything a finished scenario produced, in order: what reporters render.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScenarioResult {
    pub checks: Vec<CheckRecord>,
    pub exchanges: Vec<ExchangeRecord>,
}

impl ScenarioResult {
    /// The failed checks (known failures included), in order.
    pub fn failures(&self) -> impl Iterator<Item = &CheckRecord> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// The exchange a check is about.
    pub fn exchange_of(&self, check: &CheckRecord) -> Option<&ExchangeRecord> {
        let index = check.exchange?;
        self.exchanges.iter().find(|x| x.index == index)
    }
}

fn redact_exchange(x: &mut ExchangeRecord, redactor: &Redactor) {
    for t in [&mut x.response_body, &mut x.request_body]
        .into_iter()
        .flatten()
    {
        *t = redactor.scrub_body(t);
    }
    for t in [&mut x.error, &mut x.content_type].into_iter().flatten() {
        *t = redactor.scrub(t);
    }
    x.url = redactor.scrub(&x.url);
    x.path = redactor.scrub(&x.path);
    x.curl = redactor.scrub(&x.curl);
}

fn redact_check(c: &mut CheckRecord, redactor: &Redactor) {
    for t in [&mut c.message, &mut c.expected, &mut c.actual]
        .into_iter()
        .flatten()
    {
        *t = redactor.scrub(t);
    }
}

impl Event {
    /// Applies the redactor again to the texts that carry what a server said. A scenario's
    /// events are built while it runs; a secret another scenario learns later (a leaky list
    /// shows a token whose create answer was still on its way) is removed here, before any
    /// reporter sees the event.
    pub fn redact(&mut self, redactor: &Redactor) {
        match self {
            Event::Exchange(x) => redact_exchange(x, redactor),
            Event::Check(c) => redact_check(c, redactor),
            Event::ScenarioFinished { result, .. } => {
                result
                    .exchanges
                    .iter_mut()
                    .for_each(|x| redact_exchange(x, redactor));
                result
                    .checks
                    .iter_mut()
                    .for_each(|c| redact_check(c, redactor));
            }
            _ => {}
        }
    }
}

/// Why the run warns, with the data a reporter words it from. The JSON report carries the
/// reason and its fields beside the worded `message`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Warning {
    /// A signal, or `--deadline`, ended the run early.
    Interrupted {
        /// The deadline that passed, in seconds; `None` for a signal.
        deadline_s: Option<u64>,
        not_run: usize,
        scenarios: usize,
        cut_short: usize,
        tokens_left: usize,
    },
    /// Scenarios without an approved snapshot for this target: snapshots did not gate them.
    NoBaseline {
        without: usize,
        scenarios: usize,
        target: String,
        /// Where their exchanges wait for review (`.snap.new`).
        dir: String,
        /// Every scenario passed, so the run's answers may be approved as the baseline.
        approvable: bool,
    },
    /// The target refused requests (429 or 503) and the run slowed down.
    Slowed { requests_per_second: f64 },
    /// The known-failures file's review (an expired entry, a failure that did not happen),
    /// worded by `known`.
    KnownFailures { message: String },
    /// Documented statuses no request of this run got.
    CoverageMissing {
        missing: Vec<String>,
        /// `--require-coverage` makes it fail the run.
        required: bool,
    },
    /// Model lanes ran without some roles' credentials: those roles' steps were left out.
    RolesNotPlayed {
        /// The variables not set, e.g. `ABP_OTHER_USER_TOKEN`.
        missing: Vec<String>,
        lanes: usize,
    },
    /// Tokens earlier runs named are still on the account.
    EarlierTokens { tokens: usize },
    /// Tokens this run created that it could not confirm deleted.
    TokensLeft {
        /// Still listed after the final clean-up.
        still: usize,
        /// Their DELETE got no success or unknown-id answer.
        unconfirmed: usize,
        /// The variables of the roles whose final list could not be read.
        unread: Vec<String>,
        /// The names they carry start with this.
        prefix: String,
    },
}

/// Something the run did that is worth knowing and is not a problem.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Notice {
    /// `--update-snapshots` wrote approved snapshots.
    Recorded {
        new: usize,
        updated: usize,
        dir: String,
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
    /// The run was interrupted before the scenario started.
    NotRun,
    /// The target kept refusing a request (429/503) past the retry policy: no verdict.
    TargetUnavailable,
    /// The run was interrupted (a signal, or `--deadline`) while the scenario ran: cut short,
    /// so never a pass.
    Interrupted,
    /// Failed, then passed when run again (`--rerun-failures`): not reproducible, still not
    /// a pass unless `--allow-flaky`.
    Flaky,
}

impl Verdict {
    /// The word reports print for it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Passed => "PASS",
            Verdict::Failed => "FAIL",
            Verdict::Skipped => "SKIP",
            Verdict::KnownFailure => "KNOWN",
            Verdict::NotRun => "NOT RUN",
            Verdict::TargetUnavailable => "UNAVAILABLE",
            Verdict::Interrupted => "INTERRUPTED",
            Verdict::Flaky => "FLAKY",
        }
    }
}

/// The verdict of a whole run, computed once ([`RunStats::verdict`]) for every reporter and
/// the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunVerdict {
    Passed,
    Failed,
    /// A signal or `--deadline` cut the run short: not a verdict on the target.
    Interrupted,
    /// Some scenarios had no verdict (the target kept answering 429/503) and none failed.
    NoVerdict,
}

impl RunVerdict {
    pub fn word(self) -> &'static str {
        match self {
            RunVerdict::Passed => "PASSED",
            RunVerdict::Failed => "FAILED",
            RunVerdict::Interrupted => "INTERRUPTED",
            RunVerdict::NoVerdict => "NO VERDICT",
        }
    }
}

/// Live progress, in the order things happen (unlike events, which come in scenario order).
/// Only for showing what is in flight; nothing may be concluded from it.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Started { scenario: String },
    Finished { scenario: String, verdict: Verdict },
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
    /// Set when the failed expectation is a project decision (the vendor docs are silent):
    /// names the row of openapi/TRANSCRIPTION.md, so a reader can tell a server bug from a
    /// decision that may need revisiting.
    pub decision: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct RunStats {
    pub scenarios: usize,
    /// Scenarios that passed (known failures are counted apart).
    pub passed: usize,
    /// Scenarios whose every failure is listed in the known-failures file.
    pub known_scenarios: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Requests sent, retries included.
    pub requests: usize,
    /// Requests sent again after a 429/503 or a transport failure.
    pub retries: usize,
    /// Requests the target would not serve within the retry policy (still 429/503).
    pub rate_limited: usize,
    /// Scenarios left without a verdict because of that.
    pub unavailable: usize,
    pub checks_run: usize,
    pub checks_failed: usize,
    /// Failures listed in the known-failures file (not counted in `checks_failed`).
    pub known_failures: usize,
    /// Known-failure entries whose check ran and passed, counted under CI only: the file
    /// must not excuse a failure that no longer happens (known.rs).
    pub stale_known_failures: usize,
    /// Documented (operation, status) pairs, and how many the run exercised.
    pub coverage_documented: usize,
    pub coverage_exercised: usize,
    /// With `--require-coverage`, a documented status never exercised fails the run.
    pub require_coverage: bool,
    /// The run was interrupted before every scenario ran.
    pub interrupted: bool,
    /// Scenarios that did not run because of the interruption.
    pub not_run: usize,
    /// Scenarios cut short by the interruption (verdict `interrupted`).
    pub cut_short: usize,
    /// The interruption was `--deadline` passing, not a signal.
    pub deadline_passed: bool,
    /// Scenarios that failed and then passed on a re-run (verdict `flaky`).
    pub flaky: usize,
    /// `--allow-flaky`: flaky scenarios do not fail the run.
    pub allow_flaky: bool,
    /// Scenarios with no approved snapshot for the target (first contact, outside CI).
    pub no_baseline: usize,
    /// Baselines written by `--update-snapshots`: new ones, and changed ones.
    pub snapshots_new: usize,
    pub snapshots_updated: usize,
    /// Tokens of this run still on the account after the final clean-up (listed again, or
    /// whose DELETE was never confirmed): live credentials a person must remove.
    pub tokens_left: usize,
    pub duration_ms: u64,
}

impl RunStats {
    /// The counts every reporter shows beside passed and failed, in one wording: known
    /// failures, stale known-failure entries (which fail the gate) and tokens left behind.
    /// Empty when all are zero.
    pub fn beside_failed(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.known_scenarios > 0 {
            out.push(count(
                self.known_scenarios,
                "known failure",
                "known failures",
            ));
        }
        if self.stale_known_failures > 0 {
            out.push(format!(
                "{} (fails the gate)",
                count(
                    self.stale_known_failures,
                    "stale known-failure entry",
                    "stale known-failure entries"
                )
            ));
        }
        if self.tokens_left > 0 {
            out.push(format!(
                "{} left on the account",
                count(self.tokens_left, "access token", "access tokens")
            ));
        }
        out
    }

    pub fn success(&self) -> bool {
        self.verdict() == RunVerdict::Passed
    }

    /// The run's verdict: interrupted wins over everything (a cut-short run says nothing),
    /// then a failure, then scenarios without a verdict.
    pub fn verdict(&self) -> RunVerdict {
        if self.interrupted {
            RunVerdict::Interrupted
        } else if self.failed > 0
            || (self.flaky > 0 && !self.allow_flaky)
            || self.stale_known_failures > 0
            || (self.require_coverage && self.coverage_exercised < self.coverage_documented)
        {
            RunVerdict::Failed
        } else if self.unavailable > 0 {
            RunVerdict::NoVerdict
        } else {
            RunVerdict::Passed
        }
    }
}

/// `n` and the noun in the number it takes: `1 request`, `2 requests`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
