//! Snapshot gate: each scenario's exchanges, normalized, compared with an approved baseline
//! kept as insta `.snap` files per target.
//!
//! Normalization is derived from the spec, not listed per field: in every JSON body, values
//! of `readOnly` properties become `[id]`, `format: date-time` values `[datetime]`, values of
//! `x-secret` properties `[token]` (a secret this run created) or `[masked-token]`, and the run
//! prefix of token names `[name]`. Keys are sorted; lists keep only this run's tokens (a shared
//! staging account may hold others). Secrets never reach a snapshot: the redactor runs last.
//!
//! What the spec leaves to the server is normalized too, so that a baseline holds across runs
//! of one correct server: a property an object schema does not list keeps its name but its
//! value becomes `[undocumented]` (a request id or a time of answer changes on every request),
//! and the items of a response's arrays are sorted (the spec states no order for any of them).
//! A documented field that changes still changes the snapshot.
//!
//! insta owns the files and their update rules (`INSTA_UPDATE`, `CI`, `.snap.new` files for
//! `cargo insta review`); we capture its comparison to show a diff in our own report.

pub mod baseline;

use crate::checks::Failure;
use crate::exchange::RawExchange;
use crate::redact::Redactor;
use abp_spec::Operation;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// Strings longer than this are replaced by their length: bodies stay readable and stable.
const LONG_STRING: usize = 256;

pub struct Normalizer<'a> {
    pub contract: &'a crate::api::Contract,
    pub prefix: &'a str,
    pub redactor: &'a Redactor,
}

