//! `conformance diff BEFORE.jsonl AFTER.jsonl`: compares two runs' JSON reports (the event
//! stream of `--report json=PATH`) scenario by scenario and check by check: regressed
//! (passed → failed), fixed, still failing, new, removed, and changes in the coverage of
//! documented statuses. Printed for a terminal, and with `--markdown PATH` written as a job
//! summary. Exit 1 when anything regressed, 0 otherwise, 2 when a report cannot be read or
//! the two reports are of different spec versions.
//!
//! The reports are read as JSON (README, "JSON report"), not as the runner's types, so a
//! report written by an older or newer runner with the same fields compares too; a verdict
//! this version does not know is shown as it is and not compared.

use super::{CliError, print};
use clap::Args;
use conformance::report::markdown::{code, cut, text};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct DiffArgs {
    /// The earlier run's JSON report (written by `conformance run --report json=PATH`).
    #[arg(value_name = "BEFORE.jsonl")]
    pub before: PathBuf,
    /// The later run's JSON report.
    #[arg(value_name = "AFTER.jsonl")]
    pub after: PathBuf,
    /// Also write the comparison as GitHub-flavoured Markdown (e.g. for $GITHUB_STEP_SUMMARY).
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
}

/// Lines each section of the comparison shows before its "… N more" line.
const MAX_ITEMS: usize = 200;

pub fn diff(args: DiffArgs) -> Result<(), CliError> {
    let before = Report::load(&args.before)?;
    let after = Report::load(&args.after)?;
    if (before.spec_title.as_str(), before.spec_version.as_str())
        != (after.spec_title.as_str(), after.spec_version.as_str())
    {
        return Err(CliError::Usage(format!(
            "{} is a report of spec \"{}\" {} and {} of \"{}\" {}: compare two runs of one spec version",
            args.before.display(),
            before.spec_title,
            before.spec_version,
            args.after.display(),
            after.spec_title,
            after.spec_version
        )));
    }
    let comparison = compare(&before, &after);
    print(&comparison.terminal(&before, &after))?;
    if let Some(path) = &args.markdown {
        std::fs::write(path, comparison.markdown(&before, &after)).map_err(CliError::Report)?;
    }
    if comparison.regressed.is_empty() {
        Ok(())
    } else {
        Err(CliError::ChecksFailed)
    }
}

/// A check's outcome over one scenario: passed on every exchange, or failed at least once.
#[derive(Debug, Clone, PartialEq)]
enum CheckState {
    Passed,
    /// The first failure's message; `known`: every failure was listed as known.
    Failed {
        message: String,
        known: bool,
    },
}

impl CheckState {
    fn failed(&self) -> bool {
        matches!(self, CheckState::Failed { .. })
    }
}

/// How a scenario's verdict compares: judged (a pass or a failure) or not.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    Pass,
    Fail,
    /// Skipped, not run, target unavailable, interrupted, or a verdict this version does not
    /// know: the target was not judged.
    NotJudged,
}

fn class(verdict: &str) -> Class {
    match verdict {
        "passed" | "flaky" => Class::Pass,
        "failed" | "known_failure" => Class::Fail,
        _ => Class::NotJudged,
    }
}

/// One JSON report, read.
struct Report {
    name: String,
    target: String,
    base_url: String,
    spec_title: String,
    spec_version: String,
    started_at: String,
    /// Scenario → (verdict, reason), in report order by name.
    scenarios: BTreeMap<String, (String, Option<String>)>,
    checks: BTreeMap<String, BTreeMap<String, CheckState>>,
    /// (operation, status) → (responses seen, every check passed on them).
    coverage: BTreeMap<(String, u64), (u64, bool)>,
    stats: Value,
}

