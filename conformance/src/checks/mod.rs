//! Named checks. Response checks run on every exchange; scenario checks are asserted by
//! scenario steps. Each has one job and a failure message that says what the spec expects.

pub mod content_type;
pub mod echo;
pub mod exposure;
pub mod invariants;
pub mod schema;
pub mod secrets;
pub mod semantics;
pub mod status;
pub mod unique;

use crate::exchange::RawResponse;
use abp_spec::Operation;

use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Runs on every response.
    Response,
    /// Asserted by scenario steps.
    Scenario,
}

#[derive(Clone, Copy)]
pub struct CheckInfo {
    pub name: &'static str,
    pub scope: Scope,
    pub description: &'static str,
    /// A response check's function; `None` for a scenario check.
    pub run: Option<ResponseCheck>,
}

/// Declares every check once: its constant, its name, where it runs (on every response, with
/// its function, or asserted by scenario steps) and its description. `ALL` is generated from
/// the one list, so a check cannot be listed without running, or run without being listed.
macro_rules! checks {
    ($( $konst:ident = $name:literal, $how:ident $( ($run:path) )?, $desc:literal; )*) => {
        $( pub const $konst: &str = $name; )*

        /// Every check, in the order `conformance list` shows them and response checks run.
        pub const ALL: &[CheckInfo] = &[ $( checks!(@info $konst, $desc, $how $( ($run) )?), )* ];
    };
    (@info $konst:ident, $desc:literal, response($run:path)) => {
        CheckInfo { name: $konst, scope: Scope::Response, description: $desc, run: Some($run) }
    };
    (@info $konst:ident, $desc:literal, scenario) => {
        CheckInfo { name: $konst, scope: Scope::Scenario, description: $desc, run: None }
    };
}

checks! {
    NOT_A_SERVER_ERROR = "not_a_server_error", response(status::not_a_server_error),
        "no response is a 5xx, whatever the input";
    STATUS_DOCUMENTED = "status_documented", response(status::status_documented),
        "the status is documented for the operation in the spec";
    STATUS_EXPECTED = "status_expected", response(status::status_expected),
        "the status is the one the scenario step expects";
    CONTENT_TYPE = "content_type", response(content_type::content_type),
        "the Content-Type is the documented one; a response documented without content has no body";
    RESPONSE_SCHEMA = "response_schema", response(schema::response_schema),
        "the body validates against the spec's schema for the status";
    NO_SECRET_LEAK = "no_secret_leak", response(secrets::no_secret_leak),
        "no credential or created secret appears in a response, except a secret in its own create response";
    WWW_AUTHENTICATE = "www_authenticate", response(semantics::www_authenticate),
        "a 401 carries a WWW-Authenticate challenge (RFC 9110 §11.6.1)";
    CONTENT_LENGTH = "content_length", response(semantics::content_length),
        "a 204 has no content; a Content-Length, when present, is the length of the content (RFC 9110 §8.6, §15.3.5)";
    SECRET_EXPOSURE = "secret_exposure", response(exposure::secret_exposure),
        "no value in a response shares more consecutive characters with an earlier created secret than the spec's masked example shows (8)";
    TOKEN_INVARIANTS = "token_invariants", response(invariants::token_invariants),
        "every token shown (create answer, list item) relates its fields: updatedAt and lastUsed… not before createdAt, expiresOn after it, a created token's expiry createdAt plus one lifetime's duration";
    LIST_ITEMS_UNIQUE = "list_items_unique", response(unique::list_items_unique),
        "a list is a set of tokens: every item's id appears once (a join without a group-by repeats a token per row)";
    CREATE_ECHOES_REQUEST = "create_echoes_request", scenario,
        "a created token echoes the requested name and privileges";
    CREATED_AT_NEAR_CLOCK = "created_at_near_clock", scenario,
        "createdAt is within the clock tolerance of this machine's clock";
    EXPIRY_MATCHES_LIFETIME = "expiry_matches_lifetime", scenario,
        "expiresOn is createdAt plus the lifetime's duration from the spec";
    IDS_AND_SECRETS_UNIQUE = "ids_and_secrets_unique", scenario,
        "every created token has a new id and a new secret";
    TOKEN_LISTED_MASKED = "token_listed_masked", scenario,
        "a created token appears in the list with a masked value, never the secret";
    DELETE_REMOVES_TOKEN = "delete_removes_token", scenario,
        "a deleted token is gone from the list";
    ACCESS_TOKEN_AUTHENTICATES = "access_token_authenticates", scenario,
        "a created secret authenticates in the header of the spec's api-key scheme";
    ACCESS_TOKEN_REVOKED = "access_token_revoked", scenario,
        "a deleted token's secret no longer authenticates";
    ISOLATION_LIST = "isolation_list", scenario,
        "another user's list never shows our tokens";
    ISOLATION_DELETE = "isolation_delete", scenario,
        "another user cannot delete our tokens";
    REJECTION_CHANGES_NOTHING = "rejection_changes_nothing", scenario,
        "a rejected request leaves the list unchanged";
    CREDENTIAL_REFUSED = "credential_refused", scenario,
        "a credential that must not authenticate (expired, without the privilege, unknown, tampered, never issued) is refused; an accepted one is named with both possible causes, or as certain when a credential nobody issued was accepted too";
    SCENARIO_STEP = "scenario_step", scenario,
        "every step of the scenario could be carried out (the typed client decoded what it needed)";
    STORED_AS_SENT = "stored_as_sent", scenario,
        "the list shows a created token's name and privileges exactly as sent: not trimmed, normalized, escaped, sorted, de-duplicated or cut";
    EXTRA_PROPERTIES_IGNORED = "extra_properties_ignored", scenario,
        "a create that carries the token's read-only fields (id, owner, timestamps, expiry, secret, …), at the top level or under __proto__, constructor.prototype or $set, stores none of them: the server's own values or a 400 (OWASP API3:2023)";
    DELETE_SPARES_OTHERS = "delete_spares_others", scenario,
        "a delete removes the one token it names: tokens sharing its name, privileges, lifetime and second survive, listed once each and unchanged";
    METHOD_NOT_ALLOWED = "method_not_allowed", scenario,
        "a method the spec does not document on a path answers 405 with an Allow header listing the documented ones (RFC 9110 §15.5.6)";
    ANSWERS_EVERY_INPUT = "answers_every_input", scenario,
        "a request the target never answers within --timeout, across its retries, while it answers other requests meanwhile (at least 10) is an input that hangs the server; time alone, on a busy target, is no verdict";
    MODEL_MATCHES = "model_matches", scenario,
        "a seeded random sequence of operations gets every answer the spec's model predicts (statuses, exact lists, echoes, expiry); a failure shows the shrunk sequence and a replay script";
    SNAPSHOT = "snapshot", scenario,
        "the scenario's normalized exchanges equal the approved snapshot of the target";
}

