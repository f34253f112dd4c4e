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
        outcome
            .events
            .iter()
            .any(|e| matches!(e, Event::Warning { message } if message.contains("slowed down"))),
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
