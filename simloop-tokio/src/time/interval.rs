//! [`interval`], [`interval_at`], [`Interval`] and [`MissedTickBehavior`]: tokio's
//! arithmetic over a [`Sleep`]. A tick is *missed* only when it is more than 5 ms late
//! (tokio's slack); then the behaviour picks the next deadline.

use std::future::{poll_fn, Future};
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Instant, Sleep};

/// What an [`Interval`] does after missing ticks (tokio's `time::MissedTickBehavior`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Catch up: the missed ticks complete at once, then the original schedule goes on.
    #[default]
    Burst,
    /// Restart the period from the late tick.
    Delay,
    /// Skip the missed ticks: the next tick is the next multiple of the period.
    Skip,
}

impl MissedTickBehavior {
    fn next_timeout(self, timeout: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => timeout + period,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let late = (now - timeout).as_nanos();
                let rem = late % period.as_nanos();
                now + period - Duration::from_nanos(u64::try_from(rem).unwrap_or(u64::MAX))
            }
        }
    }
}

/// Ticks every `period` (tokio's `time::Interval`).
#[derive(Debug)]
pub struct Interval {
    delay: Pin<Box<Sleep>>,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

/// An interval whose first tick completes at once.
///
/// # Panics
/// If `period` is zero ("`period` must be non-zero."), or outside a runtime.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    make(Instant::now(), period, Location::caller())
}

/// An interval whose first tick completes at `start`.
///
/// # Panics
/// If `period` is zero ("`period` must be non-zero."), or outside a runtime.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    make(start, period, Location::caller())
}

#[track_caller]
fn make(start: Instant, period: Duration, at: &'static Location<'static>) -> Interval {
    Interval {
        delay: Box::pin(Sleep::new(start, at)),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.delay.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let timeout = self.delay.deadline();
        let now = Instant::now();
        let next = if now > timeout + Duration::from_millis(5) {
            self.missed_tick_behavior
                .next_timeout(timeout, now, self.period)
        } else {
            timeout
                .checked_add(self.period)
                .unwrap_or_else(Instant::far_future)
        };
        self.delay.as_mut().reset(next);
        Poll::Ready(timeout)
    }

    /// The next tick is a period from now.
    pub fn reset(&mut self) {
        self.delay.as_mut().reset(Instant::now() + self.period);
    }

    /// The next tick completes at once.
    pub fn reset_immediately(&mut self) {
        self.delay.as_mut().reset(Instant::now());
    }

    /// The next tick is `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        self.delay.as_mut().reset(Instant::now() + after);
    }

    /// The next tick is at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.as_mut().reset(deadline);
    }

    /// What happens after missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what happens after missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}
