//! The conformance runner: executes scenario suites against a target server, checks every
//! response against the spec, and emits events that reporters turn into output.
//!
//! Layers, from the bottom (a module imports only those before it; xtask's tidy test
//! `conformance_modules_import_only_lower_layers` holds the list): [`error`], [`roles`],
//! [`redact`] (secrets never leave the runner), [`api`], [`exchange`] (what was sent and
//! received), [`pacing`], [`transport`], [`checks`] (small named verdict functions),
//! [`known`], [`config`], [`events`], [`tally`], [`report`] (consumes events; never
//! influences a verdict), [`snapshot`], [`context`], [`preflight`], [`suites`] (scenarios
//! generated from the spec), [`runner`] (executes scenarios, emits [`events::Event`]s).

pub mod api;
pub mod checks;
pub mod concurrency;
pub mod config;
pub mod context;
pub mod error;
pub mod events;
pub mod exchange;
pub mod known;
pub mod pacing;
pub mod preflight;
pub mod redact;
pub mod report;
pub mod roles;
pub mod runner;
pub mod snapshot;
pub mod suites;
pub mod tally;
pub mod tls;
pub mod transport;

pub use config::{Credentials, RunConfig};
pub use error::{RunError, exit};
pub use events::{Event, RunStats};
pub use runner::run;
