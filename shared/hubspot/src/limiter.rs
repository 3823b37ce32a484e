//! The process-wide rate limiter: a sliding-window log of this process's calls, sized from
//! HubSpot's `X-HubSpot-RateLimit-*` headers, plus the daily budget and search's own limit.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use time::{OffsetDateTime, Time, UtcOffset};

use crate::error::Error;

/// What a response told about the budgets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateHeaders {
    pub max: Option<u32>,
    pub remaining: Option<u32>,
    pub interval: Option<Duration>,
    pub daily: Option<u64>,
    pub daily_remaining: Option<u64>,
}

#[derive(Debug)]
struct Slot {
    id: u64,
    /// `None` while in flight; then the time the response arrived, which is never earlier than
    /// the moment HubSpot counted the call.
    done: Option<Instant>,
}

#[derive(Debug)]
struct State {
    max: u32,
    window: Duration,
    slots: Vec<Slot>,
    next_id: u64,
    blocked_until: Option<Instant>,
    daily_max: Option<u64>,
    daily_remaining: Option<u64>,
    daily_blocked_until: Option<OffsetDateTime>,
    calls: u64,
    waits: u64,
    /// This process's share of the budget (0 < share <= ceiling): cut on a 429, grown back
    /// after a calm window (additive increase, multiplicative decrease, as TCP does), so that
    /// several processes of one app settle below the limit instead of racing for the last calls.
    share: f64,
    /// Where the share stops growing: just under the level that met a 429 (TCP's slow-start
    /// threshold, in spirit); it creeps back up while no 429 comes.
    ceiling: f64,
    last_cut: Option<Instant>,
    last_growth: Instant,
}

/// A snapshot of the limiter, for logs and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimiterStats {
    pub max: u32,
    pub capacity: u32,
    pub window: Duration,
    pub calls: u64,
    /// Times a caller had to wait for a slot.
    pub waits: u64,
    pub daily_remaining: Option<u64>,
}

/// Shared by every task of the process (the client holds it in an `Arc`).
///
/// A call takes a slot before it is sent; the slot counts while in flight and then until one
/// window after its response arrived. HubSpot counted the call somewhere between sending and
/// the response, so this never frees a slot before HubSpot does; the price is the response
/// latency per window (about 3% with 300 ms answers and a 10 s window; tried: stamping at send
/// time plus the shortest round trip caused 429s when the server queued requests). At most
/// `max x (1 - reserved_share)` slots count at once. When a response reports fewer remaining
/// calls than this process accounts for (other processes of the same app), the difference is
/// added as slots, so the process slows down to the server's view; a 429 that still happens
/// holds all callers for a pause, cuts this process's share of the budget by a tenth and caps
/// its regrowth just under the level that met the 429 (once per half window); a window without a
/// 429 later, the share grows back by 1% of the budget per tenth of a window. Several processes of one app (Lambda instances) so settle just under the limit.
#[derive(Debug)]
pub struct RateLimiter {
    state: Mutex<State>,
    reserved_share: f64,
    portal_offset: UtcOffset,
}

