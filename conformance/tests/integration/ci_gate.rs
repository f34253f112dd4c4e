//! The gate in a team's CI, through the binary as a workflow runs it: the Markdown job summary
//! of a real run (and the one-line hint on GitHub Actions), `conformance diff` between two
//! real runs' JSON reports, known failures that cannot rot, and an installed binary run from
//! a directory outside any checkout.

use crate::common::output_text as text;
use conformance::exit;
use std::path::Path;
use std::process::{Command, Output};

/// The binary against its embedded server, in the crate's directory (a checkout), with CI
/// set so a snapshot mismatch never writes into the tree.
fn run(args: &[&str]) -> Output {
    let mut c = crate::common::binary();
    c.arg("run").args(args).env("CI", "true");
    c.env_remove("GITHUB_STEP_SUMMARY");
    c.output().unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn arg(prefix: &str, path: &Path) -> String {
    format!("{prefix}{}", path.display())
}

#[test]
fn the_markdown_summary_of_a_failing_run_tabulates_its_failures_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("summary.md");
    let out = run(&[
        "--embedded-fault",
        "accept-missing-name",
        "--embedded-fault",
        "second-delete-succeeds",
        "--report",
        &arg("markdown=", &md),
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::FAILED.into()),
        "{stdout}\n{stderr}"
    );
    let doc = read(&md);
    assert!(
        doc.len() <= conformance::report::markdown::MAX_BYTES,
        "{}",
        doc.len()
    );
    assert!(
        doc.starts_with("## ❌ Conformance FAILED against `embedded`"),
        "{doc}"
    );
    assert!(
        doc.contains("| target | `embedded` (http://127.0.0.1:"),
        "{doc}"
    );
    assert!(doc.contains("### Failed checks ("), "{doc}");
    let row = |scenario: &str| {
        doc.lines()
            .find(|l| l.starts_with(&format!("| `{scenario}` | `status_expected`")))
            .unwrap_or_else(|| panic!("no row for {scenario}:\n{doc}"))
            .to_owned()
    };
    // A fact of the vendor docs, a decision of the project and a baseline, told apart.
    let documented = doc
        .lines()
        .find(|l| l.starts_with("| `validation/missing-name` | `rejection_changes_nothing`"))
        .unwrap_or_else(|| panic!("{doc}"));
    assert!(documented.contains("| documented |"), "{documented}");
    // The docs list POST's 400; the error body's shape is a decision, the status is not.
    assert!(
        row("validation/missing-name").contains("| documented |"),
        "{doc}"
    );
    assert!(doc.contains("| approved snapshot |"), "{doc}");
    let decided = row("lifecycle/delete-removes-token");
    assert!(decided.contains("| decided: "), "{decided}");
    assert!(
        decided.contains("| `--scenario lifecycle/delete-removes-token` |"),
        "{decided}"
    );
    assert!(
        doc.contains("Rerun a row with `conformance run` followed by its rerun flags."),
        "{doc}"
    );
    assert!(doc.contains("<details><summary>Replay lines"), "{doc}");
    assert!(doc.contains("```sh\ncurl "), "{doc}");
    assert!(doc.contains("### Coverage of documented statuses"), "{doc}");
    assert!(!stdout.contains("job summary:"), "{stdout}");
}

#[test]
fn on_github_actions_without_a_markdown_report_one_line_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("step_summary");
    let mut c = crate::common::binary();
    c.args(["run", "--scenario", "lifecycle/delete-unknown-id"])
        .env("CI", "true")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let out = c.output().unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(exit::PASSED.into()), "{stdout}");
    let hints: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("--report markdown="))
        .collect();
    assert_eq!(hints.len(), 1, "{stdout}");
    assert!(hints[0].contains("GITHUB_STEP_SUMMARY"), "{stdout}");
    assert!(
        !summary.exists(),
        "the job summary is not written uninvited"
    );

    // Asked for one: no hint.
    let md = dir.path().join("summary.md");
    let mut c = crate::common::binary();
    c.args([
        "run",
        "--scenario",
        "lifecycle/delete-unknown-id",
        "--report",
    ])
    .arg(arg("markdown=", &md))
    .env("CI", "true")
    .env("GITHUB_STEP_SUMMARY", &summary);
    let out = c.output().unwrap();
    assert!(!text(&out).0.contains("job summary:"));
    assert!(read(&md).starts_with("## ✅ Conformance PASSED"));
}

