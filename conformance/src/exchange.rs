//! One request and its response, raw (inside the runner) and redacted (in events).

use crate::redact::Redactor;
use serde::Serialize;

/// What the runner saw on the wire, recorded by the client crate's `send_recorded`. Holds
/// secrets; never leaves the runner.
pub use abp_tokens_client::{Exchange as RawExchange, RecordedResponse as RawResponse};

/// A failed typed call, in words for people: which status, and for a body the typed layer
/// could not decode, the field and what was expected (never Rust `Debug` output).
pub fn describe_client_error<E: std::fmt::Debug>(
    e: &abp_tokens_client::Error<E>,
    redactor: &Redactor,
) -> String {
    use abp_tokens_client::Error;
    let text = match e {
        Error::ErrorResponse(rv) => format!("the documented error status {}", rv.status().as_u16()),
        Error::UnexpectedResponse(r) => format!(
            "status {}, which the spec does not document for this operation",
            r.status().as_u16()
        ),
        Error::InvalidResponsePayload(_, err) => {
            format!("the body does not match the spec's schema: {err}")
        }
        Error::CommunicationError(err) | Error::ResponseBodyError(err) => {
            abp_tokens_client::TransportError::from_reqwest(err, None).message
        }
        Error::InvalidRequest(m) | Error::Custom(m) => m.clone(),
        other => other.to_string(),
    };
    redactor.apply(&text)
}

/// Bodies in events are cut here; a 64 KiB request body says how long it was instead.
pub const BODY_EXCERPT_BYTES: usize = 2048;

/// An exchange as reporters see it: secrets replaced, bodies cut to an excerpt.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExchangeRecord {
    pub scenario: String,
    /// Position within the scenario, from 0.
    pub index: usize,
    /// The spec's operationId.
    pub operation: String,
    pub method: String,
    pub url: String,
    /// Path relative to the base URL, e.g. `/me/tokens`.
    pub path: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub request_body_bytes: usize,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    pub response_body: Option<String>,
    pub response_body_bytes: usize,
    /// The transport error, when there was no response.
    pub error: Option<String>,
    pub duration_ms: u64,
    /// A shell line that replays the request, with `$ABP_TOKEN`-style variables for secrets.
    pub curl: String,
}

impl ExchangeRecord {
    /// What came back, in a few words: `204`, `400 (application/json)` or `no response`.
    pub fn outcome(&self) -> String {
        let status = self
            .status
            .map_or_else(|| "no response".into(), |s| s.to_string());
        match &self.content_type {
            Some(c) => format!("{status} ({c})"),
            None => status,
        }
    }
}

/// Headers a replay or a report does not need.
const NOISE_HEADERS: [&str; 4] = ["host", "content-length", "accept-encoding", "connection"];

impl ExchangeRecord {
    pub fn new(
        raw: &RawExchange,
        scenario: &str,
        index: usize,
        operation: &str,
        base_url: &str,
        redactor: &Redactor,
    ) -> Self {
        let path = raw
            .url
            .strip_prefix(base_url)
            .unwrap_or(&raw.url)
            .to_owned();
        let request_headers: Vec<(String, String)> = raw
            .request_headers
            .iter()
            .filter(|(k, _)| !NOISE_HEADERS.contains(&k.to_ascii_lowercase().as_str()))
            .map(|(k, v)| (k.to_ascii_lowercase(), redactor.apply(v)))
            .collect();
        let request_body = raw.request_body.as_ref().map(|b| excerpt(b, redactor));
        let (status, content_type, response_body, response_body_bytes, error) = match &raw.response
        {
            Ok(r) => (
                Some(r.status),
                // Every header is server text: a credential echoed in a parameter is redacted.
                r.header("content-type").map(|c| redactor.scrub(c)),
                Some(if withheld(raw, r) {
                    format!(
                        "[withheld: {} bytes that do not parse as JSON; a create's answer may hold a secret]",
                        r.body.len()
                    )
                } else {
                    excerpt(&r.body, redactor)
                }),
                r.body.len(),
                None,
            ),
            Err(e) => (None, None, None, 0, Some(redactor.scrub(&e.message))),
        };
        let curl = curl_line(
            &raw.method,
            &redactor.apply(&raw.url),
            &request_headers,
            raw.request_body.as_deref(),
            redactor,
        );
        ExchangeRecord {
            scenario: scenario.to_owned(),
            index,
            operation: operation.to_owned(),
            method: raw.method.clone(),
            url: redactor.apply(&raw.url),
            path: redactor.apply(&path),
            request_headers,
            request_body,
            request_body_bytes: raw.request_body.as_ref().map_or(0, Vec::len),
            status,
            content_type,
            response_body,
            response_body_bytes,
            error,
            duration_ms: raw.duration.as_millis() as u64,
            curl,
        }
    }
}

