//! The model suite: no false alarm against a correct server over many seeds, the same
//! requests for the same seed, the same shrunk sequence for a failing seed, every model-only
//! fault caught by every sampled seed whatever `--jobs`, and a lane replayed on its own.

use crate::common::{Creds, run_against};
use conformance::events::Event;
use reference_server::{Fault, start_embedded};

/// The run's exchanges as (method, path, body), with the run id and server-chosen ids
/// replaced, so two runs of one seed can be compared.
fn requests(events: &[Event]) -> Vec<String> {
    let run_id = events
        .iter()
        .find_map(|e| match e {
            Event::RunStarted { run_id, .. } => Some(run_id.clone()),
            _ => None,
        })
        .expect("a run_started event");
    events
        .iter()
        .filter_map(|e| match e {
            Event::Exchange(x) => Some(format!(
                "{} {} {}",
                x.method,
                without_ids(&x.path),
                x.request_body.as_deref().unwrap_or("")
            )),
            _ => None,
        })
        .map(|line| line.replace(&run_id, "RUN"))
        .collect()
}

/// Replaces every run of 24 hexadecimal characters (a server-chosen id) with `[id]`.
fn without_ids(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.len() == 24 && seg.chars().all(|c| c.is_ascii_hexdigit()) {
                "[id]"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn model_failure(events: &[Event]) -> Option<String> {
    events.iter().find_map(|e| match e {
        Event::Check(c) if c.check == conformance::checks::MODEL_MATCHES && !c.passed => {
            c.message.clone()
        }
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn twenty_random_seeds_pass_against_a_correct_server() {
    let server = start_embedded(vec![])
        .await
        .expect("embedded server starts");
    for _ in 0..20 {
        let mut config = conformance::config::RunConfig::new(
            &server.base_url,
            "embedded",
            abp_spec::Contract::embedded(),
            crate::common::all_credentials(&server.credentials),
        );
        config.suites = vec!["model".into()];
        let mut collect = conformance::report::Collect::default();
        let stats = conformance::run(config, &mut collect)
            .await
            .expect("the run starts");
        let seed = collect.events.iter().find_map(|e| match e {
            Event::ScenarioStarted { summary, .. } => Some(summary.clone()),
            _ => None,
        });
        let failed: Vec<String> = collect
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Check(c) if !c.passed => Some(format!(
                    "{} {}: {}",
                    c.scenario,
                    c.check,
                    c.message.as_deref().unwrap_or("")
                )),
                _ => None,
            })
            .collect();
        assert!(stats.success(), "{seed:?}: {failed:#?} {stats:?}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_sends_the_same_requests() {
    let run = || {
        run_against(vec![], Creds::All, |c| {
            c.suites = vec!["model".into()];
            c.model_seed = Some(7);
            c.model_steps = Some(60);
        })
    };
    let (a, b) = (run().await, run().await);
    assert!(a.stats.success() && b.stats.success());
    let (a, b) = (requests(&a.events), requests(&b.events));
    assert!(a.len() > 60, "{}", a.len());
    assert_eq!(a, b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn a_failing_seed_shrinks_to_the_same_minimal_sequence() {
    let run = || {
        run_against(vec![Fault::DeleteNoop], Creds::All, |c| {
            c.suites = vec!["model".into()];
            c.model_seed = Some(11);
        })
    };
    let steps = |message: String| -> Vec<String> {
        message
            .lines()
            .filter(|l| {
                l.trim_start()
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit())
            })
            .map(str::to_owned)
            .collect()
    };
    let a = model_failure(&run().await.events).expect("the fault is caught");
    let b = model_failure(&run().await.events).expect("the fault is caught");
    assert!(a.contains("seed 11"), "{a}");
    // The replay line reruns just that lane, with no Rust debug text anywhere.
    assert!(
        a.contains("replay exactly: conformance run --suite model --seed 11 --model-steps 120 --model-lane "),
        "{a}"
    );
    assert!(!a.contains("Some("), "{a}");
    assert!(a.contains("curl "), "{a}");
    let (a, b) = (steps(a), steps(b));
    assert!(!a.is_empty() && a.len() <= 4, "{a:#?}");
    assert_eq!(a, b);
}

/// The faults of the reference server's catalog that only the model suite sees.
const MODEL_ONLY: [Fault; 3] = [
    Fault::DeleteStaleIndex,
    Fault::ListTruncated,
    Fault::RacyDelete,
];

fn model_run(
    faults: Vec<Fault>,
    seed: u64,
    jobs: usize,
) -> impl std::future::Future<Output = crate::common::Outcome> {
    run_against(faults, Creds::All, move |c| {
        c.suites = vec!["model".into()];
        c.model_seed = Some(seed);
        c.jobs = jobs;
        // These tests judge verdicts; shrinking is tested on its own.
        c.model_shrink = false;
    })
}

/// Coverage does not depend on luck: every sampled seed (seed 2 missed delete-stale-index
/// before the lanes' fixed skeleton) catches every model-only fault (with
/// the lanes at once; `one_job_and_thirty_two_give_the_same_verdicts` runs them one by one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sampled_seed_catches_every_model_only_fault_with_one_job_or_many() {
    let mut missed = Vec::new();
    for seed in [1, 2, 7] {
        for fault in MODEL_ONLY {
            for jobs in [32] {
                let outcome = model_run(vec![fault], seed, jobs).await;
                let caught = !outcome.stats.success()
                    && outcome
                        .failed_checks()
                        .iter()
                        .any(|c| c == conformance::checks::MODEL_MATCHES);
                if !caught {
                    missed.push(format!("{fault} seed {seed} --jobs {jobs}"));
                }
            }
        }
    }
    assert!(missed.is_empty(), "missed: {missed:?}");
}

/// The lanes' tokens share a few names, so a delete a server keys by name meets a sibling of
/// the same name by construction, whatever the seed (with a name per slot, every lane passed
/// against delete-by-name).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colliding_names_catch_a_delete_keyed_by_name_whatever_the_seed() {
    for seed in [1, 2, 7] {
        let outcome = model_run(vec![Fault::DeleteByName], seed, 32).await;
        assert!(
            outcome
                .failed_checks()
                .iter()
                .any(|c| c == conformance::checks::MODEL_MATCHES),
            "seed {seed}: {:?}",
            outcome.failed_checks()
        );
    }
}

/// The verdicts do not depend on `--jobs`: against a correct server every lane passes with one
/// job and with 32, and against each model-only fault the suite fails either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_job_and_thirty_two_give_the_same_verdicts() {
    use conformance::events::Verdict;
    let verdicts = |o: &crate::common::Outcome| {
        (
            o.stats.success(),
            o.verdicts(Verdict::Passed).len() + o.verdicts(Verdict::Failed).len(),
        )
    };
    let (one, many) = (
        model_run(vec![], 5, 1).await,
        model_run(vec![], 5, 32).await,
    );
    assert!(one.stats.success(), "{:?}", model_failure(&one.events));
    assert_eq!(
        one.verdicts(Verdict::Passed),
        many.verdicts(Verdict::Passed)
    );
    for fault in MODEL_ONLY {
        let (one, many) = (
            model_run(vec![fault], 5, 1).await,
            model_run(vec![fault], 5, 32).await,
        );
        assert_eq!(verdicts(&one), verdicts(&many), "{fault}");
        assert!(!one.stats.success(), "{fault}");
    }
}

/// `--model-lane K` runs that lane alone and sends exactly the requests it sent in the full
/// suite; a lane outside the budget is a configuration error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_replays_alone_with_the_same_requests() {
    let full = model_run(vec![], 9, 24).await;
    let alone = run_against(vec![], Creds::All, |c| {
        c.suites = vec!["model".into()];
        c.model_seed = Some(9);
        c.model_lane = Some(3);
    })
    .await;
    assert_eq!(
        alone.verdicts(conformance::events::Verdict::Passed),
        ["model/lane-3"]
    );
    let lane = |o: &crate::common::Outcome| -> Vec<String> {
        let only: Vec<Event> = o
            .events
            .iter()
            .filter(|e| match e {
                Event::Exchange(x) => x.scenario == "model/lane-3",
                _ => true,
            })
            .cloned()
            .collect();
        requests(&only)
            .into_iter()
            // The scenario's position in the run is part of its token names.
            .map(|r| {
                let mut out = String::new();
                let mut rest = r.as_str();
                while let Some(i) = rest.find("RUN-") {
                    out.push_str(&rest[..i + 4]);
                    rest = &rest[i + 4..];
                    if rest.len() > 4 && rest[..3].bytes().all(|b| b.is_ascii_digit()) {
                        out.push_str("NNN");
                        rest = &rest[3..];
                    }
                }
                out.push_str(rest);
                out
            })
            .collect()
    };
    let (a, b) = (lane(&full), lane(&alone));
    assert!(a.len() > 15, "{}", a.len());
    assert_eq!(a, b);

    let server = start_embedded(vec![])
        .await
        .expect("embedded server starts");
    let mut config = conformance::config::RunConfig::new(
        &server.base_url,
        "embedded",
        abp_spec::Contract::embedded(),
        crate::common::all_credentials(&server.credentials),
    );
    config.model_lane = Some(99);
    let mut collect = conformance::report::Collect::default();
    let error = conformance::run(config, &mut collect)
        .await
        .expect_err("lane 99 does not exist");
    assert!(error.to_string().contains("--model-lane 99"), "{error}");
    server.shutdown().await;
}
