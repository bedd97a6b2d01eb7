//! Every [`LoopError`] triggered through the public API.
//!
//! Each test checks the error's exact `Display` text (asyncio's wording where asyncio has
//! one, `shared/asyncio-api.md` B.1/A.2/A.5), that the alternate form `{:#}` adds the
//! hint, and that the loop is still usable afterwards: not running, and a later
//! `run_until_complete` works (except after `close`). Misuse that asyncio reports by
//! raising inside async code (scheduling on a closed loop, `create_task`/`sleep` without a
//! running loop, `simloop::run` inside a loop) is checked as a panic with that text.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use simloop::{EventLoop, Fifo, Instant, LoopError, TaskError};

fn fifo() -> EventLoop {
    EventLoop::builder().policy(Fifo).build()
}

/// `{}` is exactly `text`, and `{:#}` is `text (hint)` with a non-empty hint.
fn assert_asyncio_wording(e: &LoopError, text: &str) {
    assert_eq!(e.to_string(), text);
    assert!(!e.hint().is_empty());
    assert!(
        !text.contains(e.hint()),
        "plain form must not carry the hint"
    );
    assert_eq!(format!("{e:#}"), format!("{text} ({})", e.hint()));
}

/// The simulator's own errors always explain themselves; `{:#}` still has the hint.
fn assert_has_hint(e: &LoopError) {
    // The hint may open a sentence of its own, capitalised.
    let hint = e.hint();
    let capitalised = format!("{}{}", hint[..1].to_uppercase(), &hint[1..]);
    let text = format!("{e:#}");
    assert!(
        text.contains(hint) || text.contains(&capitalised),
        "{{:#}} of {e:?} lacks the hint"
    );
}

/// The loop is idle and can run again.
fn assert_usable(lp: &EventLoop) {
    assert!(!lp.is_running());
    assert!(!lp.is_closed());
    assert!(simloop::get_running_loop().is_err());
    assert_eq!(lp.run_until_complete(async { 41 + 1 }), Ok(42));
    assert!(!lp.is_running());
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string>".to_string()
    }
}

// ---------------------------------------------------------------- Closed

#[test]
fn closed_run_until_complete_and_run_forever() {
    let lp = fifo();
    lp.close().unwrap();
    assert!(lp.is_closed());
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let e = lp
        .run_until_complete(async move { r.set(true) })
        .unwrap_err();
    assert_eq!(e, LoopError::Closed);
    assert_asyncio_wording(&e, "Event loop is closed");
    assert!(!ran.get());
    let e = lp.run_forever().unwrap_err();
    assert_eq!(e, LoopError::Closed);
    assert!(!lp.is_running());
    // close is idempotent
    assert_eq!(lp.close(), Ok(()));
    assert!(lp.is_closed());
}

#[test]
#[should_panic(expected = "Event loop is closed")]
fn closed_call_soon_panics() {
    let lp = fifo();
    lp.close().unwrap();
    lp.call_soon(|| {});
}

#[test]
#[should_panic(expected = "Event loop is closed")]
fn closed_create_task_panics() {
    let lp = fifo();
    lp.close().unwrap();
    drop(lp.create_task(async {}));
}

#[test]
#[should_panic(expected = "Event loop is closed")]
fn closed_create_task_named_panics() {
    let lp = fifo();
    lp.close().unwrap();
    drop(lp.create_task_named("x", async {}));
}

#[test]
#[should_panic(expected = "Event loop is closed")]
fn closed_call_later_panics() {
    let lp = fifo();
    lp.close().unwrap();
    lp.call_later(Duration::from_millis(1), || {});
}

#[test]
#[should_panic(expected = "Event loop is closed")]
fn closed_call_at_panics() {
    let lp = fifo();
    lp.close().unwrap();
    lp.call_at(Instant::ZERO, || {});
}

// ---------------------------------------------------------------- AlreadyRunning

