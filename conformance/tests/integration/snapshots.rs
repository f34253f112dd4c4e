//! The snapshot gate: a changed error message is caught by the snapshot check alone, with a
//! diff naming the field; CI never writes; outside CI a pending file appears; an explicit
//! update accepts it.

use crate::common::{Creds, run_against};
use conformance::events::Event;
use conformance::exit;
use reference_server::Fault;
use std::path::Path;

#[tokio::test]
async fn changed_error_message_fails_only_the_snapshot_with_a_diff_naming_the_field() {
    let outcome = run_against(vec![Fault::ErrorMessageChanged], Creds::All, |_| {}).await;
    assert_eq!(outcome.failed_checks(), ["snapshot"]);
    let messages: Vec<String> = outcome
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Check(c) if !c.passed => c.message.clone(),
            _ => None,
        })
        .collect();
    assert!(!messages.is_empty());
    for m in &messages {
        assert!(m.contains("-      message: no such token"), "{m}");
        assert!(m.contains("+      message: token not found"), "{m}");
    }
}

fn run_one(dir: &Path, envs: &[(&str, &str)], extra: &[&str]) -> (Option<i32>, String) {
    let mut c = crate::common::binary();
    c.args([
        "run",
        "--scenario",
        "lifecycle/delete-unknown-id",
        "--snapshot-dir",
    ])
    .arg(dir)
    .args(extra)
    .env_remove("CI")
    .env_remove("TF_BUILD")
    .env_remove("INSTA_UPDATE")
    .env("NO_COLOR", "1");
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = walk(dir);
    names.sort();
    names
}

fn walk(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    entries
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() {
                walk(&p)
            } else {
                vec![p.file_name().unwrap().to_string_lossy().into_owned()]
            }
        })
        .collect()
}

#[test]
fn ci_with_a_missing_snapshot_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout) = run_one(dir.path(), &[("CI", "true")], &[]);
    assert_eq!(code, Some(exit::FAILED.into()), "{stdout}");
    assert!(stdout.contains("no approved snapshot"), "{stdout}");
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
}

#[test]
fn outside_ci_a_pending_file_appears_and_insta_update_always_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    // First contact outside CI: no baseline to gate on, so the spec checks decide.
    let (code, stdout) = run_one(dir.path(), &[], &[]);
    assert_eq!(code, Some(exit::PASSED.into()), "{stdout}");
    assert!(
        stdout.contains("1 of 1 scenarios have no approved snapshot"),
        "{stdout}"
    );
    assert_eq!(files(dir.path()), ["lifecycle__delete-unknown-id.snap.new"]);

    let (code, stdout) = run_one(dir.path(), &[("INSTA_UPDATE", "always")], &[]);
    assert_eq!(code, Some(exit::PASSED.into()), "{stdout}");
    assert!(files(dir.path()).contains(&"lifecycle__delete-unknown-id.snap".to_owned()));

    // The accepted baseline now gates a CI run.
    let (code, stdout) = run_one(dir.path(), &[("CI", "true")], &[]);
    assert_eq!(code, Some(exit::PASSED.into()), "{stdout}");
}

#[test]
fn update_snapshots_records_a_baseline_per_target_name() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout) = run_one(
        dir.path(),
        &[("CI", "true")],
        &["--update-snapshots", "--target-name", "my staging"],
    );
    assert_eq!(code, Some(exit::PASSED.into()), "{stdout}");
    let snap = dir
        .path()
        .join("my_staging/lifecycle__delete-unknown-id.snap");
    let text = std::fs::read_to_string(&snap).unwrap();
    assert!(text.contains("path: \"/me/tokens/[id]\""), "{text}");
    let (code, _) = run_one(
        dir.path(),
        &[("CI", "true")],
        &["--target-name", "my staging"],
    );
    assert_eq!(code, Some(exit::PASSED.into()));
}

#[test]
fn committed_embedded_baseline_is_byte_stable_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let record = |d: &Path| {
        let out = crate::common::binary()
            .args(["run", "--update-snapshots", "--snapshot-dir"])
            .arg(d)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(exit::PASSED.into()));
    };
    record(dir.path());
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/embedded");
    let mut names = files(&committed);
    names.retain(|n| n.ends_with(".snap"));
    assert!(names.len() > 50);
    for name in &names {
        let ours = std::fs::read(committed.join(name)).unwrap();
        let fresh = std::fs::read(dir.path().join("embedded").join(name))
            .unwrap_or_else(|_| panic!("{name} was not recorded"));
        assert!(ours == fresh, "{name} differs between two recordings");
    }
    assert_eq!(files(&dir.path().join("embedded")).len(), names.len());
}

#[test]
fn a_full_recording_retires_snapshots_of_scenarios_that_no_longer_exist() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("embedded");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(
        target.join("lifecycle__renamed-long-ago.snap"),
        "---\n---\n[]\n",
    )
    .unwrap();
    std::fs::write(target.join("notes.txt"), "kept").unwrap();
    // A partial recording keeps it: it cannot know which scenarios exist.
    let (code, _) = run_one(dir.path(), &[], &["--update-snapshots"]);
    assert_eq!(code, Some(exit::PASSED.into()));
    assert!(target.join("lifecycle__renamed-long-ago.snap").exists());

    let out = crate::common::binary()
        .args(["run", "--update-snapshots", "--snapshot-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(exit::PASSED.into()));
    assert!(String::from_utf8_lossy(&out.stdout).contains("renamed-long-ago"));
    assert!(!target.join("lifecycle__renamed-long-ago.snap").exists());
    assert!(target.join("notes.txt").exists());
    assert!(target.join("lifecycle__delete-unknown-id.snap").exists());
}
