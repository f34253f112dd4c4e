//! The catalog of conformant variants: behaviours that differ from the server's defaults yet
//! conform to the spec, its recorded decisions (`openapi/TRANSCRIPTION.md`) and the HTTP and
//! JSON RFCs. A conformance run must pass against every one of them (the specificity test,
//! `conformance/tests/integration/specificity.rs`), the mirror of the fault catalog whose every entry a
//! run must catch.
//!
//! Each variant is off unless named with `--variant NAME`. Most act on the answer after the
//! handler made it ([`rewrite`], one middleware), so the handlers stay free of them; the
//! secret format changes the [`Behaviour`] ([`apply`]); the account of many tokens is seeded
//! at start-up ([`seed`]); connection habits are carried out by the wire layer (`wire.rs`),
//! asked for with a marker header.

use crate::behaviour::{Behaviour, SecretMint};
use crate::error::ApiError;
use crate::fixtures::{Fixtures, random_b64};
use crate::state::AppState;
use crate::store::{TokenRecord, TokenStore};
use crate::tokens::{now_ms, object_id, sha256_hex};
use crate::wire;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! variants {
    ($( $variant:ident => ($name:literal, $class:literal, $basis:literal, $description:literal), )*) => {
        /// A named conformant behaviour that differs from the server's default.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Variant {
            $( $variant, )*
        }

        impl Variant {
            /// Every variant, in catalog order.
            pub const ALL: &'static [Variant] = &[ $( Variant::$variant, )* ];

            /// The name used on the command line.
            pub fn name(self) -> &'static str {
                match self { $( Variant::$variant => $name, )* }
            }

            /// The class of behaviour it belongs to.
            pub fn class(self) -> &'static str {
                match self { $( Variant::$variant => $class, )* }
            }

            /// The RFC section or spec decision that makes it conformant.
            pub fn basis(self) -> &'static str {
                match self { $( Variant::$variant => $basis, )* }
            }

            /// One sentence saying what the server does differently.
            pub fn description(self) -> &'static str {
                match self { $( Variant::$variant => $description, )* }
            }
        }
    };
}

