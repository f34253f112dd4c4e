//! A busy or flaky staging must not turn into false failures: the runner waits out 429s
//! (and slows down), retries what may be retried, and says so. The reference server plays
//! each condition (`--rate-limit`, `--drop-every`); these are test conditions, not faults.

use crate::common::{Creds, Outcome, run_with_conditions};
use conformance::events::Event;
use reference_server::TestConditions;
use std::num::{NonZeroU32, NonZeroU64};

async fn run_with(conditions: TestConditions) -> Outcome {
    run_with_conditions(vec![], conditions, Creds::All, |_| {}).await
}

fn retry_reasons(outcome: &Outcome) -> Vec<String> {
    outcome
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Retry { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn a_rate_limited_target_passes_with_no_flag_and_the_retries_are_reported() {
    let outcome = run_with(TestConditions {
        rate_limit: NonZeroU32::new(20),
        ..Default::default()
    })
    .await;
    assert!(
        outcome.stats.success(),
        "{:?} {:?}",
        outcome.failed_checks(),
        outcome.stats
    );
    let reasons = retry_reasons(&outcome);
    assert!(!reasons.is_empty(), "a 20 req/s limit is hit at full speed");
    assert!(reasons.iter().all(|r| r.starts_with("429")), "{reasons:?}");
    assert_eq!(outcome.stats.retries, reasons.len());
    assert!(
        outcome.events.iter().any(|e| matches!(
            e,
            Event::Warning(conformance::events::Warning::Slowed { .. })
        )),
        "the run says it slowed down"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_retried_on_idempotent_requests_and_reported() {
    let outcome = run_with(TestConditions {
        drop_every: NonZeroU64::new(7),
        ..Default::default()
    })
    .await;
    let failures: Vec<String> = outcome
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Check(c) if !c.passed => {
                Some(format!("{} {}: {:?}", c.scenario, c.check, c.message))
            }
            _ => None,
        })
        .collect();
    assert!(outcome.stats.success(), "{failures:#?}");
    let reasons = retry_reasons(&outcome);
    assert!(
        reasons.len() >= 10,
        "every 7th GET/DELETE is dropped: {reasons:?}"
    );
    assert!(
        reasons.iter().all(|r| r.starts_with("no response")),
        "{reasons:?}"
    );
    assert_eq!(outcome.stats.retries, reasons.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn a_target_rate_limited_past_the_policy_gives_no_verdict_rather_than_a_failure() {
    use conformance::events::Verdict;
    let outcome = run_with_conditions(
        vec![],
        TestConditions {
            rate_limit: NonZeroU32::new(20),
            ..Default::default()
        },
        Creds::All,
        |c| c.retry.max_retries = 0,
    )
    .await;
    assert_eq!(
        outcome.failed_checks(),
        Vec::<String>::new(),
        "no conformance failure"
    );
    assert_eq!(outcome.stats.failed, 0);
    let unavailable = outcome.verdicts(Verdict::TargetUnavailable);
    assert!(!unavailable.is_empty(), "{:?}", outcome.stats);
    assert_eq!(outcome.stats.unavailable, unavailable.len());
    assert!(outcome.stats.rate_limited >= unavailable.len());
    assert!(
        !outcome.stats.success(),
        "a run without a verdict does not pass a gate"
    );
}

/// Every second GET/DELETE is lost, first contact included: the preflight probes retry a
/// broken connection (a refused one would be reported at once), and the run still passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn a_lost_answer_on_first_contact_is_retried_not_called_unreachable() {
    let outcome = run_with_conditions(
        vec![],
        TestConditions {
            drop_every: NonZeroU64::new(2),
            ..Default::default()
        },
        Creds::All,
        // One request at a time, so each retry is the very next request (never dropped too).
        |c| {
            c.suites = vec!["lifecycle".into()];
            c.jobs = 1;
        },
    )
    .await;
    assert!(outcome.stats.success(), "{:?}", outcome.failed_checks());
    assert!(outcome.stats.retries >= 5, "{:?}", outcome.stats);
}

/// One run through the binary against the reference server under `conditions`: exit code,
/// wall time, the requests and POSTs the run sent, the console, and the run's tokens left.
struct Finite {
    code: Option<i32>,
    wall: std::time::Duration,
    requests: usize,
    posts: usize,
    stdout: String,
    left: usize,
    junit: String,
}

async fn finite(conditions: TestConditions) -> Finite {
    let server = reference_server::start_embedded_with(vec![], conditions)
        .await
        .expect("server starts");
    let dir = tempfile::tempdir().unwrap();
    let (json, junit) = (dir.path().join("run.json"), dir.path().join("junit.xml"));
    let mut c = crate::common::binary();
    c.current_dir(dir.path())
        .args(["run", "--base-url", &server.base_url])
        .args(["--skip-check", "snapshot"])
        .args(["--report", &format!("json={}", json.display())])
        .args(["--report", &format!("junit={}", junit.display())])
        .env("ABP_TOKEN", &server.credentials.user)
        .env("ABP_OTHER_USER_TOKEN", &server.credentials.other_user)
        .env("ABP_FORBIDDEN_TOKEN", &server.credentials.forbidden)
        .env("ABP_EXPIRED_TOKEN", &server.credentials.expired);
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    let wall = started.elapsed();
    let (stdout, _) = crate::common::output_text(&out);
    let events: Vec<serde_json::Value> = std::fs::read_to_string(&json)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let requests = events
        .iter()
        .rev()
        .find_map(|e| e.pointer("/stats/requests").and_then(|v| v.as_u64()))
        .unwrap_or(0) as usize;
    let posts = events
        .iter()
        .filter(|e| {
            matches!(e["event"].as_str(), Some("exchange" | "retry")) && e["method"] == "POST"
        })
        .count();
    // Tokens of any run left on the account (this server saw only this one); a stalled
    // server answers this test no more than the run.
    let left = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        crate::common::tokens(&server.base_url, &server.credentials.user),
    )
    .await
    .map_or(usize::MAX, |t| t.len());
    server.shutdown().await;
    Finite {
        code: out.status.code(),
        wall,
        requests,
        posts,
        stdout,
        left,
        junit: std::fs::read_to_string(&junit).unwrap_or_default(),
    }
}

/// The bound: within 1.3 times what the limit allows at best, plus a few seconds
/// (start-up, the final clean-up, a debug build).
fn within(run: &Finite, floor_seconds: f64) {
    let budget = std::time::Duration::from_secs_f64(1.3 * floor_seconds + 8.0);
    assert!(
        run.wall <= budget,
        "took {:?}, the limit allows {floor_seconds:.1} s ({} requests)\n{}",
        run.wall,
        run.requests,
        run.stdout
    );
}

fn passed_and_clean(run: &Finite, what: &str) {
    assert_eq!(run.code, Some(0), "{what}:\n{}", run.stdout);
    assert!(run.stdout.contains(", 0 failed"), "{what}:\n{}", run.stdout);
    assert_eq!(run.left, 0, "{what}: tokens left on the account");
}

/// nginx's `limit_req` (50 r/s, burst 50): its HTML 503 without Retry-After is a pace signal,
/// so the run converges on the limit: PASSED, near the floor, nothing left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn behind_an_nginx_limit_req_the_run_takes_the_limits_pace() {
    let run = finite(TestConditions {
        limit_req: Some((NonZeroU32::new(50).unwrap(), NonZeroU32::new(50).unwrap())),
        ..Default::default()
    })
    .await;
    passed_and_clean(&run, "limit_req");
    within(&run, (run.requests.saturating_sub(50)) as f64 / 50.0);
}

/// `express-rate-limit` (300 per 10 s window, RateLimit-* fields, 429 with Retry-After):
/// the window is waited out when it is announced spent, not given up on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn a_fixed_window_is_waited_out_not_given_up_on() {
    let run = finite(TestConditions {
        fixed_window: Some((NonZeroU32::new(300).unwrap(), NonZeroU64::new(10).unwrap())),
        ..Default::default()
    })
    .await;
    passed_and_clean(&run, "fixed window");
    let windows = run.requests.saturating_sub(1) / 300;
    within(&run, windows as f64 * 10.0);
}

