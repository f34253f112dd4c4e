//! What a client developer touches, against a mock server: the constructors of both security
//! schemes (which header arrives) and the error view of a failed call.

use abp_tokens_client::reqwest::header::{HeaderMap, HeaderValue};
use abp_tokens_client::{
    ApiError, Auth, Client, ClientError, ErrorExt, StatusCode, reqwest, security, types,
};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn base(server: &MockServer) -> String {
    format!("{}/api/v1", server.uri())
}

/// Mounts `GET /api/v1/me/tokens` → `200 []`, requiring the header `name: value`.
async fn list_requiring(server: &MockServer, name: &str, value: &str) {
    Mock::given(method("GET"))
        .and(path("/api/v1/me/tokens"))
        .and(header(name, value))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(server)
        .await;
}

/// The one request the server received.
async fn only_request(server: &MockServer) -> wiremock::Request {
    let mut requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    requests.remove(0)
}

#[tokio::test]
async fn with_bearer_sends_an_authorization_bearer_header_only() {
    let server = MockServer::start().await;
    list_requiring(&server, "authorization", "Bearer dev-alice-token").await;
    let client = Client::with_bearer(&base(&server), "dev-alice-token").unwrap();
    let tokens = client.list_my_tokens().await.unwrap().into_inner();
    assert!(tokens.is_empty());
    let request = only_request(&server).await;
    assert!(!request.headers.contains_key(security::ACCESS_TOKEN_HEADER));
}

#[tokio::test]
async fn with_access_token_sends_the_specs_api_key_header_only() {
    let server = MockServer::start().await;
    list_requiring(&server, security::ACCESS_TOKEN_HEADER, "uat_secret").await;
    let client = Client::with_access_token(&base(&server), "uat_secret").unwrap();
    client.list_my_tokens().await.unwrap();
    let request = only_request(&server).await;
    assert!(!request.headers.contains_key("authorization"));
}

#[tokio::test]
async fn with_auth_adds_the_credential_to_the_callers_own_settings() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("x-team", "payments"))
        .and(header(security::ACCESS_TOKEN_HEADER, "uat_secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let mut headers = HeaderMap::new();
    headers.insert("x-team", HeaderValue::from_static("payments"));
    let http = reqwest::Client::builder().default_headers(headers);
    let auth = Auth::AccessToken("uat_secret".into());
    let client = Client::with_auth(&base(&server), &auth, http).unwrap();
    client.list_my_tokens().await.unwrap();
}

/// reqwest drops `Authorization` on a cross-host redirect but would forward the api-key
/// header; the constructors follow no redirect, so the credential stays with the server
/// it was given to.
#[tokio::test]
async fn a_redirect_is_not_followed_so_the_secret_stays_put() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/api/v1/me/tokens", elsewhere.uri())),
        )
        .mount(&server)
        .await;
    for client in [
        Client::with_access_token(&base(&server), "uat_secret").unwrap(),
        Client::with_bearer(&base(&server), "dev-alice-token").unwrap(),
    ] {
        let err = client.list_my_tokens().await.unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::TEMPORARY_REDIRECT));
        assert!(err.api_error().is_none(), "307 is not a documented error");
    }
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

fn create_request() -> types::CreateUserAccessTokenRequest {
    types::CreateUserAccessTokenRequest {
        name: "ci".parse().unwrap(),
        lifetime: types::TokenLifetime::OneDay,
        privileges: vec![],
    }
}

async fn create_answered_with(template: ResponseTemplate) -> ClientError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(template)
        .mount(&server)
        .await;
    let client = Client::with_bearer(&base(&server), "dev-alice-token").unwrap();
    client.create_my_token(&create_request()).await.unwrap_err()
}

#[tokio::test]
async fn a_documented_error_gives_its_status_and_body() {
    let err = create_answered_with(ResponseTemplate::new(400).set_body_json(json!({
        "code": "bad_request", "message": "name is too long", "field": "name"
    })))
    .await;
    let api = err.api_error().expect("400 is documented for create");
    assert_eq!(api.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.code, "bad_request");
    assert_eq!(api.message, "name is too long");
    assert_eq!(api.field, Some("name"));

    let err = create_answered_with(ResponseTemplate::new(403).set_body_json(json!({
        "code": "forbidden", "message": "may not manage tokens"
    })))
    .await;
    assert!(matches!(
        err.api_error(),
        Some(ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            field: None,
            ..
        })
    ));
}

#[tokio::test]
async fn an_undocumented_status_has_no_api_error_but_keeps_its_status() {
    let err = create_answered_with(ResponseTemplate::new(500).set_body_json(json!({
        "code": "internal", "message": "boom"
    })))
    .await;
    assert!(err.api_error().is_none());
    assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
}
