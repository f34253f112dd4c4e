//! The terminal report: a line per scenario, failure details with the exchange and a replay
//! line, a progress bar on a TTY, and a summary.

use super::Reporter;
use crate::events::{CheckRecord, Event, Progress, Verdict};
use crate::exchange::ExchangeRecord;
use owo_colors::OwoColorize;
use std::io::Write;

pub struct Human<W: Write> {
    out: W,
    color: bool,
    progress: Option<indicatif::ProgressBar>,
    /// Exchanges and failed checks of the scenario in progress.
    exchanges: Vec<ExchangeRecord>,
    failures: Vec<CheckRecord>,
    /// Scenarios running right now, in the order they started (for the progress bar).
    in_flight: Vec<String>,
}

impl<W: Write> Human<W> {
    /// `color` and `progress` are decided by the caller (TTY, `NO_COLOR`).
    pub fn new(out: W, color: bool, progress: bool) -> Self {
        Human {
            out,
            color,
            progress: progress.then(|| {
                let bar = indicatif::ProgressBar::with_draw_target(
                    None,
                    indicatif::ProgressDrawTarget::stderr(),
                );
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar
            }),
            exchanges: Vec::new(),
            failures: Vec::new(),
            in_flight: Vec::new(),
        }
    }

    fn line(&mut self, text: &str) {
        match &self.progress {
            Some(bar) => bar.suspend(|| {
                let _ = writeln!(self.out, "{text}");
            }),
            None => {
                let _ = writeln!(self.out, "{text}");
            }
        }
    }

    fn paint(&self, text: &str, verdict: Verdict) -> String {
        if !self.color {
            return text.to_owned();
        }
        match verdict {
            Verdict::Passed => text.green().to_string(),
            Verdict::Failed => text.red().bold().to_string(),
            Verdict::Skipped | Verdict::KnownFailure | Verdict::NotRun => text.yellow().to_string(),
        }
    }

    fn failure_details(&mut self) {
        let failures = std::mem::take(&mut self.failures);
        for f in &failures {
            let message = f.message.as_deref().unwrap_or("failed");
            let mut message_lines = message.lines();
            let mut lines = vec![format!(
                "      ✗ {}: {}",
                f.check,
                message_lines.next().unwrap_or("")
            )];
            // Continuation lines (a snapshot diff) stay under their check.
            lines.extend(message_lines.map(|l| format!("          {l}")));
            if let Some(reason) = &f.known_failure {
                lines.push(format!(
                    "          known:    {reason} (listed; does not fail the run)"
                ));
            }
            if let Some(e) = &f.expected {
                lines.push(format!("          expected: {e}"));
            }
            if let Some(a) = &f.actual {
                lines.push(format!("          actual:   {a}"));
            }
            if let Some(d) = &f.decision {
                lines.push(format!("          basis:    {d}"));
            }
            if let Some(p) = &f.spec_pointer {
                lines.push(format!("          spec:     {p}"));
            }
            if let Some(x) = f
                .exchange
                .and_then(|i| self.exchanges.iter().find(|e| e.index == i))
            {
                lines.push(format!(
                    "          exchange: {} {} → {}{}",
                    x.method,
                    x.path,
                    x.status
                        .map_or_else(|| "no response".into(), |s| s.to_string()),
                    x.content_type
                        .as_deref()
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default()
                ));
                if let Some(b) = x.request_body.as_deref().filter(|b| !b.is_empty()) {
                    lines.push(format!("          request:  {}", one_line(b, 300)));
                }
                if let Some(b) = x.response_body.as_deref().filter(|b| !b.is_empty()) {
                    lines.push(format!("          response: {}", one_line(b, 300)));
                }
                if let Some(e) = &x.error {
                    lines.push(format!("          error:    {e}"));
                }
                lines.push(format!("          replay:   {}", x.curl));
            }
            for l in lines {
                self.line(&l);
            }
        }
    }
}

fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

