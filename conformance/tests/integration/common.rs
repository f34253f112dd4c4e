//! Shared by the integration tests: run the suite in-process against an embedded server.

#![allow(dead_code)]

use conformance::config::{Credentials, RunConfig};
use conformance::events::{Event, RunStats, Verdict};
use conformance::report::Collect;
use reference_server::Fault;

pub struct Outcome {
    pub stats: RunStats,
    pub events: Vec<Event>,
}

impl Outcome {
    /// Names of the checks that failed at least once, sorted.
    pub fn failed_checks(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Check(c) if !c.passed => Some(c.check.clone()),
                _ => None,
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn verdicts(&self, verdict: Verdict) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::ScenarioFinished {
                    scenario,
                    verdict: v,
                    ..
                } if *v == verdict => Some(scenario.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Which credentials the run gets besides ABP_TOKEN.
#[derive(Clone, Copy)]
pub enum Creds {
    All,
    OnlyUser,
}

/// All four roles of an embedded server's fixture.
pub fn all_credentials(c: &reference_server::Credentials) -> Credentials {
    Credentials {
        user: c.user.clone(),
        other_user: Some(c.other_user.clone()),
        forbidden: Some(c.forbidden.clone()),
        expired: Some(c.expired.clone()),
    }
}

/// A copy of the committed embedded baseline: a mismatch may write .snap.new files, never
/// into the tree.
pub fn baseline_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/embedded");
    for entry in std::fs::read_dir(&committed).expect("committed snapshots exist") {
        let entry = entry.expect("readable snapshot dir");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    dir
}

pub async fn run_against(
    faults: Vec<Fault>,
    creds: Creds,
    tweak: impl FnOnce(&mut RunConfig),
) -> Outcome {
    run_with_conditions(faults, Default::default(), creds, tweak).await
}

/// Like [`run_against`], with the server playing test conditions (rate limit, drops).
pub async fn run_with_conditions(
    faults: Vec<Fault>,
    conditions: reference_server::TestConditions,
    creds: Creds,
    tweak: impl FnOnce(&mut RunConfig),
) -> Outcome {
    let server = reference_server::start_embedded_with(faults, conditions)
        .await
        .expect("embedded server starts");
    let c = &server.credentials;
    let credentials = match creds {
        Creds::All => all_credentials(c),
        Creds::OnlyUser => Credentials {
            user: c.user.clone(),
            ..Credentials::default()
        },
    };
    let mut config = RunConfig::new(
        &server.base_url,
        "embedded",
        abp_spec::Contract::embedded(),
        credentials,
    );
    let snapshots = baseline_copy();
    config.snapshot_dir = Some(snapshots.path().to_owned());
    // One model-suite sequence for every test built on this helper, so their verdicts are
    // reproducible; tests/model.rs runs random seeds against a correct server on its own.
    config.model_seed = Some(7);
    tweak(&mut config);
    let mut collect = Collect::default();
    let stats = conformance::run(config, &mut collect)
        .await
        .expect("the run starts");
    server.shutdown().await;
    Outcome {
        stats,
        events: collect.events,
    }
}

/// The tokens `credential`'s list shows, straight from the server (not through the runner).
pub async fn tokens(base_url: &str, credential: &str) -> Vec<serde_json::Value> {
    reqwest::Client::new()
        .get(format!("{base_url}/me/tokens"))
        .bearer_auth(credential)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The `conformance` binary with none of the `ABP_*` credentials, outside CI and without
/// colour: each test sets what it means to test.
pub fn binary() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_conformance"));
    for var in [
        "ABP_TOKEN",
        "ABP_OTHER_USER_TOKEN",
        "ABP_FORBIDDEN_TOKEN",
        "ABP_EXPIRED_TOKEN",
        "CI",
        "INSTA_UPDATE",
    ] {
        c.env_remove(var);
    }
    c.env("NO_COLOR", "1");
    c
}

/// A finished command's stdout and stderr as text.
pub fn output_text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
