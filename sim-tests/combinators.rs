//! The coordination functions against asyncio's semantics (asyncio-api.md D.1–D.8, F.4):
//!
//! - `gather`: results and child creation in input order, dropping it cancels the
//!   unfinished children, a child's panic is re-raised after the others finish, an empty
//!   gather does not yield;
//! - `wait`: `FirstCompleted` / `FirstException` / `AllCompleted`, `(done, pending)` in
//!   input order, never cancels anything, empty input panics;
//! - `as_completed`: completion order, ties in FIFO order, panics re-raised;
//! - `shield`: cancelling the awaiter spares the inner task; cancelling the inner task
//!   reaches the awaiter as `Err(Cancelled)`;
//! - `task_group`: waits for every child (also grandchildren), the first failure cancels
//!   siblings and body, `GroupError` lists failures in completion order with names,
//!   `create_task` after the end panics.
//!
//! `gather`, `as_completed` and `task_group` programs also run under 50 `Random` seeds,
//! twice each, comparing traces.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::StreamExt;
use simloop::{
    as_completed, create_task, create_task_named, gather, get_running_loop, shield, sleep,
    task_group, wait, wait_for, yield_now, EventKind, EventLoop, Fifo, GroupError, Instant,
    PollOutcome, ReturnWhen, Task, TaskError, TaskGroup, TaskId, Trace,
};

const SEEDS: u64 = 50;

fn fifo() -> EventLoop {
    EventLoop::builder().policy(Fifo).build()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn at(n: u64) -> Instant {
    Instant::ZERO + ms(n)
}

fn now() -> Instant {
    get_running_loop().expect("inside the loop").time()
}

/// Counts how many guarded futures were dropped before they finished (cancelled).
#[derive(Clone, Default)]
struct Drops(Rc<Cell<usize>>);

impl Drops {
    fn guard(&self) -> Guard {
        Guard {
            drops: self.clone(),
            finished: false,
        }
    }
    fn get(&self) -> usize {
        self.0.get()
    }
}

struct Guard {
    drops: Drops,
    finished: bool,
}

impl Guard {
    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.finished {
            self.drops.0.set(self.drops.0.get() + 1);
        }
    }
}

fn panic_message(e: TaskError) -> String {
    match e {
        TaskError::Panicked(p) => p.message().unwrap_or("<non-string>").to_owned(),
        TaskError::Cancelled => panic!("expected a panic, got a cancellation"),
    }
}

fn names<T>(tasks: &[Task<T>]) -> Vec<String> {
    tasks.iter().map(Task::name).collect()
}

/// Spawn events after the first one (the main task), in trace order.
fn child_spawns(trace: &Trace) -> Vec<TaskId> {
    trace
        .events()
        .filter_map(|e| match e.kind {
            EventKind::Spawn { task } => Some(task),
            _ => None,
        })
        .skip(1)
        .collect()
}

// ---------------------------------------------------------------------------------------
// gather
// ---------------------------------------------------------------------------------------

#[test]
fn gather_results_in_input_order() {
    let lp = fifo();
    let out = lp
        .run_until_complete(gather([30u64, 10, 20, 0, 10].map(|d| async move {
            sleep(ms(d)).await;
            d
        })))
        .unwrap();
    assert_eq!(out, vec![30, 10, 20, 0, 10]);
    assert_eq!(lp.time(), at(30));
}

/// Five children with distinct sleeps and a few yields; returns outputs and the trace.
const GATHER_SLEEPS: [u64; 5] = [5, 1, 4, 2, 3];

fn gather_program(lp: &EventLoop) -> (Vec<u64>, Trace) {
    let out = lp
        .run_until_complete(gather(GATHER_SLEEPS.map(|d| async move {
            for _ in 0..d {
                yield_now().await;
            }
            sleep(ms(d)).await;
            assert_eq!(now(), at(d));
            d * 10
        })))
        .unwrap();
    (out, lp.trace())
}

