//! Scale: the loop handles large programs correctly, checked by counts, never by timing.
//!
//! - 100,000 tasks spawned from one root task and all awaited;
//! - 1,000,000 `call_later` timers with scattered, often equal, deadlines: all fire, in
//!   (deadline, registration) order, and the clock ends exactly at the latest deadline;
//! - 1,000 tasks × 1,000 sleeps (another 1,000,000 timers, each waking a task);
//! - a yield storm of 1,000 tasks × 100 `yield_now` under `Random`, twice with one seed.
//! - cancelling the end of an await chain of 1,000,000 tasks on a 2 MiB stack (debug: ~6 s).
//!
//! Debug-mode run times measured when this file was written are noted on each test.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use simloop::{create_task, gather, sleep, yield_now, EventLoop, Fifo, Instant, Task};

fn fifo_loop() -> EventLoop {
    EventLoop::builder().policy(Fifo).build()
}

/// 100,000 tasks, all spawned by a root task before any of them runs, all awaited.
/// (Debug: about 0.25 s.)
#[test]
fn hundred_thousand_tasks_spawned_and_awaited() {
    const N: u64 = 100_000;
    let lp = fifo_loop();
    let started = Rc::new(Cell::new(0u64));
    let s = started.clone();
    let (count, sum) = lp
        .run_until_complete(async move {
            let tasks: Vec<Task<u64>> = (0..N)
                .map(|i| {
                    let s = s.clone();
                    create_task(async move {
                        s.set(s.get() + 1);
                        i
                    })
                })
                .collect();
            // Non-eager: nothing has run yet.
            assert_eq!(s.get(), 0);
            let mut count = 0u64;
            let mut sum = 0u64;
            for t in tasks {
                sum += t.await.unwrap();
                count += 1;
            }
            (count, sum)
        })
        .unwrap();
    assert_eq!(count, N);
    assert_eq!(started.get(), N);
    assert_eq!(sum, N * (N - 1) / 2);
    assert_eq!(lp.time(), Instant::ZERO);
    let trace = lp.trace();
    // Every task (the root is task 1) was spawned and finished once.
    let spawns = trace
        .events()
        .filter(|e| matches!(e.kind, simloop::EventKind::Spawn { .. }))
        .count() as u64;
    let ready = trace
        .events()
        .filter(|e| {
            matches!(
                e.kind,
                simloop::EventKind::Poll {
                    outcome: simloop::PollOutcome::Ready,
                    ..
                }
            )
        })
        .count() as u64;
    assert_eq!(spawns, N + 1);
    assert_eq!(ready, N + 1);
}

/// The same 100,000 tasks through `gather`, under a seed. (Debug: about 0.9 s.)
#[test]
fn hundred_thousand_tasks_gathered_under_random() {
    const N: u64 = 100_000;
    let lp = EventLoop::builder().seed(11).build();
    let out = lp
        .run_until_complete(gather((0..N).map(|i| async move {
            yield_now().await;
            i * 2
        })))
        .unwrap();
    assert_eq!(out.len() as u64, N);
    assert!(out.iter().enumerate().all(|(i, v)| *v == 2 * i as u64));
}

