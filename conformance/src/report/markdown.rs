//! `--report markdown=PATH`: a GitHub-flavoured Markdown summary sized for a CI job summary
//! (`$GITHUB_STEP_SUMMARY` shows at most 1 MiB): the verdict line, counts, target and spec,
//! a table of failed checks (one-line message, decided-vs-documented basis, replay hint),
//! known failures, skipped scenarios, the coverage matrix, retries and rate limiting, and the
//! run's warnings.
//!
//! Whatever the run, the document stays under [`MAX_BYTES`]: every row is cut to a bounded
//! length, every table stops at a row count or at the byte budget with a "… N more" line,
//! and what a server said is escaped so it cannot break a table or inject HTML.

use super::Reporter;
use crate::events::{
    CheckRecord, CoverageEntry, Event, Gate, RunStats, RunVerdict, ScenarioResult, Verdict,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

mod sections;

/// The hard bound on the document's size, well under the 1 MiB GitHub accepts.
pub const MAX_BYTES: usize = 128 * 1024;
/// Rows a table shows before its "… N more" line.
const MAX_ROWS: usize = 50;
/// Replay lines shown under the failures table.
const MAX_REPLAYS: usize = 20;
/// Room kept for the sections after the failures (coverage, retries, warnings).
const TAIL_RESERVE: usize = 24 * 1024;

/// What the header shows, from `run_started`.
struct Header {
    target: String,
    base_url: String,
    spec: String,
    run_id: String,
    started_at: String,
}

/// One failed check, already rendered as a table row, with its replay line.
struct FailedRow {
    row: String,
    replay: Option<String>,
}

pub struct Markdown<W: Write> {
    out: Option<W>,
    header: Option<Header>,
    failed: Vec<FailedRow>,
    failed_total: usize,
    known: Vec<String>,
    known_total: usize,
    /// Why scenarios were skipped (or left without a verdict), and how many.
    not_judged: BTreeMap<String, usize>,
    /// Scenario verdicts as this report names them, counted.
    verdicts: BTreeMap<&'static str, usize>,
    /// Retried attempts by (reason, status): count and total wait.
    retries: BTreeMap<(String, String), (usize, u64)>,
    warnings: Vec<String>,
    warnings_total: usize,
    finished: Option<(RunStats, Vec<CoverageEntry>)>,
    /// Why the run ended before any scenario, and its exit code.
    aborted: Option<(String, u8)>,
    commands: super::Commands,
    /// The flags that select the scenario being reported again (from its start event).
    rerun: String,
}

impl<W: Write> Markdown<W> {
    pub fn new(out: W) -> Self {
        Markdown {
            out: Some(out),
            header: None,
            aborted: None,
            failed: Vec::new(),
            failed_total: 0,
            known: Vec::new(),
            known_total: 0,
            not_judged: BTreeMap::new(),
            verdicts: BTreeMap::new(),
            retries: BTreeMap::new(),
            warnings: Vec::new(),
            warnings_total: 0,
            finished: None,
            commands: Default::default(),
            rerun: String::new(),
        }
    }

    /// The command that reruns against this run's target; each row adds its scenario's flags.
    pub(super) fn rerun_prefix(&self) -> String {
        let mut words = vec!["conformance run".to_owned()];
        if let Some(h) = self.header.as_ref().filter(|h| h.target != "embedded") {
            words.push(format!("--base-url {}", shell_word(&h.base_url)));
            words.push(format!("--target-name {}", shell_word(&h.target)));
        }
        words.join(" ")
    }

    /// Counts a retried attempt under its reason and status, with the time it waited.
    fn retry(&mut self, status: Option<u16>, reason: &str, wait_ms: u64) {
        let status = status.map_or_else(|| "no response".to_owned(), |s| s.to_string());
        let key = (reason.to_owned(), status);
        // Reasons are the runner's words; the bound keeps a hostile target's variety from
        // growing the map.
        if self.retries.len() < 100 || self.retries.contains_key(&key) {
            let e = self.retries.entry(key).or_default();
            e.0 += 1;
            e.1 += wait_ms;
        }
    }

    /// Counts a notice or warning, and keeps its line while the list has room. The line is
    /// worded only then, so a run of thousands of warnings words [`MAX_ROWS`] of them.
    fn push_warning(&mut self, line: impl FnOnce(&super::Commands) -> String) {
        self.warnings_total += 1;
        if self.warnings.len() < MAX_ROWS {
            let line = line(&self.commands);
            self.warnings.push(line);
        }
    }

    /// Counts a scenario's verdict, and why it was not judged when it was not.
    fn count_verdict(&mut self, verdict: Verdict, reason: Option<&str>) {
        *self.verdicts.entry(verdict_label(verdict)).or_default() += 1;
        if !judged(verdict) {
            let why = reason.unwrap_or(verdict_label(verdict)).to_owned();
            if self.not_judged.len() < MAX_ROWS || self.not_judged.contains_key(&why) {
                *self.not_judged.entry(why).or_default() += 1;
            }
        }
    }

    /// A failure the known-failures file lists: a row of its own table, with the entry.
    fn known_failure(&mut self, scenario: &str, f: &CheckRecord, listed: &str) {
        self.known_total += 1;
        if self.known.len() < MAX_ROWS {
            self.known.push(format!(
                "| {} | {} | {} |\n",
                code(&cut(scenario, 120)),
                code(&cut(&f.check, 60)),
                text(listed, 300)
            ));
        }
    }

    /// A failed check: a row of the failures table (message, basis, rerun command) and
    /// its replay line.
    fn failed_check(&mut self, scenario: &str, result: &ScenarioResult, f: &CheckRecord) {
        self.failed_total += 1;
        if self.failed.len() >= MAX_ROWS {
            return;
        }
        let message = f.message.as_deref().unwrap_or("failed");
        let row = format!(
            "| {} | {} | {} | {} | {} |\n",
            code(&cut(scenario, 120)),
            code(&cut(&f.check, 60)),
            text(first_line(message), 200),
            basis(f),
            code(&cut(&self.rerun, 200))
        );
        let replay = result
            .exchange_of(f)
            .map(|x| cut(&x.curl, 2_600))
            .filter(|c| !c.is_empty());
        self.failed.push(FailedRow { row, replay });
    }

    /// The run's counts and coverage; what fails the gate beyond the scenarios goes first
    /// among the warnings.
    fn run_finished(&mut self, stats: RunStats, coverage: &[CoverageEntry], gates: &[Gate]) {
        self.finished = Some((stats, coverage.to_vec()));
        let lines: Vec<String> = gates
            .iter()
            .map(|g| text(&format!("fails the gate: {}", g.describe()), 400))
            .collect();
        self.warnings_total += lines.len();
        self.warnings.splice(0..0, lines);
    }

    /// The whole document, never longer than [`MAX_BYTES`].
    pub fn render(&self) -> String {
        let mut d = String::new();
        self.render_header(&mut d);
        self.render_failures(&mut d);
        self.render_known(&mut d);
        self.render_not_judged(&mut d);
        self.render_coverage(&mut d);
        self.render_traffic(&mut d);
        self.render_warnings(&mut d);
        if d.len() > MAX_BYTES {
            // Not reached with the bounds above; a last guard for the promise in the docs.
            let note = "\n\n… cut at the summary's size bound: see the HTML or JSON report\n";
            let mut cut = MAX_BYTES - note.len();
            while !d.is_char_boundary(cut) {
                cut -= 1;
            }
            d.truncate(cut);
            d.push_str(note);
        }
        d
    }
}

impl<W: Write> Reporter for Markdown<W> {
    fn set_commands(&mut self, commands: &super::Commands) {
        self.commands = commands.clone();
    }

    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                run_id,
                target,
                base_url,
                spec_title,
                spec_version,
                started_at,
                ..
            } => {
                self.header = Some(Header {
                    target: target.clone(),
                    base_url: base_url.clone(),
                    spec: format!("\"{spec_title}\" {spec_version}"),
                    run_id: run_id.clone(),
                    started_at: started_at.clone(),
                });
            }
            // A scenario is rendered from its finished record; its exchanges and checks are
            // also there.
            Event::ScenarioStarted { rerun, .. } => self.rerun = rerun.clone(),
            Event::Exchange(_) | Event::Check(_) => {}
            Event::RunAborted {
                target,
                base_url,
                reason,
                exit_code,
            } => {
                self.header = Some(Header {
                    target: target.clone(),
                    base_url: base_url.clone(),
                    spec: String::new(),
                    run_id: String::new(),
                    started_at: String::new(),
                });
                self.aborted = Some((reason.clone(), *exit_code));
            }
            Event::Retry {
                status,
                reason,
                wait_ms,
                ..
            } => self.retry(*status, reason, *wait_ms),
            Event::Notice(notice) => self.push_warning(|_| {
                let message = super::wording::notice(notice);
                text(&format!("note: {message}"), 400)
            }),
            Event::Warning(warning) => self.push_warning(|commands| {
                let message = super::wording::warning(warning, commands);
                text(&message, 400)
            }),
            Event::ScenarioFinished {
                scenario,
                verdict,
                reason,
                result,
                ..
            } => {
                self.count_verdict(*verdict, reason.as_deref());
                for f in result.failures() {
                    match &f.known_failure {
                        Some(listed) => self.known_failure(scenario, f, listed),
                        None => self.failed_check(scenario, result, f),
                    }
                }
            }
            Event::RunFinished {
                stats,
                coverage,
                gates,
            } => self.run_finished(*stats, coverage, gates),
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let Some(mut out) = self.out.take() else {
            return Ok(());
        };
        out.write_all(self.render().as_bytes())?;
        out.flush()
    }
}

