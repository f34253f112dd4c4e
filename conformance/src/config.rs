//! What a run needs to know: the target, the credentials, and the selection.

use crate::api::Contract;
use crate::checks::Selection;
pub use crate::roles::{Credentials, Role};
use chrono::TimeDelta;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Scenarios in flight at once by default. A remote target's round trips overlap: the model
/// suite's eight lanes (about 16 round trips each, the run's longest chains) start first, and
/// the other 16 slots work through the short scenarios (a few round trips each) while they
/// run, so the run ends soon after its longest lane; 24 scenarios at a time is a light load for
/// a server that serves many users. `--max-rps` caps the rate whatever the jobs.
pub const DEFAULT_JOBS: usize = 24;

/// Everything a run needs. Built by the CLI, or directly by tests.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Base URL including the path stem, without a trailing slash (`.../api/v1`).
    pub base_url: String,
    /// A short name for the target (`embedded`, `test`, a host name); reports show it.
    pub target_name: String,
    /// The spec the run tests against, compiled once.
    pub contract: Arc<Contract>,
    pub credentials: Credentials,
    /// Suites to run; empty means all.
    pub suites: Vec<String>,
    /// Scenario name glob; `None` means all.
    pub scenario_glob: Option<String>,
    pub checks: Selection,
    /// How far the server's `createdAt` may be from this machine's clock.
    pub clock_tolerance: TimeDelta,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The response body cap, in bytes (`--max-body-bytes`).
    pub max_body_bytes: usize,
    /// The directory of this target's approved snapshots; `None` turns the gate off.
    pub snapshot_dir: Option<std::path::PathBuf>,
    /// Failures that are reported but do not gate.
    pub known_failures: std::sync::Arc<crate::known::KnownFailures>,
    /// Fail the run when a documented status was never exercised.
    pub require_coverage: bool,
    /// At most this many requests per second (for rate-limited targets); `None`: no limit.
    pub max_rps: Option<f64>,
    /// How many scenarios run at once.
    pub jobs: usize,
    /// How 429/503 answers and transport failures are retried.
    pub retry: crate::transport::RetryPolicy,
    /// This run records its exchanges as the approved baseline (`--update-snapshots`).
    pub update_snapshots: bool,
    /// Record even scenarios whose spec checks failed (`--force`).
    pub force_record: bool,
    /// What the snapshot gate writes on a mismatch (decided by the command line; by default
    /// from `INSTA_UPDATE` and `CI`).
    pub snapshot_writes: Writes,
    /// Extra certificate authorities to trust (a staging server with a private CA).
    pub ca_certs: Vec<rustls_pki_types::CertificateDer<'static>>,
    /// The whole run's deadline (`--deadline`): past it, the run stops like an interrupted
    /// one (scenarios cut short, tokens deleted) and says that time ran out.
    pub deadline: Option<Duration>,
    /// Re-run a failed scenario up to this many times with fresh tokens (`--rerun-failures`);
    /// one that then passes is `flaky`.
    pub rerun_failures: u32,
    /// Flaky scenarios do not fail the run (`--allow-flaky`).
    pub allow_flaky: bool,
    /// The model suite's seed (`--seed`); `None` draws one, which the run reports.
    pub model_seed: Option<u64>,
    /// The model suite's budget: steps of all its lanes together (`--model-steps`); `None`:
    /// the default.
    pub model_steps: Option<usize>,
    /// Run only this lane of the model suite (`--model-lane`, 1-based); `None`: every lane.
    pub model_lane: Option<usize>,
    /// Shrink a failing model lane to a minimal sequence (off with `--no-shrink`: the
    /// failure is reported with the sequence as it ran, which saves the replays).
    pub model_shrink: bool,
    /// The flags that name the target and spec of this run (`--base-url URL`, `--server
    /// NAME`, `--spec PATH`, `--embedded-fault NAME`), for replay lines that rerun against the
    /// same target.
    pub target_args: Vec<String>,
}

