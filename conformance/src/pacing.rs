//! How fast the run sends: a rate controller shared by every scenario, which finds a target's
//! sustainable rate from its 429s and comes back up when they stop.
//!
//! The controller is additive-increase/multiplicative-decrease around the rate at which the
//! target last refused:
//! - until the first 429 nothing is paced (unless `--max-rps` sets a ceiling);
//! - a 429 marks the rate the run was achieving as too fast (the ceiling seen) and sets the
//!   pace to 80% of it; further 429s within the same second are the same signal;
//! - every second without a 429 the pace climbs: quickly (half the gap per second) back up to
//!   95% of the ceiling seen, then past it by 2%, 4%, 8%, … 64% a second, so a limit that
//!   was raised, or a small burst that was mistaken for the limit, is found again;
//! - the pace grows only while the run uses at least half of it: quiet seconds of little
//!   traffic do not raise it, so a later burst cannot leave far above the limit;
//! - the achieved rate is measured over answers *served* in the last second, and a second
//!   spent waiting out a `Retry-After` lowers the pace at most to 80% of the last refused
//!   rate, so waiting cannot talk the pace down into a spiral.
//!
//! A target that announces its limit is believed before it refuses: the IETF `RateLimit`
//! fields (draft-ietf-httpapi-ratelimit-headers: `RateLimit: limit=…, remaining=…, reset=…`,
//! the later `RateLimit: "policy";r=…;t=…`, and the `RateLimit-Remaining`/`RateLimit-Reset`
//! pair of draft 6) and the common `X-RateLimit-Remaining`/`X-RateLimit-Reset` say when a
//! window is spent; the run then pauses every request until the window resets
//! ([`Pacer::pause_until`]), instead of spending the window's last requests on 429s. A 429's
//! `Retry-After` pauses the whole run the same way: every scenario was about to meet it.
//!
//! The clock is tokio's, so tests drive it with a paused clock against simulated limiters.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// The slowest pace the controller sets by itself, in requests per second.
const FLOOR_RPS: f64 = 1.0;
/// The share of the refused rate the pace drops to after a 429.
const DECREASE: f64 = 0.8;
/// Up to this share of the refused rate, the pace recovers quickly.
const NEAR: f64 = 0.95;
/// Past it, the pace grows by 2% in the first quiet second, then 4%, 8%, … up to 64%: close
/// to a limit it creeps, and a limit misjudged low (a small burst taken for the limit) is
/// left behind in a few seconds.
const PROBE: f64 = 0.02;
const SECOND: Duration = Duration::from_secs(1);

/// The run's pace: `wait_turn` before each request, `served`/`refused` after each answer.
#[derive(Debug)]
pub struct Pacer {
    state: tokio::sync::Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// `--max-rps`: never faster than this.
    ceiling: Option<f64>,
    /// The pace, in requests per second; `None` before the first 429 (and without a ceiling).
    rate: Option<f64>,
    /// The rate the target last refused (429) at.
    refused_at: Option<f64>,
    /// The earliest moment the next request may leave.
    next: Instant,
    /// Answers served (not 429) in the last second, for the achieved rate.
    served: VecDeque<Instant>,
    /// When the pace last went down or up: one second is one signal.
    last_change: Instant,
    /// Seconds the pace has grown past the refused rate without a 429.
    probes: u32,
    /// When the last 429 arrived.
    last_refusal: Option<Instant>,
    /// When the target last served a request, and how many refusals came since.
    last_served: Instant,
    refusals_since_served: u32,
    /// No request leaves before this (a window announced spent, a `Retry-After`).
    paused_until: Option<Instant>,
}

impl Pacer {
    pub fn new(max_rps: Option<f64>) -> Self {
        let now = Instant::now();
        Pacer {
            state: tokio::sync::Mutex::new(State {
                ceiling: max_rps,
                rate: max_rps,
                refused_at: None,
                next: now,
                served: VecDeque::new(),
                last_change: now,
                probes: 0,
                last_refusal: None,
                last_served: now,
                refusals_since_served: 0,
                paused_until: None,
            }),
        }
    }