/// What a failed check was judged against: a decision taken where the vendor docs are
/// silent, an approved snapshot, or the docs.
fn basis(f: &CheckRecord) -> String {
    match &f.decision {
        Some(d) => {
            let row = d
                .strip_prefix("decided, not in the vendor docs: ")
                .unwrap_or(d);
            format!("decided: {}", text(row, 200))
        }
        // A snapshot is compared with what a person approved, not with the docs.
        None if f.check == crate::checks::SNAPSHOT => "approved snapshot".to_owned(),
        None => "documented".to_owned(),
    }
}

/// The run's verdict as the summary line shows it (the terminal's words, with an icon).
fn run_word(stats: &RunStats) -> (&'static str, &'static str) {
    let verdict = stats.verdict();
    let icon = match verdict {
        RunVerdict::Interrupted => "⏹️",
        RunVerdict::Passed => "✅",
        RunVerdict::NoVerdict => "⚠️",
        RunVerdict::Failed => "❌",
    };
    (icon, verdict.word())
}

/// A scenario verdict's name in this report. Every verdict is named here: a new one must
/// be given its words (no catch-all arm).
fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
        Verdict::Skipped => "skipped",
        Verdict::KnownFailure => "known failure",
        Verdict::NotRun => "not run",
        Verdict::TargetUnavailable => "target unavailable",
        Verdict::Interrupted => "interrupted (cut short)",
        Verdict::Flaky => "flaky",
    }
}

