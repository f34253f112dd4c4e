//! The generated client against a local mock server: what it sends and what it decodes.

use abp_tokens_client::{Client, Error, Observer, types};
use serde_json::json;
use std::sync::{Arc, Mutex};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BEARER: &str = "Bearer test-credential";
const ID: &str = "63ea10b94a472e003305232b";

fn client(server: &MockServer, observer: Observer) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, BEARER.parse().unwrap());
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    Client::new_with_client(&format!("{}/api/v1", server.uri()), http, observer)
}

fn token_json(secret: &str) -> serde_json::Value {
    json!({
        "_id": ID, "name": "ci", "token": secret, "privileges": ["project:read"],
        "userId": "u1", "organizationId": "o1",
        "expiresOn": "2025-12-13T01:49:03.391Z", "createdAt": "2025-12-06T01:49:03.391Z",
        "updatedAt": "2025-12-06T01:49:03.391Z"
    })
}

#[tokio::test]
async fn list_sends_bearer_and_decodes_tokens() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/me/tokens"))
        .and(header("authorization", BEARER))
        .and(header("api-version", "1.0.0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([token_json("uat_****abcd")])))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = client(&server, Observer::default())
        .list_my_tokens()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].id.as_str(), ID);
    assert_eq!(tokens[0].privileges, ["project:read"]);
    assert_eq!(
        tokens[0].expires_on.to_rfc3339(),
        "2025-12-13T01:49:03.391+00:00"
    );
}

#[tokio::test]
async fn create_sends_json_body_and_decodes_201() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/me/tokens"))
        .and(header("authorization", BEARER))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "name": "ci", "lifetime": "one-week", "privileges": ["organization:user:read"]
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(token_json("uat_secret")))
        .expect(1)
        .mount(&server)
        .await;
    let body = types::CreateUserAccessTokenRequest {
        name: "ci".parse().unwrap(),
        lifetime: types::TokenLifetime::OneWeek,
        privileges: vec!["organization:user:read".into()],
    };
    let created = client(&server, Observer::default())
        .create_my_token(&body)
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(created.into_inner().token.as_str(), "uat_secret");
}

#[tokio::test]
async fn delete_hits_the_id_path_and_decodes_204() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/api/v1/me/tokens/{ID}")))
        .and(header("authorization", BEARER))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let id: types::ObjectId = ID.parse().unwrap();
    let done = client(&server, Observer::default())
        .delete_my_token(&id)
        .await
        .unwrap();
    assert_eq!(done.status().as_u16(), 204);
}

#[tokio::test]
async fn documented_error_statuses_decode_to_the_error_body() {
    for (status, code) in [
        (400, "bad_request"),
        (401, "unauthorized"),
        (403, "forbidden"),
    ] {
        let server = MockServer::start().await;
        let error = json!({"code": code, "message": "m", "field": "name"});
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_json(error.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_json(error.clone()))
            .mount(&server)
            .await;
        let c = client(&server, Observer::default());
        let body = types::CreateUserAccessTokenRequest {
            name: "x".parse().unwrap(),
            lifetime: types::TokenLifetime::OneDay,
            privileges: vec![],
        };
        match c.create_my_token(&body).await {
            Err(Error::ErrorResponse(r)) => {
                assert_eq!(r.status().as_u16(), status);
                assert_eq!(r.code.as_str(), code);
            }
            other => panic!("{status}: {other:?}"),
        }
        if status != 400 {
            match c.list_my_tokens().await {
                Err(Error::ErrorResponse(r)) => assert_eq!(r.code.as_str(), code),
                other => panic!("{status}: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn observer_sees_raw_exchange_even_when_decoding_fails() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("not json"))
        .mount(&server)
        .await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let c = client(
        &server,
        Observer::new(move |e| sink.lock().unwrap().push(e)),
    );
    let result = c.list_my_tokens().await;
    assert!(
        matches!(result, Err(Error::InvalidResponsePayload(..))),
        "{result:?}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let response = seen[0].response.as_ref().unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"not json");
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].operation_id, "list_my_tokens");
}
