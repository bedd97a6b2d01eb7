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
    /// Destructors run by `close()` may call back into the loop: `create_task` is refused
    /// (the future is dropped without running, the task is born cancelled and traced as
    /// spawned and destroyed), `call_soon`/`call_later`/`call_at` are refused (the callback
    /// is dropped without running, the handle is cancelled), and none of them panics. The
    /// refused calls are listed on stderr, with where they were made.
    ///
    /// # Errors
    /// [`LoopError::CloseRunning`] if called while the loop runs (nothing is changed).
    pub fn close(&self) -> Result<(), LoopError> {
        self.close_impl(false).map(drop)
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
        self.close_impl(true).map(drop)
    }

    /// Closes; returns the report of calls refused while closing (printed unless `quiet`).
    /// The loop is Closing (see `lifecycle.rs`) while it drops what it held.
    fn close_impl(&self, quiet: bool) -> Result<Option<String>, LoopError> {
        let inner = &self.inner;
        if !inner.lifecycle.close()? {
            return Ok(None);
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
            drop(h.take_hook());
            drop(h.awaiting.take());
            let w = h.join_waker.take();
            drop(w);
        }
        let _ = catch_unwind(AssertUnwindSafe(move || {
            drop(handles);
            drop(timers);
            drop(msgs);
        }));
        inner.lifecycle.closed();
        if let Some(Err(e)) = inner.core().trace.finish_file() {
            if !quiet {
                eprintln!("simloop: close(): the streamed trace file could not be written: {e}");
            }
        }
        let refused = std::mem::take(&mut *inner.refused.borrow_mut());
        let report = (!refused.is_empty()).then(|| {
            format!(
                "simloop: close() refused {} call{} made while it dropped the loop's pending \
                 tasks, callbacks and timers (from their destructors), as the loop is closed: {}",
                refused.len(),
                if refused.len() == 1 { "" } else { "s" },
                refused.join("; ")
            )
        });
        if let (Some(r), false) = (&report, quiet) {
            eprintln!("{r}");
        }
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
        Ok(report)
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

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;

    use crate::event_loop::EventLoop;

    /// Calls back into its loop when dropped: spawns a task and queues a callback and a
    /// timer, each of which records in `ran` if it ever runs.
    struct Guard {
        lp: EventLoop,
        ran: Rc<Cell<u32>>,
        refused: Rc<RefCell<Vec<bool>>>,
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            let r = self.ran.clone();
            let t = self.lp.create_task_named("from-drop", async move {
                r.set(r.get() + 1);
            });
            let r = self.ran.clone();
            let h = self.lp.call_soon(move || r.set(r.get() + 1));
            let r = self.ran.clone();
            let th = self
                .lp
                .call_later(Duration::from_secs(1), move || r.set(r.get() + 1));
            self.refused.borrow_mut().extend([
                t.is_cancelled() && t.is_done(),
                h.cancelled(),
                th.cancelled(),
            ]);
        }
    }

    /// Issue 13, defect 5: spawning from a destructor that `close()` runs panicked with
    /// "Event loop is closed", and two such destructors in one future aborted the process
    /// (a panic while unwinding). Now the calls are refused without a panic, nothing they
    /// asked for runs, and close's report says what was refused and where.
    #[test]
    fn destructors_calling_into_a_closing_loop_are_refused_and_reported() {
        let lp = EventLoop::new();
        let ran = Rc::new(Cell::new(0));
        let refused = Rc::new(RefCell::new(Vec::new()));
        let guard = || Guard {
            lp: lp.clone(),
            ran: ran.clone(),
            refused: refused.clone(),
        };
        let (g1, g2) = (guard(), guard());
        lp.create_task(async move {
            let _g = (g1, g2);
            std::future::pending::<()>().await;
        });
        let (g3, ran3) = (guard(), ran.clone());
        lp.call_later(Duration::from_secs(5), move || {
            drop(g3);
            ran3.set(100);
        });
        lp.run_until_complete(crate::yield_now()).unwrap();
        let report = lp.close_impl(true).unwrap().expect("a report");
        assert_eq!(ran.get(), 0);
        assert_eq!(*refused.borrow(), [true; 9]);
        assert!(
            report.starts_with("simloop: close() refused 9 calls made while it dropped"),
            "{report}"
        );
        assert_eq!(
            report
                .matches("create_task of from-drop: its future was dropped without running")
                .count(),
            3,
            "{report}"
        );
        assert_eq!(
            report
                .matches("call_soon: the callback was dropped without running (called at src/event_loop/close.rs:")
                .count(),
            3,
            "{report}"
        );
        assert_eq!(report.matches("call_later/call_at").count(), 3, "{report}");
        // The refused tasks have ids and are traced as spawned and destroyed.
        let text = lp.trace().to_string();
        for id in [3, 4, 5] {
            assert!(
                text.contains(&format!("spawn {id} \"from-drop\"\n")),
                "{text}"
            );
            assert!(text.contains(&format!("destroy {id}\n")), "{text}");
        }
        assert!(lp.is_closed());
        // A second close has nothing to report.
        assert_eq!(lp.close_impl(true).unwrap(), None);
    }
}
