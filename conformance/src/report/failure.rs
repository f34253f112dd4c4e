//! One rendering of a failed check as text, shared by every text sink (terminal, JUnit): the
//! check and its message, known-failure reason, expected vs actual, the basis of a decided
//! expectation, the spec pointer, and the exchange with a replay line.

use crate::events::CheckRecord;
use crate::exchange::ExchangeRecord;

/// The failure as lines: the first is `check: message`; the others are labelled details,
/// meant to be indented under it.
pub fn lines(f: &CheckRecord, exchange: Option<&ExchangeRecord>) -> Vec<String> {
    let message = f.message.as_deref().unwrap_or("failed");
    let mut message_lines = message.lines();
    let mut out = vec![format!(
        "{}: {}",
        f.check,
        message_lines.next().unwrap_or("")
    )];
    // Continuation lines (a snapshot diff) stay under their check.
    out.extend(message_lines.map(|l| format!("    {l}")));
    if let Some(reason) = &f.known_failure {
        out.push(format!(
            "known:    {reason} (listed; does not fail the run)"
        ));
    }
    if let Some(e) = &f.expected {
        out.push(format!("expected: {e}"));
    }
    if let Some(a) = &f.actual {
        out.push(format!("actual:   {a}"));
    }
    if let Some(d) = &f.decision {
        out.push(format!("basis:    {d}"));
    }
    if let Some(p) = &f.spec_pointer {
        out.push(format!("spec:     {p}"));
    }
    if let Some(x) = exchange {
        out.push(format!(
            "exchange: {} {} → {}",
            x.method,
            x.path,
            x.outcome()
        ));
        if let Some(b) = x.request_body.as_deref().filter(|b| !b.is_empty()) {
            out.push(format!("request:  {}", one_line(b, 300)));
        }
        if let Some(b) = x.response_body.as_deref().filter(|b| !b.is_empty()) {
            out.push(format!("response: {}", one_line(b, 300)));
        }
        if let Some(e) = &x.error {
            out.push(format!("error:    {e}"));
        }
        out.push(format!("replay:   {}", x.curl));
    }
    out
}

/// Whitespace collapsed, cut at `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}