fn diff(before: &Path, after: &Path, extra: &[&str]) -> Output {
    crate::common::binary()
        .arg("diff")
        .arg(before)
        .arg(after)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn diff_of_two_real_runs_names_regressions_fixes_new_removed_and_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let (before, after) = (
        dir.path().join("before.jsonl"),
        dir.path().join("after.jsonl"),
    );
    // The last release: a correct server, lifecycle and validation suites.
    let out = run(&[
        "--suite",
        "lifecycle",
        "--suite",
        "validation",
        "--skip-check",
        "snapshot",
        "--report",
        &arg("json=", &before),
    ]);
    assert_eq!(
        out.status.code(),
        Some(exit::PASSED.into()),
        "{}",
        text(&out).0
    );
    // This release: a second DELETE succeeds; the validation suite is not run, auth is.
    let out = run(&[
        "--embedded-fault",
        "second-delete-succeeds",
        "--suite",
        "lifecycle",
        "--suite",
        "auth",
        "--skip-check",
        "snapshot",
        "--report",
        &arg("json=", &after),
    ]);
    assert_eq!(
        out.status.code(),
        Some(exit::FAILED.into()),
        "{}",
        text(&out).0
    );

    let md = dir.path().join("diff.md");
    let out = diff(&before, &after, &["--markdown", md.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::FAILED.into()),
        "{stdout}\n{stderr}"
    );
    let section = |title: &str| -> String {
        stdout
            .split("\n\n")
            .find(|s| s.starts_with(title))
            .unwrap_or_else(|| panic!("no {title} section:\n{stdout}"))
            .to_owned()
    };
    let regressed = section("REGRESSED (");
    assert!(
        regressed.contains("lifecycle/delete-removes-token (passed → failed)"),
        "{regressed}"
    );
    assert!(
        regressed.contains("regressed: status_expected: "),
        "{regressed}"
    );
    assert!(
        section("REMOVED (").contains("validation/missing-name (was passed)"),
        "{stdout}"
    );
    assert!(
        section("NEW (").contains("auth/list/no-authorization (passed)"),
        "{stdout}"
    );
    assert!(
        section("COVERAGE (").contains("createMyToken 400: no longer exercised"),
        "{stdout}"
    );
    // The fault also answers success to unknown ids and to another user's delete.
    assert!(
        stdout.contains("\nREGRESSED: 4 regressed, 0 fixed"),
        "{stdout}"
    );
    let doc = read(&md);
    assert!(doc.starts_with("## ❌ REGRESSED: 4 regressed"), "{doc}");
    assert!(
        doc.contains(
            "| `lifecycle/delete-removes-token` | passed → failed | `status_expected` | regressed |"
        ),
        "{doc}"
    );

    // The other way round it is a fix, and nothing regressed.
    let out = diff(&after, &before, &[]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(exit::PASSED.into()), "{stdout}");
    assert!(
        stdout.contains("FIXED (4)\n  lifecycle/delete-removes-token (failed → passed)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("NO REGRESSION: 0 regressed, 4 fixed"),
        "{stdout}"
    );

    // A run compared with itself: nothing changed.
    let out = diff(&before, &before, &[]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(exit::PASSED.into()), "{stdout}");
    assert!(
        stdout.contains("NO REGRESSION: 0 regressed, 0 fixed, 0 still failing, 0 new, 0 removed"),
        "{stdout}"
    );

    // Another spec version, a missing file, a run that never finished: exit 2, one line.
    let other = dir.path().join("other.jsonl");
    std::fs::write(
        &other,
        read(&before).replacen("\"spec_version\":\"", "\"spec_version\":\"9.9.9-", 1),
    )
    .unwrap();
    let out = diff(&before, &other, &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::USAGE.into()),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("compare two runs of one spec version"),
        "{stderr}"
    );
    assert!(stderr.contains("9.9.9-"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let out = diff(&before, &dir.path().join("missing.jsonl"), &[]);
    assert_eq!(out.status.code(), Some(exit::USAGE.into()));
    assert!(text(&out).1.contains("cannot read"), "{}", text(&out).1);
    let cut = dir.path().join("cut.jsonl");
    let full = read(&before);
    let last = full.trim_end().rfind('\n').unwrap();
    std::fs::write(&cut, &full[..last]).unwrap();
    let out = diff(&cut, &after, &[]);
    assert_eq!(out.status.code(), Some(exit::USAGE.into()));
    assert!(
        text(&out).1.contains("the run did not finish"),
        "{}",
        text(&out).1
    );
}

/// A known-failures file with one entry, `extra` added to it.
fn known_file(dir: &Path, scenario: &str, extra: &str) -> String {
    let path = dir.join("known.toml");
    std::fs::write(
        &path,
        format!(
            "[[failure]]\nscenario = \"{scenario}\"\ncheck = \"status_expected\"\nreason = \"API-9: a second delete succeeds\"\nexpires = 2999-12-31\n{extra}"
        ),
    )
    .unwrap();
    path.display().to_string()
}

fn run_known(ci: bool, fault: bool, known: &str, extra: &[&str]) -> Output {
    let mut c = crate::common::binary();
    c.args([
        "run",
        "--scenario",
        "lifecycle/delete-removes-token",
        "--skip-check",
        "snapshot",
        "--known-failures",
        known,
    ])
    .args(extra);
    if fault {
        c.args(["--embedded-fault", "second-delete-succeeds"]);
    }
    if ci {
        c.env("CI", "true");
    }
    c.output().unwrap()
}

/// A stale entry fails the gate under CI (exit 1): the verdict line, the JUnit report (a
/// failing testcase that names the entry), the Markdown summary and the HTML report all say
/// so, instead of counts that read green next to a red job.
#[test]
fn a_stale_known_failure_is_red_in_every_report_not_only_in_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let stale = known_file(dir.path(), "lifecycle/delete-removes-token", "");
    let (junit, md, html) = (
        dir.path().join("junit.xml"),
        dir.path().join("summary.md"),
        dir.path().join("report.html"),
    );
    let out = run_known(
        true,
        false,
        &stale,
        &[
            "--report",
            &format!("junit={}", junit.display()),
            "--report",
            &format!("markdown={}", md.display()),
            "--report",
            &format!("html={}", html.display()),
        ],
    );
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(exit::FAILED.into()), "{stdout}");
    let verdict = stdout
        .lines()
        .find(|l| l.starts_with("FAILED:"))
        .unwrap_or_default();
    assert!(
        verdict.contains("1 stale known-failure entry (fails the gate)"),
        "{stdout}"
    );
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(
        junit.contains("known-failures/lifecycle/delete-removes-token/status_expected")
            && junit.contains("type=\"stale-known-failure\""),
        "{junit}"
    );
    assert!(junit.contains("failures=\"1\""), "{junit}");
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains("stale known-failure entry (fails the gate)")
            && md.contains("fails the gate: stale known failure lifecycle/delete-removes-token"),
        "{md}"
    );
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(
        html.contains("stale known-failure entry (fails the gate)"),
        "{html:.2000}"
    );
}

