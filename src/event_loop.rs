//! The [`EventLoop`] handle, its [`Builder`], its lifecycle, and the `Core` that runs it.
//!
//! # Loop states
//!
//! - **Idle**: created, not running, not closed. Tasks and callbacks may be queued.
//! - **Running**: inside `run_until_complete` or `run_forever` on this thread. The loop is
//!   this thread's *running loop* (`get_running_loop`). Entering a second run of the same
//!   loop fails with "This event loop is already running"; running another loop fails with
//!   "Cannot run the event loop while another loop is running". Leaving a run (normally,
//!   by error, or by a panic of the main future) always restores Idle.
//! - **Closed**: `close()` dropped every queued callback, timer and pending task. Running
//!   or scheduling anything afterwards fails with "Event loop is closed". Irreversible.
//!
//! # One step
//!
//! Wakes, spawns, cancellations and `call_soon` never touch the ready queue: they append
//! to an *inbox*, which the loop drains (in arrival order) at the start of each step. At
//! an iteration boundary (asyncio's `_run_once`) the loop checks `stop()`, jumps the clock
//! to the next deadline if nothing is ready, appends the timers now due (by deadline, then
//! registration order) and snapshots the batch size. Then the [`Policy`] picks one ready
//! item, the loop runs it, and the trace records it.

use std::cell::{Cell, RefCell};
use std::collections::BinaryHeap;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Wake, Waker};
use std::thread::ThreadId;
use std::time::Duration;

use crate::error::{BlockedTask, LoopError};
use crate::policy::{Candidate, CandidateKind, Decision, Fifo, Policy, Random};
use crate::task::{
    panic_text, Header, PanicPayload, Task, TaskCell, TaskError, TaskId, TaskObj, CANCELLED,
    CANCEL_REQUESTED, DETACHED, DONE, OBSERVED, PANICKED,
};
use crate::time::Instant;
use crate::trace::{self, PollOutcome, Trace};

/// The default livelock guard: steps one `run_*` call may take.
pub const DEFAULT_MAX_STEPS: u64 = 10_000_000;

thread_local! {
    static RUNNING: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
    static CURRENT: RefCell<Option<EventLoop>> = const { RefCell::new(None) };
    /// Every live loop created on this thread, so a wake from this thread reaches the
    /// loop's inbox in program order even while the loop is not running.
    static LOOPS: RefCell<Vec<(u64, Weak<Inner>)>> = const { RefCell::new(Vec::new()) };
}

static NEXT_LOOP_ID: AtomicU64 = AtomicU64::new(1);

/// A message to the loop: appended by wakers, spawns, cancels and callbacks, drained by
/// the loop at the start of each step.
pub(crate) enum Msg {
    Spawn(u64),
    Wake(u64),
    Cancel(u64),
    Call(u32),
    /// An asyncio-style completion hop: wake this waker from a callback step of its own.
    Relay(Waker),
    Stop,
}

/// What a callback or timer does when it runs.
pub(crate) enum Action {
    Call(Box<dyn FnOnce()>),
    Wake(Waker),
}

/// The state behind a [`Handle`]/[`TimerHandle`] (and a `sleep`'s timer).
pub(crate) struct HandleCell {
    pub(crate) seq: Cell<u32>,
    pub(crate) when: Cell<Option<Instant>>,
    pub(crate) cancelled: Cell<bool>,
    pub(crate) done: Cell<bool>,
    /// In the ready queue (so a cancellation must purge it).
    pub(crate) queued: Cell<bool>,
    pub(crate) action: RefCell<Option<Action>>,
}

impl HandleCell {
    pub(crate) fn update_waker(&self, w: &Waker) {
        let mut a = self.action.borrow_mut();
        if let Some(Action::Wake(old)) = &*a {
            if old.will_wake(w) {
                return;
            }
        }
        *a = Some(Action::Wake(w.clone()));
    }
}

pub(crate) fn cancel_handle(cell: &HandleCell, inner: &Weak<Inner>) {
    if cell.done.get() || cell.cancelled.get() {
        return;
    }
    cell.cancelled.set(true);
    let action = cell.action.borrow_mut().take();
    if let Some(inner) = inner.upgrade() {
        if cell.queued.get() {
            inner.purge.set(true);
        } else if cell.when.get().is_some() {
            inner.heap_cancelled.set(inner.heap_cancelled.get() + 1);
        }
    }
    drop(action);
}

struct TimerEntry {
    deadline: u64,
    seq: u32,
    cell: Rc<HandleCell>,
}

impl PartialEq for TimerEntry {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}
impl Eq for TimerEntry {}
impl PartialOrd for TimerEntry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TimerEntry {
    // Reversed: BinaryHeap is a max-heap, we want the earliest (deadline, seq) on top.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

/// Wakes from other threads (and for loops that were dropped) land here.
struct Remote {
    owner: ThreadId,
    pending: AtomicBool,
    queue: Mutex<Vec<u64>>,
    foreign: AtomicU64,
}

impl Remote {
    fn push(&self, key: u64) {
        if std::thread::current().id() != self.owner {
            self.foreign.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut q) = self.queue.lock() {
            q.push(key);
        }
        self.pending.store(true, Ordering::Release);
    }
}

struct TaskWaker {
    loop_id: u64,
    key: u64,
    remote: Arc<Remote>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if !deliver(self.loop_id, || Msg::Wake(self.key)) {
            self.remote.push(self.key);
        }
    }
}

/// Pushes a message to loop `loop_id` if it lives on this thread; false otherwise.
fn deliver(loop_id: u64, msg: impl FnOnce() -> Msg) -> bool {
    let mut msg = Some(msg);
    let done = RUNNING
        .try_with(|r| match r.try_borrow() {
            Ok(r) => match &*r {
                Some(inner) if inner.id == loop_id => {
                    inner.push_msg((msg.take().expect("msg"))());
                    true
                }
                _ => false,
            },
            Err(_) => false,
        })
        .unwrap_or(false);
    if done {
        return true;
    }
    let target = LOOPS
        .try_with(|l| {
            l.try_borrow().ok().and_then(|l| {
                l.iter()
                    .find(|(id, _)| *id == loop_id)
                    .and_then(|(_, w)| w.upgrade())
            })
        })
        .ok()
        .flatten();
    match target {
        Some(inner) => {
            inner.push_msg((msg.take().expect("msg"))());
            true
        }
        None => false,
    }
}

