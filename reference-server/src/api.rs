//! The router, the shared state and the three operations.

use crate::ServerError;
use crate::error::ApiError;
use crate::fault::Fault;
use crate::fixtures::{Fixtures, User, random_b64};
use crate::store::{Store, TokenRecord};
use abp_spec::{Lifetime, SchemaValidator, Spec};
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a server is set up.
#[derive(Debug, Clone)]
pub struct Config {
    pub fixtures: Fixtures,
    pub faults: Vec<Fault>,
    /// Extra delay per request.
    pub latency: Option<Duration>,
    /// SQLite database; in memory when `None`.
    pub db: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            fixtures: Fixtures::development(),
            faults: Vec::new(),
            latency: None,
            db: None,
        }
    }
}

/// The state every handler shares; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    fixtures: Fixtures,
    faults: HashSet<Fault>,
    latency: Option<Duration>,
    store: Arc<Store>,
    lifetimes: Vec<Lifetime>,
    /// The lifetime the spec gives as its example; the faults that invent a lifetime use it.
    example_lifetime: Lifetime,
    create_validator: SchemaValidator,
    /// The largest create body accepted: the spec's `x-max-body-bytes`.
    body_limit: usize,
    token_id_validator: SchemaValidator,
    /// Fault `secret-survives-delete`: hashes of deleted secrets and their owners.
    ghosts: Mutex<HashMap<String, String>>,
    /// Fault `reused-secret`: the one secret each user gets.
    reused: Mutex<HashMap<String, String>>,
    /// Fault `list-unmasked`: the full secret of each token (never kept otherwise).
    secrets: Mutex<HashMap<String, String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn spec_invalid(pointer: &str, message: &str) -> ServerError {
    ServerError::Spec(abp_spec::SpecError::Invalid {
        pointer: pointer.into(),
        message: message.into(),
    })
}

impl AppState {
    pub fn new(config: Config) -> Result<AppState, ServerError> {
        let spec = Spec::embedded();
        let lifetimes = spec.lifetimes()?;
        let create = spec
            .operation("createMyToken")
            .ok_or_else(|| spec_invalid("#/paths", "no operation createMyToken"))?;
        let body = create
            .body
            .ok_or_else(|| spec_invalid(&create.pointer, "createMyToken has no request body"))?;
        let create_validator = spec.validator(&body.schema, &body.pointer)?;
        let body_limit = body
            .max_bytes
            .and_then(|b| usize::try_from(b).ok())
            .ok_or_else(|| {
                spec_invalid(&body.pointer, "the create body has no x-max-body-bytes")
            })?;
        // The lifetime property's example names the lifetime that faults fall back to.
        let (request_schema, _) = spec.resolve(&body.schema, body.pointer.clone());
        let example_name = request_schema
            .pointer("/properties/lifetime")
            .map(|l| spec.resolve(l, String::new()).0)
            .and_then(|l| l.get("example"))
            .and_then(Value::as_str);
        let example_lifetime = lifetimes
            .iter()
            .find(|l| Some(l.name.as_str()) == example_name)
            .or_else(|| lifetimes.first())
            .cloned()
            .ok_or_else(|| spec_invalid("#/components/schemas", "no lifetimes"))?;
        let delete = spec
            .operation("deleteMyToken")
            .ok_or_else(|| spec_invalid("#/paths", "no operation deleteMyToken"))?;
        let param = delete
            .params
            .iter()
            .find(|p| p.location == "path")
            .ok_or_else(|| spec_invalid(&delete.pointer, "deleteMyToken has no path parameter"))?;
        let token_id_validator = spec.validator(&param.schema, &param.pointer)?;
        config
            .fixtures
            .check()
            .map_err(|message| ServerError::FixturesInvalid {
                path: PathBuf::from("<fixtures>"),
                message,
            })?;
        let store = match &config.db {
            Some(path) => Store::sqlite(path)?,
            None => Store::memory(),
        };
        Ok(AppState {
            inner: Arc::new(Inner {
                fixtures: config.fixtures,
                faults: config.faults.into_iter().collect(),
                latency: config.latency,
                store: Arc::new(store),
                lifetimes,
                example_lifetime,
                create_validator,
                body_limit,
                token_id_validator,
                ghosts: Mutex::default(),
                reused: Mutex::default(),
                secrets: Mutex::default(),
            }),
        })
    }