/// Children are created in input order: the trace spawns ids 2..=6 (all during the main
/// task's first step) and child `i`'s timer, at `GATHER_SLEEPS[i]` ms, wakes task `2 + i`.
fn check_gather_creation_order(trace: &Trace) {
    let spawns = child_spawns(trace);
    let ids: Vec<u32> = spawns.iter().map(|t| t.as_u32()).collect();
    assert_eq!(ids, vec![2, 3, 4, 5, 6], "{trace}");
    for e in trace.events() {
        if let EventKind::Spawn { task } = e.kind {
            if task.as_u32() > 1 {
                assert_eq!(
                    e.step, 1,
                    "children are spawned by the first step:\n{trace}"
                );
            }
        }
    }
    for (i, d) in GATHER_SLEEPS.iter().enumerate() {
        let woken: Vec<u32> = trace
            .events()
            .filter(|e| e.time == at(*d))
            .filter_map(|e| match e.kind {
                EventKind::Wake { task } if task.as_u32() != 1 => Some(task.as_u32()),
                _ => None,
            })
            .collect();
        assert_eq!(woken, vec![2 + i as u32], "child {i}:\n{trace}");
    }
}

#[test]
fn gather_creates_children_in_input_order() {
    let lp = fifo();
    let (out, trace) = gather_program(&lp);
    assert_eq!(out, vec![50, 10, 40, 20, 30]);
    check_gather_creation_order(&trace);
    // Under FIFO the first steps also run in input order.
    let first_polls: Vec<u32> = trace
        .events()
        .filter_map(|e| match e.kind {
            EventKind::Poll { task, .. } => Some(task.as_u32()),
            _ => None,
        })
        .skip(1)
        .take(5)
        .collect();
    assert_eq!(first_polls, vec![2, 3, 4, 5, 6]);
}

#[test]
fn gather_under_50_seeds_is_deterministic_and_keeps_input_order() {
    let mut distinct = std::collections::BTreeSet::new();
    for seed in 0..SEEDS {
        let (out1, t1) = gather_program(&EventLoop::builder().seed(seed).build());
        let (out2, t2) = gather_program(&EventLoop::builder().seed(seed).build());
        assert_eq!(out1, vec![50, 10, 40, 20, 30], "seed {seed}");
        assert_eq!(out1, out2);
        assert_eq!(t1.to_string(), t2.to_string(), "seed {seed}");
        check_gather_creation_order(&t1);
        distinct.insert(t1.digest());
    }
    assert!(
        distinct.len() > SEEDS as usize / 2,
        "{} schedules",
        distinct.len()
    );
}

/// Dropping a gather (here by `wait_for`'s timeout) cancels its unfinished children.
#[test]
fn dropping_a_gather_cancels_its_unfinished_children() {
    let lp = fifo();
    let drops = Drops::default();
    let completed = Rc::new(Cell::new(0));
    let (d2, c2) = (drops.clone(), completed.clone());
    lp.run_until_complete(async move {
        let r = wait_for(
            gather([1u64, 100, 200].map(|d| {
                let (g, c) = (d2.guard(), c2.clone());
                async move {
                    sleep(ms(d)).await;
                    c.set(c.get() + 1);
                    g.finish();
                    d
                }
            })),
            ms(10),
        )
        .await;
        assert!(r.is_err());
        assert_eq!(now(), at(10));
        // Let the cancellations be delivered, then outlive the slow children's deadlines.
        sleep(ms(500)).await;
    })
    .unwrap();
    assert_eq!(completed.get(), 1);
    assert_eq!(drops.get(), 2);
    let cancelled = lp
        .trace()
        .events()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::Poll {
                    outcome: PollOutcome::Cancelled,
                    ..
                }
            )
        })
        .count();
    assert_eq!(cancelled, 2);
}

/// Cancelling the task that awaits a gather cancels the gather's unfinished children.
#[test]
fn cancelling_the_gathers_awaiter_cancels_its_children() {
    let lp = fifo();
    let drops = Drops::default();
    let d = drops.clone();
    lp.run_until_complete(async move {
        let d2 = d.clone();
        let awaiter = create_task(gather([2u64, 50, 60].map(move |x| {
            let g = d2.guard();
            async move {
                sleep(ms(x)).await;
                g.finish();
            }
        })));
        sleep(ms(10)).await;
        assert!(awaiter.cancel());
        assert!(matches!(awaiter.await, Err(TaskError::Cancelled)));
        sleep(ms(100)).await;
        assert_eq!(d.get(), 2);
    })
    .unwrap();
    assert_eq!(drops.get(), 2);
}

