//! How the server behaves, as data: the statuses, formats, limits, scopes and rewrites the
//! handlers read, and the store they use.
//!
//! [`Behaviour::correct`] is the spec's behaviour. [`compile`] starts from it and lets each
//! switched-on fault change one field or wrap the store once; this is the only place that
//! knows what a fault does, and its `match` is exhaustive, so a new fault in the catalog must
//! say here what it changes. The handlers contain no fault branches.

use crate::contract::Contract;
use crate::error::ApiError;
use crate::fault::Fault;
use crate::fixtures::{MANAGE_PRIVILEGE, User};
use crate::store::TokenStore;
use crate::store::faulty::{
    DeleteAlwaysSucceeds, DeleteByName, DeleteIgnoresOwner, DeleteKeeps, DeleteStaleIndex,
    DeletedSecretsLinger, ListIgnoresOwner, ListRowPerPrivilege, ListTruncated, NamesAsciiOnly,
    RacyDelete, StoredRewritten, UniqueNames,
};
use crate::taken::Taken;
use crate::tokens::{fresh_secret, mask};
use abp_spec::{JsonType, Lifetime, SchemaViolation};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How the scheme of an `Authorization` header is compared with the spec's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SchemeMatch {
    /// Without regard to case (RFC 9110, section 11.1).
    AnyCase,
    /// Exactly this spelling.
    Exact(String),
}

impl SchemeMatch {
    pub fn accepts(&self, sent: &str, spec: &str) -> bool {
        match self {
            SchemeMatch::AnyCase => sent.eq_ignore_ascii_case(spec),
            SchemeMatch::Exact(spelling) => sent == spelling,
        }
    }
}

/// Where a created token's secret comes from.
pub(crate) enum SecretMint {
    /// A new random secret every time.
    Fresh,
    /// One secret per user, handed out again on every create.
    OnePerUser(Mutex<HashMap<String, String>>),
    /// A new secret every time, of another format (a conformant variant, `variant.rs`).
    Minted(fn() -> String),
}

impl SecretMint {
    pub fn secret(&self, user_id: &str) -> String {
        match self {
            SecretMint::Fresh => fresh_secret(),
            SecretMint::Minted(mint) => mint(),
            SecretMint::OnePerUser(given) => given
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(user_id.to_owned())
                .or_insert_with(fresh_secret)
                .clone(),
        }
    }
}

/// A leniency of create-body validation: a body the spec rejects is repaired or excused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rewrite {
    /// Missing required properties are not reported; they decode as empty.
    ExcuseMissingRequired,
    /// A value of the lifetime property that names no lifetime becomes this one.
    UnknownLifetimeAs(String),
    /// Arrays nested in array properties are flattened into them.
    FlattenNestedArrays,
    /// A string given for an array property becomes an array of one (Mongoose's cast).
    CastStringsToArrays,
    /// An array of one string given for a string property becomes that string.
    UnwrapArraysOfOne,
}

fn flatten_into(value: Value, out: &mut Vec<Value>) {
    match value {
        Value::Array(items) => items.into_iter().for_each(|i| flatten_into(i, out)),
        other => out.push(other),
    }
}

