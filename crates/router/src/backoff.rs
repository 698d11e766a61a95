//! [`Backoff`]: the delays between retries of one target (exponential from
//! `retry.base` up to `retry.cap`, with the policy's [`Jitter`]), drawn from a
//! seeded generator so a seed always gives the same waits.

use std::time::Duration;

use crate::rng::SplitMix64;
use crate::{Jitter, RetryPolicy};

/// The sequence of backoff delays of one target, before any `retry_after` is applied.
///
/// Deterministic for a policy and a seed:
///
/// ```
/// use llmvcr_router::{Backoff, RetryPolicy};
///
/// let policy = RetryPolicy::default();
/// let a: Vec<_> = (0..5).map({ let mut b = Backoff::new(&policy, 42); move |_| b.next_delay() }).collect();
/// let b: Vec<_> = (0..5).map({ let mut b = Backoff::new(&policy, 42); move |_| b.next_delay() }).collect();
/// assert_eq!(a, b);
/// assert!(a.iter().all(|d| *d <= policy.cap));
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    jitter: Jitter,
    retries: u32,
    previous: Duration,
    rng: SplitMix64,
}

impl Backoff {
    /// A fresh sequence for `policy`, randomised by `seed`.
    pub fn new(policy: &RetryPolicy, seed: u64) -> Backoff {
        Backoff {
            base: policy.base,
            cap: policy.cap,
            jitter: policy.jitter,
            retries: 0,
            previous: policy.base,
            rng: SplitMix64::new(seed),
        }
    }

    /// The delay before the next retry.
    pub fn next_delay(&mut self) -> Duration {
        let n = self.retries;
        self.retries = self.retries.saturating_add(1);
        let exp = 2u32
            .checked_pow(n)
            .and_then(|m| self.base.checked_mul(m))
            .unwrap_or(self.cap)
            .min(self.cap);
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        match self.jitter {
            Jitter::None => exp,
            Jitter::Full => Duration::from_nanos(self.rng.between(0, nanos(exp))),
            Jitter::Decorrelated => {
                let hi = nanos(self.previous).saturating_mul(3);
                let d = Duration::from_nanos(self.rng.between(nanos(self.base), hi)).min(self.cap);
                self.previous = d;
                d
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(jitter: Jitter) -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            jitter,
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn no_jitter_doubles_up_to_cap() {
        let mut b = Backoff::new(&policy(Jitter::None), 0);
        let got: Vec<u128> = (0..6).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
        for _ in 0..100 {
            assert_eq!(b.next_delay(), Duration::from_secs(1));
        }
    }

    #[test]
    fn full_jitter_stays_under_exponential() {
        let mut b = Backoff::new(&policy(Jitter::Full), 3);
        for n in 0..20u32 {
            let bound =
                Duration::from_millis(100 * 2u64.pow(n.min(10))).min(Duration::from_secs(1));
            assert!(b.next_delay() <= bound);
        }
    }

    #[test]
    fn decorrelated_stays_between_base_and_cap() {
        let mut b = Backoff::new(&policy(Jitter::Decorrelated), 9);
        for _ in 0..50 {
            let d = b.next_delay();
            assert!(
                d >= Duration::from_millis(100) && d <= Duration::from_secs(1),
                "{d:?}"
            );
        }
    }

    #[test]
    fn seeds_differ() {
        let p = policy(Jitter::Full);
        let mut a = Backoff::new(&p, 1);
        let mut b = Backoff::new(&p, 2);
        let a: Vec<_> = (0..8).map(|_| a.next_delay()).collect();
        let b: Vec<_> = (0..8).map(|_| b.next_delay()).collect();
        assert_ne!(a, b);
    }
}