#[test]
fn already_running_from_inside_a_task_does_not_corrupt_the_outer_run() {
    let lp = fifo();
    let lp2 = lp.clone();
    let out = lp
        .run_until_complete(async move {
            let nested_ran = Rc::new(Cell::new(false));
            let n = nested_ran.clone();
            let e = lp2
                .run_until_complete(async move { n.set(true) })
                .unwrap_err();
            assert_eq!(e, LoopError::AlreadyRunning);
            assert_asyncio_wording(&e, "This event loop is already running");
            let e = lp2.run_forever().unwrap_err();
            assert_eq!(e, LoopError::AlreadyRunning);
            // gh-130145 must not be copied: the outer run is still the running loop.
            assert!(lp2.is_running());
            assert_eq!(simloop::get_running_loop().unwrap(), lp2);
            assert_eq!(lp2.close(), Err(LoopError::CloseRunning));
            assert!(!lp2.is_closed());
            // The outer loop keeps scheduling normally.
            simloop::sleep(Duration::from_millis(3)).await;
            let t = simloop::create_task(async { 5 });
            let v = t.await.unwrap();
            assert!(!nested_ran.get(), "the nested future never runs");
            v
        })
        .unwrap();
    assert_eq!(out, 5);
    assert_eq!(lp.elapsed(), Duration::from_millis(3));
    assert_usable(&lp);
}

// ---------------------------------------------------------------- AnotherLoopRunning

#[test]
fn another_loop_running() {
    let lp = fifo();
    let other = fifo();
    let o = other.clone();
    let lp2 = lp.clone();
    lp.run_until_complete(async move {
        let e = o.run_until_complete(async {}).unwrap_err();
        assert_eq!(e, LoopError::AnotherLoopRunning);
        assert_asyncio_wording(
            &e,
            "Cannot run the event loop while another loop is running",
        );
        let e = o.run_forever().unwrap_err();
        assert_eq!(e, LoopError::AnotherLoopRunning);
        assert!(!o.is_running());
        assert_eq!(simloop::get_running_loop().unwrap(), lp2);
        simloop::yield_now().await;
    })
    .unwrap();
    assert_usable(&lp);
    assert_usable(&other);
}

// ---------------------------------------------------------------- CloseRunning

#[test]
fn close_from_inside_a_task() {
    let lp = fifo();
    let lp2 = lp.clone();
    let out = lp
        .run_until_complete(async move {
            let e = lp2.close().unwrap_err();
            assert_eq!(e, LoopError::CloseRunning);
            assert_asyncio_wording(&e, "Cannot close a running event loop");
            assert!(!lp2.is_closed());
            simloop::sleep(Duration::from_millis(1)).await;
            "finished"
        })
        .unwrap();
    assert_eq!(out, "finished");
    assert!(!lp.is_closed());
    assert_usable(&lp);
    lp.close().unwrap();
    assert!(lp.is_closed());
}

// ---------------------------------------------------------------- NoRunningLoop

#[test]
fn get_running_loop_outside_a_loop() {
    let e = simloop::get_running_loop().unwrap_err();
    assert_eq!(e, LoopError::NoRunningLoop);
    assert_asyncio_wording(&e, "no running event loop");
    // A current (set) loop is not a running one.
    let lp = fifo();
    simloop::set_event_loop(Some(&lp));
    assert_eq!(simloop::get_running_loop(), Err(LoopError::NoRunningLoop));
    simloop::set_event_loop(None);
    // Inside, it is the loop; after the run, it is an error again.
    let lp2 = lp.clone();
    lp.run_until_complete(async move {
        assert_eq!(simloop::get_running_loop().unwrap(), lp2);
    })
    .unwrap();
    assert_eq!(simloop::get_running_loop(), Err(LoopError::NoRunningLoop));
}

#[test]
#[should_panic(expected = "no running event loop")]
fn create_task_outside_a_loop_panics() {
    drop(simloop::create_task(async {}));
}

#[test]
#[should_panic(expected = "no running event loop")]
fn create_task_named_outside_a_loop_panics() {
    drop(simloop::create_task_named("x", async {}));
}

#[test]
#[should_panic(expected = "no running event loop")]
fn sleep_polled_outside_a_loop_panics() {
    futures::executor::block_on(simloop::sleep(Duration::from_millis(1)));
}

#[test]
#[should_panic(expected = "no running event loop")]
fn gather_polled_outside_a_loop_panics() {
    futures::executor::block_on(simloop::gather([async { 1 }]));
}

#[test]
fn sleep_polled_by_another_executor_names_the_error() {
    let p = catch_unwind(|| {
        futures::executor::block_on(simloop::sleep(Duration::from_millis(1)));
    })
    .unwrap_err();
    let msg = panic_text(&*p);
    assert!(msg.contains("no running event loop"), "{msg}");
    assert!(msg.contains(LoopError::NoRunningLoop.hint()), "{msg}");
}