#[test]
fn known_failures_that_stopped_failing_fail_ci_unless_flaky_and_typos_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let stale = known_file(dir.path(), "lifecycle/delete-removes-token", "");
    let out = run_known(false, false, &stale, &[]);
    let (stdout, _) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::PASSED.into()),
        "outside CI a warning: {stdout}"
    );
    assert!(stdout.contains("now passes: remove it"), "{stdout}");

    let out = run_known(true, false, &stale, &[]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(exit::FAILED.into()), "{stdout}");
    let lines: Vec<&str> = stdout.lines().filter(|l| l.contains("remove it")).collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(
        lines[0].contains("lifecycle/delete-removes-token / status_expected did not happen"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 stale known-failure entry (fails the gate)"),
        "{stdout}"
    );

    let flaky = known_file(
        dir.path(),
        "lifecycle/delete-removes-token",
        "flaky = true\n",
    );
    for fault in [false, true] {
        let out = run_known(true, fault, &flaky, &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "fault {fault}: {}",
            text(&out).0
        );
    }

    let typo = known_file(dir.path(), "lifecycle/delete-removes-tokens", "");
    let out = run_known(true, true, &typo, &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::USAGE.into()),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("no scenario is named `lifecycle/delete-removes-tokens`"),
        "{stderr}"
    );
}

