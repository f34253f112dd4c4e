//! How many requests are in flight at once: an adaptive limit shared by every scenario, so
//! that the run takes the concurrency the target serves without its latency growing (the
//! idea of Netflix's concurrency-limits and TCP Vegas). `--jobs` sets the ceiling (twice as
//! many requests as scenarios at once, for their bursts), not the load.
//!
//! - It starts moderately ([`INITIAL`]) and, until the first sign of load, grows by one per
//!   answer (doubling each round trip, as TCP's slow start does); after that by one per
//!   window of answers (additive increase).
//! - Each operation's least round trip is its no-load baseline (a create that hashes a secret
//!   is slower than a list by nature; comparing each with itself keeps that from reading as
//!   load). Answers that take more than twice their baseline on a moving average, the latest
//!   one too and by [`QUEUE_SLACK`] at least, are queueing: the limit shrinks by 10%, at most
//!   once per round trip.
//! - A 429, a 503 or a timeout is load too: the limit halves (at most once per baseline round
//!   trip, so one burst of refusals is one signal).
//! - A burst (requests a scenario sends at once because their concurrency is the test: racing
//!   deletes, look-alikes created in one second, a model step) waits for one place, then
//!   takes one for each of its requests, even past the limit.
//! - A target that has answered nothing for [`SILENCE`] while requests timed out is silent:
//!   [`Limiter::silent`] tells the transport to stop sending, so the run ends (no verdict,
//!   exit 3) in about that time instead of waiting out every request's timeout.
//!
//! Small enough to read whole; the Tower layers that implement these algorithms (`tower-acc`)
//! wrap a service, and the runner's transport is not one (it records, retries and paces each
//! attempt itself).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The limit a run starts with (or `--jobs`, if lower).
pub const INITIAL: usize = 8;
/// Queueing that costs less than this is not load (scheduling noise on a busy machine).
pub const QUEUE_SLACK: Duration = Duration::from_millis(25);
/// A target that answers nothing this long, while requests time out, has stopped.
pub const SILENCE: Duration = Duration::from_secs(30);

/// What one attempt met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An answer (any status but 429/503) after this round trip.
    Answered(Duration),
    /// 429 or 503: the target asked for less.
    Refused,
    /// No answer within the timeout.
    TimedOut,
    /// No answer for another reason (a refused or dropped connection): not a load signal.
    Failed,
}

#[derive(Debug)]
struct State {
    limit: f64,
    ceiling: f64,
    in_flight: usize,
    slow_start: bool,
    /// The least round trip seen, per operation.
    baseline: HashMap<String, Duration>,
    last_decrease: Option<Instant>,
    /// When the target last answered anything.
    last_answer: Instant,
    /// Whether a request timed out since the last answer.
    timed_out_since: bool,
    /// A moving average of each answer's round trip over its operation's baseline: one slow
    /// answer (a busy client machine, a garbage collection) is not load, a trend is.
    queueing: f64,
}

/// The run's in-flight limit; see the module documentation.
#[derive(Debug)]
pub struct Limiter {
    state: Mutex<State>,
    freed: tokio::sync::Notify,
}

/// Places among the requests in flight (one, or a burst's); [`Limiter::finish`] reports what
/// the attempt met, and dropping it frees the places.
pub struct Slot<'a> {
    limiter: &'a Limiter,
    places: usize,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        {
            let mut s = self.limiter.lock();
            s.in_flight = s.in_flight.saturating_sub(self.places);
        }
        self.limiter.freed.notify_waiters();
    }
}

impl Limiter {
    pub fn new(ceiling: usize) -> Self {
        let ceiling = ceiling.max(1) as f64;
        Limiter {
            state: Mutex::new(State {
                limit: (INITIAL as f64).min(ceiling),
                ceiling,
                in_flight: 0,
                slow_start: true,
                baseline: HashMap::new(),
                last_decrease: None,
                last_answer: Instant::now(),
                timed_out_since: false,
                queueing: 1.0,
            }),
            freed: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a place among the requests in flight.
    pub async fn acquire(&self) -> Slot<'_> {
        self.acquire_many(1).await
    }

    /// Waits until a request may leave, then takes `n` places at once: a burst's requests go
    /// together (their concurrency is the test) and count as in flight, so nothing else leaves
    /// until they are answered and the load is back under the limit.
    pub async fn acquire_many(&self, n: usize) -> Slot<'_> {
        loop {
            let freed = self.freed.notified();
            {
                let mut s = self.lock();
                if (s.in_flight as f64) < s.limit.floor().max(1.0) {
                    s.in_flight += n.max(1);
                    return Slot {
                        limiter: self,
                        places: n.max(1),
                    };
                }
            }
            freed.await;
        }
    }

    /// The limit now, in requests.
    pub fn limit(&self) -> usize {
        self.lock().limit.floor().max(1.0) as usize
    }

    /// Whether the target has answered nothing for [`SILENCE`] while requests timed out.
    pub fn silent(&self) -> Option<Duration> {
        let s = self.lock();
        let quiet = Instant::now().duration_since(s.last_answer);
        (s.timed_out_since && quiet >= SILENCE).then_some(quiet)
    }

    /// Reports what the attempt that held `slot` met.
    pub fn finish(&self, slot: Slot<'_>, operation: &str, outcome: Outcome) {
        self.observe(operation, outcome);
        drop(slot);
    }