    pub fn fixtures(&self) -> &Fixtures {
        &self.inner.fixtures
    }

    /// The enabled faults, in catalog order.
    pub fn faults(&self) -> Vec<Fault> {
        Fault::ALL
            .iter()
            .copied()
            .filter(|f| self.inner.faults.contains(f))
            .collect()
    }

    /// The largest create body accepted (the spec's `x-max-body-bytes`).
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    fn has(&self, fault: Fault) -> bool {
        self.inner.faults.contains(&fault)
    }

    /// Runs a store operation; SQLite calls block, so they go to the blocking pool.
    async fn store<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<R, ServerError> + Send + 'static,
    ) -> Result<R, ApiError> {
        let store = Arc::clone(&self.inner.store);
        let result = if store.is_sqlite() {
            tokio::task::spawn_blocking(move || f(&store))
                .await
                .map_err(|e| ServerError::Storage(e.to_string()))
                .and_then(|r| r)
        } else {
            f(&store)
        };
        result.map_err(|e| {
            tracing::error!(error = %e, "storage failed");
            ApiError::internal("storage failed")
        })
    }

    fn unauthorized(&self) -> Response {
        if self.has(Fault::AuthErrorPlainText) {
            let mut r = (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            return r;
        }
        ApiError::unauthorized().into_response()
    }

    /// Authentication (401) then the privilege check (403).
    async fn authorize(&self, headers: &HeaderMap) -> Result<User, Response> {
        let user = self
            .authenticate(headers)
            .await
            .ok_or_else(|| self.unauthorized())?;
        if user.may_manage_tokens() || self.has(Fault::ForbiddenAllowed) {
            Ok(user)
        } else {
            Err(ApiError::forbidden().into_response())
        }
    }

    async fn authenticate(&self, headers: &HeaderMap) -> Option<User> {
        let now = Utc::now();
        let fixtures = &self.inner.fixtures;
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let text = value.to_str().ok()?.trim();
            let (scheme, credential) = text.split_once(' ')?;
            let scheme_ok = if self.has(Fault::LowercaseSchemeRejected) {
                scheme == "Bearer"
            } else {
                scheme.eq_ignore_ascii_case("bearer")
            };
            let credential = credential.trim();
            if !scheme_ok || credential.is_empty() {
                return None;
            }
            return match fixtures.by_credential(credential) {
                Some(u) if !u.is_expired(now) || self.has(Fault::ExpiredAccepted) => {
                    Some(u.clone())
                }
                Some(_) => None,
                None if self.has(Fault::AnyBearerAccepted) => fixtures.users.first().cloned(),
                None => None,
            };
        }
        let secret = headers.get("x-access-token")?.to_str().ok()?.trim();
        if secret.is_empty() {
            return None;
        }
        let hash = sha256_hex(secret);
        let lookup = hash.clone();
        let record = self
            .store(move |s| s.find_by_hash(&lookup))
            .await
            .ok()
            .flatten();
        let owner = match record {
            Some(r) if r.expires_on > now => Some(r.user_id),
            _ if self.has(Fault::SecretSurvivesDelete) => {
                lock(&self.inner.ghosts).get(&hash).cloned()
            }
            _ => None,
        }?;
        fixtures.by_id(&owner).cloned()
    }

    fn timestamp(&self, t: &DateTime<Utc>) -> String {
        if self.has(Fault::TimestampsNotIso) {
            t.format("%Y-%m-%d %H:%M:%S").to_string()
        } else {
            t.to_rfc3339_opts(SecondsFormat::Millis, true)
        }
    }

    fn token_json<'a>(&self, record: &'a TokenRecord, token: &'a str) -> TokenJson<'a> {
        TokenJson {
            id: &record.id,
            name: &record.name,
            token,
            privileges: &record.privileges,
            user_id: (!self.has(Fault::MissingUserId)).then_some(record.user_id.as_str()),
            organization_id: &record.organization_id,
            expires_on: self.timestamp(&record.expires_on),
            created_at: self.timestamp(&record.created_at),
            updated_at: self.timestamp(&record.updated_at),
        }
    }
}