/// A waker that turns a wake into one more FIFO hop through the loop (asyncio's
/// done-callback → future → wakeup chain), used by gather/wait/as_completed/TaskGroup.
struct RelayWaker {
    target: Waker,
}

impl Wake for RelayWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        relay(&self.target);
    }
}

/// Wakes `w` one loop step later (a callback step of its own) when a loop is running on
/// this thread; directly otherwise.
pub(crate) fn relay(w: &Waker) {
    let done = RUNNING
        .try_with(|r| match r.try_borrow() {
            Ok(r) => match &*r {
                Some(inner) => {
                    inner.push_msg(Msg::Relay(w.clone()));
                    true
                }
                None => false,
            },
            Err(_) => false,
        })
        .unwrap_or(false);
    if !done {
        w.wake_by_ref();
    }
}

pub(crate) fn relay_waker(w: &Waker) -> Waker {
    Waker::from(Arc::new(RelayWaker { target: w.clone() }))
}

struct LiveTask {
    obj: Rc<dyn TaskObj>,
    /// Its next step is in the ready queue.
    scheduled: bool,
    /// Being polled right now: a wake (or cancel) for it is deferred to the end of the
    /// poll, as asyncio re-schedules a task only after its step returned.
    polling: bool,
    /// Woken (or cancelled) while being polled.
    woken: bool,
}

struct Slot {
    gen: u32,
    task: Option<LiveTask>,
}

fn split(key: u64) -> (usize, u32) {
    ((key & 0xffff_ffff) as usize, (key >> 32) as u32)
}

struct Core {
    tasks: Vec<Slot>,
    free_tasks: Vec<u32>,
    live: usize,
    ready: Vec<Candidate>,
    head: usize,
    handles: Vec<Option<Rc<HandleCell>>>,
    free_handles: Vec<u32>,
    heap: BinaryHeap<TimerEntry>,
    next_task_id: u32,
    next_handle: u32,
    trace: Trace,
    policy: Box<dyn Policy>,
    steps: u64,
    batch_left: usize,
    spare: Vec<Msg>,
    /// `buggify` call sites seen in this run: site -> hits so far.
    buggify_hits: std::collections::BTreeMap<u32, u32>,
    /// Timer cells of finished sleeps, for reuse.
    cell_pool: Vec<Rc<HandleCell>>,
}

impl Core {
    fn ready_len(&self) -> usize {
        self.ready.len() - self.head
    }

    fn push_ready(&mut self, c: Candidate) {
        self.ready.push(c);
    }

    /// Removes candidate `i` (relative to head). Index 0 keeps FIFO order exactly; any
    /// other index moves the newest item into its place (O(1)).
    fn take(&mut self, i: usize) -> Candidate {
        if i == 0 {
            let c = self.ready[self.head];
            self.head += 1;
            if self.head == self.ready.len() {
                self.ready.clear();
                self.head = 0;
            } else if self.head >= 1024 && self.head * 2 >= self.ready.len() {
                self.ready.drain(..self.head);
                self.head = 0;
            }
            c
        } else {
            self.ready.swap_remove(self.head + i)
        }
    }

    fn alloc_handle(&mut self, cell: Rc<HandleCell>) -> u32 {
        match self.free_handles.pop() {
            Some(i) => {
                self.handles[i as usize] = Some(cell);
                i
            }
            None => {
                self.handles.push(Some(cell));
                (self.handles.len() - 1) as u32
            }
        }
    }

    fn free_handle(&mut self, slot: u32) -> Option<Rc<HandleCell>> {
        let c = self.handles[slot as usize].take();
        self.free_handles.push(slot);
        c
    }

    fn next_seq(&mut self) -> u32 {
        self.next_handle = self
            .next_handle
            .checked_add(1)
            .expect("simloop: more than 4 billion callbacks/timers on one loop");
        self.next_handle
    }

    fn live_task(&mut self, key: u64) -> Option<(usize, &mut LiveTask)> {
        let (index, gen) = split(key);
        match self.tasks.get_mut(index) {
            Some(slot) if slot.gen == gen => slot.task.as_mut().map(|t| (index, t)),
            _ => None,
        }
    }

    /// Applies one inbox message.
    fn apply(&mut self, msg: Msg) {
        match msg {
            Msg::Spawn(key) => {
                if let Some((index, t)) = self.live_task(key) {
                    t.scheduled = true;
                    let h = t.obj.header();
                    let id = h.id;
                    let name = h.name.clone();
                    self.trace.push(trace::SPAWN, 0, id.as_u32());
                    if let Some(n) = name {
                        self.trace.set_name(id, &n);
                    }
                    self.push_ready(task_candidate(index, id));
                }
            }
            Msg::Wake(key) => {
                if let Some((index, t)) = self.live_task(key) {
                    if t.polling {
                        t.woken = true;
                    } else if !t.scheduled {
                        t.scheduled = true;
                        let id = t.obj.header().id;
                        self.trace.push(trace::WAKE, 0, id.as_u32());
                        self.push_ready(task_candidate(index, id));
                    }
                }
            }
            Msg::Cancel(key) => {
                if let Some((index, t)) = self.live_task(key) {
                    let id = t.obj.header().id;
                    if t.polling {
                        t.woken = true;
                        self.trace.push(trace::CANCEL, 0, id.as_u32());
                        return;
                    }
                    let was = t.scheduled;
                    t.scheduled = true;
                    self.trace.push(trace::CANCEL, 0, id.as_u32());
                    if !was {
                        self.push_ready(task_candidate(index, id));
                    }
                }
            }
            Msg::Call(slot) => {
                let cell = self.handles[slot as usize].clone();
                if let Some(cell) = cell {
                    if cell.cancelled.get() {
                        self.free_handle(slot);
                    } else {
                        cell.queued.set(true);
                        self.push_ready(Candidate {
                            kind: CandidateKind::Callback,
                            slot,
                            id: cell.seq.get(),
                        });
                    }
                }
            }
            Msg::Relay(w) => {
                let seq = self.next_seq();
                let cell = Rc::new(HandleCell {
                    seq: Cell::new(seq),
                    when: Cell::new(None),
                    cancelled: Cell::new(false),
                    done: Cell::new(false),
                    queued: Cell::new(true),
                    action: RefCell::new(Some(Action::Wake(w))),
                });
                let slot = self.alloc_handle(cell);
                self.push_ready(Candidate {
                    kind: CandidateKind::Callback,
                    slot,
                    id: seq,
                });
            }
            Msg::Stop => self.push_ready(Candidate {
                kind: CandidateKind::Stop,
                slot: 0,
                id: 0,
            }),
        }
    }