// ---------------------------------------------------------------- RunInRunningLoop

const RUN_IN_LOOP: &str = "simloop::run() cannot be called from a running event loop";

#[test]
#[should_panic(expected = "simloop::run() cannot be called from a running event loop")]
fn run_inside_a_task_panics() {
    let lp = fifo();
    let _ = lp.run_until_complete(async {
        simloop::run(async {});
    });
}

#[test]
fn run_inside_a_task_is_a_caught_task_panic_and_the_loop_survives() {
    let e = LoopError::RunInRunningLoop;
    assert_asyncio_wording(&e, RUN_IN_LOOP);
    let lp = fifo();
    let inner_ran = Rc::new(Cell::new(false));
    let ir = inner_ran.clone();
    let msg = lp
        .run_until_complete(async move {
            let t = simloop::create_task(async move {
                simloop::run(async move { ir.set(true) });
            });
            match t.await {
                Err(TaskError::Panicked(p)) => p.message().unwrap().to_string(),
                other => panic!("expected a panic, got {other:?}"),
            }
        })
        .unwrap();
    assert!(msg.starts_with(RUN_IN_LOOP), "{msg}");
    assert_eq!(msg, format!("{e:#}"));
    assert!(!inner_ran.get());
    assert_usable(&lp);

    // The main future itself: the panic propagates out of run_until_complete.
    let p = catch_unwind(AssertUnwindSafe(|| {
        let _ = lp.run_until_complete(async { simloop::run(async {}) });
    }))
    .unwrap_err();
    assert!(panic_text(&*p).starts_with(RUN_IN_LOOP));
    assert_usable(&lp);
}

// ---------------------------------------------------------------- StoppedBeforeComplete

#[test]
fn stopped_before_complete_keeps_the_main_task_alive() {
    let lp = fifo();
    let counter = Rc::new(Cell::new(0u32));
    let c = counter.clone();
    let lp2 = lp.clone();
    lp.call_later(Duration::from_millis(2), move || lp2.stop());
    let e = lp
        .run_until_complete(async move {
            for _ in 0..10 {
                c.set(c.get() + 1);
                simloop::sleep(Duration::from_millis(1)).await;
            }
        })
        .unwrap_err();
    assert_eq!(e, LoopError::StoppedBeforeComplete);
    assert_asyncio_wording(&e, "Event loop stopped before Future completed.");
    assert!(!lp.is_running());
    let at_stop = counter.get();
    assert!(at_stop < 10, "stopped early: {at_stop}");
    assert_eq!(lp.time(), Instant::ZERO + Duration::from_millis(2));

    // The first main task was not cancelled: a new run lets it continue. (The new main
    // sleeps rather than spins: a spinning task would keep the virtual clock still.)
    let c = counter.clone();
    lp.run_until_complete(async move {
        while c.get() < 10 {
            simloop::sleep(Duration::from_millis(1)).await;
        }
    })
    .unwrap();
    assert_eq!(counter.get(), 10);
    assert_usable(&lp);
}

#[test]
fn stop_from_a_task_before_main_finishes() {
    let lp = fifo();
    let counter = Rc::new(Cell::new(0u32));
    let lp2 = lp.clone();
    let stopper = lp.create_task(async move {
        simloop::yield_now().await;
        lp2.stop();
    });
    let c = counter.clone();
    let e = lp
        .run_until_complete(async move {
            for _ in 0..5 {
                c.set(c.get() + 1);
                simloop::yield_now().await;
            }
            stopper.await.unwrap();
        })
        .unwrap_err();
    assert_eq!(e, LoopError::StoppedBeforeComplete);
    // FIFO: stopper polled, main polled (1); stopper stops, main (2); end of batch.
    assert_eq!(counter.get(), 2);
    let c = counter.clone();
    lp.run_until_complete(async move {
        while c.get() < 5 {
            simloop::yield_now().await;
        }
    })
    .unwrap();
    assert_eq!(counter.get(), 5);
    assert_usable(&lp);
}

// ---------------------------------------------------------------- Deadlock

