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

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::num::{NonZeroU32, NonZeroU64};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
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
}

/// The seconds a rate-limited client is told to wait.
const RETRY_AFTER_SECONDS: u64 = 1;

/// A token bucket: `capacity` tokens, refilled at `capacity` per second.
#[derive(Debug)]
struct Bucket {
    capacity: f64,
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    fn new(per_second: NonZeroU32) -> Bucket {
        let capacity = f64::from(per_second.get());
        Bucket {
            capacity,
            tokens: capacity,
            refilled: Instant::now(),
        }
    }

    /// Takes a token if there is one.
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.capacity).min(self.capacity);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The running state of the conditions.
#[derive(Debug)]
pub(crate) struct Conditions {
    bucket: Option<Mutex<Bucket>>,
    drop_every: Option<NonZeroU64>,
    /// GET and DELETE requests seen so far.
    counted: AtomicU64,
    fail_first_creates: u64,
    /// Creates seen so far.
    creates: AtomicU64,
}

impl Conditions {
    pub fn new(conditions: TestConditions) -> Conditions {
        Conditions {
            bucket: conditions.rate_limit.map(|r| Mutex::new(Bucket::new(r))),
            drop_every: conditions.drop_every,
            counted: AtomicU64::new(0),
            fail_first_creates: conditions.fail_first_creates.map_or(0, NonZeroU64::get),
            creates: AtomicU64::new(0),
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
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if state.inner.conditions.admit() {
        return next.run(request).await;
    }
    let mut r = ApiError::too_many_requests().into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    r
}

/// Handles every Nth GET or DELETE, then has the wire layer close the connection instead of
/// answering (see `wire.rs`).
pub(crate) async fn drop_every(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let lose = state.inner.conditions.lose_answer(request.method());
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
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if state.inner.conditions.warming_up(request.method()) {
        return ApiError::internal("the server is warming up").into_response();
    }
    next.run(request).await
}

/// Sleeps before handling each request.
pub(crate) async fn latency(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(delay) = state.inner.latency {
        tokio::time::sleep(delay).await;
    }
    next.run(request).await
}

/// Answers 408 (and closes the connection) when a request is not handled within the server's
/// request timeout.
pub(crate) async fn timeout(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let limit: Duration = state.inner.request_timeout;
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
        let c = Conditions::new(TestConditions {
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
        assert!(!Conditions::new(TestConditions::default()).lose_answer(&Method::GET));
    }

    #[test]
    fn only_the_first_creates_fail() {
        let c = Conditions::new(TestConditions {
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
