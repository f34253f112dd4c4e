//! Why a run could not start or finish. Each kind carries its exit code (README, "Exit codes").

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
            RunError::Config(_) => 2,
            RunError::Unreachable { .. } => 3,
            RunError::Interrupted => 130,
        }
    }
}
