//! Executes scenarios against the target and emits events. Knows nothing about output.
//!
//! Safety rules a run against staging relies on:
//! - every token this run creates is named with the run's prefix and deleted at the end of
//!   its scenario (and by a final sweep of the prefix), and nothing else is ever deleted;
//! - every secret (credentials, derived credentials, created secrets) is registered with the
//!   redactor before anything that could contain it is emitted.

use crate::checks::{self, Failure, ResponseCx, schema::Validators};
use crate::config::{Role, RunConfig};
use crate::events::{CheckRecord, CoverageEntry, Event, RunStats, Verdict};
use crate::exchange::{ExchangeRecord, RawExchange, RawResponse};
use crate::redact::{CREATED_SECRET, Redactor};
use crate::report::Reporter;
use crate::suites::{self, Scenario};
use abp_spec::{Lifetime, Operation};
use abp_tokens_client::{Client, ClientInfo, Observer, types};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub const LIST: &str = "listMyTokens";
pub const CREATE: &str = "createMyToken";
pub const DELETE: &str = "deleteMyToken";

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Exit code 2: the run cannot start as configured.
    #[error("{0}")]
    Config(String),
    /// Exit code 3: the target did not answer the first request.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
}

impl RunError {
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Config(_) => 2,
            RunError::Unreachable { .. } => 3,
        }
    }
}

/// The three operations, looked up by operationId in the spec.
pub struct Ops {
    pub list: Operation,
    pub create: Operation,
    pub delete: Operation,
}

impl Ops {
    fn from_spec(spec: &abp_spec::Spec) -> Result<Ops, RunError> {
        let get = |id: &str| {
            spec.operation(id).ok_or_else(|| {
                RunError::Config(format!("the spec has no operation with operationId `{id}`"))
            })
        };
        Ok(Ops {
            list: get(LIST)?,
            create: get(CREATE)?,
            delete: get(DELETE)?,
        })
    }

    pub fn by_id(&self, id: &str) -> &Operation {
        match id {
            LIST => &self.list,
            CREATE => &self.create,
            _ => &self.delete,
        }
    }
}

/// State shared by every scenario of one run.
pub struct Shared {
    pub config: RunConfig,
    pub ops: Ops,
    pub lifetimes: Vec<Lifetime>,
    pub validators: Validators,
    pub redactor: Redactor,
    /// Names of tokens this run creates start with this.
    pub prefix: String,
    pub run_id: String,
    typed: BTreeMap<Role, Client>,
    anon: Client,
    observed: Arc<Mutex<Vec<abp_tokens_client::Exchange>>>,
    seen_ids: Mutex<HashSet<String>>,
    seen_secrets: Mutex<HashSet<String>>,
    /// When the next request may be sent (`--max-rps`).
    next_request: tokio::sync::Mutex<Instant>,
    /// (operationId, documented status) → (responses seen, all response checks passed).
    coverage: Mutex<BTreeMap<(String, u16), (usize, bool)>>,
}

fn http_client(config: &RunConfig, credential: Option<&str>) -> Result<reqwest::Client, RunError> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(c) = credential {
        let mut value =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {c}")).map_err(|_| {
                RunError::Config("a credential contains characters not allowed in a header".into())
            })?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    reqwest::Client::builder()
        .default_headers(headers)
        // A conformance verdict is about the answer the target gives, not one it points to.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(std::time::Duration::from_secs(5)))
        .build()
        .map_err(|e| RunError::Config(format!("cannot build the HTTP client: {e}")))
}

