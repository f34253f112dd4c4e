//! The first minutes with a new target, as a new user lives them through the binary: the
//! first run gives a verdict on the spec checks and says how to record a baseline; setup
//! mistakes (a wrong URL, a wrong second user) are one line and exit 2; snapshots land where
//! the user points (`--snapshot-dir`), one baseline per target; nothing a run creates
//! escapes its prefix.

use conformance::exit;
use std::process::Command;

fn conformance(dir: &std::path::Path) -> Command {
    let mut c = crate::common::binary();
    c.current_dir(dir);
    c
}

use crate::common::output_text as text;

fn with_creds(c: &mut Command, creds: &reference_server::Credentials) {
    c.env("ABP_TOKEN", &creds.user)
        .env("ABP_OTHER_USER_TOKEN", &creds.other_user)
        .env("ABP_FORBIDDEN_TOKEN", &creds.forbidden)
        .env("ABP_EXPIRED_TOKEN", &creds.expired);
}

fn checkout_snapshots() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots")
}

/// Every file under `dir`, for "nothing was written there".
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_first_run_on_a_new_target_passes_on_the_spec_and_says_how_to_record_a_baseline() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let a = rt
        .block_on(reference_server::start_embedded(vec![]))
        .unwrap();
    let b = rt
        .block_on(reference_server::start_embedded(vec![]))
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let before = files_under(&checkout_snapshots());
    // Outside a checkout pending snapshots are written only where the user points.
    let root = work.path().join("conformance/snapshots");
    let root_arg = root.to_str().unwrap().to_owned();

    let run = |server: &reference_server::EmbeddedServer, ci: bool| {
        let mut c = conformance(work.path());
        c.args([
            "run",
            "--base-url",
            &server.base_url,
            "--scenario",
            "lifecycle/*",
            "--snapshot-dir",
            &root_arg,
        ]);
        with_creds(&mut c, &server.credentials);
        if ci {
            c.env("CI", "true");
        }
        c.output().unwrap()
    };
    let out = run(&a, false);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::PASSED.into()),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("11 of 11 scenarios have no approved snapshot for target"),
        "{stdout}"
    );
    assert!(stdout.contains("--update-snapshots"), "{stdout}");
    // In CI a missing baseline fails, as insta does.
    let out = run(&a, true);
    assert_eq!(
        out.status.code(),
        Some(exit::FAILED.into()),
        "{}",
        text(&out).0
    );

    // Pending files went under the directory the user named, one baseline per target.
    let mut targets: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    run(&b, false);
    targets = {
        let mut t: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        t.sort();
        assert_eq!(t.len(), targets.len() + 1, "{t:?}");
        t
    };
    let port_a = a
        .base_url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    assert!(
        targets
            .iter()
            .any(|t| t.contains(port_a) && t.ends_with("api_v1")),
        "host, port and path stem name the baseline: {targets:?}"
    );
    assert_eq!(
        files_under(&checkout_snapshots()),
        before,
        "a run from another directory writes nothing into the source checkout"
    );

    // Recording says what it wrote; the next run compares against it and passes.
    let mut c = conformance(work.path());
    c.args([
        "run",
        "--base-url",
        &a.base_url,
        "--scenario",
        "lifecycle/*",
        "--update-snapshots",
        "--snapshot-dir",
        &root_arg,
    ]);
    with_creds(&mut c, &a.credentials);
    let (stdout, _) = text(&c.output().unwrap());
    assert!(
        stdout.contains("recorded 11 new and 0 changed approved snapshots"),
        "{stdout}"
    );
    let out = run(&a, true);
    assert_eq!(
        out.status.code(),
        Some(exit::PASSED.into()),
        "{}",
        text(&out).0
    );
    rt.block_on(a.shutdown());
    rt.block_on(b.shutdown());
}

#[test]
fn recording_refuses_the_answers_of_a_failing_server_unless_forced() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(reference_server::start_embedded(vec![
            reference_server::Fault::WrongExpiry,
        ]))
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let record = |force: bool| {
        let mut c = conformance(work.path());
        c.args([
            "run",
            "--base-url",
            &server.base_url,
            "--scenario",
            "lifecycle/create-every-lifetime",
            "--update-snapshots",
            "--snapshot-dir",
            work.path().to_str().unwrap(),
        ]);
        if force {
            c.arg("--force");
        }
        with_creds(&mut c, &server.credentials);
        c.output().unwrap()
    };
    let out = record(false);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(exit::FAILED.into()), "{stdout}");
    assert!(stdout.contains("not recorded"), "{stdout}");
    assert!(
        !files_under(work.path())
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "snap")),
        "no baseline was written"
    );
    let (stdout, _) = text(&record(true));
    assert!(stdout.contains("recorded 1 new"), "{stdout}");
    rt.block_on(server.shutdown());
}

