//! No credential and no earlier token secret appears in a response body or header.

use super::{Failure, Outcome, ResponseCx};

pub fn no_secret_leak(cx: &ResponseCx) -> Outcome {
    // One pass over the body for every secret at once (the run's matcher): a list of
    // thousands of tokens, in a run that has created hundreds, is read once.
    let in_body = cx
        .secrets
        .found_in(&cx.response.body)
        .find(|i| cx.is_earlier(*i))
        .map(|i| (i, "body"));
    let found = in_body.or_else(|| {
        cx.response.headers.iter().find_map(|(_, v)| {
            cx.secrets
                .found_in(v.as_bytes())
                .find(|i| cx.is_earlier(*i))
                .map(|i| (i, "headers"))
        })
    });
    let Some((i, place)) = found else {
        return Some(Ok(()));
    };
    let placeholder = cx.secrets.entries[i].1.as_str();
    // A created token's secret is the token's secret field; anything else is a caller's
    // credential, which the security schemes describe.
    let fields = &cx.contract.fields;
    let at = if placeholder == crate::redact::CREATED_SECRET {
        fields.pointer(&fields.secret)
    } else {
        "#/components/securitySchemes".to_owned()
    };
    Some(Err(Failure::new(format!(
        "the response {place} contains {placeholder}, a secret it must never show"
    ))
    .expected("no credential or earlier token secret in the response")
    .actual(format!("{placeholder} in the {place}"))
    .at(at)))
}