    /// Drops cancelled callbacks and timers from the ready queue. A cancelled item inside
    /// the current batch still counts against the batch snapshot (asyncio pops and skips
    /// it), so later items are not pulled into this iteration.
    fn purge_cancelled(&mut self) {
        let head = self.head;
        let batch = self.batch_left;
        let mut freed = Vec::new();
        let mut kept = Vec::with_capacity(self.ready.len() - head);
        let mut purged_in_batch = 0;
        for (pos, &c) in self.ready[head..].iter().enumerate() {
            let cancelled = matches!(c.kind, CandidateKind::Callback | CandidateKind::Timer)
                && self.handles[c.slot as usize]
                    .as_ref()
                    .is_none_or(|h| h.cancelled.get());
            if cancelled {
                freed.push(c.slot);
                if pos < batch {
                    purged_in_batch += 1;
                }
            } else {
                kept.push(c);
            }
        }
        self.ready = kept;
        self.head = 0;
        for s in freed {
            self.free_handle(s);
        }
        self.batch_left = (batch - purged_in_batch).min(self.ready.len());
    }

    fn blocked(&self) -> Vec<BlockedTask> {
        let mut v: Vec<BlockedTask> = self
            .tasks
            .iter()
            .filter_map(|s| s.task.as_ref())
            .map(|t| BlockedTask {
                id: t.obj.header().id,
                name: t.obj.header().name(),
            })
            .collect();
        v.sort_by_key(|b| b.id);
        v
    }
}

fn task_candidate(index: usize, id: TaskId) -> Candidate {
    Candidate {
        kind: CandidateKind::Task,
        slot: index as u32,
        id: id.as_u32(),
    }
}

/// The shared state of a loop. `EventLoop` is an `Rc` of this.
pub(crate) struct Inner {
    pub(crate) id: u64,
    core: RefCell<Core>,
    inbox: RefCell<Vec<Msg>>,
    remote: Arc<Remote>,
    running: Cell<bool>,
    closed: Cell<bool>,
    stopping: Cell<bool>,
    pub(crate) purge: Cell<bool>,
    pub(crate) heap_cancelled: Cell<usize>,
    now: Cell<u64>,
    main_task: Cell<Option<TaskId>>,
    failure: RefCell<Option<LoopError>>,
    has_failure: Cell<bool>,
    /// The slot of the task being polled.
    current: Cell<Option<usize>>,
    max_steps: u64,
    seed: Option<u64>,
    every_step: bool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let id = self.id;
        let _ = LOOPS.try_with(|l| {
            if let Ok(mut l) = l.try_borrow_mut() {
                l.retain(|(i, _)| *i != id);
            }
        });
    }
}

#[track_caller]
fn core_of(inner: &Inner) -> std::cell::RefMut<'_, Core> {
    inner
        .core
        .try_borrow_mut()
        .expect("simloop: the loop was re-entered while updating its own state (a simloop bug; please report it)")
}

impl Inner {
    /// Delivers a message: applied at once when the loop's state is free and nothing is
    /// queued before it (the common case: a wake or spawn from a task being polled),
    /// queued in the inbox otherwise. Either way messages take effect in arrival order.
    #[inline]
    pub(crate) fn push_msg(&self, m: Msg) {
        let mut inbox = self.inbox.borrow_mut();
        if inbox.is_empty() {
            if let Ok(mut core) = self.core.try_borrow_mut() {
                drop(inbox);
                core.apply(m);
                return;
            }
        }
        inbox.push(m);
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::from_nanos(self.now.get())
    }

    /// The task being polled right now.
    pub(crate) fn current_obj(&self) -> Option<Rc<dyn TaskObj>> {
        let index = self.current.get()?;
        let core = self.core.try_borrow().ok()?;
        core.tasks.get(index)?.task.as_ref().map(|t| t.obj.clone())
    }

    fn fail(&self, e: LoopError) {
        let mut f = self.failure.borrow_mut();
        if f.is_none() {
            *f = Some(e);
        }
        self.has_failure.set(true);
    }

    pub(crate) fn report_unobserved_panic(&self, h: &Header, message: String) {
        self.fail(LoopError::TaskPanicked {
            task: h.id,
            name: h.name(),
            message,
        });
    }

    #[track_caller]
    fn check_open(&self) {
        if self.closed.get() {
            panic!("{:#}", LoopError::Closed);
        }
    }

    pub(crate) fn spawn<F>(self: &Rc<Self>, name: Option<Rc<str>>, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        let mut core = core_of(self);
        core.next_task_id = core
            .next_task_id
            .checked_add(1)
            .expect("simloop: more than 4 billion tasks on one loop");
        let id = TaskId::from_raw(core.next_task_id);
        let (index, gen) = match core.free_tasks.pop() {
            Some(i) => (i as usize, core.tasks[i as usize].gen),
            None => {
                core.tasks.push(Slot { gen: 0, task: None });
                (core.tasks.len() - 1, 0)
            }
        };
        let key = ((gen as u64) << 32) | index as u64;
        let waker = Waker::from(Arc::new(TaskWaker {
            loop_id: self.id,
            key,
            remote: self.remote.clone(),
        }));
        let cell = Rc::new(TaskCell {
            header: Header {
                id,
                key: Cell::new(key),
                name,
                flags: Cell::new(0),
                join_waker: RefCell::new(None),
                awaiting: RefCell::new(None),
                hook: RefCell::new(None),
                lp: Rc::downgrade(self),
                waker,
            },
            fut: RefCell::new(Some(Box::pin(fut))),
            output: RefCell::new(None),
        });
        core.tasks[index].task = Some(LiveTask {
            obj: cell.clone(),
            scheduled: false,
            polling: false,
            woken: false,
        });
        core.live += 1;
        drop(core);
        self.push_msg(Msg::Spawn(key));
        Task { cell }
    }