/// A taken slot; give it back with [`RateLimiter::complete`].
#[derive(Debug)]
#[must_use]
pub struct Permit {
    id: u64,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration, reserved_share: f64, portal_offset: UtcOffset) -> Self {
        Self {
            state: Mutex::new(State {
                max: max.max(1),
                window,
                slots: Vec::new(),
                next_id: 0,
                blocked_until: None,
                daily_max: None,
                daily_remaining: None,
                daily_blocked_until: None,
                calls: 0,
                waits: 0,
                share: 1.0,
                ceiling: 1.0,
                last_cut: None,
                last_growth: Instant::now(),
            }),
            reserved_share: reserved_share.clamp(0.0, 0.95),
            portal_offset,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn capacity(&self, max: u32, share: f64) -> u32 {
        let cap = (f64::from(max) * (1.0 - self.reserved_share) * share).floor();
        // The value is within 1..=u32::MAX by construction.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let cap = cap as u32;
        cap.max(1)
    }

    fn margin(window: Duration) -> Duration {
        Duration::from_millis(1) + window / 200
    }

    /// Next midnight in the portal's time zone.
    ///
    /// HubSpot resets the daily limit at midnight in the account's time zone setting. The API
    /// does not report that zone, so this assumes the fixed offset given in the configuration
    /// (UTC unless set) and ignores daylight-saving changes; near a DST switch the reset may be
    /// off by an hour.
    pub fn next_daily_reset(&self, now: OffsetDateTime) -> OffsetDateTime {
        let local = now.to_offset(self.portal_offset);
        let tomorrow = local.date().next_day().unwrap_or(local.date());
        tomorrow.with_time(Time::MIDNIGHT).assume_offset(self.portal_offset)
    }

    /// Waits for a slot. Fails at once with [`Error::DailyLimit`] while the daily budget is
    /// known to be spent (or down to the reserved share).
    pub async fn acquire(&self) -> Result<Permit, Error> {
        let mut waited = false;
        loop {
            let wait = {
                let mut st = self.lock();
                let now_wall = OffsetDateTime::now_utc();
                if let Some(until) = st.daily_blocked_until {
                    if now_wall < until {
                        return Err(Error::DailyLimit { reset_at: until, correlation_id: None });
                    }
                    st.daily_blocked_until = None;
                    st.daily_remaining = None;
                }
                if let (Some(max), Some(rem)) = (st.daily_max, st.daily_remaining) {
                    #[allow(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        clippy::cast_precision_loss
                    )]
                    let reserve = (max as f64 * self.reserved_share) as u64;
                    if rem <= reserve {
                        let reset_at = self.next_daily_reset(now_wall);
                        st.daily_blocked_until = Some(reset_at);
                        return Err(Error::DailyLimit { reset_at, correlation_id: None });
                    }
                }
                let now = Instant::now();
                let window = st.window;
                let horizon = window + Self::margin(window);
                st.slots.retain(|s| s.done.is_none_or(|d| now.duration_since(d) < horizon));
                let cap = self.capacity(st.max, st.share) as usize;
                match st.blocked_until {
                    Some(b) if b > now => Some(b - now),
                    _ if st.slots.len() < cap => {
                        let id = st.next_id;
                        st.next_id += 1;
                        st.slots.push(Slot { id, done: None });
                        st.calls += 1;
                        if waited {
                            st.waits += 1;
                        }
                        if let Some(r) = st.daily_remaining.as_mut() {
                            *r = r.saturating_sub(1);
                        }
                        return Ok(Permit { id });
                    }
                    _ => {
                        let earliest = st.slots.iter().filter_map(|s| s.done).min();
                        Some(match earliest {
                            Some(d) => (d + horizon)
                                .saturating_duration_since(now)
                                .max(Duration::from_millis(1)),
                            // Every slot is in flight: poll again shortly.
                            None => (window / st.max.max(1)).max(Duration::from_millis(2)),
                        })
                    }
                }
            };
            if let Some(w) = wait {
                waited = true;
                tokio::time::sleep(w).await;
            }
        }
    }

    /// Gives the slot back, stamped with the response time, and learns from the headers.
    pub fn complete(&self, permit: Permit, headers: &RateHeaders) {
        self.finish(permit, headers);
    }

    fn finish(&self, permit: Permit, headers: &RateHeaders) {
        let mut st = self.lock();
        let now = Instant::now();
        let stamp = now;
        if let Some(s) = st.slots.iter_mut().find(|s| s.id == permit.id) {
            s.done = Some(stamp);
        }
        if let Some(w) = headers.interval.filter(|w| !w.is_zero()) {
            st.window = w;
        }
        if let Some(m) = headers.max.filter(|m| *m > 0) {
            st.max = m;
        }
        if let Some(d) = headers.daily {
            st.daily_max = Some(d);
        }
        if let Some(r) = headers.daily_remaining {
            st.daily_remaining = Some(r);
        }
        if let (Some(max), Some(rem)) = (headers.max, headers.remaining) {
            // Once a whole window has passed without a 429, grow back by 1% of the budget a
            // tenth of a window up to the ceiling, and the ceiling by 0.05% (the other
            // processes' calls are counted as slots already, so the share only recovers from
            // the cut, it does not make room for them).
            let window = st.window;
            let calm = st.last_cut.is_none_or(|c| now.duration_since(c) >= window);
            if calm && now.duration_since(st.last_growth) >= window / 10 {
                st.ceiling = (st.ceiling + 0.0005).min(1.0);
                st.share = (st.share + 0.01).min(st.ceiling);
                st.last_growth = now;
            }
            // Compare with what this process had counting when HubSpot counted this call.
            let server_used = max.saturating_sub(rem) as usize;
            let horizon = st.window + Self::margin(st.window);
            let local =
                st.slots.iter().filter(|s| s.done.is_none_or(|d| d + horizon > stamp)).count();
            for _ in local..server_used {
                let id = st.next_id;
                st.next_id += 1;
                st.slots.push(Slot { id, done: Some(stamp) });
            }
        }
    }

    /// Gives the slot back after a transport failure (the call may or may not have counted):
    /// it counts from now, the latest moment HubSpot could have counted it.
    pub fn abandon(&self, permit: Permit) {
        self.finish(permit, &RateHeaders::default());
    }

    /// A rolling-window 429 arrived: hold every caller for `wait`, cut this process's share by
    /// a tenth and its ceiling to just under where the 429 came (once per half window: the calls
    /// in flight meet the same full window).
    pub fn back_off(&self, wait: Duration) {
        let mut st = self.lock();
        let now = Instant::now();
        let half = st.window / 2;
        if st.last_cut.is_none_or(|c| now.duration_since(c) >= half) {
            let full = f64::from(st.max) * (1.0 - self.reserved_share);
            let floor = 1.0 / full.max(1.0);
            st.ceiling = (st.share * 0.97).max(floor);
            st.share = (st.share * 0.9).max(floor);
            st.last_cut = Some(now);
            st.last_growth = now;
        }
        let until = now + wait;
        if st.blocked_until.is_none_or(|b| b < until) {
            st.blocked_until = Some(until);
        }
    }

    /// A `DAILY` 429 arrived: refuse calls until the reset.
    pub fn daily_exhausted(&self) -> OffsetDateTime {
        let reset = self.next_daily_reset(OffsetDateTime::now_utc());
        self.lock().daily_blocked_until = Some(reset);
        reset
    }

    pub fn window(&self) -> Duration {
        self.lock().window
    }

    pub fn stats(&self) -> LimiterStats {
        let st = self.lock();
        LimiterStats {
            max: st.max,
            capacity: self.capacity(st.max, st.share),
            window: st.window,
            calls: st.calls,
            waits: st.waits,
            daily_remaining: st.daily_remaining,
        }
    }
}

