//! Reporters consume the runner's events. They format; they never decide a verdict.

pub mod html;
pub mod human;
pub mod json;
pub mod junit;

use crate::events::{Event, Progress};

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
}

impl Format {
    /// A reporter that writes this format to `out` (the file is written by `finish`).
    pub fn open(self, out: std::fs::File) -> Box<dyn Reporter> {
        match self {
            Format::Junit => Box::new(junit::Junit::new(out)),
            Format::Json => Box::new(json::JsonLines::new(out)),
            Format::Html => Box::new(html::Html::new(out)),
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
