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

use crate::api::{Api, OperationId};
use crate::checks::{self, Failure, ResponseCx, schema::Validators, unique::SeenTokens};
use crate::config::RunConfig;
use crate::error::RunError;
use crate::events::Event;
use crate::exchange::{ExchangeRecord, RawExchange, RawResponse};
use crate::redact::Redactor;
use crate::roles::{Role, random_hex, tamper};
use crate::tally::{At, Coverage, References, Tally};
use crate::transport::{Auth, Sent, Transport};
use abp_spec::Lifetime;
use abp_tokens_client::types;
use std::sync::Arc;

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
    pub api: Api,
    pub lifetimes: Vec<Lifetime>,
    pub validators: Validators,
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
    pub fn new(config: RunConfig) -> Result<Shared, RunError> {
        let api = Api::from_spec(&config.spec)?;
        let lifetimes = config
            .spec
            .lifetimes()
            .map_err(|e| RunError::Config(e.to_string()))?;
        let validators =
            Validators::compile(&config.spec).map_err(|e| RunError::Config(e.to_string()))?;
        let redactor = Redactor::default();
        redactor.set_secret_fields(&api.secret_fields);
        if let Some(mask) = &validators.mask_limit {
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
            &config.base_url,
            config.credentials.clone(),
            config.spec.version(),
            config.timeout,
            config.max_rps,
            config.retry,
            &config.ca_certs,
            config.max_body_bytes,
        )?;
        let run_id = random_hex(8);
        Ok(Shared {
            prefix: format!("{}{run_id}-", RUN_NAME_PREFIX),
            run_id,
            coverage: Coverage::new(&api),
            api,
            lifetimes,
            validators,
            redactor,
            transport,
            seen: SeenTokens::default(),
            unissued_status: Default::default(),
            decisions: abp_spec::decisions::decisions()
                .into_iter()
                .filter(|d| {
                    d.pointers
                        .iter()
                        .any(|p| config.spec.lookup(p.trim_end_matches('/')).is_some())
                })
                .collect(),
            config,
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
            let Some(id) = item.get("_id").and_then(|v| v.as_str()) else {
                continue;
            };
            let ours = item
                .get("name")
                .and_then(|v| v.as_str())
                .is_some_and(|n| n.contains(self.prefix.as_str()));
            if !ours {
                self.seen.note_foreign(id);
            }
        }
    }
}

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
            lost_first: Vec::new(),
            own_secrets: Vec::new(),
            ownership_failures: Vec::new(),
        }
    }

    pub fn api(&self) -> &'a Api {
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

    /// Records that a step could not be carried out; the scenario stops there.
    pub fn step_failed(&mut self, what: &str) {
        let failure = Failure::new(format!("cannot continue: {what}"));
        self.emit_check(checks::SCENARIO_STEP, Err(failure), At::default());
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

    /// Emits what was sent (retries first, as events of their own), runs every enabled
    /// response check on the final exchange, and applies the safety rules (a created token is
    /// scheduled for deletion and its secret is redacted from then on).
    fn record(
        &mut self,
        sent: Sent,
        kind: OperationId,
        expected: &[u16],
        owner: Option<Role>,
    ) -> Option<RawResponse> {
        let op = self.shared.api.get(kind);
        for retry in &sent.retries {
            self.tally.stats.retries += 1;
            let record = ExchangeRecord::new(
                &retry.attempt,
                &self.scenario,
                self.exchanges,
                &op.id,
                self.shared.transport.base_url(),
                &self.shared.redactor,
            );
            self.emit(Event::Retry {
                scenario: self.scenario.clone(),
                exchange: self.exchanges,
                method: record.method,
                path: record.path,
                status: record.status,
                reason: self.shared.redactor.apply(&retry.reason),
                wait_ms: retry.wait.as_millis() as u64,
            });
        }
        // A DELETE retried after a lost answer, in a step that expects a success, may meet
        // what a deleted token meets: the lost attempt did the deletion, which is the right
        // answer (and what the snapshot records).
        let mut expected = expected.to_vec();
        let lost_first = kind == OperationId::DeleteMyToken
            && sent.retries.iter().any(|r| r.attempt.response.is_err())
            && op.success_status().is_some_and(|s| expected.contains(&s));
        let raw = sent.exchange;
        let index = self.exchanges;
        let mut done_by_lost = false;
        if lost_first {
            let met = self.after_lost_delete(&raw);
            done_by_lost = raw.response.as_ref().is_ok_and(|r| met.contains(&r.status));
            if done_by_lost {
                self.lost_first.push(index);
            }
            expected.extend(met);
        }
        let expected = expected.as_slice();
        self.exchanges += 1;
        self.tally.stats.requests += 1 + sent.retries.len();
        let created = match &raw.response {
            Ok(r) if kind == OperationId::CreateMyToken && (200..300).contains(&r.status) => {
                r.json()
            }
            _ => None,
        };
        // The leak check must not see this response's own new secret (a create response
        // shows it); the transport registered it with the redactor as soon as it arrived,
        // so it is left out of the secrets the check looks for.
        let own: Vec<&str> = created
            .iter()
            .flat_map(|body| {
                self.shared
                    .api
                    .secret_fields
                    .iter()
                    .filter_map(|f| body.get(f).and_then(|v| v.as_str()))
            })
            .collect();
        let known = self.shared.redactor.known();
        if let Some(id) = created
            .as_ref()
            .and_then(|body| body.get("_id"))
            .and_then(|t| t.as_str())
        {
            // Deleted at the end only when provably this create's token: an id a list showed
            // as someone else's, one another create returned, or an answer that names a
            // token other than the one asked for is a failure, never a delete.
            let asked: Option<String> = raw
                .request_body
                .as_deref()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                .and_then(|b| b.get("name").and_then(|n| n.as_str()).map(str::to_owned));
            let echoed = created
                .as_ref()
                .and_then(|body| body.get("name"))
                .and_then(|n| n.as_str());
            let run_prefix = self.shared.prefix.as_str();
            let claim = match (asked.as_deref(), echoed) {
                (Some(a), Some(e)) if a.contains(run_prefix) && !e.contains(run_prefix) => {
                    Err(checks::Failure::new(format!(
                        "{}: {id} is named {}, not {}; it is not deleted by id",
                        checks::unique::NOT_JUST_CREATED,
                        serde_json::Value::from(e),
                        serde_json::Value::from(a)
                    ))
                    .expected("the id of a new token")
                    .actual(id.to_owned()))
                }
                _ => self.shared.seen.claim(id),
            };
            if let Some(secret) = own.first() {
                self.own_secrets.push((id.to_owned(), (*secret).to_owned()));
            }
            match claim {
                Ok(()) => self
                    .to_clean
                    .push((owner.unwrap_or(Role::User), id.to_owned())),
                Err(f) => self.ownership_failures.push(f),
            }
        }
        let record = ExchangeRecord::new(
            &raw,
            &self.scenario,
            index,
            &op.id,
            self.shared.transport.base_url(),
            &self.shared.redactor,
        );
        self.emit(Event::Exchange(record));
        self.log
            .push((kind, self.as_snapshotted(kind, &raw, done_by_lost)));
        let response = match &raw.response {
            Ok(r) => r,
            Err(e) => {
                self.step_failed(&format!(
                    "{} {} got no response: {}",
                    raw.method,
                    op.path,
                    self.shared.redactor.apply(&e.message)
                ));
                return None;
            }
        };
        if let Some(why) = &sent.gave_up {
            self.unserved(why);
            return None;
        }
        let cx = ResponseCx {
            op,
            response,
            expected,
            validators: &self.shared.validators,
            secrets: &known,
            own: &own,
        };
        let mut all_passed = true;
        let mut results = Vec::new();
        for (name, check) in checks::RESPONSE_CHECKS {
            if !self.shared.config.checks.is_enabled(name) {
                continue;
            }
            if let Some(result) = check(&cx) {
                all_passed &= result.is_ok();
                results.push((*name, result));
            }
        }
        let status = response.status;
        for (name, result) in results {
            self.emit_check(
                name,
                result,
                At {
                    exchange: Some(index),
                    operation: Some(&op.id),
                    status: Some(status),
                },
            );
        }
        self.shared.coverage.record(kind, status, all_passed);
        for failure in std::mem::take(&mut self.ownership_failures) {
            self.emit_check(
                checks::IDS_AND_SECRETS_UNIQUE,
                Err(failure),
                At {
                    exchange: Some(index),
                    operation: Some(&op.id),
                    status: Some(status),
                },
            );
        }
        if kind == OperationId::ListMyTokens {
            self.observe_list(response, index, &op.id);
        }
        raw.response.ok()
    }

    /// What a successful list teaches and shows: the mask the target lists this scenario's own tokens with, and
    /// whether it shows anyone's secret unmasked: a value of another token's secret field
    /// with the shape of the run's secrets and not of its masks (`openapi/TRANSCRIPTION.md`,
    /// "Other people's secrets").
    fn observe_list(&mut self, response: &RawResponse, index: usize, operation: &str) {
        if !(200..300).contains(&response.status) {
            return;
        }
        let Some(serde_json::Value::Array(items)) = response.json() else {
            return;
        };
        let fields = &self.shared.api.secret_fields;
        let redactor = &self.shared.redactor;
        let known: std::collections::HashSet<String> =
            redactor.entries().into_iter().map(|(s, _)| s).collect();
        for item in &items {
            let Some(id) = item.get("_id").and_then(|v| v.as_str()) else {
                continue;
            };
            let own = self.to_clean.iter().any(|(_, i)| i == id);
            for value in fields
                .iter()
                .filter_map(|f| item.get(f).and_then(|v| v.as_str()))
            {
                // An own token listed with its full secret is the masking checks' business.
                if own && !known.contains(value) {
                    redactor.learn_mask(value);
                }
            }
        }
        let shapes = redactor.learned_shapes();
        if !shapes.learned() {
            return;
        }
        let leaked = items.iter().find_map(|item| {
            let id = item.get("_id").and_then(|v| v.as_str())?;
            if self.to_clean.iter().any(|(_, i)| i == id) {
                return None;
            }
            fields
                .iter()
                .filter_map(|f| item.get(f).and_then(|v| v.as_str()))
                .find(|v| !known.contains(*v) && shapes.secret_shaped(v) && !shapes.mask_shaped(v))
                .map(|_| id.to_owned())
        });
        if let Some(id) = leaked {
            let failure = checks::Failure::new(format!(
                "the list shows the secret of token {id}, which this run did not create, unmasked: its value has the shape of this target's secrets and not of its masks"
            ))
            .expected("every listed token masked, whoever created it")
            .actual(format!("{} for token {id}", crate::redact::UNPROVEN_SECRET));
            self.emit_check(
                checks::NO_SECRET_LEAK,
                Err(failure),
                At {
                    exchange: Some(index),
                    operation: Some(operation),
                    status: Some(response.status),
                },
            );
        }
    }

    /// The statuses a DELETE retried after a lost answer may meet because the lost attempt
    /// deleted the token: the unknown-id status, and when the DELETE is authenticated with
    /// the secret of the very token it deletes, the 401 of a secret that no longer exists.
    fn after_lost_delete(&self, raw: &RawExchange) -> Vec<u16> {
        let op = &self.shared.api.delete;
        let mut statuses: Vec<u16> = op.unknown_id_status.into_iter().collect();
        let header = self.shared.api.access_token_header.as_str();
        let secret = raw
            .request_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(header))
            .map(|(_, v)| v.as_str());
        let by_own_secret = secret.is_some_and(|secret| {
            self.own_secrets
                .iter()
                .any(|(id, s)| s == secret && raw.url.ends_with(&op.path_with(id)))
        });
        if by_own_secret && op.response(401).is_some() {
            statuses.push(401);
        }
        statuses
    }

    /// The exchange as the snapshot sees it. A DELETE whose lost attempt did the deletion
    /// (`done_by_lost`) is recorded with the success that attempt answered, so a flaky
    /// network does not change the baseline.
    fn as_snapshotted(
        &self,
        kind: OperationId,
        raw: &RawExchange,
        done_by_lost: bool,
    ) -> RawExchange {
        let mut raw = raw.clone();
        if done_by_lost && let Ok(r) = &mut raw.response {
            self.as_success(kind, r);
        }
        raw
    }

    /// The answer a lost attempt gave: the operation's success, with no headers or body.
    fn as_success(&self, kind: OperationId, r: &mut RawResponse) {
        if let Some(success) = self.shared.api.get(kind).success_status() {
            r.status = success;
            r.headers.clear();
            r.body.clear();
        }
    }

    /// A target that would not serve the request gives no verdict on conformance: the
    /// scenario stops without one (verdict `target_unavailable`).
    fn unserved(&mut self, why: &str) {
        self.tally.stats.rate_limited += 1;
        self.tally
            .unserved
            .get_or_insert_with(|| self.shared.redactor.apply(why));
    }

    /// Makes a typed call as `role` and records every request it sent; returns the call's
    /// result and the last response. `None` (reported) when the role has no credential.
    async fn call<T, F, Fut>(
        &mut self,
        role: Role,
        kind: OperationId,
        expected: &[u16],
        call: F,
    ) -> Option<(T, Option<RawResponse>)>
    where
        F: FnOnce(abp_tokens_client::Client) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let transport = self.shared.transport.clone();
        let Some((result, sent)) = transport.typed(role, call).await else {
            self.missing(role);
            return None;
        };
        let raw = self.record_typed(sent, kind, expected, role);
        Some((result, raw))
    }

    /// Records every request a typed call made; returns the last response.
    fn record_typed(
        &mut self,
        sent: Vec<Sent>,
        kind: OperationId,
        expected: &[u16],
        role: Role,
    ) -> Option<RawResponse> {
        let mut last = None;
        for s in sent {
            last = self.record(s, kind, expected, Some(role));
        }
        last
    }

    fn missing(&mut self, role: Role) {
        self.step_failed(&format!("{} is not set", role.env_var()));
    }

    /// Creates a token through the generated client. `None` when the step failed (already
    /// reported); the scenario should stop.
    pub async fn create(&mut self, role: Role, body: &serde_json::Value) -> Option<Created> {
        let expected: Vec<u16> = self.api().create.success_status().into_iter().collect();
        let request: types::CreateUserAccessTokenRequest =
            match serde_json::from_value(body.clone()) {
                Ok(r) => r,
                Err(e) => {
                    self.step_failed(&format!(
                        "the generated client cannot express this create body: {e}"
                    ));
                    return None;
                }
            };
        let (result, raw) = self
            .call(
                role,
                OperationId::CreateMyToken,
                &expected,
                |c| async move { c.create_my_token(&request).await },
            )
            .await?;
        let received_at = chrono::Utc::now();
        let token = match result {
            Ok(v) => v.into_inner(),
            Err(e) => {
                if let Some(r) = raw {
                    let why = crate::exchange::describe_client_error(&e, &self.shared.redactor);
                    self.step_failed(&format!("create answered {}: {why}", r.status));
                }
                return None;
            }
        };
        let created = Created {
            id: token.id.clone(),
            secret: token.token.to_string(),
            token,
            received_at,
        };
        let unique = self
            .shared
            .seen
            .check_new(created.id.as_str(), &created.secret);
        self.check(checks::IDS_AND_SECRETS_UNIQUE, unique);
        Some(created)
    }

    /// Lists the role's tokens through the generated client. Falls back to the raw body's
    /// items when the typed client cannot decode it (the schema check reports why).
    pub async fn list(&mut self, role: Role) -> Option<Vec<serde_json::Value>> {
        let expected: Vec<u16> = self.api().list.success_status().into_iter().collect();
        let (result, raw) = self
            .call(role, OperationId::ListMyTokens, &expected, |c| async move {
                c.list_my_tokens().await
            })
            .await?;
        let raw = raw?;
        let items = Some(&raw)
            .filter(|r| (200..300).contains(&r.status))
            .and_then(RawResponse::json)
            .and_then(|v| match v {
                serde_json::Value::Array(items) => Some(items),
                _ => None,
            });
        if items.is_none() {
            let why = match result {
                Ok(_) => "the list body is not a JSON array".to_owned(),
                Err(e) => crate::exchange::describe_client_error(&e, &self.shared.redactor),
            };
            self.step_failed(&format!("list answered {}: {why}", raw.status));
        }
        items
    }

    /// The ids in the role's list that this scenario answers for: tokens named with the
    /// scenario's prefix, and tokens a response of this scenario said it created. Other
    /// tokens are ignored, so a shared staging account, a concurrent scenario or a second
    /// run at the same time cannot cause false alarms.
    pub async fn list_ids(&mut self, role: Role) -> Option<Vec<String>> {
        let items = self.list(role).await?;
        Some(
            items
                .iter()
                .filter_map(|item| {
                    let id = item.get("_id").and_then(|v| v.as_str())?;
                    let named_ours = item
                        .get("name")
                        .and_then(|v| v.as_str())
                        .is_some_and(|n| n.starts_with(self.prefix.as_str()));
                    let created_here = self.to_clean.iter().any(|(_, i)| i == id);
                    (named_ours || created_here).then(|| id.to_owned())
                })
                .collect(),
        )
    }

    /// Deletes through the generated client; returns the status (or `None` on no response).
    pub async fn delete(&mut self, role: Role, id: &str, expected: &[u16]) -> Option<u16> {
        if self.refuses_to_delete(id) {
            return None;
        }
        let Ok(typed_id) = id.parse::<types::ObjectId>() else {
            self.step_failed(&format!("`{id}` is not an id the generated client accepts"));
            return None;
        };
        let (_, raw) = self
            .call(role, OperationId::DeleteMyToken, expected, |c| async move {
                c.delete_my_token(&typed_id).await
            })
            .await?;
        let raw = raw?;
        if (200..300).contains(&raw.status) {
            self.to_clean.retain(|(_, i)| i != id);
        } else if Some(raw.status) == self.api().delete.unknown_id_status {
            // The owner is told the token does not exist (say a retried DELETE whose first
            // attempt went through): nothing is left to clean up. Another user's 404 says
            // nothing about whether the token exists.
            self.to_clean.retain(|(r, i)| !(i == id && *r == role));
        }
        Some(raw.status)
    }

    /// Never harm the account: a DELETE of an id a list showed as a token this run did not
    /// create (a person's, which a hostile create answer named) is not sent. The step fails.
    fn refuses_to_delete(&mut self, id: &str) -> bool {
        if !self.shared.seen.is_foreign(id) {
            return false;
        }
        self.step_failed(&format!(
            "not deleting {id}: {}, and a list showed it as a token this run did not create",
            checks::unique::NOT_JUST_CREATED
        ));
        true
    }

    /// Sends a request the typed client cannot express (a bad body, a bad credential, a
    /// secret in the access-token header). `path` is relative to the base URL.
    pub async fn raw(
        &mut self,
        kind: OperationId,
        path: &str,
        auth: Auth,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
        expected: &[u16],
    ) -> Option<RawResponse> {
        if kind == OperationId::DeleteMyToken
            && self.refuses_to_delete(path.rsplit('/').next().unwrap_or(""))
        {
            return None;
        }
        let op = self.shared.api.get(kind);
        let transport = self.shared.transport.clone();
        let sent = match transport
            .raw(&op.method, path, &auth, headers, body, &op.id)
            .await
        {
            Ok(s) => s,
            Err(why) => {
                self.step_failed(&why);
                return None;
            }
        };
        let index = self.exchanges;
        let mut response = self.settle_raw(sent, kind, path, &auth, expected)?;
        // The scenario is told what the snapshot records: the lost attempt's success (the
        // retry's status is reported with the exchange), so that a dropped answer does not
        // turn its next steps into "the delete failed".
        if self.lost_first.contains(&index) {
            self.as_success(kind, &mut response);
        }
        Some(response)
    }

    /// Records a raw request's exchange like [`Ctx::raw`] does.
    fn settle_raw(
        &mut self,
        sent: Sent,
        kind: OperationId,
        path: &str,
        auth: &Auth,
        expected: &[u16],
    ) -> Option<RawResponse> {
        let index = self.exchanges;
        let response = self.record(sent, kind, expected, auth.owner());
        // A raw DELETE that succeeded leaves nothing for the clean-up to delete (nor does one
        // whose lost first attempt did the deletion).
        if kind == OperationId::DeleteMyToken
            && response
                .as_ref()
                .is_some_and(|r| (200..300).contains(&r.status) || self.lost_first.contains(&index))
        {
            let last = path.rsplit('/').next().unwrap_or_default();
            self.to_clean.retain(|(_, id)| id != last);
        }
        response
    }

    /// Sends the requests at the same time (a burst: parallel creates, racing deletes of one
    /// token) and then records them by status, then in the order given: which of several
    /// racing deletes wins is the server's choice, and the report must not depend on it.
    /// Returns one answer per request, in the order given.
    pub async fn burst(&mut self, requests: &[RawRequest]) -> Vec<Option<RawResponse>> {
        let foreign = requests.iter().find(|r| {
            r.kind == OperationId::DeleteMyToken
                && self
                    .shared
                    .seen
                    .is_foreign(r.path.rsplit('/').next().unwrap_or(""))
        });
        if let Some(r) = foreign {
            let id = r.path.rsplit('/').next().unwrap_or("").to_owned();
            self.refuses_to_delete(&id);
            return vec![None; requests.len()];
        }
        let shared = self.shared;
        let sends = requests.iter().map(|r| {
            let op = shared.api.get(r.kind);
            let headers: Vec<(&str, String)> =
                r.headers.iter().map(|(k, v)| (*k, v.clone())).collect();
            let transport = shared.transport.clone();
            let body = r.body.clone();
            async move {
                transport
                    .raw(&op.method, &r.path, &r.auth, &headers, body, &op.id)
                    .await
            }
        });
        let sent = futures_util::future::join_all(sends).await;
        let mut order: Vec<usize> = (0..sent.len()).collect();
        order.sort_by_key(|i| match &sent[*i] {
            Ok(s) => s.exchange.response.as_ref().map_or(0, |r| r.status),
            Err(_) => 0,
        });
        let mut sent: Vec<Option<Result<Sent, String>>> = sent.into_iter().map(Some).collect();
        let mut out = vec![None; requests.len()];
        for i in order {
            let r = &requests[i];
            out[i] = match sent[i].take() {
                Some(Ok(sent)) => self.settle_raw(sent, r.kind, &r.path, &r.auth, &r.expected),
                Some(Err(why)) => {
                    self.step_failed(&why);
                    None
                }
                None => None,
            };
        }
        out
    }

    /// Sends a request the spec does not document (say a method a path does not have). Its
    /// exchange is reported, but the response checks, which judge documented operations, do
    /// not run; the scenario judges the answer. `kind` names the operation whose path it is.
    pub async fn undocumented(
        &mut self,
        kind: OperationId,
        method: &str,
        path: &str,
        auth: Auth,
    ) -> Option<RawResponse> {
        let op = self.shared.api.get(kind);
        let transport = self.shared.transport.clone();
        let sent = match transport.raw(method, path, &auth, &[], None, &op.id).await {
            Ok(s) => s,
            Err(why) => {
                self.step_failed(&why);
                return None;
            }
        };
        let raw = sent.exchange;
        let index = self.exchanges;
        self.exchanges += 1;
        self.tally.stats.requests += 1 + sent.retries.len();
        let record = ExchangeRecord::new(
            &raw,
            &self.scenario,
            index,
            &op.id,
            self.shared.transport.base_url(),
            &self.shared.redactor,
        );
        self.emit(Event::Exchange(record));
        if let Some(why) = &sent.gave_up {
            self.unserved(why);
            return None;
        }
        match raw.response {
            Ok(r) => Some(r),
            Err(e) => {
                self.step_failed(&format!(
                    "{method} {path} got no response: {}",
                    self.shared.redactor.apply(&e.message)
                ));
                None
            }
        }
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
            spec: &self.shared.config.spec,
            validators: &self.shared.validators,
            prefix: &self.prefix,
            redactor: &self.shared.redactor,
        };
        let document: Vec<serde_json::Value> = self
            .log
            .iter()
            .map(|(kind, raw)| {
                normalizer.exchange(
                    self.shared.api.get(*kind),
                    raw,
                    self.shared.transport.base_url(),
                )
            })
            .collect();
        // A recording approves what the server answered: never a scenario whose spec checks
        // failed, unless told to.
        let config = &self.shared.config;
        if config.update_snapshots && self.tally.failed && !config.force_record {
            self.emit_check(
                checks::SNAPSHOT,
                Err(Failure::new(
                    "not recorded: this scenario's spec checks failed, and a failing answer is not approved as a baseline (--force records it anyway)",
                )),
                At::default(),
            );
            return;
        }
        use crate::snapshot::Compared;
        match crate::snapshot::check(
            &dir,
            &self.scenario,
            summary,
            &serde_json::Value::Array(document),
        ) {
            Compared::Matched => self.emit_check(checks::SNAPSHOT, Ok(()), At::default()),
            Compared::Recorded { new } => {
                if new {
                    self.tally.stats.snapshots_new += 1;
                } else {
                    self.tally.stats.snapshots_updated += 1;
                }
                self.emit_check(checks::SNAPSHOT, Ok(()), At::default());
            }
            Compared::Differs(f) => self.emit_check(checks::SNAPSHOT, Err(f), At::default()),
            // First contact with a target outside CI: nothing to compare with yet. The
            // exchanges are pending for review and the verdict rests on the spec checks.
            Compared::Missing(_) if !crate::snapshot::is_ci() && !config.update_snapshots => {
                self.tally.stats.no_baseline += 1;
            }
            Compared::Missing(f) => self.emit_check(checks::SNAPSHOT, Err(f), At::default()),
        }
    }

    /// Deletes what the scenario created and did not delete itself; returns how many deletions were not confirmed (no
    /// answer, or one that is neither the success nor the unknown-id status).
    pub(crate) async fn clean_up(&mut self) -> usize {
        let pending = std::mem::take(&mut self.to_clean);
        let delete = &self.shared.api.delete;
        let mut accepted: Vec<u16> = delete.success_status().into_iter().collect();
        accepted.extend(delete.unknown_id_status);
        let mut unconfirmed = 0;
        for (role, id) in pending {
            // Only the role that created a token deletes it: never anyone else's.
            let status = self.delete(role, &id, &accepted).await;
            if !status.is_some_and(|s| accepted.contains(&s)) {
                unconfirmed += 1;
            }
        }
        unconfirmed
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
