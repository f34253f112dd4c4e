//! The catalog of deliberate bugs the conformance suite must detect.
//!
//! Each fault is off unless named with `--fault NAME`; each changes exactly one behaviour
//! (`behaviour.rs` says which). The catalog is declared like the variants' (`catalog.rs`).

use crate::catalog::catalog;
use crate::error::ServerError;
use FaultArea::{Auth, Boundary, Lifecycle, Model, Reach, Schema, Semantics, Validation};

/// What a fault breaks, as the README's mutation table groups them. Written as its name in
/// lowercase (`lifecycle`, `schema`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultArea {
    /// What a token's life does: create, list, delete, expiry, masking.
    Lifecycle,
    /// What a request must be to be accepted.
    Validation,
    /// Who may call, and with which credential.
    Auth,
    /// What an answer must look like.
    Schema,
    /// A value at the edge of what the spec allows, stored otherwise.
    Boundary,
    /// What a sequence of operations leaves behind.
    Model,
    /// What HTTP says an answer means.
    Semantics,
    /// Found by the inputs the runner derives from the spec, not by a scenario written for it.
    Reach,
}

impl std::fmt::Display for FaultArea {
    /// The area's name: its identifier in lowercase, padded as the formatter asks.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&format!("{self:?}").to_ascii_lowercase())
    }
}

