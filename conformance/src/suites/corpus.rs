//! Special strings at every string position of the create body: the name (after the
//! scenario's prefix, so the sweep still finds the token) and the privileges' items. Each is
//! a valid string for the schema, so the prediction is the decision "what is stored is what
//! was sent" (TRANSCRIPTION.md): accepted, echoed and listed exactly as sent (checks
//! `create_echoes_request` and `stored_as_sent`).
//!
//! Two sources:
//! - classes of strings that a server's language or store gives meaning to, each a bug a real
//!   stack has: C strings cut at NUL, control and invisible characters stripped, line breaks
//!   rewritten, case mappings that change length, template and format directives, object keys
//!   JavaScript objects inherit (`constructor` in a de-duplicating `{}`), list delimiters (an
//!   ORM's comma-joined `simple-array`), keyword look-alikes coerced to `null` or numbers,
//!   query operators, an item longer than a `varchar(255)`;
//! - the Big List of Naughty Strings (crate `naughty-strings` 0.2.4, BLNS by Max Woolf), every
//!   string, as privilege items packed into a few creates.

use super::stored::{BodyFacts, Case, Name, body_facts};
use super::{Kind, Scenario, Suite};
use crate::api::Contract;
use crate::error::RunError;

/// Name suffixes (after the scenario's prefix and a dash), by class.
const NAME_CLASSES: &[(&str, &str, &str)] = &[
    (
        "control-characters",
        "NUL, other C0 controls, ESC and DEL",
        "a\u{0}b\u{1}c\u{8}d\u{1b}[0me\u{7f}f",
    ),
    (
        "line-breaks",
        "CR LF, a lone CR, NEL, and the Unicode line and paragraph separators",
        "a\r\nb\rc\u{85}d\u{2028}e\u{2029}f",
    ),
    (
        "invisible-characters",
        "a byte-order mark, zero-width space and joiner, right-to-left override, isolates and a soft hyphen",
        "\u{feff}a\u{200b}b\u{200d}c\u{202e}d\u{2066}e\u{2069}\u{ad}f",
    ),
    (
        "case-mappings",
        "characters whose case mapping changes their length or meaning (İ ı ß ẞ σ ς ǅ ﬁ)",
        "\u{130}\u{131}\u{df}\u{1e9e}\u{3c3}\u{3c2}\u{1c5}\u{fb01}",
    ),
    (
        "template-directives",
        "template, interpolation and printf directives",
        "${7*7}{{7*7}}#{7*7}<%=7*7%>%s%n%x{0}",
    ),
    (
        "path-and-url-characters",
        "dot segments, backslashes, percent-escapes and URL delimiters",
        "../..\\%2e%2e%2f%00?#&=+@:",
    ),
];

/// Privilege items, by class.
const ITEM_CLASSES: &[(&str, &str, &[&str])] = &[
    (
        "object-keys",
        "names JavaScript objects inherit or treat specially",
        &[
            "__proto__",
            "constructor",
            "prototype",
            "toString",
            "valueOf",
            "hasOwnProperty",
            "isPrototypeOf",
            "__defineGetter__",
        ],
    ),
    (
        "list-delimiters",
        "items holding commas, semicolons, pipes, spaces, tabs and newlines, a lone comma, an empty and a blank item",
        &["a,b", "a;b", "a|b", "a b", "a\tb", "a\nb", ",", "", " "],
    ),
    (
        "keyword-look-alikes",
        "strings that look like null, booleans, numbers, and empty JSON containers",
        &[
            "null",
            "undefined",
            "true",
            "false",
            "NaN",
            "Infinity",
            "-0",
            "0",
            "007",
            "1e3",
            "0x1A",
            "[]",
            "{}",
            "None",
            "nil",
        ],
    ),
    (
        "control-characters",
        "NUL alone and inside an item, an ANSI escape, DEL, CR LF",
        &["\u{0}", "a\u{0}b", "\u{1b}[31m", "\u{7f}", "\r\n"],
    ),
    (
        "query-operators",
        "MongoDB operators, SQL quoting, LIKE and glob wildcards, a regex",
        &[
            "$gt",
            "$where",
            "$ne",
            "{\"$gt\":\"\"}",
            "' OR '1'='1",
            "%",
            "_",
            "\\",
            "*",
            "?",
            ".*",
        ],
    ),
];

/// The length of the long item: past a `varchar(255)`, far under the body limit.
const LONG_ITEM: usize = 1000;

