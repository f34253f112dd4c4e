//! HTTP semantics (RFC 9110) every answer must respect, whatever the operation: a 401
//! carries a challenge, a 204 has no content, and `Content-Length` tells the truth. A method
//! the spec does not document on a path is judged by the validation suite's scenarios
//! ([`method_not_allowed`]), because the response checks only see documented operations.

use super::{Failure, Outcome, ResponseCx};
use crate::exchange::RawResponse;

/// Where the spec states that its 401 answers carry the challenge.
pub const UNAUTHORIZED_POINTER: &str =
    "#/components/responses/Unauthorized/headers/WWW-Authenticate";

/// RFC 9110 §11.6.1: a server generating a 401 MUST send a `WWW-Authenticate` header field
/// containing at least one challenge.
pub fn www_authenticate(cx: &ResponseCx) -> Outcome {
    if cx.response.status != 401 {
        return None;
    }
    let challenge = cx.response.header("www-authenticate").unwrap_or("").trim();
    Some(if challenge.is_empty() {
        Err(Failure::new(format!(
            "{} {} answered 401 without a WWW-Authenticate challenge (RFC 9110, section 11.6.1)",
            cx.op.method, cx.op.path
        ))
        .expected("WWW-Authenticate: <scheme> ...")
        .actual("no WWW-Authenticate header")
        .at(UNAUTHORIZED_POINTER))
    } else {
        Ok(())
    })
}

/// RFC 9110 §15.3.5 and §8.6: a 204 has no content (and no `Content-Length` but 0);
/// elsewhere a `Content-Length` equals the length of the content received.
pub fn content_length(cx: &ResponseCx) -> Outcome {
    let r = cx.response;
    let declared = r.header("content-length").map(str::trim);
    if r.status == 204 {
        let declared_zero = declared.is_none_or(|d| d == "0");
        return Some(if r.body.is_empty() && declared_zero {
            Ok(())
        } else {
            Err(Failure::new(format!(
                "{} {} answered 204 with content (RFC 9110, section 15.3.5: a 204 has none)",
                cx.op.method, cx.op.path
            ))
            .expected("no content and no Content-Length other than 0")
            .actual(format!(
                "{} bytes, Content-Length {}",
                r.body.len(),
                declared.unwrap_or("absent")
            )))
        });
    }
    let declared = declared?;
    // Content-Length counts the coded bytes; the recorded body is the decoded content
    // (RFC 9110, section 8.6), so a coded answer's length cannot be compared here.
    if r.header("content-encoding")
        .is_some_and(|c| !abp_tokens_client::coding::codings(c).is_empty())
    {
        return None;
    }
    Some(match declared.parse::<usize>() {
        Ok(n) if n == r.body.len() => Ok(()),
        _ => Err(Failure::new(format!(
            "{} {} declared a Content-Length that is not the length of its content (RFC 9110, section 8.6)",
            cx.op.method, cx.op.path
        ))
        .expected(r.body.len().to_string())
        .actual(declared.to_owned())),
    })
}

/// RFC 9110 §15.5.6: a method the target resource does not support answers 405 with an
/// `Allow` header listing the methods it does support; never a success or a server error.
pub fn method_not_allowed(
    method: &str,
    path: &str,
    documented: &[String],
    answer: &RawResponse,
) -> Result<(), Failure> {
    let allow: Vec<String> = answer
        .header("allow")
        .unwrap_or("")
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .collect();
    let missing: Vec<&String> = documented.iter().filter(|m| !allow.contains(m)).collect();
    if answer.status == 405 && missing.is_empty() && !allow.iter().any(|m| m == method) {
        return Ok(());
    }
    let why = if answer.status != 405 {
        format!(
            "{method} {path}, which the spec does not document, answered {} (RFC 9110, section 15.5.6: 405 with Allow)",
            answer.status
        )
    } else {
        format!(
            "the 405 to {method} {path} has an Allow header that does not list exactly the documented methods"
        )
    };
    Err(Failure::new(why)
        .expected(format!("405 with Allow: {}", documented.join(", ")))
        .actual(format!(
            "{} with Allow: {}",
            answer.status,
            answer.header("allow").unwrap_or("(none)")
        )))
}
