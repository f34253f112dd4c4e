//! `--report junit=PATH`: one testsuite per suite, one testcase per scenario, built with
//! quick-junit and written once at the end in run order.

use super::{Reporter, failure};
use crate::events::{Event, Gate, RunStats, ScenarioResult, Verdict};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::io::Write;
use std::time::Duration;

pub struct Junit<W: Write> {
    out: Option<W>,
    suites: Vec<TestSuite>,
    run_name: String,
    total: Duration,
}

impl<W: Write> Junit<W> {
    pub fn new(out: W) -> Self {
        Junit {
            out: Some(out),
            suites: Vec::new(),
            run_name: "conformance".into(),
            total: Duration::ZERO,
        }
    }

    fn suite(&mut self, name: &str) -> &mut TestSuite {
        if let Some(i) = self.suites.iter().position(|s| s.name.as_str() == name) {
            return &mut self.suites[i];
        }
        self.suites.push(TestSuite::new(name));
        self.suites.last_mut().expect("just pushed")
    }
}

/// Every failure of the scenario, rendered as the terminal renders it.
fn describe_failures(result: &ScenarioResult) -> String {
    let mut text = String::new();
    for f in result.failures() {
        for (i, line) in failure::lines(f, result.exchange_of(f)).iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

impl<W: Write> Junit<W> {
    /// No scenario ran: one errored testcase says why, so a publisher shows red.
    fn aborted(&mut self, target: &str, reason: &str, exit_code: u8) {
        self.run_name = format!("conformance ({target})");
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
        s.set_type(if exit_code == crate::error::exit::INTERRUPTED {
            "interrupted"
        } else {
            "preflight"
        });
        s.set_message(reason.to_owned());
        let mut case = TestCase::new("preflight", s);
        case.set_classname("preflight");
        self.suite("preflight").add_test_case(case);
    }

    /// The finished scenario as one testcase of its suite.
    fn scenario(
        &mut self,
        scenario: &str,
        suite: &str,
        verdict: Verdict,
        reason: Option<&str>,
        duration_ms: u64,
        result: &ScenarioResult,
    ) {
        let mut status = status(verdict, reason, result);
        if result.failures().next().is_some() {
            status.set_description(describe_failures(result));
        }
        let mut case = TestCase::new(scenario.to_owned(), status);
        case.set_classname(suite.to_owned());
        case.set_time(Duration::from_millis(duration_ms));
        // A passed testcase has no description: a known failure's reason, issue and
        // owner go to its output, so the JUnit report shows them too.
        if verdict == Verdict::KnownFailure {
            case.set_system_out(describe_failures(result));
        }
        self.suite(suite).add_test_case(case);
    }

    /// What fails the run beyond its scenarios is a testcase too: a publisher that counts
    /// testcases must not show green while the job is red.
    fn finished(&mut self, stats: &RunStats, gates: &[Gate]) {
        self.total = Duration::from_millis(stats.duration_ms);
        // Live credentials left behind are not a verdict, but a publisher shows them: a
        // skipped testcase that says how many, and how to remove them.
        if stats.tokens_left > 0 {
            let mut s = TestCaseStatus::skipped();
            s.set_type("tokens-left");
            s.set_message(format!(
                "{} tokens of this run are still on the account after the final clean-up; `conformance cleanup` lists them, `conformance cleanup --yes` deletes them",
                stats.tokens_left
            ));
            let mut case = TestCase::new("run/tokens-left", s);
            case.set_classname("run");
            self.suite("run").add_test_case(case);
        }
        for gate in gates {
            let case = gate_case(gate);
            self.suite("run").add_test_case(case);
        }
    }
}

/// A testcase's status from the scenario's verdict.
fn status(verdict: Verdict, reason: Option<&str>, result: &ScenarioResult) -> TestCaseStatus {
    let reason = || reason.unwrap_or_default().to_owned();
    match verdict {
        Verdict::Passed | Verdict::KnownFailure => TestCaseStatus::success(),
        Verdict::Skipped => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(reason());
            s
        }
        Verdict::TargetUnavailable => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_type("target-unavailable");
            s.set_message(reason());
            s
        }
        // An error, not a skip: a publisher must not show an interrupted run green.
        Verdict::NotRun | Verdict::Interrupted => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_type("interrupted");
            s.set_message(reason());
            s
        }
        Verdict::Flaky => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type("flaky");
            s.set_message(reason());
            s
        }
        Verdict::Failed => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let first = result.failures().find(|f| f.known_failure.is_none());
            if let Some(f) = first {
                s.set_type(f.check.clone());
                s.set_message(format!(
                    "{}: {}",
                    f.check,
                    f.message
                        .as_deref()
                        .unwrap_or("")
                        .lines()
                        .next()
                        .unwrap_or("")
                ));
            }
            s
        }
    }
}

/// A gate that fails the run, as a testcase of the `run` suite: an error when the run was
/// cut short, a failure otherwise.
fn gate_case(gate: &Gate) -> TestCase {
    let (name, kind, error) = match gate {
        Gate::StaleKnownFailure {
            scenario, check, ..
        } => (
            format!("known-failures/{scenario}/{check}"),
            "stale-known-failure",
            false,
        ),
        Gate::CoverageRequired { .. } => ("run/require-coverage".to_owned(), "coverage", false),
        Gate::Interrupted { deadline, .. } => (
            "run/interrupted".to_owned(),
            if *deadline { "deadline" } else { "interrupted" },
            true,
        ),
    };
    let mut s = TestCaseStatus::non_success(if error {
        NonSuccessKind::Error
    } else {
        NonSuccessKind::Failure
    });
    s.set_type(kind);
    s.set_message(gate.describe());
    let mut case = TestCase::new(name, s);
    case.set_classname("run");
    case
}

impl<W: Write> Reporter for Junit<W> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted { target, .. } => self.run_name = format!("conformance ({target})"),
            // A testcase is built whole from the finished scenario's result.
            Event::ScenarioStarted { .. }
            | Event::Exchange(_)
            | Event::Check(_)
            | Event::Warning { .. }
            | Event::Notice { .. }
            | Event::Retry { .. } => {}
            Event::RunAborted {
                target,
                reason,
                exit_code,
                ..
            } => self.aborted(target, reason, *exit_code),
            Event::ScenarioFinished {
                scenario,
                suite,
                verdict,
                reason,
                duration_ms,
                result,
                ..
            } => self.scenario(
                scenario,
                suite,
                *verdict,
                reason.as_deref(),
                *duration_ms,
                result,
            ),
            Event::RunFinished { stats, gates, .. } => self.finished(stats, gates),
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let mut report = Report::new(self.run_name.clone());
        report.set_time(self.total);
        report.add_test_suites(std::mem::take(&mut self.suites));
        report.serialize(out).map_err(std::io::Error::other)
    }
}