    /// No request leaves before `until` (the target said its window is spent, or asked to
    /// wait). A later pause extends an earlier one; an earlier one does not shorten it.
    pub async fn pause_until(&self, until: Instant) {
        let mut s = self.state.lock().await;
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
    }

    /// Waits until the pace lets the next request leave.
    pub async fn wait_turn(&self) {
        let mut s = self.state.lock().await;
        if let Some(until) = s.paused_until.take()
            && until > Instant::now()
        {
            // Holding the lock: every scenario waits out the same pause, in arrival order.
            tokio::time::sleep_until(until).await;
            // The pause was the target's own word: the time spent in it is not a quiet
            // second that would raise the pace, nor one that served nothing.
            let now = Instant::now();
            s.last_change = now;
            s.last_served = now;
        }
        s.grow(Instant::now());
        if let Some(rate) = s.rate {
            let now = Instant::now();
            let at = s.next.max(now);
            // Holding the lock while sleeping queues the scenarios in arrival order.
            tokio::time::sleep_until(at).await;
            s.next = at + Duration::from_secs_f64(1.0 / rate);
        }
    }

    /// The target served a request (any answer but a 429).
    pub async fn served(&self) {
        let mut s = self.state.lock().await;
        let now = Instant::now();
        s.served.push_back(now);
        while s
            .served
            .front()
            .is_some_and(|t| now.duration_since(*t) > SECOND)
        {
            s.served.pop_front();
        }
        s.last_served = now;
        s.refusals_since_served = 0;
        s.grow(now);
    }

    /// The target answered 429. Returns the new pace when this 429 changed it.
    pub async fn refused(&self) -> Option<f64> {
        let mut s = self.state.lock().await;
        let now = Instant::now();
        s.refusals_since_served += 1;
        s.last_refusal = Some(now);
        s.probes = 0;
        let recent_change = s.refused_at.is_some() && now.duration_since(s.last_change) < SECOND;
        if recent_change {
            return None;
        }
        // What the run was achieving when refused: the pace if one is set, else what the
        // target served in the last second (its limit plus any burst, as observed).
        // Over less than a second at the start of a run (a burst): counted over half a
        // second at least, so a few early answers are not taken for the whole limit.
        let span = s
            .served
            .front()
            .map_or(SECOND, |t| now.duration_since(*t))
            .clamp(SECOND / 2, SECOND);
        let achieved = s.served.len() as f64 / span.as_secs_f64();
        // A pace that was not being used (the run sent less) is no measure of the limit: the
        // target served `achieved`. Only the last refused rate bounds the fall, so a second
        // spent waiting out a `Retry-After` cannot talk the pace down into a spiral.
        let floor = s.refused_at.map_or(FLOOR_RPS, |r| r * DECREASE);
        let at = match s.rate {
            Some(rate) => rate.min(achieved.max(floor)),
            None => achieved,
        }
        .max(FLOOR_RPS);
        s.refused_at = Some(at);
        let rate = (at * DECREASE).max(FLOOR_RPS);
        let rate = s.ceiling.map_or(rate, |c| rate.min(c));
        s.rate = Some(rate);
        s.last_change = now;
        Some(rate)
    }

    /// How long the target has refused everything: time since it last served a request,
    /// and the refusals since.
    pub async fn refusing_for(&self) -> (Duration, u32) {
        let s = self.state.lock().await;
        (
            Instant::now().duration_since(s.last_served),
            s.refusals_since_served,
        )
    }

    /// The pace now, if one is set.
    pub async fn rate(&self) -> Option<f64> {
        self.state.lock().await.rate
    }
}

