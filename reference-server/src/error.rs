//! The crate's error type and the JSON error body every 4xx answer carries.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::path::PathBuf;

/// Everything that can stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot read fixtures {path}: {source}")]
    FixturesRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid fixtures {path}: {message}")]
    FixturesInvalid { path: PathBuf, message: String },
    #[error(
        "unknown fault `{0}` (`conformance serve --list-faults` or `reference-server --list-faults` prints the catalog)"
    )]
    UnknownFault(String),
    #[error("the spec cannot be used: {0}")]
    Spec(#[from] abp_spec::SpecError),
    #[error("database {path}: {source}")]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("storage failed: {0}")]
    Storage(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

impl ServerError {
    /// The process exit code the binary uses: 2 for bad input from the operator, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            ServerError::FixturesRead { .. }
            | ServerError::FixturesInvalid { .. }
            | ServerError::UnknownFault(_)
            | ServerError::Bind { .. } => 2,
            _ => 1,
        }
    }
}

/// The spec's `Error` schema.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answer: status plus the JSON body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                field: None,
            },
        }
    }

    pub fn bad_request(field: Option<&str>, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message);
        e.body.field = field.map(str::to_owned);
        e
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid credentials",
        )
    }

    pub fn forbidden() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the user may not manage access tokens",
        )
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "the method is not allowed on this path",
        )
    }

    /// The answer of the `--rate-limit` test condition.
    pub fn too_many_requests() -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many requests; retry after the number of seconds in Retry-After",
        )
    }

    /// A request that did not finish within the server's request timeout.
    pub fn request_timeout() -> ApiError {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request took too long to process",
        )
    }

    /// The same error with another status (for statuses the spec decides, such as the
    /// unknown-id status).
    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = status;
        self
    }

    /// Only used by faults and by storage failures; never for client input in a correct server.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let bytes = serde_json::to_vec(&self.body).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status, bytes).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// Why a handler answers early: an API error, or an answer already built (authentication's,
/// which a fault or a variant may shape). Handlers return `Result<Response, Refusal>` and
/// stop with `?`.
pub(crate) enum Refusal {
    Api(ApiError),
    Answer(Response),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Api(e)
    }
}

impl From<Response> for Refusal {
    fn from(r: Response) -> Self {
        Refusal::Answer(r)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Api(e) => e.into_response(),
            Refusal::Answer(r) => r,
        }
    }
}
