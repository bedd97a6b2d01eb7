//! Closing a loop (asyncio's `close()`), and cancelling what is left at the end of a run
//! (the shutdown half of `asyncio.run`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::task::Poll;

use super::EventLoop;
use crate::error::LoopError;
use crate::task::error::{panic_text, TaskError};
use crate::task::header::TaskObj;
use crate::task::link::Msg;
use crate::task::state::TaskState;
use crate::trace;

impl EventLoop {
    /// Closes the loop (asyncio's `close()`): drops every queued callback and timer and
    /// every task still pending, in id order. Each dropped pending task is recorded in the
    /// trace (`destroy`) and reported on stderr, as asyncio reports "Task was destroyed
    /// but it is pending!". Idempotent; irreversible.
    ///
    /// # Errors
    /// [`LoopError::CloseRunning`] if called while the loop runs (nothing is changed).
    pub fn close(&self) -> Result<(), LoopError> {
        self.close_impl(false)
    }

    /// [`close`](EventLoop::close) without the stderr report of pending tasks, for tools
    /// that close many loops (sweeps, fuzz targets). The dropped tasks are still recorded
    /// in the trace as `destroy` events.
    ///
    /// ```
    /// let lp = simloop::new_event_loop();
    /// lp.create_task(simloop::sleep(std::time::Duration::from_secs(1)));
    /// lp.close_quietly().unwrap();
    /// assert!(lp.trace().to_string().contains("destroy 1"));
    /// ```
    ///
    /// # Errors
    /// [`LoopError::CloseRunning`] if called while the loop runs.
    pub fn close_quietly(&self) -> Result<(), LoopError> {
        self.close_impl(true)
    }

    fn close_impl(&self, quiet: bool) -> Result<(), LoopError> {
        let inner = &self.inner;
        if !inner.lifecycle.close()? {
            return Ok(());
        }
        let (pending, handles, timers, msgs) = {
            let mut core = inner.core();
            // Apply pending spawns so they are accounted for, then take everything.
            let msgs = std::mem::take(&mut *inner.inbox.borrow_mut());
            let mut leftovers = Vec::new();
            for m in msgs {
                match m {
                    Msg::Relay(_) => leftovers.push(m),
                    other => core.apply(other),
                }
            }
            let pending = core.tasks.drain_by_id();
            for t in &pending {
                core.trace
                    .push(trace::DESTROY, 0, t.obj.header().id.as_u32());
            }
            core.ready.clear();
            let handles = core.handles.take_all();
            let timers = core.timers.take_all();
            (pending, handles, timers, leftovers)
        };
        let names: Vec<String> = pending.iter().map(|t| t.obj.header().name()).collect();
        for t in pending {
            let obj = t.obj;
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| obj.drop_future())) {
                eprintln!(
                    "simloop: close(): dropping pending task {} panicked: {}",
                    obj.header().name(),
                    panic_text(&*p)
                );
            }
            let h = obj.header();
            h.status.finish(TaskState::Cancelled);
            obj.set_failed(TaskError::Cancelled);
            drop(h.hook.borrow_mut().take());
            drop(h.awaiting.borrow_mut().take());
            let w = h.join_waker.borrow_mut().take();
            drop(w);
        }
        let _ = catch_unwind(AssertUnwindSafe(move || {
            drop(handles);
            drop(timers);
            drop(msgs);
        }));
        if !names.is_empty() && !quiet {
            eprintln!(
                "simloop: Task was destroyed but it is pending! close() dropped {} pending task{}: {}",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            );
        }
        if let Some(e) = inner.take_failure() {
            if !quiet {
                eprintln!("simloop: unreported failure at close(): {e}");
            }
        }
        Ok(())
    }

    /// Cancels every pending task in id order and runs the loop until they have all
    /// finished (the shutdown half of `asyncio.run`).
    ///
    /// The shutdown task waits for the cancelled tasks' completion (it is woken when a task
    /// completes, by the step loop's `complete`) rather than spinning on `yield_now`, so
    /// whatever order a policy picks (the bounded search keeps running a task while it
    /// can), the cancelled tasks run.
    pub(crate) fn cancel_leftovers(&self) -> Result<(), LoopError> {
        if self.is_closed() {
            return Ok(());
        }
        let objs: Vec<Rc<dyn TaskObj>> = self.inner.core().tasks.live_by_id();
        if objs.is_empty() {
            return Ok(());
        }
        for o in &objs {
            o.header().cancel();
        }
        let inner = Rc::downgrade(&self.inner);
        self.run_until_complete(std::future::poll_fn(move |cx| {
            if objs.iter().all(|o| o.header().status.is_done()) {
                return Poll::Ready(());
            }
            if let Some(inner) = inner.upgrade() {
                inner.shutdown.set(Some(cx.waker().clone()));
            }
            Poll::Pending
        }))
    }
}
