//! `--report json=PATH`: every event of the run as one JSON object per line, as it happens.
//! Field names are a contract (README, "JSON report").

use super::Reporter;
use crate::events::Event;
use std::io::{BufWriter, Write};

pub struct JsonLines<W: Write> {
    out: BufWriter<W>,
    error: Option<std::io::Error>,
    commands: super::Commands,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> Self {
        JsonLines {
            out: BufWriter::new(out),
            error: None,
            commands: Default::default(),
        }
    }
}

impl<W: Write> Reporter for JsonLines<W> {
    fn event(&mut self, event: &Event) {
        if self.error.is_some() {
            return;
        }
        let result = match event {
            // A warning carries its reason and data, and the line a person reads.
            Event::Warning(w) => serde_json::to_value(event).and_then(|mut v| {
                if let Some(map) = v.as_object_mut() {
                    let message = super::wording::warning(w, &self.commands);
                    map.insert("message".into(), message.into());
                }
                serde_json::to_writer(&mut self.out, &v)
            }),
            _ => serde_json::to_writer(&mut self.out, event),
        }
        .map_err(std::io::Error::other)
        .and_then(|()| self.out.write_all(b"\n"));
        if let Err(e) = result {
            self.error = Some(e);
        }
    }

    fn set_commands(&mut self, commands: &super::Commands) {
        self.commands = commands.clone();
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}