impl Rewrite {
    /// Repairs the body before it is validated.
    pub fn repair(&self, body: &mut Map<String, Value>, contract: &Contract) {
        match self {
            Rewrite::ExcuseMissingRequired => {}
            Rewrite::UnknownLifetimeAs(fallback) => {
                if let Some(Value::String(l)) = body.get_mut(&contract.spec.lifetime_property)
                    && contract.spec.lifetime(l).is_none()
                {
                    *l = fallback.clone();
                }
            }
            Rewrite::FlattenNestedArrays => {
                for value in body.values_mut() {
                    if let Value::Array(items) = value {
                        let mut flat = Vec::new();
                        flatten_into(Value::Array(std::mem::take(items)), &mut flat);
                        *items = flat;
                    }
                }
            }
            Rewrite::CastStringsToArrays | Rewrite::UnwrapArraysOfOne => {
                for field in &contract.spec.create_body.fields {
                    let Some(value) = body.get_mut(&field.name) else {
                        continue;
                    };
                    match (self, field.json_type(), &*value) {
                        (Rewrite::CastStringsToArrays, Some(JsonType::Array), Value::String(_)) => {
                            *value = Value::Array(vec![value.take()]);
                        }
                        (
                            Rewrite::UnwrapArraysOfOne,
                            Some(JsonType::String),
                            Value::Array(items),
                        ) if items.len() == 1 && items[0].is_string() => {
                            *value = items[0].clone();
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// True when the violation is not reported.
    pub fn excuses(&self, violation: &SchemaViolation) -> bool {
        match self {
            Rewrite::ExcuseMissingRequired => violation.missing_property.is_some(),
            Rewrite::UnknownLifetimeAs(_)
            | Rewrite::FlattenNestedArrays
            | Rewrite::CastStringsToArrays
            | Rewrite::UnwrapArraysOfOne => false,
        }
    }
}

/// What a string's length is counted in when it is held to a `maxLength`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LengthUnit {
    /// Unicode code points, as JSON Schema counts (draft 2020-12, section 6.3.1).
    CodePoints,
    /// UTF-8 bytes.
    Utf8Bytes,
    /// UTF-16 code units (a character outside the BMP counts two).
    Utf16Units,
}

impl LengthUnit {
    pub fn length(self, text: &str) -> usize {
        match self {
            LengthUnit::CodePoints => text.chars().count(),
            LengthUnit::Utf8Bytes => text.len(),
            LengthUnit::Utf16Units => text.encode_utf16().count(),
        }
    }
}

/// How a token id in a path is matched with the stored ids (lowercase hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdCase {
    /// The id is a hexadecimal number: either letter case names the same token.
    Folded,
    /// Looked up exactly as typed.
    Exact,
    /// Uppercase hex digits are refused as malformed.
    LowercaseOnly,
}

/// How a secret in the access-token header is matched with the stored ones. A correct server
/// compares the whole value (by its hash); the others keep secrets in plain text
/// ([`Behaviour::plain_secrets`]) and match the way a careless query does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretMatch {
    /// The whole value, exactly.
    Exact,
    /// Without regard to letter case (a `_ci` collation).
    IgnoreCase,
    /// Any non-empty prefix of a secret (`LIKE 'value%'`).
    Prefix,
    /// A value that starts with a secret (`value.startsWith(secret)`).
    Extension,
    /// What the mask shows: the prefix up to the first `_` and the last four characters.
    Mask,
}

impl SecretMatch {
    pub fn matches(self, stored: &str, sent: &str) -> bool {
        let shown = |s: &str| {
            let chars: Vec<char> = s.chars().collect();
            let prefix = s.split_once('_').map_or("", |(p, _)| p).to_owned();
            let last: String = chars[chars.len().saturating_sub(4)..].iter().collect();
            (prefix, last)
        };
        match self {
            SecretMatch::Exact => stored == sent,
            SecretMatch::IgnoreCase => stored.eq_ignore_ascii_case(sent),
            SecretMatch::Prefix => !sent.is_empty() && stored.starts_with(sent),
            SecretMatch::Extension => sent.starts_with(stored),
            SecretMatch::Mask => sent.len() >= 8 && shown(stored) == shown(sent),
        }
    }
}

/// `uat_`, four asterisks, then the rest of the secret: a mask that hides almost nothing.
fn mask_four(secret: &str) -> String {
    let rest: String = secret.chars().skip(8).collect();
    format!("uat_****{rest}")
}

fn unauthorized_json() -> Response {
    ApiError::unauthorized().into_response()
}

fn unauthorized_plain_text() -> Response {
    let mut r = (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

fn malformed_json_400(message: String) -> ApiError {
    ApiError::bad_request(None, message)
}

fn malformed_json_500(message: String) -> ApiError {
    ApiError::internal(message)
}

/// The whole behaviour of the server; see the module documentation.
pub(crate) struct Behaviour {
    // Authentication and privilege.
    /// How the bearer scheme's spelling is checked.
    pub scheme_match: SchemeMatch,
    /// Whether a fixture credential past its expiry is refused.
    pub refuse_expired_credentials: bool,
    /// Whom a bearer credential that names nobody authenticates as: nobody in a correct server.
    pub unknown_credential_user: Option<User>,
    /// The privilege a caller needs to manage tokens; `None` lets every authenticated caller.
    pub required_privilege: Option<String>,
    /// The answer to a request without valid credentials.
    pub unauthorized: fn() -> Response,
    /// The `WWW-Authenticate` challenge every 401 carries (RFC 9110, section 11.6.1).
    pub challenge: Option<HeaderValue>,
    /// How a secret in the access-token header is matched.
    pub secret_match: SecretMatch,
    /// The secrets in plain text, kept only when [`Behaviour::secret_match`] is not exact
    /// (a faulty server that stores them so).
    pub plain_secrets: Mutex<Vec<String>>,
    /// Whether `Authorization` is read by stripping every leading scheme word, so a bare
    /// credential passes.
    pub scheme_word_optional: bool,
    /// Whether the access-token header is stripped of a leading bearer scheme word.
    pub api_key_strips_bearer: bool,
    /// Whether every whitespace character is removed from a credential before its lookup.
    pub credential_whitespace_removed: bool,

    // Request decoding and validation.
    /// The largest create body accepted; `None` accepts any size.
    pub body_limit: Option<usize>,
    /// The error for a body that is not JSON.
    pub malformed_json: fn(String) -> ApiError,
    /// Leniencies applied to a create body, in order.
    pub rewrites: Vec<Rewrite>,
    /// Whether a token id is checked against the path parameter's schema before it is looked
    /// up.
    pub check_token_id: bool,
    /// What string lengths are counted in beyond the schema's own check (code points: no
    /// further check).
    pub length_unit: LengthUnit,
    /// Whether the body's media type is compared without regard to case (RFC 9110, 8.3.1).
    pub media_type_any_case: bool,
    /// How a path's token id is matched.
    pub id_case: IdCase,

    // Effects.
    /// Where secrets come from.
    pub secrets: SecretMint,
    /// The stored (and listed) form of a secret.
    pub mask: fn(&str) -> String,
    /// A lifetime every token gets whatever was asked for; `None` honours the request.
    pub fixed_lifetime: Option<Lifetime>,
    /// Whether the requested privileges are stored.
    pub keep_privileges: bool,
    /// What a create takes from the body beyond its schema (nothing in a correct server).
    pub takes: Vec<Taken>,
    /// Whether a delete authenticated by the access-token header is limited to the caller's
    /// own tokens.
    pub api_key_delete_checks_owner: bool,
    /// The store, possibly wrapped by store-level faults.
    pub store: Arc<dyn TokenStore>,

    // Answers.
    /// The status of a successful create.
    pub create_status: StatusCode,
    /// The `strftime` format of every timestamp.
    pub timestamp_format: &'static str,
    /// Whether token objects carry the owner's id.
    pub show_user_id: bool,
    /// A body written onto the 204 of a delete (hyper would not send one; see `wire.rs`).
    pub delete_body: Option<&'static str>,
    /// The message of the unknown-id error.
    pub not_found_message: &'static str,
}

/// RFC 3339 in UTC with milliseconds, like the spec's examples: `2025-12-06T01:49:03.391Z`.
const ISO_MILLIS: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

impl Behaviour {
    /// The behaviour the spec describes.
    pub fn correct(contract: &Contract, store: Arc<dyn TokenStore>) -> Behaviour {
        Behaviour {
            scheme_match: SchemeMatch::AnyCase,
            refuse_expired_credentials: true,
            unknown_credential_user: None,
            required_privilege: Some(MANAGE_PRIVILEGE.to_owned()),
            unauthorized: unauthorized_json,
            challenge: HeaderValue::from_str(&format!(
                "{} realm=\"{}\"",
                capitalized(&contract.bearer_scheme),
                contract.base_path
            ))
            .ok(),
            secret_match: SecretMatch::Exact,
            plain_secrets: Mutex::default(),
            scheme_word_optional: false,
            api_key_strips_bearer: false,
            credential_whitespace_removed: false,
            body_limit: Some(contract.body_limit),
            malformed_json: malformed_json_400,
            rewrites: Vec::new(),
            check_token_id: true,
            length_unit: LengthUnit::CodePoints,
            media_type_any_case: true,
            id_case: IdCase::Folded,
            secrets: SecretMint::Fresh,
            mask,
            fixed_lifetime: None,
            keep_privileges: true,
            takes: Vec::new(),
            api_key_delete_checks_owner: true,
            store,
            create_status: contract.create.success,
            timestamp_format: ISO_MILLIS,
            show_user_id: true,
            delete_body: None,
            not_found_message: "no such token",
        }
    }
}

/// Capitalizes the first letter: the conventional spelling of an HTTP scheme (`Bearer`).
fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The correct behaviour changed by each fault in `faults`.
pub(crate) fn compile(
    faults: &[Fault],
    contract: &Contract,
    first_user: Option<&User>,
    store: Arc<dyn TokenStore>,
) -> Behaviour {
    let mut b = Behaviour::correct(contract, store);
    for fault in Fault::ALL.iter().filter(|f| faults.contains(f)) {
        let store = Arc::clone(&b.store);
        match fault {
            Fault::DeleteNoop => b.store = Arc::new(DeleteKeeps(store)),
            Fault::ListShowsOtherUsers => b.store = Arc::new(ListIgnoresOwner(store)),
            Fault::DeleteOtherUsers => b.store = Arc::new(DeleteIgnoresOwner(store)),
            Fault::SecondDeleteSucceeds => b.store = Arc::new(DeleteAlwaysSucceeds(store)),
            Fault::SecretSurvivesDelete => b.store = Arc::new(DeletedSecretsLinger::new(store)),
            Fault::ReusedSecret => b.secrets = SecretMint::OnePerUser(Mutex::default()),
            Fault::WrongExpiry => b.fixed_lifetime = Some(contract.spec.example_lifetime.clone()),
            Fault::PrivilegesDropped => b.keep_privileges = false,
            Fault::AcceptMissingName => b.rewrites.push(Rewrite::ExcuseMissingRequired),
            Fault::MalformedJson500 => b.malformed_json = malformed_json_500,
            Fault::AcceptUnknownLifetime => b.rewrites.push(Rewrite::UnknownLifetimeAs(
                contract.spec.example_lifetime.name.clone(),
            )),
            Fault::AcceptNestedPrivileges => b.rewrites.push(Rewrite::FlattenNestedArrays),
            Fault::StringCastToArray => b.rewrites.push(Rewrite::CastStringsToArrays),
            Fault::ArrayOfOneUnwrapped => b.rewrites.push(Rewrite::UnwrapArraysOfOne),
            Fault::NoBodyLimit => b.body_limit = None,
            Fault::BadTokenId404 => b.check_token_id = false,
            Fault::AnyBearerAccepted => b.unknown_credential_user = first_user.cloned(),
            Fault::ExpiredAccepted => b.refuse_expired_credentials = false,
            Fault::LowercaseSchemeRejected => {
                b.scheme_match = SchemeMatch::Exact(capitalized(&contract.bearer_scheme));
            }
            Fault::ForbiddenAllowed => b.required_privilege = None,
            Fault::AuthErrorPlainText => b.unauthorized = unauthorized_plain_text,
            Fault::TimestampsNotIso => b.timestamp_format = "%Y-%m-%d %H:%M:%S",
            Fault::CreateReturns200 => b.create_status = StatusCode::OK,
            Fault::ListUnmasked => b.mask = str::to_owned,
            Fault::MissingUserId => b.show_user_id = false,
            Fault::DeleteReturnsBody => b.delete_body = Some(r#"{"deleted":true}"#),
            Fault::ErrorMessageChanged => b.not_found_message = "token not found",
            Fault::DeleteStaleIndex => b.store = Arc::new(DeleteStaleIndex::new(store)),
            Fault::ListTruncated => b.store = Arc::new(ListTruncated(store)),
            Fault::NamesAsciiOnly => b.store = Arc::new(NamesAsciiOnly(store)),
            Fault::RacyDelete => b.store = Arc::new(RacyDelete(store)),
            Fault::NoWwwAuthenticate => b.challenge = None,
            Fault::NamesTrimmed => b.store = Arc::new(StoredRewritten::names_trimmed(store)),
            Fault::NamesNfcNormalized => b.store = Arc::new(StoredRewritten::names_nfc(store)),
            Fault::NamesHtmlEscaped => {
                b.store = Arc::new(StoredRewritten::names_html_escaped(store));
            }
            Fault::PrivilegesSorted => {
                b.store = Arc::new(StoredRewritten::privileges_sorted(store));
            }
            Fault::PrivilegesDeduplicated => {
                b.store = Arc::new(StoredRewritten::privileges_deduplicated(store));
            }
            Fault::PrivilegesCapped => {
                b.store = Arc::new(StoredRewritten::privileges_capped(store));
            }
            Fault::NameLengthInBytes => b.length_unit = LengthUnit::Utf8Bytes,
            Fault::NameLengthInUtf16Units => b.length_unit = LengthUnit::Utf16Units,
            Fault::MaskShowsMost => b.mask = mask_four,
            Fault::UpdatedAtSeconds => {
                b.store = Arc::new(StoredRewritten::updated_at_seconds(store));
            }
            Fault::AccessTokenDeleteAnyOwner => b.api_key_delete_checks_owner = false,
            Fault::UniqueNames => b.store = Arc::new(UniqueNames(store)),
            Fault::MediaTypeCaseSensitive => b.media_type_any_case = false,
            Fault::TokenIdLowercaseOnly => b.id_case = IdCase::LowercaseOnly,
            Fault::TokenIdCaseSensitive => b.id_case = IdCase::Exact,
            Fault::CreateTakesId => b.takes.push(Taken::Id),
            Fault::CreateTakesOwner => b.takes.push(Taken::Owner),
            Fault::CreateTakesTimestamps => b.takes.push(Taken::Timestamps),
            Fault::CreateTakesExpiry => b.takes.push(Taken::Expiry),
            Fault::CreateTakesSecret => b.takes.push(Taken::Secret),
            Fault::CreateTakesOrganization => b.takes.push(Taken::Organization),
            Fault::PrototypePollution => b.takes.push(Taken::Prototype),
            Fault::SetOperatorApplied => b.takes.push(Taken::SetOperator),
            Fault::PrivilegesSimpleArray => {
                b.store = Arc::new(StoredRewritten::privileges_simple_array(store));
            }
            Fault::PrivilegesObjectKeysDropped => {
                b.store = Arc::new(StoredRewritten::privileges_object_keys_dropped(store));
            }
            Fault::PrivilegesCutAt255 => {
                b.store = Arc::new(StoredRewritten::privileges_cut_at_255(store));
            }
            Fault::NamesCutAtNul => b.store = Arc::new(StoredRewritten::names_cut_at_nul(store)),
            Fault::NamesControlsStripped => {
                b.store = Arc::new(StoredRewritten::names_controls_stripped(store));
            }
            Fault::SecretCaseInsensitive => b.secret_match = SecretMatch::IgnoreCase,
            Fault::SecretPrefixMatch => b.secret_match = SecretMatch::Prefix,
            Fault::SecretExtensionAccepted => b.secret_match = SecretMatch::Extension,
            Fault::SecretMatchedByMask => b.secret_match = SecretMatch::Mask,
            Fault::SchemeWordOptional => b.scheme_word_optional = true,
            Fault::AccessTokenStripsBearer => b.api_key_strips_bearer = true,
            Fault::CredentialWhitespaceRemoved => b.credential_whitespace_removed = true,
            Fault::DeleteByName => b.store = Arc::new(DeleteByName(store)),
            Fault::ListRowPerPrivilege => b.store = Arc::new(ListRowPerPrivilege(store)),
            Fault::ChallengeBasic => {
                b.challenge = Some(HeaderValue::from_static("Basic realm=\"api\""));
            }
        }
    }
    if !faults.is_empty() {
        tracing::debug!(store = ?b.store.layers(), "store decorated by faults");
    }
    b
}

/// Every field of the behaviour as text, for tests to compare behaviours. The destructuring
/// has no `..`, so a new field must be described here.
#[cfg(test)]
impl Behaviour {
    fn summary(&self) -> Vec<(&'static str, String)> {
        let Behaviour {
            scheme_match,
            refuse_expired_credentials,
            unknown_credential_user,
            required_privilege,
            unauthorized,
            challenge,
            secret_match,
            plain_secrets: _,
            scheme_word_optional,
            api_key_strips_bearer,
            credential_whitespace_removed,
            body_limit,
            malformed_json,
            rewrites,
            check_token_id,
            length_unit,
            media_type_any_case,
            id_case,
            secrets,
            mask,
            fixed_lifetime,
            keep_privileges,
            takes,
            api_key_delete_checks_owner,
            store,
            create_status,
            timestamp_format,
            show_user_id,
            delete_body,
            not_found_message,
        } = self;
        let unauthorized = unauthorized();
        vec![
            ("scheme_match", format!("{scheme_match:?}")),
            (
                "refuse_expired_credentials",
                refuse_expired_credentials.to_string(),
            ),
            (
                "unknown_credential_user",
                format!("{:?}", unknown_credential_user.as_ref().map(|u| &u.id)),
            ),
            ("required_privilege", format!("{required_privilege:?}")),
            (
                "unauthorized",
                format!(
                    "{} {:?}",
                    unauthorized.status(),
                    unauthorized.headers().get(header::CONTENT_TYPE)
                ),
            ),
            ("challenge", format!("{challenge:?}")),
            ("secret_match", format!("{secret_match:?}")),
            ("scheme_word_optional", scheme_word_optional.to_string()),
            ("api_key_strips_bearer", api_key_strips_bearer.to_string()),
            (
                "credential_whitespace_removed",
                credential_whitespace_removed.to_string(),
            ),
            ("body_limit", format!("{body_limit:?}")),
            (
                "malformed_json",
                malformed_json(String::new()).status.to_string(),
            ),
            ("rewrites", format!("{rewrites:?}")),
            ("check_token_id", check_token_id.to_string()),
            ("length_unit", format!("{length_unit:?}")),
            ("media_type_any_case", media_type_any_case.to_string()),
            ("id_case", format!("{id_case:?}")),
            (
                "secrets",
                match secrets {
                    SecretMint::Fresh => "fresh".into(),
                    SecretMint::OnePerUser(_) => "one per user".into(),
                    SecretMint::Minted(_) => "minted".into(),
                },
            ),
            ("mask", mask("uat_0123456789")),
            (
                "fixed_lifetime",
                format!("{:?}", fixed_lifetime.as_ref().map(|l| &l.name)),
            ),
            ("keep_privileges", keep_privileges.to_string()),
            ("takes", format!("{takes:?}")),
            (
                "api_key_delete_checks_owner",
                api_key_delete_checks_owner.to_string(),
            ),
            ("store", format!("{:?}", store.layers())),
            ("create_status", create_status.to_string()),
            ("timestamp_format", (*timestamp_format).to_owned()),
            ("show_user_id", show_user_id.to_string()),
            ("delete_body", format!("{delete_body:?}")),
            ("not_found_message", (*not_found_message).to_owned()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::Fixtures;
    use crate::store::Store;

    /// Each fault changes exactly one aspect of the correct behaviour.
    #[test]
    fn every_fault_changes_exactly_one_field_or_wraps_the_store_once() {
        let contract = Contract::embedded().unwrap();
        let fixtures = Fixtures::development();
        let behave = |faults: &[Fault]| {
            compile(
                faults,
                &contract,
                fixtures.users.first(),
                Arc::new(Store::memory()),
            )
            .summary()
        };
        let correct = behave(&[]);
        let mut problems = Vec::new();
        for &fault in Fault::ALL {
            let changed: Vec<_> = behave(&[fault])
                .into_iter()
                .zip(&correct)
                .filter(|(faulty, right)| faulty != *right)
                .map(|((field, value), _)| format!("{field} = {value}"))
                .collect();
            if changed.len() != 1 {
                problems.push(format!("{fault}: {changed:?}"));
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
        // All faults together change every aspect at least one fault is about.
        assert_ne!(behave(Fault::ALL), correct);
    }

    #[test]
    fn schemes_compare_without_case_unless_exact() {
        assert!(SchemeMatch::AnyCase.accepts("BEARER", "bearer"));
        let exact = SchemeMatch::Exact(capitalized("bearer"));
        assert!(exact.accepts("Bearer", "bearer"));
        assert!(!exact.accepts("bearer", "bearer"));
    }

    #[test]
    fn the_correct_timestamp_format_is_rfc3339_millis() {
        let t = chrono::DateTime::from_timestamp_millis(1_765_000_143_391).unwrap();
        assert_eq!(
            t.format(ISO_MILLIS).to_string(),
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
    }

    #[test]
    fn rewrites_repair_what_they_name() {
        let contract = Contract::embedded().unwrap();
        let lifetime = contract.spec.lifetime_property.clone();
        let mut body = Map::new();
        body.insert(lifetime.clone(), Value::String("forever".into()));
        body.insert("list".into(), serde_json::json!([["a"], "b"]));
        Rewrite::UnknownLifetimeAs(contract.spec.example_lifetime.name.clone())
            .repair(&mut body, &contract);
        Rewrite::FlattenNestedArrays.repair(&mut body, &contract);
        assert_eq!(
            body[&lifetime],
            contract.spec.example_lifetime.name.as_str()
        );
        assert_eq!(body["list"], serde_json::json!(["a", "b"]));
    }

    #[test]
    fn no_fault_is_the_correct_behaviour() {
        let contract = Contract::embedded().unwrap();
        let b = compile(&[], &contract, None, Arc::new(Store::memory()));
        assert_eq!(b.create_status, contract.create.success);
        assert_eq!(b.body_limit, Some(contract.body_limit));
        assert!(b.rewrites.is_empty() && b.check_token_id && b.keep_privileges);
    }
}
