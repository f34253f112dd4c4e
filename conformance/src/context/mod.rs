//! One scenario's view of the run. [`Shared`] is what every scenario of a run shares (the
//! configuration, the spec's facts, the transport, the redactor, coverage); [`Ctx`] is one
//! scenario's own state: its calls and their exchange records, its checks, the tokens it
//! created and must delete. A `Ctx` buffers its events; the runner emits them in scenario
//! order, so output does not depend on which concurrent scenario finished first.
//!
//! Safety rules a run against staging relies on:
//! - every token this run creates is named with the scenario's prefix (which starts with the
//!   run's), deleted at the end of its scenario by the role that created it, and nothing
//!   else is ever deleted;
//! - every secret (credentials, derived credentials, created secrets) is registered with the
//!   redactor before anything that could contain it is emitted.

use crate::api::{Contract, OperationId};
use crate::checks::{self, Failure, unique::SeenTokens};
use crate::config::RunConfig;
use crate::error::RunError;
use crate::events::Event;
use crate::exchange::{RawExchange, RawResponse};
use crate::redact::Redactor;
use crate::roles::{Role, random_hex, tamper};
use crate::tally::{At, Coverage, References, Tally};
use crate::transport::{Auth, Transport};
use abp_tokens_client::types;
use std::sync::Arc;

mod calls;
mod cleanup;
mod record;

/// Every token a run creates is named `conformance-<run id>-…`; `conformance cleanup` looks
/// for exactly this shape (a 16-hex-digit run id after it), which a person's name will not have.
pub const RUN_NAME_PREFIX: &str = "conformance-";