variants! {
    Gzip => ("gzip", "content-coding", "RFC 9110 §8.4.1.3, §12.5.3 (no Accept-Encoding accepts any coding)", "answers are gzip-encoded whenever the request accepts gzip, including requests without Accept-Encoding"),
    Deflate => ("deflate", "content-coding", "RFC 9110 §8.4.1.2, §12.5.3", "answers are deflate-encoded whenever the request accepts deflate, including requests without Accept-Encoding"),
    TimestampsOffset => ("timestamps-offset", "timestamps", "RFC 3339 §5.6 (time-numoffset); the spec's format: date-time", "timestamps are written in +02:00 local time: `2025-12-06T03:49:03.391+02:00`"),
    TimestampsMicros => ("timestamps-micros", "timestamps", "RFC 3339 §5.6 (time-secfrac is any number of digits)", "timestamps carry microseconds: `2025-12-06T01:49:03.391000Z`"),
    TimestampsSeconds => ("timestamps-seconds", "timestamps", "RFC 3339 §5.6 (time-secfrac is optional)", "timestamps carry whole seconds: `2025-12-06T01:49:03Z`"),
    ExtraTokenFields => ("extra-token-fields", "extra-fields", "the token schema allows properties it does not list (OpenAPI 3.0 additionalProperties)", "token objects carry `lastUsedAt: null`, `revoked: false` and `servedAt`, the time of each answer"),
    ExtraErrorFields => ("extra-error-fields", "extra-fields", "the Error schema allows properties it does not list (OpenAPI 3.0 additionalProperties)", "error bodies carry `requestId` and `timestamp`, new on every request"),
    ListNewestFirst => ("list-newest-first", "list-order", "the list operation states no order (#/paths/~1me~1tokens/get)", "the list shows the newest token first"),
    ListRandomOrder => ("list-random-order", "list-order", "the list operation states no order (#/paths/~1me~1tokens/get)", "the list is shuffled on every request"),
    UppercaseIds => ("uppercase-ids", "id-case", "#/components/schemas/ObjectId pattern ^[0-9a-fA-F]{24}$ allows uppercase hex", "ids are written in uppercase hex and accepted in either case"),
    ErrorWording => ("error-wording", "error-wording", "Error.message is free text; Error.code is a pattern, not an enum (TRANSCRIPTION.md \"Error codes are a pattern\"), except the decided not_found and payload_too_large", "every error message is worded differently and the undecided codes are other snake_case words"),
    RichChallenge => ("rich-challenge", "www-authenticate", "RFC 9110 §11.6.1 (one or more challenges, auth-params), RFC 6750 §3", "401 answers carry a Bearer challenge with error and error_description, and a second WWW-Authenticate field"),
    ConnectionClose => ("connection-close", "connection", "RFC 9112 §9.6 (Connection: close)", "every answer says Connection: close and the connection is closed after it"),
    Chunked => ("chunked", "connection", "RFC 9112 §7.1 (chunked transfer coding)", "bodies are sent chunked, without Content-Length"),
    IdleTimeout => ("idle-timeout", "connection", "RFC 9112 §9.5 (a server may close an idle connection at any time)", "a connection idle for 300 ms is closed, under the client's connection pool"),
    SmallWrites => ("small-writes", "connection", "RFC 9112 §2.1 (a message is a byte stream; its writes have no boundaries)", "answers are written to the socket 7 bytes at a time"),
    TitleCaseHeaders => ("title-case-headers", "connection", "RFC 9110 §5.1 (field names are case-insensitive); the default answers use lowercase names", "header names are written in Title-Case (`Content-Type`)"),
    OddReasonPhrase => ("odd-reason-phrase", "connection", "RFC 9112 §4 (a client ignores the reason-phrase)", "status lines carry unusual reason phrases (`HTTP/1.1 200 Fine Thanks`)"),
    Transient503 => ("transient-503", "availability", "RFC 9110 §15.6.4 and §10.2.3 (503 with Retry-After)", "every 40th request is answered 503 with Retry-After: 1 and not carried out"),
    RateLimitNoRetryAfter => ("rate-limit-no-retry-after", "availability", "RFC 6585 §4 (a 429 MAY include Retry-After)", "every 50th request is answered 429 without Retry-After and not carried out"),
    SecretHex => ("secret-hex", "secret-format", "TRANSCRIPTION.md \"The mask format\" (the runner does not check the mask's form); token is a string with minLength 1", "secrets are 40 lowercase hex digits without a prefix; the list masks them as `****` and the last four"),
    ClockAhead => ("clock-ahead", "clock", "--clock-tolerance (default 120 s): a server clock within it is correct", "the server's clock is 60 s ahead: every timestamp it writes is a minute late"),
    ManyTokens => ("many-tokens", "account", "a run deletes only tokens it created (ARCHITECTURE.md); a real account holds others", "each user who may manage tokens already holds 40 tokens, which a run must leave alone"),
    CharsetParameter => ("charset-parameter", "media-type", "RFC 9110 §8.3.1 (media type parameters); RFC 8259 §11", "JSON answers say `application/json; charset=utf-8`"),
}

impl Variant {
    /// The variant with this name.
    pub fn from_name(name: &str) -> Option<Variant> {
        Variant::ALL.iter().copied().find(|v| v.name() == name)
    }
}

impl std::str::FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Variant, String> {
        Variant::from_name(s).ok_or_else(|| {
            let names: Vec<_> = Variant::ALL.iter().map(|v| v.name()).collect();
            format!(
                "unknown variant `{s}`; known variants: {}",
                names.join(", ")
            )
        })
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The variant catalog, one line each: `name  class  description (basis)`.
pub fn variant_catalog() -> String {
    let width = Variant::ALL
        .iter()
        .map(|v| v.name().len())
        .max()
        .unwrap_or(0);
    Variant::ALL
        .iter()
        .map(|v| {
            format!(
                "{:width$}  {:16}  {} ({})\n",
                v.name(),
                v.class(),
                v.description(),
                v.basis()
            )
        })
        .collect()
}

/// How many tokens `many-tokens` gives each user who may manage tokens.
pub const SEEDED_TOKENS: usize = 40;

/// The name prefix of the tokens `many-tokens` seeds.
pub const SEEDED_NAME_PREFIX: &str = "held-before-the-run-";

/// How far `clock-ahead` puts the server's clock ahead.
const CLOCK_AHEAD: TimeDelta = TimeDelta::seconds(60);

/// The switched-on variants and what they need at run time.
pub(crate) struct Variants {
    on: Vec<Variant>,
    /// Requests seen (for the periodic 503 and 429).
    counted: AtomicU64,
    /// Object keys whose values are `format: date-time` somewhere in the spec.
    date_time_keys: BTreeSet<String>,
    /// Object keys whose values are `readOnly` (the ids).
    read_only_keys: BTreeSet<String>,
}

fn collect_keys(
    node: &Value,
    spec: &abp_spec::Spec,
    out: &mut (BTreeSet<String>, BTreeSet<String>),
) {
    match node {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                for (key, schema) in props {
                    let (schema, _) = spec.resolve(schema, String::new());
                    let member = |k: &str, v: &Value| {
                        schema.get(k) == Some(v)
                            || schema
                                .get("allOf")
                                .and_then(Value::as_array)
                                .is_some_and(|all| {
                                    all.iter()
                                        .any(|m| spec.resolve(m, String::new()).0.get(k) == Some(v))
                                })
                    };
                    if member("format", &json!("date-time")) {
                        out.0.insert(key.clone());
                    }
                    if member("readOnly", &json!(true)) {
                        out.1.insert(key.clone());
                    }
                }
            }
            map.values().for_each(|v| collect_keys(v, spec, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_keys(v, spec, out)),
        _ => {}
    }
}

impl Variants {
    pub fn new(variants: &[Variant]) -> Variants {
        let spec = abp_spec::Spec::embedded();
        let mut keys = (BTreeSet::new(), BTreeSet::new());
        collect_keys(spec.document(), &spec, &mut keys);
        Variants {
            on: Variant::ALL
                .iter()
                .copied()
                .filter(|v| variants.contains(v))
                .collect(),
            counted: AtomicU64::new(0),
            date_time_keys: keys.0,
            read_only_keys: keys.1,
        }
    }

