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

#[derive(Debug, Clone, Copy)]
pub struct CheckInfo {
    pub name: &'static str,
    pub scope: Scope,
    pub description: &'static str,
}

pub const NOT_A_SERVER_ERROR: &str = "not_a_server_error";
pub const STATUS_DOCUMENTED: &str = "status_documented";
pub const STATUS_EXPECTED: &str = "status_expected";
pub const CONTENT_TYPE: &str = "content_type";
pub const RESPONSE_SCHEMA: &str = "response_schema";
pub const NO_SECRET_LEAK: &str = "no_secret_leak";
pub const CREATE_ECHOES_REQUEST: &str = "create_echoes_request";
pub const CREATED_AT_NEAR_CLOCK: &str = "created_at_near_clock";
pub const EXPIRY_MATCHES_LIFETIME: &str = "expiry_matches_lifetime";
pub const IDS_AND_SECRETS_UNIQUE: &str = "ids_and_secrets_unique";
pub const TOKEN_LISTED_MASKED: &str = "token_listed_masked";
pub const DELETE_REMOVES_TOKEN: &str = "delete_removes_token";
pub const ACCESS_TOKEN_AUTHENTICATES: &str = "access_token_authenticates";
pub const ACCESS_TOKEN_REVOKED: &str = "access_token_revoked";
pub const ISOLATION_LIST: &str = "isolation_list";
pub const ISOLATION_DELETE: &str = "isolation_delete";
pub const REJECTION_CHANGES_NOTHING: &str = "rejection_changes_nothing";
pub const CREDENTIAL_REFUSED: &str = "credential_refused";
pub const SCENARIO_STEP: &str = "scenario_step";
pub const SNAPSHOT: &str = "snapshot";
pub const MODEL_MATCHES: &str = "model_matches";
pub const WWW_AUTHENTICATE: &str = "www_authenticate";
pub const CONTENT_LENGTH: &str = "content_length";
pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
pub const SECRET_EXPOSURE: &str = "secret_exposure";
pub const TOKEN_INVARIANTS: &str = "token_invariants";
pub const STORED_AS_SENT: &str = "stored_as_sent";
pub const EXTRA_PROPERTIES_IGNORED: &str = "extra_properties_ignored";
pub const DELETE_SPARES_OTHERS: &str = "delete_spares_others";
pub const LIST_ITEMS_UNIQUE: &str = "list_items_unique";

