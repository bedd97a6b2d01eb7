//! [`EventLoop::block_on`]: a run whose main future may borrow from the caller, and
//! [`EventLoop::advance`]: moving the virtual clock by hand.
//!
//! `run_until_complete` makes its future a task, so the future must be `'static`. Here
//! the main task is a stand-in whose steps poll the caller's future in its place: the
//! future stays on the caller's stack, yet it is scheduled, woken, traced and replayed
//! exactly as a main task is.

use std::cell::Cell;
use std::future::Future;
use std::panic::Location;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::EventLoop;
use crate::error::LoopError;
use crate::time::instant::Instant;
use crate::trace::origin::{Origin, What};

impl EventLoop {
    /// Runs the loop until `fut` completes, like
    /// [`run_until_complete`](EventLoop::run_until_complete), but `fut` may borrow from
    /// the caller (it need not be `'static`).
    ///
    /// `fut` is the run's main task: each of its steps polls `fut` in place, so it is
    /// scheduled, traced and replayed like any main task; only its storage differs.
    ///
    /// ```
    /// let lp = simloop::new_event_loop();
    /// let mut seen = Vec::new();
    /// lp.block_on(async {
    ///     simloop::sleep(std::time::Duration::from_secs(1)).await;
    ///     seen.push(1); // borrows a local of the caller
    /// }).unwrap();
    /// assert_eq!(seen, [1]);
    /// ```
    ///
    /// # Errors
    /// As for [`run_until_complete`](EventLoop::run_until_complete).
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> Result<F::Output, LoopError> {
        let origin = Origin::new(What::Main, Location::caller(), 0);
        let mut fut = std::pin::pin!(fut);
        let mut out = None;
        let done = Rc::new(Cell::new(false));
        let stand_in = {
            let done = done.clone();
            std::future::poll_fn(move |_| match done.get() {
                true => Poll::Ready(()),
                false => Poll::Pending,
            })
        };
        {
            let mut poll = |cx: &mut Context<'_>| match fut.as_mut().poll(cx) {
                Poll::Ready(v) => {
                    out = Some(v);
                    done.set(true);
                    Poll::Ready(())
                }
                Poll::Pending => Poll::Pending,
            };
            self.run_main_with(stand_in, origin, &mut Some(&mut poll))?;
        }
        Ok(out.expect("simloop: block_on's main task ended without its future's output (a simloop bug; please report it)"))
    }

    /// Moves the virtual clock forward by `by` at once (tokio's `time::advance`). Timers
    /// due by the new time are queued at the next iteration boundary, all together, in
    /// the policy's order; each observes the new time. The jump is recorded in the trace.
    ///
    /// ```
    /// use std::time::Duration;
    /// let lp = simloop::new_event_loop();
    /// lp.run_until_complete(async {
    ///     let lp = simloop::get_running_loop().unwrap();
    ///     lp.advance(Duration::from_millis(5));
    ///     assert_eq!(lp.elapsed(), Duration::from_millis(5));
    /// }).unwrap();
    /// ```
    ///
    /// # Panics
    /// If the clock would pass `u64::MAX` nanoseconds (about 584 years).
    pub fn advance(&self, by: Duration) {
        if by.is_zero() {
            return;
        }
        let inner = &self.inner;
        let now = inner.now.get();
        let to = u64::try_from(by.as_nanos())
            .ok()
            .and_then(|d| now.checked_add(d))
            .unwrap_or_else(|| {
                panic!("simloop: advance({by:?}) moves the virtual clock past its range (u64 nanoseconds)")
            });
        inner.now.set(to);
        inner.core().trace.push_clock(Instant::from_nanos(to));
    }
}
