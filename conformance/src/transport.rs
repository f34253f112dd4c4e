//! How every request of a run is sent: typed calls (the generated client) and raw requests
//! go through [`Transport::send`], which paces, retries what may be retried, and returns each
//! request's own exchange records. There is no shared buffer: concurrent scenarios cannot see
//! each other's exchanges.
//!
//! Retries follow what a busy or flaky staging needs and what HTTP allows:
//! - a `429` or `503` is waited out (its `Retry-After`, seconds or an HTTP date, else a
//!   backoff) and sent again, and the pace of the whole run slows down after a `429`;
//! - a transport failure is retried when the request is idempotent (GET, DELETE), or when the
//!   connection was never established (then nothing reached the server, so even a POST is safe);
//! - both are bounded (`--max-retries`, `--max-retry-wait`); every retry is reported.

use crate::concurrency::{Limiter, Outcome as Load};
use crate::error::RunError;
use crate::pacing::Pacer;
use crate::redact::{CREATED_SECRET, Redactor};
use crate::roles::{Credentials, Role};
use abp_tokens_client::{
    Client, Exchange, Observer, RecordedResponse, TransportErrorKind, send_recorded,
};
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Who a raw request claims to be. Stated by the caller, never guessed from header values.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No credential at all.
    None,
    /// `Authorization: Bearer <the role's credential>`.
    Role(Role),
    /// Any header (a malformed `Authorization`, a created secret in the access-token header).
    /// `owner` is the user a token created by this request would belong to, if any.
    Header {
        name: String,
        value: String,
        owner: Option<Role>,
    },
}

impl Auth {
    /// The user who owns what this request creates (and so must delete it).
    pub fn owner(&self) -> Option<Role> {
        match self {
            Auth::None => None,
            Auth::Role(r) => Some(*r),
            Auth::Header { owner, .. } => *owner,
        }
    }
}

/// Bounds on waiting out rate limits and retrying transport failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries per request (0 turns retrying off).
    pub max_retries: u32,
    /// The longest single wait; a `Retry-After` beyond it is not waited out.
    pub max_wait: Duration,
    /// First contact: a refused connection or a timeout is the answer (the target is not
    /// there), so only a connection broken after it was made is retried.
    pub first_contact: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            // A one-minute rate-limit window (express-rate-limit's default) is waited out.
            max_wait: Duration::from_secs(120),
            first_contact: false,
        }
    }
}

/// One retry: why, and how long the runner waited before it.
#[derive(Debug, Clone)]
pub struct Retry {
    /// The attempt that was retried, as sent and received.
    pub attempt: Exchange,
    pub reason: String,
    pub wait: Duration,
}

/// What sending one request produced.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The last attempt: the one a verdict is about.
    pub exchange: Exchange,
    /// Earlier attempts that were retried, in order.
    pub retries: Vec<Retry>,
    /// Set when the last attempt is a 429/503 that the policy gave up waiting out: the
    /// target is rate-limited or unavailable, which says nothing about conformance.
    pub gave_up: Option<String>,
    /// Set when every attempt got no answer within the timeout: how many other requests the
    /// target answered in the meantime (see [`Sent::hung`]).
    pub unanswered: Option<u64>,
}

impl Sent {
    /// Whether the input, not the load, is what goes unanswered: every attempt (at least two)
    /// timed out while the target answered at least [`HANG_EVIDENCE`] other requests.
    pub fn hung(&self) -> Option<u64> {
        self.unanswered
            .filter(|others| !self.retries.is_empty() && *others >= HANG_EVIDENCE)
    }
}

/// Other requests a target must answer while one request waits out its timeout before that
/// request's silence is laid at its input's door rather than at a busy target's.
pub const HANG_EVIDENCE: u64 = 10;

tokio::task_local! {
    /// Set while a scenario's burst is sent (`Ctx::burst`): its requests are sent at once.
    pub static IN_BURST: bool;
    /// A retry policy for everything sent in its scope: the final clean-up's own, longer
    /// budget, so it outlasts a throttling target instead of leaving tokens behind.
    pub static RETRY_POLICY: RetryPolicy;
}

