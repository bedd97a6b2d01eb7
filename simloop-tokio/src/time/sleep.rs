//! [`sleep`], [`sleep_until`] and [`Sleep`]: tokio's millisecond timers on the virtual
//! clock.
//!
//! tokio's timer wheel counts whole milliseconds from the runtime's start: a deadline is
//! rounded **up** to the next millisecond of that grid, "now" is rounded **down**, and an
//! idle runtime jumps the clock by whole milliseconds from now. So `sleep(1.5 ms)` wakes
//! at 2 ms, and every deadline within one millisecond wakes at one instant. The mirror
//! computes the same instant and waits for it on simloop's clock, so timers of one tick
//! are due together — and their order is the policy's choice (FIFO: registration
//! order, as tokio).
//!
//! `Sleep` is `Send + Sync` like tokio's: the simloop timer behind it lives in this
//! thread's table, under a key.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use super::Instant;
use crate::context;
use crate::coop;

const MS: u64 = 1_000_000;

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

struct Entry {
    run: u64,
    sleep: Pin<Box<simloop::Sleep>>,
}

thread_local! {
    static TIMERS: RefCell<BTreeMap<u64, Entry>> = const { RefCell::new(BTreeMap::new()) };
    /// The run of the last timer registered (see `forget_ended_runs`).
    static LAST_RUN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The timers of ended runs go (a `Sleep` dropped on another thread leaves its entry
/// here): checked when another run starts registering timers.
fn forget_ended_runs() {
    let gone: Vec<Entry> = TIMERS
        .try_with(|t| {
            let mut t = t.borrow_mut();
            let keys: Vec<u64> = t
                .iter()
                .filter(|(_, e)| context::has_ended(e.run))
                .map(|(k, _)| *k)
                .collect();
            keys.iter().filter_map(|k| t.remove(k)).collect()
        })
        .unwrap_or_default();
    drop(gone);
}

/// The virtual instant (ns since the run's start) at which tokio's driver would wake a
/// timer with deadline `deadline_ns`, registered at `now_ns`.
pub(crate) fn wake_instant(deadline_ns: u64, now_ns: u64) -> u64 {
    let deadline_tick = deadline_ns.div_ceil(MS);
    let now_tick = now_ns / MS;
    if deadline_tick <= now_tick {
        now_ns
    } else {
        now_ns.saturating_add((deadline_tick - now_tick).saturating_mul(MS))
    }
}

/// The key of a `Sleep`'s entry in [`TIMERS`]; dropping it cancels the timer.
struct TimerKey(Option<u64>);

impl TimerKey {
    fn clear(&mut self) {
        if let Some(k) = self.0.take() {
            let gone = TIMERS
                .try_with(|t| t.borrow_mut().remove(&k))
                .ok()
                .flatten();
            drop(gone);
        }
    }
}

impl Drop for TimerKey {
    fn drop(&mut self) {
        self.clear();
    }
}

pin_project_lite::pin_project! {
    /// A future that completes at a deadline (tokio's `time::Sleep`).
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Sleep {
        deadline: Instant,
        run: u64,
        // The virtual instant to wake at, fixed when first polled after a (re)set.
        wake: Option<u64>,
        timer: TimerKey,
        elapsed: bool,
        at: &'static Location<'static>,
        #[pin]
        _pin: PhantomPinned,
    }
}

impl Sleep {
    #[track_caller]
    pub(crate) fn new(deadline: Instant, at: &'static Location<'static>) -> Sleep {
        let rs = context::expect_current();
        if !rs.timers.get() {
            panic!("A Tokio 1.x context was found, but timers are disabled. Call `enable_time` on the runtime builder to enable timers.");
        }
        Sleep {
            deadline,
            run: rs.id,
            wake: None,
            timer: TimerKey(None),
            elapsed: false,
            at,
            _pin: PhantomPinned,
        }
    }

    /// The deadline, as given (not rounded).
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// `true` once the deadline has been reached (and seen by a poll).
    pub fn is_elapsed(&self) -> bool {
        self.elapsed
    }

    /// Moves the deadline (also of an elapsed `Sleep`, which then waits again).
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.project();
        *this.deadline = deadline;
        *this.wake = None;
        *this.elapsed = false;
        this.timer.clear();
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if *this.elapsed {
            return Poll::Ready(());
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let rs = context::find(*this.run).unwrap_or_else(|| {
            panic!(
                "simloop-tokio: a `Sleep` was polled after its runtime ended, or on another thread"
            )
        });
        let now = u64::try_from(rs.lp.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let deadline = *this.deadline;
        let wake = *this
            .wake
            .get_or_insert_with(|| wake_instant(deadline.run_nanos(), now));
        if wake <= now {
            *this.elapsed = true;
            this.timer.clear();
            return Poll::Ready(());
        }
        let key = match this.timer.0 {
            Some(k) => k,
            None => {
                if LAST_RUN.with(|l| l.replace(rs.id)) != rs.id {
                    forget_ended_runs();
                }
                let k = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
                let sleep = simloop::__private::sleep_until_from(
                    simloop::Instant::from_nanos(wake),
                    this.at,
                );
                TIMERS.with(|t| {
                    t.borrow_mut().insert(
                        k,
                        Entry {
                            run: rs.id,
                            sleep: Box::pin(sleep),
                        },
                    )
                });
                this.timer.0 = Some(k);
                k
            }
        };
        // Poll the simloop sleep outside the table's borrow.
        let entry = TIMERS.with(|t| t.borrow_mut().remove(&key));
        let Some(mut entry) = entry else {
            panic!("simloop-tokio: a `Sleep`'s timer is missing (polled on another thread?)");
        };
        let r = entry.sleep.as_mut().poll(cx);
        match r {
            Poll::Ready(()) => {
                this.timer.0 = None;
                *this.elapsed = true;
                Poll::Ready(())
            }
            Poll::Pending => {
                TIMERS.with(|t| t.borrow_mut().insert(key, entry));
                coop::refund();
                Poll::Pending
            }
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

/// Waits until `duration` has passed (tokio's `time::sleep`), with tokio's millisecond
/// rounding (see the module docs). `Duration::MAX` sleeps about 30 years.
///
/// # Panics
/// Outside a runtime, when called (tokio's "there is no reactor running…").
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let at = Location::caller();
    let _ = context::expect_current();
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(Instant::far_future);
    Sleep::new(deadline, at)
}

/// Waits until `deadline` (tokio's `time::sleep_until`); a past deadline is ready on the
/// first poll.
///
/// # Panics
/// Outside a runtime, when called.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline, Location::caller())
}