/// asyncio's `wait_for` "cancels aw, waits until the cancellation has finished, and then
/// raises TimeoutError" (asyncio-api.md D.3); for a gather that means its children have
/// finished cancelling. CPython 3.11: `{'a': 'done', 'b': 'cancelled', 'c': 'cancelled'}`
/// right after the TimeoutError.
#[test]
fn wait_for_gather_timeout_finishes_children_cancellation_first() {
    let lp = fifo();
    let drops = Drops::default();
    let d2 = drops.clone();
    lp.run_until_complete(async move {
        let r = wait_for(
            gather([1u64, 100, 200].map(|d| {
                let g = d2.guard();
                async move {
                    sleep(ms(d)).await;
                    g.finish();
                }
            })),
            ms(10),
        )
        .await;
        assert!(r.is_err());
        assert_eq!(
            d2.get(),
            2,
            "children not yet cancelled when Elapsed was returned"
        );
    })
    .unwrap();
    assert_eq!(drops.get(), 2);
}

/// A child's panic reaches the caller, after the other children have finished.
#[test]
fn gather_reraises_a_child_panic_after_the_others_finish() {
    let lp = fifo();
    let slow_done = Rc::new(Cell::new(false));
    let sd = slow_done.clone();
    let (err, when) = lp
        .run_until_complete(async move {
            let t = create_task(gather((0..3u32).map(move |i| {
                let sd = sd.clone();
                async move {
                    match i {
                        0 => {
                            sleep(ms(1)).await;
                            panic!("child boom");
                        }
                        1 => {
                            sleep(ms(5)).await;
                            sd.set(true);
                            1
                        }
                        _ => 2,
                    }
                }
            })));
            let err = t.await.unwrap_err();
            (err, now())
        })
        .unwrap();
    assert_eq!(panic_message(err), "child boom");
    assert!(
        slow_done.get(),
        "the slow sibling finished before the panic was re-raised"
    );
    assert_eq!(when, at(5));
}

/// `gather` of nothing returns `[]` at once, without giving the loop a turn.
#[test]
fn empty_gather_returns_empty_without_yielding() {
    let lp = fifo();
    let other_ran = Rc::new(Cell::new(false));
    let o = other_ran.clone();
    lp.run_until_complete(async move {
        let other = create_task(async move { o.set(true) });
        let v: Vec<u32> = gather(Vec::<std::future::Ready<u32>>::new()).await;
        assert!(v.is_empty());
        assert!(!other.is_done(), "gather([]) yielded to the loop");
        other.await.unwrap();
    })
    .unwrap();
    assert!(other_ran.get());

    // As the main future: done in the main task's first step.
    let lp = fifo();
    let v: Vec<u8> = lp
        .run_until_complete(gather(Vec::<std::future::Ready<u8>>::new()))
        .unwrap();
    assert!(v.is_empty());
    let first_poll = lp
        .trace()
        .events()
        .find(|e| matches!(e.kind, EventKind::Poll { .. }))
        .unwrap();
    assert!(
        matches!(
            first_poll.kind,
            EventKind::Poll { task, outcome: PollOutcome::Ready } if task.as_u32() == 1
        ),
        "{}",
        lp.trace()
    );
    assert_eq!(first_poll.step, 1);
}

// ---------------------------------------------------------------------------------------
// wait
// ---------------------------------------------------------------------------------------

/// A named task that sleeps `d` ms and returns `d`, or panics with `boom <name>`.
fn sleeper(name: &str, d: u64, fail: bool) -> Task<u64> {
    let n = name.to_owned();
    create_task_named(name, async move {
        sleep(ms(d)).await;
        if fail {
            panic!("boom {n}");
        }
        d
    })
}

