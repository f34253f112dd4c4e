//! Tree hygiene: no API fact is typed into the server's or the runner's source.
//!
//! The spec is the only place an API fact is written (ARCHITECTURE.md). This test collects the
//! facts from the spec (the servers' URLs and base path, operation paths and ids, parameter
//! names, security scheme names and header names, lifetime names, the body limit) and fails if
//! any of them appears in a string or number literal of `reference-server/src` or
//! `conformance/src` outside unit tests. Comments may mention them. The names of the token's
//! and the create body's properties are facts too: a literal that is exactly one of them
//! (`"_id"`, `"name"`) is a finding, since the roles come from `abp_spec::TokenFields`.

use abp_spec::Spec;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Literals that contain a fact but are not one, as (file, literal). Keep this short and say
/// why for each.
const ALLOWED: &[(&str, &str)] = &[
    // The SQLite store's column names, not the API's.
    ("src/store.rs", "name"),
    ("src/store.rs", "privileges"),
    // The serialized token (`answers.rs`): the server's JSON shape, written once. A renamed
    // property of the spec makes every run against the embedded server fail
    // `response_schema`, naming the property.
    ("src/answers.rs", "_id"),
    ("src/answers.rs", "userId"),
    ("src/answers.rs", "organizationId"),
    ("src/answers.rs", "expiresOn"),
    ("src/answers.rs", "createdAt"),
    ("src/answers.rs", "updatedAt"),
];

/// Everything the spec states that a server must not retype.
fn facts() -> Vec<String> {
    let spec = Spec::embedded();
    let mut facts = Vec::new();
    for server in spec.servers() {
        facts.push(server.url.clone());
        if let Some(path) = server
            .url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
        {
            facts.push(path);
        }
    }
    for op in spec.operations() {
        facts.push(op.path.clone());
        facts.push(op.id.clone());
        for p in &op.params {
            facts.push(p.name.clone());
        }
    }
    let schemes = spec
        .lookup("#/components/securitySchemes")
        .and_then(Value::as_object)
        .expect("the spec has security schemes");
    for (key, scheme) in schemes {
        facts.push(key.clone());
        if let Some(name) = scheme.get("name").and_then(Value::as_str) {
            facts.push(name.to_owned());
        }
    }
    for lifetime in spec.lifetimes().unwrap() {
        facts.push(lifetime.name);
    }
    facts.sort();
    facts.dedup();
    facts
}

/// The property names of the token and of the create body: a literal equal to one is a name
/// typed by hand (a literal merely containing one, such as a message, is not).
fn property_facts() -> Vec<String> {
    let spec = Spec::embedded();
    let fields = spec
        .token_fields()
        .expect("the spec gives every role a field");
    let mut names = fields.properties.clone();
    names.extend([fields.name, fields.lifetime, fields.privileges]);
    names.sort();
    names.dedup();
    names
}

/// Numbers the spec states.
fn numeric_facts() -> Vec<u64> {
    Spec::embedded()
        .operations()
        .iter()
        .filter_map(|o| o.body.as_ref()?.max_bytes)
        .collect()
}

/// A literal found in source: its line and text.
#[derive(Debug)]
struct Literal {
    line: usize,
    text: String,
    number: bool,
}

/// The string and number literals of Rust source, comments skipped. Good enough for this
/// crate's code: handles escapes, raw strings, char literals and lifetimes.
fn literals(source: &str) -> Vec<Literal> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let count_lines =
        |from: usize, to: usize| chars[from..to].iter().filter(|c| **c == '\n').count();
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let start = i;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            line += count_lines(start, i.min(chars.len()));
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
        {
            // r"..." or r#"..."#
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                i += 1;
                continue;
            }
            let start = j + 1;
            let mut k = start;
            loop {
                if k >= chars.len() {
                    break;
                }
                if chars[k] == '"' && (0..hashes).all(|h| chars.get(k + 1 + h) == Some(&'#')) {
                    break;
                }
                k += 1;
            }
            out.push(Literal {
                line,
                text: chars[start..k.min(chars.len())].iter().collect(),
                number: false,
            });
            line += count_lines(i, k.min(chars.len()));
            i = k + 1 + hashes;
        } else if c == '"' {
            let start = i + 1;
            let mut k = start;
            while k < chars.len() && chars[k] != '"' {
                if chars[k] == '\\' {
                    k += 1;
                }
                k += 1;
            }
            out.push(Literal {
                line,
                text: chars[start..k.min(chars.len())].iter().collect(),
                number: false,
            });
            line += count_lines(i, k.min(chars.len()));
            i = k + 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\'') or a lifetime ('a).
            if next == Some('\\') {
                let mut k = i + 2;
                while k < chars.len() && chars[k] != '\'' {
                    k += 1;
                }
                i = k + 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
        {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Literal {
                line,
                text: chars[start..i].iter().collect(),
                number: true,
            });
        } else {
            i += 1;
        }
    }
    out
}