/// What a response says of the target's rate limit: requests left in the window, and the
/// time until it resets. Reads the IETF fields (both drafts' shapes) and the `X-RateLimit-`
/// convention; `None` when the answer says nothing.
pub fn announced_limit(headers: &[(String, String)]) -> Option<(u64, std::time::Duration)> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    let number = |v: &str| v.trim().trim_matches('"').parse::<f64>().ok();
    // `RateLimit: limit=100, remaining=0, reset=30` (draft 7) or
    // `RateLimit: "default";r=0;t=30` (draft 8 and later).
    let (mut remaining, mut reset) = (None, None);
    if let Some(v) = get("ratelimit") {
        for part in v.split([',', ';']) {
            if let Some((k, val)) = part.split_once('=') {
                match k.trim() {
                    "remaining" | "r" => remaining = number(val),
                    "reset" | "t" => reset = number(val),
                    _ => {}
                }
            }
        }
    }
    for prefix in ["ratelimit-", "x-ratelimit-"] {
        remaining = remaining.or_else(|| get(&format!("{prefix}remaining")).and_then(number));
        reset = reset.or_else(|| get(&format!("{prefix}reset")).and_then(number));
    }
    let remaining = remaining?;
    let reset = reset?;
    // A reset far beyond any window (past 2001-09-09) is an epoch timestamp, as some APIs
    // send; otherwise it is delta-seconds.
    let seconds = if reset > 1e9 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        (reset - now).max(0.0)
    } else {
        reset.max(0.0)
    };
    Some((
        remaining.max(0.0) as u64,
        std::time::Duration::from_secs_f64(seconds.min(3600.0)),
    ))
}

impl State {
    /// Every second without a 429 the pace climbs back toward the refused rate, then past it.
    fn grow(&mut self, now: Instant) {
        let (Some(rate), Some(refused_at)) = (self.rate, self.refused_at) else {
            return;
        };
        let quiet = self
            .last_refusal
            .is_none_or(|t| now.duration_since(t) >= SECOND);
        if !quiet || now.duration_since(self.last_change) < SECOND {
            return;
        }
        // Grow only a pace the run is using (RFC 7661's rule for an application-limited
        // sender): a pace raised through quiet seconds of little traffic would let the next
        // burst out far above the target's limit.
        let used = self.served.len() as f64;
        if used < rate * 0.5 {
            return;
        }
        let near = refused_at * NEAR;
        let mut next = if rate < near * 0.98 {
            rate + (near - rate) / 2.0
        } else {
            self.probes += 1;
            rate * (1.0 + PROBE * f64::from(1u32 << self.probes.min(6).saturating_sub(1)))
        };
        if let Some(c) = self.ceiling {
            next = next.min(c);
        }
        self.rate = Some(next.max(FLOOR_RPS));
        self.last_change = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::Mutex;

    /// A simulated rate limit: is a request at `now` allowed?
    trait Limiter: Send {
        fn allow(&mut self, now: Instant) -> bool;
    }

    /// A token bucket: `rate` tokens a second, at most `burst` saved up.
    struct TokenBucket {
        rate: f64,
        burst: f64,
        tokens: f64,
        at: Instant,
    }

    impl Limiter for TokenBucket {
        fn allow(&mut self, now: Instant) -> bool {
            let elapsed = now.duration_since(self.at).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
            self.at = now;
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                true
            } else {
                false
            }
        }
    }

    /// At most `limit` requests per whole second since `start`.
    struct FixedWindow {
        limit: usize,
        start: Instant,
        window: u64,
        count: usize,
    }

    impl Limiter for FixedWindow {
        fn allow(&mut self, now: Instant) -> bool {
            let window = now.duration_since(self.start).as_secs();
            if window != self.window {
                self.window = window;
                self.count = 0;
            }
            self.count += 1;
            self.count <= self.limit
        }
    }

    /// At most `limit` requests in any second.
    struct SlidingWindow {
        limit: usize,
        accepted: VecDeque<Instant>,
    }

    impl Limiter for SlidingWindow {
        fn allow(&mut self, now: Instant) -> bool {
            while self
                .accepted
                .front()
                .is_some_and(|t| now.duration_since(*t) >= SECOND)
            {
                self.accepted.pop_front();
            }
            if self.accepted.len() < self.limit {
                self.accepted.push_back(now);
                true
            } else {
                false
            }
        }
    }

