//! Test conditions: a healthy server that is busy or behind a flaky network, for testing how a
//! client copes. Unlike faults, a server under these conditions still implements the spec; it
//! is just slow, rate-limited, or loses answers on the way.
//!
//! - `latency`: every request waits this long before it is handled.
//! - `rate_limit`: a token bucket shared by all clients, holding one second's worth of
//!   requests and refilled at the rate; a request that finds it empty is answered
//!   `429 Too Many Requests` with `Retry-After: 1` and the spec's JSON error body, and has no
//!   effect.
//! - `drop_every`: every Nth GET or DELETE (counted across the server, after the rate limit)
//!   is handled, and then its connection is closed without any answer. The effect of a dropped
//!   DELETE **is applied**: this is a lost response, not a lost request, which is the case a
//!   client must handle (its retry finds the token already gone). A GET has no effect.
//! - `fail_first_creates`: the first N creates answer 500 with no effect, then the server
//!   serves normally (warming up): a failure that does not reproduce, for `--rerun-failures`.
//!
//! The shapes of a finite staging, each as the real thing answers (issue: right verdicts on
//! a finite staging):
//! - `limit_req`: nginx's `limit_req` (with `nodelay`): a bucket of `burst` requests refilled
//!   at `rate` a second; a request that finds it empty gets nginx's HTML 503 page, with no
//!   `Retry-After`.
//! - `fixed_window`: `express-rate-limit`: `limit` requests per window of `seconds`; past it,
//!   429 with `Retry-After` (the seconds left in the window) and the JSON error body. Every
//!   answer carries `RateLimit-Policy`, `RateLimit-Limit`, `RateLimit-Remaining` and
//!   `RateLimit-Reset` (draft 6 of the IETF fields, as that middleware sends them).
//! - `workers`: `n` workers; every request needs one, and a create holds it for `ms`
//!   milliseconds (a Node service hashing the secret synchronously): the rest queue.
//! - `stall_after`: after N requests the server accepts connections and never answers.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::num::{NonZeroU32, NonZeroU64};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The test conditions of a server; all off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TestConditions {
    /// At most this many requests per second, across all clients; the rest get 429 with
    /// `Retry-After: 1`.
    pub rate_limit: Option<NonZeroU32>,
    /// Close the connection without an answer on every Nth GET or DELETE, after handling it.
    pub drop_every: Option<NonZeroU64>,
    /// Answer the first N creates with 500 and no effect.
    pub fail_first_creates: Option<NonZeroU64>,
    /// nginx's `limit_req`: (rate per second, burst); beyond it an HTML 503.
    pub limit_req: Option<(NonZeroU32, NonZeroU32)>,
    /// A fixed window: (requests, seconds); beyond it 429 with `Retry-After` and the
    /// `RateLimit` fields on every answer.
    pub fixed_window: Option<(NonZeroU32, NonZeroU64)>,
    /// (workers, milliseconds each request holds one).
    pub workers: Option<(NonZeroU32, NonZeroU64)>,
    /// Never answer after this many requests.
    pub stall_after: Option<NonZeroU64>,
}

/// nginx's page for a request `limit_req` rejected (its default `limit_req_status` 503).
const NGINX_503: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// A fixed window's count.
#[derive(Debug)]
struct Window {
    limit: u32,
    length: Duration,
    started: Instant,
    count: u32,
}

impl Window {
    /// Counts a request: whether it is admitted, what is left, and the time to the reset.
    fn count(&mut self, now: Instant) -> (bool, u32, Duration) {
        if now.saturating_duration_since(self.started) >= self.length {
            // Windows are aligned to the first: the next one starts at a multiple.
            let elapsed = now.saturating_duration_since(self.started).as_secs_f64();
            let windows = (elapsed / self.length.as_secs_f64()).floor();
            self.started += self.length.mul_f64(windows);
            self.count = 0;
        }
        self.count += 1;
        let reset = self
            .length
            .saturating_sub(now.saturating_duration_since(self.started));
        let admitted = self.count <= self.limit;
        (admitted, self.limit.saturating_sub(self.count), reset)
    }
}

/// The seconds a rate-limited client is told to wait.
const RETRY_AFTER_SECONDS: u64 = 1;

/// A token bucket: `capacity` tokens, refilled at `capacity` per second.
#[derive(Debug)]
struct Bucket {
    capacity: f64,
    tokens: f64,
    refilled: Instant,
    /// Tokens added per second.
    rate: f64,
}

impl Bucket {
    /// `burst` tokens at most, refilled at `rate` a second.
    fn with(rate: NonZeroU32, burst: NonZeroU32) -> Bucket {
        Bucket {
            capacity: f64::from(burst.get()),
            tokens: f64::from(burst.get()),
            refilled: Instant::now(),
            rate: f64::from(rate.get()),
        }
    }

