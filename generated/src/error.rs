//! A failed call in a form a caller can match on: the status and the spec's error body.

use crate::generated::{Error, types};
use reqwest::StatusCode;

/// The error every operation of [`Client`](crate::Client) returns.
pub type ClientError = Error<types::Error>;

/// A documented error answer (400, 401, 403, 404 or 413, as the operation documents): its
/// status and the fields of the spec's error body, borrowed from the error.
///
/// Match on `status`, or on `code` (one of the codes the spec's `Error.code` lists, such as
/// `not_found`):
///
/// ```
/// use abp_tokens_client::{ApiError, ClientError, ErrorExt, StatusCode};
///
/// fn explain(error: &ClientError) -> String {
///     match error.api_error() {
///         Some(ApiError { status: StatusCode::NOT_FOUND, .. }) => "no such token".into(),
///         Some(ApiError { code: "forbidden", message, .. }) => format!("not allowed: {message}"),
///         Some(ApiError { field: Some(field), message, .. }) => format!("{field}: {message}"),
///         Some(other) => format!("{} {}", other.status, other.message),
///         // No documented answer: transport failure, undocumented status, bad payload.
///         None => error.to_string(),
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError<'a> {
    /// The HTTP status of the answer.
    pub status: StatusCode,
    /// Machine-readable reason, e.g. `bad_request` or `not_found`.
    pub code: &'a str,
    /// Human-readable explanation.
    pub message: &'a str,
    /// For 400 answers, the request field or parameter at fault.
    pub field: Option<&'a str>,
}

/// Reads a [`ClientError`] as an [`ApiError`].
pub trait ErrorExt {
    /// The status and the error body, when the server gave a documented error answer whose
    /// body decoded. `None` for everything else: a transport failure, a status the operation
    /// does not document (see [`Error::status`] and [`Error::UnexpectedResponse`]), or a
    /// success body that did not decode.
    fn api_error(&self) -> Option<ApiError<'_>>;
}

impl ErrorExt for ClientError {
    fn api_error(&self) -> Option<ApiError<'_>> {
        match self {
            Error::ErrorResponse(answer) => Some(ApiError {
                status: answer.status(),
                code: answer.code.as_str(),
                message: answer.message.as_str(),
                field: answer.field.as_deref(),
            }),
            _ => None,
        }
    }
}