/// A scattered deadline in nanoseconds for timer `i`: many distinct values, many ties.
fn deadline_of(i: u64) -> u64 {
    // A multiplicative hash folded onto 0..50_000 µs, on a 1 µs grid so ties are frequent.
    (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % 50_000 * 1_000
}

/// 1,000,000 `call_later` timers registered up front with scattered delays (many equal):
/// every one fires exactly once, at its deadline, in (deadline, registration) order, and
/// the clock ends at the latest deadline. (Debug: 3.5-5 s, 175 MB peak.)
#[test]
fn million_call_later_timers_fire_in_deadline_order() {
    const N: u64 = 1_000_000;
    let lp = fifo_loop();
    let fired = Rc::new(Cell::new(0u64));
    // (deadline, registration index) of the last timer that fired.
    let last = Rc::new(Cell::new((0u64, 0u64)));
    let mut max_deadline = 0;
    for i in 0..N {
        let d = deadline_of(i);
        max_deadline = max_deadline.max(d);
        let (fired, last, l) = (fired.clone(), last.clone(), lp.clone());
        lp.call_later(Duration::from_nanos(d), move || {
            let now = l.time().as_nanos();
            assert_eq!(now, d, "timer {i} fired at the wrong time");
            let prev = last.replace((d, i));
            assert!(
                fired.get() == 0 || prev < (d, i),
                "timer {i} (deadline {d}) fired after {prev:?}"
            );
            fired.set(fired.get() + 1);
            if fired.get() == N {
                l.stop();
            }
        });
    }
    lp.run_forever().unwrap();
    assert_eq!(fired.get(), N);
    assert_eq!(lp.time().as_nanos(), max_deadline);
    assert_eq!(last.get().0, max_deadline);
    // One step per timer; `stop()` from a callback is a flag, not a step of its own.
    assert_eq!(lp.steps(), N);
}

/// 1,000 tasks × 1,000 sleeps each (1,000,000 timers): every sleep ends exactly on time,
/// the wake-ups come in deadline order, and the clock ends at the latest task's finish.
/// (Debug: 1.5-3 s.)
#[test]
fn thousand_tasks_times_thousand_sleeps() {
    const TASKS: u64 = 1_000;
    const SLEEPS: u64 = 1_000;
    let lp = fifo_loop();
    let wakeups = Rc::new(Cell::new(0u64));
    let last_wake = Rc::new(Cell::new(Instant::ZERO));
    let finish_times = Rc::new(RefCell::new(Vec::new()));
    let (w, lw, ft) = (wakeups.clone(), last_wake.clone(), finish_times.clone());
    lp.run_until_complete(async move {
        let tasks: Vec<Task<()>> = (0..TASKS)
            .map(|k| {
                let (w, lw, ft) = (w.clone(), lw.clone(), ft.clone());
                create_task(async move {
                    let lp = simloop::get_running_loop().unwrap();
                    // Task k sleeps (k % 7 + 1) µs each time: 7 distinct periods, many ties.
                    let period = Duration::from_micros(k % 7 + 1);
                    let mut expected = Instant::ZERO;
                    for _ in 0..SLEEPS {
                        sleep(period).await;
                        expected += period;
                        let now = lp.time();
                        assert_eq!(now, expected, "task {k} woke late or early");
                        assert!(now >= lw.get(), "wake-ups out of deadline order");
                        lw.set(now);
                        w.set(w.get() + 1);
                    }
                    ft.borrow_mut().push((k, expected));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    })
    .unwrap();
    assert_eq!(wakeups.get(), TASKS * SLEEPS);
    assert_eq!(finish_times.borrow().len() as u64, TASKS);
    let max_period = Duration::from_micros(7);
    assert_eq!(lp.time(), Instant::ZERO + max_period * SLEEPS as u32);
    assert_eq!(lp.time(), last_wake.get());
}

/// 1,000 tasks × 100 `yield_now` under `Random`: every yield is counted, each task's own
/// steps stay in order, the step count is exactly what the program needs, and a second
/// run with the same seed gives the same trace. (Debug: about 1 s for both runs.)
#[test]
fn yield_storm_under_random() {
    const TASKS: usize = 1_000;
    const YIELDS: usize = 100;
    fn storm(seed: u64) -> (Vec<usize>, u64, String) {
        let lp = EventLoop::builder().seed(seed).build();
        let counters = Rc::new(RefCell::new(vec![0usize; TASKS]));
        let total = Rc::new(Cell::new(0usize));
        let (c, t) = (counters.clone(), total.clone());
        // The interleaving, recorded as which task moved at each yield (first 2,000 only).
        let order = Rc::new(RefCell::new(Vec::new()));
        let o = order.clone();
        lp.run_until_complete(gather((0..TASKS).map(move |k| {
            let (c, t, o) = (c.clone(), t.clone(), o.clone());
            async move {
                for i in 0..YIELDS {
                    assert_eq!(c.borrow()[k], i, "task {k} ran its steps out of order");
                    c.borrow_mut()[k] += 1;
                    t.set(t.get() + 1);
                    if o.borrow().len() < 2_000 {
                        o.borrow_mut().push(k);
                    }
                    yield_now().await;
                }
            }
        })))
        .unwrap();
        assert_eq!(total.get(), TASKS * YIELDS);
        assert!(counters.borrow().iter().all(|&n| n == YIELDS));
        let order = order.borrow().clone();
        (order, lp.steps(), lp.trace().to_string())
    }
    let (order1, steps1, trace1) = storm(99);
    let (order2, steps2, trace2) = storm(99);
    assert_eq!(order1, order2);
    assert_eq!(steps1, steps2);
    assert!(trace1 == trace2, "same seed, different traces");
    // Main: 2 polls; each task: YIELDS + 1 polls; one completion hop for the gather; the
    // stop request.
    assert_eq!(steps1, 2 + (TASKS * (YIELDS + 1)) as u64 + 1 + 1);
    // Random really interleaved: FIFO would run tasks 0, 1, 2, ... in turn.
    let fifo_prefix: Vec<usize> = (0..TASKS).chain(0..TASKS).collect();
    assert_ne!(order1, fifo_prefix);
    let (order3, _, _) = storm(100);
    assert_ne!(order1, order3, "two seeds gave the same interleaving");
}

/// Issue 13, defect 3: cancelling the end of an await chain of 1,000,000 tasks (each
/// awaiting the one before) used to recurse once per task and overflow the stack. Runs on a
/// thread with the 2 MiB stack `cargo test` gives its test threads; checks that the whole
/// chain ends cancelled.
#[test]
fn cancelling_a_million_task_await_chain_does_not_overflow_the_stack() {
    const N: usize = 1_000_000;
    let run = || {
        let lp = fifo_loop();
        let (cancelled, polled) = lp
            .run_until_complete(async {
                let polled = Rc::new(Cell::new(0usize));
                // Task 0 waits for ever; task i awaits task i - 1.
                let first: Task<()> = create_task(std::future::pending());
                let mut prev = first;
                for _ in 1..N {
                    let p = polled.clone();
                    let t = create_task(async move {
                        p.set(p.get() + 1);
                        let _ = prev.await;
                    });
                    prev = t;
                }
                // Let every task run its first step, so each awaits the one before.
                sleep(Duration::from_millis(1)).await;
                let last = prev;
                assert!(last.cancel());
                let err = last.await.unwrap_err();
                (err.is_cancelled(), polled.get())
            })
            .unwrap();
        assert!(cancelled);
        assert_eq!(polled, N - 1);
        // Every task of the chain was cancelled: one `poll … cancelled` per task.
        let n = lp
            .trace()
            .events()
            .filter(|e| {
                matches!(
                    e.kind,
                    simloop::EventKind::Poll {
                        outcome: simloop::PollOutcome::Cancelled,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(n, N);
    };
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}
