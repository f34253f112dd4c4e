//! Request decoding and validation: the create body (size limit, media type, JSON, the spec's
//! schema) and the token id of a delete. Every rejection is a JSON 400 (or 413) naming the
//! field at fault.

use crate::behaviour::{Behaviour, IdCase, LengthUnit};
use crate::contract::Contract;
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::Value;

/// A create body that passed validation.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateRequest {
    // Validation guarantees the required fields; the defaults matter only for a behaviour
    // that excuses missing ones.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub lifetime: String,
    #[serde(default)]
    pub privileges: Vec<String>,
}

/// How much of an oversized body is read and thrown away before the 413 goes out.
const DRAIN_BYTES: usize = 1 << 20;

/// Reads the body up to `limit` bytes (any size with `None`).
///
/// An oversized body is still read (and discarded, up to [`DRAIN_BYTES`]) before the 413 is
/// answered: a server that answers and closes with request bytes unread makes the kernel reset
/// the connection, and a reset can destroy the answer in the client's receive buffer before
/// it is read (the client then sees "connection closed" instead of the 413). Servers in front
/// of real APIs linger the same way (nginx's `lingering_close`).
pub(crate) async fn read_body(
    limit: Option<usize>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<u8>, ApiError> {
    let mut body = body;
    if let Some(limit) = limit {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            drain(&mut body, DRAIN_BYTES).await;
            return Err(ApiError::payload_too_large(limit));
        }
    }
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|_| ApiError::bad_request(None, "cannot read the request body"))?;
        if let Ok(data) = frame.into_data() {
            bytes.extend_from_slice(&data);
            if let Some(limit) = limit
                && bytes.len() > limit
            {
                drain(&mut body, DRAIN_BYTES.saturating_sub(bytes.len())).await;
                return Err(ApiError::payload_too_large(limit));
            }
        }
    }
    Ok(bytes)
}

/// Reads and discards up to `at_most` more bytes of the body.
async fn drain(body: &mut Body, at_most: usize) {
    let mut read = 0;
    while read < at_most {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len()),
            _ => return,
        }
    }
}

/// True when the `Content-Type` essence is `expected` (case-insensitive unless `any_case` is
/// false, parameters ignored).
fn has_content_type(headers: &HeaderMap, expected: &str, any_case: bool) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            let essence = essence.trim();
            if any_case {
                essence.eq_ignore_ascii_case(expected)
            } else {
                essence == expected
            }
        })
}

/// Cuts long messages (schema messages quote the offending value) at a character boundary.
pub(crate) fn shorten(mut message: String) -> String {
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

/// The field a schema violation is about: the first segment of the instance path, or for a
/// missing required property that property (which the validator's message quotes).
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
    v.missing_property.clone()
}

/// Decodes and validates a create body against the spec's schema.
pub(crate) fn create_request(
    contract: &Contract,
    behaviour: &Behaviour,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<CreateRequest, ApiError> {
    let media_type = &contract.spec.create_body.content_type;
    if !has_content_type(headers, media_type, behaviour.media_type_any_case) {
        return Err(ApiError::bad_request(
            None,
            format!("expected content type {media_type}"),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            None,
            "the request body is empty; expected a JSON object",
        ));
    }
    let mut value: Value = serde_json::from_slice(bytes)
        .map_err(|e| (behaviour.malformed_json)(format!("malformed JSON: {e}")))?;
    if let Value::Object(map) = &mut value {
        for rewrite in &behaviour.rewrites {
            rewrite.repair(map, contract);
        }
    }
    let violation = contract
        .spec
        .create_validator
        .violations(&value)
        .into_iter()
        .find(|v| !behaviour.rewrites.iter().any(|r| r.excuses(v)));
    if let Some(v) = violation {
        let field = violation_field(&v);
        let message = match &field {
            Some(f) => format!("{f}: {}", v.message),
            None => format!("body: {}", v.message),
        };
        return Err(ApiError::bad_request(field.as_deref(), shorten(message)));
    }
    // The schema counted code points; a behaviour that counts otherwise checks again.
    if behaviour.length_unit != LengthUnit::CodePoints {
        for (field, max) in &contract.string_max_lengths {
            if let Some(Value::String(text)) = value.get(field)
                && behaviour.length_unit.length(text) > *max
            {
                return Err(ApiError::bad_request(
                    Some(field),
                    format!("{field}: longer than {max} characters"),
                ));
            }
        }
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(None, shorten(format!("body: {e}"))))
}

/// The token id of a delete, checked against the path parameter's schema when the behaviour
/// says so.
pub(crate) fn token_id(
    contract: &Contract,
    behaviour: &Behaviour,
    id: Result<Path<String>, PathRejection>,
) -> Result<String, ApiError> {
    let param = &contract.token_id_param;
    let Ok(Path(id)) = id else {
        return Err(ApiError::bad_request(
            Some(param),
            format!("{param}: cannot decode the path parameter"),
        ));
    };
    if !behaviour.check_token_id {
        return Ok(id);
    }
    if behaviour.id_case == IdCase::LowercaseOnly && id.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::bad_request(
            Some(param),
            format!("{param}: expected lowercase hexadecimal digits"),
        ));
    }
    match contract
        .spec
        .token_id_validator
        .violations(&Value::String(id.clone()))
        .into_iter()
        .next()
    {
        Some(v) => Err(ApiError::bad_request(
            Some(param),
            shorten(format!("{param}: {}", v.message)),
        )),
        // Stored ids are lowercase hex; the id is a number, so its letter case does not
        // matter (TRANSCRIPTION.md, "Either letter case of an id").
        None if behaviour.id_case == IdCase::Folded => Ok(id.to_ascii_lowercase()),
        None => Ok(id),
    }
}
