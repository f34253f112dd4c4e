//! The `conformance` command line, beside `main.rs`: one error type whose variants carry
//! their exit codes, target resolution (`target.rs`), the `run` command (`run.rs`), the
//! `cleanup` command (`cleanup.rs`), `list` (`list.rs`) and `diff` (`diff.rs`, two runs'
//! JSON reports compared). The library does the work; this layer turns flags into a
//! configuration and outcomes into exit codes.

pub mod cleanup;
pub mod diff;
pub mod list;
pub mod run;
pub mod target;

use conformance::{RunError, exit};

/// Everything that ends the program other than success, with its exit code (README, "Exit
/// codes"): 1 a check failed, 2 usage or configuration, 3 the target could not be reached,
/// 130 interrupted.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Exit 1. The summary has already said what failed.
    #[error("a check failed")]
    ChecksFailed,
    /// Exit 2: a flag, a file or the environment is wrong; nothing was sent.
    #[error("{0}")]
    Usage(String),
    /// Exit 2: the target or a credential is not what the run needs (found by preflight).
    #[error("{0}")]
    Config(String),
    /// Exit 2: a report file could not be written.
    #[error("cannot write a report: {0}")]
    Report(#[source] std::io::Error),
    /// Exit 3.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// Exit 3: the target did not serve some requests (429/503 past the retry policy, no
    /// answer within --timeout, or silent), so some scenarios have no verdict.
    #[error(
        "the target did not serve {requests} requests (it kept answering 429/503 past the retry policy, or gave no answer within --timeout): {scenarios} scenarios have no verdict; try again later, or allow longer waits (--max-retry-wait, --max-retries, --timeout) or a slower pace (--max-rps)"
    )]
    Unavailable { scenarios: usize, requests: usize },
    /// Exit 3: `--deadline` passed before the run ended; what was cut short has no verdict.
    #[error(
        "the run's deadline (--deadline {seconds} s) passed: {scenarios} scenarios were cut short or did not run, and have no verdict; this run's tokens were deleted"
    )]
    DeadlinePassed { seconds: u64, scenarios: usize },
    /// Exit 130. The run has said so and deleted what it created.
    #[error("interrupted")]
    Interrupted,
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::ChecksFailed => exit::FAILED,
            CliError::Usage(_) | CliError::Config(_) | CliError::Report(_) => exit::USAGE,
            CliError::Unreachable { .. }
            | CliError::Unavailable { .. }
            | CliError::DeadlinePassed { .. } => exit::NO_VERDICT,
            CliError::Interrupted => exit::INTERRUPTED,
        }
    }

    /// Whether `main` prints the error: outcomes already reported by the run are not repeated.
    pub fn is_reported(&self) -> bool {
        matches!(self, CliError::ChecksFailed | CliError::Interrupted)
    }
}

impl From<RunError> for CliError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Config(m) => CliError::Config(m),
            RunError::Unreachable { url, reason } => CliError::Unreachable { url, reason },
            RunError::Interrupted => CliError::Interrupted,
        }
    }
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
pub fn print(text: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Usage(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// What `run --help` and `cleanup --help` say about the environment: credentials come only
/// from these variables, so the first screen of help names them.
pub const ENVIRONMENT_HELP: &str = "\
Environment (credentials are read only from here, and never printed):
  ABP_TOKEN             required against a remote target: a user who may manage their own tokens
  ABP_OTHER_USER_TOKEN  optional: a second user (isolation; the model's other user)
  ABP_FORBIDDEN_TOKEN   optional: a valid user without the privilege to manage tokens (403)
  ABP_EXPIRED_TOKEN     optional: an expired credential (401)
  CI=true               snapshots are compared, never written; a stale known failure fails the run
  NO_COLOR              no colour on a terminal

Without --base-url or --server the run starts the embedded reference server, which brings its
own credentials.";

/// Writes one line to stderr and never fails: a closed or broken stderr (the reader of
/// `2>&1 | tee` ended by the same Ctrl-C) must not panic the caller, as `eprintln!` would.
pub fn say_err(line: &str) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    let _ = err.write_all(b"\n");
}

/// This invocation as a shell line, `drop` arguments left out and `add` appended. Arguments
/// only: credentials come from the environment and never appear here.
pub fn this_command(drop: &[&str], add: &[&str]) -> String {
    let mut words = vec!["conformance".to_owned()];
    for arg in std::env::args().skip(1) {
        if drop.contains(&arg.as_str()) {
            continue;
        }
        let plain = arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c));
        words.push(if plain {
            arg
        } else {
            format!("'{}'", arg.replace('\'', "'\\''"))
        });
    }
    words.extend(add.iter().map(|a| a.to_string()));
    words.join(" ")
}
