//! Reporters consume the runner's events. They format; they never decide a verdict.

pub mod failure;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
mod rendering;
pub mod wording;

use crate::events::{Event, Progress};
pub use wording::Commands;

/// The report files `--report FORMAT=PATH` can write. Adding a format is a new module and one
/// arm here; README's list of formats is checked against this enum by a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// JUnit XML, for CI test publishers.
    Junit,
    /// The event stream as JSON lines (README, "JSON report").
    Json,
    /// One self-contained HTML page.
    Html,
    /// A GitHub-flavoured Markdown summary sized for a CI job summary (under 128 KiB).
    Markdown,
}

impl Format {
    /// A reporter that writes this format to `out` (the file is written by `finish`).
    pub fn open(self, out: std::fs::File) -> Box<dyn Reporter> {
        match self {
            Format::Junit => Box::new(junit::Junit::new(out)),
            Format::Json => Box::new(json::JsonLines::new(out)),
            Format::Html => Box::new(html::Html::new(out)),
            Format::Markdown => Box::new(markdown::Markdown::new(out)),
        }
    }

    /// Every format's name, as `--report` spells it.
    pub fn names() -> Vec<String> {
        use clap::ValueEnum as _;
        Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value())
            .map(|v| v.get_name().to_owned())
            .collect()
    }
}

pub trait Reporter {
    fn event(&mut self, event: &Event);

    /// What is in flight right now; only live displays care.
    fn progress(&mut self, _progress: &Progress) {}

    /// The commands this target's warnings point to (record a baseline, clean up), composed
    /// by the command line; reporters that word warnings keep them.
    fn set_commands(&mut self, _commands: &Commands) {}

    /// Called once after the last event; reporters that write a file write it here.
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends every event to several reporters, in order.
#[derive(Default)]
pub struct Fanout {
    reporters: Vec<Box<dyn Reporter>>,
}

impl Fanout {
    pub fn push(&mut self, reporter: Box<dyn Reporter>) {
        self.reporters.push(reporter);
    }
}

impl Reporter for Fanout {
    fn event(&mut self, event: &Event) {
        for r in &mut self.reporters {
            r.event(event);
        }
    }

    fn progress(&mut self, progress: &Progress) {
        for r in &mut self.reporters {
            r.progress(progress);
        }
    }

    fn set_commands(&mut self, commands: &Commands) {
        for r in &mut self.reporters {
            r.set_commands(commands);
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let mut first_error = None;
        for r in &mut self.reporters {
            if let Err(e) = r.finish() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Keeps every event (tests, and reporters that write once at the end).
#[derive(Default)]
pub struct Collect {
    pub events: Vec<Event>,
}

impl Reporter for Collect {
    fn event(&mut self, event: &Event) {
        self.events.push(event.clone());
    }
}

impl<R: Reporter + ?Sized> Reporter for &mut R {
    fn event(&mut self, event: &Event) {
        (**self).event(event);
    }

    fn progress(&mut self, progress: &Progress) {
        (**self).progress(progress);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        (**self).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{CheckRecord, ScenarioResult, Verdict};

    fn finished() -> Event {
        let check = CheckRecord {
            scenario: "lifecycle/x".into(),
            check: "status_expected".into(),
            passed: false,
            exchange: Some(0),
            operation: Some("op".into()),
            status: Some(204),
            message: Some("expected 404, got 204".into()),
            expected: Some("404".into()),
            actual: Some("204".into()),
            spec_pointer: Some("#/components/responses/NotFound".into()),
            known_failure: None,
            decision: Some("decided, not in the vendor docs".into()),
        };
        Event::ScenarioFinished {
            scenario: "lifecycle/x".into(),
            suite: "lifecycle".into(),
            verdict: Verdict::Failed,
            reason: None,
            duration_ms: 1,
            requests: 0,
            result: ScenarioResult {
                checks: vec![check],
                exchanges: vec![],
            },
        }
    }

    /// The terminal and JUnit show a failure in the same words: both come from
    /// `failure::lines` and from the finished scenario's record alone.
    #[test]
    fn text_sinks_render_a_failure_from_the_finished_record_alike() {
        let Event::ScenarioFinished { result, .. } = finished() else {
            unreachable!()
        };
        let expected = failure::lines(&result.checks[0], None);

        let mut terminal = Vec::new();
        human::Human::new(&mut terminal, false, false).event(&finished());
        let terminal = String::from_utf8(terminal).unwrap();

        let mut xml = Vec::new();
        let mut junit = junit::Junit::new(&mut xml);
        junit.event(&finished());
        junit.finish().unwrap();
        let xml = String::from_utf8(xml).unwrap();

        for line in &expected {
            assert!(terminal.contains(line.as_str()), "{line}\n{terminal}");
            assert!(xml.contains(line.as_str()), "{line}\n{xml}");
        }
    }

    /// A run interrupted after its last scenario finished (during the final clean-up, say)
    /// has only passed scenarios; its JUnit report still says it was interrupted, as an
    /// errored testcase, so a publisher does not show it green.
    #[test]
    fn junit_says_interrupted_when_every_scenario_had_finished() {
        use crate::events::{Gate, RunStats};
        let mut xml = Vec::new();
        let mut junit = junit::Junit::new(&mut xml);
        let stats = RunStats {
            scenarios: 1,
            passed: 1,
            interrupted: true,
            ..RunStats::default()
        };
        junit.event(&Event::RunFinished {
            stats,
            coverage: Vec::new(),
            gates: vec![Gate::Interrupted {
                deadline: false,
                not_run: 0,
                cut_short: 0,
            }],
        });
        junit.finish().unwrap();
        let xml = String::from_utf8(xml).unwrap();
        assert!(
            xml.contains("run/interrupted") && xml.contains("type=\"interrupted\""),
            "{xml}"
        );
        assert!(xml.contains("errors=\"1\""), "{xml}");
    }
}