impl Shared {
    pub fn new(config: RunConfig) -> Result<Shared, RunError> {
        let ops = Ops::from_spec(&config.spec)?;
        let lifetimes = config
            .spec
            .lifetimes()
            .map_err(|e| RunError::Config(e.to_string()))?;
        let validators =
            Validators::compile(&config.spec).map_err(|e| RunError::Config(e.to_string()))?;
        let redactor = Redactor::default();
        for role in Role::ALL {
            if let Some(c) = config.credentials.get(role) {
                redactor.add(c, &format!("[{}]", role.env_var()));
                redactor.add(&tamper(c), &format!("[tampered {}]", role.env_var()));
            }
        }
        let observed = Arc::new(Mutex::new(Vec::new()));
        let sink = observed.clone();
        let observer = Observer::new(move |e| {
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(e);
        });
        let mut typed = BTreeMap::new();
        for role in Role::ALL {
            if let Some(c) = config.credentials.get(role) {
                let http = http_client(&config, Some(c))?;
                typed.insert(
                    role,
                    Client::new_with_client(&config.base_url, http, observer.clone()),
                );
            }
        }
        let anon = Client::new_with_client(&config.base_url, http_client(&config, None)?, observer);
        let run_id = random_hex(8);
        let coverage = [&ops.list, &ops.create, &ops.delete]
            .into_iter()
            .flat_map(|op| {
                op.documented_statuses()
                    .into_iter()
                    .map(|s| ((op.id.clone(), s), (0, true)))
            })
            .collect();
        Ok(Shared {
            prefix: format!("conformance-{run_id}-"),
            run_id,
            config,
            ops,
            lifetimes,
            validators,
            redactor,
            typed,
            anon,
            observed,
            seen_ids: Mutex::new(HashSet::new()),
            seen_secrets: Mutex::new(HashSet::new()),
            coverage: Mutex::new(coverage),
            next_request: tokio::sync::Mutex::new(Instant::now()),
        })
    }
}

impl Shared {
    /// Waits until the next request may go out under `--max-rps`; returns at once without it.
    async fn pace(&self) {
        let Some(rps) = self.config.max_rps else {
            return;
        };
        let mut next = self.next_request.lock().await;
        tokio::time::sleep_until((*next).into()).await;
        *next = Instant::now() + std::time::Duration::from_secs_f64(1.0 / rps);
    }
}

