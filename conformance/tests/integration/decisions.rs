//! A failure whose expectation is a project decision (the vendor docs are silent) says so,
//! naming the row of openapi/TRANSCRIPTION.md; a failure against a documented fact does not.

use crate::common::{Creds, run_against};
use conformance::events::Event;
use reference_server::Fault;

fn failures(outcome: &crate::common::Outcome) -> Vec<conformance::events::CheckRecord> {
    outcome
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Check(c) if !c.passed => Some(c.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_failed_decided_expectation_names_its_transcription_row() {
    // 404 for an unknown or deleted id is the project's decision (the docs list no 404).
    let outcome = run_against(vec![Fault::SecondDeleteSucceeds], Creds::All, |c| {
        c.scenario_glob = Some("lifecycle/*".into());
    })
    .await;
    let status = failures(&outcome)
        .into_iter()
        .find(|c| c.check == "status_expected")
        .expect("the fault fails status_expected");
    assert_eq!(
        status.decision.as_deref(),
        Some("decided, not in the vendor docs: openapi/TRANSCRIPTION.md — DELETE of an unknown id")
    );
}

#[tokio::test]
async fn a_failed_documented_expectation_names_no_decision() {
    // A 500 is wrong whatever the project decided.
    let outcome = run_against(vec![Fault::MalformedJson500], Creds::All, |c| {
        c.scenario_glob = Some("validation/malformed-json".into());
    })
    .await;
    let server_error = failures(&outcome)
        .into_iter()
        .find(|c| c.check == "not_a_server_error")
        .expect("the fault fails not_a_server_error");
    assert_eq!(server_error.decision, None);
}

#[tokio::test]
async fn a_status_the_docs_list_names_no_decision_about_the_error_body() {
    // GET documents 401 in the vendor docs; that the 401's body has the project's error shape
    // is a decision about the body, not about the status a run expected.
    let outcome = run_against(vec![Fault::AnyBearerAccepted], Creds::All, |c| {
        c.scenario_glob = Some("auth/list/*".into());
    })
    .await;
    let status = failures(&outcome)
        .into_iter()
        .find(|c| {
            c.check == "status_expected"
                && c.message
                    .as_deref()
                    .is_some_and(|m| m.contains("listMyTokens"))
        })
        .expect("the fault fails status_expected on the list");
    assert_eq!(status.decision, None, "{status:?}");
    assert!(
        status
            .spec_pointer
            .as_deref()
            .is_some_and(|p| p.starts_with("#/paths/")),
        "{status:?}"
    );
}