#[test]
fn deadlock_names_every_blocked_task() {
    let lp = fifo();
    let (tx, rx) = oneshot::channel::<u32>();
    let got = Rc::new(Cell::new(None));
    let g = got.clone();
    let here = line!(); // the main task is created 2 lines below, "waiter" 3 lines below
    let e = lp
        .run_until_complete(async move {
            let waiter = simloop::create_task_named("waiter", async move {
                let v = rx.await.unwrap();
                g.set(Some(v));
                v
            });
            waiter.await.unwrap()
        })
        .unwrap_err();
    let LoopError::Deadlock {
        blocked,
        step,
        time,
    } = &e
    else {
        panic!("expected a deadlock, got {e:?}");
    };
    let names: Vec<(u32, &str)> = blocked
        .iter()
        .map(|b| (b.id.as_u32(), b.name.as_str()))
        .collect();
    assert_eq!(names, [(1, "Task-1"), (2, "waiter")]);
    assert_eq!(*step, 2);
    assert_eq!(*time, Instant::ZERO);
    let text = e.to_string();
    assert!(text.starts_with("deadlock:"), "{text}");
    assert_eq!(
        text,
        format!(
            "deadlock: nothing is runnable and no timer is pending at step 2 (virtual time \
             0.000000000s), so the loop would wait for ever; 2 blocked tasks: Task-1 (id 1, \
             created at sim-tests/errors.rs:{}), waiter (id 2, created at \
             sim-tests/errors.rs:{}). Find what the blocked tasks await: a channel, lock or \
             event that nobody will ever signal.",
            here + 2,
            here + 3
        )
    );
    assert_eq!(
        blocked[1].created,
        Some(format!("sim-tests/errors.rs:{}", here + 3))
    );
    assert_has_hint(&e);
    assert_usable(&lp);

    // Nothing was lost: once the sender is used, the blocked tasks finish.
    tx.send(7).unwrap();
    let g = got.clone();
    lp.run_until_complete(async move {
        while g.get().is_none() {
            simloop::yield_now().await;
        }
    })
    .unwrap();
    assert_eq!(got.get(), Some(7));
}

#[test]
fn deadlock_after_time_has_passed_reports_step_and_time() {
    let lp = fifo();
    let (_tx, rx) = oneshot::channel::<()>();
    let e = lp
        .run_until_complete(async move {
            simloop::sleep(Duration::from_millis(1500)).await;
            let _ = rx.await;
        })
        .unwrap_err();
    assert!(matches!(e, LoopError::Deadlock { .. }));
    let text = e.to_string();
    assert!(
        text.starts_with(
            "deadlock: nothing is runnable and no timer is pending at step 3 (virtual time \
             1.500000000s)"
        ),
        "{text}"
    );
    assert!(
        text.contains("1 blocked task: Task-1 (id 1, created at sim-tests/errors.rs:"),
        "{text}"
    );
    assert_usable(&lp);
}

#[test]
fn run_forever_with_nothing_to_do_is_a_deadlock() {
    let lp = fifo();
    let e = lp.run_forever().unwrap_err();
    match &e {
        LoopError::Deadlock {
            blocked,
            step,
            time,
        } => {
            assert!(blocked.is_empty());
            assert_eq!(*step, 0);
            assert_eq!(*time, Instant::ZERO);
        }
        other => panic!("expected a deadlock, got {other:?}"),
    }
    assert!(e.to_string().starts_with("deadlock:"));
    assert_has_hint(&e);
    assert_usable(&lp);

    // After some work, too: the callbacks run, then nothing is left.
    let ran = Rc::new(Cell::new(0));
    let r = ran.clone();
    lp.call_later(Duration::from_secs(1), move || r.set(r.get() + 1));
    let e = lp.run_forever().unwrap_err();
    assert!(matches!(e, LoopError::Deadlock { .. }), "{e:?}");
    assert_eq!(ran.get(), 1);
    assert_usable(&lp);
}

// ---------------------------------------------------------------- StepLimit