#[derive(Serialize)]
struct TokenJson<'a> {
    #[serde(rename = "_id")]
    id: &'a str,
    name: &'a str,
    token: &'a str,
    privileges: &'a [String],
    #[serde(rename = "userId", skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(rename = "organizationId")]
    organization_id: &'a str,
    #[serde(rename = "expiresOn")]
    expires_on: String,
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "updatedAt")]
    updated_at: String,
}

#[derive(Deserialize)]
struct CreateRequest {
    name: String,
    lifetime: String,
    #[serde(default)]
    privileges: Vec<String>,
}

pub(crate) fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `uat_`, then `*` for all but the last four characters, then those four.
pub(crate) fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    let stars = chars.len().saturating_sub(8);
    format!("uat_{}{tail}", "*".repeat(stars))
}

/// A 24-hex ObjectId: 4 bytes of big-endian seconds, then 8 random bytes.
fn object_id(now: DateTime<Utc>) -> String {
    let seconds = u32::try_from(now.timestamp()).unwrap_or(u32::MAX);
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&seconds.to_be_bytes());
    rand::fill(&mut bytes[4..]);
    hex::encode(bytes)
}

fn now_ms() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// A JSON answer; fields keep their declared order (the spec's order for tokens).
fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let mut r = (status, bytes).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Cuts long messages (schema messages quote the offending value) at a character boundary.
fn shorten(mut message: String) -> String {
    const MAX: usize = 300;
    if message.len() > MAX {
        let mut end = MAX;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

/// The field a schema violation is about: the first segment of the instance path, or for
/// `required` the missing property.
fn violation_field(v: &abp_spec::SchemaViolation) -> Option<String> {
    let first = v
        .instance_path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    if !first.is_empty() {
        return Some(first.replace("~1", "/").replace("~0", "~"));
    }
    if v.schema_path.ends_with("required") {
        let start = v.message.find('"')? + 1;
        let len = v.message[start..].find('"')?;
        return Some(v.message[start..start + len].to_owned());
    }
    None
}

fn flatten_into(value: Value, out: &mut Vec<Value>) {
    match value {
        Value::Array(items) => items.into_iter().for_each(|i| flatten_into(i, out)),
        other => out.push(other),
    }
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = match state.authorize(&headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let owner = (!state.has(Fault::ListShowsOtherUsers)).then(|| user.id.clone());
    let records = match state.store(move |s| s.list(owner.as_deref())).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let now = Utc::now();
    let secrets = lock(&state.inner.secrets).clone();
    let items: Vec<TokenJson<'_>> = records
        .iter()
        .filter(|r| r.expires_on > now)
        .map(|r| {
            let token = if state.has(Fault::ListUnmasked) {
                secrets.get(&r.id).unwrap_or(&r.masked)
            } else {
                &r.masked
            };
            state.token_json(r, token)
        })
        .collect();
    json_response(StatusCode::OK, &items)
}

/// Reads the body up to the limit; `Err` is the answer to send.
async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Vec<u8>, ApiError> {
    let limit = (!state.has(Fault::NoBodyLimit)).then_some(state.inner.body_limit);
    if let Some(limit) = limit {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::payload_too_large(limit));
        }
    }
    let mut body = body;
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|_| ApiError::bad_request(None, "cannot read the request body"))?;
        if let Ok(data) = frame.into_data() {
            bytes.extend_from_slice(&data);
            if let Some(limit) = limit
                && bytes.len() > limit
            {
                return Err(ApiError::payload_too_large(limit));
            }
        }
    }
    Ok(bytes)
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Checks a create body; `Ok` carries the request and whether the name must be stored empty.
fn validate_create(
    state: &AppState,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<(CreateRequest, bool), ApiError> {
    if !is_json_content_type(headers) {
        return Err(ApiError::bad_request(
            None,
            "expected content type application/json",
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            None,
            "the request body is empty; expected a JSON object",
        ));
    }
    let mut value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let message = format!("malformed JSON: {e}");
        if state.has(Fault::MalformedJson500) {
            ApiError::internal(message)
        } else {
            ApiError::bad_request(None, message)
        }
    })?;
    let mut empty_name = false;
    if let Value::Object(map) = &mut value {
        if state.has(Fault::AcceptMissingName) && !map.contains_key("name") {
            map.insert("name".into(), Value::String("placeholder".into()));
            empty_name = true;
        }
        if state.has(Fault::AcceptUnknownLifetime)
            && let Some(Value::String(l)) = map.get("lifetime")
            && !state.inner.lifetimes.iter().any(|known| &known.name == l)
        {
            map.insert(
                "lifetime".into(),
                Value::String(state.inner.example_lifetime.name.clone()),
            );
        }
        if state.has(Fault::AcceptNestedPrivileges)
            && let Some(Value::Array(items)) = map.get_mut("privileges")
        {
            let mut flat = Vec::new();
            flatten_into(Value::Array(std::mem::take(items)), &mut flat);
            *items = flat;
        }
    }
    if let Some(v) = state
        .inner
        .create_validator
        .violations(&value)
        .into_iter()
        .next()
    {
        let field = violation_field(&v);
        let message = match &field {
            Some(f) => format!("{f}: {}", v.message),
            None => format!("body: {}", v.message),
        };
        return Err(ApiError::bad_request(field.as_deref(), shorten(message)));
    }
    let request: CreateRequest = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(None, shorten(format!("body: {e}"))))?;
    Ok((request, empty_name))
}