impl RetryPolicy {
    /// The final clean-up's budget: many more retries, and waits of a minute (a fixed
    /// window's reset) at least.
    pub fn for_cleanup(self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max_retries.max(20),
            max_wait: self.max_wait.max(Duration::from_secs(60)),
            first_contact: false,
        }
    }
}

/// Where and how a [`Transport`] sends.
pub struct TransportSettings<'a> {
    pub base_url: &'a str,
    pub credentials: Credentials,
    pub api_version: &'a str,
    /// How long one attempt may take, answer included (`--timeout`).
    pub timeout: Duration,
    /// `--max-rps`: a pace from the start.
    pub max_rps: Option<f64>,
    pub retry: RetryPolicy,
    /// More certificate authorities to trust (`--ca-cert`).
    pub ca_certs: &'a [rustls_pki_types::CertificateDer<'static>],
    /// The response body cap (`--max-body-bytes`).
    pub max_body: usize,
    /// The most requests in flight at once (`--jobs`): a ceiling the adaptive limit grows to.
    pub jobs: usize,
}

/// Sends the run's requests. Cheap to share: scenarios hold it by reference.
pub struct Transport {
    http: reqwest::Client,
    base_url: String,
    credentials: Credentials,
    api_version: String,
    timeout: Duration,
    retry: RetryPolicy,
    pacer: Pacer,
    /// How many requests may be in flight (adaptive, `--jobs` at most).
    limiter: Limiter,
    /// Set by the first 429 so the run says once that it slowed down.
    slowed: Mutex<Option<f64>>,
    redactor: Redactor,
    secret_fields: Vec<String>,
    posts: Mutex<PostLedger>,
    /// The response body cap (`--max-body-bytes`).
    max_body: usize,
    /// Answers received so far (any status), for [`Sent::hung`].
    answers: std::sync::atomic::AtomicU64,
}

impl Transport {
    /// Whether the target has stopped answering (see [`Limiter::silent`]).
    pub fn silent(&self) -> bool {
        self.limiter.silent().is_some()
    }

    /// The places among the requests in flight for a burst of `n` requests, which then go
    /// at once (see [`IN_BURST`]).
    pub async fn burst_slot(&self, n: usize) -> crate::concurrency::Slot<'_> {
        self.limiter.acquire_many(n).await
    }
}

/// Creates (POSTs) by the order they were sent, and which have not been answered yet. A
/// concurrent scenario's list may show a token whose create answer is still on its way; its
/// events are held back until every create sent before it ended has been answered and its
/// secret registered with the redactor (see [`Transport::posts_settled`]).
#[derive(Debug, Default)]
struct PostLedger {
    next: u64,
    open: std::collections::BTreeSet<u64>,
}

/// A create in the [`PostLedger`] until it is answered or abandoned.
struct OpenPost<'a> {
    ledger: &'a Mutex<PostLedger>,
    seq: u64,
}

impl Drop for OpenPost<'_> {
    fn drop(&mut self) {
        self.ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .open
            .remove(&self.seq);
    }
}