    /// The switched-on variants, in catalog order.
    pub fn list(&self) -> &[Variant] {
        &self.on
    }

    fn has(&self, v: Variant) -> bool {
        self.on.contains(&v)
    }
}

/// A secret of 40 lowercase hex digits (`secret-hex`).
fn hex_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// `****` and the last four characters (`secret-hex`): shorter than the secret.
fn short_mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("****{tail}")
}

/// Changes the behaviour for the variants that act inside the handlers.
pub(crate) fn apply(variants: &Variants, behaviour: &mut Behaviour) {
    if variants.has(Variant::SecretHex) {
        behaviour.secrets = SecretMint::Minted(hex_secret);
        behaviour.mask = short_mask;
    }
    if variants.has(Variant::UppercaseIds) {
        behaviour.store = Arc::new(IdsAnyCase(Arc::clone(&behaviour.store)));
    }
}

/// `uppercase-ids`: the ids are stored in lowercase and looked up in either case, the
/// answers write them in uppercase ([`rewrite_json`]).
struct IdsAnyCase(Arc<dyn TokenStore>);

impl TokenStore for IdsAnyCase {
    fn blocks(&self) -> bool {
        self.0.blocks()
    }
    fn insert(&self, record: &TokenRecord) -> Result<(), crate::ServerError> {
        self.0.insert(record)
    }
    fn list(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>, crate::ServerError> {
        self.0.list(owner)
    }
    fn get(&self, id: &str) -> Result<Option<TokenRecord>, crate::ServerError> {
        self.0.get(&id.to_ascii_lowercase())
    }
    fn find_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, crate::ServerError> {
        self.0.find_by_hash(hash)
    }
    fn delete(&self, id: &str, owner: Option<&str>) -> Result<bool, crate::ServerError> {
        self.0.delete(&id.to_ascii_lowercase(), owner)
    }
    fn layers(&self) -> Vec<&'static str> {
        let mut layers = self.0.layers();
        layers.push("IdsAnyCase");
        layers
    }
}

/// Gives every user who may manage tokens [`SEEDED_TOKENS`] tokens (`many-tokens`).
pub(crate) fn seed(
    variants: &Variants,
    fixtures: &Fixtures,
    behaviour: &Behaviour,
) -> Result<(), crate::ServerError> {
    if !variants.has(Variant::ManyTokens) {
        return Ok(());
    }
    let now = now_ms();
    for user in fixtures.users.iter().filter(|u| u.may_manage_tokens()) {
        for n in 0..SEEDED_TOKENS {
            let secret = behaviour.secrets.secret(&user.id);
            let created = now - TimeDelta::hours(1) + TimeDelta::seconds(n as i64);
            behaviour.store.insert(&TokenRecord {
                id: object_id(created),
                name: format!("{SEEDED_NAME_PREFIX}{n:02}"),
                hash: sha256_hex(&secret),
                masked: (behaviour.mask)(&secret),
                privileges: Vec::new(),
                user_id: user.id.clone(),
                organization_id: user.organization.clone(),
                created_at: created,
                updated_at: created,
                expires_on: created + TimeDelta::days(3650),
            })?;
        }
    }
    Ok(())
}