catalog! {
    /// A named, deliberate bug.
    pub enum Fault {
        /// What the fault breaks.
        fn area -> FaultArea;
        /// One sentence saying what goes wrong.
        fn description -> &'static str;
    }
    DeleteNoop => ("delete-noop", Lifecycle, "DELETE answers 204 but keeps the token"),
    ListShowsOtherUsers => ("list-shows-other-users", Lifecycle, "the list includes every user's tokens (masked)"),
    DeleteOtherUsers => ("delete-other-users", Lifecycle, "DELETE of another user's token deletes it and answers 204"),
    SecondDeleteSucceeds => ("second-delete-succeeds", Lifecycle, "DELETE of an unknown or already deleted well-formed id answers 204 instead of 404"),
    SecretSurvivesDelete => ("secret-survives-delete", Lifecycle, "a deleted token's secret still authenticates in the API-key header"),
    ReusedSecret => ("reused-secret", Lifecycle, "every create by the same user returns the same secret value"),
    WrongExpiry => ("wrong-expiry", Lifecycle, "expiresOn is always createdAt + the spec's example lifetime, whatever the lifetime"),
    PrivilegesDropped => ("privileges-dropped", Lifecycle, "a created token stores and echoes `privileges: []`"),
    AcceptMissingName => ("accept-missing-name", Validation, "a body without `name` is accepted and stored with name \"\""),
    MalformedJson500 => ("malformed-json-500", Validation, "malformed JSON answers 500"),
    AcceptUnknownLifetime => ("accept-unknown-lifetime", Validation, "an unknown lifetime is accepted as the spec's example lifetime"),
    AcceptNestedPrivileges => ("accept-nested-privileges", Validation, "privileges given as nested arrays are flattened and accepted"),
    StringCastToArray => ("string-cast-to-array", Validation, "a string given for an array property is stored as an array of one, as Mongoose casts it"),
    ArrayOfOneUnwrapped => ("array-of-one-unwrapped", Validation, "a string property given as an array of one string takes that string, as a query-string parser does"),
    NoBodyLimit => ("no-body-limit", Validation, "bodies over the spec's x-max-body-bytes are processed normally"),
    BadTokenId404 => ("bad-token-id-404", Validation, "a token id that breaks the path parameter's pattern answers 404 instead of 400"),
    AnyBearerAccepted => ("any-bearer-accepted", Auth, "any non-empty unknown bearer credential authenticates as the first user"),
    ExpiredAccepted => ("expired-accepted", Auth, "expired credentials authenticate"),
    LowercaseSchemeRejected => ("lowercase-scheme-rejected", Auth, "only the exact `Bearer` scheme is accepted; `bearer` answers 401"),
    ForbiddenAllowed => ("forbidden-allowed", Auth, "a user without the privilege to manage tokens is allowed"),
    AuthErrorPlainText => ("auth-error-plain-text", Auth, "401 answers have a text/plain body \"Unauthorized\""),
    TimestampsNotIso => ("timestamps-not-iso", Schema, "createdAt, updatedAt and expiresOn are written like `2025-12-06 01:49:03`"),
    CreateReturns200 => ("create-returns-200", Schema, "create answers 200 instead of 201"),
    ListUnmasked => ("list-unmasked", Schema, "the list shows the full secret"),
    MissingUserId => ("missing-user-id", Schema, "token objects omit `userId`"),
    DeleteReturnsBody => ("delete-returns-body", Schema, "DELETE answers 204 with a JSON body `{\"deleted\":true}`"),
    ErrorMessageChanged => ("error-message-changed", Schema, "the 404 error message reads \"token not found\" (schema-valid; only a snapshot sees it)"),
    DeleteStaleIndex => ("delete-stale-index", Model, "after a user deletes a token that is not their newest, their newest can no longer be deleted (404): a swap_remove that leaves a stale index"),
    NamesAsciiOnly => ("names-ascii-only", Boundary, "names are stored with every character outside ASCII dropped (the create answer still echoes the request)"),
    ListTruncated => ("list-truncated", Model, "a list shows only the user's oldest 20 tokens, as if a page size applied"),
    RacyDelete => ("racy-delete", Model, "a delete checks, then deletes without a lock: deletes of one token sent at the same time all answer 204"),
    NoWwwAuthenticate => ("no-www-authenticate", Semantics, "401 answers carry no WWW-Authenticate challenge"),
    NamesTrimmed => ("names-trimmed", Boundary, "names are stored with surrounding whitespace trimmed (the create answer still echoes the request)"),
    NamesNfcNormalized => ("names-nfc-normalized", Boundary, "names are stored in Unicode normalization form C: a decomposed `e` + U+0301 comes back composed"),
    NamesHtmlEscaped => ("names-html-escaped", Boundary, "names are stored HTML-escaped (`<` as `&lt;`, `&` as `&amp;`, quotes as entities)"),
    PrivilegesSorted => ("privileges-sorted", Boundary, "privileges are stored sorted instead of in the order sent"),
    PrivilegesDeduplicated => ("privileges-deduplicated", Boundary, "privileges are stored with duplicates removed"),
    PrivilegesCapped => ("privileges-capped", Boundary, "only the first 64 privileges are stored, as in a fixed-size column"),
    NameLengthInBytes => ("name-length-in-bytes", Boundary, "the name's maxLength is counted in UTF-8 bytes, not characters: 128 two-byte characters answer 400"),
    NameLengthInUtf16Units => ("name-length-in-utf16-units", Boundary, "the name's maxLength is counted in UTF-16 code units: 128 characters outside the BMP answer 400"),
    MaskShowsMost => ("mask-shows-most", Lifecycle, "the list's mask hides only four characters of the secret and shows the rest"),
    UpdatedAtSeconds => ("updated-at-seconds", Schema, "updatedAt is stored cut to the second (a database default) while createdAt keeps milliseconds, so a listed token was updated before it was created"),
    AccessTokenDeleteAnyOwner => ("access-token-delete-any-owner", Auth, "a DELETE authenticated with the access-token header skips the owner check: another user's token is deleted (204)"),
    UniqueNames => ("unique-names", Validation, "a second live token with the same name is refused (a unique index on user and name answers 500)"),
    MediaTypeCaseSensitive => ("media-type-case-sensitive", Validation, "the create body's media type is compared case-sensitively: `Application/JSON` answers 400"),
    TokenIdLowercaseOnly => ("token-id-lowercase-only", Validation, "a token id with uppercase hex digits answers 400, though the path parameter's pattern allows them"),
    TokenIdCaseSensitive => ("token-id-case-sensitive", Validation, "a token id is looked up as typed: the uppercase spelling of one's own token's id answers 404"),
    CreateTakesId => ("create-takes-id", Reach, "a create takes the token's id from the body when it is a well-formed id, as `new Token(req.body)` does in Mongoose"),
    CreateTakesOwner => ("create-takes-owner", Reach, "a create takes the owner from the body, spread after the caller's (`{ userId: req.user.id, ...req.body }`)"),
    CreateTakesTimestamps => ("create-takes-timestamps", Reach, "a create takes createdAt and updatedAt from the body"),
    CreateTakesExpiry => ("create-takes-expiry", Reach, "a create takes expiresOn from the body, whatever the lifetime"),
    CreateTakesSecret => ("create-takes-secret", Reach, "a create takes the secret from the body: the client chooses its own token value"),
    CreateTakesOrganization => ("create-takes-organization", Reach, "a create takes organizationId from the body"),
    PrototypePollution => ("prototype-pollution", Reach, "the body is copied with `Object.assign`: a `__proto__` or `constructor.prototype` object supplies the fields the body leaves out (privileges, owner)"),
    SetOperatorApplied => ("set-operator-applied", Reach, "a `$set` object in the create body is applied to the stored token, as an upsert passes update operators through"),
    PrivilegesSimpleArray => ("privileges-simple-array", Reach, "privileges are stored comma-joined and split on read (TypeORM `simple-array`): `a,b` comes back as two items and an empty item is lost"),
    PrivilegesObjectKeysDropped => ("privileges-object-keys-dropped", Reach, "privileges are filtered through a plain object (`if (!seen[p])`): items named like Object.prototype members (`constructor`, `toString`, `__proto__`) are dropped"),
    PrivilegesCutAt255 => ("privileges-cut-at-255", Reach, "each privilege is stored in a varchar(255): a longer item is cut"),
    NamesCutAtNul => ("names-cut-at-nul", Reach, "names are stored as C strings: everything from the first NUL on is lost"),
    NamesControlsStripped => ("names-controls-stripped", Reach, "a sanitizer strips control characters (C0, DEL, C1) from names before they are stored"),
    SecretCaseInsensitive => ("secret-case-insensitive", Reach, "the access-token header is matched without regard to letter case (a `_ci` collation)"),
    SecretPrefixMatch => ("secret-prefix-match", Reach, "the access-token header is matched with `LIKE 'value%'`: a secret cut short authenticates"),
    SecretExtensionAccepted => ("secret-extension-accepted", Reach, "the access-token header is matched with `value.startsWith(secret)`: a secret with characters appended authenticates"),
    SecretMatchedByMask => ("secret-matched-by-mask", Reach, "the access-token header is matched on what the mask shows (the prefix and the last four characters): the list's masked value authenticates"),
    SchemeWordOptional => ("scheme-word-optional", Reach, "`Authorization` is read by stripping every leading `Bearer `: a bare credential, or one after the scheme word twice, authenticates"),
    AccessTokenStripsBearer => ("access-token-strips-bearer", Reach, "the access-token header goes through the same helper as `Authorization`: `Bearer <secret>` there authenticates"),
    CredentialWhitespaceRemoved => ("credential-whitespace-removed", Reach, "credentials have every whitespace character removed before they are looked up: a credential with a space inside authenticates"),
    DeleteByName => ("delete-by-name", Reach, "DELETE removes every token of the caller that has the named token's name (`deleteMany({ name })`)"),
    ListRowPerPrivilege => ("list-row-per-privilege", Reach, "the list joins tokens with their privileges without grouping: a token is listed once per privilege"),
    ChallengeBasic => ("challenge-basic", Reach, "401 answers carry `WWW-Authenticate: Basic realm=\"api\"`, a challenge for a scheme the spec does not define"),
}

impl std::str::FromStr for Fault {
    type Err = ServerError;

    fn from_str(s: &str) -> Result<Fault, Self::Err> {
        Fault::from_name(s).ok_or_else(|| ServerError::UnknownFault(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_round_trip() {
        let names: HashSet<_> = Fault::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), Fault::ALL.len());
        for f in Fault::ALL {
            assert_eq!(Fault::from_name(f.name()), Some(*f));
            assert!(!f.description().is_empty());
        }
        assert!(Fault::ALL.len() >= 15);
        assert_eq!(Fault::from_name("nope"), None);
    }

    /// The README's mutation table and `--list-faults` show these names.
    #[test]
    fn areas_are_written_in_lowercase() {
        assert_eq!(Schema.to_string(), "schema");
        assert_eq!(Reach.to_string(), "reach");
        assert_eq!(format!("{:8}|", Auth), "auth    |");
    }
}