    fn new_handle(&self, when: Option<Instant>, action: Action) -> Rc<HandleCell> {
        let mut core = core_of(self);
        let seq = core.next_seq();
        let cell = match core.cell_pool.pop() {
            Some(cell) => {
                cell.seq.set(seq);
                cell.when.set(when);
                cell.cancelled.set(false);
                cell.done.set(false);
                cell.queued.set(false);
                *cell.action.borrow_mut() = Some(action);
                cell
            }
            None => Rc::new(HandleCell {
                seq: Cell::new(seq),
                when: Cell::new(when),
                cancelled: Cell::new(false),
                done: Cell::new(false),
                queued: Cell::new(false),
                action: RefCell::new(Some(action)),
            }),
        };
        match when {
            None => {
                let slot = core.alloc_handle(cell.clone());
                drop(core);
                self.push_msg(Msg::Call(slot));
            }
            Some(t) => {
                let hc = self.heap_cancelled.get();
                if hc > 100 && hc * 2 > core.heap.len() {
                    core.heap.retain(|e| !e.cell.cancelled.get());
                    self.heap_cancelled.set(0);
                }
                core.heap.push(TimerEntry {
                    deadline: t.as_nanos(),
                    seq,
                    cell: cell.clone(),
                });
            }
        }
        cell
    }

    /// Takes back a `sleep`'s timer cell for reuse once nothing else refers to it (it fired
    /// and left the queue, or was cancelled before its deadline and left the heap), so a
    /// sleep costs no allocation in steady state.
    pub(crate) fn recycle(&self, cell: Rc<HandleCell>) {
        if Rc::strong_count(&cell) != 1 || cell.queued.get() {
            return;
        }
        if let Ok(mut core) = self.core.try_borrow_mut() {
            if core.cell_pool.len() < 4096 {
                drop(cell.action.borrow_mut().take());
                core.cell_pool.push(cell);
            }
        }
    }

    #[track_caller]
    pub(crate) fn add_timer(&self, deadline: Instant, action: Action) -> Rc<HandleCell> {
        self.check_open();
        self.new_handle(Some(deadline), action)
    }

