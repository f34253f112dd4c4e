//! `--report html=PATH`: one self-contained page (inline CSS, no script, no network) that a
//! person opens after a CI run: verdict and summary, warnings, failures (expandable to the
//! exchange, snapshot diff and replay line), the coverage matrix of operations × documented
//! statuses, and the table of checks × scenarios.

use super::Reporter;
use crate::events::{CheckRecord, CoverageEntry, Event, RunStats, Verdict};
use crate::exchange::ExchangeRecord;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write;

struct ScenarioRow {
    name: String,
    suite: String,
    verdict: Verdict,
    reason: Option<String>,
    checks: Vec<CheckRecord>,
    exchanges: Vec<ExchangeRecord>,
}

pub struct Html<W: Write> {
    out: Option<W>,
    header: Vec<(String, String)>,
    scenarios: Vec<ScenarioRow>,
    warnings: Vec<String>,
    stats: RunStats,
    coverage: Vec<CoverageEntry>,
    /// Why the run ended before any scenario, and its exit code.
    aborted: Option<(String, u8)>,
    commands: super::Commands,
}

impl<W: Write> Html<W> {
    pub fn new(out: W) -> Self {
        Html {
            out: Some(out),
            header: Vec::new(),
            scenarios: Vec::new(),
            warnings: Vec::new(),
            stats: RunStats::default(),
            coverage: Vec::new(),
            aborted: None,
            commands: Default::default(),
        }
    }
}

impl<W: Write> Reporter for Html<W> {
    fn set_commands(&mut self, commands: &super::Commands) {
        self.commands = commands.clone();
    }

    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                target,
                base_url,
                spec_title,
                spec_version,
                started_at,
                run_id,
                ..
            } => {
                self.header = vec![
                    ("target".into(), target.clone()),
                    ("base URL".into(), base_url.clone()),
                    ("spec".into(), format!("{spec_title} {spec_version}")),
                    ("started".into(), started_at.clone()),
                    ("run".into(), run_id.clone()),
                ];
            }
            // A row is built whole from the finished scenario's result.
            Event::ScenarioStarted { .. } | Event::Exchange(_) | Event::Check(_) => {}
            Event::ScenarioFinished {
                scenario,
                suite,
                verdict,
                reason,
                result,
                ..
            } => self.scenarios.push(ScenarioRow {
                name: scenario.clone(),
                suite: suite.clone(),
                verdict: *verdict,
                reason: reason.clone(),
                checks: result.checks.clone(),
                exchanges: result.exchanges.clone(),
            }),
            Event::Warning(w) => self
                .warnings
                .push(super::wording::warning(w, &self.commands)),
            Event::Notice(n) => self
                .warnings
                .push(format!("note: {}", super::wording::notice(n))),
            Event::Retry { .. } => {}
            Event::RunAborted {
                target,
                base_url,
                reason,
                exit_code,
            } => {
                self.header = vec![
                    ("target".into(), target.clone()),
                    ("base URL".into(), base_url.clone()),
                ];
                self.aborted = Some((reason.clone(), *exit_code));
            }
            Event::RunFinished {
                stats,
                coverage,
                gates,
            } => {
                self.stats = *stats;
                self.coverage = coverage.clone();
                // Shown with the warnings, first thing after the verdict.
                self.warnings.extend(
                    gates
                        .iter()
                        .map(|g| format!("fails the gate: {}", g.describe())),
                );
            }
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

