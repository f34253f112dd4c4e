//! The conformance runner: executes scenario suites against a target server, checks every
//! response against the spec, and emits events that reporters turn into output.
//!
//! Layers, from the bottom: [`redact`] (secrets never leave the runner), [`exchange`] (what
//! was sent and received), [`checks`] (small named verdict functions), [`suites`] (scenarios
//! generated from the spec), [`runner`] (executes scenarios, emits [`events::Event`]s),
//! [`report`] (consumes events; never influences a verdict).

pub mod api;
pub mod checks;
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
pub mod transport;

pub use config::{Credentials, RunConfig};
pub use error::{RunError, exit};
pub use events::{Event, RunStats};
pub use runner::run;