    fn new(per_second: NonZeroU32) -> Bucket {
        let capacity = f64::from(per_second.get());
        Bucket {
            capacity,
            tokens: capacity,
            refilled: Instant::now(),
            rate: capacity,
        }
    }

    /// Takes a token if there is one.
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The running state of the conditions, the state of their middleware.
#[derive(Debug)]
pub(crate) struct Conditions {
    /// Extra delay per request.
    latency: Option<Duration>,
    /// A request not answered within this time gets a JSON 408.
    request_timeout: Duration,
    bucket: Option<Mutex<Bucket>>,
    drop_every: Option<NonZeroU64>,
    /// GET and DELETE requests seen so far.
    counted: AtomicU64,
    fail_first_creates: u64,
    /// Creates seen so far.
    creates: AtomicU64,
    limit_req: Option<Mutex<Bucket>>,
    window: Option<Mutex<Window>>,
    workers: Option<(tokio::sync::Semaphore, Duration)>,
    stall_after: Option<NonZeroU64>,
    /// Requests seen so far, for `stall_after`.
    seen: AtomicU64,
}

impl Conditions {
    pub fn new(
        conditions: TestConditions,
        latency: Option<Duration>,
        request_timeout: Duration,
    ) -> Conditions {
        Conditions {
            latency,
            request_timeout,
            bucket: conditions.rate_limit.map(|r| Mutex::new(Bucket::new(r))),
            drop_every: conditions.drop_every,
            counted: AtomicU64::new(0),
            fail_first_creates: conditions.fail_first_creates.map_or(0, NonZeroU64::get),
            creates: AtomicU64::new(0),
            limit_req: conditions
                .limit_req
                .map(|(rate, burst)| Mutex::new(Bucket::with(rate, burst))),
            window: conditions.fixed_window.map(|(limit, seconds)| {
                Mutex::new(Window {
                    limit: limit.get(),
                    length: Duration::from_secs(seconds.get()),
                    started: Instant::now(),
                    count: 0,
                })
            }),
            workers: conditions.workers.map(|(n, ms)| {
                (
                    tokio::sync::Semaphore::new(n.get() as usize),
                    Duration::from_millis(ms.get()),
                )
            }),
            stall_after: conditions.stall_after,
            seen: AtomicU64::new(0),
        }
    }

    /// Counts a create; true while the server is still warming up.
    fn warming_up(&self, method: &Method) -> bool {
        if self.fail_first_creates == 0 || method != Method::POST {
            return false;
        }
        self.creates.fetch_add(1, Ordering::Relaxed) < self.fail_first_creates
    }

    fn admit(&self) -> bool {
        self.bucket.as_ref().is_none_or(|b| {
            b.lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(Instant::now())
        })
    }

    /// Counts the request; true when its answer is to be lost.
    fn lose_answer(&self, method: &Method) -> bool {
        let Some(n) = self.drop_every else {
            return false;
        };
        if method != Method::GET && method != Method::DELETE {
            return false;
        }
        let seen = self.counted.fetch_add(1, Ordering::Relaxed) + 1;
        seen.is_multiple_of(n.get())
    }
}

/// Answers 429 above the rate limit.
pub(crate) async fn rate_limit(
    State(c): State<Arc<Conditions>>,
    request: Request,
    next: Next,
) -> Response {
    if c.admit() {
        return next.run(request).await;
    }
    let mut r = ApiError::too_many_requests().into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    r
}

/// The finite-staging shapes, outermost of the conditions: a stalled server answers nothing,
/// a `limit_req` proxy answers its HTML 503, a fixed window answers 429 and labels every
/// answer with its `RateLimit` fields, and a worker pool queues.
pub(crate) async fn finite(
    State(c): State<Arc<Conditions>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(n) = c.stall_after
        && c.seen.fetch_add(1, Ordering::Relaxed) >= n.get()
    {
        tracing::info!("stalled (--stall-after): never answering");
        std::future::pending::<()>().await;
    }
    if let Some(bucket) = &c.limit_req {
        let admitted = bucket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(Instant::now());
        if !admitted {
            let mut r = (axum::http::StatusCode::SERVICE_UNAVAILABLE, NGINX_503).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            return r;
        }
    }
    let mut labels = None;
    if let Some(window) = &c.window {
        let mut w = window.lock().unwrap_or_else(|p| p.into_inner());
        let (admitted, remaining, reset) = w.count(Instant::now());
        labels = Some((w.limit, w.length, remaining, reset));
        drop(w);
        if !admitted {
            let mut r = ApiError::too_many_requests().into_response();
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(reset.as_secs_f64().ceil() as u64),
            );
            label(&mut r, labels);
            return r;
        }
    }
    let mut response = match &c.workers {
        Some((pool, hold)) => {
            let Ok(_worker) = pool.acquire().await else {
                return ApiError::internal("the worker pool is closed").into_response();
            };
            // A create hashes its secret on the worker; everything else is quick, but waits
            // for a free worker all the same (a blocked event loop serves nobody).
            if request.method() == Method::POST {
                tokio::time::sleep(*hold).await;
            }
            next.run(request).await
        }
        None => next.run(request).await,
    };
    label(&mut response, labels);
    response
}