/// True when the request's `Accept-Encoding` accepts `coding` (RFC 9110, section 12.5.3):
/// no header accepts every coding; otherwise the coding or `*` must be listed with q > 0.
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    let Some(value) = headers.get(header::ACCEPT_ENCODING) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let mut star = None;
    for member in value.split(',') {
        let mut parts = member.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        if name == coding {
            return q > 0.0;
        }
        if name == "*" {
            star = Some(q > 0.0);
        }
    }
    star.unwrap_or(false)
}

/// True on every `every`th request, counted from one.
fn every(count: u64, every: u64) -> bool {
    count % every == every - 1
}

/// The middleware that carries out the variants on each request and answer.
pub(crate) async fn rewrite(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let v = state.variant_state();
    if v.on.is_empty() {
        return next.run(request).await;
    }
    let count = v.counted.fetch_add(1, Ordering::Relaxed);
    if v.has(Variant::Transient503) && every(count, 40) {
        let mut r = ApiError::internal("the service is briefly unavailable")
            .with_status(StatusCode::SERVICE_UNAVAILABLE)
            .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return finish(v, request.headers(), r, false).await;
    }
    if v.has(Variant::RateLimitNoRetryAfter) && every(count, 50) {
        let r = ApiError::too_many_requests().into_response();
        return finish(v, request.headers(), r, false).await;
    }
    let headers = request.headers().clone();
    let listing = request.method() == Method::GET;
    let response = next.run(request).await;
    finish(v, &headers, response, listing).await
}

/// The answer with every answer-side variant applied.
async fn finish(v: &Variants, request: &HeaderMap, response: Response, listing: bool) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(mut bytes) = axum::body::to_bytes(body, usize::MAX)
        .await
        .map(|b| b.to_vec())
    else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"application/json"));
    let mut changed = false;
    if json && let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) {
        let status = parts.status;
        rewrite_json(v, &mut value, status, listing && status == StatusCode::OK);
        if let Ok(b) = serde_json::to_vec(&value) {
            bytes = b;
            changed = true;
        }
        if v.has(Variant::CharsetParameter) {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
        }
    }
    if v.has(Variant::RichChallenge) && parts.status == StatusCode::UNAUTHORIZED {
        let first = parts
            .headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|c| c.to_str().ok())
            .unwrap_or("Bearer")
            .to_owned();
        let rich = format!(
            "{first}, error=\"invalid_token\", error_description=\"The access token is missing, expired, or invalid\""
        );
        if let Ok(rich) = HeaderValue::from_str(&rich) {
            parts.headers.insert(header::WWW_AUTHENTICATE, rich);
            parts.headers.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"legacy\", charset=\"UTF-8\""),
            );
        }
    }
    let coding = [(Variant::Gzip, "gzip"), (Variant::Deflate, "deflate")]
        .into_iter()
        .find(|(variant, coding)| v.has(*variant) && accepts(request, coding));
    if let Some((_, coding)) = coding
        && !bytes.is_empty()
        && parts.status != StatusCode::NO_CONTENT
    {
        bytes = encode(coding, &bytes);
        changed = true;
        parts
            .headers
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        parts
            .headers
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if changed {
        parts.headers.remove(header::CONTENT_LENGTH);
    }
    if v.has(Variant::ConnectionClose) {
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    for (variant, marker, value) in [
        (Variant::IdleTimeout, wire::IDLE_CLOSE_HEADER, "300"),
        (Variant::SmallWrites, wire::SMALL_WRITES_HEADER, "7"),
        (Variant::TitleCaseHeaders, wire::TITLE_CASE_HEADER, "1"),
        (Variant::OddReasonPhrase, wire::REASON_HEADER, "1"),
    ] {
        if v.has(variant) {
            parts
                .headers
                .insert(marker, HeaderValue::from_static(value));
        }
    }
    let body = if v.has(Variant::Chunked) && !bytes.is_empty() {
        parts.headers.remove(header::CONTENT_LENGTH);
        let half = bytes.len() / 2;
        let second = bytes.split_off(half);
        let chunks = [bytes, second].map(Ok::<_, std::io::Error>);
        Body::from_stream(futures_util::stream::iter(chunks))
    } else {
        Body::from(bytes)
    };
    Response::from_parts(parts, body)
}

fn encode(coding: &str, bytes: &[u8]) -> Vec<u8> {
    let level = flate2::Compression::default();
    let written = if coding == "gzip" {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
        e.write_all(bytes).and_then(|()| e.finish())
    } else {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), level);
        e.write_all(bytes).and_then(|()| e.finish())
    };
    written.unwrap_or_default()
}

