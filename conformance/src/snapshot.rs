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
use std::sync::{Arc, Mutex};

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

/// How insta treats a mismatch; decided once per process from `INSTA_UPDATE` and `CI`.
pub fn describe_update_mode() -> &'static str {
    match std::env::var("INSTA_UPDATE").as_deref() {
        Ok("always") | Ok("1") | Ok("force") => "new and changed snapshots are accepted",
        Ok("no") => "nothing is written; a missing or changed snapshot fails",
        _ if is_ci() => "CI: nothing is written; a missing or changed snapshot fails",
        _ => "changes are written as .snap.new files for `cargo insta review`",
    }
}

/// insta's own rule for "running in CI".
pub fn is_ci() -> bool {
    match std::env::var("CI").as_deref() {
        Ok("false") | Ok("0") | Ok("") => false,
        Ok(_) => true,
        Err(_) => std::env::var_os("TF_BUILD").is_some(),
    }
}

/// Captures what insta compared, so our report can show the diff.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Option<(String, String)>>>);

impl insta::Comparator for Capture {
    fn matches(&self, reference: &insta::Snapshot, test: &insta::Snapshot) -> bool {
        let text = |s: &insta::Snapshot| {
            s.contents()
                .as_text()
                .map(|t| t.to_string())
                .unwrap_or_default()
        };
        let equal = insta::DefaultComparator.matches(reference, test);
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((text(reference), text(test)));
        equal
    }

    fn dyn_clone(&self) -> Box<dyn insta::Comparator> {
        Box::new(self.clone())
    }
}

/// Serializes snapshot assertions: the panic hook is swapped while insta may panic.
static ASSERT_LOCK: Mutex<()> = Mutex::new(());

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
    match check(dir, scenario, summary, document) {
        Compared::Matched => Gate::Passed,
        Compared::Recorded { new } => Gate::Recorded { new },
        Compared::Differs(f) => Gate::Failed(f),
        Compared::Missing(_) if !is_ci() && !policy.update => Gate::NoBaseline,
        Compared::Missing(f) => Gate::Failed(f),
    }
}

/// Compares the scenario's document with `<dir>/<scenario>.snap`.
pub fn check(dir: &Path, scenario: &str, summary: &str, document: &Value) -> Compared {
    let name = scenario.replace('/', "__");
    // insta resolves a relative path against the asserting source file; never give it one.
    let dir = &std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    let capture = Capture::default();
    let mut settings = insta::Settings::new();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_sort_maps(true);
    settings.set_omit_expression(true);
    settings.set_description(summary);
    settings.set_comparator(Box::new(capture.clone()));

    let path = dir.join(file_name(scenario));
    let outcome = {
        let _guard = ASSERT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let before = std::fs::read(&path).ok();
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_yaml_snapshot!(name.as_str(), document));
        }));
        std::panic::set_hook(hook);
        let after = std::fs::read(&path).ok();
        outcome.map(|()| match (before, after) {
            (None, Some(_)) => Compared::Recorded { new: true },
            (Some(a), Some(b)) if a != b => Compared::Recorded { new: false },
            _ => Compared::Matched,
        })
    };
    let compared = capture.0.lock().unwrap_or_else(|p| p.into_inner()).take();
    match (outcome, compared) {
        (Ok(result), _) => result,
        (Err(_), Some((old, new))) => {
            let diff = similar::TextDiff::from_lines(&old, &new)
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
                    "the exchanges differ from the approved snapshot ({changed} lines; {})\n{diff}",
                    describe_update_mode()
                ))
                .expected(format!("the approved snapshot {}", path.display()))
                .actual(first_changed_line(&diff)),
            )
        }
        (Err(panic), None) => Compared::Missing(
            Failure::new(format!(
                "no approved snapshot; record one with `conformance run --update-snapshots` ({}){}",
                describe_update_mode(),
                // A panic other than insta's "assertion failed" (an error writing the file,
                // say) is said, so that a recording that failed is not a mystery.
                match panic_text(&panic) {
                    Some(why) if !why.starts_with("snapshot assertion for") => {
                        format!("; insta: {why}")
                    }
                    _ => String::new(),
                }
            ))
            .expected(format!("an approved snapshot {}", path.display()))
            .actual("none"),
        ),
    }
}

/// The message of a caught panic, if it is text.
fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> Option<String> {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
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