impl Normalizer<'_> {
    /// One exchange as it appears in a snapshot.
    pub fn exchange(&self, op: &Operation, raw: &RawExchange, base_url: &str) -> Value {
        let path = raw.url.strip_prefix(base_url).unwrap_or(&raw.url);
        let mut request = Map::new();
        request.insert("method".into(), json!(raw.method));
        request.insert("path".into(), json!(self.path(op, path)));
        if let Some(body) = raw.request_body.as_deref().filter(|b| !b.is_empty()) {
            let schema = op
                .body
                .as_ref()
                .map(|b| b.schema.clone())
                .unwrap_or(Value::Null);
            request.insert("body".into(), self.body(body, &schema, false));
        }
        let mut out = Map::new();
        out.insert("request".into(), Value::Object(request));
        match &raw.response {
            Ok(r) => {
                let mut response = Map::new();
                response.insert("status".into(), json!(r.status));
                if let Some(ct) = r.header("content-type") {
                    response.insert("content_type".into(), json!(self.redactor.scrub(ct)));
                }
                if !r.body.is_empty() {
                    let schema = op
                        .response(r.status)
                        .and_then(|d| {
                            let media = r.media_type()?;
                            d.content
                                .iter()
                                .find(|(ct, _)| ct.eq_ignore_ascii_case(&media))
                                .and_then(|(_, s)| s.clone())
                        })
                        .unwrap_or(Value::Null);
                    response.insert("body".into(), self.body(&r.body, &schema, true));
                }
                out.insert("response".into(), Value::Object(response));
            }
            Err(_) => {
                out.insert("response".into(), json!("no response"));
            }
        }
        Value::Object(out)
    }

    /// Path parameters that satisfy their schema become `[id]`; others stay as sent (they
    /// are deterministic: the validation suite derives them from the spec's example).
    fn path(&self, op: &Operation, path: &str) -> String {
        let template: Vec<&str> = op.path.split('/').collect();
        let actual: Vec<&str> = path.split('/').collect();
        if template.len() != actual.len() {
            return self.text(path);
        }
        let mut out = Vec::new();
        for (t, a) in template.iter().zip(&actual) {
            let param = t
                .strip_prefix('{')
                .and_then(|t| t.strip_suffix('}'))
                .and_then(|name| op.params.iter().find(|p| p.name == name));
            match param {
                Some(p)
                    if self
                        .contract
                        .validator(&p.pointer)
                        .is_some_and(|v| v.is_valid(&json!(a))) =>
                {
                    out.push("[id]".to_owned())
                }
                _ => out.push(self.text(a)),
            }
        }
        out.join("/")
    }

    /// `answer`: a response body, whose arrays are sorted and undocumented values hidden.
    fn body(&self, bytes: &[u8], schema: &Value, answer: bool) -> Value {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => self.value(&v, schema, answer),
            Err(_) if bytes.len() <= LONG_STRING => {
                json!(self.text(&String::from_utf8_lossy(bytes)))
            }
            Err(_) => json!(format!("<{} bytes>", bytes.len())),
        }
    }

    fn text(&self, s: &str) -> String {
        self.redactor.apply(&s.replace(self.prefix, "[name]"))
    }

    fn value(&self, value: &Value, schema: &Value, answer: bool) -> Value {
        let s = self.contract.schema_facts(schema);
        match value {
            Value::String(text) => {
                if s.read_only {
                    json!("[id]")
                } else if s.date_time {
                    if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
                        json!("[datetime]")
                    } else {
                        json!(format!("[not-a-datetime: {text}]"))
                    }
                } else if s.secret {
                    if self.redactor.find_in(text).is_some() {
                        json!("[token]")
                    } else {
                        json!("[masked-token]")
                    }
                } else if text.chars().count() > LONG_STRING {
                    json!(format!("<string of {} characters>", text.chars().count()))
                } else {
                    json!(self.text(text))
                }
            }
            Value::Object(map) => {
                let props = s.properties.as_ref();
                let out: Map<String, Value> = map
                    .iter()
                    .map(|(k, v)| match props.and_then(|p| p.get(k)) {
                        Some(sub) => (k.clone(), self.value(v, sub, answer)),
                        // A property the schema does not list: the spec says nothing of its
                        // value, which may change on every answer.
                        None if answer && props.is_some() => (k.clone(), json!("[undocumented]")),
                        None => (k.clone(), self.value(v, &Value::Null, answer)),
                    })
                    .collect();
                Value::Object(out)
            }
            Value::Array(items) => {
                let item_schema = s.items.clone().unwrap_or(Value::Null);
                let mut out: Vec<Value> = items
                    .iter()
                    .filter(|item| self.ours(item))
                    .map(|item| self.value(item, &item_schema, answer))
                    .collect();
                if answer {
                    // The spec states no order: newest first or shuffled is as right.
                    out.sort_by_cached_key(Value::to_string);
                }
                Value::Array(out)
            }
            other => other.clone(),
        }
    }

    /// Objects with a name (the token's name field) are tokens: keep this run's only.
    /// Anything else is kept.
    fn ours(&self, item: &Value) -> bool {
        match self.contract.fields.name_of(item) {
            Some(name) => name.starts_with(self.prefix),
            None => true,
        }
    }
}

pub use crate::config::Writes;

pub use crate::config::is_ci;

/// The file a scenario's snapshot lives in.
pub fn file_name(scenario: &str) -> String {
    format!("{}.snap", scenario.replace('/', "__"))
}

/// How a scenario's exchanges compared with its baseline.
#[derive(Debug)]
pub enum Compared {
    Matched,
    /// Written as the approved baseline (`--update-snapshots`); `new`: there was none.
    Recorded {
        new: bool,
    },
    Differs(Failure),
    /// There is no approved baseline; outside CI the exchanges were written as `.snap.new`.
    Missing(Failure),
}

/// What the snapshot gate decided for one scenario.
#[derive(Debug)]
pub enum Gate {
    /// The exchanges match the baseline, or were recorded as it.
    Passed,
    /// Recorded as the approved baseline; `new`: there was none.
    Recorded {
        new: bool,
    },
    Failed(Failure),
    /// First contact with a target outside CI: nothing to compare with yet. The exchanges are
    /// pending for review and the verdict rests on the spec checks.
    NoBaseline,
}

/// How the run asked for snapshots to be treated.
#[derive(Debug, Clone, Copy)]
pub struct GatePolicy {
    /// `--update-snapshots`: record what the server answered as the baseline.
    pub update: bool,
    /// `--force`: record even a scenario whose spec checks failed.
    pub force: bool,
    /// What a mismatch writes.
    pub writes: Writes,
}

