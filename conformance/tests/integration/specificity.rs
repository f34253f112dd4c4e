//! The suite's specificity test, the mirror of the mutation test: for every conformant variant
//! in the reference server's catalog (`reference-server --list-variants`), a server with that
//! variant on must pass the full suite, and so must the snapshot gate: a baseline recorded on
//! one run (`--update-snapshots`) must hold on a `CI=true` run against a fresh server with the
//! same variant. A new variant without a passing run fails `cargo test`. Prints the table
//! variant → result.
//!
//! The runs go through the `conformance` binary, as a user's would: insta reads its update mode
//! from the environment once per process, so recording and checking need two processes.

use crate::common::{binary, output_text};
use conformance::exit;
use reference_server::{EmbeddedServer, SEEDED_NAME_PREFIX, Variant, start_embedded_variants};
use std::path::Path;
use std::time::Instant;

/// Variants whose false alarm is known and owned elsewhere, with the reason; they are listed
/// as pending and not run. Keep this empty: an entry is a bug of the runner to fix.
const PENDING: &[(&str, &str)] = &[];

/// One run of the binary against `server`; its exit code and stdout.
async fn run(server: &EmbeddedServer, snapshots: &Path, record: bool) -> (Option<i32>, String) {
    let c = &server.credentials;
    let mut cmd = binary();
    cmd.args([
        "run",
        "--base-url",
        &server.base_url,
        "--target-name",
        "variant",
    ])
    .arg("--snapshot-dir")
    .arg(snapshots)
    .env("ABP_TOKEN", &c.user)
    .env("ABP_OTHER_USER_TOKEN", &c.other_user)
    .env("ABP_FORBIDDEN_TOKEN", &c.forbidden)
    .env("ABP_EXPIRED_TOKEN", &c.expired);
    if record {
        cmd.arg("--update-snapshots");
    } else {
        cmd.env("CI", "true");
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the run's thread")
        .expect("the conformance binary runs");
    let (stdout, stderr) = output_text(&out);
    (out.status.code(), format!("{stdout}{stderr}"))
}

/// The (id, name) of every token a fixture user held before the run, sorted.
async fn held(server: &EmbeddedServer) -> Vec<(String, String)> {
    let c = &server.credentials;
    let mut out = Vec::new();
    for credential in [&c.user, &c.other_user] {
        // Identity only: the content-coding variants would otherwise gzip the list. The
        // variants that answer 429 or a transient 503 may refuse this list too: ask again.
        let mut attempts = 0;
        let list: Vec<serde_json::Value> = loop {
            let answer = reqwest::Client::new()
                .get(format!("{}/me/tokens", server.base_url))
                .bearer_auth(credential)
                .header("accept-encoding", "identity")
                .send()
                .await
                .expect("the list answers");
            let status = answer.status();
            if status.is_success() {
                break answer.json().await.expect("the list is JSON");
            }
            attempts += 1;
            assert!(
                attempts < 20 && [429, 503].contains(&status.as_u16()),
                "the list answered {status}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        };
        for t in list {
            let field = |k: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
            if field("name").starts_with(SEEDED_NAME_PREFIX) {
                out.push((field("_id"), field("name")));
            }
        }
    }
    out.sort();
    out
}

/// The failed lines of a run's output, for the assertion message.
fn failures(output: &str) -> String {
    output
        .lines()
        .filter(|l| l.starts_with("FAIL") || l.trim_start().starts_with('✗'))
        .take(12)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow proof: `cargo test --workspace -- --include-ignored` runs it, and .ci/run always does"]
async fn every_conformant_variant_passes_the_suite_and_the_snapshot_gate() {
    let mut rows = Vec::new();
    let mut alarms = Vec::new();
    let started = Instant::now();
    for (name, _) in PENDING {
        assert!(
            Variant::from_name(name).is_some(),
            "pending variant `{name}` is not in the catalog"
        );
    }
    let mut pending = Vec::new();
    for &variant in Variant::ALL {
        if let Some((_, why)) = PENDING.iter().find(|(n, _)| *n == variant.name()) {
            pending.push(format!("{variant}: {why}"));
            continue;
        }
        let t = Instant::now();
        let snapshots = tempfile::tempdir().expect("temp dir");
        let server = start_embedded_variants(Vec::new(), vec![variant])
            .await
            .expect("embedded server starts");
        let before = held(&server).await;
        let (code, output) = run(&server, snapshots.path(), true).await;
        let after = held(&server).await;
        server.shutdown().await;
        let suite = code == Some(exit::PASSED.into());
        if !suite {
            alarms.push(format!(
                "{variant}: the recording run exited {code:?}\n{}",
                failures(&output)
            ));
        }
        // Tokens the account held before the run survive it, by id and name.
        if before != after {
            alarms.push(format!(
                "{variant}: the run changed the tokens held before it: {} before, {} after",
                before.len(),
                after.len()
            ));
        }
        if variant == Variant::ManyTokens {
            assert_eq!(
                before.len(),
                2 * reference_server::SEEDED_TOKENS,
                "both managers hold the seeded tokens"
            );
        }
        let fresh = start_embedded_variants(Vec::new(), vec![variant])
            .await
            .expect("embedded server starts");
        let (code, output) = run(&fresh, snapshots.path(), false).await;
        fresh.shutdown().await;
        let gate = code == Some(exit::PASSED.into());
        if !gate {
            alarms.push(format!(
                "{variant}: the CI=true run against the baseline exited {code:?}\n{}",
                failures(&output)
            ));
        }
        rows.push((variant, suite && before == after, gate, t.elapsed()));
    }
    let yes = |ok: bool| if ok { "pass" } else { "FAIL" };
    println!(
        "\n{:<26} {:<16} {:<6} {:<9} seconds",
        "variant", "class", "suite", "snapshot"
    );
    for (v, suite, gate, took) in &rows {
        println!(
            "{:<26} {:<16} {:<6} {:<9} {:.1}",
            v.name(),
            v.class(),
            yes(*suite),
            yes(*gate),
            took.as_secs_f64()
        );
    }
    let passed = rows.iter().filter(|r| r.1 && r.2).count();
    println!(
        "\nspecificity: {passed}/{} variants without a false alarm ({:.0} s)",
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    for p in &pending {
        println!("pending: {p}");
    }
    assert!(
        alarms.is_empty(),
        "false alarms on conformant servers:\n{}",
        alarms.join("\n\n")
    );
}
