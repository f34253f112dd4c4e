//! No credential and no earlier token secret appears in a response body or header.

use super::{Failure, Outcome, ResponseCx};

pub fn no_secret_leak(cx: &ResponseCx) -> Outcome {
    // One pass over the body for every secret at once: a list of thousands of tokens, in a
    // run that has created hundreds, is read once, not once per secret.
    let secrets: Vec<&str> = cx
        .secrets
        .iter()
        .map(|(s, _)| s.as_str())
        .filter(|s| !s.is_empty())
        .collect();
    if secrets.is_empty() {
        return Some(Ok(()));
    }
    let Ok(matcher) = aho_corasick::AhoCorasick::new(&secrets) else {
        return None;
    };
    let found_in_body = matcher
        .find(&cx.response.body)
        .map(|m| m.pattern().as_usize());
    let found = found_in_body.map(|i| (i, true)).or_else(|| {
        cx.response
            .headers
            .iter()
            .find_map(|(_, v)| matcher.find(v.as_bytes()))
            .map(|m| (m.pattern().as_usize(), false))
    });
    if let Some((i, in_body)) = found {
        let placeholder = cx
            .secrets
            .iter()
            .find(|(s, _)| s == secrets[i])
            .map_or("a secret", |(_, p)| p.as_str());
        let place = if in_body { "body" } else { "headers" };
        return Some(Err(Failure::new(format!(
            "the response {place} contains {placeholder}, a secret it must never show"
        ))
        .expected("no credential or earlier token secret in the response")
        .actual(format!("{placeholder} in the {place}"))
        .at("#/components/schemas/UserAccessToken/properties/token")));
    }
    Some(Ok(()))
}
