//! The test conditions: a rate limit answered with 429 and `Retry-After`, answers dropped on
//! every Nth GET or DELETE, and the request timeout. Each is off by default.

use crate::common::{Raw, assert_error, bearer, raw_http};
use reference_server::{
    Config, EmbeddedServer, Fixtures, TestConditions, start_embedded_with, start_with,
};
use std::num::{NonZeroU32, NonZeroU64};
use std::time::{Duration, Instant};

async fn start(conditions: TestConditions) -> (EmbeddedServer, Raw) {
    let s = start_embedded_with(Vec::new(), conditions)
        .await
        .expect("server starts");
    let raw = Raw::new(&s);
    (s, raw)
}

/// `GET` of the list over a fresh connection; the whole answer as text (empty when dropped).
async fn raw_list(srv: &EmbeddedServer, credential: &str) -> String {
    let path = srv.base_url.split_once(&srv.addr.to_string()).unwrap().1;
    let request = format!(
        "GET {path}/me/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        bearer(credential)
    );
    raw_http(srv.addr, request.as_bytes()).await
}

#[tokio::test]
async fn above_the_rate_requests_get_429_with_retry_after_and_change_nothing() {
    let (srv, raw) = start(TestConditions {
        rate_limit: NonZeroU32::new(5),
        ..TestConditions::default()
    })
    .await;
    let user = raw.creds.user.clone();
    let started = Instant::now();
    let mut created = 0;
    let mut limited = Vec::new();
    for i in 0..15 {
        let body = serde_json::json!({"name": format!("r{i}"), "lifetime": crate::common::example_lifetime()});
        let auth = bearer(&user);
        let resp = raw
            .http
            .post(format!("{}/me/tokens", raw.base))
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        match resp.status().as_u16() {
            201 => created += 1,
            429 => {
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                let content_type = resp
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_owned());
                let body = resp.bytes().await.unwrap().to_vec();
                limited.push((retry_after, content_type, body));
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // A bucket of 5 refilled at 5/s admits at most 5 + 5 × elapsed requests.
    assert!(created >= 5, "{created} created");
    assert!(
        f64::from(created) <= 5.0 + 5.0 * elapsed + 1.0,
        "{created} created in {elapsed}s"
    );
    assert!(!limited.is_empty());
    for (retry_after, content_type, body) in limited {
        assert_eq!(retry_after.as_deref(), Some("1"));
        let answer = crate::common::Answer {
            status: 429,
            content_type,
            www_authenticate: None,
            body,
        };
        assert_error(&answer, 429, "too_many_requests");
    }
    // After the advertised wait the server answers again, and only the admitted creates took
    // effect.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(raw.list(&user).await.len(), created as usize);
    srv.shutdown().await;
}

#[tokio::test]
async fn every_nth_get_or_delete_is_handled_and_its_connection_closed_unanswered() {
    let (srv, raw) = start(TestConditions {
        drop_every: NonZeroU64::new(3),
        ..TestConditions::default()
    })
    .await;
    let user = raw.creds.user.clone();
    // GETs 1 and 2 are answered, 3 is dropped; POSTs are not counted.
    assert!(raw_list(&srv, &user).await.starts_with("HTTP/1.1 200"));
    let id = raw.create_ok(&user).await["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(raw_list(&srv, &user).await.starts_with("HTTP/1.1 200"));
    assert_eq!(
        raw_list(&srv, &user).await,
        "",
        "the third GET gets no answer"
    );
    // 4 and 5 are answered; the sixth, a DELETE, is handled but its answer is lost.
    assert!(raw_list(&srv, &user).await.starts_with("HTTP/1.1 200"));
    assert_eq!(raw.list(&user).await.len(), 1);
    let lost = raw
        .http
        .delete(format!("{}/me/tokens/{id}", raw.base))
        .header("authorization", bearer(&user))
        .send()
        .await;
    assert!(lost.is_err(), "the DELETE's answer is dropped: {lost:?}");
    // The effect happened: the retry finds the token gone (7 answered, 8 answered).
    assert_eq!(raw.delete(&user, &id).await.status, 404);
    assert!(raw.list(&user).await.is_empty());
    srv.shutdown().await;
}

#[tokio::test]
async fn a_request_slower_than_the_timeout_gets_a_json_408() {
    let srv = start_with(Config {
        fixtures: Fixtures::random(),
        latency: Some(Duration::from_millis(400)),
        request_timeout: Duration::from_millis(50),
        ..Config::default()
    })
    .await
    .unwrap();
    let raw = Raw::new(&srv);
    let answer = raw
        .list_with(&[("authorization", &bearer(&raw.creds.user))])
        .await;
    assert_error(&answer, 408, "request_timeout");
    srv.shutdown().await;
}

#[tokio::test]
async fn without_conditions_nothing_is_limited_or_dropped() {
    let (srv, raw) = start(TestConditions::default()).await;
    for _ in 0..30 {
        assert!(
            raw_list(&srv, &raw.creds.user)
                .await
                .starts_with("HTTP/1.1 200")
        );
    }
    srv.shutdown().await;
}

#[test]
fn help_lists_the_test_conditions_apart_from_the_faults() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_reference-server"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let conditions = help
        .find("TEST CONDITIONS")
        .expect("a TEST CONDITIONS section");
    let faults = help.find("FAULTS").expect("a FAULTS section");
    for flag in ["--latency-ms", "--rate-limit", "--drop-every"] {
        let at = help
            .find(flag)
            .unwrap_or_else(|| panic!("{flag} in --help"));
        assert!(
            conditions < at && at < faults,
            "{flag} is a test condition:\n{help}"
        );
    }
    assert!(help.find("--fault ").unwrap() > faults, "{help}");
    assert!(help.contains("--request-timeout"), "{help}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_reference-server"))
        .args(["--rate-limit", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a zero rate is refused");
}
