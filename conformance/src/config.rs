//! What a run needs to know: the target, the credentials, and the selection.

use crate::checks::Selection;
use abp_spec::Spec;
use chrono::TimeDelta;
use std::time::Duration;

/// The four kinds of caller a scenario can act as. Each maps to one environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A user allowed to manage their own tokens.
    User,
    /// A second such user (isolation scenarios).
    OtherUser,
    /// A valid user without the privilege to manage tokens (expects 403).
    Forbidden,
    /// An expired credential (expects 401).
    Expired,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::User, Role::OtherUser, Role::Forbidden, Role::Expired];

    /// The environment variable that supplies this role's bearer credential.
    pub fn env_var(self) -> &'static str {
        match self {
            Role::User => "ABP_TOKEN",
            Role::OtherUser => "ABP_OTHER_USER_TOKEN",
            Role::Forbidden => "ABP_FORBIDDEN_TOKEN",
            Role::Expired => "ABP_EXPIRED_TOKEN",
        }
    }
}

/// Bearer credentials by role. Never printed: the redactor replaces every one of them.
#[derive(Clone, Default)]
pub struct Credentials {
    pub user: String,
    pub other_user: Option<String>,
    pub forbidden: Option<String>,
    pub expired: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Say which are present, never what they are.
        f.debug_struct("Credentials")
            .field("user", &"<redacted>")
            .field(
                "other_user",
                &self.other_user.as_ref().map(|_| "<redacted>"),
            )
            .field("forbidden", &self.forbidden.as_ref().map(|_| "<redacted>"))
            .field("expired", &self.expired.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Credentials {
    pub fn get(&self, role: Role) -> Option<&str> {
        match role {
            Role::User => Some(self.user.as_str()),
            Role::OtherUser => self.other_user.as_deref(),
            Role::Forbidden => self.forbidden.as_deref(),
            Role::Expired => self.expired.as_deref(),
        }
        .filter(|c| !c.is_empty())
    }

    /// Reads the four variables; empty values count as unset. `ABP_TOKEN` may be missing
    /// here; the caller decides whether that is an error (it is for remote targets).
    pub fn from_env() -> (Option<String>, Credentials) {
        let read = |role: Role| {
            std::env::var(role.env_var())
                .ok()
                .filter(|v| !v.trim().is_empty())
        };
        let user = read(Role::User);
        let creds = Credentials {
            user: user.clone().unwrap_or_default(),
            other_user: read(Role::OtherUser),
            forbidden: read(Role::Forbidden),
            expired: read(Role::Expired),
        };
        (user, creds)
    }
}

/// Everything a run needs. Built by the CLI, or directly by tests.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Base URL including the path stem, without a trailing slash (`.../api/v1`).
    pub base_url: String,
    /// A short name for the target (`embedded`, `test`, a host name); reports show it.
    pub target_name: String,
    pub spec: Spec,
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
    /// The directory of this target's approved snapshots; `None` turns the gate off.
    pub snapshot_dir: Option<std::path::PathBuf>,
    /// Failures that are reported but do not gate.
    pub known_failures: std::sync::Arc<crate::known::KnownFailures>,
    /// Fail the run when a documented status was never exercised.
    pub require_coverage: bool,
    /// At most this many requests per second (for rate-limited targets); `None`: no limit.
    pub max_rps: Option<f64>,
    /// Set (by a signal handler) to stop after the current scenario; the run still deletes
    /// what it created.
    pub cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl RunConfig {
    pub fn new(base_url: &str, target_name: &str, spec: Spec, credentials: Credentials) -> Self {
        RunConfig {
            base_url: base_url.trim_end_matches('/').to_owned(),
            target_name: target_name.to_owned(),
            spec,
            credentials,
            suites: Vec::new(),
            scenario_glob: None,
            checks: Selection::all(),
            clock_tolerance: TimeDelta::seconds(120),
            timeout: Duration::from_secs(15),
            snapshot_dir: None,
            known_failures: Default::default(),
            require_coverage: false,
            cancel: Default::default(),
            max_rps: None,
        }
    }
}
