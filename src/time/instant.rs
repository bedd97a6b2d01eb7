//! [`Instant`]: a point on a loop's virtual clock, a plain value any layer may name.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

/// A point on a loop's virtual clock, in nanoseconds since the loop was created.
///
/// `Instant - Instant` is a [`Duration`] and `Instant + Duration` an `Instant`
/// (saturating at the end of representable time, about 584 years).
///
/// ```
/// use simloop::Instant;
/// use std::time::Duration;
/// let t = Instant::ZERO + Duration::from_millis(4);
/// assert_eq!(t - Instant::ZERO, Duration::from_millis(4));
/// assert_eq!(t.as_nanos(), 4_000_000);
/// assert_eq!(t.to_string(), "0.004000000s");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The start of virtual time: every loop's clock reads this when it is created.
    pub const ZERO: Instant = Instant(0);

    /// The instant `n` nanoseconds after [`Instant::ZERO`].
    pub const fn from_nanos(n: u64) -> Instant {
        Instant(n)
    }

    /// Nanoseconds since [`Instant::ZERO`].
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since [`Instant::ZERO`], for printing (asyncio's `loop.time()` is a float).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

pub(crate) fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(duration_nanos(d)))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub for Instant {
    type Output = Duration;
    /// # Panics
    /// If `rhs` is later than `self` (as `std::time::Instant` does on some platforms, but
    /// always): use [`Instant::saturating_duration_since`] when that can happen.
    #[track_caller]
    fn sub(self, rhs: Instant) -> Duration {
        match self.0.checked_sub(rhs.0) {
            Some(n) => Duration::from_nanos(n),
            None => panic!(
                "Instant subtraction underflow: {self} - {rhs}; use saturating_duration_since"
            ),
        }
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", Secs(*self))
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({self})")
    }
}

/// Formats an instant as seconds with exactly nine decimals and no unit (the trace's
/// time column; `Instant`'s `Display` adds the `s`).
pub(crate) struct Secs(pub(crate) Instant);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos();
        write!(f, "{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
    }
}