pub fn random_hex(bytes: usize) -> String {
    use rand::RngExt as _;
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// The credential with one character changed (the middle one), so it is close to valid.
pub fn tamper(credential: &str) -> String {
    let mut chars: Vec<char> = credential.chars().collect();
    if chars.is_empty() {
        return "x".into();
    }
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
    chars.into_iter().collect()
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

/// One scenario's view of the run: records exchanges, runs checks, emits events.
pub struct Ctx<'a> {
    pub shared: &'a Shared,
    pub scenario: String,
    reporter: &'a mut dyn Reporter,
    exchanges: usize,
    failed: bool,
    /// A failure listed in the known-failures file happened.
    known: bool,
    /// Tokens to delete when the scenario ends: (role that created it, id).
    to_clean: Vec<(Role, String)>,
    /// Every exchange of the scenario, raw, with its operationId (for the snapshot).
    log: Vec<(String, RawExchange)>,
    stats: &'a mut RunStats,
}

impl<'a> Ctx<'a> {
    fn new(
        shared: &'a Shared,
        scenario: &str,
        reporter: &'a mut dyn Reporter,
        stats: &'a mut RunStats,
    ) -> Self {
        Ctx {
            shared,
            scenario: scenario.to_owned(),
            reporter,
            exchanges: 0,
            failed: false,
            known: false,
            to_clean: Vec::new(),
            log: Vec::new(),
            stats,
        }
    }

    pub fn ops(&self) -> &'a Ops {
        &self.shared.ops
    }

    pub fn credential(&self, role: Role) -> Option<&'a str> {
        self.shared.config.credentials.get(role)
    }

    /// A name for a token this run creates: the run prefix plus a label.
    pub fn token_name(&self, label: &str) -> String {
        format!("{}{label}", self.shared.prefix)
    }

    fn emit(&mut self, event: Event) {
        self.reporter.event(&event);
    }

    /// Records a scenario-level check. A disabled check is neither evaluated nor reported.
    pub fn check(&mut self, name: &'static str, result: Result<(), Failure>) {
        if !self.shared.config.checks.is_enabled(name) {
            return;
        }
        self.emit_check(name, result, None, None, None);
    }

    /// Records that a step could not be carried out; the scenario stops there.
    pub fn step_failed(&mut self, what: &str) {
        let failure = Failure::new(format!("cannot continue: {what}"));
        self.emit_check(checks::SCENARIO_STEP, Err(failure), None, None, None);
    }

    fn emit_check(
        &mut self,
        name: &str,
        result: Result<(), Failure>,
        exchange: Option<usize>,
        operation: Option<&str>,
        status: Option<u16>,
    ) {
        self.stats.checks_run += 1;
        let r = &self.shared.redactor;
        let record = match result {
            Ok(()) => CheckRecord {
                scenario: self.scenario.clone(),
                check: name.to_owned(),
                passed: true,
                exchange,
                operation: operation.map(str::to_owned),
                status,
                message: None,
                expected: None,
                actual: None,
                spec_pointer: None,
                known_failure: None,
            },
            Err(f) => {
                let known = self
                    .shared
                    .config
                    .known_failures
                    .lookup(&self.scenario, name);
                if known.is_some() {
                    self.known = true;
                    self.stats.known_failures += 1;
                } else {
                    self.failed = true;
                    self.stats.checks_failed += 1;
                }
                CheckRecord {
                    scenario: self.scenario.clone(),
                    check: name.to_owned(),
                    passed: false,
                    exchange,
                    operation: operation.map(str::to_owned),
                    status,
                    message: Some(r.apply(&f.message)),
                    expected: f.expected.map(|e| r.apply(&e)),
                    actual: f.actual.map(|a| r.apply(&a)),
                    spec_pointer: f.spec_pointer,
                    known_failure: known,
                }
            }
        };
        self.emit(Event::Check(record));
    }

    /// Emits the exchange, runs every enabled response check on it, and applies the safety
    /// rules (a created token is scheduled for deletion and its secret is redacted from then on).
    fn record(&mut self, raw: RawExchange, op: &Operation, expected: &[u16], role: Option<Role>) {
        let index = self.exchanges;
        self.exchanges += 1;
        self.stats.requests += 1;
        let created = match &raw.response {
            Ok(r) if op.id == CREATE && (200..300).contains(&r.status) => r.json(),
            _ => None,
        };
        // The leak check must not see this response's own new secret (a create response may
        // show it), but the redactor must know it before the exchange is emitted.
        let earlier_secrets = self.shared.redactor.entries();
        if let Some(body) = &created {
            if let Some(secret) = body.get("token").and_then(|t| t.as_str()) {
                self.shared.redactor.add(secret, CREATED_SECRET);
            }
            if let Some(id) = body.get("_id").and_then(|t| t.as_str()) {
                self.to_clean
                    .push((role.unwrap_or(Role::User), id.to_owned()));
            }
        }
        let record = ExchangeRecord::new(
            &raw,
            &self.scenario,
            index,
            &op.id,
            &self.shared.config.base_url,
            &self.shared.redactor,
        );
        self.emit(Event::Exchange(record));
        self.log.push((op.id.clone(), raw.clone()));
        let Ok(response) = &raw.response else {
            let reason = raw.response.as_ref().err().cloned().unwrap_or_default();
            self.step_failed(&format!(
                "{} {} got no response: {reason}",
                raw.method, op.path
            ));
            return;
        };
        let cx = ResponseCx {
            op,
            response,
            expected,
            validators: &self.shared.validators,
            secrets: &earlier_secrets,
        };
        let mut all_passed = true;
        for (name, check) in checks::RESPONSE_CHECKS {
            if !self.shared.config.checks.is_enabled(name) {
                continue;
            }
            if let Some(result) = check(&cx) {
                all_passed &= result.is_ok();
                self.emit_check(
                    name,
                    result,
                    Some(index),
                    Some(&op.id),
                    Some(response.status),
                );
            }
        }
        let mut coverage = self
            .shared
            .coverage
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some((seen, passed)) = coverage.get_mut(&(op.id.clone(), response.status)) {
            *seen += 1;
            *passed &= all_passed;
        }
    }

    /// Drains what the typed client's observer saw and records it.
    fn record_observed(
        &mut self,
        op: &Operation,
        expected: &[u16],
        role: Role,
        started: Instant,
    ) -> Option<RawResponse> {
        let drained: Vec<_> = std::mem::take(
            &mut *self
                .shared
                .observed
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        let mut last = None;
        // reqwest adds the client's default Authorization header after the hook sees the
        // request; record it so the exchange (and its replay line) is complete.
        let authorization = self.credential(role).map(|c| format!("Bearer {c}"));
        for e in drained {
            let mut raw = RawExchange::from(e);
            if let Some(a) = &authorization
                && !raw
                    .request_headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            {
                raw.request_headers
                    .insert(0, ("authorization".to_owned(), a.clone()));
            }
            raw.duration_ms = started.elapsed().as_millis() as u64;
            last = raw.response.clone().ok();
            self.record(raw, op, expected, Some(role));
        }
        last
    }

    fn typed(&self, role: Role) -> Option<&'a Client> {
        self.shared.typed.get(&role)
    }

    /// Creates a token through the generated client. `None` when the step failed (already
    /// reported); the scenario should stop.
    pub async fn create(&mut self, role: Role, body: &serde_json::Value) -> Option<Created> {
        let op = &self.shared.ops.create;
        let expected: Vec<u16> = op.success_status().into_iter().collect();
        let request: types::CreateUserAccessTokenRequest =
            match serde_json::from_value(body.clone()) {
                Ok(r) => r,
                Err(e) => {
                    self.step_failed(&format!("the generated client cannot express {body}: {e}"));
                    return None;
                }
            };
        let client = self.typed(role)?;
        self.shared.pace().await;
        let started = Instant::now();
        let result = client.create_my_token(&request).await;
        let raw = self.record_observed(op, &expected, role, started);
        let received_at = chrono::Utc::now();
        let token = match result {
            Ok(v) => v.into_inner(),
            Err(e) => {
                let status = raw.map(|r| r.status.to_string()).unwrap_or_default();
                self.step_failed(&format!(
                    "create answered {status}: {}",
                    self.shared.redactor.apply(&e.to_string())
                ));
                return None;
            }
        };
        let created = Created {
            id: token.id.clone(),
            secret: token.token.to_string(),
            token,
            received_at,
        };
        self.check_unique(&created);
        Some(created)
    }

    fn check_unique(&mut self, created: &Created) {
        let new_id = self
            .shared
            .seen_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(created.id.to_string());
        let new_secret = self
            .shared
            .seen_secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(created.secret.clone());
        let result = match (new_id, new_secret) {
            (true, true) => Ok(()),
            (false, _) => Err(Failure::new(format!(
                "the create returned id {}, which an earlier create of this run returned too",
                created.id.as_str()
            ))
            .expected("a new id")
            .actual(created.id.to_string())),
            (true, false) => Err(Failure::new(
                "the create returned a secret that an earlier create of this run returned too",
            )
            .expected("a new secret")
            .actual(CREATED_SECRET)),
        };
        self.check(checks::IDS_AND_SECRETS_UNIQUE, result);
    }

    /// Lists the role's tokens through the generated client. Falls back to the raw body's
    /// ids when the typed client cannot decode it (the schema check reports why).
    pub async fn list(&mut self, role: Role) -> Option<Vec<serde_json::Value>> {
        let op = &self.shared.ops.list;
        let expected: Vec<u16> = op.success_status().into_iter().collect();
        let client = self.typed(role)?;
        self.shared.pace().await;
        let started = Instant::now();
        let result = client.list_my_tokens().await;
        let raw = self.record_observed(op, &expected, role, started);
        let items = raw
            .as_ref()
            .filter(|r| (200..300).contains(&r.status))
            .and_then(RawResponse::json)
            .and_then(|v| v.as_array().cloned());
        if items.is_none() {
            let why = match result {
                Ok(_) => "the list body is not a JSON array".to_owned(),
                Err(e) => self.shared.redactor.apply(&e.to_string()),
            };
            self.step_failed(&format!("list failed: {why}"));
        }
        items
    }

    /// The ids in the role's list that this run answers for: tokens named with the run prefix,
    /// and tokens a response of this scenario said it created. Other tokens are ignored, so a
    /// shared staging account (or a second run at the same time) cannot cause false alarms.
    pub async fn list_ids(&mut self, role: Role) -> Option<Vec<String>> {
        let items = self.list(role).await?;
        let prefix = &self.shared.prefix;
        Some(
            items
                .iter()
                .filter_map(|item| {
                    let id = item.get("_id").and_then(|v| v.as_str())?;
                    let named_ours = item
                        .get("name")
                        .and_then(|v| v.as_str())
                        .is_some_and(|n| n.starts_with(prefix.as_str()));
                    let created_here = self.to_clean.iter().any(|(_, i)| i == id);
                    (named_ours || created_here).then(|| id.to_owned())
                })
                .collect(),
        )
    }

    /// Deletes through the generated client; returns the status (or `None` on no response).
    pub async fn delete(&mut self, role: Role, id: &str, expected: &[u16]) -> Option<u16> {
        let op = &self.shared.ops.delete;
        let client = self.typed(role)?;
        let Ok(typed_id) = id.parse::<types::ObjectId>() else {
            self.step_failed(&format!("`{id}` is not an id the generated client accepts"));
            return None;
        };
        self.shared.pace().await;
        let started = Instant::now();
        let _ = client.delete_my_token(&typed_id).await;
        let raw = self.record_observed(op, expected, role, started)?;
        if (200..300).contains(&raw.status) {
            self.to_clean.retain(|(_, i)| i != id);
        }
        Some(raw.status)
    }

    /// Sends a request the typed client cannot express, through its inner reqwest client.
    pub async fn raw(
        &mut self,
        op: &Operation,
        path: &str,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
        expected: &[u16],
    ) -> Option<RawResponse> {
        let url = format!("{}{path}", self.shared.config.base_url);
        let method =
            reqwest::Method::from_bytes(op.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut builder = self.shared.anon.client().request(method.clone(), &url);
        builder = builder.header("api-version", self.shared.config.spec.version());
        for (k, v) in headers {
            builder = builder.header(*k, v.as_str());
        }
        if let Some(b) = &body {
            builder = builder.body(b.clone());
        }
        let request = match builder.build() {
            Ok(r) => r,
            Err(e) => {
                self.step_failed(&format!("cannot build request: {e}"));
                return None;
            }
        };
        let request_headers = abp_tokens_client::header_pairs(request.headers());
        self.shared.pace().await;
        let started = Instant::now();
        let response = match self.shared.anon.client().execute(request).await {
            Ok(r) => {
                let status = r.status().as_u16();
                let headers = abp_tokens_client::header_pairs(r.headers());
                match r.bytes().await {
                    Ok(b) => Ok(RawResponse {
                        status,
                        headers,
                        body: b.to_vec(),
                    }),
                    Err(e) => Err(e.to_string()),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let raw = RawExchange {
            method: method.to_string(),
            url,
            request_headers,
            request_body: body,
            response: response.clone(),
            duration_ms: started.elapsed().as_millis() as u64,
        };
        // Which role made the request decides who owns anything it created.
        let role = Role::ALL.into_iter().find(|r| {
            self.credential(*r)
                .is_some_and(|c| headers.iter().any(|(_, v)| v.ends_with(c)))
        });
        self.record(raw, op, expected, role);
        response.ok()
    }

    /// The snapshot gate: the scenario's normalized exchanges against the approved baseline.
    fn compare_snapshot(&mut self, summary: &str) {
        let Some(dir) = self.shared.config.snapshot_dir.clone() else {
            return;
        };
        if !self.shared.config.checks.is_enabled(checks::SNAPSHOT) {
            return;
        }
        let normalizer = crate::snapshot::Normalizer {
            spec: &self.shared.config.spec,
            validators: &self.shared.validators,
            prefix: &self.shared.prefix,
            redactor: &self.shared.redactor,
        };
        let document: Vec<serde_json::Value> = self
            .log
            .iter()
            .map(|(op, raw)| {
                normalizer.exchange(self.shared.ops.by_id(op), raw, &self.shared.config.base_url)
            })
            .collect();
        let result = crate::snapshot::check(
            &dir,
            &self.scenario,
            summary,
            &serde_json::Value::Array(document),
        );
        self.emit_check(checks::SNAPSHOT, result, None, None, None);
    }

    /// Deletes what the scenario created and did not delete itself.
    async fn clean_up(&mut self) {
        let pending = std::mem::take(&mut self.to_clean);
        let delete = &self.shared.ops.delete;
        let mut accepted: Vec<u16> = delete.success_status().into_iter().collect();
        accepted.extend(delete.unknown_id_status);
        for (role, id) in pending {
            // Only the role that created a token deletes it: never anyone else's.
            self.delete(role, &id, &accepted).await;
        }
    }
}

/// Runs the selected scenarios against the configured target.
pub async fn run(config: RunConfig, reporter: &mut dyn Reporter) -> Result<RunStats, RunError> {
    let started = Instant::now();
    let scenarios = suites::select(&config)?;
    let shared = Shared::new(config)?;
    preflight(&shared).await?;
    let mut stats = RunStats::default();
    reporter.event(&Event::RunStarted {
        run_id: shared.run_id.clone(),
        target: shared.config.target_name.clone(),
        base_url: shared.config.base_url.clone(),
        spec_title: shared
            .config
            .spec
            .document()
            .pointer("/info/title")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned(),
        spec_version: shared.config.spec.version().to_owned(),
        scenarios: scenarios.len(),
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    for (i, scenario) in scenarios.iter().enumerate() {
        if shared
            .config
            .cancel
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            stats.interrupted = true;
            reporter.event(&Event::Warning {
                message: format!(
                    "interrupted: {} of {} scenarios did not run; deleting this run's tokens",
                    scenarios.len() - i,
                    scenarios.len()
                ),
            });
            break;
        }
        run_scenario(&shared, scenario, reporter, &mut stats).await;
    }
    sweep(&shared, reporter, &mut stats).await;
    stats.scenarios = scenarios.len();

    let ran = scenarios.iter().map(|s| s.name.clone()).collect();
    let existing = suites::all(&shared.config.spec)?
        .into_iter()
        .map(|s| s.name)
        .collect();
    for message in shared.config.known_failures.warnings(&ran, &existing) {
        reporter.event(&Event::Warning { message });
    }
    let coverage = coverage(&shared);
    stats.coverage_documented = coverage.len();
    stats.coverage_exercised = coverage.iter().filter(|c| c.exercised > 0).count();
    stats.require_coverage = shared.config.require_coverage;
    if stats.coverage_exercised < stats.coverage_documented {
        let missing: Vec<String> = coverage
            .iter()
            .filter(|c| c.exercised == 0)
            .map(|c| format!("{} {}", c.operation, c.status))
            .collect();
        reporter.event(&Event::Warning {
            message: format!(
                "documented statuses never exercised: {}{}",
                missing.join(", "),
                if shared.config.require_coverage {
                    " (--require-coverage fails the run)"
                } else {
                    ""
                }
            ),
        });
    }
    stats.duration_ms = started.elapsed().as_millis() as u64;
    reporter.event(&Event::RunFinished { stats, coverage });
    Ok(stats)
}

fn coverage(shared: &Shared) -> Vec<CoverageEntry> {
    let seen = shared.coverage.lock().unwrap_or_else(|p| p.into_inner());
    [&shared.ops.list, &shared.ops.create, &shared.ops.delete]
        .into_iter()
        .flat_map(|op| {
            op.documented_statuses().into_iter().map(|status| {
                let (exercised, passed) = seen
                    .get(&(op.id.clone(), status))
                    .copied()
                    .unwrap_or((0, true));
                CoverageEntry {
                    operation: op.id.clone(),
                    method: op.method.clone(),
                    path: op.path.clone(),
                    status,
                    exercised,
                    passed: exercised > 0 && passed,
                }
            })
        })
        .collect()
}

/// One request before anything else, so an unreachable target is reported as such (exit 3)
/// rather than as a hundred failed checks.
async fn preflight(shared: &Shared) -> Result<(), RunError> {
    let url = format!("{}{}", shared.config.base_url, shared.ops.list.path);
    shared.pace().await;
    let first = shared.anon.client().get(&url).send().await;
    if let Ok(r) = &first
        && r.status().is_redirection()
    {
        let location = r
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("nowhere");
        return Err(RunError::Config(format!(
            "the target redirects GET {} with {} to {location}: give the final URL as --base-url",
            shared.ops.list.path,
            r.status().as_u16()
        )));
    }
    if let Err(e) = first {
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            reason = format!("{reason}: {s}");
            source = s.source();
        }
        return Err(RunError::Unreachable {
            url: shared.config.base_url.clone(),
            reason: shared.redactor.apply(&reason),
        });
    }
    // A wrong or expired ABP_TOKEN would fail every scenario; say so once instead.
    let Some(user) = shared.typed.get(&Role::User) else {
        return Ok(());
    };
    shared.pace().await;
    let status = user
        .client()
        .get(&url)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    match status {
        401 => Err(RunError::Config(format!(
            "the target answered 401 to {} on GET {}: the credential is unknown, expired or malformed",
            Role::User.env_var(),
            shared.ops.list.path
        ))),
        403 => Err(RunError::Config(format!(
            "the target answered 403 to {} on GET {}: that user may not manage tokens",
            Role::User.env_var(),
            shared.ops.list.path
        ))),
        _ => Ok(()),
    }
}

async fn run_scenario(
    shared: &Shared,
    scenario: &Scenario,
    reporter: &mut dyn Reporter,
    stats: &mut RunStats,
) {
    let started = Instant::now();
    reporter.event(&Event::ScenarioStarted {
        scenario: scenario.name.clone(),
        suite: scenario.suite.as_str().to_owned(),
        summary: scenario.summary.clone(),
    });
    if let Some(missing) = scenario
        .needs
        .iter()
        .find(|r| shared.config.credentials.get(**r).is_none())
    {
        stats.skipped += 1;
        reporter.event(&Event::ScenarioFinished {
            scenario: scenario.name.clone(),
            suite: scenario.suite.as_str().to_owned(),
            verdict: Verdict::Skipped,
            reason: Some(format!("needs {} (not set)", missing.env_var())),
            duration_ms: 0,
            requests: 0,
        });
        return;
    }
    let mut ctx = Ctx::new(shared, &scenario.name, reporter, stats);
    suites::execute(scenario, &mut ctx).await;
    ctx.clean_up().await;
    ctx.compare_snapshot(&scenario.summary);
    let (failed, known, requests) = (ctx.failed, ctx.known, ctx.exchanges);
    drop(ctx);
    let verdict = if failed {
        stats.failed += 1;
        Verdict::Failed
    } else if known {
        stats.passed += 1;
        Verdict::KnownFailure
    } else {
        stats.passed += 1;
        Verdict::Passed
    };
    reporter.event(&Event::ScenarioFinished {
        scenario: scenario.name.clone(),
        suite: scenario.suite.as_str().to_owned(),
        verdict,
        reason: None,
        duration_ms: started.elapsed().as_millis() as u64,
        requests,
    });
}

/// Deletes any token still carrying this run's prefix (say a create that answered an error
/// yet stored the token). Only this run's names are touched.
async fn sweep(shared: &Shared, reporter: &mut dyn Reporter, stats: &mut RunStats) {
    let mut ctx = Ctx::new(shared, "cleanup/sweep", reporter, stats);
    // The listing is quiet: only deletions the sweep makes are reported (as `cleanup/sweep`).
    let roles: Vec<Role> = [Role::User, Role::OtherUser]
        .into_iter()
        .filter(|r| shared.typed.contains_key(r))
        .collect();
    for role in roles {
        shared.pace().await;
        let Ok(list) = shared.typed[&role].list_my_tokens().await else {
            continue;
        };
        shared
            .observed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        for token in list.into_inner() {
            if token.name.starts_with(&shared.prefix) {
                ctx.to_clean.push((role, token.id.to_string()));
            }
        }
    }
    ctx.clean_up().await;
}
