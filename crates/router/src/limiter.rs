//! Client-side rate limits of one target: token buckets for requests and for
//! estimated tokens per minute ([`RateLimit`]), in the GCRA form, which computes
//! the wait before the next call instead of polling. The router sleeps that wait in
//! virtual time, or gives the target up when it would pass the total deadline.

use std::time::Duration;

use tokio::time::Instant;

use crate::RateLimit;

/// One token bucket, kept as a "theoretical arrival time" (GCRA): the bucket is full
/// when `tat <= now`, and a cost of `n` units moves `tat` forward by `n * interval`.
/// A call may start once `tat` (after adding its cost) is at most `window` ahead.
#[derive(Debug, Clone)]
struct Bucket {
    interval_nanos: u128,
    window_nanos: u128,
    tat: Option<Instant>,
}

impl Bucket {
    fn new(per_minute: u64, capacity: u64) -> Bucket {
        let interval = 60_000_000_000u128 / u128::from(per_minute.max(1));
        Bucket {
            interval_nanos: interval,
            window_nanos: interval * u128::from(capacity.max(1)),
            tat: None,
        }
    }

    /// Returns (wait, new tat) for a cost of `units` at `now`. A cost larger than the
    /// bucket waits until the bucket is full and then drains it.
    fn plan(&self, now: Instant, units: u64) -> (Duration, Instant) {
        let base = self.tat.map_or(now, |t| t.max(now));
        let inc = nanos_to_duration(self.interval_nanos.saturating_mul(u128::from(units)));
        let new_tat = base + inc;
        let window = nanos_to_duration(self.window_nanos);
        let earliest = new_tat
            .checked_sub(window)
            .unwrap_or(now)
            .min(base)
            .max(now);
        (earliest - now, new_tat)
    }
}

fn nanos_to_duration(n: u128) -> Duration {
    let secs = u64::try_from(n / 1_000_000_000).unwrap_or(u64::MAX);
    Duration::new(secs, (n % 1_000_000_000) as u32)
}

/// The request and token buckets of one target.
#[derive(Debug, Clone)]
pub(crate) struct Limiter {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
}

/// A computed wait, to be committed if the call goes ahead.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reservation {
    pub(crate) wait: Duration,
    requests_tat: Option<Instant>,
    tokens_tat: Option<Instant>,
}

impl Limiter {
    pub(crate) fn new(limit: &RateLimit) -> Limiter {
        Limiter {
            requests: limit
                .requests_per_minute
                .map(|rpm| Bucket::new(u64::from(rpm), u64::from(limit.burst))),
            tokens: limit.tokens_per_minute.map(|tpm| Bucket::new(tpm, tpm)),
        }
    }

    /// How long a call of `tokens` estimated tokens must wait at `now`.
    pub(crate) fn plan(&self, now: Instant, tokens: u64) -> Reservation {
        let r = self.requests.as_ref().map(|b| b.plan(now, 1));
        let t = self.tokens.as_ref().map(|b| b.plan(now, tokens));
        let wait = r
            .map_or(Duration::ZERO, |x| x.0)
            .max(t.map_or(Duration::ZERO, |x| x.0));
        Reservation {
            wait,
            requests_tat: r.map(|x| x.1),
            tokens_tat: t.map(|x| x.1),
        }
    }

    /// Takes the capacity that `plan` computed.
    pub(crate) fn commit(&mut self, r: Reservation) {
        if let (Some(b), Some(t)) = (&mut self.requests, r.requests_tat) {
            b.tat = Some(t);
        }
        if let (Some(b), Some(t)) = (&mut self.tokens, r.tokens_tat) {
            b.tat = Some(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpm_spaces_requests() {
        let mut l = Limiter::new(&RateLimit::requests_per_minute(60));
        let now = Instant::now();
        let waits: Vec<u64> = (0..4)
            .map(|_| {
                let r = l.plan(now, 0);
                l.commit(r);
                r.wait.as_secs()
            })
            .collect();
        assert_eq!(waits, [0, 1, 2, 3]);
    }

    #[test]
    fn burst_lets_some_through_at_once() {
        let mut l = Limiter::new(&RateLimit {
            burst: 3,
            ..RateLimit::requests_per_minute(60)
        });
        let now = Instant::now();
        let waits: Vec<u64> = (0..5)
            .map(|_| {
                let r = l.plan(now, 0);
                l.commit(r);
                r.wait.as_secs()
            })
            .collect();
        assert_eq!(waits, [0, 0, 0, 1, 2]);
    }

    #[test]
    fn tokens_per_minute() {
        let mut l = Limiter::new(&RateLimit::tokens_per_minute(600));
        let now = Instant::now();
        let r = l.plan(now, 600);
        assert_eq!(r.wait, Duration::ZERO);
        l.commit(r);
        let r = l.plan(now, 300);
        assert_eq!(r.wait, Duration::from_secs(30));
        // A call bigger than the bucket waits for a full bucket, not forever.
        let r = l.plan(now, 6000);
        assert_eq!(r.wait, Duration::from_secs(60));
    }
}