/// Whether a token name has the shape every run gives its tokens: the prefix, a 16-digit
/// lower-case hex run id, a dash. Nothing else is ever treated as a run's leftover.
pub fn is_run_token_name(name: &str) -> bool {
    name.strip_prefix(RUN_NAME_PREFIX)
        .and_then(|rest| rest.get(..17))
        .is_some_and(|id| {
            id.ends_with('-')
                && id[..16]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// State shared by every scenario of one run.
/// The shortest credential a run accepts (see [`Shared::new`]).
pub const MIN_CREDENTIAL_CHARS: usize = 8;

pub struct Shared {
    pub config: RunConfig,
    /// The spec compiled once, shared with the configuration.
    pub api: Arc<Contract>,
    /// The run's live switches (cancel, the deadline passed).
    pub control: crate::config::RunControl,
    pub redactor: Redactor,
    /// Names of tokens this run creates start with this.
    pub prefix: String,
    pub run_id: String,
    pub transport: Arc<Transport>,
    pub seen: SeenTokens,
    pub coverage: Coverage,
    /// The transcription record's project decisions that this run's spec carries.
    pub decisions: Vec<abp_spec::decisions::Decision>,
    /// The status preflight's credential nobody issued got (the auth suite's messages tell
    /// a server that accepts anything from a variable that holds the wrong credential).
    pub unissued_status: std::sync::OnceLock<u16>,
}

impl Shared {
    pub fn new(config: RunConfig, control: crate::config::RunControl) -> Result<Shared, RunError> {
        let api = config.contract.clone();
        let redactor = Redactor::default();
        redactor.set_secret_fields(&api.secret_fields);
        if let Some(mask) = &api.mask_limit {
            redactor.set_run_length(mask.shown + 1);
        }
        for role in Role::ALL {
            if let Some(c) = config.credentials.get(role) {
                // A secret is kept out of the output by replacing it wherever it appears; a
                // credential of a few characters would be "found" inside ordinary words.
                let length = c.chars().count();
                if length < MIN_CREDENTIAL_CHARS {
                    return Err(RunError::Config(format!(
                        "{} is {length} character{} long: a credential shorter than {MIN_CREDENTIAL_CHARS} characters cannot be kept out of the run's output, since it would be redacted inside ordinary text; use a real credential",
                        role.env_var(),
                        if length == 1 { "" } else { "s" }
                    )));
                }
                redactor.add(c, &format!("[{}]", role.env_var()));
                redactor.add(&tamper(c), &format!("[tampered {}]", role.env_var()));
            }
        }
        let transport = Transport::new(
            redactor.clone(),
            api.secret_fields.clone(),
            crate::transport::TransportSettings {
                base_url: &config.base_url,
                credentials: config.credentials.clone(),
                api_version: api.version(),
                timeout: config.timeout,
                max_rps: config.max_rps,
                retry: config.retry,
                ca_certs: &config.ca_certs,
                max_body: config.max_body_bytes,
                jobs: config.jobs,
            },
        )?;
        let run_id = random_hex(8);
        Ok(Shared {
            prefix: format!("{}{run_id}-", RUN_NAME_PREFIX),
            run_id,
            coverage: Coverage::new(&api),
            redactor,
            transport,
            seen: SeenTokens::default(),
            unissued_status: Default::default(),
            decisions: abp_spec::decisions::decisions()
                .into_iter()
                .filter(|d| {
                    d.pointers
                        .iter()
                        .any(|p| api.spec().lookup(p.trim_end_matches('/')).is_some())
                })
                .collect(),
            api,
            config,
            control,
        })
    }
}

impl Shared {
    /// Notes the tokens a list at first contact shows, before the run has created anything:
    /// a person's. A create that later answers with one of their ids did not create it, and
    /// nothing of the run deletes it. (Later lists are not used: a faulty server may keep a
    /// token of this run under a name without the prefix, listed before its create answer
    /// is recorded; another create's id is caught by the claim instead.)
    pub fn note_listed(&self, response: &RawResponse) {
        if !(200..300).contains(&response.status) {
            return;
        }
        let Some(serde_json::Value::Array(items)) = response.json() else {
            return;
        };
        for item in &items {
            let Some(id) = self.api.fields.id_of(item) else {
                continue;
            };
            let ours = self
                .api
                .fields
                .name_of(item)
                .is_some_and(|n| n.contains(self.prefix.as_str()));
            if !ours {
                self.seen.note_foreign(id);
            }
        }
    }
}

/// A scenario step could not be carried out: the failure is already reported (by
/// [`Ctx::step_failed`] or a check), and the scenario stops there. Suites return
/// `Result<(), Stopped>` and stop with `?` (`ctx.create(..).await.ok_or(Stopped)?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// A token as a scenario knows it after a create.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: types::ObjectId,
    pub secret: String,
    pub token: types::UserAccessToken,
    /// This machine's clock when the 201 arrived.
    pub received_at: chrono::DateTime<chrono::Utc>,
}

/// One scenario's context: its calls, checks, events and the tokens it must clean up.
pub struct Ctx<'a> {
    pub shared: &'a Shared,
    pub scenario: String,
    /// Names of tokens this scenario creates start with this (the run prefix and more).
    pub prefix: String,
    /// The scenario's events, in the order they happened.
    pub(crate) events: Vec<Event>,
    pub(crate) tally: Tally,
    exchanges: usize,
    /// Tokens to delete when the scenario ends: (role that created it, id).
    pub(crate) to_clean: Vec<(Role, String)>,
    /// Every exchange of the scenario, raw, with its operation (for the snapshot).
    pub(crate) log: Vec<(OperationId, RawExchange)>,
    /// Whether the snapshot gate applies: off for a scenario whose requests depend on a seed.
    pub(crate) snapshot: bool,
    /// A shrink's replay: its events are dropped and its answers are not the run's coverage.
    pub(crate) quiet: bool,
    /// Exchanges (by index) of DELETEs retried after an attempt that got no answer, whose
    /// retry met what a deleted token meets (the unknown id; 401 for its own secret): the
    /// lost attempt did the deletion, which is the success the step asked for.
    pub(crate) lost_first: Vec<usize>,
    /// Secrets of the tokens this scenario created, by id: a DELETE authenticated with the
    /// secret of the token it deletes, retried after a lost answer, meets 401 when the lost
    /// attempt did the deletion (the secret died with its token).
    own_secrets: Vec<(String, String)>,
    /// Creates whose id is not provably their token (reported after their exchange).
    ownership_failures: Vec<checks::Failure>,
}

/// One request of a [`Ctx::burst`]: what [`Ctx::raw`] takes.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub kind: OperationId,
    /// Relative to the base URL.
    pub path: String,
    pub auth: Auth,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
    pub expected: Vec<u16>,
}

impl<'a> Ctx<'a> {
    /// `seq` makes the scenario's token names its own, so a concurrent scenario's tokens are
    /// never mistaken for this one's.
    pub fn new(shared: &'a Shared, scenario: &str, seq: usize) -> Self {
        Ctx {
            shared,
            scenario: scenario.to_owned(),
            prefix: format!("{}{seq:03}-", shared.prefix),
            events: Vec::new(),
            tally: Tally::default(),
            exchanges: 0,
            to_clean: Vec::new(),
            log: Vec::new(),
            snapshot: true,
            quiet: false,
            lost_first: Vec::new(),
            own_secrets: Vec::new(),
            ownership_failures: Vec::new(),
        }
    }