#[test]
fn step_limit_stops_a_spinning_task() {
    let lp = EventLoop::builder().policy(Fifo).max_steps(1000).build();
    let spins = Rc::new(Cell::new(0u64));
    let s = spins.clone();
    let spinner = lp.create_task_named("spinner", async move {
        loop {
            s.set(s.get() + 1);
            simloop::yield_now().await;
        }
    });
    let e = lp
        .run_until_complete(simloop::sleep(Duration::from_secs(1)))
        .unwrap_err();
    assert_eq!(
        e,
        LoopError::StepLimit {
            limit: 1000,
            time: Instant::ZERO
        }
    );
    let text = e.to_string();
    assert!(text.contains("step limit"), "{text}");
    assert!(text.contains("1000"), "{text}");
    assert_has_hint(&e);
    assert!(spins.get() > 900 && spins.get() <= 1000, "{}", spins.get());
    // The clock never advanced: something was always ready.
    assert_eq!(lp.time(), Instant::ZERO);
    assert!(!lp.is_running());

    // Cancel the spinner; the earlier main (the 1 s sleep) can now finish.
    assert!(spinner.cancel());
    lp.run_until_complete(simloop::sleep(Duration::from_secs(2)))
        .unwrap();
    assert!(spinner.is_cancelled());
    assert_eq!(lp.elapsed(), Duration::from_secs(2));
    assert_usable(&lp);
}

// ---------------------------------------------------------------- TaskPanicked

#[test]
fn detached_task_panic_fails_the_run_naming_the_task() {
    let lp = fifo();
    drop(lp.create_task_named("boom", async { panic!("kaboom") }));
    let e = lp
        .run_until_complete(simloop::sleep(Duration::from_secs(1)))
        .unwrap_err();
    match &e {
        LoopError::TaskPanicked {
            task,
            name,
            message,
        } => {
            assert_eq!(task.as_u32(), 1);
            assert_eq!(name, "boom");
            assert_eq!(message, "kaboom");
        }
        other => panic!("expected TaskPanicked, got {other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "task boom (id 1) panicked and nobody awaited it: kaboom"
    );
    assert_has_hint(&e);
    assert_eq!(lp.time(), Instant::ZERO, "reported at once, not after main");
    assert_usable(&lp);
}

#[test]
fn task_handle_dropped_after_the_panic_fails_the_run() {
    let lp = fifo();
    let e = lp
        .run_until_complete(async {
            let t = simloop::create_task(async { panic!("late {}", 1) });
            simloop::yield_now().await;
            assert!(t.is_done());
            drop(t);
            simloop::sleep(Duration::from_secs(1)).await;
        })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "task Task-2 (id 2) panicked and nobody awaited it: late 1"
    );
    assert_usable(&lp);
}

// ---------------------------------------------------------------- CallbackPanicked

#[test]
fn callback_panic_fails_the_run() {
    let lp = fifo();
    let h = lp.call_soon(|| panic!("cb boom"));
    let id = h.id();
    let e = lp
        .run_until_complete(simloop::sleep(Duration::from_secs(1)))
        .unwrap_err();
    assert_eq!(
        e,
        LoopError::CallbackPanicked {
            handle: id,
            message: "cb boom".to_string()
        }
    );
    assert_eq!(
        e.to_string(),
        format!("Exception in callback {id}: cb boom")
    );
    assert_eq!(
        format!("{e:#}"),
        format!("Exception in callback {id}: cb boom ({})", e.hint())
    );
    assert_usable(&lp);

    // A timer callback too.
    let t = lp.call_later(Duration::from_millis(5), || panic!("timer boom"));
    let e = lp.run_forever().unwrap_err();
    assert_eq!(
        e,
        LoopError::CallbackPanicked {
            handle: t.id(),
            message: "timer boom".to_string()
        }
    );
    assert_usable(&lp);
}

// ---------------------------------------------------------------- MainCancelled

/// MainCancelled is unreachable through the public API: the main task's handle is never
/// exposed, and cancellation only propagates *down* an await chain (cancelling a task
/// main awaits gives main an `Err(TaskError::Cancelled)` value, not a cancelled main).
/// This test pins that behaviour and the variant's wording.
#[test]
fn main_cancelled_is_not_reachable_by_cancelling_what_main_awaits() {
    let lp = fifo();
    let holder: Rc<RefCell<Option<simloop::Task<()>>>> = Rc::new(RefCell::new(None));
    let inner = lp.create_task(simloop::sleep(Duration::from_secs(10)));
    let inner_id = inner.id();
    *holder.borrow_mut() = Some(inner);
    let h = holder.clone();
    lp.call_later(Duration::from_secs(1), move || {
        assert!(h.borrow().as_ref().unwrap().cancel());
    });
    let h = holder.clone();
    let r = lp.run_until_complete(futures::future::poll_fn(move |cx| {
        std::pin::Pin::new(h.borrow_mut().as_mut().unwrap()).poll(cx)
    }));
    // Main finished normally, with the awaited task's cancellation as its value.
    assert!(matches!(r, Ok(Err(TaskError::Cancelled))), "{r:?}");
    assert_eq!(lp.elapsed(), Duration::from_secs(1));
    assert_usable(&lp);

    let e = LoopError::MainCancelled { task: inner_id };
    assert_eq!(
        e.to_string(),
        "the future passed to run_until_complete (task Task-1) was cancelled"
    );
    assert_has_hint(&e);
}