/// The snapshot gate: a scenario's normalized exchanges against its approved baseline.
/// A recording approves what the server answered, so a scenario whose spec checks failed is
/// never recorded unless forced; a missing baseline fails only under CI or when recording.
pub fn gate(
    dir: &Path,
    scenario: &str,
    summary: &str,
    document: &Value,
    spec_checks_failed: bool,
    policy: GatePolicy,
) -> Gate {
    if policy.update && spec_checks_failed && !policy.force {
        return Gate::Failed(Failure::new(
            "not recorded: this scenario's spec checks failed, and a failing answer is not approved as a baseline (--force records it anyway)",
        ));
    }
    match check(dir, scenario, summary, document, policy.writes) {
        Compared::Matched => Gate::Passed,
        Compared::Recorded { new } => Gate::Recorded { new },
        Compared::Differs(f) => Gate::Failed(f),
        Compared::Missing(_) if !is_ci() && policy.writes != Writes::Record => Gate::NoBaseline,
        Compared::Missing(f) => Gate::Failed(f),
    }
}

/// The header insta writes above a snapshot, so `cargo insta review` reads our files.
#[derive(serde::Serialize)]
struct Header<'a> {
    source: &'a str,
    description: &'a str,
}

/// A document as insta's YAML snapshot contents (maps sorted, insta's own formatting), so the
/// committed files, `cargo insta review` and this gate agree byte for byte.
fn contents(document: &Value) -> insta::internals::SnapshotContents {
    let mut settings = insta::Settings::new();
    settings.set_sort_maps(true);
    let body = settings.bind(|| {
        insta::_macro_support::serialize_value(
            document,
            insta::_macro_support::SerializationFormat::Yaml,
        )
    });
    insta::internals::TextSnapshotContents::new(body, insta::TextSnapshotKind::File).into()
}

/// The file insta would write: its header, then the contents.
fn file_text(summary: &str, contents: &insta::internals::SnapshotContents) -> String {
    let header = insta::_macro_support::serialize_value(
        &Header {
            source: "conformance/src/snapshot.rs",
            description: summary,
        },
        insta::_macro_support::SerializationFormat::Yaml,
    );
    let body = contents
        .as_text()
        .map(ToString::to_string)
        .unwrap_or_default();
    format!("---\n{}\n---\n{body}\n", header.trim_end())
}

/// Compares the scenario's document with `<dir>/<scenario>.snap`, reading and writing the
/// files directly (insta's format, without its assertion machinery or its environment).
pub fn check(
    dir: &Path,
    scenario: &str,
    summary: &str,
    document: &Value,
    writes: Writes,
) -> Compared {
    let path = dir.join(file_name(scenario));
    let pending = path.with_extension("snap.new");
    let ours = contents(document);
    let approved = insta::Snapshot::from_file(&path).ok();
    let text = |c: &insta::internals::SnapshotContents| {
        c.as_text().map(ToString::to_string).unwrap_or_default()
    };
    if let Some(approved) = &approved
        && approved.contents() == &ours
    {
        // A `.snap.new` left by an earlier mismatch is stale once the answers match again;
        // a run that writes nothing (CI) leaves the directory as it found it.
        if writes != Writes::Nothing {
            let _ = std::fs::remove_file(&pending);
        }
        return Compared::Matched;
    }
    let write = |to: &Path| {
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(to, file_text(summary, &ours)))
            .map_err(|e| format!("; cannot write {}: {e}", to.display()))
    };
    let written = match writes {
        Writes::Record => match write(&path) {
            Ok(()) => {
                let _ = std::fs::remove_file(&pending);
                return Compared::Recorded {
                    new: approved.is_none(),
                };
            }
            Err(e) => e,
        },
        Writes::Pending => write(&pending).err().unwrap_or_default(),
        Writes::Nothing => String::new(),
    };
    match approved {
        Some(approved) => {
            let diff = similar::TextDiff::from_lines(text(approved.contents()), text(&ours))
                .unified_diff()
                .context_radius(2)
                .header("approved", "this run")
                .to_string();
            let changed = diff
                .lines()
                .filter(|l| {
                    (l.starts_with('+') && !l.starts_with("+++"))
                        || (l.starts_with('-') && !l.starts_with("---"))
                })
                .count();
            Compared::Differs(
                Failure::new(format!(
                    "the exchanges differ from the approved snapshot ({changed} lines; {}{written})\n{diff}",
                    writes.describe()
                ))
                .expected(format!("the approved snapshot {}", path.display()))
                .actual(first_changed_line(&diff)),
            )
        }
        None => Compared::Missing(
            Failure::new(format!(
                "no approved snapshot; record one with `conformance run --update-snapshots` ({}{written})",
                writes.describe(),
            ))
            .expected(format!("an approved snapshot {}", path.display()))
            .actual("none"),
        ),
    }
}

