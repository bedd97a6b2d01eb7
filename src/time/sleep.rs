//! [`sleep`], [`sleep_until`] and [`yield_now`]: waiting on the loop's virtual clock.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use super::instant::Instant;
use crate::event_loop::handle::{cancel_handle, Action, HandleCell};
use crate::event_loop::{running_inner, Inner};
use crate::task::await_site;
use crate::trace::origin::{Origin, What};

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
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(Some(duration), None, What::Sleep)
}

/// Waits until the loop's clock reads `deadline`; a past deadline behaves like
/// [`yield_now`].
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(None, Some(deadline), What::Sleep)
}

/// [`sleep_until`], noting `at` (not the caller) as where it was made: for wrappers such
/// as the tokio mirror, whose users' call sites are the interesting ones.
#[doc(hidden)]
pub fn sleep_until_from(deadline: Instant, at: &'static Location<'static>) -> Sleep {
    Sleep {
        delay: None,
        deadline: Some(deadline),
        state: SleepState::Init,
        at,
        what: What::Sleep,
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
///
/// The call site is noted (`#[track_caller]`) for a sweep that learns from coverage,
/// which tells the places where a task suspends apart by it: when the future is made
/// (`yield_now().await` suspends right there), so the future itself stays one byte and
/// its poll as cheap as before.
#[track_caller]
#[inline]
pub fn yield_now() -> YieldNow {
    await_site::note(Location::caller());
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
    /// The user's call (`sleep`, `timeout`, …), noted when the timer is registered.
    at: &'static Location<'static>,
    what: What,
}

impl Sleep {
    /// A sleep made by the user's call (the caller's caller's location) for `what`.
    #[track_caller]
    pub(crate) fn new(delay: Option<Duration>, deadline: Option<Instant>, what: What) -> Sleep {
        Sleep {
            delay,
            deadline,
            state: SleepState::Init,
            at: Location::caller(),
            what,
        }
    }
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
                    await_site::note(self.at);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                self.deadline = Some(deadline);
                let nanos = deadline.as_nanos() - now.as_nanos();
                let origin = Origin::new(self.what, self.at, nanos);
                let cell = inner.add_timer(deadline, Action::Wake(cx.waker().clone()), origin);
                self.state = SleepState::Waiting(cell, Rc::downgrade(&inner));
                await_site::note(self.at);
                Poll::Pending
            }
            SleepState::Yielded => {
                self.state = SleepState::Done;
                Poll::Ready(())
            }
            SleepState::Waiting(cell, _) => {
                if cell.has_run() {
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
                    await_site::note(self.at);
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
            if !cell.has_run() {
                match inner.upgrade() {
                    Some(inner) => cancel_handle(cell, &Rc::downgrade(&inner.notes)),
                    None => cancel_handle(cell, &Weak::new()),
                }
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