async fn create(State(state): State<AppState>, headers: HeaderMap, request: Request) -> Response {
    let user = match state.authorize(&headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let bytes = match read_body(&state, &headers, request.into_body()).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let (req, empty_name) = match validate_create(&state, &headers, &bytes) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let Some(lifetime) = state
        .inner
        .lifetimes
        .iter()
        .find(|l| l.name == req.lifetime)
    else {
        return ApiError::bad_request(Some("lifetime"), "lifetime: unknown lifetime")
            .into_response();
    };
    let duration: TimeDelta = if state.has(Fault::WrongExpiry) {
        // The deliberate bug: the spec's example lifetime (a week) whatever was asked for.
        state.inner.example_lifetime.duration
    } else {
        lifetime.duration
    };
    let secret = {
        let fresh = || format!("uat_{}", random_b64(32));
        if state.has(Fault::ReusedSecret) {
            lock(&state.inner.reused)
                .entry(user.id.clone())
                .or_insert_with(fresh)
                .clone()
        } else {
            fresh()
        }
    };
    let now = now_ms();
    let record = TokenRecord {
        id: object_id(now),
        name: if empty_name { String::new() } else { req.name },
        hash: sha256_hex(&secret),
        masked: mask(&secret),
        privileges: if state.has(Fault::PrivilegesDropped) {
            Vec::new()
        } else {
            req.privileges
        },
        user_id: user.id.clone(),
        organization_id: user.organization.clone(),
        created_at: now,
        updated_at: now,
        expires_on: now + duration,
    };
    let stored = record.clone();
    if let Err(e) = state.store(move |s| s.insert(&stored)).await {
        return e.into_response();
    }
    if state.has(Fault::ListUnmasked) {
        lock(&state.inner.secrets).insert(record.id.clone(), secret.clone());
    }
    let status = if state.has(Fault::CreateReturns200) {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    json_response(status, &state.token_json(&record, &secret))
}

fn no_content(state: &AppState) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    if state.has(Fault::DeleteReturnsBody) {
        // hyper drops 204 bodies; the wire layer writes this one (see `wire.rs`). The
        // connection closes afterwards so the stray bytes cannot corrupt a pooled connection.
        const BODY: &str = r#"{"deleted":true}"#;
        let headers = r.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(BODY.len()));
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        if let Ok(v) = HeaderValue::from_str(&hex::encode(BODY)) {
            headers.insert(crate::wire::INJECT_BODY_HEADER, v);
        }
    }
    r
}