/// The source without its unit tests (by convention the `#[cfg(test)]` module at the end).
fn without_tests(source: &str) -> &str {
    // A test-only module file (`#![cfg(test)]`) is all tests.
    if source.contains("#![cfg(test)]") {
        return "";
    }
    source
        .find("#[cfg(test)]")
        .map_or(source, |at| &source[..at])
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every literal of `source` that states a fact, as `line: literal (fact)`.
fn findings(source: &str, facts: &[String], numbers: &[u64]) -> Vec<(String, String)> {
    findings_with(source, facts, &[], numbers)
}

fn findings_with(
    source: &str,
    facts: &[String],
    properties: &[String],
    numbers: &[u64],
) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for lit in literals(without_tests(source)) {
        if !lit.number && properties.contains(&lit.text) {
            found.push((
                lit.text.clone(),
                format!("{}: {:?} (a property name)", lit.line, lit.text),
            ));
            continue;
        }
        if lit.number {
            let value: String = lit.text.chars().filter(|c| c.is_ascii_digit()).collect();
            if let Some(n) = numbers.iter().find(|n| n.to_string() == value) {
                found.push((
                    lit.text.clone(),
                    format!("{}: {} ({n})", lit.line, lit.text),
                ));
            }
        } else {
            let lower = lit.text.to_ascii_lowercase();
            if let Some(f) = facts
                .iter()
                .find(|f| lower.contains(&f.to_ascii_lowercase()))
            {
                found.push((
                    lit.text.clone(),
                    format!("{}: {:?} ({f})", lit.line, lit.text),
                ));
            }
        }
    }
    found
}

/// Findings in the Rust sources under `dir` (relative to this crate), minus `allowed`.
fn problems_under(dir: &str, allowed: &[(&str, &str)]) -> Vec<String> {
    let facts = facts();
    let properties = property_facts();
    let numbers = numeric_facts();
    assert!(facts.len() >= 10 && !numbers.is_empty(), "{facts:?}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join(dir), &mut files);
    assert!(!files.is_empty(), "no sources under {dir}");
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let source = std::fs::read_to_string(file).unwrap();
        // A generated file restates what it is generated from (the embedded baseline's file
        // names, conformance/src/snapshot/baseline/compiled.rs), not a fact typed by hand.
        if source.starts_with("//! @generated") {
            continue;
        }
        for (literal, finding) in findings_with(&source, &facts, &properties, &numbers) {
            if !allowed.iter().any(|(f, l)| *f == rel && *l == literal) {
                problems.push(format!("{rel}:{finding}"));
            }
        }
    }
    problems
}

#[test]
fn no_api_fact_is_a_literal_in_the_server_source() {
    let problems = problems_under("src", ALLOWED);
    assert!(
        problems.is_empty(),
        "API facts typed into the source; read them from the spec (contract.rs) instead:\n{}",
        problems.join("\n")
    );
}

/// The runner's exceptions, as (file, literal), each with its reason.
/// JSON pointers name a place in the spec rather than restate a fact, and xtask's tidy test
/// proves each resolves; these contain a security scheme's name only as part of a schema's.
const RUNNER_ALLOWED: &[(&str, &str)] = &[
    // The security scheme object's `name` keyword (OpenAPI), not the token's property.
    ("../conformance/src/api.rs", "name"),
    ("../conformance/src/suites/schemes.rs", "name"),
];

#[test]
fn no_api_fact_is_a_literal_in_the_runner_source() {
    let problems = problems_under("../conformance/src", RUNNER_ALLOWED);
    assert!(
        problems.is_empty(),
        "API facts typed into the runner; read them from the spec (conformance/src/api.rs) instead:\n{}",
        problems.join("\n")
    );
}

/// A property name typed as a literal is found; a message that mentions it is not.
#[test]
fn the_scanner_sees_a_property_name_typed_by_hand() {
    let source = r#"fn f(v: &Value) -> Option<&Value> { let _ = "no _id here"; v.get("_id") }"#;
    let found: Vec<_> = findings_with(source, &[], &["_id".to_owned()], &[])
        .into_iter()
        .map(|(_, f)| f)
        .collect();
    assert_eq!(found, ["1: \"_id\" (a property name)"]);
    assert!(property_facts().contains(&"expiresOn".to_owned()));
}

/// The scanner finds what it must, so the test above can fail.
#[test]
fn the_scanner_sees_literals_and_skips_comments_and_tests() {
    let facts = vec!["/me/tokens".to_owned(), "x-access-token".to_owned()];
    let source = r##"
// "/me/tokens" in a comment is fine
/* and "x-access-token" in a block comment */
fn a<'a>(x: &'a str) -> char { let _ = r#"GET /me/tokens/{id}"#; '"' }
const H: &str = "X-Access-Token";
const N: usize = 65_536;
#[cfg(test)]
mod tests { const T: &str = "/me/tokens"; }
"##;
    let found: Vec<_> = findings(source, &facts, &[65536])
        .into_iter()
        .map(|(_, f)| f)
        .collect();
    assert_eq!(
        found,
        [
            "4: \"GET /me/tokens/{id}\" (/me/tokens)",
            "5: \"X-Access-Token\" (x-access-token)",
            "6: 65_536 (65536)",
        ]
    );
}