/// Escapes text for HTML element content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{padding:20px 28px;color:#fff}
header.pass{background:#1f7a3a} header.fail{background:#b3261e}
header h1{margin:0 0 6px;font-size:26px} header dl{display:flex;flex-wrap:wrap;gap:4px 22px;margin:8px 0 0}
header dt{opacity:.75} header dd{margin:0 0 0 4px;font-weight:600}
.summary{font-size:16px;margin:6px 0 0}
main{padding:8px 28px 40px} section{margin-top:26px} h2{font-size:18px;margin:0 0 10px}
table{border-collapse:collapse;background:#fff;font-size:12px} th,td{border:1px solid #dde1e6;padding:3px 6px;text-align:center}
th{background:#eef0f3;position:sticky;top:0} td.name,th.name{text-align:left;white-space:nowrap}
.pass{background:#d7f0dc} .fail{background:#f8d4d0;font-weight:700} .known{background:#fde9b8} .skip{background:#eceff1;color:#667}
.none{background:#fbfbfb;color:#aab} .missing{background:#fff2cc}
.checks th.rot{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:500}
details.failure{background:#fff;border:1px solid #e3c7c4;border-left:4px solid #b3261e;margin:8px 0;padding:6px 12px}
details.failure.known{border-left-color:#d89b00}
details summary{cursor:pointer;font-weight:600} pre{background:#f3f4f6;padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:12px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px} dl.kv dt{color:#667}
details summary,dl.kv dd,ul.warnings li{white-space:pre-wrap}
ul.warnings li{color:#8a4b00;font-weight:600}
a{color:inherit}
"#;

impl<W: Write> Html<W> {
    fn render(&self) -> String {
        let s = &self.stats;
        let ok = s.success() && self.aborted.is_none();
        let mut h = String::new();
        let verdict = match &self.aborted {
            Some((_, crate::error::exit::INTERRUPTED)) => "INTERRUPTED",
            Some(_) => "NOT RUN",
            None => s.verdict().word(),
        };
        let target = self
            .header
            .first()
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let _ = write!(
            h,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>conformance {verdict}: {}</title><style>{STYLE}</style></head><body>",
            esc(&target)
        );
        let _ = write!(
            h,
            "<header class=\"{}\"><h1 id=\"verdict\">{verdict}</h1>{}<p class=\"summary\">{} passed · {} failed · {} skipped{} · {} checks ({} failed) · coverage {}/{} documented statuses · {} requests · {:.1} s</p><dl>",
            if ok { "pass" } else { "fail" },
            if let Some((reason, code)) = &self.aborted {
                format!(
                    "<p class=\"banner\" id=\"aborted\">The run ended before any scenario (exit {code}): {}. This report is not a verdict on the target.</p>",
                    esc(reason)
                )
            } else if s.interrupted {
                format!(
                    "<p class=\"banner\" id=\"interrupted\">The run was interrupted: {} of {} scenarios did not run and {} were cut short. This report is not a verdict on the target.</p>",
                    s.not_run, s.scenarios, s.cut_short
                )
            } else {
                String::new()
            },
            s.passed,
            s.failed,
            s.skipped,
            s.beside_failed()
                .iter()
                .map(|c| format!(" · {}", esc(c)))
                .collect::<String>(),
            s.checks_run,
            s.checks_failed,
            s.coverage_exercised,
            s.coverage_documented,
            s.requests,
            s.duration_ms as f64 / 1000.0
        );
        for (k, v) in &self.header {
            let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
        }
        h.push_str("</dl></header><main>");

        if !self.warnings.is_empty() {
            h.push_str("<section><h2>Warnings</h2><ul class=\"warnings\">");
            for w in &self.warnings {
                let _ = write!(h, "<li>{}</li>", esc(w));
            }
            h.push_str("</ul></section>");
        }
        // What failed first: a reader opens the report for it, not for a 150-row matrix.
        self.render_failures(&mut h);
        self.render_coverage(&mut h);
        self.render_matrix(&mut h);
        h.push_str("</main></body></html>\n");
        h
    }

    fn failure_id(scenario: &str, check: &str, index: usize) -> String {
        let clean: String = format!("{scenario}-{check}-{index}")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        format!("f-{clean}")
    }

    fn render_failures(&self, h: &mut String) {
        let failures: Vec<(&ScenarioRow, usize, &CheckRecord)> = self
            .scenarios
            .iter()
            .flat_map(|row| {
                row.checks
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !c.passed)
                    .map(move |(i, c)| (row, i, c))
            })
            .collect();
        let _ = write!(
            h,
            "<section id=\"failures\"><h2>Failures ({})</h2>",
            failures.len()
        );
        if failures.is_empty() {
            h.push_str("<p>No check failed.</p>");
        }
        for (row, i, c) in failures {
            let message = c.message.as_deref().unwrap_or("failed");
            let first = message.lines().next().unwrap_or("");
            let _ = write!(
                h,
                "<details class=\"failure{}\" id=\"{}\"><summary>{} — {}: {}</summary><dl class=\"kv\">",
                if c.known_failure.is_some() {
                    " known"
                } else {
                    ""
                },
                Self::failure_id(&row.name, &c.check, i),
                esc(&row.name),
                esc(&c.check),
                esc(first)
            );
            for (k, v) in [
                ("known failure", &c.known_failure),
                ("expected", &c.expected),
                ("actual", &c.actual),
                ("basis", &c.decision),
                ("spec", &c.spec_pointer),
            ] {
                if let Some(v) = v {
                    let _ = write!(h, "<dt>{k}</dt><dd>{}</dd>", esc(v));
                }
            }
            h.push_str("</dl>");
            if message.contains('\n') {
                let _ = write!(h, "<pre class=\"diff\">{}</pre>", esc(message));
            }
            if let Some(x) = c
                .exchange
                .and_then(|i| row.exchanges.iter().find(|x| x.index == i))
            {
                let mut text = format!("{} {}\n", x.method, x.path);
                for (k, v) in &x.request_headers {
                    let _ = writeln!(text, "{k}: {v}");
                }
                if let Some(b) = &x.request_body {
                    let _ = writeln!(text, "\n{b}");
                }
                let _ = write!(text, "\n→ {}\n", x.outcome());
                if let Some(b) = &x.response_body {
                    let _ = writeln!(text, "{b}");
                }
                if let Some(e) = &x.error {
                    let _ = writeln!(text, "error: {e}");
                }
                let _ = write!(
                    h,
                    "<h4>Exchange</h4><pre>{}</pre><h4>Replay</h4><pre>{}</pre>",
                    esc(&text),
                    esc(&x.curl)
                );
            }
            h.push_str("</details>");
        }
        h.push_str("</section>");
    }

    fn render_coverage(&self, h: &mut String) {
        let statuses: BTreeSet<u16> = self.coverage.iter().map(|c| c.status).collect();
        let mut ops: Vec<(&str, &str, &str)> = Vec::new();
        for c in &self.coverage {
            let key = (c.operation.as_str(), c.method.as_str(), c.path.as_str());
            if !ops.contains(&key) {
                ops.push(key);
            }
        }
        let _ = write!(
            h,
            "<section id=\"coverage\"><h2>Coverage: {}/{} documented statuses exercised</h2><table class=\"coverage\"><tr><th class=\"name\">operation</th>",
            self.stats.coverage_exercised, self.stats.coverage_documented
        );
        for s in &statuses {
            let _ = write!(h, "<th>{s}</th>");
        }
        h.push_str("</tr>");
        for (id, method, path) in ops {
            let _ = write!(
                h,
                "<tr><td class=\"name\">{} <code>{} {}</code></td>",
                esc(id),
                esc(method),
                esc(path)
            );
            for s in &statuses {
                match self
                    .coverage
                    .iter()
                    .find(|c| c.operation == id && c.status == *s)
                {
                    None => h.push_str("<td class=\"none\"></td>"),
                    Some(c) if c.exercised == 0 => {
                        h.push_str("<td class=\"missing\" title=\"documented, never exercised\">not exercised</td>")
                    }
                    Some(c) => {
                        let _ = write!(
                            h,
                            "<td class=\"{}\" title=\"{} responses\">{} {}</td>",
                            if c.passed { "pass" } else { "fail" },
                            c.exercised,
                            if c.passed { "✓" } else { "✗" },
                            c.exercised
                        );
                    }
                }
            }
            h.push_str("</tr>");
        }
        h.push_str("</table></section>");
    }

    fn render_matrix(&self, h: &mut String) {
        let names: Vec<&str> = crate::checks::ALL.iter().map(|c| c.name).collect();
        h.push_str("<section id=\"checks\"><h2>Checks × scenarios</h2><table class=\"checks\"><tr><th class=\"name\">scenario</th><th>verdict</th>");
        for n in &names {
            let _ = write!(h, "<th class=\"rot\">{}</th>", esc(n));
        }
        h.push_str("</tr>");
        for row in &self.scenarios {
            let (class, word) = match row.verdict {
                Verdict::Passed => ("pass", "passed"),
                Verdict::Failed => ("fail", "failed"),
                Verdict::Skipped => ("skip", "skipped"),
                Verdict::KnownFailure => ("known", "known failure"),
                Verdict::NotRun => ("skip", "not run (interrupted)"),
                Verdict::TargetUnavailable => ("skip", "no verdict (target unavailable)"),
                Verdict::Interrupted => ("fail", "interrupted (cut short)"),
                Verdict::Flaky => ("fail", "flaky (passed on a re-run)"),
            };
            let title = row.reason.as_deref().map(esc).unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td class=\"name\">{} <small>{}</small></td><td class=\"{class}\" title=\"{title}\">{word}</td>",
                esc(&row.name),
                esc(&row.suite)
            );
            let mut by_check: BTreeMap<&str, (usize, usize, bool, Option<usize>)> = BTreeMap::new();
            for (i, c) in row.checks.iter().enumerate() {
                let e = by_check
                    .entry(c.check.as_str())
                    .or_insert((0, 0, false, None));
                if c.passed {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                    e.2 |= c.known_failure.is_none();
                    e.3.get_or_insert(i);
                }
            }
            for n in &names {
                match by_check.get(n) {
                    None => h.push_str("<td class=\"none\"></td>"),
                    Some((passed, 0, _, _)) => {
                        let _ = write!(h, "<td class=\"pass\" title=\"{passed} passed\">✓</td>");
                    }
                    Some((_, failed, gating, first)) => {
                        let id = Self::failure_id(&row.name, n, first.unwrap_or(0));
                        let _ = write!(
                            h,
                            "<td class=\"{}\" title=\"{failed} failed\"><a href=\"#{id}\">✗</a></td>",
                            if *gating { "fail" } else { "known" }
                        );
                    }
                }
            }
            h.push_str("</tr>");
        }
        h.push_str("</table></section>");
    }
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
