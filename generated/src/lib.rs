//! Typed client for the User Access Token API: list, create and delete the logged in user's
//! access tokens.
//!
//! ```no_run
//! use abp_tokens_client::{Client, servers, types};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::with_bearer(servers::LOCAL, "dev-alice-token")?;
//! let request = types::CreateUserAccessTokenRequest {
//!     name: "ci".parse()?,
//!     lifetime: types::TokenLifetime::OneWeek,
//!     privileges: vec![],
//! };
//! let created = client.create_my_token(&request).await?.into_inner();
//! for token in client.list_my_tokens().await?.into_inner() {
//!     println!("{} {} expires {}", token.id.as_str(), token.name, token.expires_on);
//! }
//! client.delete_my_token(&created.id).await?;
//! # Ok(())
//! # }
//! ```
//!
//! - Build a client with [`Client::with_bearer`] or [`Client::with_access_token`] (the spec's
//!   two security schemes), or [`Client::with_auth`] to bring your own `reqwest` settings.
//! - Every operation returns [`ClientError`] on failure; [`ErrorExt::api_error`] gives the
//!   status and the spec's error body (`code`, `message`, `field`) of a documented error.
//! - The repository's README ("Using the client") has a complete example, also in
//!   `examples/tokens.rs`.
//!
//! `generated.rs` is written by `cargo xtask regenerate` from `openapi/user-access-tokens.yaml`
//! and is never edited by hand. The rest is hand-written: the constructors (`auth.rs`), the
//! error view (`error.rs`), and `observer.rs`: `send_recorded` sends one request and returns its
//! exchange record (request and raw response bytes), and progenitor's `ClientHooks` let a
//! caller add headers and route typed calls through its own transport. The conformance runner
//! relies on that to pace, retry and record every call and to judge responses the typed layer
//! cannot decode.

// The generated file is formatted by prettyplease; rustfmt must not rewrite it.
#[rustfmt::skip]
mod generated;
mod auth;
pub mod coding;
mod error;
mod observer;

pub use auth::{Auth, BuildError, DEFAULT_TIMEOUT};
pub use error::{ApiError, ClientError, ErrorExt};
pub use generated::*;
pub use observer::{
    DEFAULT_MAX_BODY_BYTES, Exchange, Observer, RecordedResponse, SendFuture, Transport,
    TransportError, TransportErrorKind, failing_response, header_pairs, send_recorded,
};
/// The `reqwest` this crate is built on, for [`Client::with_auth`] and [`Client::new_with_client`].
pub use reqwest;
/// The HTTP status type of [`ApiError::status`] and [`Error::status`].
pub use reqwest::StatusCode;