/// Search's own limit (HubSpot: 5 requests per second per account, no headers). The limit is
/// the account's, shared with every other process, and no header tells how much is left: a 429
/// halves this process's rate, and each 10 s without one gives a request per second back.
#[derive(Debug)]
pub struct SearchLimiter {
    max_per_second: u32,
    rate: Mutex<(u32, Instant)>,
    sent: Mutex<Vec<Instant>>,
}

impl SearchLimiter {
    pub fn new(per_second: u32) -> Self {
        let max = per_second.max(1);
        Self {
            max_per_second: max,
            rate: Mutex::new((max, Instant::now())),
            sent: Mutex::new(Vec::new()),
        }
    }

    /// The requests per second this process allows itself now.
    pub fn per_second(&self) -> u32 {
        let mut rate = self.rate.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (current, since) = *rate;
        if current < self.max_per_second && since.elapsed() >= Duration::from_secs(10) {
            *rate = (current + 1, Instant::now());
        }
        rate.0
    }

    /// A search 429 arrived: halve the rate (at least one a second).
    pub fn back_off(&self) {
        let mut rate = self.rate.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *rate = ((rate.0 / 2).max(1), Instant::now());
    }

    pub async fn acquire(&self) {
        let horizon = Duration::from_millis(1050);
        loop {
            let wait = {
                let mut sent = self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = Instant::now();
                sent.retain(|t| now.duration_since(*t) < horizon);
                if sent.len() < self.per_second() as usize {
                    sent.push(now);
                    return;
                }
                sent.iter().min().map_or(Duration::from_millis(10), |t| {
                    (*t + horizon).saturating_duration_since(now)
                })
            };
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the server says of the rolling window: `max` calls, `remaining` left.
    fn window(max: u32, remaining: u32) -> RateHeaders {
        RateHeaders { max: Some(max), remaining: Some(remaining), ..RateHeaders::default() }
    }

    #[tokio::test]
    async fn capacity_honours_reserved_share_and_headers() {
        let l = RateLimiter::new(100, Duration::from_secs(10), 0.2, UtcOffset::UTC);
        assert_eq!(l.stats().capacity, 80);
        let p = l.acquire().await.unwrap();
        l.complete(
            p,
            &RateHeaders {
                max: Some(50),
                interval: Some(Duration::from_millis(500)),
                ..RateHeaders::default()
            },
        );
        let s = l.stats();
        assert_eq!((s.max, s.capacity, s.window), (50, 40, Duration::from_millis(500)));
    }

    #[tokio::test]
    async fn server_view_adds_slots() {
        let l = RateLimiter::new(10, Duration::from_secs(60), 0.0, UtcOffset::UTC);
        // The server counts 9 of 10 used: only one more call fits.
        let p = l.acquire().await.unwrap();
        l.complete(p, &window(10, 1));
        let p = l.acquire().await.unwrap();
        l.complete(p, &RateHeaders::default());
        let blocked = tokio::time::timeout(Duration::from_millis(50), l.acquire()).await;
        assert!(blocked.is_err(), "the window is full");
    }

    #[tokio::test]
    async fn a_429_cuts_the_share_and_room_grows_it_back() {
        let l = RateLimiter::new(100, Duration::from_millis(200), 0.0, UtcOffset::UTC);
        assert_eq!(l.stats().capacity, 100);
        l.back_off(Duration::from_millis(1));
        assert_eq!(l.stats().capacity, 90);
        // The calls in flight meet the same full window: one cut per half window.
        l.back_off(Duration::from_millis(1));
        assert_eq!(l.stats().capacity, 90);
        // No growth within a window of the cut.
        let headers = window(100, 60);
        let p = l.acquire().await.unwrap();
        l.complete(p, &headers);
        assert_eq!(l.stats().capacity, 90);
        tokio::time::sleep(Duration::from_millis(220)).await;
        let p = l.acquire().await.unwrap();
        l.complete(p, &headers);
        assert_eq!(l.stats().capacity, 91);
        // At most once a tenth of a window.
        let p = l.acquire().await.unwrap();
        l.complete(p, &headers);
        assert_eq!(l.stats().capacity, 91);
        // Up to the ceiling, 97% of where the 429 came, which then creeps up.
        for _ in 0..12 {
            tokio::time::sleep(Duration::from_millis(25)).await;
            let p = l.acquire().await.unwrap();
            l.complete(p, &headers);
        }
        assert_eq!(l.stats().capacity, 97);
    }

    #[test]
    fn a_search_429_halves_the_search_rate() {
        let l = SearchLimiter::new(5);
        assert_eq!(l.per_second(), 5);
        l.back_off();
        assert_eq!(l.per_second(), 2);
        l.back_off();
        l.back_off();
        assert_eq!(l.per_second(), 1, "never below one a second");
    }

    #[tokio::test]
    async fn daily_budget_and_reset() {
        let l = RateLimiter::new(
            10,
            Duration::from_secs(1),
            0.5,
            UtcOffset::from_hms(-5, 0, 0).unwrap(),
        );
        let p = l.acquire().await.unwrap();
        let half_the_day_used =
            RateHeaders { daily: Some(100), daily_remaining: Some(50), ..RateHeaders::default() };
        l.complete(p, &half_the_day_used);
        match l.acquire().await {
            Err(Error::DailyLimit { reset_at, .. }) => {
                let local = reset_at.to_offset(UtcOffset::from_hms(-5, 0, 0).unwrap());
                assert_eq!(local.time(), Time::MIDNIGHT);
                assert!(reset_at > OffsetDateTime::now_utc());
            }
            other => panic!("expected DailyLimit, got {other:?}"),
        }
    }
}