impl Report {
    fn load(path: &Path) -> Result<Report, CliError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("cannot read {name}: {e}")))?;
        Report::parse(&name, &text).map_err(CliError::Usage)
    }

    fn parse(name: &str, text: &str) -> Result<Report, String> {
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
        let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
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
            match kind.as_str() {
                "run_started" => {
                    started = true;
                    report.target = field(&event, "target").unwrap_or_default();
                    report.base_url = field(&event, "base_url").unwrap_or_default();
                    report.spec_title = field(&event, "spec_title").unwrap_or_default();
                    report.spec_version = field(&event, "spec_version").unwrap_or_default();
                    report.started_at = field(&event, "started_at").unwrap_or_default();
                }
                "check" => {
                    let (Some(scenario), Some(check)) =
                        (field(&event, "scenario"), field(&event, "check"))
                    else {
                        return Err(not_a_report());
                    };
                    let passed = event
                        .get("passed")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    let state = report
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
                                    message: field(&event, "message")
                                        .unwrap_or_else(|| "failed".into()),
                                    known,
                                }
                            }
                            CheckState::Failed { known: k, .. } => *k &= known,
                        }
                    }
                }
                "scenario_finished" => {
                    let (Some(scenario), Some(verdict)) =
                        (field(&event, "scenario"), field(&event, "verdict"))
                    else {
                        return Err(not_a_report());
                    };
                    report
                        .scenarios
                        .insert(scenario, (verdict, field(&event, "reason")));
                }
                "run_finished" => {
                    finished = true;
                    report.stats = event.get("stats").cloned().unwrap_or(Value::Null);
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
                            return Err(not_a_report());
                        };
                        let exercised = c.get("exercised").and_then(Value::as_u64).unwrap_or(0);
                        let passed = c.get("passed").and_then(Value::as_bool).unwrap_or(false);
                        report.coverage.insert((op, status), (exercised, passed));
                    }
                }
                // Exchanges, retries, warnings: not part of a verdict. A kind a newer
                // runner adds is not an error either.
                _ => {}
            }
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
        // An interrupted run judged only part of the target: comparing it would call every
        // scenario it did not reach "not compared" and every status it did not exercise lost,
        // under a NO REGRESSION line.
        if report.stats.get("interrupted").and_then(Value::as_bool) == Some(true) {
            let deadline =
                report.stats.get("deadline_passed").and_then(Value::as_bool) == Some(true);
            return Err(format!(
                "{name}: the run was {} ({} of {} scenarios not run, {} cut short): a run that did not finish cannot be compared; run it again to the end",
                if deadline {
                    "stopped by its --deadline"
                } else {
                    "interrupted"
                },
                report.stat("not_run"),
                report.stat("scenarios"),
                report.stat("cut_short"),
            ));
        }
        Ok(report)
    }

    fn stat(&self, key: &str) -> u64 {
        self.stats.get(key).and_then(Value::as_u64).unwrap_or(0)
    }

    /// One line about the run: file, target, spec, start, counts.
    fn describe(&self) -> String {
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

    fn failing_checks(&self, scenario: &str) -> Failing {
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

/// What happened to one check of a scenario judged in both runs.
#[derive(Debug)]
struct CheckChange {
    check: String,
    /// `regressed`, `fixed`, `still failing`, `newly failing` (did not run before).
    how: &'static str,
    /// The later run's message when it fails there, else the earlier one's.
    message: String,
    /// The failure is listed as known in the later run.
    known: bool,
}

#[derive(Debug)]
struct ScenarioChange {
    scenario: String,
    before: String,
    after: String,
    checks: Vec<CheckChange>,
}

/// A scenario's failing checks: (check, first message).
type Failing = Vec<(String, String)>;

#[derive(Debug, Default)]
struct Comparison {
    regressed: Vec<ScenarioChange>,
    fixed: Vec<ScenarioChange>,
    still_failing: Vec<ScenarioChange>,
    /// Only in the later run: verdict and failing checks.
    new: Vec<(String, String, Failing)>,
    /// Only in the earlier run: verdict.
    removed: Vec<(String, String)>,
    /// Judged in one run only (skipped or unavailable in the other): before, after, why.
    not_compared: Vec<(String, String, String, String)>,
    /// Scenarios that passed in both runs.
    unchanged: usize,
    coverage: Vec<String>,
}

fn compare(before: &Report, after: &Report) -> Comparison {
    let mut out = Comparison::default();
    let names: BTreeSet<&String> = before
        .scenarios
        .keys()
        .chain(after.scenarios.keys())
        .collect();
    let empty = BTreeMap::new();
    for name in names {
        match (before.scenarios.get(name), after.scenarios.get(name)) {
            (Some((b, _)), None) => out.removed.push((name.clone(), b.clone())),
            (None, Some((a, _))) => {
                out.new
                    .push((name.clone(), a.clone(), after.failing_checks(name)))
            }
            (Some((b, b_why)), Some((a, a_why))) => {
                let (bc, ac) = (class(b), class(a));
                if bc == Class::NotJudged || ac == Class::NotJudged {
                    if bc != ac {
                        let why = a_why.clone().or_else(|| b_why.clone()).unwrap_or_default();
                        out.not_compared
                            .push((name.clone(), b.clone(), a.clone(), why));
                    }
                    continue;
                }
                let bchecks = before.checks.get(name).unwrap_or(&empty);
                let achecks = after.checks.get(name).unwrap_or(&empty);
                let mut checks = Vec::new();
                let check_names: BTreeSet<&String> = bchecks.keys().chain(achecks.keys()).collect();
                for check in check_names {
                    let (bs, as_) = (bchecks.get(check), achecks.get(check));
                    let how = match (bs, as_) {
                        (Some(CheckState::Passed), Some(s)) if s.failed() => "regressed",
                        (Some(s), Some(CheckState::Passed)) if s.failed() => "fixed",
                        (Some(s), None) if s.failed() => "fixed",
                        (Some(b), Some(a)) if b.failed() && a.failed() => "still failing",
                        (None, Some(a)) if a.failed() => "newly failing",
                        _ => continue,
                    };
                    let (message, known) = match (as_, bs) {
                        (Some(CheckState::Failed { message, known }), _) => {
                            (message.clone(), *known)
                        }
                        (_, Some(CheckState::Failed { message, .. })) => (message.clone(), false),
                        _ => (String::new(), false),
                    };
                    checks.push(CheckChange {
                        check: check.clone(),
                        how,
                        message,
                        known,
                    });
                }
                let change = ScenarioChange {
                    scenario: name.clone(),
                    before: b.clone(),
                    after: a.clone(),
                    checks,
                };
                let regressed = change.checks.iter().any(|c| c.how == "regressed")
                    || (bc == Class::Pass && ac == Class::Fail);
                if regressed {
                    out.regressed.push(change);
                } else if ac == Class::Fail {
                    out.still_failing.push(change);
                } else if bc == Class::Fail {
                    out.fixed.push(change);
                } else {
                    out.unchanged += 1;
                }
            }
            (None, None) => {}
        }
    }
    let keys: BTreeSet<&(String, u64)> = before
        .coverage
        .keys()
        .chain(after.coverage.keys())
        .collect();
    for key in keys {
        let (b, a) = (
            before.coverage.get(key).copied().unwrap_or((0, false)),
            after.coverage.get(key).copied().unwrap_or((0, false)),
        );
        let what = match (b.0 > 0, a.0 > 0) {
            (false, true) => "now exercised",
            (true, false) => "no longer exercised",
            (true, true) if b.1 && !a.1 => "a check now fails on it",
            (true, true) if !b.1 && a.1 => "its checks now pass",
            _ => continue,
        };
        out.coverage.push(format!(
            "{} {}: {what} ({} → {} responses)",
            key.0, key.1, b.0, a.0
        ));
    }
    out
}

impl Comparison {
    fn summary(&self, before: &Report, after: &Report) -> String {
        let cov = |r: &Report| {
            format!(
                "{}/{}",
                r.stat("coverage_exercised"),
                r.stat("coverage_documented")
            )
        };
        format!(
            "{}: {} regressed, {} fixed, {} still failing, {} new, {} removed, {} not compared, {} passed in both · coverage {} → {}",
            if self.regressed.is_empty() {
                "NO REGRESSION"
            } else {
                "REGRESSED"
            },
            self.regressed.len(),
            self.fixed.len(),
            self.still_failing.len(),
            self.new.len(),
            self.removed.len(),
            self.not_compared.len(),
            self.unchanged,
            cov(before),
            cov(after)
        )
    }

    fn terminal(&self, before: &Report, after: &Report) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "before {}", before.describe());
        let _ = writeln!(t, "after  {}", after.describe());
        let section = |t: &mut String, title: &str, items: Vec<String>| {
            if items.is_empty() {
                return;
            }
            let _ = writeln!(t, "\n{title} ({})", items.len());
            for item in items.iter().take(MAX_ITEMS) {
                let _ = writeln!(t, "  {item}");
            }
            if items.len() > MAX_ITEMS {
                let _ = writeln!(t, "  … {} more", items.len() - MAX_ITEMS);
            }
        };
        let changes = |list: &[ScenarioChange]| -> Vec<String> {
            list.iter()
                .map(|c| {
                    let mut s = format!("{} ({} → {})", c.scenario, c.before, c.after);
                    for k in &c.checks {
                        let _ = write!(s, "\n      {}: {}", k.how, k.check);
                        if !k.message.is_empty() {
                            let _ = write!(s, ": {}", cut(&k.message, 200));
                        }
                        if k.known {
                            s.push_str(" (listed as known)");
                        }
                    }
                    s
                })
                .collect()
        };
        section(&mut t, "REGRESSED", changes(&self.regressed));
        section(&mut t, "FIXED", changes(&self.fixed));
        section(&mut t, "STILL FAILING", changes(&self.still_failing));
        section(
            &mut t,
            "NEW",
            self.new
                .iter()
                .map(|(s, v, failing)| {
                    let mut line = format!("{s} ({v})");
                    for (check, message) in failing {
                        let _ = write!(line, "\n      {check}: {}", cut(message, 200));
                    }
                    line
                })
                .collect(),
        );
        section(
            &mut t,
            "REMOVED",
            self.removed
                .iter()
                .map(|(s, v)| format!("{s} (was {v})"))
                .collect(),
        );
        section(
            &mut t,
            "NOT COMPARED (judged in one run only)",
            self.not_compared
                .iter()
                .map(|(s, b, a, why)| {
                    let why = if why.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", cut(why, 200))
                    };
                    format!("{s} ({b} → {a}){why}")
                })
                .collect(),
        );
        section(&mut t, "COVERAGE", self.coverage.clone());
        let _ = writeln!(t, "\n{}", self.summary(before, after));
        t
    }

    fn markdown(&self, before: &Report, after: &Report) -> String {
        let mut d = String::new();
        let icon = if self.regressed.is_empty() {
            "✅"
        } else {
            "❌"
        };
        let _ = writeln!(d, "## {icon} {}\n", text(&self.summary(before, after), 400));
        d.push_str("| | run | target | spec | started |\n|---|---|---|---|---|\n");
        for (label, r) in [("before", before), ("after", after)] {
            let _ = writeln!(
                d,
                "| {label} | {} | {} ({}) | {} | {} |",
                code(&cut(&r.name, 200)),
                code(&cut(&r.target, 120)),
                text(&r.base_url, 200),
                text(&format!("\"{}\" {}", r.spec_title, r.spec_version), 120),
                text(&r.started_at, 64)
            );
        }
        d.push('\n');
        let table = |d: &mut String, title: &str, list: &[ScenarioChange]| {
            if list.is_empty() {
                return;
            }
            let _ = writeln!(
                d,
                "### {title} ({})\n\n| scenario | verdict | check | change | message |\n|---|---|---|---|---|",
                list.len()
            );
            let mut rows = 0;
            let total: usize = list.iter().map(|c| c.checks.len().max(1)).sum();
            'rows: for c in list {
                let verdict = text(&format!("{} → {}", c.before, c.after), 80);
                let checks: Vec<Option<&CheckChange>> = if c.checks.is_empty() {
                    vec![None]
                } else {
                    c.checks.iter().map(Some).collect()
                };
                for k in checks {
                    if rows == MAX_ITEMS {
                        break 'rows;
                    }
                    rows += 1;
                    let (check, how, message) = match k {
                        Some(k) => (
                            code(&cut(&k.check, 60)),
                            format!("{}{}", k.how, if k.known { " (known)" } else { "" }),
                            text(&k.message, 200),
                        ),
                        None => (String::new(), String::new(), String::new()),
                    };
                    let _ = writeln!(
                        d,
                        "| {} | {verdict} | {check} | {how} | {message} |",
                        code(&cut(&c.scenario, 120))
                    );
                }
            }
            if total > rows {
                let _ = writeln!(d, "\n… {} more rows", total - rows);
            }
            d.push('\n');
        };
        table(&mut d, "Regressed", &self.regressed);
        table(&mut d, "Fixed", &self.fixed);
        table(&mut d, "Still failing", &self.still_failing);
        let list = |d: &mut String, title: &str, items: Vec<String>| {
            if items.is_empty() {
                return;
            }
            let _ = writeln!(d, "### {title} ({})\n", items.len());
            for item in items.iter().take(MAX_ITEMS) {
                let _ = writeln!(d, "- {item}");
            }
            if items.len() > MAX_ITEMS {
                let _ = writeln!(d, "- … {} more", items.len() - MAX_ITEMS);
            }
            d.push('\n');
        };
        list(
            &mut d,
            "New",
            self.new
                .iter()
                .map(|(s, v, failing)| {
                    let checks: Vec<String> =
                        failing.iter().map(|(c, _)| code(&cut(c, 60))).collect();
                    let failing = if checks.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", checks.join(", "))
                    };
                    format!("{} ({}){failing}", code(&cut(s, 120)), text(v, 40))
                })
                .collect(),
        );
        list(
            &mut d,
            "Removed",
            self.removed
                .iter()
                .map(|(s, v)| format!("{} (was {})", code(&cut(s, 120)), text(v, 40)))
                .collect(),
        );
        list(
            &mut d,
            "Not compared (judged in one run only)",
            self.not_compared
                .iter()
                .map(|(s, b, a, why)| {
                    format!(
                        "{} ({}) {}",
                        code(&cut(s, 120)),
                        text(&format!("{b} → {a}"), 80),
                        text(why, 200)
                    )
                })
                .collect(),
        );
        list(
            &mut d,
            "Coverage",
            self.coverage.iter().map(|c| text(c, 200)).collect(),
        );
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(lines: &[&str]) -> Result<Report, String> {
        Report::parse("r.jsonl", &lines.join("\n"))
    }

    const START: &str = r#"{"event":"run_started","run_id":"r","target":"t","base_url":"u","spec_title":"S","spec_version":"1","scenarios":2,"started_at":"x"}"#;
    const END: &str = r#"{"event":"run_finished","stats":{"scenarios":2},"coverage":[{"operation":"op","method":"GET","path":"/p","status":200,"exercised":1,"passed":true}]}"#;

    fn check(scenario: &str, check: &str, passed: bool) -> String {
        format!(
            r#"{{"event":"check","scenario":"{scenario}","check":"{check}","passed":{passed},"message":{}}}"#,
            if passed { "null" } else { "\"went wrong\"" }
        )
    }

    fn finished(scenario: &str, verdict: &str) -> String {
        format!(
            r#"{{"event":"scenario_finished","scenario":"{scenario}","suite":"s","verdict":"{verdict}","reason":null,"duration_ms":1,"requests":1}}"#
        )
    }

    #[test]
    fn checks_are_compared_within_scenarios_judged_in_both_runs() {
        let a = [
            START.to_owned(),
            check("s/one", "c1", true),
            check("s/one", "c2", false),
            finished("s/one", "failed"),
            check("s/two", "c1", true),
            finished("s/two", "passed"),
            finished("s/three", "skipped"),
            check("s/five", "c1", false),
            finished("s/five", "failed"),
            END.to_owned(),
        ];
        let b = [
            START.to_owned(),
            check("s/one", "c1", false),
            check("s/one", "c2", true),
            finished("s/one", "failed"),
            check("s/two", "c1", true),
            finished("s/two", "passed"),
            check("s/three", "c1", false),
            finished("s/three", "failed"),
            finished("s/four", "passed"),
            check("s/five", "c1", false),
            finished("s/five", "failed"),
            END.replace("\"exercised\":1", "\"exercised\":0"),
        ];
        let a = report(&a.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        let b = report(&b.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        let c = compare(&a, &b);
        assert_eq!(c.regressed.len(), 1);
        let hows: Vec<(&str, &str)> = c.regressed[0]
            .checks
            .iter()
            .map(|k| (k.check.as_str(), k.how))
            .collect();
        assert_eq!(hows, [("c1", "regressed"), ("c2", "fixed")]);
        assert_eq!(c.unchanged, 1);
        assert_eq!(c.still_failing.len(), 1);
        assert_eq!(c.still_failing[0].checks[0].how, "still failing");
        assert_eq!(c.new.len(), 1);
        assert_eq!(
            c.not_compared.len(),
            1,
            "skipped → failed is not a regression"
        );
        assert_eq!(
            c.coverage,
            ["op 200: no longer exercised (1 → 0 responses)"]
        );
        // The other way round s/one still has a check that passed and now fails.
        let back = compare(&b, &a);
        let hows: Vec<(&str, &str)> = back.regressed[0]
            .checks
            .iter()
            .map(|k| (k.check.as_str(), k.how))
            .collect();
        assert_eq!(hows, [("c1", "fixed"), ("c2", "regressed")]);
        assert_eq!(back.regressed.len(), 1);
        assert_eq!(back.removed, [("s/four".to_owned(), "passed".to_owned())]);
    }

    #[test]
    fn an_interrupted_run_is_refused_not_compared() {
        let end = r#"{"event":"run_finished","stats":{"scenarios":115,"passed":24,"interrupted":true,"not_run":91,"cut_short":0},"coverage":[]}"#;
        let e = report(&[START, end]).err().unwrap();
        assert!(
            e.contains("the run was interrupted (91 of 115 scenarios not run, 0 cut short)")
                && e.contains("cannot be compared"),
            "{e}"
        );
    }

    #[test]
    fn incomplete_or_foreign_files_are_refused_naming_the_line() {
        let e = report(&[START, "not json", END]).err().unwrap();
        assert!(e.starts_with("r.jsonl:2: not an event"), "{e}");
        let e = report(&[START]).err().unwrap();
        assert!(e.contains("no run_finished event"), "{e}");
        let e = report(&[r#"{"a":1}"#]).err().unwrap();
        assert!(e.contains("r.jsonl:1"), "{e}");
        let e = report(&[]).err().unwrap();
        assert!(e.contains("no run_started event"), "{e}");
    }
}