/// The live state a run shares with whoever started it: switches, not settings. A signal
/// handler holds a clone and cancels; the run's deadline timer cancels and says time ran out.
#[derive(Debug, Clone, Default)]
pub struct RunControl {
    cancel: Arc<AtomicBool>,
    deadline_passed: Arc<AtomicBool>,
}

impl RunControl {
    /// Starts no more scenarios; those in flight stop where they are, and the run still
    /// deletes what it created.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// `--deadline` passed: the run cancels itself, and what ended it was time, not a signal.
    pub fn deadline_passes(&self) {
        self.deadline_passed.store(true, Ordering::SeqCst);
        self.cancel();
    }

    pub fn deadline_passed(&self) -> bool {
        self.deadline_passed.load(Ordering::SeqCst)
    }

    /// Resolves once the run is cancelled (a signal, or the deadline).
    pub async fn cancelled(&self) {
        while !self.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl RunConfig {
    pub fn new(
        base_url: &str,
        target_name: &str,
        contract: Arc<Contract>,
        credentials: Credentials,
    ) -> Self {
        RunConfig {
            base_url: base_url.trim_end_matches('/').to_owned(),
            target_name: target_name.to_owned(),
            contract,
            credentials,
            suites: Vec::new(),
            scenario_glob: None,
            checks: Selection::all(),
            clock_tolerance: TimeDelta::seconds(120),
            timeout: Duration::from_secs(15),
            max_body_bytes: abp_tokens_client::DEFAULT_MAX_BODY_BYTES,
            snapshot_dir: None,
            known_failures: Default::default(),
            require_coverage: false,
            deadline: None,
            rerun_failures: 0,
            allow_flaky: false,
            max_rps: None,
            jobs: DEFAULT_JOBS,
            retry: Default::default(),
            ca_certs: Vec::new(),
            update_snapshots: false,
            force_record: false,
            snapshot_writes: Writes::decide(false, false),
            model_seed: None,
            model_steps: None,
            model_lane: None,
            model_shrink: true,
            target_args: Vec::new(),
        }
    }
}

/// What the gate writes when the exchanges differ from the baseline, or there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    /// Record them as the approved baseline (`--update-snapshots`, `INSTA_UPDATE=always`).
    Record,
    /// Write them beside the baseline as `.snap.new`, for `cargo insta review`.
    Pending,
    /// Write nothing (CI, `INSTA_UPDATE=no`, or a baseline compiled into the binary).
    Nothing,
}

impl Writes {
    /// From the flags, insta's `INSTA_UPDATE` and `CI`, read once. `outside_checkout`: the
    /// baseline is the one compiled into the binary, and nothing is written beside it.
    pub fn decide(update_snapshots: bool, outside_checkout: bool) -> Writes {
        if update_snapshots {
            return Writes::Record;
        }
        match std::env::var("INSTA_UPDATE").as_deref() {
            _ if outside_checkout => Writes::Nothing,
            Ok("always") | Ok("1") | Ok("force") => Writes::Record,
            Ok("no") => Writes::Nothing,
            _ if is_ci() => Writes::Nothing,
            _ => Writes::Pending,
        }
    }

    /// What a mismatch does, for failure messages.
    pub fn describe(self) -> &'static str {
        match self {
            Writes::Record => "new and changed snapshots are accepted",
            Writes::Nothing if is_ci() => {
                "CI: nothing is written; a missing or changed snapshot fails"
            }
            Writes::Nothing => "nothing is written; a missing or changed snapshot fails",
            Writes::Pending => "changes are written as .snap.new files for `cargo insta review`",
        }
    }
}

/// insta's own rule for "running in CI".
pub fn is_ci() -> bool {
    match std::env::var("CI").as_deref() {
        Ok("false") | Ok("0") | Ok("") => false,
        Ok(_) => true,
        Err(_) => std::env::var_os("TF_BUILD").is_some(),
    }
}
