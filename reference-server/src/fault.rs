//! The catalog of deliberate bugs the conformance suite must detect.
//!
//! Each fault is off unless named with `--fault NAME`; each changes exactly one behaviour.

macro_rules! faults {
    ($( $variant:ident => ($name:literal, $area:literal, $description:literal), )*) => {
        /// A named, deliberate bug.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Fault {
            $( $variant, )*
        }

        impl Fault {
            /// Every fault, in catalog order.
            pub const ALL: &'static [Fault] = &[ $( Fault::$variant, )* ];

            /// The name used on the command line.
            pub fn name(self) -> &'static str {
                match self { $( Fault::$variant => $name, )* }
            }

            /// `lifecycle`, `validation`, `auth`, `schema`, `boundary`, `model`, `semantics`, or
            /// `reach` (found by the inputs the runner derives from the spec, not by a scenario
            /// written for it).
            pub fn area(self) -> &'static str {
                match self { $( Fault::$variant => $area, )* }
            }

            /// One sentence saying what goes wrong.
            pub fn description(self) -> &'static str {
                match self { $( Fault::$variant => $description, )* }
            }
        }
    };
}

faults! {
    DeleteNoop => ("delete-noop", "lifecycle", "DELETE answers 204 but keeps the token"),
    ListShowsOtherUsers => ("list-shows-other-users", "lifecycle", "the list includes every user's tokens (masked)"),
    DeleteOtherUsers => ("delete-other-users", "lifecycle", "DELETE of another user's token deletes it and answers 204"),
    SecondDeleteSucceeds => ("second-delete-succeeds", "lifecycle", "DELETE of an unknown or already deleted well-formed id answers 204 instead of 404"),
    SecretSurvivesDelete => ("secret-survives-delete", "lifecycle", "a deleted token's secret still authenticates in the API-key header"),
    ReusedSecret => ("reused-secret", "lifecycle", "every create by the same user returns the same secret value"),
    WrongExpiry => ("wrong-expiry", "lifecycle", "expiresOn is always createdAt + the spec's example lifetime, whatever the lifetime"),
    PrivilegesDropped => ("privileges-dropped", "lifecycle", "a created token stores and echoes `privileges: []`"),
    AcceptMissingName => ("accept-missing-name", "validation", "a body without `name` is accepted and stored with name \"\""),
    MalformedJson500 => ("malformed-json-500", "validation", "malformed JSON answers 500"),
    AcceptUnknownLifetime => ("accept-unknown-lifetime", "validation", "an unknown lifetime is accepted as the spec's example lifetime"),
    AcceptNestedPrivileges => ("accept-nested-privileges", "validation", "privileges given as nested arrays are flattened and accepted"),
    NoBodyLimit => ("no-body-limit", "validation", "bodies over the spec's x-max-body-bytes are processed normally"),
    BadTokenId404 => ("bad-token-id-404", "validation", "a token id that breaks the path parameter's pattern answers 404 instead of 400"),
    AnyBearerAccepted => ("any-bearer-accepted", "auth", "any non-empty unknown bearer credential authenticates as the first user"),
    ExpiredAccepted => ("expired-accepted", "auth", "expired credentials authenticate"),
    LowercaseSchemeRejected => ("lowercase-scheme-rejected", "auth", "only the exact `Bearer` scheme is accepted; `bearer` answers 401"),
    ForbiddenAllowed => ("forbidden-allowed", "auth", "a user without the privilege to manage tokens is allowed"),
    AuthErrorPlainText => ("auth-error-plain-text", "auth", "401 answers have a text/plain body \"Unauthorized\""),
    TimestampsNotIso => ("timestamps-not-iso", "schema", "createdAt, updatedAt and expiresOn are written like `2025-12-06 01:49:03`"),
    CreateReturns200 => ("create-returns-200", "schema", "create answers 200 instead of 201"),
    ListUnmasked => ("list-unmasked", "schema", "the list shows the full secret"),
    MissingUserId => ("missing-user-id", "schema", "token objects omit `userId`"),
    DeleteReturnsBody => ("delete-returns-body", "schema", "DELETE answers 204 with a JSON body `{\"deleted\":true}`"),
    ErrorMessageChanged => ("error-message-changed", "schema", "the 404 error message reads \"token not found\" (schema-valid; only a snapshot sees it)"),
    DeleteStaleIndex => ("delete-stale-index", "model", "after a user deletes a token that is not their newest, their newest can no longer be deleted (404): a swap_remove that leaves a stale index"),
    NamesAsciiOnly => ("names-ascii-only", "boundary", "names are stored with every character outside ASCII dropped (the create answer still echoes the request)"),
    ListTruncated => ("list-truncated", "model", "a list shows only the user's oldest 20 tokens, as if a page size applied"),
    RacyDelete => ("racy-delete", "model", "a delete checks, then deletes without a lock: deletes of one token sent at the same time all answer 204"),
    NoWwwAuthenticate => ("no-www-authenticate", "semantics", "401 answers carry no WWW-Authenticate challenge"),
    NamesTrimmed => ("names-trimmed", "boundary", "names are stored with surrounding whitespace trimmed (the create answer still echoes the request)"),
    NamesNfcNormalized => ("names-nfc-normalized", "boundary", "names are stored in Unicode normalization form C: a decomposed `e` + U+0301 comes back composed"),
    NamesHtmlEscaped => ("names-html-escaped", "boundary", "names are stored HTML-escaped (`<` as `&lt;`, `&` as `&amp;`, quotes as entities)"),
    PrivilegesSorted => ("privileges-sorted", "boundary", "privileges are stored sorted instead of in the order sent"),
    PrivilegesDeduplicated => ("privileges-deduplicated", "boundary", "privileges are stored with duplicates removed"),
    PrivilegesCapped => ("privileges-capped", "boundary", "only the first 64 privileges are stored, as in a fixed-size column"),
    NameLengthInBytes => ("name-length-in-bytes", "boundary", "the name's maxLength is counted in UTF-8 bytes, not characters: 128 two-byte characters answer 400"),
    NameLengthInUtf16Units => ("name-length-in-utf16-units", "boundary", "the name's maxLength is counted in UTF-16 code units: 128 characters outside the BMP answer 400"),
    MaskShowsMost => ("mask-shows-most", "lifecycle", "the list's mask hides only four characters of the secret and shows the rest"),
    UpdatedAtSeconds => ("updated-at-seconds", "schema", "updatedAt is stored cut to the second (a database default) while createdAt keeps milliseconds, so a listed token was updated before it was created"),
    AccessTokenDeleteAnyOwner => ("access-token-delete-any-owner", "auth", "a DELETE authenticated with the access-token header skips the owner check: another user's token is deleted (204)"),
    UniqueNames => ("unique-names", "validation", "a second live token with the same name is refused (a unique index on user and name answers 500)"),
    MediaTypeCaseSensitive => ("media-type-case-sensitive", "validation", "the create body's media type is compared case-sensitively: `Application/JSON` answers 400"),
    TokenIdLowercaseOnly => ("token-id-lowercase-only", "validation", "a token id with uppercase hex digits answers 400, though the path parameter's pattern allows them"),
    TokenIdCaseSensitive => ("token-id-case-sensitive", "validation", "a token id is looked up as typed: the uppercase spelling of one's own token's id answers 404"),
    CreateTakesId => ("create-takes-id", "reach", "a create takes the token's id from the body when it is a well-formed id, as `new Token(req.body)` does in Mongoose"),
    CreateTakesOwner => ("create-takes-owner", "reach", "a create takes the owner from the body, spread after the caller's (`{ userId: req.user.id, ...req.body }`)"),
    CreateTakesTimestamps => ("create-takes-timestamps", "reach", "a create takes createdAt and updatedAt from the body"),
    CreateTakesExpiry => ("create-takes-expiry", "reach", "a create takes expiresOn from the body, whatever the lifetime"),
    CreateTakesSecret => ("create-takes-secret", "reach", "a create takes the secret from the body: the client chooses its own token value"),
    CreateTakesOrganization => ("create-takes-organization", "reach", "a create takes organizationId from the body"),
    PrototypePollution => ("prototype-pollution", "reach", "the body is copied with `Object.assign`: a `__proto__` or `constructor.prototype` object supplies the fields the body leaves out (privileges, owner)"),
    SetOperatorApplied => ("set-operator-applied", "reach", "a `$set` object in the create body is applied to the stored token, as an upsert passes update operators through"),
    PrivilegesSimpleArray => ("privileges-simple-array", "reach", "privileges are stored comma-joined and split on read (TypeORM `simple-array`): `a,b` comes back as two items and an empty item is lost"),
    PrivilegesObjectKeysDropped => ("privileges-object-keys-dropped", "reach", "privileges are filtered through a plain object (`if (!seen[p])`): items named like Object.prototype members (`constructor`, `toString`, `__proto__`) are dropped"),
    PrivilegesCutAt255 => ("privileges-cut-at-255", "reach", "each privilege is stored in a varchar(255): a longer item is cut"),
    NamesCutAtNul => ("names-cut-at-nul", "reach", "names are stored as C strings: everything from the first NUL on is lost"),
    NamesControlsStripped => ("names-controls-stripped", "reach", "a sanitizer strips control characters (C0, DEL, C1) from names before they are stored"),
    SecretCaseInsensitive => ("secret-case-insensitive", "reach", "the access-token header is matched without regard to letter case (a `_ci` collation)"),
    SecretPrefixMatch => ("secret-prefix-match", "reach", "the access-token header is matched with `LIKE 'value%'`: a secret cut short authenticates"),
    SecretExtensionAccepted => ("secret-extension-accepted", "reach", "the access-token header is matched with `value.startsWith(secret)`: a secret with characters appended authenticates"),
    SecretMatchedByMask => ("secret-matched-by-mask", "reach", "the access-token header is matched on what the mask shows (the prefix and the last four characters): the list's masked value authenticates"),
    SchemeWordOptional => ("scheme-word-optional", "reach", "`Authorization` is read by stripping every leading `Bearer `: a bare credential, or one after the scheme word twice, authenticates"),
    AccessTokenStripsBearer => ("access-token-strips-bearer", "reach", "the access-token header goes through the same helper as `Authorization`: `Bearer <secret>` there authenticates"),
    CredentialWhitespaceRemoved => ("credential-whitespace-removed", "reach", "credentials have every whitespace character removed before they are looked up: a credential with a space inside authenticates"),
    DeleteByName => ("delete-by-name", "reach", "DELETE removes every token of the caller that has the named token's name (`deleteMany({ name })`)"),
    ListRowPerPrivilege => ("list-row-per-privilege", "reach", "the list joins tokens with their privileges without grouping: a token is listed once per privilege"),
    ChallengeBasic => ("challenge-basic", "reach", "401 answers carry `WWW-Authenticate: Basic realm=\"api\"`, a challenge for a scheme the spec does not define"),
}

impl Fault {
    /// The fault with this name.
    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::ALL.iter().copied().find(|f| f.name() == name)
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Fault {
    type Err = crate::ServerError;

    fn from_str(s: &str) -> Result<Fault, Self::Err> {
        Fault::from_name(s).ok_or_else(|| crate::ServerError::UnknownFault(s.to_owned()))
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
            assert!(
                [
                    "lifecycle",
                    "validation",
                    "auth",
                    "schema",
                    "boundary",
                    "model",
                    "semantics",
                    "reach"
                ]
                .contains(&f.area())
            );
        }
        assert!(Fault::ALL.len() >= 15);
        assert_eq!(Fault::from_name("nope"), None);
    }
}