/// `express-rate-limit`'s default window, a minute (600 per 60 s): waited out once, with the
/// default flags. A 429 whose decision queued behind the pause restarted it from then, which
/// took 234 s for what the limit allows in 60.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn a_one_minute_window_is_waited_out_once() {
    let run = finite(TestConditions {
        fixed_window: Some((NonZeroU32::new(600).unwrap(), NonZeroU64::new(60).unwrap())),
        ..Default::default()
    })
    .await;
    passed_and_clean(&run, "one-minute window");
    let windows = run.requests.saturating_sub(1) / 600;
    within(&run, windows as f64 * 60.0);
}

/// One worker, 100 ms a create: the run's own concurrency must not build a queue its
/// requests time out in. PASSED with no request left without an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn one_slow_worker_is_not_buried_under_the_runs_own_queue() {
    let run = finite(TestConditions {
        workers: Some((NonZeroU32::new(1).unwrap(), NonZeroU64::new(100).unwrap())),
        ..Default::default()
    })
    .await;
    passed_and_clean(&run, "workers");
    assert!(!run.stdout.contains("timed out"), "{}", run.stdout);
    within(&run, run.posts as f64 * 0.1);
}

/// A release that hangs after its first requests: the run ends by itself, without a verdict
/// (exit 3), in about the silence it waits for, and every report says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn a_target_that_stops_answering_ends_the_run_without_a_verdict() {
    let run = finite(TestConditions {
        stall_after: NonZeroU64::new(200),
        ..Default::default()
    })
    .await;
    assert_eq!(run.code, Some(3), "{}", run.stdout);
    assert!(
        run.wall <= std::time::Duration::from_secs(75),
        "{:?}\n{}",
        run.wall,
        run.stdout
    );
    assert!(run.stdout.contains("NO VERDICT"), "{}", run.stdout);
    assert!(
        run.stdout.contains("answered nothing for"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("FAIL "), "{}", run.stdout);
    assert!(run.junit.contains("target-unavailable"), "{}", run.junit);
}
