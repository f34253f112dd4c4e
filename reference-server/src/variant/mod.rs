//! The catalog of conformant variants: behaviours that differ from the server's defaults yet
//! conform to the spec, its recorded decisions (`openapi/TRANSCRIPTION.md`) and the HTTP and
//! JSON RFCs. A conformance run must pass against every one of them (the specificity test,
//! `conformance/tests/integration/specificity.rs`), the mirror of the fault catalog whose
//! every entry a run must catch; both are declared the same way (`catalog.rs`).
//!
//! Each variant is off unless named with `--variant NAME`. This module holds the catalog, the
//! switched-on set ([`Variants`]) and the changes to the [`Behaviour`] ([`apply`]: the secret
//! format, and the store decorator of `ids.rs`). Most variants act on the answer after the
//! handler made it (`respond.rs`, one middleware), so the handlers stay free of them; the
//! account of many tokens is seeded at start-up (`seed.rs`); connection habits are carried out
//! by the wire layer (`wire.rs`), asked for with a marker header.

mod ids;
mod respond;
mod seed;

pub(crate) use respond::rewrite;
pub(crate) use seed::seed;
pub use seed::{SEEDED_NAME_PREFIX, SEEDED_TOKENS};

use crate::behaviour::{Behaviour, SecretMint};
use crate::catalog::catalog;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

catalog! {
    /// A named conformant behaviour that differs from the server's default.
    pub enum Variant {
        /// The class of behaviour it belongs to.
        fn class -> &'static str;
        /// The RFC section or spec decision that makes it conformant.
        fn basis -> &'static str;
        /// One sentence saying what the server does differently.
        fn description -> &'static str;
    }
    Gzip => ("gzip", "content-coding", "RFC 9110 §8.4.1.3, §12.5.3 (no Accept-Encoding accepts any coding)", "answers are gzip-encoded whenever the request accepts gzip, including requests without Accept-Encoding"),
    Deflate => ("deflate", "content-coding", "RFC 9110 §8.4.1.2, §12.5.3", "answers are deflate-encoded whenever the request accepts deflate, including requests without Accept-Encoding"),
    TimestampsOffset => ("timestamps-offset", "timestamps", "RFC 3339 §5.6 (time-numoffset); the spec's format: date-time", "timestamps are written in +02:00 local time: `2025-12-06T03:49:03.391+02:00`"),
    TimestampsMicros => ("timestamps-micros", "timestamps", "RFC 3339 §5.6 (time-secfrac is any number of digits)", "timestamps carry microseconds: `2025-12-06T01:49:03.391000Z`"),
    TimestampsSeconds => ("timestamps-seconds", "timestamps", "RFC 3339 §5.6 (time-secfrac is optional)", "timestamps carry whole seconds: `2025-12-06T01:49:03Z`"),
    ExtraTokenFields => ("extra-token-fields", "extra-fields", "the token schema allows properties it does not list (OpenAPI 3.0 additionalProperties)", "token objects carry `lastUsedAt: null`, `revoked: false` and `servedAt`, the time of each answer"),
    ExtraErrorFields => ("extra-error-fields", "extra-fields", "the Error schema allows properties it does not list (OpenAPI 3.0 additionalProperties)", "error bodies carry `requestId` and `timestamp`, new on every request"),
    ListNewestFirst => ("list-newest-first", "list-order", "the list operation states no order (#/paths/~1me~1tokens/get)", "the list shows the newest token first"),
    ListRandomOrder => ("list-random-order", "list-order", "the list operation states no order (#/paths/~1me~1tokens/get)", "the list is shuffled on every request"),
    UppercaseIds => ("uppercase-ids", "id-case", "#/components/schemas/ObjectId pattern ^[0-9a-fA-F]{24}$ allows uppercase hex", "ids are written in uppercase hex and accepted in either case"),
    ErrorWording => ("error-wording", "error-wording", "Error.message is free text; Error.code is a pattern, not an enum (TRANSCRIPTION.md \"Error codes are a pattern\"), except the decided not_found and payload_too_large", "every error message is worded differently and the undecided codes are other snake_case words"),
    RichChallenge => ("rich-challenge", "www-authenticate", "RFC 9110 §11.6.1 (one or more challenges, auth-params), RFC 6750 §3", "401 answers carry a Bearer challenge with error and error_description, and a second WWW-Authenticate field"),
    ConnectionClose => ("connection-close", "connection", "RFC 9112 §9.6 (Connection: close)", "every answer says Connection: close and the connection is closed after it"),
    Chunked => ("chunked", "connection", "RFC 9112 §7.1 (chunked transfer coding)", "bodies are sent chunked, without Content-Length"),
    IdleTimeout => ("idle-timeout", "connection", "RFC 9112 §9.5 (a server may close an idle connection at any time)", "a connection idle for 300 ms is closed, under the client's connection pool"),
    SmallWrites => ("small-writes", "connection", "RFC 9112 §2.1 (a message is a byte stream; its writes have no boundaries)", "answers are written to the socket 7 bytes at a time"),
    TitleCaseHeaders => ("title-case-headers", "connection", "RFC 9110 §5.1 (field names are case-insensitive); the default answers use lowercase names", "header names are written in Title-Case (`Content-Type`)"),
    OddReasonPhrase => ("odd-reason-phrase", "connection", "RFC 9112 §4 (a client ignores the reason-phrase)", "status lines carry unusual reason phrases (`HTTP/1.1 200 Fine Thanks`)"),
    Transient503 => ("transient-503", "availability", "RFC 9110 §15.6.4 and §10.2.3 (503 with Retry-After)", "every 40th request is answered 503 with Retry-After: 1 and not carried out"),
    RateLimitNoRetryAfter => ("rate-limit-no-retry-after", "availability", "RFC 6585 §4 (a 429 MAY include Retry-After)", "every 50th request is answered 429 without Retry-After and not carried out"),
    SecretHex => ("secret-hex", "secret-format", "TRANSCRIPTION.md \"The mask format\" (the runner does not check the mask's form); token is a string with minLength 1", "secrets are 40 lowercase hex digits without a prefix; the list masks them as `****` and the last four"),
    ClockAhead => ("clock-ahead", "clock", "--clock-tolerance (default 120 s): a server clock within it is correct", "the server's clock is 60 s ahead: every timestamp it writes is a minute late"),
    ManyTokens => ("many-tokens", "account", "a run deletes only tokens it created (ARCHITECTURE.md); a real account holds others", "each user who may manage tokens already holds 40 tokens, which a run must leave alone"),
    CharsetParameter => ("charset-parameter", "media-type", "RFC 9110 §8.3.1 (media type parameters); RFC 8259 §11", "JSON answers say `application/json; charset=utf-8`"),
}