// ---------------------------------------------------------------- ForeignWake

#[test]
fn a_wake_from_another_thread_is_reported_as_nondeterminism() {
    let lp = fifo();
    let (tx, rx) = oneshot::channel::<u32>();
    let got = Rc::new(Cell::new(None));
    let g = got.clone();
    let w = lp.create_task_named("listener", async move {
        g.set(Some(rx.await.unwrap()));
    });
    let e = lp
        .run_until_complete(async move {
            simloop::yield_now().await; // the listener is now waiting on rx
            std::thread::spawn(move || tx.send(5).unwrap())
                .join()
                .unwrap();
            simloop::yield_now().await;
        })
        .unwrap_err();
    assert_eq!(e, LoopError::ForeignWake { count: 1 });
    assert_eq!(
        e.to_string(),
        "nondeterminism detected: 1 wake(s) of this loop's tasks came from another OS thread"
    );
    assert_has_hint(&e);
    assert_usable(&lp);
    // The wake itself was not lost.
    lp.run_until_complete(w).unwrap().unwrap();
    assert_eq!(got.get(), Some(5));
}

// ---------------------------------------------------------------- Policy

/// Fails its first decision (out of range, or with an error), then behaves like FIFO.
struct FailsOnce {
    mode: u8,
    failed: bool,
}

impl simloop::Policy for FailsOnce {
    fn name(&self) -> String {
        "fails-once".into()
    }
    fn choose(&mut self, d: &simloop::Decision<'_>) -> Result<usize, LoopError> {
        if self.failed {
            return Ok(0);
        }
        self.failed = true;
        match self.mode {
            0 => Ok(d.candidates.len() + 3),
            _ => Err(LoopError::Policy {
                policy: "fails-once".into(),
                message: "no more input".into(),
            }),
        }
    }
}