    pub fn api(&self) -> &'a Contract {
        &self.shared.api
    }

    pub fn credential(&self, role: Role) -> Option<&'a str> {
        self.shared.config.credentials.get(role)
    }

    /// A name for a token this scenario creates: its prefix plus a label.
    pub fn token_name(&self, label: &str) -> String {
        format!("{}{label}", self.prefix)
    }

    /// How many requests the scenario has made so far.
    pub fn requests(&self) -> usize {
        self.exchanges
    }

    /// How many exchanges in `range` (indices) are DELETEs retried after a lost answer.
    pub fn lost_answers(&self, range: std::ops::Range<usize>) -> usize {
        self.lost_first.iter().filter(|i| range.contains(i)).count()
    }

    fn emit(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Records a scenario-level check. A disabled check is neither evaluated nor reported.
    pub fn check(&mut self, name: &'static str, result: Result<(), Failure>) {
        if !self.shared.config.checks.is_enabled(name) {
            return;
        }
        self.emit_check(name, result, At::default());
    }

    /// Records that a step could not be carried out; the scenario stops there (return the
    /// [`Stopped`] this gives).
    pub fn step_failed(&mut self, what: &str) -> Stopped {
        let failure = Failure::new(format!("cannot continue: {what}"));
        self.emit_check(checks::SCENARIO_STEP, Err(failure), At::default());
        Stopped
    }

    pub(crate) fn emit_check(&mut self, name: &str, result: Result<(), Failure>, at: At<'_>) {
        let record = self.tally.check(
            &self.scenario,
            name,
            result,
            at,
            &References {
                known_failures: &self.shared.config.known_failures,
                redactor: &self.shared.redactor,
                decisions: &self.shared.decisions,
            },
        );
        self.emit(Event::Check(record));
    }

    /// The snapshot gate: the scenario's normalized exchanges against the approved baseline.
    pub(crate) fn compare_snapshot(&mut self, summary: &str) {
        let Some(dir) = self.shared.config.snapshot_dir.clone() else {
            return;
        };
        // A model replay, or a scenario the target would not serve, has nothing to compare.
        if !self.snapshot
            || !self.shared.config.checks.is_enabled(checks::SNAPSHOT)
            || self.tally.unserved.is_some()
        {
            return;
        }
        let normalizer = crate::snapshot::Normalizer {
            contract: &self.shared.api,
            prefix: &self.prefix,
            redactor: &self.shared.redactor,
        };
        let document: Vec<serde_json::Value> = self
            .log
            .iter()
            .map(|(kind, raw)| {
                normalizer.exchange(
                    self.shared.api.operation(*kind),
                    raw,
                    self.shared.transport.base_url(),
                )
            })
            .collect();
        let config = &self.shared.config;
        let policy = crate::snapshot::GatePolicy {
            update: config.update_snapshots,
            force: config.force_record,
            writes: config.snapshot_writes,
        };
        let document = serde_json::Value::Array(document);
        use crate::snapshot::Gate;
        match crate::snapshot::gate(
            &dir,
            &self.scenario,
            summary,
            &document,
            self.tally.failed,
            policy,
        ) {
            Gate::Passed => self.emit_check(checks::SNAPSHOT, Ok(()), At::default()),
            Gate::Recorded { new } => {
                if new {
                    self.tally.stats.snapshots_new += 1;
                } else {
                    self.tally.stats.snapshots_updated += 1;
                }
                self.emit_check(checks::SNAPSHOT, Ok(()), At::default());
            }
            Gate::Failed(f) => self.emit_check(checks::SNAPSHOT, Err(f), At::default()),
            Gate::NoBaseline => self.tally.stats.no_baseline += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_run_name_shape_is_a_leftover() {
        assert!(is_run_token_name("conformance-0123456789abcdef-000-x"));
        assert!(!is_run_token_name("conformance-token-for-ci"));
        assert!(!is_run_token_name("conformance-0123456789ABCDEF-000-x"));
        assert!(!is_run_token_name("my conformance-0123456789abcdef-x"));
        assert!(!is_run_token_name("conformance-0123456789abcdef"));
    }
}