#[test]
fn wait_first_completed() {
    let lp = fifo();
    lp.run_until_complete(async {
        let tasks = vec![
            sleeper("t30", 30, false),
            sleeper("t10a", 10, false),
            sleeper("t20", 20, false),
            sleeper("t10b", 10, false),
        ];
        let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted).await;
        assert_eq!(now(), at(10));
        // Both tasks that finished at 10 ms are done (as in CPython), in input order.
        assert_eq!(names(&done), ["t10a", "t10b"]);
        assert_eq!(names(&pending), ["t30", "t20"]);
        assert!(pending.iter().all(|t| !t.is_done()));
        // Nothing was cancelled: the pending tasks finish normally.
        let mut outs = Vec::new();
        for t in pending {
            outs.push(t.await.unwrap());
        }
        assert_eq!(outs, [30, 20]);
        assert_eq!(now(), at(30));
        for t in done {
            assert_eq!(t.await.unwrap(), 10);
        }
    })
    .unwrap();
}

#[test]
fn wait_first_exception() {
    let lp = fifo();
    lp.run_until_complete(async {
        // t15 fails at 15 ms; t10 finished earlier; done is in input order, not completion.
        let tasks = vec![
            sleeper("t15", 15, true),
            sleeper("t10", 10, false),
            sleeper("t30", 30, false),
        ];
        let (done, pending) = wait(tasks, ReturnWhen::FirstException).await;
        assert_eq!(now(), at(15));
        assert_eq!(names(&done), ["t15", "t10"]);
        assert_eq!(names(&pending), ["t30"]);
        let mut done = done.into_iter();
        assert_eq!(
            panic_message(done.next().unwrap().await.unwrap_err()),
            "boom t15"
        );
        assert_eq!(done.next().unwrap().await.unwrap(), 10);
        assert_eq!(pending.into_iter().next().unwrap().await.unwrap(), 30);

        // Without any failure it waits for everything.
        let tasks = vec![sleeper("a", 20, false), sleeper("b", 10, false)];
        let start = now();
        let (done, pending) = wait(tasks, ReturnWhen::FirstException).await;
        assert_eq!(now() - start, ms(20));
        assert_eq!(names(&done), ["a", "b"]);
        assert!(pending.is_empty());
    })
    .unwrap();
}

#[test]
fn wait_all_completed() {
    let lp = fifo();
    lp.run_until_complete(async {
        let tasks = vec![
            sleeper("t20", 20, false),
            sleeper("t10", 10, true),
            sleeper("t30", 30, false),
        ];
        let ids: Vec<TaskId> = tasks.iter().map(Task::id).collect();
        let (done, pending) = wait(tasks, ReturnWhen::AllCompleted).await;
        assert_eq!(now(), at(30));
        assert!(pending.is_empty());
        assert_eq!(done.iter().map(Task::id).collect::<Vec<_>>(), ids);
        assert!(done.iter().all(Task::is_done));
        let mut it = done.into_iter();
        assert_eq!(it.next().unwrap().await.unwrap(), 20);
        assert_eq!(
            panic_message(it.next().unwrap().await.unwrap_err()),
            "boom t10"
        );
        assert_eq!(it.next().unwrap().await.unwrap(), 30);
    })
    .unwrap();
}

