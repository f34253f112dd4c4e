//! The binary's contract: exit codes and one-line errors for bad input, and the main command.

use conformance::exit;
use std::process::Command;
use std::time::{Duration, Instant};

/// The binary as every integration test starts it (common.rs).
fn conformance() -> Command {
    crate::common::binary()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn run_against_the_embedded_server_passes_and_prints_the_summary() {
    let out = conformance().arg("run").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(exit::PASSED.into()),
        "{stdout}\n{}",
        stderr_of(&out)
    );
    assert!(stdout.contains("PASSED:"), "{stdout}");
    assert!(stdout.contains("0 failed"), "{stdout}");
}

/// Credentials come only from the environment, so `--help` names every variable before the
/// first error has to.
#[test]
fn run_and_cleanup_help_name_every_credential_variable() {
    for command in ["run", "cleanup"] {
        let out = conformance().args([command, "--help"]).output().unwrap();
        assert_eq!(out.status.code(), Some(exit::PASSED.into()));
        let help = String::from_utf8_lossy(&out.stdout);
        for var in [
            "ABP_TOKEN",
            "ABP_OTHER_USER_TOKEN",
            "ABP_FORBIDDEN_TOKEN",
            "ABP_EXPIRED_TOKEN",
        ] {
            assert!(help.contains(var), "{command} --help: {help}");
        }
    }
}

#[test]
fn unreachable_target_exits_3_quickly_with_one_line() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let out = conformance()
        .args([
            "run",
            "--base-url",
            &format!("http://127.0.0.1:{port}/api/v1"),
        ])
        .env("ABP_TOKEN", "whatever-credential")
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        out.status.code(),
        Some(exit::NO_VERDICT.into()),
        "{}",
        stderr_of(&out)
    );
    let err = stderr_of(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: cannot reach http://127.0.0.1:"),
        "{err}"
    );
    assert!(!err.contains("whatever-credential"));
}

