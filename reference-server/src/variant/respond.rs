//! The response middleware of the variants: after the handler made its answer, each
//! switched-on variant that acts on answers rewrites it (timestamps, ids, extra fields, error
//! wording, list order, content coding, challenges, media type parameters), or answers in the
//! handler's stead (the periodic 503 and 429), or asks the wire layer (`wire.rs`) for a
//! connection habit with a marker header.

use super::{Variant, Variants};
use crate::error::ApiError;
use crate::fixtures::random_b64;
use crate::wire;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// How far `clock-ahead` puts the server's clock ahead.
const CLOCK_AHEAD: TimeDelta = TimeDelta::seconds(60);

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
    State(variants): State<Arc<Variants>>,
    request: Request,
    next: Next,
) -> Response {
    let v = variants.as_ref();
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
                if v.spec.date_time_keys.contains(key)
                    && let Some(spelled) = respell(v, text)
                {
                    *text = spelled;
                }
                if v.has(Variant::UppercaseIds) && v.spec.read_only_keys.contains(key) {
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
        let v = Variants::new(
            &[Variant::TimestampsOffset, Variant::ClockAhead],
            abp_spec::Contract::embedded(),
        );
        assert!(v.spec.date_time_keys.len() >= 3 && !v.spec.read_only_keys.is_empty());
        assert_eq!(
            respell(&v, "2025-12-06T01:49:03.391Z").unwrap(),
            "2025-12-06T03:50:03.391+02:00"
        );
    }
}
