//! No false alarms: the fault-free server passes, with every credential or with only
//! ABP_TOKEN (then the scenarios that need the others are skipped, naming the variable).

use crate::common::{Creds, all_credentials, baseline_copy, run_against};
use conformance::events::{Event, Verdict};

#[tokio::test]
async fn fault_free_server_passes_with_all_credentials_and_no_skips() {
    let outcome = run_against(vec![], Creds::All, |_| {}).await;
    assert!(
        outcome.stats.success(),
        "failed checks: {:?}",
        outcome.failed_checks()
    );
    assert_eq!(outcome.stats.skipped, 0);
    assert_eq!(outcome.stats.passed, outcome.stats.scenarios);
    assert!(outcome.stats.requests > 100);
}

#[tokio::test]
async fn only_abp_token_passes_and_skips_credential_dependent_scenarios() {
    let outcome = run_against(vec![], Creds::OnlyUser, |_| {}).await;
    assert!(
        outcome.stats.success(),
        "failed checks: {:?}",
        outcome.failed_checks()
    );
    let skipped = outcome.verdicts(Verdict::Skipped);
    assert!(skipped.contains(&"lifecycle/other-user-isolation".to_owned()));
    assert!(skipped.contains(&"auth/list/expired-credential".to_owned()));
    assert!(skipped.contains(&"auth/delete/forbidden-credential".to_owned()));
    for e in &outcome.events {
        if let Event::ScenarioFinished {
            verdict: Verdict::Skipped,
            reason,
            scenario,
            ..
        } = e
        {
            let reason = reason.as_deref().unwrap_or("");
            assert!(reason.contains("ABP_"), "{scenario}: {reason}");
        }
    }
    // The six expired/forbidden auth scenarios, and the three that need another user.
    assert!(skipped.contains(&"auth/bearerAuth/ownership".to_owned()));
    assert_eq!(skipped.len(), 9, "{skipped:?}");
    // The model lanes ran, and the run says which callers they could not play.
    let not_played = outcome.events.iter().find_map(|e| match e {
        Event::Warning(conformance::events::Warning::RolesNotPlayed { missing, lanes }) => {
            Some((missing.clone(), *lanes))
        }
        _ => None,
    });
    let (missing, lanes) = not_played.expect("a warning names the roles the lanes could not play");
    assert_eq!(
        missing,
        [
            "ABP_OTHER_USER_TOKEN",
            "ABP_FORBIDDEN_TOKEN",
            "ABP_EXPIRED_TOKEN"
        ]
    );
    assert!(lanes > 0);
}

#[tokio::test]
async fn selection_by_suite_glob_and_check() {
    let outcome = run_against(vec![], Creds::All, |c| {
        c.suites = vec!["auth".into()];
        c.scenario_glob = Some("auth/*/expired-*".into());
        c.checks = conformance::checks::Selection::new(&["status_expected".into()], &[]).unwrap();
    })
    .await;
    assert_eq!(outcome.stats.scenarios, 3);
    let checks: std::collections::BTreeSet<_> = outcome
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Check(c) => Some(c.check.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(checks.into_iter().collect::<Vec<_>>(), ["status_expected"]);
}

#[tokio::test]
async fn no_event_carries_a_credential_or_created_secret() {
    let server = reference_server::start_embedded(vec![reference_server::Fault::ListUnmasked])
        .await
        .unwrap();
    let c = server.credentials.clone();
    let credentials = conformance::Credentials {
        user: c.user.clone(),
        other_user: Some(c.other_user.clone()),
        forbidden: Some(c.forbidden.clone()),
        expired: Some(c.expired.clone()),
    };
    let config = conformance::RunConfig::new(
        &server.base_url,
        "embedded",
        abp_spec::Contract::embedded(),
        credentials,
    );
    let mut collect = conformance::report::Collect::default();
    conformance::run(config, &mut collect).await.unwrap();
    server.shutdown().await;
    let text = collect
        .events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    for secret in [&c.user, &c.other_user, &c.forbidden, &c.expired] {
        assert!(
            !text.contains(secret.as_str()),
            "a credential leaked into the events"
        );
    }
    // Every created secret starts with the server's prefix; none may appear in full.
    assert!(text.contains("[created-secret]"));
    let leaked = text
        .match_indices("uat_")
        .map(|(i, _)| &text[i..(i + 47).min(text.len())])
        .find(|s| {
            s.len() == 47
                && s[4..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    assert!(leaked.is_none(), "a created secret leaked: {leaked:?}");
}

/// Staging safety: a token the run did not create survives the run, and its presence in the
/// list causes no false alarm (the snapshot and list checks look only at the run's tokens).
#[tokio::test]
async fn tokens_the_run_did_not_create_are_untouched_and_ignored() {
    let server = reference_server::start_embedded(vec![]).await.unwrap();
    let c = server.credentials.clone();
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{}/me/tokens", server.base_url))
        .bearer_auth(&c.user)
        .json(&serde_json::json!({"name": "someone-elses-token", "lifetime": "one-week"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let foreign_id = created["_id"].as_str().unwrap().to_owned();

    let mut config = conformance::RunConfig::new(
        &server.base_url,
        "embedded",
        abp_spec::Contract::embedded(),
        all_credentials(&c),
    );
    let snapshots = baseline_copy();
    config.snapshot_dir = Some(snapshots.path().to_owned());
    let mut collect = conformance::report::Collect::default();
    let stats = conformance::run(config, &mut collect).await.unwrap();

    let listed: serde_json::Value = http
        .get(format!("{}/me/tokens", server.base_url))
        .bearer_auth(&c.user)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    server.shutdown().await;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["_id"].as_str())
        .collect();
    assert_eq!(ids, [foreign_id.as_str()], "only the foreign token remains");
    let failed: Vec<String> = collect
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Check(c) if !c.passed => Some(format!("{} {}", c.scenario, c.check)),
            _ => None,
        })
        .collect();
    assert!(stats.success(), "{failed:#?}");
}
