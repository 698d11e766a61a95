//! The virtual wall clock that dates responses.

use std::time::{Duration, SystemTime};

/// A wall clock that runs on tokio time: a fixed epoch plus the tokio time elapsed
/// since the clock was started.
///
/// Under a paused tokio clock (`start_paused`, as scenarios run) it reads the same
/// instant at the same point of every run, so a `Date` header taken from it, and an
/// HTTP-date `retry-after` measured against that header, are the same every run.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use llmvcr_faults::VirtualClock;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let clock = VirtualClock::start(VirtualClock::default_epoch());
/// assert_eq!(clock.http_date(), "Thu, 01 Jan 2026 00:00:00 GMT");
/// tokio::time::sleep(Duration::from_millis(90_500)).await;
/// assert_eq!(clock.elapsed(), Duration::from_millis(90_500));
/// // HTTP dates have whole seconds: the fraction is dropped.
/// assert_eq!(clock.http_date(), "Thu, 01 Jan 2026 00:01:30 GMT");
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtualClock {
    epoch: SystemTime,
    start: tokio::time::Instant,
}

impl VirtualClock {
    /// The epoch scenarios use, in seconds since the Unix epoch:
    /// `Thu, 01 Jan 2026 00:00:00 GMT`.
    pub const DEFAULT_EPOCH_UNIX_SECS: u64 = 1_767_225_600;

    /// [`DEFAULT_EPOCH_UNIX_SECS`](VirtualClock::DEFAULT_EPOCH_UNIX_SECS) as a
    /// [`SystemTime`].
    pub fn default_epoch() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(VirtualClock::DEFAULT_EPOCH_UNIX_SECS)
    }

    /// A clock that reads `epoch` now, and runs with tokio time from here.
    pub fn start(epoch: SystemTime) -> VirtualClock {
        VirtualClock {
            epoch,
            start: tokio::time::Instant::now(),
        }
    }

    /// The epoch: what the clock read when it was started.
    pub fn epoch(&self) -> SystemTime {
        self.epoch
    }

    /// The tokio time elapsed since the clock was started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// The epoch plus the elapsed tokio time.
    pub fn now(&self) -> SystemTime {
        self.epoch.checked_add(self.elapsed()).unwrap_or(self.epoch)
    }

    /// [`now`](VirtualClock::now) as an HTTP date (RFC 9110 IMF-fixdate, whole
    /// seconds), as a `Date` header carries it. HTTP dates run from 1970 to the end
    /// of year 9999; a time outside is written as the nearest end.
    pub fn http_date(&self) -> String {
        // The last second an HTTP date can write: 9999-12-31T23:59:59Z.
        let last = SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799);
        let now = self.now().clamp(SystemTime::UNIX_EPOCH, last);
        httpdate::fmt_http_date(now)
    }
}
