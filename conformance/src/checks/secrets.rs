//! No credential and no earlier token secret appears in a response body or header.

use super::{Failure, Outcome, ResponseCx};

pub fn no_secret_leak(cx: &ResponseCx) -> Outcome {
    let body = String::from_utf8_lossy(&cx.response.body);
    for (secret, placeholder) in cx.secrets {
        let in_body = body.contains(secret.as_str());
        let in_header = cx
            .response
            .headers
            .iter()
            .any(|(_, v)| v.contains(secret.as_str()));
        if in_body || in_header {
            return Some(Err(Failure::new(format!(
                "the response {} contains {placeholder}, a secret it must never show",
                if in_body { "body" } else { "headers" }
            ))
            .expected("no credential or earlier token secret in the response")
            .actual(format!(
                "{placeholder} in the {}",
                if in_body { "body" } else { "headers" }
            ))
            .at("#/components/schemas/UserAccessToken/properties/token")));
        }
    }
    Some(Ok(()))
}