#[test]
fn a_misconfigured_second_user_is_a_setup_error_naming_the_variable() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(reference_server::start_embedded(vec![]))
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    for (other, says) in [
        (
            server.credentials.user.clone(),
            "is the same credential as ABP_TOKEN",
        ),
        ("not-a-user".to_owned(), "answered 401"),
    ] {
        let mut c = conformance(work.path());
        c.args(["run", "--base-url", &server.base_url]);
        with_creds(&mut c, &server.credentials);
        c.env("ABP_OTHER_USER_TOKEN", &other);
        let out = c.output().unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(exit::USAGE.into()),
            "{stdout}\n{stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("ABP_OTHER_USER_TOKEN") && stderr.contains(says),
            "{stderr}"
        );
        assert!(!stderr.contains(&other), "the credential is not printed");
    }
    rt.block_on(server.shutdown());
}

#[test]
fn a_wrong_base_url_is_one_line_that_names_the_likely_mistake() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(reference_server::start_embedded(vec![]))
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    // The path stem left out.
    let without_stem = server.base_url.trim_end_matches("/api/v1").to_owned();
    let mut c = conformance(work.path());
    c.args(["run", "--base-url", &without_stem]);
    with_creds(&mut c, &server.credentials);
    let out = c.output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::USAGE.into()),
        "{stdout}\n{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is the path stem missing?"), "{stderr}");
    assert!(
        stderr.contains(&format!("{without_stem}/api/v1")),
        "{stderr}"
    );
    assert!(stdout.trim().is_empty(), "{stdout}");

    // A plain web server that answers HTML.
    let html = rt.block_on(async {
        use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};
        let mock = MockServer::start().await;
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw("<html><body>hello</body></html>", "text/html"),
            )
            .mount(&mock)
            .await;
        mock
    });
    let mut c = conformance(work.path());
    c.args(["run", "--base-url", &format!("{}/api/v1", html.uri())]);
    with_creds(&mut c, &server.credentials);
    let out = c.output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::USAGE.into()),
        "{stdout}\n{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("text/html"), "{stderr}");
    // The stem is there: the hint offers the host's root, and names none of the spec's hosts
    // (production among them), which are not the user's target.
    assert!(
        stderr.contains(&format!("try --base-url {}", html.uri())),
        "{stderr}"
    );
    for s in &abp_spec::Contract::embedded().servers {
        let host = reqwest::Url::parse(&s.url)
            .unwrap()
            .host_str()
            .unwrap()
            .to_owned();
        assert!(!stderr.contains(&host), "{stderr}");
    }
    drop(html);
    rt.block_on(server.shutdown());
}

#[test]
fn tokens_a_server_wrongly_keeps_carry_the_prefix_and_are_swept() {
    use reference_server::Fault;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(reference_server::start_embedded(vec![
            Fault::AcceptMissingName,
            Fault::AcceptUnknownLifetime,
            Fault::AcceptNestedPrivileges,
        ]))
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut c = conformance(work.path());
    c.args([
        "run",
        "--base-url",
        &server.base_url,
        "--suite",
        "validation",
    ]);
    with_creds(&mut c, &server.credentials);
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the faults are found: {}",
        text(&out).0
    );
    let left = rt.block_on(crate::common::tokens(
        &server.base_url,
        &server.credentials.user,
    ));
    assert!(left.is_empty(), "tokens left behind: {left:#?}");
    rt.block_on(server.shutdown());
}

#[test]
fn small_usage_mistakes_are_named() {
    let work = tempfile::tempdir().unwrap();
    let out = conformance(work.path())
        .args(["run", "--check", "snapshot", "--skip-check", "snapshot"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(exit::USAGE.into()), "{stderr}");
    assert!(stderr.contains("leave no check to run"), "{stderr}");

    // A TOML mistake keeps toml's caret display, on its own lines.
    let known = work.path().join("known.toml");
    std::fs::write(&known, "[[failure]]\nscenario = \"x\"\ncheck = \n").unwrap();
    let out = conformance(work.path())
        .args(["run", "--known-failures", known.to_str().unwrap()])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(exit::USAGE.into()), "{stderr}");
    assert!(
        stderr.lines().count() > 2 && stderr.contains('^'),
        "{stderr}"
    );

    // A reader that stops early is not an error.
    let mut child = conformance(work.path())
        .arg("list")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(exit::PASSED.into()));
}
