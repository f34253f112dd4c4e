//! Verdicts: a scenario's checks become records and counts (known failures decided here,
//! since they change the verdict), and the run's coverage of documented statuses.

use crate::api::{Contract, OperationId};
use crate::checks::Failure;
use crate::events::{CheckRecord, CoverageEntry, RunStats, Verdict};
use crate::known::KnownFailures;
use crate::redact::Redactor;
use abp_spec::decisions::Decision;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What one scenario's checks add up to.
#[derive(Debug, Default)]
pub struct Tally {
    /// This scenario's share of the run's counts (requests, checks, failures).
    pub stats: RunStats,
    /// A check failed that the known-failures file does not list.
    pub failed: bool,
    /// A check failed that the known-failures file lists.
    pub known: bool,
    /// Why the target would not serve a request within the retry policy (still 429/503):
    /// the scenario has no verdict on conformance.
    pub unserved: Option<String>,
}

/// What a failure is looked up in: known failures, secrets to redact, decided expectations.
pub struct References<'a> {
    pub known_failures: &'a KnownFailures,
    pub redactor: &'a Redactor,
    pub decisions: &'a [Decision],
}

/// Where a check's verdict is about.
#[derive(Debug, Clone, Copy, Default)]
pub struct At<'a> {
    pub exchange: Option<usize>,
    pub operation: Option<&'a str>,
    pub status: Option<u16>,
}

impl Tally {
    /// Counts a check's result and turns it into the record reporters see; messages pass
    /// through the redactor.
    pub fn check(
        &mut self,
        scenario: &str,
        name: &str,
        result: Result<(), Failure>,
        at: At<'_>,
        refs: &References<'_>,
    ) -> CheckRecord {
        let (known_failures, redactor, decisions) =
            (refs.known_failures, refs.redactor, refs.decisions);
        self.stats.checks_run += 1;
        known_failures.judged(scenario, name);
        let mut record = CheckRecord {
            scenario: scenario.to_owned(),
            check: name.to_owned(),
            passed: true,
            exchange: at.exchange,
            operation: at.operation.map(str::to_owned),
            status: at.status,
            message: None,
            expected: None,
            actual: None,
            spec_pointer: None,
            known_failure: None,
            decision: None,
        };
        if let Err(f) = result {
            let known = known_failures.lookup(scenario, name);
            if known.is_some() {
                self.known = true;
                self.stats.known_failures += 1;
            } else {
                self.failed = true;
                self.stats.checks_failed += 1;
            }
            record.passed = false;
            record.message = Some(redactor.apply(&f.message));
            record.expected = f.expected.map(|e| redactor.apply(&e));
            record.actual = f.actual.map(|a| redactor.apply(&a));
            record.decision = f
                .spec_pointer
                .as_deref()
                .and_then(|p| abp_spec::decisions::decision_for(decisions, p))
                .map(|d| {
                    format!(
                        "decided, not in the vendor docs: {} — {}",
                        abp_spec::decisions::TRANSCRIPTION_PATH,
                        d.title
                    )
                });
            record.spec_pointer = f.spec_pointer;
            record.known_failure = known;
        }
        record
    }

    pub fn verdict(&self) -> Verdict {
        if self.failed {
            Verdict::Failed
        } else if self.unserved.is_some() {
            Verdict::TargetUnavailable
        } else if self.known {
            Verdict::KnownFailure
        } else {
            Verdict::Passed
        }
    }
}

/// Adds one scenario's counts to the run's.
pub fn absorb(total: &mut RunStats, part: &RunStats) {
    total.requests += part.requests;
    total.checks_run += part.checks_run;
    total.checks_failed += part.checks_failed;
    total.known_failures += part.known_failures;
    total.retries += part.retries;
    total.rate_limited += part.rate_limited;
    total.no_baseline += part.no_baseline;
    total.snapshots_new += part.snapshots_new;
    total.snapshots_updated += part.snapshots_updated;
    total.tokens_left += part.tokens_left;
}

/// (operation, documented status) → (responses seen, all response checks passed). Shared by
/// every scenario; the counts do not depend on the order scenarios finish in.
#[derive(Debug)]
pub struct Coverage {
    seen: Mutex<BTreeMap<(OperationId, u16), (usize, bool)>>,
}

impl Coverage {
    pub fn new(api: &Contract) -> Self {
        let seen = OperationId::ALL
            .into_iter()
            .flat_map(|k| {
                api.operation(k)
                    .documented_statuses()
                    .into_iter()
                    .map(move |s| ((k, s), (0, true)))
            })
            .collect();
        Coverage {
            seen: Mutex::new(seen),
        }
    }

    /// Counts a response; statuses the spec does not document are not coverage.
    pub fn record(&self, op: OperationId, status: u16, all_checks_passed: bool) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((n, passed)) = seen.get_mut(&(op, status)) {
            *n += 1;
            *passed &= all_checks_passed;
        }
    }

    pub fn entries(&self, api: &Contract) -> Vec<CoverageEntry> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for kind in OperationId::ALL {
            let op = api.operation(kind);
            for status in op.documented_statuses() {
                let (exercised, passed) = seen.get(&(kind, status)).copied().unwrap_or((0, true));
                out.push(CoverageEntry {
                    operation: op.id.clone(),
                    method: op.method.clone(),
                    path: op.path.clone(),
                    status,
                    exercised,
                    passed: exercised > 0 && passed,
                });
            }
        }
        out
    }
}
