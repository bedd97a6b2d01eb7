//! The step loop: what the loop does, one step at a time, until it stops, idles, fails
//! or spends its budget.
//!
//! # One step
//!
//! 1. **Drain** the inbox (and wakes from other threads) in arrival order, and purge
//!    cancelled callbacks and timers from the ready set.
//! 2. At an **iteration boundary** (asyncio's `_run_once`): stop if a stop was requested;
//!    if nothing is ready, wake what `defer_wake` held back, else jump the clock to the
//!    next deadline (or report the loop idle);
//!    promote the timers now due, by (deadline, registration order); snapshot the batch.
//! 3. Spend one step of the **budget** (`max_steps`).
//! 4. **Decide**: with two or more candidates (or a policy that sees every step) the
//!    [`Policy`] picks one.
//! 5. **Run** it — poll the task, call the callback, fire the timer, or take the stop
//!    request — and record it in the trace.

use std::cell::RefMut;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::core::{task_candidate, Core};
use super::handle::Action;
use super::inner::Inner;
use super::sites::{TaskStep, MOST_STEPS};
use crate::error::LoopError;
use crate::policy::{Candidate, CandidateKind, Decision};
use crate::task::await_site;
use crate::task::error::{panic_text, PanicPayload, TaskError};
use crate::task::header::{LoopLink, TaskObj};
use crate::task::link::Msg;
use crate::task::state::TaskState;
use crate::time::instant::Instant;
use crate::trace::{self, PollOutcome};

/// A policy's divergence error with the runnable items (still in the ready set) named by
/// where they came from.
#[cold]
#[inline(never)]
fn name_items(e: LoopError, core: &Core) -> LoopError {
    crate::policy::with_origins(e, core.ready.candidates(), &core.trace)
}

/// Appends the task step just run to the site log (only called when there is one),
/// taking the site its poll noted. The cell is cleared when the log starts and by every
/// task step after it, so what it holds was noted by this poll.
#[cold]
fn note_step(core: &mut Core, task: u32, done: bool) {
    let site = await_site::take();
    let step = core.steps;
    if let Some(log) = core.sites.as_mut().filter(|l| l.steps.len() < MOST_STEPS) {
        log.steps.push(TaskStep {
            step,
            task,
            site: if done { None } else { site },
            done,
        });
    }
}