/// Dropping a `wait` (here by a timeout) leaves its tasks running.
#[test]
fn wait_never_cancels_anything() {
    let lp = fifo();
    let finished = Rc::new(Cell::new(0));
    let f = finished.clone();
    lp.run_until_complete(async move {
        let tasks: Vec<Task<()>> = [10u64, 20, 30]
            .into_iter()
            .map(|d| {
                let f = f.clone();
                create_task(async move {
                    sleep(ms(d)).await;
                    f.set(f.get() + 1);
                })
            })
            .collect();
        let r = wait_for(wait(tasks, ReturnWhen::AllCompleted), ms(5)).await;
        assert!(r.is_err());
        sleep(ms(100)).await;
        assert_eq!(f.get(), 3, "a task was cancelled by a dropped wait()");

        // Cancelling the task that waits does not reach the tasks it waits for either.
        let tasks: Vec<Task<()>> = [10u64, 20]
            .into_iter()
            .map(|d| {
                let f = f.clone();
                create_task(async move {
                    sleep(ms(d)).await;
                    f.set(f.get() + 1);
                })
            })
            .collect();
        let waiter = create_task(wait(tasks, ReturnWhen::FirstCompleted));
        sleep(ms(1)).await;
        assert!(waiter.cancel());
        assert!(matches!(waiter.await, Err(TaskError::Cancelled)));
        sleep(ms(100)).await;
        assert_eq!(f.get(), 5, "a task was cancelled with its waiter");
    })
    .unwrap();
    assert_eq!(finished.get(), 5);
    // The one cancellation in the trace is the waiter's.
    assert_eq!(
        lp.trace()
            .events()
            .filter(|e| matches!(e.kind, EventKind::Cancel { .. }))
            .count(),
        1
    );
}

#[test]
fn wait_on_nothing_panics_with_asyncio_text() {
    let err = catch_unwind(|| wait::<u32>(Vec::new(), ReturnWhen::AllCompleted)).unwrap_err();
    let msg = err
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap();
    assert_eq!(msg, "Set of Tasks/Futures is empty.");
}

// ---------------------------------------------------------------------------------------
// as_completed
// ---------------------------------------------------------------------------------------

#[test]
fn as_completed_yields_in_completion_order() {
    let lp = fifo();
    lp.run_until_complete(async {
        let mut s = as_completed([30u64, 10, 20].map(|d| async move {
            sleep(ms(d)).await;
            d
        }));
        let mut got = Vec::new();
        while let Some(v) = s.next().await {
            assert_eq!(now(), at(v), "yielded later than it completed");
            got.push(v);
        }
        assert_eq!(got, [10, 20, 30]);
    })
    .unwrap();
}

#[test]
fn as_completed_ties_come_in_fifo_order() {
    let lp = fifo();
    let got = lp
        .run_until_complete(
            as_completed([("a", 10u64), ("b", 5), ("c", 10), ("d", 5), ("e", 0)].map(
                |(n, d)| async move {
                    sleep(ms(d)).await;
                    n
                },
            ))
            .collect::<Vec<_>>(),
        )
        .unwrap();
    assert_eq!(got, ["e", "b", "d", "a", "c"]);
}

#[test]
fn as_completed_reraises_a_panic_in_turn() {
    let lp = fifo();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s2 = seen.clone();
    let err = lp
        .run_until_complete(async move {
            let consumer = create_task(async move {
                let mut s =
                    as_completed([("x", 10u64, true), ("y", 5, false), ("z", 20, false)].map(
                        |(n, d, fail)| async move {
                            sleep(ms(d)).await;
                            if fail {
                                panic!("as_completed boom {n}");
                            }
                            n
                        },
                    ));
                while let Some(v) = s.next().await {
                    s2.borrow_mut().push(v);
                }
            });
            let err = consumer.await.unwrap_err();
            assert_eq!(now(), at(10));
            err
        })
        .unwrap();
    assert_eq!(panic_message(err), "as_completed boom x");
    assert_eq!(*seen.borrow(), ["y"]);
}

fn as_completed_program(lp: &EventLoop) -> (Vec<(u64, Instant)>, Trace) {
    let out = lp
        .run_until_complete(async {
            let s = as_completed([7u64, 3, 5, 3, 0, 7].map(|d| async move {
                yield_now().await;
                sleep(ms(d)).await;
                yield_now().await;
                d
            }));
            s.map(|d| (d, now())).collect::<Vec<_>>().await
        })
        .unwrap();
    (out, lp.trace())
}

