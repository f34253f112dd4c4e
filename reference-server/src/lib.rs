//! The User Access Token API as a running, stateful reference server.
//!
//! It serves the spec in `openapi/user-access-tokens.yaml` exactly, under `/api/v1`: list,
//! create and delete of the caller's tokens, bearer and `x-access-token` authentication,
//! JSON error bodies, masked secrets stored only as hashes, and expiry taken from the spec's
//! lifetime durations. It is the default target of `conformance run` (see
//! [`start_embedded`]), a local stand-in for client developers (`cargo run -p
//! reference-server`), and, with [`Fault`]s switched on, the subject of the suite's mutation
//! tests.

mod api;
mod error;
mod fault;
mod fixtures;
mod server;
mod store;
mod wire;

pub use api::{AppState, Config, app};
pub use error::{ApiError, ErrorBody, ServerError};
pub use fault::Fault;
pub use fixtures::{Credentials, Fixtures, MANAGE_PRIVILEGE, Organization, User};
pub use server::{EmbeddedServer, ServeArgs, fault_catalog, serve, start_embedded, start_with};