#[test]
fn remote_target_without_abp_token_exits_2_naming_the_variable() {
    let out = conformance()
        .args(["run", "--server", "test"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(exit::USAGE.into()));
    let err = stderr_of(&out);
    assert!(err.contains("ABP_TOKEN is not set"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["run", "--base-url", "not a url"],
        vec!["run", "--base-url", "ftp://host/api"],
        vec!["run", "--server", "nowhere"],
        vec!["run", "--suite", "nonsense"],
        vec!["run", "--check", "no_such_check"],
        vec!["run", "--spec", "/no/such/spec.yaml"],
        vec!["run", "--bogus-flag"],
        vec!["run", "--timeout", "0"],
        vec!["run", "--max-rps", "0"],
        vec!["run", "--report", "pdf=out.pdf"],
        vec!["run", "--report", "junit"],
    ] {
        let out = conformance()
            .args(&args)
            .env("ABP_TOKEN", "x")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(exit::USAGE.into()),
            "{args:?}: {}",
            stderr_of(&out)
        );
        assert!(!stderr_of(&out).is_empty(), "{args:?}");
    }
}

#[test]
fn a_spec_failing_its_lint_is_refused_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    let broken = abp_spec::EMBEDDED_YAML.replacen("      operationId: listMyTokens\n", "", 1);
    std::fs::write(&path, broken).unwrap();
    let out = conformance()
        .args(["run", "--spec", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(exit::USAGE.into()));
    assert!(
        stderr_of(&out).contains("#/paths/~1me~1tokens/get"),
        "{}",
        stderr_of(&out)
    );
}

/// A spec that documents an operation this build was not generated for (here a PATCH that
/// renames a token) is refused before anything is sent, in one line that names it: a run
/// that tested the three known operations and passed would say nothing of the fourth.
#[test]
fn a_spec_with_an_operation_this_build_does_not_know_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    let mut doc = abp_spec::Spec::embedded().document().clone();
    let item = doc["paths"]["/me/tokens/{tokenId}"]
        .as_object_mut()
        .unwrap();
    let mut patch = item["delete"].clone();
    patch["operationId"] = "renameMyToken".into();
    item.insert("patch".into(), patch);
    std::fs::write(&path, doc.to_string()).unwrap();
    for command in ["run", "list"] {
        let out = conformance()
            .args([command, "--spec", path.to_str().unwrap()])
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(
            out.status.code(),
            Some(exit::USAGE.into()),
            "{command}: {err}"
        );
        assert!(
            err.contains("operation `renameMyToken` (PATCH /me/tokens/{tokenId})"),
            "{err}"
        );
        assert!(err.contains("cargo xtask regenerate"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

/// A third security scheme (an API key in a cookie) is refused by name before anything is
/// sent: a run that skipped it would be green on an authentication path it never tried.
#[test]
fn a_spec_with_a_security_scheme_this_build_cannot_exercise_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    let mut doc = abp_spec::Spec::embedded().document().clone();
    doc["components"]["securitySchemes"]["sessionCookie"] =
        serde_json::json!({"type": "apiKey", "in": "cookie", "name": "sid"});
    std::fs::write(&path, doc.to_string()).unwrap();
    for command in ["run", "list"] {
        let out = conformance()
            .args([command, "--spec", path.to_str().unwrap()])
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(
            out.status.code(),
            Some(exit::USAGE.into()),
            "{command}: {err}"
        );
        assert!(
            err.contains("the security scheme `sessionCookie` (apiKey in cookie)"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn list_shows_suites_scenarios_and_checks() {
    let out = conformance().arg("list").output().unwrap();
    assert_eq!(out.status.code(), Some(exit::PASSED.into()));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "lifecycle",
        "validation/missing-name",
        "auth/delete/expired-credential",
        "response_schema",
        "[needs ABP_OTHER_USER_TOKEN]",
    ] {
        assert!(text.contains(needle), "missing {needle}: {text}");
    }
}

/// A cancelled CI job must not leave tokens on staging: on SIGTERM the run finishes the
/// current scenario, deletes what it created, reports, and exits 130.
#[test]
fn sigterm_stops_the_run_and_deletes_what_it_created() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(reference_server::start_with(reference_server::Config {
            fixtures: reference_server::Fixtures::random(),
            latency: Some(Duration::from_millis(20)),
            ..Default::default()
        }))
        .unwrap();
    let c = server.credentials.clone();
    let reports = tempfile::tempdir().unwrap();
    let junit = reports.path().join("junit.xml");
    let mut child = conformance()
        .args([
            "run",
            "--base-url",
            &server.base_url,
            "--skip-check",
            "snapshot",
            "--jobs",
            "2",
            "--report",
            &format!("junit={}", junit.display()),
        ])
        .env("ABP_TOKEN", &c.user)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until a few scenarios have finished (tokens exist, the handler is installed).
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let mut stdout = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        stdout.push_str(&line);
        stdout.push('\n');
        if line.starts_with("PASS  lifecycle/list-shows-masked-token") {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for line in lines {
        stdout.push_str(&line.unwrap());
        stdout.push('\n');
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(exit::INTERRUPTED.into()),
        "{stdout}\n{}",
        stderr_of(&out)
    );
    assert!(stdout.contains("WARNING: interrupted"), "{stdout}");
    assert!(stdout.contains("\nINTERRUPTED: "), "{stdout}");
    // A JUnit publisher must not show an interrupted run green: scenarios that did not run
    // are errors that say why.
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(junit.contains("type=\"interrupted\""), "{junit}");
    let totals = junit.lines().find(|l| l.contains("<testsuites")).unwrap();
    assert!(!totals.contains("errors=\"0\""), "{junit}");
    let left = rt.block_on(crate::common::tokens(&server.base_url, &c.user));
    rt.block_on(server.shutdown());
    assert!(left.is_empty(), "tokens left behind: {left:?}");
}

#[test]
fn a_rejected_abp_token_is_a_configuration_error_not_72_failures() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(reference_server::start_embedded(vec![]))
        .unwrap();
    for (credential, says) in [
        (
            "not-a-known-credential".to_owned(),
            "answered 401: the credential is unknown",
        ),
        (
            server.credentials.forbidden.clone(),
            "answered 403: that user may not manage tokens",
        ),
    ] {
        let out = conformance()
            .args(["run", "--base-url", &server.base_url])
            .env("ABP_TOKEN", &credential)
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(exit::USAGE.into()), "{err}");
        assert!(err.contains("ABP_TOKEN: ") && err.contains(says), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!err.contains(&credential));
    }
    rt.block_on(server.shutdown());
}

#[test]
fn a_redirecting_target_is_named_instead_of_followed() {
    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mock = rt.block_on(async {
        let mock = MockServer::start().await;
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(301)
                    .insert_header("location", "https://elsewhere.example/api/v1/me/tokens"),
            )
            .mount(&mock)
            .await;
        mock
    });
    let out = conformance()
        .args(["run", "--base-url", &format!("{}/api/v1", mock.uri())])
        .env("ABP_TOKEN", "a-credential")
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(exit::USAGE.into()), "{err}");
    assert!(
        err.contains("redirects GET /me/tokens with 301 to https://elsewhere.example"),
        "{err}"
    );
    drop(mock);
}

fn mock_answering(
    template: wiremock::ResponseTemplate,
) -> (tokio::runtime::Runtime, wiremock::MockServer) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mock = rt.block_on(async {
        let mock = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(template)
            .mount(&mock)
            .await;
        mock
    });
    (rt, mock)
}

/// A server that answers nonsense gets a verdict, not a crash.
#[test]
fn a_server_answering_nonsense_fails_every_scenario_cleanly() {
    let (_rt, mock) =
        mock_answering(wiremock::ResponseTemplate::new(200).set_body_raw("hello", "text/plain"));
    let out = conformance()
        .args([
            "run",
            "--base-url",
            &format!("{}/api/v1", mock.uri()),
            "--target-name",
            "nonsense",
        ])
        .args(["--skip-check", "snapshot"])
        .env("ABP_TOKEN", "a-credential")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(exit::FAILED.into()),
        "{stdout}\n{}",
        stderr_of(&out)
    );
    assert!(stdout.contains("FAILED: 0 passed"), "{stdout}");
    assert!(stdout.contains("✗ content_type"), "{stdout}");
    assert!(stdout.contains("✗ scenario_step"), "{stdout}");
}