#[test]
fn a_policy_error_fails_the_run() {
    let lp = EventLoop::builder()
        .policy(FailsOnce {
            mode: 0,
            failed: false,
        })
        .build();
    drop(lp.create_task(async {}));
    let e = lp.run_until_complete(async {}).unwrap_err();
    assert_eq!(
        e,
        LoopError::Policy {
            policy: "fails-once".into(),
            message: "chose index 5 among 2 candidates".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "policy fails-once failed: chose index 5 among 2 candidates"
    );
    assert_eq!(
        format!("{e:#}"),
        format!(
            "policy fails-once failed: chose index 5 among 2 candidates ({})",
            e.hint()
        )
    );
    assert_usable(&lp);

    let lp = EventLoop::builder()
        .policy(FailsOnce {
            mode: 1,
            failed: false,
        })
        .build();
    drop(lp.create_task(async {}));
    let e = lp.run_until_complete(async {}).unwrap_err();
    assert_eq!(e.to_string(), "policy fails-once failed: no more input");
    assert_usable(&lp);
}

// ---------------------------------------------------------------- stop before a run

#[test]
fn stop_before_run_until_complete_gives_one_iteration() {
    let lp = fifo();
    lp.stop();
    // Completes within the one iteration: fine.
    assert_eq!(lp.run_until_complete(async { 1 }), Ok(1));
    lp.stop();
    // Needs a second iteration: stopped before complete, as in asyncio.
    let e = lp.run_until_complete(simloop::yield_now()).unwrap_err();
    assert_eq!(e, LoopError::StoppedBeforeComplete);
    assert_usable(&lp);
}

// ---------------------------------------------------------------- misc

#[test]
fn errors_carry_asyncio_wording_exactly() {
    let table = [
        (LoopError::Closed, "Event loop is closed"),
        (
            LoopError::AlreadyRunning,
            "This event loop is already running",
        ),
        (
            LoopError::AnotherLoopRunning,
            "Cannot run the event loop while another loop is running",
        ),
        (LoopError::CloseRunning, "Cannot close a running event loop"),
        (LoopError::NoRunningLoop, "no running event loop"),
        (LoopError::RunInRunningLoop, RUN_IN_LOOP),
        (
            LoopError::StoppedBeforeComplete,
            "Event loop stopped before Future completed.",
        ),
    ];
    for (e, text) in table {
        assert_asyncio_wording(&e, text);
    }
}

#[test]
fn a_loop_keeps_working_after_a_series_of_errors() {
    let lp = fifo();
    // deadlock
    let (_tx, rx) = oneshot::channel::<()>();
    assert!(matches!(
        lp.run_until_complete(async move {
            let _ = rx.await;
        }),
        Err(LoopError::Deadlock { .. })
    ));
    // nested run
    let l = lp.clone();
    lp.run_until_complete(async move {
        assert_eq!(
            l.run_until_complete(async {}),
            Err(LoopError::AlreadyRunning)
        );
    })
    .unwrap();
    // stop before complete
    let l = lp.clone();
    assert_eq!(
        lp.run_until_complete(async move {
            l.stop();
            simloop::sleep(Duration::from_millis(1)).await;
        }),
        Err(LoopError::StoppedBeforeComplete)
    );
    // callback panic
    lp.call_soon(|| panic!("x"));
    assert!(matches!(
        lp.run_until_complete(async {}),
        Err(LoopError::CallbackPanicked { .. })
    ));
    assert_usable(&lp);
    lp.close().unwrap();
    assert_eq!(lp.run_until_complete(async {}), Err(LoopError::Closed));
    assert!(!lp.is_running());
}

/// Issue 13, defect 7: a task awaiting a task of another loop was reported as a plain
/// deadlock. The report now says the awaited task belongs to another loop and names both
/// tasks and both loops (by policy and seed, the same in every run).
#[test]
fn awaiting_another_loops_task_is_named_in_the_deadlock() {
    let other = EventLoop::builder().seed(9).build();
    let theirs = other.create_task_named("theirs", std::future::pending::<()>());
    let lp = EventLoop::builder().policy(simloop::Fifo).build();
    let e = lp
        .run_until_complete(async move {
            let mine = simloop::create_task_named("mine", theirs);
            mine.await.unwrap().unwrap();
        })
        .unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("deadlock:"), "{text}");
    assert!(
        text.contains(
            ") awaiting task theirs (id 1) of another loop (policy=random seed=9), \
             which this loop (policy=fifo seed=none) can neither run nor be woken by"
        ) && text.contains("mine (id 2, created at sim-tests/errors.rs:"),
        "{text}"
    );
    assert!(
        text.contains("A task can be awaited only from its own loop"),
        "{text}"
    );
    let LoopError::Deadlock { blocked, .. } = &e else {
        panic!("{e:?}")
    };
    let o = blocked[1]
        .awaits_other_loop
        .as_ref()
        .expect("mine awaits theirs");
    assert_eq!((o.name.as_str(), o.id.as_u32()), ("theirs", 1));
    assert_eq!(o.its_loop, "policy=random seed=9");
    assert!(blocked[0].awaits_other_loop.is_none());
    other.close_quietly().unwrap();
}

/// Issue 13, defect 8: a wake from another thread that came after a run had finished was
/// reported by the next run as if it had happened during it. It is now reported as a wake
/// that came while the loop was not running.
#[test]
fn a_wake_from_another_thread_between_runs_says_when_it_came() {
    let lp = fifo();
    let slot: Rc<RefCell<Option<std::task::Waker>>> = Rc::new(RefCell::new(None));
    let s = slot.clone();
    lp.create_task_named(
        "parked",
        std::future::poll_fn(move |cx| {
            *s.borrow_mut() = Some(cx.waker().clone());
            std::task::Poll::<()>::Pending
        }),
    );
    lp.run_until_complete(simloop::yield_now()).unwrap();
    let w = slot.borrow_mut().take().expect("the task parked its waker");
    std::thread::spawn(move || w.wake()).join().unwrap();
    let e = lp.run_until_complete(async {}).unwrap_err();
    assert_eq!(
        e.to_string(),
        "nondeterminism detected: 1 wake(s) of this loop's tasks came from another OS thread \
         while the loop was not running (after its previous run had ended; reported as this \
         run starts)"
    );
    assert_eq!(e, LoopError::ForeignWakeBetweenRuns { count: 1 });
    assert_has_hint(&e);
}
