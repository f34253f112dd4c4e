//! The User Access Token API as a running, stateful reference server.
//!
//! It serves the spec in `openapi/user-access-tokens.yaml` exactly, under the base path of the
//! spec's servers: list, create and delete of the caller's tokens, bearer and API-key
//! authentication, JSON error bodies, masked secrets stored only as hashes, and expiry taken
//! from the spec's lifetime durations. Every API fact (paths, header and parameter names,
//! statuses, limits) is read from the spec at start-up (`contract.rs`). It is the default
//! target of `conformance run` (see [`start_embedded`]), a local stand-in for client
//! developers (`cargo run -p reference-server`), and, with [`Fault`]s switched on, the subject
//! of the suite's mutation tests.

mod answers;
mod auth;
mod behaviour;
mod catalog;
mod conditions;
mod contract;
mod decode;
mod error;
mod fault;
mod fixtures;
mod guard;
mod handlers;
mod router;
mod server;
mod state;
mod store;
mod taken;
mod tokens;
mod variant;
mod wire;

pub use conditions::TestConditions;
pub use error::{ApiError, ErrorBody, ServerError};
pub use fault::{Fault, FaultArea};
pub use fixtures::{Credentials, Fixtures, MANAGE_PRIVILEGE, Organization, User};
pub use guard::ConnectionLimits;
pub use router::app;
pub use server::{
    EmbeddedServer, ServeArgs, fault_catalog, serve, start_embedded, start_embedded_variants,
    start_embedded_with, start_guarded, start_with,
};
pub use state::{AppState, Config, DEFAULT_REQUEST_TIMEOUT};
pub use variant::{SEEDED_NAME_PREFIX, SEEDED_TOKENS, Variant, variant_catalog};
