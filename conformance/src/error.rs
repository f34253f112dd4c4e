//! Why a run could not start or finish, and the exit codes (README, "Exit codes"). Each kind
//! carries its code.

/// The process's exit codes, used by the CLI, the reports and the tests.
pub mod exit {
    /// Every scenario passed (or failed only as a listed known failure).
    pub const PASSED: u8 = 0;
    /// A check failed: the server does not conform.
    pub const FAILED: u8 = 1;
    /// The run cannot start as asked: a bad flag, spec, credential or report path.
    pub const USAGE: u8 = 2;
    /// No verdict because of the target: unreachable, refusing past the retry policy, or the
    /// deadline passed.
    pub const NO_VERDICT: u8 = 3;
    /// A signal stopped the run (128 + SIGINT).
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Exit code 2: the run cannot start as configured.
    #[error("{0}")]
    Config(String),
    /// Exit code 3: the target did not answer the first request.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// Exit code 130: a signal arrived before the first scenario started.
    #[error("interrupted before the first scenario")]
    Interrupted,
}

impl RunError {
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Config(_) => exit::USAGE,
            RunError::Unreachable { .. } => exit::NO_VERDICT,
            RunError::Interrupted => exit::INTERRUPTED,
        }
    }
}
