//! Concurrency must not cost determinism or verdicts: the full suite with 16 scenarios in
//! flight passes every time against a correct server, and the report (what was checked, in
//! which order, with which verdict) is the same as with one scenario at a time.

use crate::common::{Creds, run_against};
use conformance::events::Event;

/// The order-relevant content of a run: every event's kind and scenario, each check's name
/// and verdict, each exchange's operation and status. Timings, ids and ports are left out.
fn shape(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::RunStarted { scenarios, .. } => Some(format!("run {scenarios}")),
            Event::ScenarioStarted { scenario, .. } => Some(format!("start {scenario}")),
            Event::Exchange(x) => Some(format!(
                "  {} #{} {} {} → {:?}",
                x.scenario, x.index, x.method, x.operation, x.status
            )),
            Event::Check(c) => Some(format!(
                "  {} {} {}",
                c.scenario,
                c.check,
                if c.passed { "ok" } else { "FAILED" }
            )),
            Event::ScenarioFinished {
                scenario, verdict, ..
            } => Some(format!("end {scenario} {verdict:?}")),
            Event::Warning(w) => Some(format!("warning {w:?}")),
            Event::Notice(n) => Some(format!("notice {n:?}")),
            Event::RunAborted { reason, .. } => Some(format!("aborted {reason}")),
            Event::Retry { .. } | Event::RunFinished { .. } => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn sixteen_jobs_pass_ten_times_with_the_report_of_one_job() {
    // The model suite's requests depend on its seed: both runs use one.
    let sequential = run_against(vec![], Creds::All, |c| {
        c.jobs = 1;
        c.model_seed = Some(7);
    })
    .await;
    assert!(
        sequential.stats.success(),
        "{:?}",
        sequential.failed_checks()
    );
    let expected = shape(&sequential.events);
    for round in 0..10 {
        let concurrent = run_against(vec![], Creds::All, |c| {
            c.jobs = 16;
            c.model_seed = Some(7);
            c.model_shrink = false;
        })
        .await;
        assert!(
            concurrent.stats.success(),
            "round {round}: {:?}",
            concurrent.failed_checks()
        );
        let retries: Vec<String> = concurrent
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Retry {
                    scenario, reason, ..
                } => Some(format!("{scenario}: {reason}")),
                Event::Exchange(x) if x.scenario == "cleanup/sweep" => {
                    Some(format!("sweep: {} {}", x.method, x.path))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            concurrent.stats.requests - concurrent.stats.retries,
            sequential.stats.requests,
            "round {round}: {retries:?}"
        );
        let got = shape(&concurrent.events);
        if got != expected {
            let (old, new) = (expected.join("\n"), got.join("\n"));
            let diff = similar::TextDiff::from_lines(&old, &new);
            panic!(
                "round {round}: the report differs from the --jobs 1 one:\n{}",
                diff.unified_diff().context_radius(2)
            );
        }
    }
}

#[tokio::test]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn a_fault_found_with_one_job_is_found_with_sixteen() {
    use reference_server::Fault;
    for fault in [
        Fault::DeleteNoop,
        Fault::ReusedSecret,
        Fault::ListShowsOtherUsers,
    ] {
        // One seed for both, so the model suite sends the same sequence in each.
        let one = run_against(vec![fault], Creds::All, |c| {
            c.jobs = 1;
            c.model_seed = Some(7);
            c.model_shrink = false;
        })
        .await;
        let many = run_against(vec![fault], Creds::All, |c| {
            c.jobs = 16;
            c.model_seed = Some(7);
        })
        .await;
        assert!(!one.stats.success(), "{fault}: detected with one job");
        // Concurrency may show more of a bug (a reused secret still authenticates after
        // "its" token is deleted, because a concurrent scenario's token has it too), never less.
        let many_failed = many.failed_checks();
        for check in one.failed_checks() {
            assert!(
                many_failed.contains(&check),
                "{fault}: {check} fails with one job but not with 16 ({many_failed:?})"
            );
        }
    }
}