/// How many bytes of BLNS strings go into one create (far under any body limit, so a body
/// limit is never what refuses it).
const BLNS_CHUNK_BYTES: usize = 12 * 1024;

/// The BLNS strings in creates of at most [`BLNS_CHUNK_BYTES`] of JSON each, in list order.
fn blns_chunks() -> Vec<Vec<String>> {
    let mut chunks: Vec<Vec<String>> = Vec::new();
    let mut size = 0;
    for s in naughty_strings::BLNS {
        let bytes = serde_json::to_string(s).map_or(s.len(), |j| j.len()) + 1;
        if chunks.is_empty() || size + bytes > BLNS_CHUNK_BYTES {
            chunks.push(Vec::new());
            size = 0;
        }
        size += bytes;
        if let Some(last) = chunks.last_mut() {
            last.push((*s).to_owned());
        }
    }
    chunks
}

pub fn scenarios(api: &Contract) -> Result<Vec<Scenario>, RunError> {
    let Some(f) = body_facts(api) else {
        return Ok(Vec::new());
    };
    Ok(cases(&f)
        .into_iter()
        .map(|(label, summary, case)| Scenario {
            name: format!("validation/{label}"),
            suite: Suite::Validation,
            summary,
            needs: vec![],
            kind: Kind::Stored(case),
        })
        .collect())
}

fn cases(f: &BodyFacts) -> Vec<(String, String, Case)> {
    let name = &f.name_field;
    let name_decision = format!("{}/description", f.name_pointer);
    let mut out = Vec::new();
    for (label, what, suffix) in NAME_CLASSES {
        // The prefix must survive whatever the server does to the rest; a suffix that would
        // push the name past maxLength is cut (by characters).
        let suffix: String = format!("-{suffix}")
            .chars()
            .take(f.name_max.map_or(usize::MAX, |m| m.saturating_sub(48)))
            .collect();
        out.push((
            format!("stores-{name}-with-{label}"),
            format!("create with `{name}` holding {what}: listed exactly as sent"),
            Case {
                name: Name::Suffix(suffix),
                privileges: None,
                content_type: None,
                valid: true,
                pointer: name_decision.clone(),
            },
        ));
    }
    let Some(privileges) = &f.privileges_field else {
        return out;
    };
    let decision = format!("{}/description", f.privileges_pointer);
    let with = |items: Vec<String>| Case {
        name: Name::Suffix(String::new()),
        privileges: Some(items),
        content_type: None,
        valid: true,
        pointer: decision.clone(),
    };
    for (label, what, items) in ITEM_CLASSES {
        out.push((
            format!("stores-{privileges}-with-{label}"),
            format!("create with `{privileges}` items of {what}: listed exactly as sent, in order"),
            with(items.iter().map(|s| (*s).to_owned()).collect()),
        ));
    }
    out.push((
        format!("stores-{privileges}-item-of-{LONG_ITEM}-characters"),
        format!(
            "create with a `{privileges}` item of {LONG_ITEM} characters (the items have no maxLength; a varchar(255) would cut it): listed exactly as sent"
        ),
        with(vec![format!("scope:{}", "x".repeat(LONG_ITEM - 6))]),
    ));
    let chunks = blns_chunks();
    let total = chunks.len();
    for (i, chunk) in chunks.into_iter().enumerate() {
        out.push((
            format!("stores-{privileges}-from-blns-{}-of-{total}", i + 1),
            format!(
                "create with {} strings of the Big List of Naughty Strings as `{privileges}` items (part {} of {total}): listed exactly as sent, in order",
                chunk.len(),
                i + 1
            ),
            with(chunk),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_blns_string_is_sent_once_in_bodies_under_the_chunk_size() {
        let chunks = blns_chunks();
        let sent: usize = chunks.iter().map(Vec::len).sum();
        assert_eq!(sent, naughty_strings::BLNS.len());
        assert!(chunks.len() > 1 && chunks.len() < 10, "{}", chunks.len());
        for c in &chunks {
            assert!(serde_json::to_string(c).unwrap().len() <= BLNS_CHUNK_BYTES + 2);
        }
    }

    #[test]
    fn names_stay_under_max_length_with_the_longest_prefix() {
        let api = Contract::embedded();
        let f = body_facts(&api).unwrap();
        // `conformance-<16 hex>-<seq>-stored` is 39 characters.
        for (label, _, case) in cases(&f) {
            if let Name::Suffix(s) = &case.name {
                assert!(
                    39 + s.chars().count() <= f.name_max.unwrap(),
                    "{label}: {}",
                    s.chars().count()
                );
            }
        }
    }
}
