//! The `ClientHooks` implementation: execute, record, rebuild.

use crate::generated::Client;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use std::sync::Arc;

/// One request and what came back, as bytes on the wire.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub operation_id: &'static str,
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    /// `None` when the request had no body (or a streamed one).
    pub request_body: Option<Vec<u8>>,
    /// The response, or the transport error's text.
    pub response: Result<RecordedResponse, String>,
}

#[derive(Debug, Clone)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

type Callback = dyn Fn(Exchange) + Send + Sync;

/// The client's inner value: an optional callback that sees every exchange.
/// `Observer::default()` observes nothing.
#[derive(Clone, Default)]
pub struct Observer(Option<Arc<Callback>>);

impl Observer {
    pub fn new(callback: impl Fn(Exchange) + Send + Sync + 'static) -> Self {
        Observer(Some(Arc::new(callback)))
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(callback)"
        } else {
            "Observer(none)"
        })
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

impl ClientHooks<Observer> for Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let Some(callback) = &self.inner().0 else {
            return self.client().execute(request).await;
        };
        let method = request.method().to_string();
        let url = request.url().to_string();
        let request_headers = header_pairs(request.headers());
        let request_body = request
            .body()
            .and_then(|b| b.as_bytes())
            .map(<[u8]>::to_vec);
        let mut exchange = Exchange {
            operation_id: info.operation_id,
            method,
            url,
            request_headers,
            request_body,
            response: Err(String::new()),
        };
        let response = match self.client().execute(request).await {
            Ok(r) => r,
            Err(e) => {
                exchange.response = Err(e.to_string());
                callback(exchange);
                return Err(e);
            }
        };
        let status = response.status();
        let version = response.version();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                exchange.response = Err(e.to_string());
                callback(exchange);
                return Err(e);
            }
        };
        exchange.response = Ok(RecordedResponse {
            status: status.as_u16(),
            headers: header_pairs(&headers),
            body: body.to_vec(),
        });
        callback(exchange);
        // Rebuild the response so the typed layer decodes exactly the bytes we recorded.
        let mut rebuilt = http::Response::new(body);
        *rebuilt.status_mut() = status;
        *rebuilt.version_mut() = version;
        *rebuilt.headers_mut() = headers;
        Ok(reqwest::Response::from(rebuilt))
    }
}