/// A main future polled in place of the main task's own (see `EventLoop::block_on`):
/// it may borrow from the caller's stack, so it is passed down rather than stored.
pub(crate) type MainPoll<'a> = Option<&'a mut dyn FnMut(&mut Context<'_>) -> Poll<()>>;

/// Why [`Inner::run_steps`] returned.
pub(crate) enum Exit {
    Stopped,
    Idle,
    StepLimit,
    Failed(LoopError),
}

/// Steps between two looks at the trace's window (a power of two).
const WINDOW_CHECK: u64 = crate::trace::window::CHECK_EVERY;

impl Inner {
    /// Runs steps until the loop stops, idles, fails or spends its step budget.
    pub(crate) fn run_steps(self: &Rc<Self>, main: &mut MainPoll<'_>) -> Exit {
        let mut first = true;
        let mut budget = self.max_steps;
        loop {
            if let Some(e) = self.take_failure() {
                return Exit::Failed(e);
            }
            let mut core = self.core();
            if let Err(e) = self.drain(&mut core) {
                return Exit::Failed(e);
            }
            if core.ready.at_boundary() {
                if !first && self.lifecycle.is_stopping() {
                    return Exit::Stopped;
                }
                first = false;
                let idle = core.ready.len() == 0 && !self.lifecycle.is_stopping();
                if idle && !self.deferred.borrow().is_empty() {
                    // Held-back wakes go before the clock may move (see `defer_wake`).
                    drop(core);
                    let ws = std::mem::take(&mut *self.deferred.borrow_mut());
                    for w in ws {
                        w.wake();
                    }
                    continue;
                }
                if idle && !self.advance_clock(&mut core) {
                    return Exit::Idle;
                }
                self.promote_timers(&mut core);
                if !core.ready.start_batch() {
                    continue;
                }
            }
            // Every `WINDOW_CHECK` steps the trace's window is looked at (see
            // `trace/window.rs`), in the budget's own test: no cost per step.
            if budget % WINDOW_CHECK == 0 {
                if budget == 0 {
                    return Exit::StepLimit;
                }
                core.trace.check_window();
            }
            budget -= 1;
            match self.decide(&mut core) {
                Ok(item) => self.run_item(core, item, main),
                // The policy failed before taking an item: the candidates are still in
                // the ready set, to name in a divergence error.
                Err(e) => return Exit::Failed(name_items(e, &core)),
            }
        }
    }

    /// Step 1: applies the inbox and remote wakes, then purges cancelled items.
    #[inline(always)]
    fn drain(&self, core: &mut Core) -> Result<(), LoopError> {
        if let Some(w) = self.remote.take() {
            for k in w.keys {
                core.apply(Msg::Wake(k));
            }
            if w.foreign_between_runs > 0 {
                return Err(LoopError::ForeignWakeBetweenRuns {
                    count: w.foreign_between_runs,
                });
            }
            if w.foreign > 0 {
                return Err(LoopError::ForeignWake { count: w.foreign });
            }
        }
        if !self.inbox.borrow().is_empty() {
            let mut msgs = std::mem::take(&mut core.spare);
            std::mem::swap(&mut msgs, &mut *self.inbox.borrow_mut());
            for m in msgs.drain(..) {
                core.apply(m);
            }
            core.spare = msgs;
        }
        if self.notes.purge.get() {
            self.notes.purge.set(false);
            core.purge_cancelled();
        }
        Ok(())
    }

    /// Step 2: jumps the clock to the next live deadline; `false` if there is none.
    fn advance_clock(&self, core: &mut Core) -> bool {
        core.timers.fold_cancels(&self.notes);
        let Some(deadline) = core.timers.next_deadline() else {
            return false;
        };
        if deadline > self.now.get() {
            self.now.set(deadline);
            core.trace.push_clock(Instant::from_nanos(deadline));
        }
        true
    }

    /// Step 2: queues every timer due now, by (deadline, registration order).
    fn promote_timers(&self, core: &mut Core) {
        core.timers.fold_cancels(&self.notes);
        let now = self.now.get();
        while let Some((seq, cell)) = core.timers.pop_due(now) {
            core.queue_handle(CandidateKind::Timer, seq, cell);
        }
    }

    /// Step 4: asks the policy (when there is a choice) and takes the chosen item.
    #[inline(always)]
    fn decide(&self, core: &mut Core) -> Result<Candidate, LoopError> {
        let n = core.ready.len();
        let i = if n == 1 && !self.every_step {
            0
        } else {
            let d = Decision {
                step: core.steps + 1,
                now: self.now(),
                candidates: core.ready.candidates(),
            };
            match core.policy.choose(&d)? {
                i if i < n => i,
                i => {
                    return Err(LoopError::Policy {
                        policy: core.policy.name(),
                        message: format!("chose index {i} among {n} candidates"),
                    })
                }
            }
        };
        core.steps += 1;
        Ok(core.ready.take(i))
    }

    /// Step 5: runs the chosen item and records it.
    #[inline(always)]
    fn run_item(
        self: &Rc<Self>,
        mut core: RefMut<'_, Core>,
        c: Candidate,
        main: &mut MainPoll<'_>,
    ) {
        match c.kind {
            CandidateKind::Task => self.run_task(core, c.slot as usize, main),
            CandidateKind::Callback | CandidateKind::Timer => {
                let cell = core.handles.free(c.slot);
                let kind = match c.kind {
                    CandidateKind::Timer => trace::TIMER,
                    _ => trace::CALLBACK,
                };
                core.trace.push(kind, 0, c.id);
                drop(core);
                match cell.and_then(|cell| cell.run()) {
                    Some(Action::Wake(w)) => w.wake(),
                    Some(Action::Call(f)) => {
                        if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
                            self.fail(LoopError::CallbackPanicked {
                                handle: c.id,
                                message: panic_text(&*p),
                            });
                        }
                    }
                    None => {}
                }
            }
            CandidateKind::Stop => {
                core.trace.push(trace::STOP, 0, 0);
                self.lifecycle.request_stop();
            }
        }
    }

    /// Polls the task in slot `index` once — or, if its cancellation was requested, drops
    /// its future instead — and completes it if that ended it. The main task of a
    /// `block_on` run polls the caller's future (`main`) instead of its own.
    fn run_task(
        self: &Rc<Self>,
        mut core: RefMut<'_, Core>,
        index: usize,
        main: &mut MainPoll<'_>,
    ) {
        let t = core.tasks.at(index);
        t.scheduled = false;
        t.polling = true;
        let obj = t.obj.clone();
        let h = obj.header();
        let id = h.id;
        let rec = core.trace.begin_poll(id);
        drop(core);
        let outcome = if h.status.is_cancel_requested() {
            None
        } else {
            drop(h.awaiting.take());
            self.current
                .set(u64::from(id.as_u32()) << 32 | index as u64);
            let is_main = main.is_some() && self.main_task.get() == Some(id);
            let mut poll = |waker: &Waker| match main {
                // The stand-in's own future completes once the caller's has.
                Some(m) if is_main => catch_unwind(AssertUnwindSafe(|| {
                    match m(&mut Context::from_waker(waker)) {
                        Poll::Ready(()) => obj.poll_step(waker),
                        Poll::Pending => Poll::Pending,
                    }
                })),
                _ => catch_unwind(AssertUnwindSafe(|| obj.poll_step(waker))),
            };
            // The task's own waker, else the loop's probe aimed at it (`waker.rs`).
            let r = match h.waker.get() {
                Some(w) => poll(w),
                None => self.poll_with_probe(h, poll),
            };
            self.current.set(0);
            match r {
                // The trace's poll record already says "pending".
                Ok(Poll::Pending) => {
                    let mut core = self.core();
                    if core.sites.is_some() {
                        note_step(&mut core, id.as_u32(), false);
                    }
                    let t = core.tasks.at(index);
                    t.polling = false;
                    if std::mem::take(&mut t.woken) {
                        t.scheduled = true;
                        core.trace.push(trace::WAKE, 0, id.as_u32());
                        core.ready.push(task_candidate(index, id));
                    }
                    return;
                }
                Ok(Poll::Ready(())) => Some(Ok(())),
                Err(p) => Some(Err(p)),
            }
        };
        // The task is done: free its slot, then complete it outside the borrow.
        let po = match &outcome {
            None => PollOutcome::Cancelled,
            Some(Ok(())) => PollOutcome::Ready,
            Some(Err(_)) => PollOutcome::Panicked,
        };
        let live = {
            let mut core = self.core();
            core.trace.end_poll(rec, po);
            if core.sites.is_some() {
                note_step(&mut core, id.as_u32(), true);
            }
            core.tasks.remove(index)
        };
        drop(live);
        let drop_panic = catch_unwind(AssertUnwindSafe(|| obj.drop_future())).err();
        // A destructor that panics (also while a cancellation drops the future) makes the
        // task end with that panic, as an exception raised during cancellation does in
        // asyncio: nothing is swallowed.
        let outcome = match (outcome, drop_panic) {
            (Some(Err(p)), _) => Some(Err(p)),
            (_, Some(p)) => Some(Err(p)),
            (o, None) => o,
        };
        self.complete(&*obj, outcome);
    }

    /// Enters the task's final state, tells whoever waits on it, and applies the
    /// unobserved-panic rule.
    fn complete(&self, obj: &dyn TaskObj, outcome: Option<std::thread::Result<()>>) {
        let h = obj.header();
        let mut panic_msg = None;
        match outcome {
            Some(Ok(())) => h.status.finish(TaskState::Finished),
            Some(Err(p)) => {
                let msg = panic_text(&*p);
                h.status.finish(TaskState::Panicked);
                obj.set_failed(TaskError::Panicked(PanicPayload::new(p)));
                panic_msg = Some(msg);
            }
            None => {
                h.status.finish(TaskState::Cancelled);
                obj.set_failed(TaskError::Cancelled);
            }
        }
        drop(h.awaiting.take());
        if self.main_task.get() == Some(h.id) {
            self.post_msg(Msg::Stop);
        }
        let hook = h.take_hook();
        if let Some(hook) = hook {
            hook.task_done(h, panic_msg.clone());
        }
        if let Some(msg) = panic_msg {
            h.report_if_unobserved(|| msg);
        }
        let w = h.join_waker.take();
        if let Some(w) = w {
            w.wake();
        }
        if let Some(w) = self.shutdown.take() {
            w.wake();
        }
    }
}
