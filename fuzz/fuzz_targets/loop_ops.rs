//! Fuzzes the loop itself: an arbitrary program (spawns, yields, sleeps, cancels, awaits
//! with timeouts, `call_soon`/`call_later` callbacks and their cancels, channel sends and
//! receives, planted panics in tasks), drawn from the front of the input, runs twice under
//! the schedule in the rest of the input (`simloop::Bytes`). Asserts:
//!
//! - no panic escapes the loop: the planted task panics surface as
//!   `TaskError::Panicked` (to whoever awaits the task) or `LoopError::TaskPanicked`
//!   (nobody could), and no other panic or loop error happens;
//! - the two runs give the same trace and the same result;
//! - every spawned task ends exactly once: completed, cancelled, panicked, or destroyed
//!   when the loop is closed (checked on the trace's events);
//! - the trace renders and parses back to itself.
#![no_main]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use futures::channel::mpsc;
use futures::StreamExt;
use libfuzzer_sys::fuzz_target;
use simloop::fuzz::{with_quiet_panics, Bytes};
use simloop::{EventKind, EventLoop, LoopError, PollOutcome, Task, TaskError, Trace};

const CHANNELS: usize = 3;
const MAX_TASKS: usize = 24;
const MAX_OPS: usize = 48;
const MAX_SCRIPTS: usize = 6;
const PLANTED: &str = "planted panic";

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    /// Spawn a task running script `n`.
    Spawn(u8),
    Yield,
    /// Sleep `n % 8` ms (0 is a plain yield through the timer path).
    Sleep(u8),
    /// Cancel task `n` (if its handle is still registered).
    Cancel(u8),
    /// Await task `n` for at most 3 ms (a timeout drops, and so cancels, the handle).
    Await(u8),
    /// `call_soon` a callback that sends `v` on channel `ch`.
    CallSoon {
        ch: u8,
        v: u8,
    },
    /// `call_later(ms % 8)` a callback that sends `v` on channel `ch`.
    CallLater {
        ms: u8,
        ch: u8,
        v: u8,
    },
    /// Cancel callback `n` (if not run yet).
    CancelCallback(u8),
    Send {
        ch: u8,
        v: u8,
    },
    /// Receive on channel `ch`, waiting at most 2 ms.
    Recv(u8),
    /// Panic (in a task; the main task yields instead).
    Panic,
}

#[derive(Arbitrary, Debug)]
struct Program {
    main: Vec<Op>,
    scripts: Vec<Vec<Op>>,
    /// Virtual time (in units of 4 ms) the loop runs on after the main task (tasks whose handle was
    /// dropped may still be running); whatever is still pending then is destroyed by
    /// `close`.
    settle: u8,
}

enum Callback {
    Soon(simloop::Handle),
    Later(simloop::TimerHandle),
}

struct World {
    scripts: Vec<Vec<Op>>,
    tasks: RefCell<Vec<Option<Task<()>>>>,
    spawned: Cell<usize>,
    senders: Vec<mpsc::UnboundedSender<u8>>,
    receivers: Vec<RefCell<Option<mpsc::UnboundedReceiver<u8>>>>,
    callbacks: RefCell<Vec<Callback>>,
    received: RefCell<Vec<u8>>,
}

/// What awaiting a task gave; a panic must be a planted one.
fn check_join(r: Result<(), TaskError>) {
    if let Err(TaskError::Panicked(p)) = &r {
        let m = p.message().unwrap_or("<non-string payload>");
        assert!(m.contains(PLANTED), "a task panicked unexpectedly: {m}");
    }
}