/// A successful POST whose body does not parse is never shown: it may be a create's answer
/// whose secret the redactor could not be sure to learn.
fn withheld(raw: &RawExchange, r: &RawResponse) -> bool {
    raw.method.eq_ignore_ascii_case("POST")
        && (200..300).contains(&r.status)
        && !r.body.is_empty()
        && serde_json::from_slice::<serde::de::IgnoredAny>(&r.body).is_err()
}

/// How far past the excerpt a body is read before redaction: longer than any secret, so a
/// secret that starts inside the excerpt is whole when it is replaced.
const EXCERPT_SLACK_BYTES: usize = 1024;

fn excerpt(bytes: &[u8], redactor: &Redactor) -> String {
    // Only the start is redacted and kept: a 60 MB list costs no more than a small one.
    let window = &bytes[..bytes.len().min(BODY_EXCERPT_BYTES + EXCERPT_SLACK_BYTES)];
    let text = String::from_utf8_lossy(window);
    let text = redactor.scrub_body(&text);
    if text.len() <= BODY_EXCERPT_BYTES && window.len() == bytes.len() {
        return text;
    }
    let mut cut = BODY_EXCERPT_BYTES.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..cut], bytes.len())
}

/// Placeholders become shell variables in a replay line.
fn placeholders_to_variables(text: &str) -> String {
    let mut out = text.to_owned();
    for role in crate::roles::Role::ALL {
        let var = role.env_var();
        out = out.replace(
            &format!("[tampered {var}]"),
            &format!("${{{var}}}-tampered"),
        );
        out = out.replace(&format!("[{var}]"), &format!("${var}"));
    }
    out.replace(crate::redact::CREATED_SECRET, "$CREATED_TOKEN")
}

/// Double-quoted shell word in which `$VAR` still expands (placeholders became variables).
fn shell_double_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Single-quoted shell word: nothing expands.
fn shell_single_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn curl_line(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    redactor: &Redactor,
) -> String {
    let mut line = format!("curl -sS -i -X {method} {}", shell_single_quote(url));
    for (k, v) in headers {
        // curl asks for and decodes the codings itself; a literal header would print the
        // coded bytes.
        if k.eq_ignore_ascii_case("accept-encoding") {
            line.push_str(" --compressed");
            continue;
        }
        line.push_str(" -H ");
        line.push_str(&shell_double_quote(&placeholders_to_variables(&format!(
            "{k}: {v}"
        ))));
    }
    if let Some(body) = body {
        if body.len() > BODY_EXCERPT_BYTES {
            line.push_str(&format!(
                " --data-binary @body.bin  # the {}-byte body is not reproduced here",
                body.len()
            ));
        } else {
            let text = redactor.apply(&String::from_utf8_lossy(body));
            line.push_str(" --data-binary ");
            line.push_str(&shell_single_quote(&text));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_redacts_and_replays_with_variables() {
        let redactor = Redactor::default();
        redactor.add("s3cr3t-credential", "[ABP_TOKEN]");
        redactor.add("uat_created", crate::redact::CREATED_SECRET);
        let raw = RawExchange {
            operation_id: "createMyToken".into(),
            method: "POST".into(),
            url: "http://h/api/v1/me/tokens".into(),
            request_headers: vec![
                ("Authorization".into(), "Bearer s3cr3t-credential".into()),
                ("content-type".into(), "application/json".into()),
                ("host".into(), "h".into()),
            ],
            request_body: Some(br#"{"name":"it's"}"#.to_vec()),
            response: Ok(RawResponse {
                status: 201,
                headers: vec![("content-type".into(), "application/json".into())],
                body: br#"{"token":"uat_created"}"#.to_vec(),
            }),
            duration: std::time::Duration::from_millis(3),
        };
        let rec = ExchangeRecord::new(&raw, "s", 0, "createMyToken", "http://h/api/v1", &redactor);
        assert_eq!(rec.path, "/me/tokens");
        assert_eq!(
            rec.response_body.as_deref(),
            Some(r#"{"token":"[created-secret]"}"#)
        );
        let all = serde_json::to_string(&rec).unwrap();
        assert!(!all.contains("s3cr3t"), "{all}");
        assert!(!all.contains("uat_created"), "{all}");
        assert_eq!(
            rec.curl,
            r#"curl -sS -i -X POST 'http://h/api/v1/me/tokens' -H "authorization: Bearer $ABP_TOKEN" -H "content-type: application/json" --data-binary '{"name":"it'\''s"}'"#
        );
    }
}