pub const ALL: &[CheckInfo] = &[
    CheckInfo {
        name: NOT_A_SERVER_ERROR,
        scope: Scope::Response,
        description: "no response is a 5xx, whatever the input",
    },
    CheckInfo {
        name: STATUS_DOCUMENTED,
        scope: Scope::Response,
        description: "the status is documented for the operation in the spec",
    },
    CheckInfo {
        name: STATUS_EXPECTED,
        scope: Scope::Response,
        description: "the status is the one the scenario step expects",
    },
    CheckInfo {
        name: CONTENT_TYPE,
        scope: Scope::Response,
        description: "the Content-Type is the documented one; a response documented without content has no body",
    },
    CheckInfo {
        name: RESPONSE_SCHEMA,
        scope: Scope::Response,
        description: "the body validates against the spec's schema for the status",
    },
    CheckInfo {
        name: NO_SECRET_LEAK,
        scope: Scope::Response,
        description: "no credential or created secret appears in a response, except a secret in its own create response",
    },
    CheckInfo {
        name: WWW_AUTHENTICATE,
        scope: Scope::Response,
        description: "a 401 carries a WWW-Authenticate challenge (RFC 9110 §11.6.1)",
    },
    CheckInfo {
        name: CONTENT_LENGTH,
        scope: Scope::Response,
        description: "a 204 has no content; a Content-Length, when present, is the length of the content (RFC 9110 §8.6, §15.3.5)",
    },
    CheckInfo {
        name: SECRET_EXPOSURE,
        scope: Scope::Response,
        description: "no value in a response shares more consecutive characters with an earlier created secret than the spec's masked example shows (8)",
    },
    CheckInfo {
        name: TOKEN_INVARIANTS,
        scope: Scope::Response,
        description: "every token shown (create answer, list item) relates its fields: updatedAt and lastUsed… not before createdAt, expiresOn after it, a created token's expiry createdAt plus one lifetime's duration",
    },
    CheckInfo {
        name: LIST_ITEMS_UNIQUE,
        scope: Scope::Response,
        description: "a list is a set of tokens: every item's id appears once (a join without a group-by repeats a token per row)",
    },
    CheckInfo {
        name: CREATE_ECHOES_REQUEST,
        scope: Scope::Scenario,
        description: "a created token echoes the requested name and privileges",
    },
    CheckInfo {
        name: CREATED_AT_NEAR_CLOCK,
        scope: Scope::Scenario,
        description: "createdAt is within the clock tolerance of this machine's clock",
    },
    CheckInfo {
        name: EXPIRY_MATCHES_LIFETIME,
        scope: Scope::Scenario,
        description: "expiresOn is createdAt plus the lifetime's duration from the spec",
    },
    CheckInfo {
        name: IDS_AND_SECRETS_UNIQUE,
        scope: Scope::Scenario,
        description: "every created token has a new id and a new secret",
    },
    CheckInfo {
        name: TOKEN_LISTED_MASKED,
        scope: Scope::Scenario,
        description: "a created token appears in the list with a masked value, never the secret",
    },
    CheckInfo {
        name: DELETE_REMOVES_TOKEN,
        scope: Scope::Scenario,
        description: "a deleted token is gone from the list",
    },
    CheckInfo {
        name: ACCESS_TOKEN_AUTHENTICATES,
        scope: Scope::Scenario,
        description: "a created secret authenticates in the header of the spec's api-key scheme",
    },
    CheckInfo {
        name: ACCESS_TOKEN_REVOKED,
        scope: Scope::Scenario,
        description: "a deleted token's secret no longer authenticates",
    },
    CheckInfo {
        name: ISOLATION_LIST,
        scope: Scope::Scenario,
        description: "another user's list never shows our tokens",
    },
    CheckInfo {
        name: ISOLATION_DELETE,
        scope: Scope::Scenario,
        description: "another user cannot delete our tokens",
    },
    CheckInfo {
        name: REJECTION_CHANGES_NOTHING,
        scope: Scope::Scenario,
        description: "a rejected request leaves the list unchanged",
    },
    CheckInfo {
        name: CREDENTIAL_REFUSED,
        scope: Scope::Scenario,
        description: "a credential that must not authenticate (expired, without the privilege, unknown, tampered, never issued) is refused; an accepted one is named with both possible causes, or as certain when a credential nobody issued was accepted too",
    },
    CheckInfo {
        name: SCENARIO_STEP,
        scope: Scope::Scenario,
        description: "every step of the scenario could be carried out (the typed client decoded what it needed)",
    },
    CheckInfo {
        name: STORED_AS_SENT,
        scope: Scope::Scenario,
        description: "the list shows a created token's name and privileges exactly as sent: not trimmed, normalized, escaped, sorted, de-duplicated or cut",
    },
    CheckInfo {
        name: EXTRA_PROPERTIES_IGNORED,
        scope: Scope::Scenario,
        description: "a create that carries the token's read-only fields (id, owner, timestamps, expiry, secret, …), at the top level or under __proto__, constructor.prototype or $set, stores none of them: the server's own values or a 400 (OWASP API3:2023)",
    },
    CheckInfo {
        name: DELETE_SPARES_OTHERS,
        scope: Scope::Scenario,
        description: "a delete removes the one token it names: tokens sharing its name, privileges, lifetime and second survive, listed once each and unchanged",
    },
    CheckInfo {
        name: METHOD_NOT_ALLOWED,
        scope: Scope::Scenario,
        description: "a method the spec does not document on a path answers 405 with an Allow header listing the documented ones (RFC 9110 §15.5.6)",
    },
    CheckInfo {
        name: MODEL_MATCHES,
        scope: Scope::Scenario,
        description: "a seeded random sequence of operations gets every answer the spec's model predicts (statuses, exact lists, echoes, expiry); a failure shows the shrunk sequence and a replay script",
    },
    CheckInfo {
        name: SNAPSHOT,
        scope: Scope::Scenario,
        description: "the scenario's normalized exchanges equal the approved snapshot of the target",
    },
];

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

/// The response checks in the order they run.
pub const RESPONSE_CHECKS: &[(&str, ResponseCheck)] = &[
    (NOT_A_SERVER_ERROR, status::not_a_server_error),
    (STATUS_DOCUMENTED, status::status_documented),
    (STATUS_EXPECTED, status::status_expected),
    (CONTENT_TYPE, content_type::content_type),
    (RESPONSE_SCHEMA, schema::response_schema),
    (NO_SECRET_LEAK, secrets::no_secret_leak),
    (WWW_AUTHENTICATE, semantics::www_authenticate),
    (CONTENT_LENGTH, semantics::content_length),
    (SECRET_EXPOSURE, exposure::secret_exposure),
    (TOKEN_INVARIANTS, invariants::token_invariants),
    (LIST_ITEMS_UNIQUE, unique::list_items_unique),
];

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

    /// A check is declared by its name, its entry in `ALL` and, for a response check, its
    /// function in `RESPONSE_CHECKS`: the lists must agree, or a check would be listed and
    /// selectable but never run (or run but not listed).
    #[test]
    fn every_response_check_is_listed_and_every_listed_response_check_runs() {
        let listed: BTreeSet<_> = ALL
            .iter()
            .filter(|c| c.scope == Scope::Response)
            .map(|c| c.name)
            .collect();
        let running: BTreeSet<_> = RESPONSE_CHECKS.iter().map(|(name, _)| *name).collect();
        assert_eq!(listed, running);
        assert_eq!(running.len(), RESPONSE_CHECKS.len(), "a check runs twice");
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
