//! Virtual time: [`Instant`], [`sleep`], [`yield_now`], [`wait_for`]/[`timeout`].
//!
//! The clock of a loop starts at [`Instant::ZERO`] and only moves when nothing is
//! runnable: it then jumps straight to the earliest pending timer. Nothing here reads
//! the wall clock, so an hour of `sleep` costs microseconds and is the same on every
//! machine. Resolution is one nanosecond; distinct deadlines stay distinct.

use std::fmt;
use std::future::Future;
use std::ops::{Add, AddAssign, Sub};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::event_loop::{running_inner, HandleCell, Inner};
use crate::task::{drop_cancelling, TaskObj, DONE};

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
        write!(
            f,
            "{}.{:09}s",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({self})")
    }
}

/// Waits until `duration` of virtual time has passed (asyncio's `sleep(delay)`).
///
/// `sleep(Duration::ZERO)` behaves exactly like [`yield_now`]. The future binds to the
/// running loop when first polled, so it may be created before the loop runs; polling
/// it outside a running simloop loop panics with "no running event loop". Dropping it
/// cancels its timer, so a cancelled sleep leaves nothing behind.
///
/// ```
/// use std::time::Duration;
/// let lp = simloop::new_event_loop();
/// lp.run_until_complete(simloop::sleep(Duration::from_secs(3600))).unwrap();
/// assert_eq!(lp.elapsed(), Duration::from_secs(3600)); // took microseconds of real time
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        delay: Some(duration),
        deadline: None,
        state: SleepState::Init,
    }
}

/// Waits until the loop's clock reads `deadline`; a past deadline behaves like
/// [`yield_now`].
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        delay: None,
        deadline: Some(deadline),
        state: SleepState::Init,
    }
}

/// Yields to the loop exactly once (asyncio's `sleep(0)`): the task's next step is queued
/// at the tail of the ready queue, after everything already queued.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let lp = simloop::new_event_loop();
/// let (a, b) = (log.clone(), log.clone());
/// lp.run_until_complete(simloop::gather(vec![
///     Box::pin(async move { for i in 0..2 { a.borrow_mut().push(format!("A{i}")); simloop::yield_now().await } })
///         as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
///     Box::pin(async move { for i in 0..2 { b.borrow_mut().push(format!("B{i}")); simloop::yield_now().await } }),
/// ])).unwrap();
/// assert_eq!(*log.borrow(), ["A0", "B0", "A1", "B1"]);
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

enum SleepState {
    Init,
    Yielded,
    Waiting(Rc<HandleCell>, Weak<Inner>),
    Done,
}

/// The future returned by [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    delay: Option<Duration>,
    deadline: Option<Instant>,
    state: SleepState,
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            SleepState::Init => "init",
            SleepState::Yielded => "yielded",
            SleepState::Waiting(..) => "waiting",
            SleepState::Done => "done",
        };
        f.debug_struct("Sleep")
            .field("delay", &self.delay)
            .field("deadline", &self.deadline)
            .field("state", &state)
            .finish()
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &self.state {
            SleepState::Init => {
                let inner = running_inner("sleep");
                let now = inner.now();
                let deadline = match (self.delay, self.deadline) {
                    (Some(d), _) => now + d,
                    (None, Some(t)) => t,
                    (None, None) => now,
                };
                if deadline <= now {
                    self.state = SleepState::Yielded;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                self.deadline = Some(deadline);
                let cell = inner.add_timer(
                    deadline,
                    crate::event_loop::Action::Wake(cx.waker().clone()),
                );
                self.state = SleepState::Waiting(cell, Rc::downgrade(&inner));
                Poll::Pending
            }
            SleepState::Yielded => {
                self.state = SleepState::Done;
                Poll::Ready(())
            }
            SleepState::Waiting(cell, _) => {
                if cell.done.get() {
                    if let SleepState::Waiting(cell, inner) =
                        std::mem::replace(&mut self.state, SleepState::Done)
                    {
                        if let Some(inner) = inner.upgrade() {
                            inner.recycle(cell);
                        }
                    }
                    Poll::Ready(())
                } else {
                    cell.update_waker(cx.waker());
                    Poll::Pending
                }
            }
            SleepState::Done => Poll::Ready(()),
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let SleepState::Waiting(cell, inner) = &self.state {
            if !cell.done.get() {
                crate::event_loop::cancel_handle(cell, inner);
            }
        }
        if let SleepState::Waiting(cell, inner) =
            std::mem::replace(&mut self.state, SleepState::Done)
        {
            if let Some(inner) = inner.upgrade() {
                inner.recycle(cell);
            }
        }
    }
}

