//! Every reporter's rendering of one fixed run, as insta snapshots: a passed scenario, a
//! failed one (with a spec pointer and a project decision), a known failure, a skipped
//! scenario, a retry, a warning and the coverage matrix. A change to any rendering shows as
//! a reviewed snapshot diff (`cargo insta review`), never as a silent change of a report.
#![cfg(test)]

use super::{
    Reporter, html::Html, human::Human, json::JsonLines, junit::Junit, markdown::Markdown,
};
use crate::events::{CheckRecord, CoverageEntry, Event, RunStats, ScenarioResult, Verdict};
use crate::exchange::ExchangeRecord;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A writer whose bytes the test reads back after the reporter is done with it.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn exchange(scenario: &str, index: usize, method: &str, path: &str, status: u16) -> ExchangeRecord {
    ExchangeRecord {
        scenario: scenario.into(),
        index,
        operation: "createMyToken".into(),
        method: method.into(),
        url: format!("http://127.0.0.1:5001/api/v1{path}"),
        path: path.into(),
        request_headers: vec![("authorization".into(), "[ABP_TOKEN]".into())],
        request_body: (method == "POST")
            .then(|| r#"{"name":"conformance-x","lifetime":"one-week"}"#.into()),
        request_body_bytes: 47,
        status: Some(status),
        content_type: Some("application/json".into()),
        response_body: Some(r#"{"code":"bad_request","message":"name: missing"}"#.into()),
        response_body_bytes: 48,
        error: None,
        duration_ms: 3,
        curl: format!(
            "curl -sS -i -X {method} 'http://127.0.0.1:5001/api/v1{path}' -H \"authorization: Bearer $ABP_TOKEN\""
        ),
    }
}

fn check(scenario: &str, name: &str, failed: Option<&str>) -> CheckRecord {
    CheckRecord {
        scenario: scenario.into(),
        check: name.into(),
        passed: failed.is_none(),
        exchange: Some(0),
        operation: Some("createMyToken".into()),
        status: Some(201),
        message: failed.map(str::to_owned),
        expected: failed.map(|_| "400".to_owned()),
        actual: failed.map(|_| "201".to_owned()),
        spec_pointer: failed.map(|_| "#/paths/~1me~1tokens/post/responses/400".to_owned()),
        known_failure: None,
        decision: None,
    }
}

fn finished(scenario: &str, suite: &str, verdict: Verdict, result: ScenarioResult) -> Event {
    Event::ScenarioFinished {
        scenario: scenario.into(),
        suite: suite.into(),
        verdict,
        reason: (verdict == Verdict::Skipped).then(|| "ABP_OTHER_USER_TOKEN is not set".into()),
        duration_ms: 12,
        requests: result.exchanges.len(),
        result,
    }
}

fn started(scenario: &str, suite: &str) -> Event {
    Event::ScenarioStarted {
        scenario: scenario.into(),
        suite: suite.into(),
        summary: String::new(),
        rerun: format!("--scenario {scenario}"),
    }
}

/// The one fixed run every reporter renders.
fn events() -> Vec<Event> {
    let passed = "lifecycle/delete-removes";
    let failed = "validation/missing-name";
    let known = "validation/name-too-long";
    let skipped = "lifecycle/other-user-isolation";
    let mut decided = check(
        failed,
        "status_expected",
        Some("a body without `name` was accepted"),
    );
    decided.decision = Some("A required request body".into());
    let mut excused = check(
        known,
        "status_expected",
        Some("a name past maxLength was accepted"),
    );
    excused.known_failure = Some("STAGING-42: the length limit is not deployed yet".into());
    vec![
        Event::RunStarted {
            run_id: "0123456789abcdef".into(),
            target: "embedded reference server".into(),
            base_url: "http://127.0.0.1:5001/api/v1".into(),
            spec_title: "AppMaker API - OAS 3.0 (User Access Token)".into(),
            spec_version: "1.0.0".into(),
            scenarios: 4,
            started_at: "2026-12-01T10:00:00.000Z".into(),
        },
        started(passed, "lifecycle"),
        finished(
            passed,
            "lifecycle",
            Verdict::Passed,
            ScenarioResult {
                checks: vec![check(passed, "delete_removes_token", None)],
                exchanges: vec![exchange(
                    passed,
                    0,
                    "DELETE",
                    "/me/tokens/63ea10b94a472e003305232b",
                    204,
                )],
            },
        ),
        Event::Retry {
            scenario: failed.into(),
            exchange: 0,
            method: "POST".into(),
            path: "/me/tokens".into(),
            status: Some(429),
            reason: "429 Too Many Requests, Retry-After: 1".into(),
            wait_ms: 1000,
        },
        started(failed, "validation"),
        finished(
            failed,
            "validation",
            Verdict::Failed,
            ScenarioResult {
                checks: vec![decided],
                exchanges: vec![exchange(failed, 0, "POST", "/me/tokens", 201)],
            },
        ),
        started(known, "validation"),
        finished(
            known,
            "validation",
            Verdict::KnownFailure,
            ScenarioResult {
                checks: vec![excused],
                exchanges: vec![exchange(known, 0, "POST", "/me/tokens", 201)],
            },
        ),
        started(skipped, "lifecycle"),
        finished(
            skipped,
            "lifecycle",
            Verdict::Skipped,
            ScenarioResult::default(),
        ),
        Event::Warning(crate::events::Warning::CoverageMissing {
            missing: vec!["GET /me/tokens 403".into()],
            required: false,
        }),
        Event::RunFinished {
            stats: RunStats {
                scenarios: 4,
                passed: 1,
                known_scenarios: 1,
                failed: 1,
                skipped: 1,
                requests: 4,
                retries: 1,
                checks_run: 3,
                checks_failed: 1,
                known_failures: 1,
                coverage_documented: 2,
                coverage_exercised: 1,
                ..RunStats::default()
            },
            coverage: vec![
                CoverageEntry {
                    operation: "createMyToken".into(),
                    method: "POST".into(),
                    path: "/me/tokens".into(),
                    status: 201,
                    exercised: 2,
                    passed: false,
                },
                CoverageEntry {
                    operation: "listMyTokens".into(),
                    method: "GET".into(),
                    path: "/me/tokens".into(),
                    status: 403,
                    exercised: 0,
                    passed: false,
                },
            ],
            gates: Vec::new(),
        },
    ]
}

/// Feeds the fixed run to a reporter and returns what it wrote.
fn render<R: Reporter>(make: impl FnOnce(Buffer) -> R) -> String {
    let buffer = Buffer::default();
    let mut reporter = make(buffer.clone());
    for event in events() {
        reporter.event(&event);
    }
    reporter.finish().unwrap();
    buffer.text()
}

fn assert_rendering(name: &str, text: String) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("rendering");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn human() {
    assert_rendering("human", render(|b| Human::new(b, false, false)));
}

#[test]
fn junit() {
    assert_rendering("junit", render(Junit::new));
}

#[test]
fn json() {
    assert_rendering("json", render(JsonLines::new));
}

#[test]
fn markdown() {
    assert_rendering("markdown", render(Markdown::new));
}

#[test]
fn html() {
    assert_rendering("html", render(Html::new));
}