    /// Learns from an attempt sent without a slot of its own (one of a burst, which holds one
    /// slot for all its requests).
    pub fn observe(&self, operation: &str, outcome: Outcome) {
        {
            let mut s = self.lock();
            let now = Instant::now();
            match outcome {
                Outcome::Answered(rtt) => {
                    s.last_answer = now;
                    s.timed_out_since = false;
                    let base = *s
                        .baseline
                        .entry(operation.to_owned())
                        .and_modify(|b| *b = (*b).min(rtt))
                        .or_insert(rtt);
                    let ratio = rtt.as_secs_f64() / base.as_secs_f64().max(1e-6);
                    s.queueing = 0.7 * s.queueing + 0.3 * ratio.min(100.0);
                    if s.queueing > 2.0 && rtt > base * 2 && rtt > base + QUEUE_SLACK {
                        // Once per round trip: the answers of one queue are one signal.
                        s.slow_start = false;
                        if s.last_decrease
                            .is_none_or(|t| now.duration_since(t) >= base)
                        {
                            s.limit = (s.limit * 0.9).max(1.0);
                            s.last_decrease = Some(now);
                        }
                    } else if s.slow_start {
                        s.limit = (s.limit + 1.0).min(s.ceiling);
                    } else {
                        s.limit = (s.limit + 1.0 / s.limit).min(s.ceiling);
                    }
                }
                Outcome::Refused | Outcome::TimedOut => {
                    if outcome == Outcome::Refused {
                        s.last_answer = now;
                    } else {
                        s.timed_out_since = true;
                    }
                    s.slow_start = false;
                    let round_trip = s
                        .baseline
                        .values()
                        .max()
                        .copied()
                        .unwrap_or(Duration::from_millis(100));
                    if s.last_decrease
                        .is_none_or(|t| now.duration_since(t) >= round_trip)
                    {
                        s.limit = (s.limit / 2.0).max(1.0);
                        s.last_decrease = Some(now);
                    }
                }
                Outcome::Failed => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A target of `workers` servers, each request taking `service` once it has one: what a
    /// run of `requests` requests at a concurrency of at most `ceiling` costs, and the
    /// longest a request waited in the target's queue.
    async fn against_workers(
        workers: usize,
        service: Duration,
        requests: usize,
        ceiling: usize,
    ) -> (Duration, Duration, usize) {
        let limiter = Arc::new(Limiter::new(ceiling));
        let pool = Arc::new(tokio::sync::Semaphore::new(workers));
        let worst = Arc::new(Mutex::new(Duration::ZERO));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..requests {
            let (limiter, pool, worst) = (limiter.clone(), pool.clone(), worst.clone());
            tasks.push(tokio::spawn(async move {
                let slot = limiter.acquire().await;
                let sent = Instant::now();
                let _worker = pool.acquire().await.unwrap();
                tokio::time::sleep(service).await;
                let rtt = Instant::now().duration_since(sent);
                let mut w = worst.lock().unwrap();
                *w = (*w).max(rtt);
                drop(w);
                limiter.finish(slot, "op", Outcome::Answered(rtt));
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let worst = *worst.lock().unwrap();
        (Instant::now().duration_since(start), worst, limiter.limit())
    }

    #[tokio::test(start_paused = true)]
    async fn a_single_worker_is_not_buried_in_a_queue_of_the_runs_own_making() {
        // One worker, 300 ms a request: with 24 in flight a request would wait 7 s.
        let (took, worst, limit) = against_workers(1, Duration::from_millis(300), 100, 24).await;
        // The floor is 30 s; the run stays near it, and no request waits for long.
        assert!(took <= Duration::from_secs(33), "{took:?}");
        // The first requests (the starting limit of 8) queue 2.4 s; none waits much longer.
        assert!(
            worst <= Duration::from_secs(4),
            "worst round trip {worst:?}"
        );
        assert!(limit <= 3, "limit {limit}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_unconstrained_target_gets_the_whole_ceiling_in_a_few_round_trips() {
        let (took, _, limit) = against_workers(1000, Duration::from_millis(50), 480, 24).await;
        assert_eq!(limit, 24);
        // 480 requests at 24 in flight are 20 round trips; the start costs a few more.
        assert!(took <= Duration::from_millis(50 * 24), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_and_timeouts_halve_the_limit_once_per_round_trip() {
        let limiter = Limiter::new(24);
        for _ in 0..16 {
            let slot = limiter.acquire().await;
            limiter.finish(slot, "op", Outcome::Answered(Duration::from_millis(50)));
        }
        assert_eq!(limiter.limit(), 24);
        for _ in 0..5 {
            let slot = limiter.acquire().await;
            limiter.finish(slot, "op", Outcome::Refused);
        }
        assert_eq!(limiter.limit(), 12, "one burst of refusals is one signal");
        tokio::time::advance(Duration::from_millis(60)).await;
        let slot = limiter.acquire().await;
        limiter.finish(slot, "op", Outcome::TimedOut);
        assert_eq!(limiter.limit(), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_target_silent_while_requests_time_out_is_reported_after_the_silence() {
        let limiter = Limiter::new(24);
        let slot = limiter.acquire().await;
        limiter.finish(slot, "op", Outcome::Answered(Duration::from_millis(5)));
        tokio::time::advance(Duration::from_secs(20)).await;
        let slot = limiter.acquire().await;
        limiter.finish(slot, "op", Outcome::TimedOut);
        assert_eq!(limiter.silent(), None, "20 s is not yet silence");
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(limiter.silent().is_some());
        // An answer ends it.
        let slot = limiter.acquire().await;
        limiter.finish(slot, "op", Outcome::Answered(Duration::from_millis(5)));
        assert_eq!(limiter.silent(), None);
    }
}