#[test]
fn a_known_failures_issue_and_owner_are_in_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let known = known_file(
        dir.path(),
        "lifecycle/delete-removes-token",
        "issue = \"https://tracker.example/API-9\"\nowner = \"team-tokens\"\n",
    );
    let reports: Vec<(String, std::path::PathBuf)> = ["junit", "json", "html", "markdown"]
        .iter()
        .map(|f| (f.to_string(), dir.path().join(format!("report.{f}"))))
        .collect();
    let mut extra = Vec::new();
    for (format, path) in &reports {
        extra.push("--report".to_owned());
        extra.push(format!("{format}={}", path.display()));
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let out = run_known(true, true, &known, &extra);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(exit::PASSED.into()), "{stdout}");
    assert!(
        stdout.contains("KNOWN  lifecycle/delete-removes-token"),
        "{stdout}"
    );
    for (name, report) in [("terminal".to_owned(), stdout)]
        .into_iter()
        .chain(reports.iter().map(|(f, p)| (f.clone(), read(p))))
    {
        assert!(
            report.contains("issue: https://tracker.example/API-9")
                && report.contains("owner: team-tokens"),
            "{name}:\n{report}"
        );
    }
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// The built binary as an installed one runs: from a directory in no checkout.
fn installed(cwd: &Path) -> Command {
    let mut c = crate::common::binary();
    c.current_dir(cwd).arg("run");
    c
}

#[test]
fn an_installed_binary_gates_the_embedded_target_with_its_compiled_baseline_and_writes_nothing() {
    let cwd = tempfile::tempdir().unwrap();
    assert!(
        conformance::snapshot::baseline::checkout_root(cwd.path()).is_none(),
        "the temporary directory is in no checkout"
    );
    let out = installed(cwd.path())
        .args(["--report", "json=events.jsonl"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::PASSED.into()),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("compared with the baseline compiled into this binary"),
        "{stdout}"
    );
    let events = read(&cwd.path().join("events.jsonl"));
    let snapshot_checks: Vec<serde_json::Value> = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "check" && e["check"] == "snapshot")
        .collect();
    assert_eq!(
        snapshot_checks.len(),
        conformance::snapshot::baseline::compiled().len(),
        "every scenario with a baseline was compared"
    );
    assert!(snapshot_checks.iter().all(|c| c["passed"] == true));
    assert_eq!(
        files(cwd.path()),
        ["events.jsonl"],
        "nothing else was written"
    );

    // The compiled baseline gates: a changed error message fails the snapshot check, in CI
    // and outside it, and still nothing is written.
    for ci in [true, false] {
        let mut c = installed(cwd.path());
        c.args([
            "--embedded-fault",
            "error-message-changed",
            "--suite",
            "lifecycle",
        ]);
        if ci {
            c.env("CI", "true");
        }
        let out = c.output().unwrap();
        let (stdout, _) = text(&out);
        assert_eq!(out.status.code(), Some(exit::FAILED.into()), "{stdout}");
        assert!(
            stdout.contains("✗ snapshot: the exchanges differ from the approved snapshot"),
            "{stdout}"
        );
        assert!(stdout.contains("nothing is written"), "{stdout}");
        assert_eq!(files(cwd.path()), ["events.jsonl"]);
    }

    // Recording needs a place to write to.
    let out = installed(cwd.path())
        .arg("--update-snapshots")
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(exit::USAGE.into()), "{stderr}");
    assert!(stderr.contains("needs --snapshot-dir"), "{stderr}");
    assert_eq!(files(cwd.path()), ["events.jsonl"]);
}

#[test]
fn an_installed_binary_against_a_url_says_snapshots_do_not_gate_and_ci_refuses() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(reference_server::start_embedded(vec![]))
        .unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let run = |ci: bool, extra: &[&str]| {
        let mut c = installed(cwd.path());
        c.args(["--base-url", &server.base_url, "--suite", "lifecycle"])
            .args(extra)
            .env("ABP_TOKEN", &server.credentials.user);
        if ci {
            c.env("CI", "true");
        }
        c.output().unwrap()
    };
    let out = run(false, &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::PASSED.into()),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("snapshots do not gate this run"),
        "{stdout}"
    );
    assert!(files(cwd.path()).is_empty(), "{:?}", files(cwd.path()));

    let out = run(true, &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::USAGE.into()),
        "{stdout}\n{stderr}"
    );
    assert!(stderr.contains("--snapshot-dir DIR"), "{stderr}");
    let out = run(true, &["--skip-check", "snapshot"]);
    assert_eq!(
        out.status.code(),
        Some(exit::PASSED.into()),
        "{}",
        text(&out).0
    );

    // Where the user points, pending snapshots are written (and said so).
    let pending = cwd.path().join("baselines");
    let out = run(false, &["--snapshot-dir", pending.to_str().unwrap()]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(exit::PASSED.into()), "{stdout}");
    assert!(stdout.contains("have no approved snapshot"), "{stdout}");
    assert_eq!(files(cwd.path()), ["baselines"]);
    rt.block_on(server.shutdown());
}