/// Whether the verdict judged the target (a pass or a failure) rather than saying why it
/// could not (skipped, not run, target unavailable). No catch-all arm, as above.
fn judged(v: Verdict) -> bool {
    match v {
        Verdict::Passed | Verdict::Failed | Verdict::KnownFailure | Verdict::Flaky => true,
        Verdict::Skipped | Verdict::NotRun | Verdict::TargetUnavailable | Verdict::Interrupted => {
            false
        }
    }
}

/// Appends rows while they fit the budget and [`MAX_ROWS`]; then one "… N more" row.
/// Returns how many rows were shown.
fn push_rows<'a>(
    d: &mut String,
    rows: impl Iterator<Item = &'a str>,
    budget: usize,
    total: usize,
    what: &str,
) -> usize {
    let mut shown = 0;
    for row in rows.take(MAX_ROWS) {
        if d.len() + row.len() > budget {
            break;
        }
        d.push_str(row);
        shown += 1;
    }
    if total > shown {
        let _ = writeln!(
            d,
            "\n… {} more {what}: see the HTML or JSON report",
            total - shown
        );
    }
    shown
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// At most `max` characters, with `…` when cut; control characters (newlines, terminal
/// escapes) become spaces and whitespace runs collapse, so the text is one line.
pub fn cut(s: &str, max: usize) -> String {
    // Line breaks and other control characters become one space (with the spaces around
    // them); a run of plain spaces is the value's own and stays.
    let mut flat = String::new();
    let mut pending = String::new();
    let mut broken = false;
    for c in s.trim().chars() {
        match c {
            ' ' => pending.push(' '),
            c if c.is_whitespace() || c.is_control() => broken = true,
            c => {
                if broken {
                    flat.push(' ');
                } else {
                    flat.push_str(&pending);
                }
                pending.clear();
                broken = false;
                flat.push(c);
            }
        }
    }
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

/// Text for a table cell or a list item: one line of at most `max` characters, with
/// Markdown's punctuation escaped and HTML's special characters as entities, so whatever a
/// server said can neither end a cell (`|`), open a code span, format, nor inject HTML.
pub fn text(s: &str, max: usize) -> String {
    let mut out = String::new();
    let cut = cut(s, max);
    let mut chars = cut.chars().peekable();
    let mut previous = None;
    while let Some(c) = chars.next() {
        // Markdown and HTML collapse runs of spaces and trim a cell's ends; a value whose
        // spaces matter (`two  spaces`, a trailing space) keeps them as no-break spaces.
        let edge = previous.is_none() || chars.peek().is_none();
        let after_space = previous == Some(' ');
        previous = Some(c);
        match c {
            ' ' if edge || after_space => out.push_str("&nbsp;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span for a table cell: a fence longer than any backtick run inside, and `|`
/// escaped (GitHub's tables split on it even inside code). The text is made one line.
pub fn code(s: &str) -> String {
    let s = cut(s, usize::MAX).replace('|', "\\|");
    let fence = "`".repeat(longest_backtick_run(&s) + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A fenced `sh` block whose fence no line inside can close.
fn fenced(s: &str) -> String {
    let fence = "`".repeat((longest_backtick_run(s) + 1).max(3));
    format!("{fence}sh\n{}\n{fence}\n\n", cut(s, usize::MAX))
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// A word for a POSIX shell: as is when plain, else single-quoted.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{CheckRecord, ScenarioResult};
    use crate::exchange::ExchangeRecord;

    fn check(scenario: &str, message: &str, known: Option<&str>) -> CheckRecord {
        CheckRecord {
            scenario: scenario.into(),
            check: "status_expected".into(),
            passed: false,
            exchange: Some(0),
            operation: Some("op".into()),
            status: Some(201),
            message: Some(message.into()),
            expected: Some("400".into()),
            actual: Some("201".into()),
            spec_pointer: None,
            known_failure: known.map(str::to_owned),
            decision: None,
        }
    }

    fn exchange(curl: &str) -> ExchangeRecord {
        ExchangeRecord {
            scenario: "s".into(),
            index: 0,
            operation: "op".into(),
            method: "POST".into(),
            url: "http://h/p".into(),
            path: "/p".into(),
            request_headers: vec![],
            request_body: None,
            request_body_bytes: 0,
            status: Some(201),
            content_type: None,
            response_body: None,
            response_body_bytes: 0,
            error: None,
            duration_ms: 1,
            curl: curl.into(),
        }
    }

    fn run<W: Write>(report: &mut Markdown<W>, failures: usize, message: &str, curl: &str) {
        report.event(&Event::RunStarted {
            run_id: "0123456789abcdef".into(),
            target: "staging | prod".into(),
            base_url: "https://host/api/v1".into(),
            spec_title: "User Access Tokens".into(),
            spec_version: "1.0.0".into(),
            scenarios: failures,
            started_at: "2026-12-01T10:00:00.000Z".into(),
        });
        for i in 0..failures {
            let scenario = format!("validation/case-{i}");
            report.event(&Event::ScenarioStarted {
                scenario: scenario.clone(),
                suite: "validation".into(),
                summary: String::new(),
                rerun: format!("--scenario {scenario}"),
            });
            report.event(&Event::ScenarioFinished {
                scenario: scenario.clone(),
                suite: "validation".into(),
                verdict: Verdict::Failed,
                reason: None,
                duration_ms: 1,
                requests: 1,
                result: ScenarioResult {
                    checks: vec![check(&scenario, message, None)],
                    exchanges: vec![exchange(curl)],
                },
            });
            report.event(&Event::Warning(crate::events::Warning::KnownFailures {
                message: message.into(),
            }));
            report.event(&Event::Retry {
                scenario: scenario.clone(),
                exchange: 0,
                method: "GET".into(),
                path: "/p".into(),
                status: Some(429),
                reason: format!("{message} {i}"),
                wait_ms: 1000,
            });
        }
        let stats = RunStats {
            scenarios: failures,
            failed: failures,
            checks_run: failures,
            checks_failed: failures,
            retries: failures,
            ..RunStats::default()
        };
        let coverage = (0..200)
            .map(|i| CoverageEntry {
                operation: format!("op{i}"),
                method: "GET".into(),
                path: format!("/p/{i}"),
                status: 200 + (i % 300) as u16,
                exercised: i,
                passed: i % 2 == 0,
            })
            .collect();
        report.event(&Event::RunFinished {
            stats,
            coverage,
            gates: Vec::new(),
        });
    }

    /// A run of many failures, each with a server message, a curl line and a warning of
    /// the largest size the runner keeps, stays under the bound and says what it left out.
    #[test]
    fn a_huge_run_stays_under_the_bound_and_says_how_many_rows_it_left_out() {
        let hostile = "<script>alert(1)</script> | `x` **bold** \u{1b}[31mred\n".repeat(200);
        let curl = format!("curl -sS 'http://h/{}'", "é|`".repeat(900));
        let mut file = Vec::new();
        let mut report = Markdown::new(&mut file);
        run(&mut report, 20_000, &hostile, &curl);
        report.finish().unwrap();
        let doc = String::from_utf8(file).unwrap();
        assert!(doc.len() <= MAX_BYTES, "{} bytes", doc.len());
        assert!(doc.contains("## ❌ Conformance FAILED"), "{doc}");
        assert!(doc.contains("more failed checks: see the HTML or JSON report"));
        assert!(doc.contains("more warnings"));
        assert!(!doc.contains("<script>"), "HTML is escaped");
        assert!(!doc.contains('\u{1b}'), "terminal escapes are gone");
        // Every table row has exactly as many cells as its header: no pipe broke out.
        for line in doc.lines().filter(|l| l.starts_with("| `validation")) {
            let cells = line.replace("\\|", "").matches('|').count();
            assert_eq!(cells, 6, "{line}");
        }
    }

    #[test]
    fn the_written_document_is_the_rendered_one() {
        let mut report = Markdown::new(Vec::new());
        run(
            &mut report,
            3,
            "expected 400, got 201",
            "curl -sS 'http://h/'",
        );
        let rendered = report.render();
        let mut file = Vec::new();
        {
            let mut into_file = Markdown::new(&mut file);
            run(
                &mut into_file,
                3,
                "expected 400, got 201",
                "curl -sS 'http://h/'",
            );
            into_file.finish().unwrap();
        }
        assert_eq!(String::from_utf8(file).unwrap(), rendered);
        assert!(rendered.contains("### Failed checks (3)"), "{rendered}");
        assert!(
            rendered.contains("Rerun a row with `conformance run --base-url https://host/api/v1 --target-name 'staging \\| prod'` followed by its rerun flags.")
                && rendered.contains("| `--scenario validation/case-0` |"),
            "{rendered}"
        );
        assert!(
            rendered.contains("```sh\ncurl -sS 'http://h/'\n```"),
            "{rendered}"
        );
        assert!(rendered.contains("| documented |"), "{rendered}");
    }

    #[test]
    fn spaces_that_matter_survive_rendering() {
        assert_eq!(text("two  spaces", 100), "two &nbsp;spaces");
        assert_eq!(text("line\n  next", 100), "line next");
        assert_eq!(text("one space", 100), "one space");
    }

    #[test]
    fn server_text_cannot_break_a_cell_or_inject_html() {
        let t = text("a|b\n<img src=x>`c` *d* [e](f) &amp;", 200);
        assert_eq!(
            t,
            "a\\|b &lt;img src=x&gt;\\`c\\` \\*d\\* \\[e\\](f) &amp;amp;"
        );
        assert_eq!(code("a`b|c"), "``a`b\\|c``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(cut("line one\nline two", 100), "line one line two");
        assert!(fenced("a ``` b").starts_with("````sh\n"));
    }

    #[test]
    fn a_run_that_never_finished_says_there_is_no_result() {
        let report = Markdown::new(Vec::new());
        assert!(report.render().contains("NO RESULT"));
    }

    #[test]
    fn known_failures_and_skips_have_their_own_sections() {
        let mut report = Markdown::new(Vec::new());
        report.event(&Event::ScenarioFinished {
            scenario: "lifecycle/x".into(),
            suite: "lifecycle".into(),
            verdict: Verdict::KnownFailure,
            reason: None,
            duration_ms: 1,
            requests: 1,
            result: ScenarioResult {
                checks: vec![check(
                    "lifecycle/x",
                    "m",
                    Some("API-7 · issue: https://t/API-7 · owner: team"),
                )],
                exchanges: vec![],
            },
        });
        report.event(&Event::ScenarioFinished {
            scenario: "auth/list/forbidden-credential".into(),
            suite: "auth".into(),
            verdict: Verdict::Skipped,
            reason: Some("needs ABP_FORBIDDEN_TOKEN (not set)".into()),
            duration_ms: 0,
            requests: 0,
            result: ScenarioResult::default(),
        });
        report.event(&Event::RunFinished {
            stats: RunStats {
                scenarios: 2,
                passed: 1,
                skipped: 1,
                known_failures: 1,
                ..RunStats::default()
            },
            coverage: vec![],
            gates: Vec::new(),
        });
        let doc = report.render();
        assert!(doc.contains("## ✅ Conformance PASSED"), "{doc}");
        assert!(!doc.contains("### Failed checks"), "{doc}");
        assert!(doc.contains("### Known failures (1"), "{doc}");
        assert!(doc.contains("owner: team"), "{doc}");
        assert!(
            doc.contains("| needs ABP\\_FORBIDDEN\\_TOKEN (not set) | 1 |"),
            "{doc}"
        );
    }
}
