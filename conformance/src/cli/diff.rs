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
use report::{CheckState, Report};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

mod render;
mod report;

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
    for name in names {
        match (before.scenarios.get(name), after.scenarios.get(name)) {
            (Some((b, _)), None) => out.removed.push((name.clone(), b.clone())),
            (None, Some((a, _))) => {
                out.new
                    .push((name.clone(), a.clone(), after.failing_checks(name)))
            }
            (Some(b), Some(a)) => out.in_both(name, b, a, before, after),
            (None, None) => {}
        }
    }
    out.coverage = coverage_changes(before, after);
    out
}

impl Comparison {
    /// A scenario both runs have: compared check by check when both judged it, listed as
    /// not compared when only one did.
    fn in_both(
        &mut self,
        name: &str,
        (b, b_why): &(String, Option<String>),
        (a, a_why): &(String, Option<String>),
        before: &Report,
        after: &Report,
    ) {
        let (bc, ac) = (class(b), class(a));
        if bc == Class::NotJudged || ac == Class::NotJudged {
            if bc != ac {
                let why = a_why.clone().or_else(|| b_why.clone()).unwrap_or_default();
                self.not_compared
                    .push((name.to_owned(), b.clone(), a.clone(), why));
            }
            return;
        }
        let empty = BTreeMap::new();
        let change = ScenarioChange {
            scenario: name.to_owned(),
            before: b.clone(),
            after: a.clone(),
            checks: check_changes(
                before.checks.get(name).unwrap_or(&empty),
                after.checks.get(name).unwrap_or(&empty),
            ),
        };
        let regressed = change.checks.iter().any(|c| c.how == "regressed")
            || (bc == Class::Pass && ac == Class::Fail);
        if regressed {
            self.regressed.push(change);
        } else if ac == Class::Fail {
            self.still_failing.push(change);
        } else if bc == Class::Fail {
            self.fixed.push(change);
        } else {
            self.unchanged += 1;
        }
    }
}

/// The checks of one scenario whose outcome changed, or that failed in both runs.
fn check_changes(
    bchecks: &BTreeMap<String, CheckState>,
    achecks: &BTreeMap<String, CheckState>,
) -> Vec<CheckChange> {
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
            (Some(CheckState::Failed { message, known }), _) => (message.clone(), *known),
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
    checks
}

/// The documented statuses whose coverage changed: exercised in one run only, or exercised
/// in both with checks that passed in one only.
fn coverage_changes(before: &Report, after: &Report) -> Vec<String> {
    let mut changes = Vec::new();
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
        changes.push(format!(
            "{} {}: {what} ({} → {} responses)",
            key.0, key.1, b.0, a.0
        ));
    }
    changes
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
