//! The JSON the server answers with: token objects (fields in the spec's order), the 204 of a
//! delete and the unknown-id error, each shaped by the [`Behaviour`].

use crate::behaviour::Behaviour;
use crate::contract::Contract;
use crate::error::ApiError;
use crate::store::TokenRecord;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct TokenJson<'a> {
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

impl Behaviour {
    fn timestamp(&self, t: &DateTime<Utc>) -> String {
        t.format(self.timestamp_format).to_string()
    }

    /// A token object; `token` is the secret (create) or the stored masked form (list).
    pub(crate) fn token_json<'a>(&self, record: &'a TokenRecord, token: &'a str) -> TokenJson<'a> {
        TokenJson {
            id: &record.id,
            name: &record.name,
            token,
            privileges: &record.privileges,
            user_id: self.show_user_id.then_some(record.user_id.as_str()),
            organization_id: &record.organization_id,
            expires_on: self.timestamp(&record.expires_on),
            created_at: self.timestamp(&record.created_at),
            updated_at: self.timestamp(&record.updated_at),
        }
    }

    /// The answer to a delete that removed a token.
    pub(crate) fn deleted(&self, contract: &Contract) -> Response {
        let mut r = contract.delete.success.into_response();
        if let Some(body) = self.delete_body {
            // hyper drops 204 bodies; the wire layer writes this one (see `wire.rs`). The
            // connection closes afterwards so the stray bytes cannot corrupt a pooled
            // connection.
            let headers = r.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            if let Ok(v) = HeaderValue::from_str(&hex::encode(body)) {
                headers.insert(crate::wire::INJECT_BODY_HEADER, v);
            }
        }
        r
    }

    /// The answer to a well-formed id that names none of the caller's tokens.
    pub(crate) fn unknown_id(&self, contract: &Contract) -> Response {
        ApiError::not_found(self.not_found_message)
            .with_status(contract.unknown_id_status)
            .into_response()
    }
}

/// A JSON answer; fields keep their declared order.
pub(crate) fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let mut r = (status, bytes).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
