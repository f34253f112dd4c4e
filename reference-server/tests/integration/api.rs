//! Every documented status of every operation, through raw HTTP and the generated client.

use crate::common::{assert_error, bearer, example_lifetime, schema, server};
use abp_spec::Spec;
use abp_tokens_client::types::{CreateUserAccessTokenRequest, ObjectId, TokenLifetime};
use abp_tokens_client::{Client, Observer};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

/// The spec's `x-max-body-bytes` for the create body.
fn body_limit() -> usize {
    Spec::embedded()
        .operation("createMyToken")
        .and_then(|o| o.body)
        .and_then(|b| b.max_bytes)
        .expect("the spec sets x-max-body-bytes") as usize
}

fn typed(base: &str, credential: Option<&str>) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(c) = credential {
        headers.insert(reqwest::header::AUTHORIZATION, bearer(c).parse().unwrap());
    }
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    Client::new_with_client(base, http, Observer::default())
}

fn typed_status<T: std::fmt::Debug>(
    r: Result<T, abp_tokens_client::Error<abp_tokens_client::types::Error>>,
) -> u16 {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(abp_tokens_client::Error::ErrorResponse(rv)) => rv.status().as_u16(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[tokio::test]
async fn typed_client_reaches_every_documented_status() {
    let (srv, _raw) = server(vec![]).await;
    let c = &srv.credentials;
    let alice = typed(&srv.base_url, Some(&c.user));
    let request = CreateUserAccessTokenRequest {
        lifetime: TokenLifetime::OneDay,
        name: "typed".parse().unwrap(),
        privileges: vec!["project:read".into()],
    };
    let created = alice.create_my_token(&request).await.unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created = created.into_inner();
    assert!(created.token.starts_with("uat_"));
    let listed = alice.list_my_tokens().await.unwrap();
    assert_eq!(listed.status().as_u16(), 200);
    assert_eq!(listed.into_inner().len(), 1);

    let nobody = typed(&srv.base_url, None);
    assert_eq!(typed_status(nobody.list_my_tokens().await), 401);
    assert_eq!(typed_status(nobody.create_my_token(&request).await), 401);
    assert_eq!(typed_status(nobody.delete_my_token(&created.id).await), 401);
    let carol = typed(&srv.base_url, Some(&c.forbidden));
    assert_eq!(typed_status(carol.list_my_tokens().await), 403);
    assert_eq!(typed_status(carol.create_my_token(&request).await), 403);
    assert_eq!(typed_status(carol.delete_my_token(&created.id).await), 403);
    let bob = typed(&srv.base_url, Some(&c.other_user));
    assert_eq!(typed_status(bob.delete_my_token(&created.id).await), 404);

    let deleted = alice.delete_my_token(&created.id).await.unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    assert_eq!(typed_status(alice.delete_my_token(&created.id).await), 404);
    let unknown: ObjectId = "0123456789abcdef01234567".parse().unwrap();
    assert_eq!(typed_status(alice.delete_my_token(&unknown).await), 404);
    srv.shutdown().await;
}

#[tokio::test]
async fn created_tokens_follow_the_spec() {
    let (srv, raw) = server(vec![]).await;
    let token_schema = schema("UserAccessToken");
    for lifetime in Spec::embedded().lifetimes().unwrap() {
        let a = raw
            .create(
                &raw.creds.user,
                json!({"name": lifetime.name, "lifetime": lifetime.name, "privileges": ["a:b"], "extra": 1}),
            )
            .await;
        assert_eq!(a.status, 201);
        assert_eq!(a.content_type.as_deref(), Some("application/json"));
        let t = a.json();
        assert!(token_schema.violations(&t).is_empty(), "{t}");
        let id = t["_id"].as_str().unwrap();
        assert!(id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()));
        let secret = t["token"].as_str().unwrap();
        assert!(
            secret.starts_with("uat_") && secret.len() >= 4 + 43,
            "{secret}"
        );
        let at = |k: &str| {
            let text = t[k].as_str().unwrap();
            // Milliseconds and Z, like the docs: 2025-12-06T01:49:03.391Z
            assert_eq!(text.len(), 24, "{text}");
            assert!(text.ends_with('Z'));
            text.parse::<DateTime<Utc>>().unwrap()
        };
        assert_eq!(at("createdAt"), at("updatedAt"));
        assert_eq!(
            at("expiresOn") - at("createdAt"),
            lifetime.duration,
            "{}",
            lifetime.name
        );
        assert_eq!(t["privileges"], json!(["a:b"]));
        assert!(t.get("extra").is_none());
    }
    // The list: oldest first, masked, schema-valid, the secret never shown.
    let items = raw.list(&raw.creds.user).await;
    assert_eq!(items.len(), Spec::embedded().lifetimes().unwrap().len());
    for item in &items {
        assert!(token_schema.violations(item).is_empty(), "{item}");
        assert!(item["token"].as_str().unwrap().starts_with("uat_****"));
    }
    let created: Vec<_> = items
        .iter()
        .map(|i| i["createdAt"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = created.clone();
    sorted.sort();
    assert_eq!(created, sorted);
    srv.shutdown().await;
}

#[tokio::test]
async fn every_bad_input_class_is_a_json_400_naming_the_field_and_stores_nothing() {
    let (srv, raw) = server(vec![]).await;
    let user = raw.creds.user.clone();
    let lifetime = example_lifetime();
    let long_name = "n".repeat(129);
    let cases: Vec<(&str, &str, Vec<u8>, Option<&str>)> = vec![
        (
            "malformed JSON",
            "application/json",
            b"{\"name\": ".to_vec(),
            None,
        ),
        ("empty body", "application/json", Vec::new(), None),
        (
            "wrong content type",
            "text/plain",
            json!({"name": "a", "lifetime": lifetime})
                .to_string()
                .into_bytes(),
            None,
        ),
        (
            "form content type",
            "application/x-www-form-urlencoded",
            b"name=a".to_vec(),
            None,
        ),
        (
            "not an object",
            "application/json",
            b"[1, 2]".to_vec(),
            None,
        ),
        (
            "name not a string",
            "application/json",
            json!({"name": 5, "lifetime": lifetime})
                .to_string()
                .into_bytes(),
            Some("name"),
        ),
        (
            "lifetime not a string",
            "application/json",
            json!({"name": "a", "lifetime": 7}).to_string().into_bytes(),
            Some("lifetime"),
        ),
        (
            "unknown lifetime",
            "application/json",
            json!({"name": "a", "lifetime": "forever"})
                .to_string()
                .into_bytes(),
            Some("lifetime"),
        ),
        (
            "missing lifetime",
            "application/json",
            json!({"name": "a"}).to_string().into_bytes(),
            Some("lifetime"),
        ),
        (
            "missing name",
            "application/json",
            json!({"lifetime": lifetime}).to_string().into_bytes(),
            Some("name"),
        ),
        (
            "privileges not an array",
            "application/json",
            json!({"name": "a", "lifetime": lifetime, "privileges": "x"})
                .to_string()
                .into_bytes(),
            Some("privileges"),
        ),
        (
            "privileges of numbers",
            "application/json",
            json!({"name": "a", "lifetime": lifetime, "privileges": [1]})
                .to_string()
                .into_bytes(),
            Some("privileges"),
        ),
        (
            "nested privileges",
            "application/json",
            json!({"name": "a", "lifetime": lifetime, "privileges": [["x"]]})
                .to_string()
                .into_bytes(),
            Some("privileges"),
        ),
        (
            "empty name",
            "application/json",
            json!({"name": "", "lifetime": lifetime})
                .to_string()
                .into_bytes(),
            Some("name"),
        ),
        (
            "over-long name",
            "application/json",
            json!({"name": long_name, "lifetime": lifetime})
                .to_string()
                .into_bytes(),
            Some("name"),
        ),
        (
            "null name",
            "application/json",
            json!({"name": null, "lifetime": lifetime})
                .to_string()
                .into_bytes(),
            Some("name"),
        ),
    ];
    for (what, content_type, body, field) in cases {
        let a = raw.create_raw(&user, content_type, body).await;
        let e = assert_error(&a, 400, "bad_request");
        assert_eq!(e.get("field").and_then(Value::as_str), field, "{what}: {e}");
        if what.contains("content type") {
            assert!(
                e["message"].as_str().unwrap().contains("application/json"),
                "{e}"
            );
        }
    }
    // A 128-character name is fine; a parameter on the content type too.
    let ok = raw
        .create_raw(
            &user,
            "application/json; charset=utf-8",
            json!({"name": "n".repeat(128), "lifetime": lifetime})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(ok.status, 201);
    assert_eq!(
        raw.list(&user).await.len(),
        1,
        "only the valid create is stored"
    );

    for bad in [
        "xyz",
        "0123456789abcdef0123456",
        "0123456789abcdef012345678",
        "0123456789abcdef0123456g",
    ] {
        let e = assert_error(&raw.delete(&user, bad).await, 400, "bad_request");
        assert_eq!(e["field"], "tokenId");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let (srv, raw) = server(vec![]).await;
    let user = raw.creds.user.clone();
    // Valid JSON padded with whitespace to exactly body_limit() + 1 bytes.
    let mut body = json!({"name": "big", "lifetime": example_lifetime()})
        .to_string()
        .into_bytes();
    body.resize(body_limit() + 1, b' ');
    assert_error(
        &raw.create_raw(&user, "application/json", body.clone())
            .await,
        413,
        "payload_too_large",
    );
    // The same without a Content-Length (chunked) is caught while reading.
    let mut request = format!(
        "POST /api/v1/me/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        bearer(&user)
    )
    .into_bytes();
    for chunk in body.chunks(4096) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let answer = crate::common::raw_http(srv.addr, &request).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Exactly at the limit is processed.
    body.truncate(body_limit());
    assert_eq!(
        raw.create_raw(&user, "application/json", body).await.status,
        201
    );
    assert_eq!(raw.list(&user).await.len(), 1);
    srv.shutdown().await;
}

#[tokio::test]
async fn every_auth_failure_class_is_a_json_401() {
    let (srv, raw) = server(vec![]).await;
    let c = raw.creds.clone();
    let unknown = "not-a-known-credential".to_string();
    let expired = bearer(&c.expired);
    let basic = format!("Basic {}", c.user);
    let bare = format!("Bearer{}", c.user);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("authorization", "")],
        vec![("authorization", "Bearer")],
        vec![("authorization", "Bearer    ")],
        vec![("authorization", &basic)],
        vec![("authorization", &bare)],
        vec![("authorization", "Bearer not-a-known-credential")],
        vec![("authorization", &expired)],
        vec![("x-access-token", &unknown)],
        vec![("x-access-token", "")],
        vec![("x-access-token", &c.user)],
    ];
    for headers in &cases {
        for (method, path, body) in [
            (Method::GET, "/me/tokens".to_string(), None),
            (Method::POST, "/me/tokens".to_string(), Some(b"{}".to_vec())),
            (
                Method::DELETE,
                "/me/tokens/0123456789abcdef01234567".to_string(),
                None,
            ),
        ] {
            let mut h = headers.clone();
            h.push(("content-type", "application/json"));
            let a = raw.send(method.clone(), &path, &h, body).await;
            let e = assert_error(&a, 401, "unauthorized");
            assert!(e.get("field").is_none(), "{headers:?} {method}");
        }
    }
    // The scheme is case-insensitive.
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let auth = format!("{scheme} {}", c.user);
        assert_eq!(raw.list_with(&[("authorization", &auth)]).await.status, 200);
    }
    // The api-version header the generated client sends is accepted.
    let auth = bearer(&c.user);
    assert_eq!(
        raw.list_with(&[("authorization", &auth), ("api-version", "0.0.0")])
            .await
            .status,
        200
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn users_without_the_privilege_get_403_everywhere() {
    let (srv, raw) = server(vec![]).await;
    let f = raw.creds.forbidden.clone();
    assert_error(
        &raw.list_with(&[("authorization", &bearer(&f))]).await,
        403,
        "forbidden",
    );
    // 403 comes before input validation.
    assert_error(
        &raw.create_raw(&f, "text/plain", b"garbage".to_vec()).await,
        403,
        "forbidden",
    );
    assert_error(&raw.delete(&f, "bad-id").await, 403, "forbidden");
    srv.shutdown().await;
}

#[tokio::test]
async fn isolation_masking_and_access_tokens() {
    let (srv, raw) = server(vec![]).await;
    let (alice, bob) = (raw.creds.user.clone(), raw.creds.other_user.clone());
    let t = raw.create_ok(&alice).await;
    let id = t["_id"].as_str().unwrap().to_owned();
    let secret = t["token"].as_str().unwrap().to_owned();

    // Bob sees nothing and cannot delete Alice's token.
    assert!(raw.list(&bob).await.is_empty());
    let e = assert_error(&raw.delete(&bob, &id).await, 404, "not_found");
    assert_eq!(e["message"], "no such token");
    assert_eq!(raw.list(&alice).await.len(), 1);

    // The list never carries the secret.
    let listed = raw.list_with(&[("authorization", &bearer(&alice))]).await;
    let text = String::from_utf8(listed.body).unwrap();
    assert!(!text.contains(&secret));
    assert!(!text.contains(&secret[4..secret.len() - 4]));
    let masked = raw.list(&alice).await[0]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(masked.len(), secret.len());
    assert_eq!(masked[masked.len() - 4..], secret[secret.len() - 4..]);

    // x-access-token authenticates as the owner until the token is deleted.
    let via_token = raw.list_with(&[("x-access-token", &secret)]).await;
    assert_eq!(via_token.status, 200);
    assert_eq!(via_token.json().as_array().unwrap().len(), 1);
    // Authorization decides when both are present.
    let both = raw
        .list_with(&[
            ("authorization", "Bearer nope"),
            ("x-access-token", &secret),
        ])
        .await;
    assert_eq!(both.status, 401);
    let second = raw
        .send(
            Method::POST,
            "/me/tokens",
            &[
                ("x-access-token", &secret),
                ("content-type", "application/json"),
            ],
            Some(
                json!({"name": "via", "lifetime": example_lifetime()})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(second.status, 201);
    assert_eq!(second.json()["userId"], t["userId"]);
    assert_eq!(raw.delete(&alice, &id).await.status, 204);
    assert_error(
        &raw.list_with(&[("x-access-token", &secret)]).await,
        401,
        "unauthorized",
    );
    assert_error(&raw.delete(&alice, &id).await, 404, "not_found");
    assert_eq!(raw.list(&alice).await.len(), 1);
    srv.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let (srv, raw) = server(vec![]).await;
    let auth = bearer(&raw.creds.user);
    assert_error(
        &raw.send(Method::GET, "/nope", &[("authorization", &auth)], None)
            .await,
        404,
        "not_found",
    );
    let a = raw
        .send(Method::PUT, "/me/tokens", &[("authorization", &auth)], None)
        .await;
    assert_eq!(a.status, 405);
    assert_eq!(a.content_type.as_deref(), Some("application/json"));
    let a = raw
        .send(
            Method::GET,
            "/me/tokens/0123456789abcdef01234567",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(a.status, 405);
    srv.shutdown().await;
}

#[tokio::test]
async fn concurrent_create_delete_cycles_leave_exactly_the_survivors() {
    let (srv, raw) = server(vec![]).await;
    let raw = std::sync::Arc::new(raw);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let raw = raw.clone();
        tasks.push(tokio::spawn(async move {
            let user = raw.creds.user.clone();
            let mut kept = Vec::new();
            for i in 0..50 {
                let a = raw
                    .create(
                        &user,
                        json!({"name": format!("c{i}"), "lifetime": example_lifetime()}),
                    )
                    .await;
                assert_eq!(a.status, 201, "no 5xx, no failure");
                let id = a.json()["_id"].as_str().unwrap().to_owned();
                if i % 2 == 0 {
                    assert_eq!(raw.delete(&user, &id).await.status, 204);
                } else {
                    kept.push(id);
                }
            }
            kept
        }));
    }
    let mut expected = Vec::new();
    for t in tasks {
        expected.extend(t.await.unwrap());
    }
    let mut listed: Vec<String> = raw
        .list(&raw.creds.user)
        .await
        .iter()
        .map(|t| t["_id"].as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    listed.sort();
    assert_eq!(listed.len(), 200);
    assert_eq!(listed, expected);
    drop(raw);
    srv.shutdown().await;
}