/// The error of [`wait_for`] and [`timeout`]: the deadline passed before the future
/// completed (asyncio's `TimeoutError`, which carries no message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `fut` with a virtual-time limit (asyncio's `wait_for(aw, timeout)`).
///
/// If `fut` completes first its output is returned. When the time runs out `fut` is
/// dropped as a cancellation: a [`Task`](crate::Task) it owns (e.g. `wait_for(task, d)`, or
/// the children of a [`gather`](crate::gather)) is cancelled rather than detached, and
/// `Err(Elapsed)` is returned only once those cancellations have finished, as asyncio's
/// `wait_for` does. A zero `duration` fails at once without polling `fut` (unlike asyncio,
/// even for a task that is already done). To keep a task running past the timeout, pass
/// it through [`shield`](crate::shield).
///
/// ```
/// use std::time::Duration;
/// let lp = simloop::new_event_loop();
/// let r = lp.run_until_complete(simloop::wait_for(
///     simloop::sleep(Duration::from_secs(10)),
///     Duration::from_secs(1),
/// )).unwrap();
/// assert_eq!(r, Err(simloop::Elapsed::default()));
/// assert_eq!(lp.elapsed(), Duration::from_secs(1));
/// ```
pub fn wait_for<F: Future>(fut: F, duration: Duration) -> Timeout<F> {
    Timeout {
        fut: Some(Box::pin(fut)),
        sleep: sleep(duration),
        zero: duration.is_zero(),
        draining: None,
    }
}

/// The same as [`wait_for`] with the arguments in tokio's order.
pub fn timeout<F: Future>(duration: Duration, fut: F) -> Timeout<F> {
    wait_for(fut, duration)
}

/// Like [`timeout`], with an absolute deadline on the loop's clock.
pub fn timeout_at<F: Future>(deadline: Instant, fut: F) -> Timeout<F> {
    Timeout {
        fut: Some(Box::pin(fut)),
        sleep: sleep_until(deadline),
        zero: false,
        draining: None,
    }
}

/// The future returned by [`wait_for`], [`timeout`] and [`timeout_at`].
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F: Future> {
    fut: Option<Pin<Box<F>>>,
    sleep: Sleep,
    zero: bool,
    /// Tasks cancelled by the timeout, which must finish before `Elapsed` is returned.
    draining: Option<Vec<Rc<dyn TaskObj>>>,
}

impl<F: Future> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("done", &self.fut.is_none())
            .field("sleep", &self.sleep)
            .finish()
    }
}

impl<F: Future> Timeout<F> {
    /// Cancels the inner future; `Ready` once every task it owned has finished.
    fn expire(&mut self, cx: &mut Context<'_>) -> Poll<Result<F::Output, Elapsed>> {
        if let Some(fut) = self.fut.take() {
            let cancelled = drop_cancelling(fut);
            self.draining = Some(cancelled);
        }
        let pending: Vec<&Rc<dyn TaskObj>> = self
            .draining
            .iter()
            .flatten()
            .filter(|t| !t.header().has(DONE))
            .collect();
        if pending.is_empty() {
            self.draining = None;
            return Poll::Ready(Err(Elapsed(())));
        }
        for t in pending {
            *t.header().join_waker.borrow_mut() = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.zero || this.draining.is_some() {
            return this.expire(cx);
        }
        let Some(fut) = this.fut.as_mut() else {
            panic!("Timeout polled after completion");
        };
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            this.fut = None;
            return Poll::Ready(Ok(v));
        }
        if Pin::new(&mut this.sleep).poll(cx).is_ready() {
            return this.expire(cx);
        }
        Poll::Pending
    }
}