impl std::str::FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Variant, String> {
        Variant::from_name(s).ok_or_else(|| {
            let names: Vec<_> = Variant::ALL.iter().map(|v| v.name()).collect();
            format!(
                "unknown variant `{s}`; known variants: {}",
                names.join(", ")
            )
        })
    }
}

/// The variant catalog, one line each: `name  class  description (basis)`.
pub fn variant_catalog() -> String {
    let width = Variant::ALL
        .iter()
        .map(|v| v.name().len())
        .max()
        .unwrap_or(0);
    Variant::ALL
        .iter()
        .map(|v| {
            format!(
                "{:width$}  {:16}  {} ({})\n",
                v.name(),
                v.class(),
                v.description(),
                v.basis()
            )
        })
        .collect()
}

/// The switched-on variants and what they need at run time.
pub(crate) struct Variants {
    on: Vec<Variant>,
    /// Requests seen (for the periodic 503 and 429).
    counted: AtomicU64,
    /// The compiled contract: which object keys hold instants and which hold ids.
    spec: Arc<abp_spec::Contract>,
}

impl Variants {
    pub fn new(variants: &[Variant], spec: Arc<abp_spec::Contract>) -> Variants {
        Variants {
            on: Variant::ALL
                .iter()
                .copied()
                .filter(|v| variants.contains(v))
                .collect(),
            counted: AtomicU64::new(0),
            spec,
        }
    }

    /// The switched-on variants, in catalog order.
    pub fn list(&self) -> &[Variant] {
        &self.on
    }

    fn has(&self, v: Variant) -> bool {
        self.on.contains(&v)
    }
}

/// A secret of 40 lowercase hex digits (`secret-hex`).
fn hex_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// `****` and the last four characters (`secret-hex`): shorter than the secret.
fn short_mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("****{tail}")
}

/// Changes the behaviour for the variants that act inside the handlers.
pub(crate) fn apply(variants: &Variants, behaviour: &mut Behaviour) {
    if variants.has(Variant::SecretHex) {
        behaviour.secrets = SecretMint::Minted(hex_secret);
        behaviour.mask = short_mask;
    }
    if variants.has(Variant::UppercaseIds) {
        behaviour.store = Arc::new(ids::IdsAnyCase(Arc::clone(&behaviour.store)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_round_trip_and_each_says_why() {
        let names: HashSet<_> = Variant::ALL.iter().map(|v| v.name()).collect();
        assert_eq!(names.len(), Variant::ALL.len());
        for v in Variant::ALL {
            assert_eq!(Variant::from_name(v.name()), Some(*v));
            assert!(!v.basis().is_empty() && !v.description().is_empty());
        }
        assert_eq!(Variant::from_name("nope"), None);
        assert_eq!(variant_catalog().lines().count(), Variant::ALL.len());
    }

    #[test]
    fn hex_secrets_mask_to_their_last_four() {
        let s = hex_secret();
        assert_eq!(s.len(), 40);
        assert_eq!(short_mask(&s), format!("****{}", &s[36..]));
    }
}
