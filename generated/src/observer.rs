//! Recording: one function sends a request and returns its own exchange record, and the
//! `ClientHooks` implementation routes every typed call through it (or through a caller's
//! transport that uses it), so typed and raw requests are recorded by the same code.

use crate::generated::Client;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One request and what came back, as bytes on the wire.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The spec's operationId (empty when the caller did not name one).
    pub operation_id: String,
    pub method: String,
    pub url: String,
    /// Every header that went out, including those added by the `Observer`.
    pub request_headers: Vec<(String, String)>,
    /// `None` when the request had no body (or a streamed one).
    pub request_body: Option<Vec<u8>>,
    /// The response, or why there was none.
    pub response: Result<RecordedResponse, TransportError>,
    /// From sending the request to the last byte of the body.
    pub duration: Duration,
}

#[derive(Debug, Clone)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedResponse {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type of `Content-Type`, lower-cased, without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What kind of failure left a request without a response. Retry policies depend on it: only
/// [`TransportErrorKind::Connect`] proves that the request never reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportErrorKind {
    /// No connection was established (refused, DNS, TLS handshake): nothing was sent.
    Connect,
    /// No answer within the timeout; the server may have acted on the request.
    Timeout,
    /// The connection broke after the request was sent (reset, closed without an answer,
    /// a truncated body); the server may have acted on the request.
    Broken,
    /// The answer broke one of the recorder's bounds (say a body past the size cap): the
    /// server answered, but with something no client should have to hold. Retrying gets the
    /// same answer, so it is not retried.
    Limit,
}

/// Why a request got no response, as a sentence for people (no Rust `Debug` output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    pub kind: TransportErrorKind,
    pub message: String,
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl TransportError {
    /// Classifies a reqwest error and says its cause in words: "DNS lookup of HOST failed",
    /// "connection refused by HOST:PORT", "TLS certificate of HOST not trusted", rather than
    /// reqwest's chain of wrappers ("error sending request for url: client error (Connect)").
    pub fn from_reqwest(e: &reqwest::Error, timeout: Option<Duration>) -> Self {
        let kind = if e.is_timeout() {
            TransportErrorKind::Timeout
        } else if e.is_connect() {
            TransportErrorKind::Connect
        } else {
            TransportErrorKind::Broken
        };
        let message = match (kind, timeout) {
            (TransportErrorKind::Timeout, Some(t)) => {
                format!("timed out after {} s", fmt_seconds(t))
            }
            (TransportErrorKind::Timeout, None) => "timed out".to_owned(),
            _ => in_words(e),
        };
        TransportError { kind, message }
    }
}

/// The cause of a failed request, in words a person reads.
fn in_words(e: &reqwest::Error) -> String {
    let host = e
        .url()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "the target".into());
    let host_port = e
        .url()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .unwrap_or_else(|| host.clone());
    // The chain, outermost first; reqwest's own texts repeat the URL, which the exchange
    // already names.
    let mut chain: Vec<String> = Vec::new();
    let mut io_kind = None;
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        let text = s.to_string().replace(&format!(" ({})", url_of(e)), "");
        chain.push(text);
        source = s.source();
    }
    let all = chain.join(": ").to_lowercase();
    let root = chain.last().cloned().unwrap_or_default();
    use std::io::ErrorKind;
    if all.contains("dns error") || all.contains("failed to lookup address") {
        format!("DNS lookup of {host} failed (no such host, or no DNS server answered)")
    } else if io_kind == Some(ErrorKind::ConnectionRefused) || all.contains("connection refused") {
        format!("connection refused by {host_port} (nothing listens there)")
    } else if all.contains("certificate") || all.contains("unknownissuer") {
        format!(
            "TLS certificate of {host} not trusted: {}",
            certificate_problem(&all, &host)
        )
    } else if all.contains("tls") || all.contains("handshake") {
        format!("TLS handshake with {host_port} failed: {root}")
    } else if io_kind == Some(ErrorKind::ConnectionReset) || all.contains("connection reset") {
        format!("connection reset by {host_port}")
    } else if all.contains("connection closed before message completed")
        || all.contains("incomplete message")
    {
        format!("{host_port} closed the connection before a complete answer")
    } else if e.is_connect() {
        format!("could not connect to {host_port}: {root}")
    } else if e.is_body() || e.is_decode() {
        format!("the answer's body from {host_port} could not be read: {root}")
    } else {
        format!("no answer from {host_port}: {root}")
    }
}