/// The spelling of a timestamp under the switched-on variants.
fn respell(v: &Variants, text: &str) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    let t = if v.has(Variant::ClockAhead) {
        t + CLOCK_AHEAD
    } else {
        t
    };
    Some(if v.has(Variant::TimestampsOffset) {
        let offset = FixedOffset::east_opt(2 * 3600)?;
        t.with_timezone(&offset)
            .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string()
    } else if v.has(Variant::TimestampsMicros) {
        t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    } else if v.has(Variant::TimestampsSeconds) {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    })
}

/// The other spelling of an undecided error code (`error-wording`).
fn other_code(code: &str) -> Option<&'static str> {
    Some(match code {
        "bad_request" => "invalid_request",
        "unauthorized" => "invalid_credentials",
        "forbidden" => "insufficient_privileges",
        "method_not_allowed" => "unsupported_method",
        "too_many_requests" => "rate_limited",
        "internal_error" => "service_unavailable",
        _ => return None,
    })
}

fn rewrite_json(v: &Variants, value: &mut Value, status: StatusCode, list: bool) {
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if list && let Value::Array(items) = value {
        if v.has(Variant::ListNewestFirst) {
            items.reverse();
        }
        if v.has(Variant::ListRandomOrder) {
            use rand::seq::SliceRandom;
            items.shuffle(&mut rand::rng());
        }
    }
    let objects: Vec<&mut serde_json::Map<String, Value>> = match value {
        Value::Object(map) => vec![map],
        Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).collect(),
        _ => Vec::new(),
    };
    for object in objects {
        for (key, field) in object.iter_mut() {
            if let Value::String(text) = field {
                if v.date_time_keys.contains(key)
                    && let Some(spelled) = respell(v, text)
                {
                    *text = spelled;
                }
                if v.has(Variant::UppercaseIds) && v.read_only_keys.contains(key) {
                    *text = text.to_ascii_uppercase();
                }
            }
        }
        if status.is_success() {
            if v.has(Variant::ExtraTokenFields) {
                object.insert("lastUsedAt".into(), Value::Null);
                object.insert("revoked".into(), json!(false));
                object.insert("servedAt".into(), json!(now));
            }
        } else {
            if v.has(Variant::ExtraErrorFields) {
                object.insert("requestId".into(), json!(random_b64(12)));
                object.insert("timestamp".into(), json!(now));
            }
            if v.has(Variant::ErrorWording) {
                let code = object.get("code").and_then(Value::as_str).unwrap_or("");
                let message = format!("Request refused ({}).", code.replace('_', " "));
                if let Some(other) = other_code(code) {
                    object.insert("code".into(), json!(other));
                }
                object.insert("message".into(), json!(message));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_round_trip_and_each_says_why() {
        let names: HashSet<_> = Variant::ALL.iter().map(|v| v.name()).collect();
        assert_eq!(names.len(), Variant::ALL.len());
        for v in Variant::ALL {
            assert_eq!(Variant::from_name(v.name()), Some(*v));
            assert!(!v.basis().is_empty() && !v.description().is_empty());
        }
        assert_eq!(Variant::from_name("nope"), None);
        assert_eq!(variant_catalog().lines().count(), Variant::ALL.len());
    }

    #[test]
    fn accept_encoding_follows_rfc_9110() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            m
        };
        assert!(accepts(&HeaderMap::new(), "gzip"));
        assert!(accepts(&h("gzip, deflate"), "gzip"));
        assert!(accepts(&h("br;q=1, *"), "gzip"));
        assert!(!accepts(&h("identity"), "gzip"));
        assert!(!accepts(&h("gzip;q=0"), "gzip"));
        assert!(!accepts(&h("*;q=0"), "deflate"));
    }

    #[test]
    fn the_spec_names_timestamps_and_ids() {
        let v = Variants::new(&[Variant::TimestampsOffset, Variant::ClockAhead]);
        assert!(v.date_time_keys.len() >= 3 && !v.read_only_keys.is_empty());
        assert_eq!(
            respell(&v, "2025-12-06T01:49:03.391Z").unwrap(),
            "2025-12-06T03:50:03.391+02:00"
        );
    }

    #[test]
    fn hex_secrets_mask_to_their_last_four() {
        let s = hex_secret();
        assert_eq!(s.len(), 40);
        assert_eq!(short_mask(&s), format!("****{}", &s[36..]));
    }
}
