//! The body validates against the spec's schema for the status and media type.

use super::{Failure, Outcome, ResponseCx};
use crate::api::Contract;

pub fn response_schema(cx: &ResponseCx) -> Outcome {
    let response = cx.op.response(cx.response.status)?;
    let media = cx.response.media_type()?;
    let (documented_media, _) = response
        .content
        .iter()
        .find(|(ct, _)| ct.eq_ignore_ascii_case(&media))?;
    let pointer = Contract::response_schema_pointer(&response.pointer, documented_media);
    let validator = cx.contract.validator(&pointer)?;
    let body: serde_json::Value = match serde_json::from_slice(&cx.response.body) {
        Ok(v) => v,
        Err(e) => {
            return Some(Err(Failure::new(format!(
                "the {} body is not JSON: {e}",
                cx.response.status
            ))
            .expected(format!("JSON matching {pointer}"))
            .actual(excerpt(&String::from_utf8_lossy(&cx.response.body)))
            .at(pointer)));
        }
    };
    let violations = validator.violations(&body);
    if violations.is_empty() {
        return Some(Ok(()));
    }
    let shown: Vec<String> = violations.iter().take(5).map(|v| v.to_string()).collect();
    let more = violations.len().saturating_sub(shown.len());
    let mut message = format!(
        "the {} body breaks the spec's schema: {}",
        cx.response.status,
        shown.join("; ")
    );
    if more > 0 {
        message.push_str(&format!(" (and {more} more)"));
    }
    Some(Err(Failure::new(message)
        .expected(format!("a body matching {pointer}"))
        .actual(violations[0].to_string())
        .at(pointer)))
}

fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(200).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}