/// rustls's certificate errors, in words (its texts are debug forms such as
/// `Other(OtherError(CaUsedAsEndEntity))`).
fn certificate_problem(all: &str, host: &str) -> String {
    if all.contains("causedasendentity") {
        "the server presents a CA certificate (CA:TRUE, as `openssl req -x509` makes one) as its own; give that very certificate with --ca-cert to trust it for the names it carries".to_owned()
    } else if all.contains("notvalidforname") || all.contains("not valid for name") {
        format!(
            "it is not issued for the name {host}; use the host name the certificate names in --base-url"
        )
    } else if all.contains("expired") {
        "it has expired".to_owned()
    } else if all.contains("notvalidyet") {
        "it is not valid yet (check this machine's clock)".to_owned()
    } else if all.contains("unknownissuer") {
        "it is signed by an authority this machine does not trust; if that is a private CA, give the CA's certificate with --ca-cert".to_owned()
    } else {
        "if it is signed by a private CA, give that CA with --ca-cert".to_owned()
    }
}

fn url_of(e: &reqwest::Error) -> String {
    e.url().map(|u| u.to_string()).unwrap_or_default()
}

fn fmt_seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{:.1}", d.as_secs_f64())
    }
}

/// Header name/value pairs as text (values that are not UTF-8 are shown lossily).
pub fn header_pairs(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// The response body cap when the caller gives none: far above any list a person's account
/// holds (thousands of tokens are about 1 MiB), far below what would hurt a CI runner.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Reads a response body, at most `max_body` bytes of it. A body past the cap (announced by
/// `Content-Length` or found while streaming) is a [`TransportErrorKind::Limit`] failure: an
/// endless or huge body never grows the runner. The client's timeout bounds the whole read,
/// so a body that trickles in forever ends at the deadline too.
async fn read_capped(
    response: &mut reqwest::Response,
    max_body: usize,
) -> Result<Vec<u8>, Result<TransportError, reqwest::Error>> {
    let too_large = |what: String| {
        Err(Ok(TransportError {
            kind: TransportErrorKind::Limit,
            message: format!(
                "the response body is {what}, more than the {max_body}-byte cap (--max-body-bytes raises it)"
            ),
        }))
    };
    if let Some(length) = response.content_length()
        && length > max_body as u64
    {
        return too_large(format!("{length} bytes (Content-Length)"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Err)? {
        let needed = body.len() + chunk.len();
        if needed > max_body {
            return too_large("still coming after the cap".to_owned());
        }
        // Grow by doubling, but never past the cap: a body read up to an 8 MiB cap holds
        // 8 MiB, not the 16 MiB a doubling `Vec` would reserve on its way there.
        if needed > body.capacity() {
            let grown = needed.max(body.capacity() * 2).min(max_body);
            body.reserve_exact(grown - body.len());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A response whose body, when read, fails with `message`: what the typed layer gets for an
/// answer that broke a bound (it has no other way to carry the recorder's own error), or for
/// a request a caller's transport decided not to send.
pub fn failing_response(
    status: reqwest::StatusCode,
    headers: reqwest::header::HeaderMap,
    message: String,
) -> reqwest::Response {
    let stream = futures_util::stream::once(async move {
        Err::<Vec<u8>, std::io::Error>(std::io::Error::other(message))
    });
    let mut rebuilt = http::Response::new(reqwest::Body::wrap_stream(stream));
    *rebuilt.status_mut() = status;
    *rebuilt.headers_mut() = headers;
    reqwest::Response::from(rebuilt)
}

/// Sends one request and returns its exchange record with the response. The response (when
/// there is one) is rebuilt from the recorded bytes, so a typed layer decodes exactly what
/// was recorded. `timeout` is only used to word a timeout ("timed out after 15 s"); a body
/// longer than `max_body` bytes is not kept (see [`DEFAULT_MAX_BODY_BYTES`]).
pub async fn send_recorded(
    http: &reqwest::Client,
    request: reqwest::Request,
    operation_id: &str,
    timeout: Option<Duration>,
    max_body: usize,
) -> (Exchange, reqwest::Result<reqwest::Response>) {
    let mut request = request;
    request
        .headers_mut()
        .entry(reqwest::header::ACCEPT_ENCODING)
        .or_insert(reqwest::header::HeaderValue::from_static(
            crate::coding::ACCEPT_ENCODING,
        ));
    let mut exchange = Exchange {
        operation_id: operation_id.to_owned(),
        method: request.method().to_string(),
        url: request.url().to_string(),
        request_headers: header_pairs(request.headers()),
        request_body: request
            .body()
            .and_then(|b| b.as_bytes())
            .map(<[u8]>::to_vec),
        response: Err(TransportError {
            kind: TransportErrorKind::Broken,
            message: String::new(),
        }),
        duration: Duration::ZERO,
    };
    let started = Instant::now();
    let mut response = match http.execute(request).await {
        Ok(r) => r,
        Err(e) => {
            exchange.duration = started.elapsed();
            exchange.response = Err(TransportError::from_reqwest(&e, timeout));
            return (exchange, Err(e));
        }
    };
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let body = match read_capped(&mut response, max_body).await {
        Ok(b) => b,
        Err(Err(e)) => {
            exchange.duration = started.elapsed();
            exchange.response = Err(TransportError::from_reqwest(&e, timeout));
            return (exchange, Err(e));
        }
        Err(Ok(limit)) => {
            exchange.duration = started.elapsed();
            let message = limit.message.clone();
            exchange.response = Err(limit);
            return (exchange, Ok(failing_response(status, headers, message)));
        }
    };
    exchange.duration = started.elapsed();
    let body = match crate::coding::decode(
        headers
            .get(reqwest::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
        body.to_vec(),
        // A body allowed in by `max_body` may decode to as much again.
        max_body.max(crate::coding::DEFAULT_MAX_DECODED_BYTES),
    ) {
        Ok(decoded) => decoded,
        Err(e) => {
            exchange.response = Err(TransportError {
                kind: TransportErrorKind::Broken,
                message: e.to_string(),
            });
            return (
                exchange,
                Ok(reqwest::Response::from(http::Response::new(body))),
            );
        }
    };
    exchange.response = Ok(RecordedResponse {
        status: status.as_u16(),
        headers: header_pairs(&headers),
        body: body.clone(),
    });
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    (exchange, Ok(reqwest::Response::from(rebuilt)))
}

/// The future a [`Transport`] returns.
pub type SendFuture = Pin<Box<dyn Future<Output = reqwest::Result<reqwest::Response>> + Send>>;

/// A caller's way of sending a typed call's request: pacing, retries and recording happen
/// there (usually around [`send_recorded`]). It receives the reqwest client, the request
/// (with the `Observer`'s headers already added) and the operationId.
pub type Transport =
    dyn Fn(reqwest::Client, reqwest::Request, &'static str) -> SendFuture + Send + Sync;

/// The client's inner value: headers added to every typed request (where a recording sees
/// them, unlike reqwest's default headers) and an optional transport that sends it.
/// `Observer::default()` adds nothing and sends directly.
#[derive(Clone, Default)]
pub struct Observer {
    headers: reqwest::header::HeaderMap,
    transport: Option<Arc<Transport>>,
}

impl Observer {
    /// Records every typed call: `callback` receives each exchange (made by
    /// [`send_recorded`]) before the typed layer decodes the response.
    pub fn new(callback: impl Fn(Exchange) + Send + Sync + 'static) -> Self {
        let callback = Arc::new(callback);
        Observer::default().with_transport(Arc::new(move |http, request, operation_id| {
            let callback = callback.clone();
            Box::pin(async move {
                let timeout = request.timeout().copied();
                let (exchange, response) = send_recorded(
                    &http,
                    request,
                    operation_id,
                    timeout,
                    DEFAULT_MAX_BODY_BYTES,
                )
                .await;
                callback(exchange);
                response
            })
        }))
    }

    /// Sends every typed request through `transport` instead of directly.
    pub fn with_transport(mut self, transport: Arc<Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Adds a header to every typed request (e.g. `Authorization`, marked sensitive).
    pub fn with_header(
        mut self,
        name: reqwest::header::HeaderName,
        value: reqwest::header::HeaderValue,
    ) -> Self {
        self.headers.insert(name, value);
        self
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may be credentials: name the headers only.
        let names: Vec<&str> = self.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("Observer")
            .field("headers", &names)
            .field("transport", &self.transport.is_some())
            .finish()
    }
}

impl ClientHooks<Observer> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        for (name, value) in &self.inner().headers {
            request.headers_mut().insert(name, value.clone());
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        match &self.inner().transport {
            Some(transport) => transport(self.client().clone(), request, info.operation_id).await,
            None => self.client().execute(request).await,
        }
    }
}