fn run_ops(w: Rc<World>, ops: Vec<Op>, is_main: bool) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        for op in ops {
            match op {
                Op::Spawn(n) => {
                    if w.scripts.is_empty() || w.spawned.get() >= MAX_TASKS {
                        continue;
                    }
                    let script = w.scripts[usize::from(n) % w.scripts.len()].clone();
                    let i = w.spawned.get();
                    w.spawned.set(i + 1);
                    let t = simloop::create_task_named(
                        format!("t{i}"),
                        run_ops(w.clone(), script, false),
                    );
                    w.tasks.borrow_mut().push(Some(t));
                }
                Op::Yield => simloop::yield_now().await,
                Op::Sleep(ms) => simloop::sleep(Duration::from_millis(u64::from(ms % 8))).await,
                Op::Cancel(n) => {
                    let tasks = w.tasks.borrow();
                    if let Some(Some(t)) = tasks.get(usize::from(n) % tasks.len().max(1)) {
                        t.cancel();
                    }
                }
                Op::Await(n) => {
                    let t = {
                        let mut tasks = w.tasks.borrow_mut();
                        let len = tasks.len().max(1);
                        tasks.get_mut(usize::from(n) % len).and_then(Option::take)
                    };
                    if let Some(t) = t {
                        if let Ok(r) = simloop::timeout(Duration::from_millis(3), t).await {
                            check_join(r);
                        }
                    }
                }
                Op::CallSoon { ch, v } => {
                    let tx = w.senders[usize::from(ch) % CHANNELS].clone();
                    let lp = simloop::get_running_loop().expect("inside the loop");
                    let h = lp.call_soon(move || {
                        let _ = tx.unbounded_send(v);
                    });
                    w.callbacks.borrow_mut().push(Callback::Soon(h));
                }
                Op::CallLater { ms, ch, v } => {
                    let tx = w.senders[usize::from(ch) % CHANNELS].clone();
                    let lp = simloop::get_running_loop().expect("inside the loop");
                    let h = lp.call_later(Duration::from_millis(u64::from(ms % 8)), move || {
                        let _ = tx.unbounded_send(v);
                    });
                    w.callbacks.borrow_mut().push(Callback::Later(h));
                }
                Op::CancelCallback(n) => {
                    let cbs = w.callbacks.borrow();
                    match cbs.get(usize::from(n) % cbs.len().max(1)) {
                        Some(Callback::Soon(h)) => h.cancel(),
                        Some(Callback::Later(h)) => h.cancel(),
                        None => {}
                    }
                }
                Op::Send { ch, v } => {
                    let _ = w.senders[usize::from(ch) % CHANNELS].unbounded_send(v);
                }
                Op::Recv(ch) => {
                    let slot = &w.receivers[usize::from(ch) % CHANNELS];
                    let rx = slot.borrow_mut().take();
                    if let Some(mut rx) = rx {
                        let got = simloop::timeout(Duration::from_millis(2), rx.next()).await;
                        *slot.borrow_mut() = Some(rx);
                        if let Ok(Some(v)) = got {
                            w.received.borrow_mut().push(v);
                        }
                    } else {
                        simloop::yield_now().await; // another task is receiving
                    }
                }
                Op::Panic if is_main => simloop::yield_now().await,
                Op::Panic => panic!("{PLANTED}"),
            }
        }
        if is_main {
            // Shut down: cancel every task whose handle is still registered and await
            // it, until none is left (tasks may spawn more before they are cancelled).
            loop {
                let left: Vec<Task<()>> = w.tasks.borrow_mut().drain(..).flatten().collect();
                if left.is_empty() {
                    break;
                }
                for t in &left {
                    t.cancel();
                }
                for t in left {
                    check_join(t.await);
                }
            }
        }
    })
}

/// One run: the trace text and the result, after checking the task-end invariant.
fn run(program: &Program, schedule: &[u8]) -> (String, String) {
    let scripts: Vec<Vec<Op>> = program
        .scripts
        .iter()
        .take(MAX_SCRIPTS)
        .map(|s| s.iter().copied().take(MAX_OPS).collect())
        .collect();
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..CHANNELS)
        .map(|_| {
            let (tx, rx) = mpsc::unbounded();
            (tx, RefCell::new(Some(rx)))
        })
        .unzip();
    let w = Rc::new(World {
        scripts,
        tasks: RefCell::new(Vec::new()),
        spawned: Cell::new(0),
        senders,
        receivers,
        callbacks: RefCell::new(Vec::new()),
        received: RefCell::new(Vec::new()),
    });
    let main: Vec<Op> = program.main.iter().copied().take(MAX_OPS).collect();
    let lp = EventLoop::builder().policy(Bytes::new(schedule)).build();
    let mut result = lp.run_until_complete(run_ops(w.clone(), main, true));
    if result.is_ok() {
        let settle = Duration::from_millis(4 * u64::from(program.settle));
        result = lp.run_until_complete(simloop::sleep(settle));
    }
    match &result {
        Ok(()) => {}
        Err(LoopError::TaskPanicked { message, .. }) => {
            assert!(
                message.contains(PLANTED),
                "unexpected task panic: {message}"
            )
        }
        Err(e) => panic!("unexpected loop error: {e:#}"),
    }
    lp.close_quietly().expect("close after the run");
    let trace = lp.trace();
    check_every_task_ends(&trace);
    let text = trace.to_string();
    let back: Trace = text.parse().expect("the loop's trace parses");
    assert_eq!(back, trace, "parse(render(trace)) != trace");
    let received = w.received.borrow().clone();
    (text, format!("{result:?} received {received:?}"))
}

fn check_every_task_ends(trace: &Trace) {
    let mut ends: BTreeMap<u32, u32> = BTreeMap::new();
    for e in trace.events() {
        match e.kind {
            EventKind::Spawn { task } => {
                assert!(
                    ends.insert(task.as_u32(), 0).is_none(),
                    "task {task} spawned twice"
                );
            }
            EventKind::Poll {
                task,
                outcome: PollOutcome::Ready | PollOutcome::Panicked | PollOutcome::Cancelled,
            }
            | EventKind::Destroy { task } => {
                let n = ends
                    .get_mut(&task.as_u32())
                    .unwrap_or_else(|| panic!("task {task} ended without a spawn"));
                *n += 1;
            }
            _ => {}
        }
    }
    for (task, n) in ends {
        assert_eq!(
            n, 1,
            "task {task} ended {n} times (expected exactly once)\n{trace}"
        );
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string payload>".to_owned())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(program) = Program::arbitrary(&mut u) else {
        return;
    };
    let schedule = u.take_rest();
    let twice = with_quiet_panics(|| {
        catch_unwind(AssertUnwindSafe(|| {
            (run(&program, schedule), run(&program, schedule))
        }))
    });
    match twice {
        Ok((first, second)) => {
            assert_eq!(first.1, second.1, "same input, different results");
            assert_eq!(first.0, second.0, "same input, different traces");
        }
        Err(p) => panic!(
            "panic escaped the loop: {}\nprogram: {program:?}",
            panic_text(&*p)
        ),
    }
});