    /// Runs steps until the loop stops, idles, fails or hits the step limit.
    fn run_steps(self: &Rc<Self>) -> Exit {
        let mut first = true;
        let mut run_steps: u64 = 0;
        loop {
            if self.has_failure.get() {
                self.has_failure.set(false);
                if let Some(e) = self.failure.borrow_mut().take() {
                    return Exit::Failed(e);
                }
            }
            let mut core = core_of(self);
            // 1. Drain the inbox (and wakes that arrived from elsewhere).
            if self.remote.pending.load(Ordering::Acquire) {
                self.remote.pending.store(false, Ordering::Relaxed);
                let foreign = self.remote.foreign.swap(0, Ordering::Relaxed);
                let keys = match self.remote.queue.lock() {
                    Ok(mut q) => std::mem::take(&mut *q),
                    Err(_) => Vec::new(),
                };
                for k in keys {
                    core.apply(Msg::Wake(k));
                }
                if foreign > 0 {
                    return Exit::Failed(LoopError::ForeignWake { count: foreign });
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
            if self.purge.replace(false) {
                core.purge_cancelled();
            }
            // 2. Iteration boundary.
            if core.batch_left == 0 {
                if !first && self.stopping.get() {
                    return Exit::Stopped;
                }
                first = false;
                if core.ready_len() == 0 && !self.stopping.get() && !self.advance_clock(&mut core) {
                    return Exit::Idle;
                }
                self.promote_timers(&mut core);
                core.batch_left = core.ready_len();
                if core.batch_left == 0 {
                    continue;
                }
            }
            // 3. Decide.
            if run_steps >= self.max_steps {
                return Exit::StepLimit;
            }
            let n = core.ready_len();
            let i = if n == 1 && !self.every_step {
                0
            } else {
                let core = &mut *core;
                let d = Decision {
                    step: core.steps + 1,
                    now: Instant::from_nanos(self.now.get()),
                    candidates: &core.ready[core.head..],
                };
                match core.policy.choose(&d) {
                    Ok(i) if i < n => i,
                    Ok(i) => {
                        return Exit::Failed(LoopError::Policy {
                            policy: core.policy.name(),
                            message: format!("chose index {i} among {n} candidates"),
                        })
                    }
                    Err(e) => return Exit::Failed(e),
                }
            };
            let c = core.take(i);
            core.batch_left -= 1;
            core.steps += 1;
            run_steps += 1;
            // 4. Run it and record it.
            match c.kind {
                CandidateKind::Task => self.run_task(core, c.slot as usize),
                CandidateKind::Callback | CandidateKind::Timer => {
                    let cell = core.free_handle(c.slot);
                    let kind = if c.kind == CandidateKind::Timer {
                        trace::TIMER
                    } else {
                        trace::CALLBACK
                    };
                    core.trace.push(kind, 0, c.id);
                    drop(core);
                    if let Some(cell) = cell {
                        cell.queued.set(false);
                        cell.done.set(true);
                        let action = cell.action.borrow_mut().take();
                        match action {
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
                }
                CandidateKind::Stop => {
                    core.trace.push(trace::STOP, 0, 0);
                    self.stopping.set(true);
                }
            }
        }
    }

    fn advance_clock(&self, core: &mut Core) -> bool {
        while let Some(top) = core.heap.peek() {
            if top.cell.cancelled.get() {
                core.heap.pop();
                self.heap_cancelled
                    .set(self.heap_cancelled.get().saturating_sub(1));
            } else {
                break;
            }
        }
        match core.heap.peek() {
            None => false,
            Some(top) => {
                if top.deadline > self.now.get() {
                    self.now.set(top.deadline);
                    core.trace.push_clock(Instant::from_nanos(top.deadline));
                }
                true
            }
        }
    }

    fn promote_timers(&self, core: &mut Core) {
        let now = self.now.get();
        while let Some(top) = core.heap.peek() {
            if top.deadline > now {
                break;
            }
            let e = core.heap.pop().expect("peeked");
            if e.cell.cancelled.get() {
                self.heap_cancelled
                    .set(self.heap_cancelled.get().saturating_sub(1));
                continue;
            }
            e.cell.queued.set(true);
            let seq = e.seq;
            let slot = core.alloc_handle(e.cell);
            core.push_ready(Candidate {
                kind: CandidateKind::Timer,
                slot,
                id: seq,
            });
        }
    }

    fn run_task(self: &Rc<Self>, mut core: std::cell::RefMut<'_, Core>, index: usize) {
        let t = core.tasks[index]
            .task
            .as_mut()
            .expect("scheduled task is live");
        t.scheduled = false;
        t.polling = true;
        let obj = t.obj.clone();
        let h = obj.header();
        let id = h.id;
        let rec = core.trace.begin_poll(id);
        drop(core);
        let outcome = if h.has(CANCEL_REQUESTED) {
            None
        } else {
            if h.awaiting.borrow().is_some() {
                drop(h.awaiting.borrow_mut().take());
            }
            self.current.set(Some(index));
            let r = catch_unwind(AssertUnwindSafe(|| obj.poll_step()));
            self.current.set(None);
            match r {
                // The trace's poll record already says "pending".
                Ok(Poll::Pending) => {
                    let mut core = core_of(self);
                    let t = core.tasks[index]
                        .task
                        .as_mut()
                        .expect("polled task is live");
                    t.polling = false;
                    if std::mem::take(&mut t.woken) {
                        t.scheduled = true;
                        core.trace.push(trace::WAKE, 0, id.as_u32());
                        core.push_ready(task_candidate(index, id));
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
            let mut core = core_of(self);
            core.trace.end_poll(rec, po);
            let slot = &mut core.tasks[index];
            slot.gen = slot.gen.wrapping_add(1);
            let live = slot.task.take();
            core.free_tasks.push(index as u32);
            core.live -= 1;
            live
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

    fn complete(&self, obj: &dyn TaskObj, outcome: Option<std::thread::Result<()>>) {
        let h = obj.header();
        let mut panic_msg = None;
        match outcome {
            Some(Ok(())) => h.set(DONE),
            Some(Err(p)) => {
                let msg = panic_text(&*p);
                h.set(DONE | PANICKED);
                obj.set_failed(TaskError::Panicked(PanicPayload::new(p)));
                panic_msg = Some(msg);
            }
            None => {
                h.set(DONE | CANCELLED);
                obj.set_failed(TaskError::Cancelled);
            }
        }
        drop(h.awaiting.borrow_mut().take());
        if self.main_task.get() == Some(h.id) {
            self.push_msg(Msg::Stop);
        }
        let hook = h.hook.borrow_mut().take();
        if let Some(hook) = hook {
            hook.task_done(h, panic_msg.clone());
        }
        if let Some(msg) = panic_msg {
            if h.has(DETACHED) && !h.has(OBSERVED) {
                self.report_unobserved_panic(h, msg);
            }
        }
        let w = h.join_waker.borrow_mut().take();
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Enters the running state (checks first), runs, and always leaves it.
    fn enter(self: &Rc<Self>) -> Result<RunGuard, LoopError> {
        if self.closed.get() {
            return Err(LoopError::Closed);
        }
        if self.running.get() {
            return Err(LoopError::AlreadyRunning);
        }
        let busy = RUNNING.with(|r| r.borrow().is_some());
        if busy {
            return Err(LoopError::AnotherLoopRunning);
        }
        RUNNING.with(|r| *r.borrow_mut() = Some(self.clone()));
        self.running.set(true);
        Ok(RunGuard {
            inner: self.clone(),
        })
    }
}

struct RunGuard {
    inner: Rc<Inner>,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.inner.running.set(false);
        self.inner.stopping.set(false);
        self.inner.main_task.set(None);
        let _ = RUNNING.try_with(|r| r.borrow_mut().take());
        if let Ok(mut core) = self.inner.core.try_borrow_mut() {
            core.batch_left = 0;
        }
    }
}

enum Exit {
    Stopped,
    Idle,
    StepLimit,
    Failed(LoopError),
}

/// The running loop's inner state; panics with "no running event loop" outside one.
#[track_caller]
pub(crate) fn running_inner(what: &str) -> Rc<Inner> {
    match RUNNING.with(|r| r.borrow().clone()) {
        Some(i) => i,
        None => panic!(
            "{what}: no running event loop ({})",
            LoopError::NoRunningLoop.hint()
        ),
    }
}

/// Records that the running task is awaiting `obj` (for cancellation down the chain).
pub(crate) fn link_awaiting(obj: Rc<dyn TaskObj>) {
    let Some(inner) = RUNNING
        .try_with(|r| r.try_borrow().ok().and_then(|r| r.clone()))
        .ok()
        .flatten()
    else {
        return;
    };
    if let Some(cur) = inner.current_obj() {
        if !Rc::ptr_eq(&cur, &obj) {
            *cur.header().awaiting.borrow_mut() = Some(obj);
        }
    }
}

/// A handle to a simloop event loop: cheap to clone, compared by identity.
///
/// See the [crate docs](crate) for a tour. The loop is single-threaded: `EventLoop` is
/// neither `Send` nor `Sync`, and tasks need not be `Send`.
///
/// ```
/// use std::time::Duration;
/// let lp = simloop::new_event_loop();
/// assert_eq!(format!("{lp:?}"), "<EventLoop running=false closed=false seed=none>");
/// let out = lp.run_until_complete(async {
///     simloop::sleep(Duration::from_millis(5)).await;
///     "done"
/// });
/// assert_eq!(out, Ok("done"));
/// assert_eq!(lp.time().as_nanos(), 5_000_000);
/// lp.close().unwrap();
/// assert!(lp.is_closed());
/// ```
#[derive(Clone)]
pub struct EventLoop {
    pub(crate) inner: Rc<Inner>,
}

impl PartialEq for EventLoop {
    fn eq(&self, other: &Self) -> bool {
        self.inner.id == other.inner.id
    }
}

impl Eq for EventLoop {}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<EventLoop running={} closed={} seed=",
            self.is_running(),
            self.is_closed()
        )?;
        match self.seed() {
            Some(s) => write!(f, "{s:#x}>"),
            None => f.write_str("none>"),
        }
    }
}

impl Default for EventLoop {
    fn default() -> Self {
        EventLoop::new()
    }
}

/// Configures and builds an [`EventLoop`] — or sweeps a test over many seeds.
///
/// Without `.seed()` or `.policy()` a built loop uses [`Fifo`] (asyncio's order); `.seed(n)`
/// alone selects [`Random`] seeded with `n`. `.build()` never reads environment
/// variables; [`check`](Builder::check) and [`run`](Builder::run) read the `SIMLOOP_*`
/// variables (see [`Env`](crate::Env)), so every knob means the same in both uses.
///
/// ```
/// let lp = simloop::EventLoop::builder().seed(42).max_steps(1_000).build();
/// assert_eq!(lp.seed(), Some(42));
/// assert_eq!(lp.trace().policy(), "random");
/// ```
pub struct Builder {
    pub(crate) seed: Option<u64>,
    pub(crate) policy: Option<Box<dyn Policy>>,
    pub(crate) max_steps: u64,
    pub(crate) seeds: Option<std::ops::Range<u64>>,
    pub(crate) name: Option<String>,
    pub(crate) search: crate::explore::SearchOptions,
    pub(crate) env: Option<crate::env::Env>,
    pub(crate) trace_dir: Option<std::path::PathBuf>,
    pub(crate) check_determinism: Option<bool>,
    pub(crate) replay: Option<Result<(Trace, Option<std::path::PathBuf>), String>>,
    pub(crate) capture_logs: bool,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("seed", &self.seed)
            .field("policy", &self.policy.as_ref().map(|p| p.name()))
            .field("max_steps", &self.max_steps)
            .field("seeds", &self.seeds)
            .field("name", &self.name)
            .field("trace_dir", &self.trace_dir)
            .field("check_determinism", &self.check_determinism)
            .field(
                "replay",
                &self
                    .replay
                    .as_ref()
                    .map(|r| r.as_ref().map(|t| t.0.steps())),
            )
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the defaults: FIFO when built, the `Portfolio` when sweeping, no seed,
    /// `max_steps` 10,000,000.
    pub fn new() -> Builder {
        Builder {
            seed: None,
            policy: None,
            max_steps: DEFAULT_MAX_STEPS,
            seeds: None,
            name: None,
            search: crate::explore::SearchOptions::DEFAULT,
            env: None,
            trace_dir: None,
            check_determinism: None,
            replay: None,
            capture_logs: true,
        }
    }

    /// Seeds the loop; selects the [`Random`] policy unless `.policy()` names another.
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = Some(seed);
        self
    }

    /// Uses `policy` to make every scheduling choice. In a sweep, each seed gets
    /// `policy.reseeded(seed)`.
    pub fn policy(mut self, policy: impl Policy + 'static) -> Builder {
        self.policy = Some(Box::new(policy));
        self
    }

    /// The most steps one `run_until_complete`/`run_forever` call may take before it
    /// fails with [`LoopError::StepLimit`] (a livelock guard).
    ///
    /// # Panics
    /// If `n` is 0.
    #[track_caller]
    pub fn max_steps(mut self, n: u64) -> Builder {
        assert!(n > 0, "max_steps must be at least 1");
        self.max_steps = n;
        self
    }

    /// Builds the loop.
    pub fn build(self) -> EventLoop {
        let policy: Box<dyn Policy> = match (self.policy, self.seed) {
            (Some(p), _) => p,
            (None, Some(s)) => Box::new(Random::new(s)),
            (None, None) => Box::new(Fifo),
        };
        new_loop(policy, self.seed, self.max_steps)
    }
}

/// Makes a loop with exactly this policy.
pub(crate) fn new_loop(policy: Box<dyn Policy>, seed: Option<u64>, max_steps: u64) -> EventLoop {
    {
        let seed = policy.seed().or(seed);
        let name = policy.name();
        let every_step = policy.every_step();
        let id = NEXT_LOOP_ID.fetch_add(1, Ordering::Relaxed);
        let inner = Rc::new(Inner {
            id,
            core: RefCell::new(Core {
                tasks: Vec::with_capacity(16),
                free_tasks: Vec::with_capacity(16),
                live: 0,
                ready: Vec::with_capacity(32),
                head: 0,
                handles: Vec::new(),
                free_handles: Vec::new(),
                heap: BinaryHeap::new(),
                next_task_id: 0,
                next_handle: 0,
                trace: Trace::new(&name, seed),
                policy,
                steps: 0,
                batch_left: 0,
                spare: Vec::new(),
                cell_pool: Vec::new(),
                buggify_hits: std::collections::BTreeMap::new(),
            }),
            inbox: RefCell::new(Vec::with_capacity(8)),
            remote: Arc::new(Remote {
                owner: std::thread::current().id(),
                pending: AtomicBool::new(false),
                queue: Mutex::new(Vec::new()),
                foreign: AtomicU64::new(0),
            }),
            running: Cell::new(false),
            closed: Cell::new(false),
            stopping: Cell::new(false),
            purge: Cell::new(false),
            heap_cancelled: Cell::new(0),
            now: Cell::new(0),
            main_task: Cell::new(None),
            failure: RefCell::new(None),
            has_failure: Cell::new(false),
            current: Cell::new(None),
            max_steps,
            seed,
            every_step,
        });
        LOOPS.with(|l| l.borrow_mut().push((id, Rc::downgrade(&inner))));
        EventLoop { inner }
    }
}

impl EventLoop {
    /// A new loop: [`Fifo`] unless `SIMLOOP_SEED` is set (then [`Random`] with that
    /// seed). The same as [`new_event_loop`](crate::new_event_loop).
    ///
    /// # Panics
    /// If `SIMLOOP_SEED` is set to something that is not a decimal or `0x` hex `u64`.
    #[track_caller]
    pub fn new() -> EventLoop {
        match crate::env_seed() {
            Some(s) => Builder::new().seed(s).build(),
            None => Builder::new().build(),
        }
    }

    /// A [`Builder`] for a loop with a seed, a policy or a step limit.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Runs the loop until `fut` completes and returns its output (asyncio's
    /// `run_until_complete`).
    ///
    /// `fut` becomes a task like any other (so the policy interleaves it). A panic in
    /// `fut` propagates out of this call, after the loop has left the running state.
    ///
    /// # Errors
    /// [`LoopError::Closed`], [`LoopError::AlreadyRunning`],
    /// [`LoopError::AnotherLoopRunning`] before anything runs;
    /// [`LoopError::StoppedBeforeComplete`] if `stop()` took effect first (the task stays
    /// alive for the next run); [`LoopError::Deadlock`], [`LoopError::StepLimit`],
    /// [`LoopError::TaskPanicked`], [`LoopError::CallbackPanicked`].
    pub fn run_until_complete<F>(&self, fut: F) -> Result<F::Output, LoopError>
    where
        F: Future + 'static,
    {
        let inner = &self.inner;
        let guard = inner.enter()?;
        let task = inner.spawn(None, fut);
        inner.main_task.set(Some(task.id()));
        let exit = inner.run_steps();
        let (step, time) = {
            let core = core_of(inner);
            (core.steps, inner.now())
        };
        let err = match exit {
            Exit::Stopped if task.is_done() => None,
            Exit::Stopped => Some(LoopError::StoppedBeforeComplete),
            Exit::Idle if task.is_done() => None,
            Exit::Idle => Some(LoopError::Deadlock {
                blocked: core_of(inner).blocked(),
                step,
                time,
            }),
            Exit::StepLimit => Some(LoopError::StepLimit {
                limit: inner.max_steps,
                time,
            }),
            Exit::Failed(e) => Some(e),
        };
        drop(guard);
        if let Some(e) = err {
            return Err(e);
        }
        let id = task.id();
        let out = task.take_output().expect("main task output");
        match out {
            Ok(v) => Ok(v),
            Err(TaskError::Cancelled) => Err(LoopError::MainCancelled { task: id }),
            Err(TaskError::Panicked(p)) => std::panic::resume_unwind(p.into_inner()),
        }
    }

    /// Runs until [`stop`](EventLoop::stop) is called (asyncio's `run_forever`).
    ///
    /// # Errors
    /// As for [`run_until_complete`](EventLoop::run_until_complete); if nothing is runnable
    /// and no timer is pending the loop would sleep for ever, which is reported as
    /// [`LoopError::Deadlock`].
    pub fn run_forever(&self) -> Result<(), LoopError> {
        let inner = &self.inner;
        let guard = inner.enter()?;
        let exit = inner.run_steps();
        let time = inner.now();
        let r = match exit {
            Exit::Stopped => Ok(()),
            Exit::Idle => {
                let core = core_of(inner);
                Err(LoopError::Deadlock {
                    blocked: core.blocked(),
                    step: core.steps,
                    time,
                })
            }
            Exit::StepLimit => Err(LoopError::StepLimit {
                limit: inner.max_steps,
                time,
            }),
            Exit::Failed(e) => Err(e),
        };
        drop(guard);
        r
    }

    /// Asks the loop to stop at the end of the current batch (asyncio's `stop()`). Called
    /// while the loop is not running, the next `run_forever` runs exactly one iteration.
    pub fn stop(&self) {
        self.inner.stopping.set(true);
    }

    /// Spawns `fut` as a task on this loop; its first step is queued at the tail of the
    /// ready queue. Tasks need not be `Send`.
    ///
    /// # Panics
    /// "Event loop is closed" if the loop was closed.
    #[track_caller]
    pub fn create_task<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        self.inner.check_open();
        self.inner.spawn(None, fut)
    }

    /// Like [`create_task`](EventLoop::create_task), with a name shown by `Task::name`,
    /// in the trace and in deadlock reports.
    ///
    /// ```
    /// let lp = simloop::new_event_loop();
    /// let t = lp.create_task_named("worker", async { 1 });
    /// assert_eq!(t.name(), "worker");
    /// assert_eq!(lp.run_until_complete(t).unwrap().unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn create_task_named<F>(&self, name: impl Into<String>, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        self.inner.check_open();
        let name: String = name.into();
        self.inner.spawn(Some(Rc::from(name)), fut)
    }

    /// Queues `f` to run once, in FIFO order with task steps (asyncio's `call_soon`).
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// let lp = simloop::new_event_loop();
    /// let log = Rc::new(RefCell::new(vec![]));
    /// for name in ["a", "b", "c"] {
    ///     let log = log.clone();
    ///     lp.call_soon(move || log.borrow_mut().push(name));
    /// }
    /// lp.call_soon({ let lp = lp.clone(); move || lp.stop() });
    /// lp.run_forever().unwrap();
    /// assert_eq!(*log.borrow(), ["a", "b", "c"]);
    /// ```
    ///
    /// # Panics
    /// "Event loop is closed" if the loop was closed.
    #[track_caller]
    pub fn call_soon(&self, f: impl FnOnce() + 'static) -> Handle {
        self.inner.check_open();
        let cell = self.inner.new_handle(None, Action::Call(Box::new(f)));
        Handle {
            cell,
            inner: Rc::downgrade(&self.inner),
        }
    }

    /// Runs `f` once `delay` of virtual time has passed (asyncio's `call_later`). Timers
    /// with equal deadlines run in registration order under FIFO.
    ///
    /// # Panics
    /// "Event loop is closed" if the loop was closed.
    #[track_caller]
    pub fn call_later(&self, delay: Duration, f: impl FnOnce() + 'static) -> TimerHandle {
        let when = self.time() + delay;
        self.call_at(when, f)
    }

    /// Runs `f` when the clock reads `when` (asyncio's `call_at`); a past `when` runs at
    /// the next iteration.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc, time::Duration};
    /// let lp = simloop::new_event_loop();
    /// let fired = Rc::new(Cell::new(None));
    /// let (f, l) = (fired.clone(), lp.clone());
    /// let h = lp.call_at(simloop::Instant::ZERO + Duration::from_secs(2), move || {
    ///     f.set(Some(l.time()));
    ///     l.stop();
    /// });
    /// assert_eq!(h.when().as_nanos(), 2_000_000_000);
    /// lp.run_forever().unwrap();
    /// assert_eq!(fired.get(), Some(h.when()));
    /// ```
    ///
    /// # Panics
    /// "Event loop is closed" if the loop was closed.
    #[track_caller]
    pub fn call_at(&self, when: Instant, f: impl FnOnce() + 'static) -> TimerHandle {
        let cell = self.inner.add_timer(when, Action::Call(Box::new(f)));
        TimerHandle {
            handle: Handle {
                cell,
                inner: Rc::downgrade(&self.inner),
            },
        }
    }

    /// The loop's virtual time (asyncio's `loop.time()`); starts at [`Instant::ZERO`].
    pub fn time(&self) -> Instant {
        self.inner.now()
    }

    /// Virtual time since the loop was created.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.inner.now.get())
    }

    /// `true` while `run_until_complete`/`run_forever` is on the stack.
    pub fn is_running(&self) -> bool {
        self.inner.running.get()
    }

    /// `true` once [`close`](EventLoop::close) has been called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.get()
    }

    /// The seed of this loop's policy (`None` under [`Fifo`]).
    pub fn seed(&self) -> Option<u64> {
        self.inner.seed
    }

    /// Steps run so far (task polls, callbacks, timer fires and stop requests).
    pub fn steps(&self) -> u64 {
        core_of(&self.inner).steps
    }

    /// A copy of the trace recorded so far.
    pub fn trace(&self) -> Trace {
        core_of(&self.inner).trace.clone()
    }

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
        if inner.running.get() {
            return Err(LoopError::CloseRunning);
        }
        if inner.closed.get() {
            return Ok(());
        }
        inner.closed.set(true);
        let (pending, handles, heap, msgs) = {
            let mut core = core_of(inner);
            // Apply pending spawns so they are accounted for, then take everything.
            let msgs = std::mem::take(&mut *inner.inbox.borrow_mut());
            let mut leftovers = Vec::new();
            for m in msgs {
                match m {
                    Msg::Spawn(_) | Msg::Wake(_) | Msg::Cancel(_) | Msg::Call(_) | Msg::Stop => {
                        core.apply(m)
                    }
                    other => leftovers.push(other),
                }
            }
            let mut pending: Vec<LiveTask> = core
                .tasks
                .iter_mut()
                .filter_map(|s| s.task.take())
                .collect();
            pending.sort_by_key(|t| t.obj.header().id);
            for t in &pending {
                core.trace
                    .push(trace::DESTROY, 0, t.obj.header().id.as_u32());
            }
            core.live = 0;
            core.ready.clear();
            core.head = 0;
            core.batch_left = 0;
            let handles = std::mem::take(&mut core.handles);
            core.free_handles.clear();
            let heap = std::mem::take(&mut core.heap);
            (pending, handles, heap, leftovers)
        };
        let names: Vec<String> = pending.iter().map(|t| t.obj.header().name()).collect();
        for t in pending {
            let LiveTask { obj, .. } = t;
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| obj.drop_future())) {
                eprintln!(
                    "simloop: close(): dropping pending task {} panicked: {}",
                    obj.header().name(),
                    panic_text(&*p)
                );
            }
            let h = obj.header();
            h.set(DONE | CANCELLED);
            obj.set_failed(TaskError::Cancelled);
            drop(h.hook.borrow_mut().take());
            drop(h.awaiting.borrow_mut().take());
            let w = h.join_waker.borrow_mut().take();
            drop(w);
        }
        let _ = catch_unwind(AssertUnwindSafe(move || {
            drop(handles);
            drop(heap);
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
        if let Some(e) = inner.failure.borrow_mut().take() {
            if !quiet {
                eprintln!("simloop: unreported failure at close(): {e}");
            }
        }
        Ok(())
    }

    /// Cancels every pending task in id order and runs the loop until they have all
    /// finished (the shutdown half of `asyncio.run`).
    pub(crate) fn cancel_leftovers(&self) -> Result<(), LoopError> {
        if self.is_closed() {
            return Ok(());
        }
        let objs: Vec<Rc<dyn TaskObj>> = {
            let core = core_of(&self.inner);
            let mut v: Vec<Rc<dyn TaskObj>> = core
                .tasks
                .iter()
                .filter_map(|s| s.task.as_ref().map(|t| t.obj.clone()))
                .collect();
            v.sort_by_key(|o| o.header().id);
            v
        };
        if objs.is_empty() {
            return Ok(());
        }
        for o in &objs {
            o.header().cancel();
        }
        self.run_until_complete(async move {
            while objs.iter().any(|o| !o.header().has(DONE)) {
                crate::yield_now().await;
            }
        })
    }
}

/// A queued `call_soon` callback; cancel it to skip it. Dropping the handle does not
/// cancel the callback.
pub struct Handle {
    cell: Rc<HandleCell>,
    inner: Weak<Inner>,
}

impl Handle {
    /// Cancels the callback if it has not run yet (idempotent).
    pub fn cancel(&self) {
        cancel_handle(&self.cell, &self.inner);
    }

    /// `true` if [`cancel`](Handle::cancel) was called before the callback ran.
    pub fn cancelled(&self) -> bool {
        self.cell.cancelled.get()
    }

    /// The handle's number, as the trace shows it (`callback N` / `timer N`).
    pub fn id(&self) -> u32 {
        self.cell.seq.get()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Handle {}{}>",
            self.cell.seq.get(),
            if self.cancelled() { " cancelled" } else { "" }
        )
    }
}

