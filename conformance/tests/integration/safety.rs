//! A run against real accounts is safe: production is refused unless asked for, and what a
//! killed run leaves behind is found and removed by `conformance cleanup`, which touches
//! nothing else.

use conformance::exit;
use std::process::Command;
use std::time::Duration;

fn conformance() -> Command {
    let mut c = crate::common::binary();
    c.env("ABP_TOKEN", "a-real-looking-credential");
    c
}

use crate::common::output_text as text;

#[test]
fn production_is_refused_before_anything_is_sent() {
    let production = abp_spec::Spec::embedded()
        .servers()
        .into_iter()
        .find(|s| s.production)
        .expect("the spec marks its production server");
    for args in [
        vec!["run", "--server", production.name.as_str()],
        vec!["run", "--base-url", production.url.as_str()],
        vec!["cleanup", "--server", production.name.as_str(), "--yes"],
    ] {
        let out = conformance().args(&args).output().unwrap();
        let (stdout, stderr) = text(&out);
        // Exit 2 (not 3): it stopped at the guard, without trying to connect.
        assert_eq!(
            out.status.code(),
            Some(exit::USAGE.into()),
            "{args:?}: {stdout}\n{stderr}"
        );
        assert!(stderr.contains("production"), "{stderr}");
        assert!(stderr.contains("--allow-production"), "{stderr}");
        assert!(stderr.contains("Nothing was sent"), "{stderr}");
        assert!(!stderr.contains("a-real-looking-credential"), "{stderr}");
    }
}

async fn names(base_url: &str, credential: &str) -> Vec<String> {
    crate::common::tokens(base_url, credential)
        .await
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn cleanup_lists_a_killed_runs_tokens_and_deletes_exactly_them_with_yes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(reference_server::start_with(reference_server::Config {
            fixtures: reference_server::Fixtures::random(),
            latency: Some(Duration::from_millis(100)),
            ..Default::default()
        }))
        .unwrap();
    let user = server.credentials.user.clone();
    // A token a person made, with a name close to ours: it must survive.
    rt.block_on(async {
        let created = reqwest::Client::new()
            .post(format!("{}/me/tokens", server.base_url))
            .bearer_auth(&user)
            .json(&serde_json::json!({"name": "conformance-ci-token", "lifetime": "one-day"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status().as_u16(), 201);
    });

    let mut run = conformance()
        .args([
            "run",
            "--base-url",
            &server.base_url,
            "--skip-check",
            "snapshot",
        ])
        .env("ABP_TOKEN", &user)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it (no chance to clean up) as soon as it has tokens on the account.
    let mut seen = 0;
    for _ in 0..200 {
        seen = rt
            .block_on(names(&server.base_url, &user))
            .iter()
            .filter(|n| n.starts_with("conformance-") && *n != "conformance-ci-token")
            .count();
        if seen > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    run.kill().unwrap();
    run.wait().unwrap();
    assert!(seen > 0, "the run created tokens before it was killed");
    let left = rt.block_on(names(&server.base_url, &user));

    let out = conformance()
        .args(["cleanup", "--base-url", &server.base_url])
        .env("ABP_TOKEN", &user)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::PASSED.into()),
        "{stdout}\n{stderr}"
    );
    let leftovers = left.len() - 1;
    assert!(
        stdout.contains(&format!(
            "{leftovers} tokens left by earlier conformance runs"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("nothing deleted"), "{stdout}");
    assert!(!stdout.contains("conformance-ci-token"), "{stdout}");
    assert_eq!(
        rt.block_on(names(&server.base_url, &user)),
        left,
        "a listing deletes nothing"
    );

    // A later run says the leftovers are there.
    let out = conformance()
        .args([
            "run",
            "--base-url",
            &server.base_url,
            "--scenario",
            "lifecycle/delete-unknown-id",
            "--skip-check",
            "snapshot",
        ])
        .env("ABP_TOKEN", &user)
        .output()
        .unwrap();
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains(&format!(
            "{leftovers} tokens named by earlier runs are still on the account"
        )),
        "{stdout}"
    );

    let out = conformance()
        .args(["cleanup", "--base-url", &server.base_url, "--yes"])
        .env("ABP_TOKEN", &user)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(exit::PASSED.into()),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("deleted {leftovers} of {leftovers}")),
        "{stdout}"
    );
    assert_eq!(
        rt.block_on(names(&server.base_url, &user)),
        vec!["conformance-ci-token".to_owned()],
        "exactly the leftovers are gone"
    );
    rt.block_on(server.shutdown());
}
