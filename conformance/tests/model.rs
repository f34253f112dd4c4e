//! The model suite: no false alarm against a correct server over many seeds, the same
//! requests for the same seed, and the same shrunk sequence for a failing seed.

mod common;

use common::{Creds, run_against};
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
async fn fifty_random_seeds_pass_against_a_correct_server() {
    let server = start_embedded(vec![])
        .await
        .expect("embedded server starts");
    for _ in 0..50 {
        let mut config = conformance::config::RunConfig::new(
            &server.base_url,
            "embedded",
            abp_spec::Spec::embedded(),
            common::all_credentials(&server.credentials),
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
        assert!(
            stats.success(),
            "{seed:?}: {:?}",
            model_failure(&collect.events)
        );
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
    assert!(a.contains("curl "), "{a}");
    let (a, b) = (steps(a), steps(b));
    assert!(!a.is_empty() && a.len() <= 4, "{a:#?}");
    assert_eq!(a, b);
}