async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let user = match state.authorize(&headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let not_found = || {
        let message = if state.has(Fault::ErrorMessageChanged) {
            "token not found"
        } else {
            "no such token"
        };
        ApiError::not_found(message).into_response()
    };
    let id = match id {
        Ok(Path(id)) => id,
        Err(_) => {
            return ApiError::bad_request(
                Some("tokenId"),
                "tokenId: cannot decode the path parameter",
            )
            .into_response();
        }
    };
    if let Some(v) = state
        .inner
        .token_id_validator
        .violations(&Value::String(id.clone()))
        .into_iter()
        .next()
    {
        if state.has(Fault::BadTokenId404) {
            return not_found();
        }
        return ApiError::bad_request(Some("tokenId"), shorten(format!("tokenId: {}", v.message)))
            .into_response();
    }
    if state.has(Fault::DeleteNoop) {
        let lookup = id.clone();
        return match state.store(move |s| s.get(&lookup)).await {
            Ok(Some(r)) if r.user_id == user.id => no_content(&state),
            Ok(_) if state.has(Fault::SecondDeleteSucceeds) => no_content(&state),
            Ok(_) => not_found(),
            Err(e) => e.into_response(),
        };
    }
    let owner = (!state.has(Fault::DeleteOtherUsers)).then(|| user.id.clone());
    match state.store(move |s| s.delete(&id, owner.as_deref())).await {
        Ok(Some(record)) => {
            if state.has(Fault::SecretSurvivesDelete) {
                lock(&state.inner.ghosts).insert(record.hash.clone(), record.user_id.clone());
            }
            lock(&state.inner.secrets).remove(&record.id);
            no_content(&state)
        }
        Ok(None) if state.has(Fault::SecondDeleteSucceeds) => no_content(&state),
        Ok(None) => not_found(),
        Err(e) => e.into_response(),
    }
}

async fn route_not_found() -> Response {
    ApiError::not_found("no such route").into_response()
}

fn method_not_allowed(allow: &'static str) -> impl Fn() -> std::future::Ready<Response> + Clone {
    move || {
        let mut r = ApiError::method_not_allowed().into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        std::future::ready(r)
    }
}

async fn latency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(delay) = state.inner.latency {
        tokio::time::sleep(delay).await;
    }
    next.run(request).await
}

/// Logs method, path, status and latency; never a header value.
async fn log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method: Method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// The API under `/api/v1`, with JSON answers for unknown routes and methods.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/me/tokens",
            get(list)
                .post(create)
                .fallback(method_not_allowed("GET, HEAD, POST")),
        )
        .route(
            "/me/tokens/{tokenId}",
            axum::routing::delete(delete).fallback(method_not_allowed("DELETE")),
        );
    Router::new()
        .nest("/api/v1", api)
        .fallback(route_not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), latency))
        .layer(axum::middleware::from_fn(log))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_length_and_last_four() {
        let secret = format!("uat_{}", random_b64(32));
        let masked = mask(&secret);
        assert_eq!(masked.len(), secret.len());
        assert!(masked.starts_with("uat_****"));
        assert_eq!(&masked[masked.len() - 4..], &secret[secret.len() - 4..]);
        assert!(!masked.contains(&secret[4..12]));
    }

    #[test]
    fn object_ids_are_24_hex() {
        let id = object_id(Utc::now());
        assert_eq!(id.len(), 24);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn state_builds_from_the_spec() {
        let state = AppState::new(Config::default()).unwrap();
        assert!(state.inner.lifetimes.len() >= 2);
        assert_eq!(state.inner.example_lifetime.duration, TimeDelta::days(7));
    }
}
