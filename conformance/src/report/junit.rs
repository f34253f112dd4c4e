//! `--report junit=PATH`: one testsuite per suite, one testcase per scenario, built with
//! quick-junit and written once at the end in run order.

use super::Reporter;
use crate::events::{CheckRecord, Event, Verdict};
use crate::exchange::ExchangeRecord;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

pub struct Junit<W: Write> {
    out: Option<W>,
    suites: Vec<TestSuite>,
    exchanges: BTreeMap<usize, ExchangeRecord>,
    failures: Vec<CheckRecord>,
    run_name: String,
    total: Duration,
}

impl<W: Write> Junit<W> {
    pub fn new(out: W) -> Self {
        Junit {
            out: Some(out),
            suites: Vec::new(),
            exchanges: BTreeMap::new(),
            failures: Vec::new(),
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

    fn describe_failures(&self) -> String {
        let mut text = String::new();
        for f in &self.failures {
            text.push_str(&format!(
                "{}: {}\n",
                f.check,
                f.message.as_deref().unwrap_or("")
            ));
            if let Some(r) = &f.known_failure {
                text.push_str(&format!("  known failure: {r}\n"));
            }
            if let Some(e) = &f.expected {
                text.push_str(&format!("  expected: {e}\n"));
            }
            if let Some(a) = &f.actual {
                text.push_str(&format!("  actual:   {a}\n"));
            }
            if let Some(d) = &f.decision {
                text.push_str(&format!("  basis:    {d}\n"));
            }
            if let Some(p) = &f.spec_pointer {
                text.push_str(&format!("  spec:     {p}\n"));
            }
            if let Some(x) = f.exchange.and_then(|i| self.exchanges.get(&i)) {
                text.push_str(&format!(
                    "  exchange: {} {} -> {}\n  replay:   {}\n",
                    x.method,
                    x.path,
                    x.status
                        .map_or_else(|| "no response".into(), |s| s.to_string()),
                    x.curl
                ));
            }
        }
        text
    }
}

impl<W: Write> Reporter for Junit<W> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted { target, .. } => self.run_name = format!("conformance ({target})"),
            Event::ScenarioStarted { .. } => {
                self.exchanges.clear();
                self.failures.clear();
            }
            Event::Exchange(x) => {
                self.exchanges.insert(x.index, x.clone());
            }
            Event::Check(c) => {
                if !c.passed {
                    self.failures.push(c.clone());
                }
            }
            Event::Warning { .. } | Event::Retry { .. } => {}
            Event::ScenarioFinished {
                scenario,
                suite,
                verdict,
                reason,
                duration_ms,
                ..
            } => {
                let mut status = match verdict {
                    Verdict::Passed | Verdict::KnownFailure => TestCaseStatus::success(),
                    Verdict::Skipped => {
                        let mut s = TestCaseStatus::skipped();
                        s.set_message(reason.clone().unwrap_or_default());
                        s
                    }
                    // An error, not a skip: a publisher must not show an interrupted run green.
                    Verdict::NotRun => {
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                        s.set_type("interrupted");
                        s.set_message(reason.clone().unwrap_or_default());
                        s
                    }
                    Verdict::Failed => {
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        let first = self.failures.iter().find(|f| f.known_failure.is_none());
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
                };
                if !self.failures.is_empty() {
                    status.set_description(self.describe_failures());
                }
                let mut case = TestCase::new(scenario.clone(), status);
                case.set_classname(suite.clone());
                case.set_time(Duration::from_millis(*duration_ms));
                self.suite(suite).add_test_case(case);
            }
            Event::RunFinished { stats, .. } => {
                self.total = Duration::from_millis(stats.duration_ms);
            }
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