#[test]
fn a_first_request_that_times_out_exits_3() {
    let (_rt, mock) =
        mock_answering(wiremock::ResponseTemplate::new(200).set_delay(Duration::from_secs(10)));
    let started = Instant::now();
    let out = conformance()
        .args([
            "run",
            "--base-url",
            &format!("{}/api/v1", mock.uri()),
            "--timeout",
            "1",
        ])
        .env("ABP_TOKEN", "a-credential")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(exit::NO_VERDICT.into()),
        "{}",
        stderr_of(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        stderr_of(&out).contains("cannot reach"),
        "{}",
        stderr_of(&out)
    );
}

/// `--max-rps` spaces requests out (a lower bound only: a slow machine cannot make it flake).
#[test]
fn max_rps_spaces_requests_out() {
    let started = Instant::now();
    let out = conformance()
        .args([
            "run",
            "--scenario",
            "lifecycle/delete-removes-token",
            "--max-rps",
            "5",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(exit::PASSED.into()),
        "{}",
        stderr_of(&out)
    );
    // Four requests plus the preflight's two: at least five gaps of 200 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn serve_exposes_the_reference_server_flags() {
    let out = conformance()
        .args(["serve", "--list-faults"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(exit::PASSED.into()),
        "{}",
        stderr_of(&out)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() >= 15, "{text}");
    assert!(text.contains("delete-noop"), "{text}");
    let out = conformance()
        .args(["serve", "--fault", "no-such-fault"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(exit::USAGE.into()));
}
