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
/// containing at least one challenge; the spec's Unauthorized response says the challenge
/// names its bearer scheme. So the value is judged, not only the presence: across every
/// `WWW-Authenticate` field line, one challenge must name (case-insensitively, §11.1) a scheme
/// of the spec's `type: http` security schemes. A challenge for another scheme alone (`Basic`
/// from a proxy or a framework default) tells a client nothing it can use.
pub fn www_authenticate(cx: &ResponseCx) -> Outcome {
    if cx.response.status != 401 {
        return None;
    }
    let lines: Vec<&str> = cx
        .response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    if lines.is_empty() {
        return Some(Err(Failure::new(format!(
            "{} {} answered 401 without a WWW-Authenticate challenge (RFC 9110, section 11.6.1)",
            cx.op.method, cx.op.path
        ))
        .expected("WWW-Authenticate: <scheme> ...")
        .actual("no WWW-Authenticate header")
        .at(UNAUTHORIZED_POINTER)));
    }
    let wanted = &cx.contract.challenge_schemes();
    if wanted.is_empty() {
        return Some(Ok(()));
    }
    let named: Vec<String> = lines.iter().flat_map(|l| challenge_schemes(l)).collect();
    Some(
        if named
            .iter()
            .any(|n| wanted.iter().any(|w| w.eq_ignore_ascii_case(n)))
        {
            Ok(())
        } else {
            Err(Failure::new(format!(
                "{} {} answered 401 with a challenge that names none of the spec's HTTP authentication schemes",
                cx.op.method, cx.op.path
            ))
            .expected(format!("a challenge for {}", wanted.join(" or ")))
            .actual(format!("WWW-Authenticate: {}", lines.join(", ")))
            .at(UNAUTHORIZED_POINTER))
        },
    )
}

/// The auth-schemes of the challenges in one `WWW-Authenticate` value (RFC 9110 §11.6.1,
/// §11.2): `challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`, challenges and
/// auth-params both separated by commas. An element that starts with a token followed by
/// whitespace, or that is a lone token, starts a challenge; `name=value` elements are
/// parameters. Quoted strings may hold commas and are skipped whole.
pub fn challenge_schemes(value: &str) -> Vec<String> {
    let mut elements = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if quoted {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
            current.push(c);
        } else if c == '"' {
            quoted = true;
            current.push(c);
        } else if c == ',' {
            elements.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    elements.push(current);
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    elements
        .iter()
        .filter_map(|e| {
            let e = e.trim();
            let token: String = e.chars().take_while(|c| is_tchar(*c)).collect();
            if token.is_empty() {
                return None;
            }
            let rest = &e[token.len()..];
            // `name=value` (with optional whitespace around `=`) is a parameter.
            if rest.trim_start().starts_with('=') {
                return None;
            }
            (rest.is_empty() || rest.starts_with(char::is_whitespace)).then_some(token)
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::challenge_schemes;

    #[test]
    fn challenges_are_told_from_their_parameters() {
        assert_eq!(challenge_schemes("Bearer"), ["Bearer"]);
        assert_eq!(challenge_schemes(r#"Bearer realm="/api/v1""#), ["Bearer"]);
        // RFC 9110 §11.6.1's own example: two challenges, a quoted comma, escaped quotes.
        assert_eq!(
            challenge_schemes(
                r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#
            ),
            ["Newauth", "Basic"]
        );
        assert_eq!(
            challenge_schemes(r#"Bearer realm="a,b", error="invalid_token", Basic"#),
            ["Bearer", "Basic"]
        );
        assert_eq!(challenge_schemes("Negotiate abc123=="), ["Negotiate"]);
        assert_eq!(challenge_schemes(r#"realm = "x""#), Vec::<String>::new());
        assert!(challenge_schemes("").is_empty());
    }
}
