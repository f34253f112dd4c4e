//! One run's JSON report, read as JSON events into what `diff` compares: the run's header,
//! each scenario's verdict, each check's outcome per scenario, and the coverage of
//! documented statuses.

use super::{CliError, Failing};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A check's outcome over one scenario: passed on every exchange, or failed at least once.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum CheckState {
    Passed,
    /// The first failure's message; `known`: every failure was listed as known.
    Failed {
        message: String,
        known: bool,
    },
}

impl CheckState {
    pub(super) fn failed(&self) -> bool {
        matches!(self, CheckState::Failed { .. })
    }
}

/// One JSON report, read.
pub(super) struct Report {
    pub(super) name: String,
    pub(super) target: String,
    pub(super) base_url: String,
    pub(super) spec_title: String,
    pub(super) spec_version: String,
    pub(super) started_at: String,
    /// Scenario → (verdict, reason), in report order by name.
    pub(super) scenarios: BTreeMap<String, (String, Option<String>)>,
    pub(super) checks: BTreeMap<String, BTreeMap<String, CheckState>>,
    /// (operation, status) → (responses seen, every check passed on them).
    pub(super) coverage: BTreeMap<(String, u64), (u64, bool)>,
    stats: Value,
}

/// A string field of an event, if it has one.
fn field(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

impl Report {
    pub(super) fn load(path: &Path) -> Result<Report, CliError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("cannot read {name}: {e}")))?;
        Report::parse(&name, &text).map_err(CliError::Usage)
    }

    pub(super) fn parse(name: &str, text: &str) -> Result<Report, String> {
        let mut report = Report {
            name: name.to_owned(),
            target: String::new(),
            base_url: String::new(),
            spec_title: String::new(),
            spec_version: String::new(),
            started_at: String::new(),
            scenarios: BTreeMap::new(),
            checks: BTreeMap::new(),
            coverage: BTreeMap::new(),
            stats: Value::Null,
        };
        let (mut started, mut finished) = (false, false);
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let not_a_report = || {
                format!(
                    "{name}:{}: not an event of a conformance JSON report (`conformance run --report json=PATH` writes one)",
                    i + 1
                )
            };
            let event: Value = serde_json::from_str(line).map_err(|_| not_a_report())?;
            let kind = field(&event, "event").ok_or_else(not_a_report)?;
            let read = match kind.as_str() {
                "run_started" => {
                    started = true;
                    report.run_started(&event);
                    Some(())
                }
                "check" => report.check(&event),
                "scenario_finished" => report.scenario_finished(&event),
                "run_finished" => {
                    finished = true;
                    report.run_finished(&event)
                }
                // Exchanges, retries, warnings: not part of a verdict. A kind a newer
                // runner adds is not an error either.
                _ => Some(()),
            };
            read.ok_or_else(not_a_report)?;
        }
        if !started {
            return Err(format!(
                "{name}: no run_started event: not a conformance JSON report, or the run stopped before it started"
            ));
        }
        if !finished {
            return Err(format!(
                "{name}: no run_finished event: the run did not finish (killed?), so its verdicts are incomplete"
            ));
        }
        report.refuse_interrupted()?;
        Ok(report)
    }

    /// The header: target, spec and start.
    fn run_started(&mut self, event: &Value) {
        self.target = field(event, "target").unwrap_or_default();
        self.base_url = field(event, "base_url").unwrap_or_default();
        self.spec_title = field(event, "spec_title").unwrap_or_default();
        self.spec_version = field(event, "spec_version").unwrap_or_default();
        self.started_at = field(event, "started_at").unwrap_or_default();
    }

    /// One check's outcome, folded into the scenario's state of that check: one failure
    /// makes it failed, with the first message. `None` when the event names no scenario
    /// or no check.
    fn check(&mut self, event: &Value) -> Option<()> {
        let (Some(scenario), Some(check)) = (field(event, "scenario"), field(event, "check"))
        else {
            return None;
        };
        let passed = event
            .get("passed")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let state = self
            .checks
            .entry(scenario)
            .or_default()
            .entry(check)
            .or_insert(CheckState::Passed);
        if !passed {
            let known = event.get("known_failure").is_some_and(|k| !k.is_null());
            match state {
                CheckState::Passed => {
                    *state = CheckState::Failed {
                        message: field(event, "message").unwrap_or_else(|| "failed".into()),
                        known,
                    }
                }
                CheckState::Failed { known: k, .. } => *k &= known,
            }
        }
        Some(())
    }

    /// A scenario's verdict and reason. `None` when the event names no scenario or verdict.
    fn scenario_finished(&mut self, event: &Value) -> Option<()> {
        let (Some(scenario), Some(verdict)) = (field(event, "scenario"), field(event, "verdict"))
        else {
            return None;
        };
        self.scenarios
            .insert(scenario, (verdict, field(event, "reason")));
        Some(())
    }

    /// The run's stats and its coverage of documented statuses. `None` when a coverage
    /// entry has no operation or status.
    fn run_finished(&mut self, event: &Value) -> Option<()> {
        self.stats = event.get("stats").cloned().unwrap_or(Value::Null);
        for c in event
            .get("coverage")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(op), Some(status)) = (
                field(c, "operation"),
                c.get("status").and_then(Value::as_u64),
            ) else {
                return None;
            };
            let exercised = c.get("exercised").and_then(Value::as_u64).unwrap_or(0);
            let passed = c.get("passed").and_then(Value::as_bool).unwrap_or(false);
            self.coverage.insert((op, status), (exercised, passed));
        }
        Some(())
    }

    /// An interrupted run judged only part of the target: comparing it would call every
    /// scenario it did not reach "not compared" and every status it did not exercise lost,
    /// under a NO REGRESSION line.
    fn refuse_interrupted(&self) -> Result<(), String> {
        if self.stats.get("interrupted").and_then(Value::as_bool) != Some(true) {
            return Ok(());
        }
        let deadline = self.stats.get("deadline_passed").and_then(Value::as_bool) == Some(true);
        Err(format!(
            "{}: the run was {} ({} of {} scenarios not run, {} cut short): a run that did not finish cannot be compared; run it again to the end",
            self.name,
            if deadline {
                "stopped by its --deadline"
            } else {
                "interrupted"
            },
            self.stat("not_run"),
            self.stat("scenarios"),
            self.stat("cut_short"),
        ))
    }

    pub(super) fn stat(&self, key: &str) -> u64 {
        self.stats.get(key).and_then(Value::as_u64).unwrap_or(0)
    }

    /// One line about the run: file, target, spec, start, counts.
    pub(super) fn describe(&self) -> String {
        format!(
            "{}: target {} ({}), spec \"{}\" {}, started {}: {} scenarios, {} passed, {} failed, {} skipped",
            self.name,
            self.target,
            self.base_url,
            self.spec_title,
            self.spec_version,
            self.started_at,
            self.stat("scenarios"),
            self.stat("passed"),
            self.stat("failed"),
            self.stat("skipped")
        )
    }

    pub(super) fn failing_checks(&self, scenario: &str) -> Failing {
        self.checks
            .get(scenario)
            .into_iter()
            .flatten()
            .filter_map(|(check, state)| match state {
                CheckState::Failed { message, .. } => Some((check.clone(), message.clone())),
                CheckState::Passed => None,
            })
            .collect()
    }
}