/// A timer made by `call_later`/`call_at`; cancel it to skip it. Dropping the handle does
/// not cancel the timer.
pub struct TimerHandle {
    handle: Handle,
}

impl TimerHandle {
    /// Cancels the timer if it has not fired yet (idempotent).
    pub fn cancel(&self) {
        self.handle.cancel();
    }

    /// `true` if [`cancel`](TimerHandle::cancel) was called before it fired.
    pub fn cancelled(&self) -> bool {
        self.handle.cancelled()
    }

    /// The absolute deadline on the loop's clock.
    pub fn when(&self) -> Instant {
        self.handle.cell.when.get().unwrap_or(Instant::ZERO)
    }

    /// The handle's number, as the trace shows it (`timer N`).
    pub fn id(&self) -> u32 {
        self.handle.id()
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<TimerHandle {} when={}{}>",
            self.handle.cell.seq.get(),
            self.when(),
            if self.cancelled() { " cancelled" } else { "" }
        )
    }
}

// ---- buggify ----

/// [`buggify`](crate::buggify) on the running loop: the policy's value if it dictates
/// one (a replay), else the seeded draw when the policy is seeded, else `false`. Every
/// value returned inside a seeded or replayed run is recorded in the trace.
pub(crate) fn buggify_at(site: u32) -> bool {
    let Some(inner) = RUNNING
        .try_with(|r| r.try_borrow().ok().and_then(|r| r.clone()))
        .ok()
        .flatten()
    else {
        return false;
    };
    let Ok(mut core) = inner.core.try_borrow_mut() else {
        return false;
    };
    let hit = {
        let h = core.buggify_hits.entry(site).or_insert(0);
        *h += 1;
        *h
    };
    let fired = match core.policy.buggify(site) {
        Some(v) => v,
        None => match core.policy.seed() {
            Some(seed) => crate::buggify::draw(seed, site, hit),
            None => return false,
        },
    };
    core.trace.push_buggify(site, fired);
    fired
}

// ---- the thread's current and running loop ----

/// The running loop of this thread, if any.
pub(crate) fn running_loop() -> Option<EventLoop> {
    RUNNING
        .try_with(|r| r.borrow().clone().map(|inner| EventLoop { inner }))
        .ok()
        .flatten()
}

pub(crate) fn current_loop() -> Option<EventLoop> {
    CURRENT.with(|c| c.borrow().clone())
}

pub(crate) fn set_current_loop(lp: Option<&EventLoop>) {
    let old = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), lp.cloned()));
    drop(old);
}

/// The task the running loop is polling right now, if any.
pub(crate) fn current_task_info() -> Option<crate::task::TaskInfo> {
    let inner = RUNNING
        .try_with(|r| r.try_borrow().ok().and_then(|r| r.clone()))
        .ok()
        .flatten()?;
    let cur = inner.current_obj()?;
    let h = cur.header();
    Some(crate::task::TaskInfo {
        id: h.id,
        name: h.name(),
    })
}