fn first_changed_line(diff: &str) -> String {
    diff.lines()
        .find(|l| l.starts_with('+') && !l.starts_with("+++"))
        .map(|l| l[1..].trim().to_owned())
        .unwrap_or_else(|| "a different document".into())
}

/// Deletes approved snapshots of scenarios that no longer exist (after a full recording), so
/// a renamed or removed scenario does not leave a baseline nobody checks. Returns what went.
pub fn prune(dir: &Path, scenarios: &[String]) -> std::io::Result<Vec<PathBuf>> {
    let keep: std::collections::BTreeSet<String> = scenarios.iter().map(|s| file_name(s)).collect();
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".snap") && !keep.contains(&name) {
            std::fs::remove_file(&path)?;
            removed.push(path);
        }
    }
    removed.sort();
    Ok(removed)
}

/// Where snapshots live by default, found from the current directory (never from a path
/// compiled into the binary): `conformance/snapshots` of the enclosing git work tree, else
/// `conformance/snapshots` under the current directory.
pub fn default_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let work_tree = cwd.ancestors().find(|d| d.join(".git").exists());
    work_tree
        .unwrap_or(&cwd)
        .join("conformance")
        .join("snapshots")
}

/// The baseline directory name of a target given by URL: host, port and path stem, so two
/// servers on one host (other ports, other stems) never share a baseline.
pub fn url_target_name(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let mut name = u.host_str().unwrap_or("remote").to_owned();
            if let Some(port) = u.port_or_known_default() {
                name.push_str(&format!("_{port}"));
            }
            let stem = u.path().trim_matches('/');
            if !stem.is_empty() {
                name.push('_');
                name.push_str(stem);
            }
            target_dir_name(&name)
        }
        Err(_) => target_dir_name(url),
    }
}

/// A target name safe as a directory name.
pub fn target_dir_name(target: &str) -> String {
    target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recording leaves no `.snap.new` beside what it approved, a run that matches again
    /// removes its stale one, and a run that writes nothing touches nothing.
    #[test]
    fn pending_files_are_written_retired_and_left_alone_as_the_mode_says() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (json!([{"status": 200}]), json!([{"status": 201}]));
        let pending = dir.path().join("s__x.snap.new");
        assert!(matches!(
            check(dir.path(), "s/x", "d", &a, Writes::Record),
            Compared::Recorded { new: true }
        ));
        assert!(matches!(
            check(dir.path(), "s/x", "d", &b, Writes::Pending),
            Compared::Differs(_)
        ));
        assert!(pending.exists(), "a mismatch outside CI is kept for review");
        assert!(matches!(
            check(dir.path(), "s/x", "d", &a, Writes::Nothing),
            Compared::Matched
        ));
        assert!(
            pending.exists(),
            "a run that writes nothing deletes nothing"
        );
        assert!(matches!(
            check(dir.path(), "s/x", "d", &a, Writes::Pending),
            Compared::Matched
        ));
        assert!(
            !pending.exists(),
            "matching again retires the stale pending file"
        );
        check(dir.path(), "s/x", "d", &b, Writes::Pending);
        assert!(matches!(
            check(dir.path(), "s/x", "d", &b, Writes::Record),
            Compared::Recorded { new: false }
        ));
        assert!(
            !pending.exists(),
            "a recording leaves no pending file beside it"
        );
    }
}