/// The `RateLimit` fields of draft 6, as `express-rate-limit` sends them.
fn label(r: &mut Response, labels: Option<(u32, Duration, u32, Duration)>) {
    let Some((limit, length, remaining, reset)) = labels else {
        return;
    };
    let h = r.headers_mut();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    put(
        "ratelimit-policy",
        format!("{limit};w={}", length.as_secs()),
    );
    put("ratelimit-limit", limit.to_string());
    put("ratelimit-remaining", remaining.to_string());
    put(
        "ratelimit-reset",
        (reset.as_secs_f64().ceil() as u64).to_string(),
    );
}

/// Handles every Nth GET or DELETE, then has the wire layer close the connection instead of
/// answering (see `wire.rs`).
pub(crate) async fn drop_every(
    State(c): State<Arc<Conditions>>,
    request: Request,
    next: Next,
) -> Response {
    let lose = c.lose_answer(request.method());
    let response = next.run(request).await;
    if !lose {
        return response;
    }
    tracing::info!(
        status = response.status().as_u16(),
        "dropping the connection instead of answering (--drop-every)"
    );
    let mut r = response;
    r.headers_mut().insert(
        crate::wire::DROP_CONNECTION_HEADER,
        HeaderValue::from_static("1"),
    );
    r
}

/// Answers the first creates with 500, without handling them.
pub(crate) async fn fail_first_creates(
    State(c): State<Arc<Conditions>>,
    request: Request,
    next: Next,
) -> Response {
    if c.warming_up(request.method()) {
        return ApiError::internal("the server is warming up").into_response();
    }
    next.run(request).await
}

/// Sleeps before handling each request.
pub(crate) async fn latency(
    State(c): State<Arc<Conditions>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(delay) = c.latency {
        tokio::time::sleep(delay).await;
    }
    next.run(request).await
}

/// Answers 408 (and closes the connection) when a request is not handled within the server's
/// request timeout.
pub(crate) async fn timeout(
    State(c): State<Arc<Conditions>>,
    request: Request,
    next: Next,
) -> Response {
    let limit: Duration = c.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_ms = limit.as_millis() as u64, "request timed out");
            let mut r = ApiError::request_timeout().into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conditions(test: TestConditions) -> Conditions {
        Conditions::new(test, None, Duration::from_secs(30))
    }

    #[test]
    fn the_bucket_holds_one_second_and_refills_at_the_rate() {
        let mut b = Bucket::new(NonZeroU32::new(4).unwrap());
        let t0 = b.refilled;
        assert_eq!((0..6).filter(|_| b.take(t0)).count(), 4);
        // A quarter of a second later one token is back.
        let t1 = t0 + Duration::from_millis(250);
        assert!(b.take(t1));
        assert!(!b.take(t1));
        // Idle for long, the bucket holds no more than its capacity.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| b.take(t2)).count(), 4);
    }

    #[test]
    fn every_nth_get_or_delete_loses_its_answer() {
        let c = conditions(TestConditions {
            drop_every: NonZeroU64::new(3),
            ..TestConditions::default()
        });
        let lost: Vec<bool> = [
            Method::GET,
            Method::POST,
            Method::DELETE,
            Method::GET,
            Method::GET,
            Method::GET,
        ]
        .iter()
        .map(|m| c.lose_answer(m))
        .collect();
        assert_eq!(lost, [false, false, false, true, false, false]);
        assert!(!conditions(TestConditions::default()).lose_answer(&Method::GET));
    }

    #[test]
    fn only_the_first_creates_fail() {
        let c = conditions(TestConditions {
            fail_first_creates: NonZeroU64::new(2),
            ..TestConditions::default()
        });
        let failed: Vec<bool> = [Method::GET, Method::POST, Method::POST, Method::POST]
            .iter()
            .map(|m| c.warming_up(m))
            .collect();
        assert_eq!(failed, [false, true, true, false]);
    }
}