#[test]
fn as_completed_under_50_seeds() {
    for seed in 0..SEEDS {
        let (out1, t1) = as_completed_program(&EventLoop::builder().seed(seed).build());
        let (out2, t2) = as_completed_program(&EventLoop::builder().seed(seed).build());
        assert_eq!(out1, out2, "seed {seed}");
        assert_eq!(t1.to_string(), t2.to_string(), "seed {seed}");
        // Completion order: each item arrives at its own deadline, deadlines ascending.
        let ds: Vec<u64> = out1.iter().map(|(d, _)| *d).collect();
        assert_eq!(ds, [0, 3, 3, 5, 7, 7], "seed {seed}");
        assert!(
            out1.iter().all(|(d, t)| *t == at(*d)),
            "seed {seed}: {out1:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// shield
// ---------------------------------------------------------------------------------------

/// Cancelling the task that awaits a shield does not cancel the shielded task; without the
/// shield the cancellation goes down the await chain (asyncio-api.md C.2, D.6).
#[test]
fn shield_protects_inner_from_the_awaiters_cancellation() {
    for shielded in [true, false] {
        let lp = fifo();
        let drops = Drops::default();
        let inner_done = Rc::new(Cell::new(false));
        let (d, f) = (drops.clone(), inner_done.clone());
        lp.run_until_complete(async move {
            let g = d.guard();
            let inner = create_task(async move {
                sleep(ms(10)).await;
                f.set(true);
                g.finish();
                5
            });
            let awaiter = create_task(async move {
                if shielded {
                    shield(inner).await
                } else {
                    inner.await
                }
            });
            sleep(ms(1)).await;
            assert!(awaiter.cancel());
            assert!(matches!(awaiter.await, Err(TaskError::Cancelled)));
            assert_eq!(now(), at(1));
            sleep(ms(20)).await;
        })
        .unwrap();
        assert_eq!(inner_done.get(), shielded, "shielded = {shielded}");
        assert_eq!(drops.get(), usize::from(!shielded), "shielded = {shielded}");
    }
}

/// `wait_for(shield(t))` times out and leaves `t` running (the example in simloop's docs).
#[test]
fn shield_survives_wait_for_timeout() {
    let lp = fifo();
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    lp.run_until_complete(async move {
        let inner = create_task(async move {
            sleep(ms(10)).await;
            d.set(true);
        });
        assert!(wait_for(shield(inner), ms(1)).await.is_err());
        sleep(ms(20)).await;
    })
    .unwrap();
    assert!(done.get());
}

/// The counterpart: without a shield, `wait_for(task, ..)` cancels the task on timeout
/// (asyncio-api.md D.3, F.4: "On timeout the inner future (or task) is cancelled and its
/// cancellation finishes before Err(Elapsed) is returned"; CPython 3.11:
/// `it.cancelled() == True`).
#[test]
fn wait_for_a_task_cancels_it_on_timeout() {
    let lp = fifo();
    let drops = Drops::default();
    let d = drops.clone();
    lp.run_until_complete(async move {
        let g = d.guard();
        let inner = create_task(async move {
            sleep(ms(10)).await;
            g.finish();
        });
        assert!(wait_for(inner, ms(1)).await.is_err());
        assert_eq!(
            d.get(),
            1,
            "the task's cancellation finished before Elapsed"
        );
        sleep(ms(20)).await;
    })
    .unwrap();
    assert_eq!(drops.get(), 1);
}

/// Cancelling the inner task reaches the shield's awaiter as `Err(Cancelled)`.
#[test]
fn shield_reports_a_cancelled_inner_task() {
    // Cancelled through its own handle just before being shielded.
    let lp = fifo();
    lp.run_until_complete(async {
        let inner = create_task(async {
            sleep(ms(10)).await;
            1
        });
        assert!(inner.cancel());
        let awaiter = create_task(shield(inner));
        assert!(matches!(awaiter.await.unwrap(), Err(TaskError::Cancelled)));
        assert_eq!(now(), at(0));
    })
    .unwrap();

    // Cancelled by other means while the awaiter is suspended on the shield: the inner
    // task is a TaskGroup child and a sibling's failure cancels it.
    let lp = fifo();
    lp.run_until_complete(async {
        let (tx, rx) = oneshot::channel::<Task<u32>>();
        let awaiter = create_task(async move {
            let inner = rx.await.unwrap();
            let r = shield(inner).await;
            (r, now())
        });
        let g = task_group(|tg| async move {
            let inner = tg.create_task(async {
                sleep(ms(100)).await;
                5
            });
            tx.send(inner).unwrap();
            tg.create_task_named("failer", async {
                sleep(ms(3)).await;
                panic!("sibling failed");
            });
            sleep(ms(1000)).await;
        })
        .await;
        assert_eq!(g.unwrap_err().failures.len(), 1);
        let (r, when) = awaiter.await.unwrap();
        assert!(matches!(r, Err(TaskError::Cancelled)), "{r:?}");
        assert_eq!(when, at(3));
    })
    .unwrap();
}

// ---------------------------------------------------------------------------------------
// task_group
// ---------------------------------------------------------------------------------------

#[test]
fn task_group_waits_for_children_and_grandchildren() {
    let lp = fifo();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let r = lp
        .run_until_complete(task_group(move |tg| async move {
            let tg2 = tg.clone();
            let l2 = l.clone();
            tg.create_task(async move {
                sleep(ms(10)).await;
                l2.borrow_mut().push(format!("child {}", now()));
                let l3 = l2.clone();
                tg2.create_task(async move {
                    sleep(ms(50)).await;
                    l3.borrow_mut().push(format!("grandchild {}", now()));
                });
            });
            l.borrow_mut().push("body done".to_owned());
            "body value"
        }))
        .unwrap();
    assert_eq!(r.unwrap(), "body value");
    assert_eq!(lp.time(), at(60));
    assert_eq!(
        *log.borrow(),
        ["body done", "child 0.010000000s", "grandchild 0.060000000s"]
    );
}

/// The first failure cancels the siblings and the body; the group returns once they
/// have all finished, with the failure named.
#[test]
fn task_group_first_failure_cancels_siblings_and_body() {
    let lp = fifo();
    let drops = Drops::default();
    let d = drops.clone();
    let (r, failer_id) = lp
        .run_until_complete(async move {
            let failer_id = Rc::new(Cell::new(None));
            let fid = failer_id.clone();
            let r = task_group(move |tg| async move {
                let body_guard = d.guard();
                let g = d.guard();
                tg.create_task_named("sibling", async move {
                    sleep(ms(100)).await;
                    g.finish();
                });
                let failer = tg.create_task_named("failer", async {
                    sleep(ms(5)).await;
                    panic!("failer boom");
                });
                fid.set(Some(failer.id()));
                sleep(ms(100)).await;
                body_guard.finish();
                "body finished"
            })
            .await;
            // Siblings and body were dropped before the group returned.
            assert_eq!(now(), at(5));
            (r, failer_id.get().unwrap())
        })
        .unwrap();
    assert_eq!(drops.get(), 2, "sibling and body cancelled");
    let err: GroupError = r.unwrap_err();
    assert_eq!(err.failures.len(), 1);
    assert_eq!(err.failures[0].name, "failer");
    assert_eq!(err.failures[0].message, "failer boom");
    assert_eq!(err.failures[0].task, failer_id);
    let text = err.to_string();
    assert!(
        text.starts_with("unhandled errors in a TaskGroup"),
        "{text}"
    );
    assert!(
        text.contains("failer") && text.contains("failer boom"),
        "{text}"
    );
}

/// Two children that fail in the same iteration are both reported, in completion order.
/// In asyncio the group learns of a failure through a done-callback, one FIFO hop later
/// (asyncio-api.md E.2, E.11 rule 5), so a sibling whose step is already queued still runs
/// and fails. CPython 3.11 with this program: `[ValueError('y'), ValueError('x')]`.
#[test]
fn task_group_lists_failures_in_completion_order() {
    let lp = fifo();
    let err = lp
        .run_until_complete(task_group(|tg| async move {
            // x yields first, so its timer is registered after y's: y fails first.
            tg.create_task_named("x", async {
                yield_now().await;
                sleep(ms(1)).await;
                panic!("x failed");
            });
            tg.create_task_named("y", async {
                sleep(ms(1)).await;
                panic!("y failed");
            });
        }))
        .unwrap()
        .unwrap_err();
    let got: Vec<(&str, &str)> = err
        .failures
        .iter()
        .map(|f| (f.name.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(got, [("y", "y failed"), ("x", "x failed")]);
}

#[test]
fn task_group_create_task_after_finish_panics() {
    let lp = fifo();
    let msg = lp
        .run_until_complete(async {
            let kept: Rc<RefCell<Option<TaskGroup>>> = Rc::new(RefCell::new(None));
            let k = kept.clone();
            task_group(move |tg| async move {
                *k.borrow_mut() = Some(tg);
            })
            .await
            .unwrap();
            let tg = kept.borrow_mut().take().unwrap();
            let err = catch_unwind(AssertUnwindSafe(|| {
                drop(tg.create_task(async {}));
            }))
            .unwrap_err();
            err.downcast_ref::<String>().cloned().unwrap()
        })
        .unwrap();
    assert!(msg.starts_with("TaskGroup "), "{msg}");
    assert!(msg.ends_with("is finished"), "{msg}");
}

/// A group with three children, one failing; returns (result summary, trace).
fn task_group_program(lp: &EventLoop) -> (String, Trace) {
    let out = lp
        .run_until_complete(async {
            let r = task_group(|tg| async move {
                for (i, d) in [4u64, 2, 6].into_iter().enumerate() {
                    tg.create_task_named(format!("c{i}"), async move {
                        yield_now().await;
                        sleep(ms(d)).await;
                        yield_now().await;
                        if d == 6 {
                            panic!("c{i} failed");
                        }
                    });
                }
                sleep(ms(3)).await;
                7
            })
            .await;
            match r {
                Ok(v) => format!("ok {v} at {}", now()),
                Err(e) => format!("{e} at {}", now()),
            }
        })
        .unwrap();
    (out, lp.trace())
}

#[test]
fn task_group_under_50_seeds() {
    for seed in 0..SEEDS {
        let (out1, t1) = task_group_program(&EventLoop::builder().seed(seed).build());
        let (out2, t2) = task_group_program(&EventLoop::builder().seed(seed).build());
        assert_eq!(out1, out2, "seed {seed}");
        assert_eq!(t1.to_string(), t2.to_string(), "seed {seed}");
        assert_eq!(
            out1,
            "unhandled errors in a TaskGroup (1 sub-exception); c2 (id 4) panicked: c2 failed \
             at 0.006000000s",
            "seed {seed}"
        );
    }
}

/// The unscoped form: `TaskGroup::new()`, `spawn`, `join`.
#[test]
fn task_group_new_spawn_join() {
    let lp = fifo();
    let (ok, err) = lp
        .run_until_complete(async {
            let tg = simloop::TaskGroup::new();
            let a = tg.spawn(async {
                sleep(ms(5)).await;
                1
            });
            let b = tg.spawn(async { 2 });
            tg.join().await.unwrap();
            let ok = a.await.unwrap() + b.await.unwrap();

            // A failing child cancels its sibling; join reports the failure.
            let tg = simloop::TaskGroup::new();
            let slow = tg.spawn(sleep(ms(100)));
            tg.spawn(async {
                sleep(ms(1)).await;
                panic!("child failed")
            });
            let err = tg.join().await.unwrap_err();
            assert!(slow.await.unwrap_err().is_cancelled());
            (ok, err)
        })
        .unwrap();
    assert_eq!(ok, 3);
    assert_eq!(err.failures.len(), 1);
    assert_eq!(err.failures[0].message, "child failed");
    assert_eq!(
        lp.elapsed(),
        ms(6),
        "the slow sibling was cancelled, not awaited"
    );
}

/// Dropping `join` (here by a timeout) cancels the group's children.
#[test]
fn task_group_join_dropped_cancels_children() {
    let lp = fifo();
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    lp.run_until_complete(async move {
        let tg = simloop::TaskGroup::new();
        let child = tg.spawn(async move {
            sleep(ms(50)).await;
            d.set(true);
        });
        assert!(wait_for(tg.join(), ms(10)).await.is_err());
        simloop::yield_now().await;
        assert!(child.is_cancelled());
        sleep(ms(100)).await;
    })
    .unwrap();
    assert!(!done.get());
}