pub fn info(name: &str) -> Option<&'static CheckInfo> {
    ALL.iter().find(|c| c.name == name)
}

/// Why a check failed: what the spec (or the scenario) expects, what came back, and where
/// in the spec the expectation is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub message: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub spec_pointer: Option<String>,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            expected: None,
            actual: None,
            spec_pointer: None,
        }
    }

    pub fn expected(mut self, e: impl Into<String>) -> Self {
        self.expected = Some(e.into());
        self
    }

    pub fn actual(mut self, a: impl Into<String>) -> Self {
        self.actual = Some(a.into());
        self
    }

    pub fn at(mut self, pointer: impl Into<String>) -> Self {
        self.spec_pointer = Some(pointer.into());
        self
    }
}

/// `None`: the check does not apply to this exchange. `Some(Ok)`: passed.
pub type Outcome = Option<Result<(), Failure>>;

/// What a response check looks at.
pub struct ResponseCx<'a> {
    pub op: &'a Operation,
    pub response: &'a RawResponse,
    /// Statuses the scenario step accepts.
    pub expected: &'a [u16],
    pub contract: &'a crate::api::Contract,
    /// The secrets known to the run, this response's own new ones included.
    pub secrets: &'a crate::redact::KnownSecrets,
    /// The secrets this response itself creates (a create answer shows its own): not leaks.
    pub own: &'a [&'a str],
}

impl ResponseCx<'_> {
    /// Whether the entry (of [`ResponseCx::secrets`]) was known before this response.
    pub fn is_earlier(&self, entry: usize) -> bool {
        self.secrets
            .entries
            .get(entry)
            .is_some_and(|(s, _)| !s.is_empty() && !self.own.contains(&s.as_str()))
    }
}

/// A response check: one small function with one job.
pub type ResponseCheck = fn(&ResponseCx) -> Outcome;

/// The response checks, in the order they run.
pub fn response_checks() -> impl Iterator<Item = (&'static str, ResponseCheck)> {
    ALL.iter().filter_map(|c| Some((c.name, c.run?)))
}

/// Which checks run. Unknown names are a usage error, reported by [`Selection::new`].
#[derive(Debug, Clone)]
pub struct Selection {
    enabled: BTreeSet<&'static str>,
}

impl Selection {
    pub fn all() -> Self {
        Selection {
            enabled: ALL.iter().map(|c| c.name).collect(),
        }
    }

    /// `only` empty means every check; `skip` removes from that.
    pub fn new(only: &[String], skip: &[String]) -> Result<Self, String> {
        let lookup = |name: &String| {
            info(name).map(|c| c.name).ok_or_else(|| {
                format!(
                    "unknown check `{name}` (`conformance list` shows the {} checks)",
                    ALL.len()
                )
            })
        };
        let mut enabled: BTreeSet<&'static str> = if only.is_empty() {
            ALL.iter().map(|c| c.name).collect()
        } else {
            only.iter().map(lookup).collect::<Result<_, _>>()?
        };
        for name in skip {
            enabled.remove(lookup(name)?);
        }
        if enabled.is_empty() {
            return Err("the --check and --skip-check options leave no check to run".to_owned());
        }
        Ok(Selection { enabled })
    }

    pub fn is_enabled(&self, name: &str) -> bool {
        self.enabled.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let names: BTreeSet<_> = ALL.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn a_response_check_runs_and_a_scenario_check_is_asserted_by_steps() {
        for c in ALL {
            assert_eq!(c.run.is_some(), c.scope == Scope::Response, "{}", c.name);
        }
        assert_eq!(
            response_checks().count(),
            ALL.iter().filter(|c| c.scope == Scope::Response).count()
        );
    }

    #[test]
    fn selection_rejects_unknown_names() {
        let err = Selection::new(&["status_expectd".into()], &[]).unwrap_err();
        assert!(err.contains("unknown check `status_expectd`"), "{err}");
        let s = Selection::new(&[], &[RESPONSE_SCHEMA.into()]).unwrap();
        assert!(!s.is_enabled(RESPONSE_SCHEMA));
        assert!(s.is_enabled(STATUS_EXPECTED));
    }
}
