//! The terminal report: a line per scenario, failure details with the exchange and a replay
//! line, a progress bar on a TTY, and a summary.

use super::{Reporter, failure};
use crate::events::{Event, Progress, RunStats, RunVerdict, ScenarioResult, Verdict};
use owo_colors::OwoColorize;
use std::io::Write;

pub struct Human<W: Write> {
    out: W,
    color: bool,
    progress: Option<indicatif::ProgressBar>,
    /// Scenarios running right now, in the order they started (for the progress bar).
    in_flight: Vec<String>,
    commands: super::Commands,
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
            in_flight: Vec::new(),
            commands: Default::default(),
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
            Verdict::Failed | Verdict::Interrupted | Verdict::Flaky => {
                text.red().bold().to_string()
            }
            Verdict::Skipped
            | Verdict::KnownFailure
            | Verdict::NotRun
            | Verdict::TargetUnavailable => text.yellow().to_string(),
        }
    }

    fn failure_details(&mut self, result: &ScenarioResult) {
        for f in result.failures() {
            let mut lines = failure::lines(f, result.exchange_of(f)).into_iter();
            if let Some(first) = lines.next() {
                self.line(&format!("      ✗ {first}"));
            }
            for l in lines {
                self.line(&format!("          {l}"));
            }
        }
    }
}

impl<W: Write> Reporter for Human<W> {
    fn set_commands(&mut self, commands: &super::Commands) {
        self.commands = commands.clone();
    }

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
                    "conformance: {} against {target} ({base_url}), spec \"{spec_title}\" {spec_version}",
                    crate::events::count(*scenarios, "scenario", "scenarios")
                ));
            }
            // A scenario is rendered whole when it finishes; a retried attempt is counted in
            // the summary and is not a verdict.
            Event::ScenarioStarted { .. }
            | Event::Exchange(_)
            | Event::Check(_)
            | Event::Retry { .. } => {}
            // The command line prints why the run could not start.
            Event::RunAborted { .. } => {
                if let Some(bar) = self.progress.take() {
                    bar.finish_and_clear();
                }
            }
            Event::Notice(notice) => {
                let tag = self.paint("NOTE", Verdict::Passed);
                self.line(&format!("{tag}: {}", super::wording::notice(notice)));
            }
            Event::Warning(warning) => {
                let tag = self.paint("WARNING", Verdict::Skipped);
                let message = super::wording::warning(warning, &self.commands);
                self.line(&format!("{tag}: {message}"));
            }
            Event::ScenarioFinished {
                scenario,
                verdict,
                reason,
                duration_ms,
                requests,
                result,
                ..
            } => {
                let detail = match reason {
                    Some(r) => r.clone(),
                    None => format!(
                        "{}, {duration_ms} ms",
                        crate::events::count(*requests, "request", "requests")
                    ),
                };
                let tag = self.paint(verdict.label(), *verdict);
                self.line(&format!("{tag}  {scenario}  ({detail})"));
                if matches!(
                    verdict,
                    Verdict::Failed | Verdict::KnownFailure | Verdict::Flaky
                ) {
                    self.failure_details(result);
                }
            }
            Event::RunFinished { stats, gates, .. } => {
                if let Some(bar) = self.progress.take() {
                    bar.finish_and_clear();
                }
                for gate in gates {
                    let tag = self.paint("GATE", Verdict::Failed);
                    self.line(&format!("{tag}  {}", gate.describe()));
                }
                let summary = self.summary(stats);
                self.line(&summary);
            }
        }
    }
}

impl<W: Write> Human<W> {
    /// The run's last line: its verdict, the scenario and check counts, coverage, requests
    /// and duration.
    fn summary(&self, stats: &RunStats) -> String {
        let run = stats.verdict();
        let verdict = if run == RunVerdict::Passed {
            Verdict::Passed
        } else {
            Verdict::Failed
        };
        let word = self.paint(run.word(), verdict);
        let known = if stats.known_failures > 0 {
            format!(", {} known", stats.known_failures)
        } else {
            String::new()
        };
        // Beside the scenario counts, so the line never reads green when a stale
        // entry fails the gate.
        let gated: String = stats
            .beside_failed()
            .iter()
            .map(|c| format!(", {c}"))
            .collect();
        let not_run = not_run(stats);
        let requests = requests(stats);
        format!(
            "\n{word}: {} passed, {} failed{gated}, {} skipped{not_run} · {} checks ({} failed{known}) · coverage {}/{} documented statuses · {requests} · {:.1} s",
            stats.passed,
            stats.failed,
            stats.skipped,
            stats.checks_run,
            stats.checks_failed,
            stats.coverage_exercised,
            stats.coverage_documented,
            stats.duration_ms as f64 / 1000.0
        )
    }
}

/// The summary's counts of scenarios without a plain verdict, each with its comma (empty
/// when there are none): not run, cut short, flaky, target unavailable.
fn not_run(stats: &RunStats) -> String {
    let mut not_run = if stats.not_run > 0 {
        format!(", {} not run", stats.not_run)
    } else {
        String::new()
    };
    if stats.cut_short > 0 {
        not_run.push_str(&format!(", {} cut short", stats.cut_short));
    }
    if stats.flaky > 0 {
        not_run.push_str(&format!(
            ", {} flaky{}",
            stats.flaky,
            if stats.allow_flaky { " (allowed)" } else { "" }
        ));
    }
    if stats.unavailable > 0 {
        not_run.push_str(&format!(
            ", {} without a verdict (target unavailable)",
            stats.unavailable
        ));
    }
    not_run
}

/// The summary's requests: how many, how many were retried, how many were not served.
fn requests(stats: &RunStats) -> String {
    let mut requests = format!("{} requests", stats.requests);
    if stats.retries > 0 {
        requests.push_str(&format!(" ({} retried)", stats.retries));
    }
    if stats.rate_limited > 0 {
        requests.push_str(&format!(
            ", {} not served (429/503 past the retry policy, or no answer)",
            stats.rate_limited
        ));
    }
    requests
}
