//! Content codings (RFC 9110, section 8.4): what a request accepts, and the decoding of an
//! answer's content before it is recorded and judged.
//!
//! A request without `Accept-Encoding` accepts any coding (RFC 9110, section 12.5.3), so a
//! correct server may gzip its answers to it. The client therefore says what it can decode
//! ([`ACCEPT_ENCODING`]) and decodes it; a conformant server uses one of those codings or
//! none. The recorded answer keeps its `Content-Encoding` header, so the record still says
//! what the server did, while its body is the decoded content every check reads.
//!
//! Decoding is bounded: a small compressed body can expand to gigabytes, so more than the
//! caller's limit of decoded bytes is an error, not an allocation.

use std::io::Read;

/// What every request sent through `send_recorded` accepts, unless it names its own.
pub const ACCEPT_ENCODING: &str = "gzip, deflate";

/// The most decoded bytes one answer may expand to by default (16 MiB).
pub const DEFAULT_MAX_DECODED_BYTES: usize = 16 * 1024 * 1024;

/// Why an answer's content could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The server used a coding the request did not accept.
    Unsupported(String),
    /// The content is not valid in its coding.
    Corrupt { coding: String, message: String },
    /// The content expands beyond the limit.
    TooLarge { coding: String, limit: usize },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Unsupported(coding) => write!(
                f,
                "the answer uses the content coding {coding}, which the request did not accept (Accept-Encoding: {ACCEPT_ENCODING})"
            ),
            DecodeError::Corrupt { coding, message } => {
                write!(
                    f,
                    "the answer's {coding} content cannot be decoded: {message}"
                )
            }
            DecodeError::TooLarge { coding, limit } => write!(
                f,
                "the answer's {coding} content decodes to more than {limit} bytes"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// The codings of a `Content-Encoding` value, in the order they were applied; `identity`
/// and empty members are left out.
pub fn codings(content_encoding: &str) -> Vec<String> {
    content_encoding
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .collect()
}

/// The content with every coding of `content_encoding` undone (the last applied first), at
/// most `limit` bytes. Content without a coding is returned as it is.
pub fn decode(
    content_encoding: Option<&str>,
    body: Vec<u8>,
    limit: usize,
) -> Result<Vec<u8>, DecodeError> {
    let mut body = body;
    if body.is_empty() {
        // A 204, a HEAD answer or a 304 has no content to decode, whatever its header says.
        return Ok(body);
    }
    for coding in codings(content_encoding.unwrap_or("")).iter().rev() {
        body = match coding.as_str() {
            // RFC 9110, section 8.4.1.3: x-gzip is gzip.
            "gzip" | "x-gzip" => {
                read_bounded(flate2::read::MultiGzDecoder::new(&body[..]), coding, limit)?
            }
            // RFC 9110, section 8.4.1.2: zlib; some servers send raw deflate instead.
            "deflate" => {
                match read_bounded(flate2::read::ZlibDecoder::new(&body[..]), coding, limit) {
                    Err(DecodeError::Corrupt { .. }) => {
                        read_bounded(flate2::read::DeflateDecoder::new(&body[..]), coding, limit)?
                    }
                    other => other?,
                }
            }
            other => return Err(DecodeError::Unsupported(other.to_owned())),
        };
    }
    Ok(body)
}

fn read_bounded(reader: impl Read, coding: &str, limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Corrupt {
            coding: coding.to_owned(),
            message: e.to_string(),
        })?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge {
            coding: coding.to_owned(),
            limit,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_and_both_deflate_forms_decode() {
        let json = br#"[{"name":"a"}]"#.to_vec();
        assert_eq!(decode(Some("gzip"), gzip(&json), 100).unwrap(), json);
        assert_eq!(decode(Some("X-GZIP"), gzip(&json), 100).unwrap(), json);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&json).unwrap();
        assert_eq!(
            decode(Some("deflate"), z.finish().unwrap(), 100).unwrap(),
            json
        );
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
        raw.write_all(&json).unwrap();
        assert_eq!(
            decode(Some("deflate"), raw.finish().unwrap(), 100).unwrap(),
            json
        );
        assert_eq!(decode(None, json.clone(), 100).unwrap(), json);
        assert_eq!(decode(Some("identity"), json.clone(), 100).unwrap(), json);
    }

    #[test]
    fn a_bomb_stops_at_the_limit_and_junk_is_named() {
        let big = gzip(&vec![b'a'; 10_000]);
        assert!(big.len() < 200);
        assert_eq!(
            decode(Some("gzip"), big, 1000),
            Err(DecodeError::TooLarge {
                coding: "gzip".into(),
                limit: 1000
            })
        );
        let err = decode(Some("gzip"), b"not gzip".to_vec(), 1000).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the answer's gzip content cannot be decoded")
        );
        let err = decode(Some("br"), b"x".to_vec(), 1000).unwrap_err();
        assert_eq!(err, DecodeError::Unsupported("br".into()));
    }

    #[test]
    fn stacked_codings_are_undone_last_first() {
        let json = b"{}".to_vec();
        assert_eq!(
            decode(Some("gzip, gzip"), gzip(&gzip(&json)), 100).unwrap(),
            json
        );
    }
}