    /// `workers` concurrent senders serve `requests` requests against `limiter`, each 429
    /// waited out for `retry_after` (the request is then sent again). Returns the simulated
    /// time it took and the number of 429s.
    async fn simulate(
        limiter: Box<dyn Limiter>,
        requests: usize,
        workers: usize,
        retry_after: Duration,
    ) -> (Duration, usize) {
        let pacer = Arc::new(Pacer::new(None));
        let limiter = Arc::new(Mutex::new(limiter));
        let left = Arc::new(Mutex::new(requests));
        let refusals = Arc::new(Mutex::new(0usize));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..workers {
            let (pacer, limiter, left, refusals) = (
                pacer.clone(),
                limiter.clone(),
                left.clone(),
                refusals.clone(),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    {
                        let mut n = left.lock().unwrap();
                        if *n == 0 {
                            return;
                        }
                        *n -= 1;
                    }
                    loop {
                        pacer.wait_turn().await;
                        // A round trip of 10 ms.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        let ok = limiter.lock().unwrap().allow(Instant::now());
                        if ok {
                            pacer.served().await;
                            break;
                        }
                        *refusals.lock().unwrap() += 1;
                        pacer.refused().await;
                        tokio::time::sleep(retry_after).await;
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let refused = *refusals.lock().unwrap();
        (Instant::now().duration_since(start), refused)
    }

    /// The budget the README states: at most 1.3 × requests / limit, plus 3 s.
    fn budget(requests: usize, limit: f64) -> Duration {
        Duration::from_secs_f64(1.3 * requests as f64 / limit + 3.0)
    }

    #[tokio::test(start_paused = true)]
    async fn converges_under_a_token_bucket() {
        let now = Instant::now();
        let bucket = TokenBucket {
            rate: 20.0,
            burst: 20.0,
            tokens: 20.0,
            at: now,
        };
        let (took, refused) = simulate(Box::new(bucket), 446, 24, SECOND).await;
        assert!(took <= budget(446, 20.0), "{took:?}, {refused} refusals");
        // It finds the rate and keeps to it: refusals are a small share of the requests.
        assert!(refused < 100, "{refused} refusals in {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn converges_under_a_fixed_window() {
        let window = FixedWindow {
            limit: 20,
            start: Instant::now(),
            window: 0,
            count: 0,
        };
        let (took, refused) = simulate(Box::new(window), 446, 24, SECOND).await;
        assert!(took <= budget(446, 20.0), "{took:?}, {refused} refusals");
    }

    #[tokio::test(start_paused = true)]
    async fn converges_under_a_sliding_window() {
        let window = SlidingWindow {
            limit: 20,
            accepted: VecDeque::new(),
        };
        let (took, refused) = simulate(Box::new(window), 446, 24, SECOND).await;
        assert!(took <= budget(446, 20.0), "{took:?}, {refused} refusals");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_without_retry_after_backed_off_still_converges() {
        let now = Instant::now();
        let bucket = TokenBucket {
            rate: 20.0,
            burst: 5.0,
            tokens: 5.0,
            at: now,
        };
        // The transport's first backoff is 250 ms.
        let (took, refused) = simulate(Box::new(bucket), 300, 24, Duration::from_millis(250)).await;
        assert!(took <= budget(300, 20.0), "{took:?}, {refused} refusals");
    }

    #[tokio::test(start_paused = true)]
    async fn the_pace_comes_back_up_when_the_429s_stop() {
        let pacer = Pacer::new(None);
        // Refused while achieving 20 a second.
        for _ in 0..20 {
            tokio::time::advance(Duration::from_millis(50)).await;
            pacer.served().await;
        }
        let slowed = pacer.refused().await.expect("the first 429 sets a pace");
        assert!((15.0..=17.0).contains(&slowed), "{slowed}");
        // A second 429 within the same second is the same signal.
        assert_eq!(pacer.refused().await, None);
        // Then twenty quiet seconds in which the run uses the pace it is given.
        for _ in 0..20 {
            let rate = pacer.rate().await.unwrap_or(1.0).ceil() as u32;
            for _ in 0..rate {
                tokio::time::advance(SECOND / rate).await;
                pacer.served().await;
            }
        }
        let rate = pacer.rate().await.unwrap();
        assert!(rate > 30.0, "the pace stayed at {rate}");
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_out_a_retry_after_does_not_lower_the_pace() {
        let pacer = Pacer::new(None);
        for _ in 0..20 {
            tokio::time::advance(Duration::from_millis(50)).await;
            pacer.served().await;
        }
        let first = pacer.refused().await.unwrap();
        // Everyone waited out Retry-After: 1; nothing was served in the last second.
        tokio::time::advance(Duration::from_millis(1100)).await;
        let second = pacer.refused().await.unwrap();
        assert!(
            second >= first * DECREASE - 0.01,
            "{first} then {second}: a quiet second must not count as the limit"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn quiet_seconds_of_little_traffic_do_not_raise_the_pace() {
        let pacer = Pacer::new(None);
        for _ in 0..20 {
            tokio::time::advance(Duration::from_millis(50)).await;
            pacer.served().await;
        }
        let slowed = pacer.refused().await.unwrap();
        // One request a second for half a minute: the pace is not in use, so it stays.
        for _ in 0..30 {
            tokio::time::advance(SECOND).await;
            pacer.served().await;
        }
        assert_eq!(pacer.rate().await, Some(slowed));
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn announced_limits_are_read_in_every_common_spelling() {
        let secs = Duration::from_secs;
        assert_eq!(
            announced_limit(&headers(&[(
                "RateLimit",
                "limit=600, remaining=0, reset=45"
            )])),
            Some((0, secs(45)))
        );
        assert_eq!(
            announced_limit(&headers(&[("RateLimit", "\"default\";r=12;t=30")])),
            Some((12, secs(30)))
        );
        assert_eq!(
            announced_limit(&headers(&[
                ("RateLimit-Limit", "600"),
                ("RateLimit-Remaining", "3"),
                ("RateLimit-Reset", "7")
            ])),
            Some((3, secs(7)))
        );
        assert_eq!(
            announced_limit(&headers(&[
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", "2")
            ])),
            Some((0, secs(2)))
        );
        // An epoch timestamp a few seconds ahead.
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 5;
        let (_, wait) = announced_limit(&headers(&[
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", &at.to_string()),
        ]))
        .unwrap();
        assert!(wait <= secs(5) && wait >= secs(3), "{wait:?}");
        assert_eq!(
            announced_limit(&headers(&[("RateLimit-Limit", "600")])),
            None
        );
        assert_eq!(announced_limit(&[]), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_request_until_it_ends() {
        let pacer = Pacer::new(None);
        let start = Instant::now();
        pacer.pause_until(start + Duration::from_secs(3)).await;
        // An earlier pause does not shorten it.
        pacer.pause_until(start + Duration::from_secs(1)).await;
        pacer.wait_turn().await;
        assert!(Instant::now().duration_since(start) >= Duration::from_secs(3));
        // Once over, requests leave at once.
        let t = Instant::now();
        pacer.wait_turn().await;
        assert_eq!(Instant::now(), t);
    }

    #[tokio::test(start_paused = true)]
    async fn max_rps_is_a_ceiling_that_is_never_passed() {
        let pacer = Pacer::new(Some(5.0));
        for _ in 0..50 {
            tokio::time::advance(SECOND).await;
            pacer.served().await;
        }
        assert_eq!(pacer.rate().await, Some(5.0));
        let start = Instant::now();
        for _ in 0..11 {
            pacer.wait_turn().await;
        }
        assert!(Instant::now().duration_since(start) >= Duration::from_secs(2));
    }
}
