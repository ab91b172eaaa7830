//! One monotonic clock for everything a lab records.
//!
//! Socket calls (recorded by the runner) and packets (recorded by the
//! capture) are stamped by the same [`Clock`], so sorting by `t_us` gives
//! the true order of events. The clock is `CLOCK_MONOTONIC` through
//! [`std::time::Instant`]; wall-clock time never enters a trace.

use std::time::{Duration, Instant};

/// A shared zero point; cheap to copy into every thread of a run.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Instant,
}

impl Clock {
    /// Starts a clock whose zero is now.
    pub fn start() -> Self {
        Clock {
            base: Instant::now(),
        }
    }

    /// Microseconds since the clock started.
    pub fn now_us(&self) -> u64 {
        self.since(Instant::now())
    }

    /// Microseconds from the clock's zero to `t` (0 if `t` is earlier).
    pub fn since(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.base).as_micros() as u64
    }

    /// The instant a reading in microseconds stands for.
    pub fn at(&self, t_us: u64) -> Instant {
        self.base + Duration::from_micros(t_us)
    }
}