impl<W: Write> Reporter for Human<W> {
    fn progress(&mut self, progress: &Progress) {
        let Some(bar) = &self.progress else {
            return;
        };
        match progress {
            Progress::Started { scenario } => self.in_flight.push(scenario.clone()),
            Progress::Finished { scenario, .. } => {
                self.in_flight.retain(|s| s != scenario);
                bar.inc(1);
            }
        }
        let shown: Vec<&str> = self.in_flight.iter().take(3).map(String::as_str).collect();
        let more = self.in_flight.len().saturating_sub(shown.len());
        let mut message = shown.join(", ");
        if more > 0 {
            message.push_str(&format!(" and {more} more"));
        }
        bar.set_message(message);
    }

    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                target,
                base_url,
                spec_title,
                spec_version,
                scenarios,
                ..
            } => {
                if let Some(bar) = &self.progress {
                    bar.set_length(*scenarios as u64);
                }
                self.line(&format!(
                    "conformance: {scenarios} scenarios against {target} ({base_url}), spec \"{spec_title}\" {spec_version}"
                ));
            }
            Event::ScenarioStarted { .. } => {
                self.exchanges.clear();
                self.failures.clear();
            }
            Event::Exchange(x) => self.exchanges.push(x.clone()),
            // Counted in the summary; a retried attempt is not a verdict.
            Event::Retry { .. } => {}
            Event::Warning { message } => {
                let tag = self.paint("WARNING", Verdict::Skipped);
                self.line(&format!("{tag}: {message}"));
            }
            Event::Check(c) => {
                if !c.passed {
                    self.failures.push(c.clone());
                }
            }
            Event::ScenarioFinished {
                scenario,
                verdict,
                reason,
                duration_ms,
                requests,
                ..
            } => {
                let tag = match verdict {
                    Verdict::Passed => "PASS",
                    Verdict::Failed => "FAIL",
                    Verdict::Skipped => "SKIP",
                    Verdict::KnownFailure => "KNOWN",
                    Verdict::NotRun => "NOT RUN",
                };
                let detail = match reason {
                    Some(r) => r.clone(),
                    None => format!("{requests} requests, {duration_ms} ms"),
                };
                let tag = self.paint(tag, *verdict);
                self.line(&format!("{tag}  {scenario}  ({detail})"));
                if matches!(verdict, Verdict::Failed | Verdict::KnownFailure) {
                    self.failure_details();
                }
            }
            Event::RunFinished { stats, .. } => {
                if let Some(bar) = self.progress.take() {
                    bar.finish_and_clear();
                }
                let verdict = if stats.success() {
                    Verdict::Passed
                } else {
                    Verdict::Failed
                };
                let word = if stats.interrupted {
                    "INTERRUPTED"
                } else if stats.success() {
                    "PASSED"
                } else {
                    "FAILED"
                };
                let word = self.paint(word, verdict);
                let known = if stats.known_failures > 0 {
                    format!(", {} known", stats.known_failures)
                } else {
                    String::new()
                };
                let not_run = if stats.not_run > 0 {
                    format!(", {} not run", stats.not_run)
                } else {
                    String::new()
                };
                let mut requests = format!("{} requests", stats.requests);
                if stats.retries > 0 {
                    requests.push_str(&format!(" ({} retried)", stats.retries));
                }
                if stats.rate_limited > 0 {
                    requests.push_str(&format!(
                        ", {} refused by the target's rate limit",
                        stats.rate_limited
                    ));
                }
                self.line(&format!(
                    "\n{word}: {} passed, {} failed, {} skipped{not_run} · {} checks ({} failed{known}) · coverage {}/{} documented statuses · {requests} · {:.1} s",
                    stats.passed,
                    stats.failed,
                    stats.skipped,
                    stats.checks_run,
                    stats.checks_failed,
                    stats.coverage_exercised,
                    stats.coverage_documented,
                    stats.duration_ms as f64 / 1000.0
                ));
            }
        }
    }
}
