//! The recording pipeline: every request a scenario sends becomes an exchange event, is
//! judged by every enabled response check, counts toward coverage, and applies the safety
//! rules (a created token is scheduled for deletion, its secret redacted from then on). A
//! request whose answer was lost and retried is decided here, once, for the snapshot, the
//! scenario and the clean-up.

use super::Ctx;
use crate::api::OperationId;
use crate::checks::{self, ResponseCx};
use crate::events::Event;
use crate::exchange::{ExchangeRecord, RawExchange, RawResponse};
use crate::roles::Role;
use crate::tally::At;
use crate::transport::{Retry, Sent};
use abp_spec::Operation;
use abp_tokens_client::TransportErrorKind;

impl<'a> Ctx<'a> {
    /// Emits a request's retried attempts, each as an event of its own, before its exchange.
    pub(super) fn emit_retries(&mut self, sent: &Sent, operation: &str) {
        for retry in &sent.retries {
            self.tally.stats.retries += 1;
            let record = ExchangeRecord::new(
                &retry.attempt,
                &self.scenario,
                self.exchanges,
                operation,
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
    }

    /// Emits an exchange as its event, redacted and with its replay line.
    pub(super) fn emit_exchange(&mut self, raw: &RawExchange, index: usize, operation: &str) {
        let record = ExchangeRecord::new(
            raw,
            &self.scenario,
            index,
            operation,
            self.shared.transport.base_url(),
            &self.shared.redactor,
        );
        self.emit(Event::Exchange(record));
    }

    /// Emits what was sent (retries first, as events of their own), runs every enabled
    /// response check on the final exchange, and applies the safety rules (a created token is
    /// scheduled for deletion and its secret is redacted from then on).
    pub(super) fn record(
        &mut self,
        sent: Sent,
        kind: OperationId,
        expected: &[u16],
        owner: Option<Role>,
    ) -> Option<RawResponse> {
        let op = self.shared.api.operation(kind);
        self.emit_retries(&sent, &op.id);
        let hung = sent.hung();
        let raw = sent.exchange;
        let index = self.exchanges;
        let (expected, done_by_lost) =
            self.expected_after_retries(kind, &raw, &sent.retries, expected, index);
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
        if let Some(body) = &created {
            self.claim_created(&raw, body, &own, owner);
        }
        self.emit_exchange(&raw, index, &op.id);
        self.log
            .push((kind, self.as_snapshotted(kind, &raw, done_by_lost)));
        let response = self.answered(&raw, sent.gave_up.as_deref(), hung, op)?;
        let cx = ResponseCx {
            op,
            response,
            expected: &expected,
            contract: &self.shared.api,
            secrets: &known,
            own: &own,
        };
        self.check_response(&cx, kind, index);
        if kind == OperationId::ListMyTokens {
            self.observe_list(response, index, &op.id);
        }
        raw.response.ok()
    }

    /// The statuses the final exchange may answer, and whether a lost attempt did its work.
    /// A DELETE retried after a lost answer, in a step that expects a success, may meet what
    /// a deleted token meets: the lost attempt did the deletion, which is the right answer
    /// (and what the snapshot records).
    fn expected_after_retries(
        &mut self,
        kind: OperationId,
        raw: &RawExchange,
        retries: &[Retry],
        expected: &[u16],
        index: usize,
    ) -> (Vec<u16>, bool) {
        let op = self.shared.api.operation(kind);
        let mut expected = expected.to_vec();
        let lost_first = kind == OperationId::DeleteMyToken
            && retries.iter().any(|r| r.attempt.response.is_err())
            && op.success_status().is_some_and(|s| expected.contains(&s));
        let mut done_by_lost = false;
        if lost_first {
            let met = self.after_lost_delete(raw);
            done_by_lost = raw.response.as_ref().is_ok_and(|r| met.contains(&r.status));
            if done_by_lost {
                self.lost_first.push(index);
            }
            expected.extend(met);
        }
        (expected, done_by_lost)
    }

    /// Schedules a created token for deletion at the end, only when it is provably this
    /// create's token: an id a list showed as someone else's, one another create returned, or
    /// an answer that names a token other than the one asked for is a failure (reported after
    /// the exchange), never a delete.
    fn claim_created(
        &mut self,
        raw: &RawExchange,
        created: &serde_json::Value,
        own: &[&str],
        owner: Option<Role>,
    ) {
        let fields = &self.shared.api.fields;
        let Some(id) = fields.id_of(created) else {
            return;
        };
        let asked: Option<String> = raw
            .request_body
            .as_deref()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
            .and_then(|b| fields.name_of(&b).map(str::to_owned));
        let echoed = fields.name_of(created);
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

    /// The answer to judge, or `None` when there is none: the scenario stops without a
    /// verdict when the target would not serve it, and its step fails when the request got
    /// no response for another reason.
    fn answered<'r>(
        &mut self,
        raw: &'r RawExchange,
        gave_up: Option<&str>,
        hung: Option<u64>,
        op: &Operation,
    ) -> Option<&'r RawResponse> {
        let response = match &raw.response {
            Ok(r) => r,
            // Never answered, across retries, while the target answered others: the input
            // hangs the server, a robustness failure that names the request.
            Err(e)
                if e.kind == TransportErrorKind::Timeout
                    && let Some(others) = hung =>
            {
                let failure = checks::Failure::new(format!(
                    "{} {} got no answer within --timeout {} s, in every attempt, while the target answered {others} other requests meanwhile: this request hangs the server",
                    raw.method,
                    self.shared.redactor.apply(&raw.url),
                    self.shared.config.timeout.as_secs()
                ))
                .expected("an answer to every request")
                .actual("no answer, again and again")
                .at(op.pointer.clone());
                self.check(checks::ANSWERS_EVERY_INPUT, Err(failure));
                return None;
            }
            // Time is not a verdict: no answer within --timeout, or a target the transport
            // stopped asking because it answered nothing for long, leaves the scenario
            // without one (exit 3 if nothing else fails), never FAIL.
            Err(e)
                if gave_up.is_some()
                    || e.kind == TransportErrorKind::Timeout
                    || self.shared.transport.silent() =>
            {
                let why = gave_up.map(str::to_owned).unwrap_or_else(|| {
                    format!(
                        "{} {} got no answer within --timeout {} s: the target is slow or busy, which is no verdict on it",
                        raw.method,
                        op.path,
                        self.shared.config.timeout.as_secs()
                    )
                });
                self.unserved(&why);
                return None;
            }
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
        if let Some(why) = gave_up {
            self.unserved(why);
            return None;
        }
        Some(response)
    }

    /// Runs every enabled response check on an answer and emits their verdicts, then the
    /// ownership failures of its create; the answer counts toward coverage.
    fn check_response(&mut self, cx: &ResponseCx<'_>, kind: OperationId, index: usize) {
        let mut all_passed = true;
        let mut results = Vec::new();
        for (name, check) in checks::response_checks() {
            if !self.shared.config.checks.is_enabled(name) {
                continue;
            }
            if let Some(result) = check(cx) {
                all_passed &= result.is_ok();
                results.push((name, result));
            }
        }
        let status = cx.response.status;
        let at = At {
            exchange: Some(index),
            operation: Some(&cx.op.id),
            status: Some(status),
        };
        for (name, result) in results {
            self.emit_check(name, result, at);
        }
        // A shrink's replay is not a response the run reports: it is not coverage either.
        if !self.quiet {
            self.shared.coverage.record(kind, status, all_passed);
        }
        for failure in std::mem::take(&mut self.ownership_failures) {
            self.emit_check(checks::IDS_AND_SECRETS_UNIQUE, Err(failure), at);
        }
    }

    /// What a successful list teaches and shows: the mask the target lists this scenario's own tokens with, and
    /// whether it shows anyone's secret unmasked: a value of another token's secret field
    /// with the shape of the run's secrets and not of its masks (`openapi/TRANSCRIPTION.md`,
    /// "Other people's secrets").
    pub(super) fn observe_list(&mut self, response: &RawResponse, index: usize, operation: &str) {
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
            let Some(id) = self.shared.api.fields.id_of(item) else {
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
            let id = self.shared.api.fields.id_of(item)?;
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
    pub(super) fn after_lost_delete(&self, raw: &RawExchange) -> Vec<u16> {
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
    pub(super) fn as_snapshotted(
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
    pub(super) fn as_success(&self, kind: OperationId, r: &mut RawResponse) {
        if let Some(success) = self.shared.api.operation(kind).success_status() {
            r.status = success;
            r.headers.clear();
            r.body.clear();
        }
    }

    /// A target that would not serve the request gives no verdict on conformance: the
    /// scenario stops without one (verdict `target_unavailable`).
    pub(super) fn unserved(&mut self, why: &str) {
        self.tally.stats.rate_limited += 1;
        self.tally
            .unserved
            .get_or_insert_with(|| self.shared.redactor.apply(why));
    }

    /// Records every request a typed call made; returns the last response.
    pub(super) fn record_typed(
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
}