impl Transport {
    pub fn new(
        redactor: Redactor,
        secret_fields: Vec<String>,
        settings: TransportSettings<'_>,
    ) -> Result<Arc<Transport>, RunError> {
        let TransportSettings {
            base_url,
            credentials,
            api_version,
            timeout,
            max_rps,
            retry,
            ca_certs,
            max_body,
            jobs,
        } = settings;
        let mut builder = reqwest::Client::builder()
            // A conformance verdict is about the answer the target gives, not one it points to.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)));
        if !ca_certs.is_empty() {
            let tls = crate::tls::client_config(ca_certs).map_err(RunError::Config)?;
            builder = builder.tls_backend_preconfigured(tls);
        }
        let http = builder
            .build()
            .map_err(|e| RunError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Arc::new(Transport {
            http,
            base_url: base_url.to_owned(),
            credentials,
            api_version: api_version.to_owned(),
            timeout,
            retry,
            pacer: Pacer::new(max_rps),
            // `--jobs` scenarios at once, each with at most one request in flight but for its
            // bursts: twice that is room for the bursts, and the adaptive limit stays below.
            limiter: Limiter::new(jobs.saturating_mul(2)),
            slowed: Mutex::new(None),
            redactor,
            secret_fields,
            posts: Mutex::default(),
            max_body,
            answers: Default::default(),
        }))
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The rate the run slowed down to after its last 429, if it did.
    pub fn slowed_to(&self) -> Option<f64> {
        *self.slowed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many creates have been sent so far: a watermark for [`Transport::posts_settled`].
    pub fn posts_started(&self) -> u64 {
        self.posts.lock().unwrap_or_else(|p| p.into_inner()).next
    }

    /// Whether every create sent before the watermark has been answered (or given up on).
    pub fn posts_settled(&self, watermark: u64) -> bool {
        let ledger = self.posts.lock().unwrap_or_else(|p| p.into_inner());
        ledger.open.first().is_none_or(|first| *first >= watermark)
    }

    /// Registers the secrets of a create's answer before anything else sees the answer.
    fn register_secrets(&self, exchange: &Exchange) {
        let Ok(r) = &exchange.response else { return };
        let Some(serde_json::Value::Object(body)) = r.json() else {
            // A body that does not parse (invalid UTF-8, cut short) may still carry the
            // secret: every value of a secret field found in its text is registered.
            let text = r.body_text();
            for field in &self.secret_fields {
                for secret in Redactor::field_values(&text, field) {
                    // A few characters would redact ordinary words; such a stub is not a
                    // usable credential either.
                    if secret.chars().count() >= 8 {
                        self.redactor.add(&secret, CREATED_SECRET);
                    }
                }
            }
            return;
        };
        for field in &self.secret_fields {
            if let Some(secret) = body.get(field).and_then(|v| v.as_str()) {
                self.redactor.add(secret, CREATED_SECRET);
            }
        }
    }

    fn bearer(&self, role: Role) -> Option<HeaderValue> {
        let credential = self.credentials.get(role)?;
        let mut value = HeaderValue::from_str(&format!("Bearer {credential}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// Makes a typed call as `role` and returns its result with what was sent. `None` when
    /// the role has no credential (or one that cannot be a header).
    pub async fn typed<T, F, Fut>(self: &Arc<Self>, role: Role, call: F) -> Option<(T, Vec<Sent>)>
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = T>,
    {
        let bearer = self.bearer(role)?;
        // This call's own record: a fresh slot per call, so nothing is shared.
        let slot: Arc<Mutex<Vec<Sent>>> = Arc::default();
        let sink = slot.clone();
        let this = self.clone();
        let observer = Observer::default()
            .with_header(AUTHORIZATION, bearer)
            .with_transport(Arc::new(move |_http, request, operation_id| {
                let this = this.clone();
                let sink = sink.clone();
                Box::pin(async move {
                    let (sent, response) = this.send(request, operation_id).await;
                    sink.lock().unwrap_or_else(|p| p.into_inner()).push(sent);
                    response
                })
            }));
        let client = Client::new_with_client(&self.base_url, self.http.clone(), observer);
        let result = call(client).await;
        let sent = std::mem::take(&mut *slot.lock().unwrap_or_else(|p| p.into_inner()));
        Some((result, sent))
    }

    /// Sends a request the typed client cannot express. `path` is relative to the base URL.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        auth: &Auth,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
        operation_id: &str,
    ) -> Result<Sent, String> {
        let request = self.build(method, path, auth, headers, body)?;
        Ok(self.send(request, operation_id).await.0)
    }

    /// Like [`Transport::raw`] for the first contact with a target: a refused connection or a
    /// timeout is reported at once rather than waited out, while a connection that a flaky
    /// network broke after it was made (and a 429) is retried like any other.
    pub async fn probe(
        &self,
        method: &str,
        path: &str,
        auth: &Auth,
        operation_id: &str,
    ) -> Result<Sent, String> {
        let request = self.build(method, path, auth, &[], None)?;
        let first_contact = RetryPolicy {
            first_contact: true,
            ..self.retry
        };
        Ok(self.send_with(request, operation_id, first_contact).await.0)
    }

    fn build(
        &self,
        method: &str,
        path: &str,
        auth: &Auth,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::Request, String> {
        let url = format!("{}{path}", self.base_url);
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("`{method}` is not an HTTP method"))?;
        let mut builder = self
            .http
            .request(method, &url)
            .header("api-version", self.api_version.as_str());
        match auth {
            Auth::None => {}
            Auth::Role(role) => {
                let value = self
                    .bearer(*role)
                    .ok_or_else(|| format!("{} is not set", role.env_var()))?;
                builder = builder.header(AUTHORIZATION, value);
            }
            Auth::Header { name, value, .. } => {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("`{name}` is not a header name"))?;
                let mut value = HeaderValue::from_str(value)
                    .map_err(|_| format!("the {name} value cannot be sent as a header"))?;
                value.set_sensitive(true);
                builder = builder.header(name, value);
            }
        }
        for (k, v) in headers {
            builder = builder.header(*k, v.as_str());
        }
        if let Some(b) = body {
            builder = builder.body(b);
        }
        builder
            .build()
            .map_err(|e| format!("cannot build the request: {e}"))
    }

    /// The one way a request leaves the runner: paced, recorded, retried within the policy.
    pub async fn send(
        &self,
        request: reqwest::Request,
        operation_id: &str,
    ) -> (Sent, reqwest::Result<reqwest::Response>) {
        let policy = RETRY_POLICY.try_with(|p| *p).unwrap_or(self.retry);
        self.send_with(request, operation_id, policy).await
    }

    async fn send_with(
        &self,
        request: reqwest::Request,
        operation_id: &str,
        policy: RetryPolicy,
    ) -> (Sent, reqwest::Result<reqwest::Response>) {
        let idempotent = matches!(
            *request.method(),
            reqwest::Method::GET | reqwest::Method::DELETE | reqwest::Method::HEAD
        );
        // Open until answered; the guard also closes it when the scenario is cancelled
        // mid-request (the future dropped), so no held-back outcome waits for it forever.
        let post = (*request.method() == reqwest::Method::POST).then(|| {
            let mut ledger = self.posts.lock().unwrap_or_else(|p| p.into_inner());
            let seq = ledger.next;
            ledger.next += 1;
            ledger.open.insert(seq);
            OpenPost {
                ledger: &self.posts,
                seq,
            }
        });
        let (sent, response) = self
            .attempts(request, operation_id, policy, idempotent)
            .await;
        if post.is_some() {
            for e in sent
                .retries
                .iter()
                .map(|r| &r.attempt)
                .chain([&sent.exchange])
            {
                self.register_secrets(e);
            }
        }
        drop(post);
        (sent, response)
    }

    async fn attempts(
        &self,
        request: reqwest::Request,
        operation_id: &str,
        policy: RetryPolicy,
        idempotent: bool,
    ) -> (Sent, reqwest::Result<reqwest::Response>) {
        let mut retries = Vec::new();
        let mut request = Some(request);
        // Other answers seen while the attempts of this request timed out; `None` once an
        // attempt ended otherwise.
        let mut hung: Option<u64> = Some(0);
        loop {
            let Some(current) = request.take() else {
                unreachable!("a request is kept for every attempt")
            };
            let spare = current.try_clone();
            // A burst's requests race on purpose (the scenario is about what concurrent
            // requests do): their places were taken for them all at once (`burst_slot`).
            let slot = if IN_BURST.try_with(|b| *b).unwrap_or(false) {
                None
            } else {
                Some(self.limiter.acquire().await)
            };
            // Checked once a place is free (a request may wait long for one): a target
            // silent for long is not asked again, so the run ends without a verdict in
            // about that time, not after every request's own timeout.
            if let Some(quiet) = self.limiter.silent() {
                return self.not_sent(&current, operation_id, retries, quiet);
            }
            self.pacer.wait_turn().await;
            let answers_before = self.answers.load(std::sync::atomic::Ordering::SeqCst);
            let (exchange, response) = send_recorded(
                &self.http,
                current,
                operation_id,
                Some(self.timeout),
                self.max_body,
            )
            .await;
            hung = self.count_answer(&exchange, answers_before, hung);
            let load = match &exchange.response {
                Ok(r) if r.status == 429 || r.status == 503 => Load::Refused,
                Ok(_) => Load::Answered(exchange.duration),
                Err(e) if e.kind == TransportErrorKind::Timeout => Load::TimedOut,
                Err(_) => Load::Failed,
            };
            match slot {
                Some(slot) => self.limiter.finish(slot, operation_id, load),
                None => self.limiter.observe(operation_id, load),
            }
            let attempts = retries.len() as u32;
            // Waits count from the answer, not from when `decide` got the pacer: a decision
            // that queued behind a long pause must not start its wait over.
            let received = tokio::time::Instant::now();
            let decision = self
                .decide(&exchange, idempotent, attempts, policy, received)
                .await;
            match (decision, spare) {
                (Decision::Retry { wait, reason }, Some(spare)) => {
                    retries.push(Retry {
                        attempt: exchange,
                        reason,
                        wait,
                    });
                    tokio::time::sleep_until(received + wait).await;
                    request = Some(spare);
                }
                (Decision::GiveUp(why), _) => {
                    let sent = Sent {
                        exchange,
                        retries,
                        gave_up: Some(why),
                        unanswered: None,
                    };
                    return (sent, response);
                }
                _ => {
                    let sent = Sent {
                        exchange,
                        retries,
                        gave_up: None,
                        unanswered: hung,
                    };
                    return (sent, response);
                }
            }
        }
    }

    /// A request not sent because the target has answered nothing for `quiet`: its record
    /// and the answer it stands for, so the scenario ends without a verdict.
    fn not_sent(
        &self,
        current: &reqwest::Request,
        operation_id: &str,
        retries: Vec<Retry>,
        quiet: Duration,
    ) -> (Sent, reqwest::Result<reqwest::Response>) {
        let exchange = Exchange {
            operation_id: operation_id.to_owned(),
            method: current.method().to_string(),
            url: current.url().to_string(),
            request_headers: Vec::new(),
            request_body: None,
            response: Err(abp_tokens_client::TransportError {
                kind: TransportErrorKind::Timeout,
                message: format!(
                    "not sent: the target has answered nothing for {} s",
                    quiet.as_secs()
                ),
            }),
            duration: Duration::ZERO,
        };
        let why = format!(
            "the target answered nothing for {} s (requests timed out after --timeout {} s): it is not serving",
            quiet.as_secs(),
            self.timeout.as_secs()
        );
        let sent = Sent {
            exchange,
            retries,
            gave_up: Some(why.clone()),
            unanswered: None,
        };
        let answer = abp_tokens_client::failing_response(
            reqwest::StatusCode::SERVICE_UNAVAILABLE,
            reqwest::header::HeaderMap::new(),
            why,
        );
        (sent, Ok(answer))
    }

    /// Counts an answer, and for a timed-out attempt the other answers the target gave while
    /// it waited (added to `hung`, the request's tally so far; `None` once an attempt ended
    /// otherwise).
    fn count_answer(
        &self,
        exchange: &Exchange,
        answers_before: u64,
        hung: Option<u64>,
    ) -> Option<u64> {
        use std::sync::atomic::Ordering::SeqCst;
        let others = self.answers.load(SeqCst).saturating_sub(answers_before);
        match &exchange.response {
            Ok(_) => {
                self.answers.fetch_add(1, SeqCst);
                None
            }
            Err(e) if e.kind == TransportErrorKind::Timeout => hung.map(|h| h + others),
            Err(_) => None,
        }
    }

    async fn decide(
        &self,
        exchange: &Exchange,
        idempotent: bool,
        attempts: u32,
        policy: RetryPolicy,
        received: tokio::time::Instant,
    ) -> Decision {
        let backoff = Duration::from_millis(250 * 2u64.pow(attempts.min(6)));
        match &exchange.response {
            // Both are the target saying "slower": a proxy's 503 (nginx `limit_req`, with
            // an HTML page and no Retry-After) as much as an API's 429.
            Ok(r) if r.status == 429 || r.status == 503 => {
                if let Some(rate) = self.pacer.refused().await {
                    *self.slowed.lock().unwrap_or_else(|p| p.into_inner()) = Some(rate);
                }
                // A stated wait applies to every request, not only this one's retry.
                if let Some(wait) = retry_after(r).filter(|w| *w <= policy.max_wait) {
                    self.pacer.pause_until(received + wait).await;
                }
            }
            Ok(_) => self.pacer.served().await,
            Err(_) => {}
        }
        // A window announced spent is waited out before the next request meets a 429.
        if let Ok(r) = &exchange.response
            && let Some((0, reset)) = crate::pacing::announced_limit(&r.headers)
            && !reset.is_zero()
            && reset <= policy.max_wait
        {
            self.pacer.pause_until(received + reset).await;
        }
        match &exchange.response {
            Ok(r) if r.status == 429 || r.status == 503 => {
                let wait = retry_after(r).unwrap_or(backoff);
                let what = if r.status == 429 {
                    "rate-limited (429)"
                } else {
                    "unavailable (503)"
                };
                // A target that has served nothing for a long while is not coming back
                // within this run: every request gives up at once instead of waiting out
                // its own retries, so the run ends (exit 3) in seconds, not hours.
                let (refusing, refusals) = self.pacer.refusing_for().await;
                // Not the retry bound: a long wait the target asked for pauses every request
                // and counts as served time (`Pacer::wait_turn`), so a target that refuses
                // everything is still given up on in about this time.
                let stall = STALL;
                if refusing >= stall && refusals >= STALL_REFUSALS {
                    return Decision::GiveUp(format!(
                        "the target is {what}: it served no request for {} s ({refusals} refusals in a row)",
                        refusing.as_secs()
                    ));
                }
                if attempts >= policy.max_retries {
                    Decision::GiveUp(format!(
                        "the target is {what}: it still answered {} after {attempts} retries",
                        r.status
                    ))
                } else if wait > policy.max_wait {
                    Decision::GiveUp(format!(
                        "the target is {what}: it asked to wait {} s (Retry-After), more than --max-retry-wait {} s",
                        wait.as_secs(),
                        policy.max_wait.as_secs()
                    ))
                } else {
                    // What the server sent, in its words; the wait the runner chose is the
                    // event's own field.
                    Decision::Retry {
                        wait,
                        reason: match r.header("retry-after") {
                            Some(v) => format!("{} with Retry-After: {}", r.status, v.trim()),
                            None => format!("{} without Retry-After", r.status),
                        },
                    }
                }
            }
            // A bound the answer broke (say the body cap) would break again.
            Err(e) if attempts < policy.max_retries && e.kind != TransportErrorKind::Limit => {
                let safe = if policy.first_contact {
                    idempotent && e.kind == TransportErrorKind::Broken
                } else {
                    idempotent || e.kind == TransportErrorKind::Connect
                };
                if safe {
                    Decision::Retry {
                        wait: backoff,
                        reason: format!("no response: {}", e.message),
                    }
                } else {
                    Decision::Done
                }
            }
            _ => Decision::Done,
        }
    }
}

/// A target that served nothing for this long, over at least [`STALL_REFUSALS`] refusals, is
/// given up on.
const STALL: Duration = Duration::from_secs(20);
const STALL_REFUSALS: u32 = 10;

enum Decision {
    Done,
    Retry { wait: Duration, reason: String },
    GiveUp(String),
}

/// `Retry-After` as a wait: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
fn retry_after(r: &RecordedResponse) -> Option<Duration> {
    let value = r.header("retry-after")?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(retry_after: &str) -> RecordedResponse {
        RecordedResponse {
            status: 429,
            headers: vec![("Retry-After".into(), retry_after.into())],
            body: Vec::new(),
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(retry_after(&response("3")), Some(Duration::from_secs(3)));
        let soon = chrono::Utc::now() + chrono::TimeDelta::seconds(5);
        let wait = retry_after(&response(&soon.to_rfc2822())).unwrap();
        assert!(
            wait <= Duration::from_secs(5) && wait >= Duration::from_secs(3),
            "{wait:?}"
        );
        let past = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(retry_after(&response(past)), Some(Duration::ZERO));
        assert_eq!(retry_after(&response("soon")), None);
    }
}
