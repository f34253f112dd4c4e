//! Reporters consume the runner's events. They format; they never decide a verdict.

pub mod html;
pub mod human;
pub mod json;
pub mod junit;

use crate::events::{Event, Progress};

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
