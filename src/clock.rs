//! Time, injected: the core never reads the system clock directly, so expiry can be tested
//! without sleeping.

use std::fmt::Debug;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// A source of the current instant.
pub trait Clock: Send + Sync + Debug {
    /// The current instant (UTC).
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to, for tests of expiry and `max_age`.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// A clock standing at the current system time, truncated to whole seconds.
    pub fn starting_now() -> Self {
        let now = OffsetDateTime::now_utc();
        Self::new(now.replace_nanosecond(0).unwrap_or(now))
    }

    /// Moves the clock forward (or backward, with a negative duration), stopping at the
    /// first or last instant `time` represents.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = now.saturating_add(by);
    }

    /// Sets the clock to `instant`.
    pub fn set(&self, instant: OffsetDateTime) {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = instant;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
/// `start` plus `seconds`, or `None` past the last instant `time` represents. Durations that
/// come from requests (`max_age`, `remember_for`) can be any `i64`: where they are added to an
/// instant they saturate to "never" through this instead of overflowing, which panics.
pub(crate) fn after(start: OffsetDateTime, seconds: i64) -> Option<OffsetDateTime> {
    start.checked_add(Duration::seconds(seconds))
}
