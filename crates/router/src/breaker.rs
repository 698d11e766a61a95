//! The circuit breaker of one target: closed, open for a cooldown after too many
//! retryable failures, then half-open with a few probe calls ([`BreakerState`],
//! configured by [`BreakerPolicy`]). A non-retryable error (a bad request, a quota)
//! says nothing about the target's health and does not count.

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::BreakerPolicy;

/// The state of a target's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls pass.
    Closed,
    /// The target is skipped until the cooldown ends.
    Open,
    /// A limited number of probe calls pass.
    HalfOpen,
}

impl BreakerState {
    /// The snake_case name: `closed`, `open` or `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug, Clone)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probes: u32 },
}

/// One target's breaker. With no policy it is always closed.
#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    policy: Option<BreakerPolicy>,
    inner: Inner,
}

impl Breaker {
    pub(crate) fn new(policy: Option<BreakerPolicy>) -> Breaker {
        Breaker {
            policy,
            inner: Inner::Closed { failures: 0 },
        }
    }

    fn refresh(&mut self, now: Instant) {
        if let Inner::Open { until } = self.inner
            && now >= until
        {
            self.inner = Inner::HalfOpen { probes: 0 };
        }
    }

    /// The state at `now` (an open breaker whose cooldown ended reads half-open).
    pub(crate) fn state(&mut self, now: Instant) -> BreakerState {
        self.refresh(now);
        match self.inner {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to make a call at `now`. Half-open, this takes a probe slot.
    pub(crate) fn try_acquire(&mut self, now: Instant) -> bool {
        self.refresh(now);
        let limit = self
            .policy
            .as_ref()
            .map_or(u32::MAX, |p| p.half_open_probes);
        match &mut self.inner {
            Inner::Closed { .. } => true,
            Inner::Open { .. } => false,
            Inner::HalfOpen { probes } => {
                if *probes < limit {
                    *probes += 1;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Gives back a probe slot taken by [`try_acquire`](Self::try_acquire) for a call
    /// that was not made or whose outcome says nothing about the target's health.
    pub(crate) fn release(&mut self) {
        if let Inner::HalfOpen { probes } = &mut self.inner {
            *probes = probes.saturating_sub(1);
        }
    }

    pub(crate) fn on_success(&mut self) {
        self.inner = Inner::Closed { failures: 0 };
    }

    /// Records a failure; `counted` says whether its kind counts against the target.
    pub(crate) fn on_failure(&mut self, counted: bool, now: Instant) {
        let Some(policy) = &self.policy else {
            return;
        };
        if !counted {
            self.release();
            return;
        }
        let open = Inner::Open {
            until: now + policy.cooldown,
        };
        self.inner = match self.inner {
            Inner::Closed { failures } => {
                let failures = failures.saturating_add(1);
                if failures >= policy.failure_threshold.max(1) {
                    open
                } else {
                    Inner::Closed { failures }
                }
            }
            Inner::HalfOpen { .. } | Inner::Open { .. } => open,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn cycle() {
        let policy = BreakerPolicy {
            failure_threshold: 2,
            cooldown: Duration::from_secs(10),
            half_open_probes: 1,
        };
        let mut b = Breaker::new(Some(policy));
        let t0 = Instant::now();
        assert!(b.try_acquire(t0));
        b.on_failure(false, t0);
        b.on_failure(true, t0);
        assert_eq!(b.state(t0), BreakerState::Closed);
        b.on_failure(true, t0);
        assert_eq!(b.state(t0), BreakerState::Open);
        assert!(!b.try_acquire(t0 + Duration::from_secs(9)));
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(b.state(t1), BreakerState::HalfOpen);
        assert!(b.try_acquire(t1));
        assert!(!b.try_acquire(t1));
        b.on_failure(true, t1);
        assert_eq!(b.state(t1), BreakerState::Open);
        let t2 = t1 + Duration::from_secs(10);
        assert!(b.try_acquire(t2));
        b.on_success();
        assert_eq!(b.state(t2), BreakerState::Closed);
    }

    #[test]
    fn disabled_is_always_closed() {
        let mut b = Breaker::new(None);
        let t = Instant::now();
        for _ in 0..100 {
            b.on_failure(true, t);
        }
        assert!(b.try_acquire(t));
    }
}
