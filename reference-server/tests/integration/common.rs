//! Helpers shared by the integration tests: a raw HTTP client bound to one server.

#![allow(dead_code)]

use abp_spec::{SchemaValidator, Spec};
use reference_server::{Credentials, EmbeddedServer, Fault, start_embedded};
use serde_json::{Value, json};

pub struct Raw {
    pub http: reqwest::Client,
    pub base: String,
    pub creds: Credentials,
}

pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    /// The `WWW-Authenticate` challenge, if any.
    pub www_authenticate: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

pub fn bearer(credential: &str) -> String {
    format!("Bearer {credential}")
}

impl Raw {
    pub fn new(server: &EmbeddedServer) -> Raw {
        Raw {
            http: reqwest::Client::new(),
            base: server.base_url.clone(),
            creds: server.credentials.clone(),
        }
    }

    /// One request with explicit headers and body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().await.expect("request is answered");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let www_authenticate = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp.bytes().await.expect("body is read").to_vec();
        Answer {
            status,
            content_type,
            www_authenticate,
            body,
        }
    }

    pub async fn create_raw(&self, credential: &str, content_type: &str, body: Vec<u8>) -> Answer {
        let auth = bearer(credential);
        self.send(
            reqwest::Method::POST,
            "/me/tokens",
            &[("authorization", &auth), ("content-type", content_type)],
            Some(body),
        )
        .await
    }

    pub async fn create(&self, credential: &str, body: Value) -> Answer {
        self.create_raw(
            credential,
            "application/json",
            body.to_string().into_bytes(),
        )
        .await
    }

    /// Creates a valid one-week token and returns the 201 body.
    pub async fn create_ok(&self, credential: &str) -> Value {
        let a = self
            .create(
                credential,
                json!({"name": "t", "lifetime": example_lifetime(), "privileges": ["project:read"]}),
            )
            .await;
        assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
        a.json()
    }

    pub async fn list_with(&self, headers: &[(&str, &str)]) -> Answer {
        self.send(reqwest::Method::GET, "/me/tokens", headers, None)
            .await
    }

    pub async fn list(&self, credential: &str) -> Vec<Value> {
        let auth = bearer(credential);
        let a = self.list_with(&[("authorization", &auth)]).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        match a.json() {
            Value::Array(items) => items,
            other => panic!("list is not an array: {other}"),
        }
    }

    pub async fn delete(&self, credential: &str, id: &str) -> Answer {
        let auth = bearer(credential);
        self.send(
            reqwest::Method::DELETE,
            &format!("/me/tokens/{id}"),
            &[("authorization", &auth)],
            None,
        )
        .await
    }
}

/// The first lifetime the spec lists.
pub fn example_lifetime() -> String {
    Spec::embedded().lifetimes().unwrap()[0].name.clone()
}

pub fn schema(name: &str) -> SchemaValidator {
    let pointer = format!("#/components/schemas/{name}");
    Spec::embedded()
        .validator(&json!({ "$ref": pointer }), &pointer)
        .unwrap()
}

/// Asserts a JSON error answer that matches the spec's Error schema, with this code.
pub fn assert_error(a: &Answer, status: u16, code: &str) -> Value {
    assert_eq!(a.status, status, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.content_type.as_deref(), Some("application/json"));
    let body = a.json();
    let violations = schema("Error").violations(&body);
    assert!(violations.is_empty(), "{body}: {violations:?}");
    assert_eq!(body["code"], code, "{body}");
    body
}

pub async fn server(faults: Vec<Fault>) -> (EmbeddedServer, Raw) {
    let s = start_embedded(faults).await.expect("server starts");
    let raw = Raw::new(&s);
    (s, raw)
}

/// Sends raw bytes and reads the whole answer (the request should say `Connection: close`).
pub async fn raw_http(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer (413) and close before reading everything; ignore write errors.
    let _ = stream.write_all(request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut out),
    )
    .await;
    String::from_utf8_lossy(&out).into_owned()
}
