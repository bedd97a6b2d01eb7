//! Tasks, cancellation and panics, watched with counters.
//!
//! A small [`Guard`] counts (and logs) when a task's future is dropped, and [`counted`]
//! counts polls, so the tests can see exactly when bodies run and when futures die:
//! cancellation before the first step and while sleeping, cancellation down an await
//! chain and its cut by `shield`, panics in tasks and in the main future, detached tasks,
//! `close()` and `simloop::run` with pending tasks, task names and ids, and
//! `wait_for`/`timeout_at` (`shared/asyncio-api.md` C.2, D.3, D.4, E.9, E.10; DESIGN.md
//! "tasks").

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use simloop::{Elapsed, EventKind, EventLoop, Fifo, Instant, PollOutcome, TaskError, TaskId};

fn fifo() -> EventLoop {
    EventLoop::builder().policy(Fifo).build()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

type Log = Rc<RefCell<Vec<String>>>;

fn new_log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

/// Counts drops into `drops` and, if it has a log, appends `dropped <name>`.
struct Guard {
    drops: Rc<Cell<u32>>,
    log: Option<(Log, String)>,
}

impl Guard {
    fn new(drops: &Rc<Cell<u32>>) -> Guard {
        Guard {
            drops: drops.clone(),
            log: None,
        }
    }

    fn logged(drops: &Rc<Cell<u32>>, log: &Log, name: impl Into<String>) -> Guard {
        Guard {
            drops: drops.clone(),
            log: Some((log.clone(), name.into())),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
        if let Some((log, name)) = &self.log {
            log.borrow_mut().push(format!("dropped {name}"));
        }
    }
}

/// Wraps `fut` so every poll increments `polls`.
fn counted<F: Future + 'static>(polls: &Rc<Cell<u32>>, fut: F) -> impl Future<Output = F::Output> {
    let polls = polls.clone();
    let mut fut = Box::pin(fut);
    futures::future::poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        fut.as_mut().poll(cx)
    })
}

fn counters() -> (Rc<Cell<u32>>, Rc<Cell<u32>>) {
    (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)))
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

fn poll_outcomes(lp: &EventLoop, task: TaskId) -> Vec<PollOutcome> {
    lp.trace()
        .events()
        .filter_map(|e| match e.kind {
            EventKind::Poll { task: t, outcome } if t == task => Some(outcome),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------- cancellation

#[test]
fn cancel_before_first_step_never_runs_the_body() {
    let lp = fifo();
    let (polls, drops) = counters();
    let body_ran = Rc::new(Cell::new(false));
    let (p, d, b) = (polls.clone(), drops.clone(), body_ran.clone());
    lp.run_until_complete(async move {
        let g = Guard::new(&d);
        let t = simloop::create_task(counted(&p, async move {
            let _g = g;
            b.set(true);
        }));
        assert!(t.cancel());
        assert!(!t.is_cancelled(), "not cancelled until its step");
        assert!(!t.is_done());
        assert_eq!(d.get(), 0, "the future is not dropped inside cancel()");
        let r = t.await;
        assert!(matches!(r, Err(TaskError::Cancelled)), "{r:?}");
    })
    .unwrap();
    assert!(!body_ran.get());
    assert_eq!(polls.get(), 0);
    assert_eq!(drops.get(), 1);
}

#[test]
fn is_cancelled_is_true_once_the_cancellation_is_delivered() {
    let lp = fifo();
    let t = lp.create_task(async { 1 });
    assert!(t.cancel());
    assert!(t.cancel(), "cancel on a pending task returns true again");
    lp.run_until_complete(async {}).unwrap();
    assert!(t.is_done());
    assert!(t.is_cancelled());
    assert!(!t.cancel(), "cancel on a done task returns false");
    let r = lp.run_until_complete(t).unwrap();
    assert!(r.unwrap_err().is_cancelled());
}

#[test]
fn cancel_during_sleep_drops_the_future_at_the_next_step() {
    let lp = fifo();
    let (polls, drops) = counters();
    let woke = Rc::new(Cell::new(false));
    let (p, d, w) = (polls.clone(), drops.clone(), woke.clone());
    lp.run_until_complete(async move {
        let g = Guard::new(&d);
        let t = simloop::create_task(counted(&p, async move {
            let _g = g;
            simloop::sleep(Duration::from_secs(10)).await;
            w.set(true);
        }));
        simloop::yield_now().await; // t polled once: it is sleeping
        assert_eq!(p.get(), 1);
        assert!(t.cancel());
        assert_eq!(d.get(), 0);
        simloop::yield_now().await; // t's cancellation step runs before us
        assert_eq!(d.get(), 1);
        assert!(t.is_done());
        assert!(t.is_cancelled());
        assert!(t.await.unwrap_err().is_cancelled());
    })
    .unwrap();
    assert!(!woke.get());
    assert_eq!(polls.get(), 1, "a cancelled task is dropped, not polled");
    // The cancelled sleep's timer does not move the clock.
    assert_eq!(lp.elapsed(), Duration::ZERO);
    assert_eq!(lp.trace().end_time(), Instant::ZERO);
}

#[test]
fn cancel_propagates_down_an_await_chain() {
    let lp = fifo();
    let (_, drops) = counters();
    let log = new_log();
    let (d, l) = (drops.clone(), log.clone());
    let (a_id, b_id) = lp
        .run_until_complete(async move {
            let b_id = Rc::new(Cell::new(None));
            let bid = b_id.clone();
            let (d2, l2) = (d.clone(), l.clone());
            let a = simloop::create_task(async move {
                let _ga = Guard::logged(&d2, &l2, "A");
                let b = simloop::create_task({
                    let (d3, l3) = (d2.clone(), l2.clone());
                    async move {
                        let _gb = Guard::logged(&d3, &l3, "B");
                        simloop::sleep(Duration::from_secs(10)).await;
                        l3.borrow_mut().push("B finished".into());
                    }
                });
                bid.set(Some(b.id()));
                let _ = b.await;
                l2.borrow_mut().push("A finished".into());
            });
            simloop::yield_now().await; // A runs, creates B, awaits it
            simloop::yield_now().await; // B runs, sleeps
            assert!(a.cancel());
            let a_id = a.id();
            assert!(a.await.unwrap_err().is_cancelled());
            // B's cancellation was delivered as well (it was queued before A's wakeup).
            (a_id, b_id.get().unwrap())
        })
        .unwrap();
    assert_eq!(*log.borrow(), ["dropped A", "dropped B"]);
    assert_eq!(drops.get(), 2);
    assert_eq!(lp.elapsed(), Duration::ZERO);
    assert_eq!(
        poll_outcomes(&lp, a_id),
        [PollOutcome::Pending, PollOutcome::Cancelled]
    );
    assert_eq!(
        poll_outcomes(&lp, b_id),
        [PollOutcome::Pending, PollOutcome::Cancelled]
    );
}

#[test]
fn shield_cuts_the_await_chain() {
    let lp = fifo();
    let (_, drops) = counters();
    let log = new_log();
    let (d, l) = (drops.clone(), log.clone());
    lp.run_until_complete(async move {
        let (d2, l2) = (d.clone(), l.clone());
        let a = simloop::create_task(async move {
            let _ga = Guard::logged(&d2, &l2, "A");
            let b = simloop::create_task({
                let (d3, l3) = (d2.clone(), l2.clone());
                async move {
                    let _gb = Guard::logged(&d3, &l3, "B");
                    simloop::sleep(Duration::from_secs(1)).await;
                    l3.borrow_mut().push("B finished".into());
                    5
                }
            });
            let v = simloop::shield(b).await;
            l2.borrow_mut().push(format!("A got {v:?}"));
        });
        simloop::yield_now().await;
        simloop::yield_now().await;
        assert!(a.cancel());
        assert!(a.await.unwrap_err().is_cancelled());
        assert_eq!(*l.borrow(), ["dropped A"]);
        simloop::sleep(Duration::from_secs(2)).await;
    })
    .unwrap();
    assert_eq!(*log.borrow(), ["dropped A", "B finished", "dropped B"]);
    assert_eq!(drops.get(), 2);
}

#[test]
fn cancel_on_a_done_task_returns_false() {
    let lp = fifo();
    lp.run_until_complete(async {
        let t = simloop::create_task(async { 3 });
        simloop::yield_now().await;
        assert!(t.is_done());
        assert!(!t.cancel());
        assert!(!t.is_cancelled());
        assert_eq!(t.await.unwrap(), 3);
    })
    .unwrap();
}

// ---------------------------------------------------------------- panics

#[test]
fn a_panic_in_a_task_is_caught_and_delivered_with_its_message() {
    let lp = fifo();
    let (_, drops) = counters();
    let d = drops.clone();
    let (m1, m2, done) = lp
        .run_until_complete(async move {
            let g = Guard::new(&d);
            let t1 = simloop::create_task(async move {
                let _g = g;
                simloop::yield_now().await;
                panic!("boom");
            });
            let t2 = simloop::create_task(async { panic!("boom {}", 2) });
            let e1 = t1.await.unwrap_err();
            assert!(e1.is_panic());
            assert_eq!(e1.to_string(), "task panicked: boom");
            let m1 = match e1 {
                TaskError::Panicked(p) => p.message().map(str::to_owned),
                TaskError::Cancelled => None,
            };
            let m2 = match t2.await {
                Err(TaskError::Panicked(p)) => p.message().map(str::to_owned),
                _ => None,
            };
            (m1, m2, d.get())
        })
        .unwrap();
    assert_eq!(m1.as_deref(), Some("boom"));
    assert_eq!(m2.as_deref(), Some("boom 2"));
    assert_eq!(done, 1, "the panicking future was dropped");
    assert!(!lp.is_running());
}

#[test]
fn a_panic_in_the_main_future_propagates_and_the_loop_runs_again() {
    let lp = fifo();
    let p = catch_unwind(AssertUnwindSafe(|| {
        let _ = lp.run_until_complete(async {
            simloop::sleep(ms(3)).await;
            panic!("main blew up");
        });
    }))
    .unwrap_err();
    assert_eq!(panic_text(&*p), "main blew up");
    assert!(!lp.is_running());
    assert!(!lp.is_closed());
    assert!(simloop::get_running_loop().is_err());
    assert_eq!(lp.elapsed(), ms(3));
    assert_eq!(lp.run_until_complete(async { 9 }), Ok(9));
    assert!(!lp.is_running());
}

// ---------------------------------------------------------------- detaching

#[test]
fn dropping_a_task_detaches_it() {
    let lp = fifo();
    let (polls, drops) = counters();
    let finished = Rc::new(Cell::new(0));
    let (p, d, f) = (polls.clone(), drops.clone(), finished.clone());
    lp.run_until_complete(async move {
        let g = Guard::new(&d);
        let t = simloop::create_task(counted(&p, async move {
            let _g = g;
            simloop::sleep(ms(5)).await;
            f.set(f.get() + 1);
        }));
        drop(t);
        assert_eq!(d.get(), 0);
        simloop::sleep(ms(10)).await;
    })
    .unwrap();
    assert_eq!(finished.get(), 1);
    assert_eq!(polls.get(), 2);
    assert_eq!(drops.get(), 1);
}

// ---------------------------------------------------------------- close and run

#[test]
fn close_drops_pending_tasks_in_id_order_and_traces_them() {
    let lp = fifo();
    let log = new_log();
    let (_, drops) = counters();
    let (l, d) = (log.clone(), drops.clone());
    let handles = lp
        .run_until_complete(async move {
            // Two short tasks free their slots, so later tasks reuse slots out of id order.
            let s1 = simloop::create_task(async {});
            let s2 = simloop::create_task(async {});
            s1.await.unwrap();
            s2.await.unwrap();
            let mut hs = Vec::new();
            for i in 0..4 {
                let g = Guard::logged(&d, &l, format!("{i}"));
                hs.push(simloop::create_task(async move {
                    let _g = g;
                    simloop::sleep(Duration::from_secs(60)).await;
                }));
            }
            simloop::yield_now().await; // all four are sleeping
            hs
        })
        .unwrap();
    let ids: Vec<TaskId> = handles.iter().map(|t| t.id()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(drops.get(), 0);
    lp.close().unwrap();
    assert_eq!(drops.get(), 4);
    assert_eq!(
        *log.borrow(),
        ["dropped 0", "dropped 1", "dropped 2", "dropped 3"]
    );
    let destroyed: Vec<TaskId> = lp
        .trace()
        .events()
        .filter_map(|e| match e.kind {
            EventKind::Destroy { task } => Some(task),
            _ => None,
        })
        .collect();
    assert_eq!(destroyed, ids);
    assert!(lp.trace().to_string().contains(" destroy "));
    for t in handles {
        assert!(t.is_done());
        assert!(t.is_cancelled());
        assert!(futures::executor::block_on(t).unwrap_err().is_cancelled());
    }
    // close() does not advance time or run anything.
    assert_eq!(lp.elapsed(), Duration::ZERO);
}

#[test]
fn close_drops_tasks_that_never_ran() {
    let lp = fifo();
    let (polls, drops) = counters();
    let g = Guard::new(&drops);
    let t = lp.create_task(counted(&polls, async move {
        let _g = g;
    }));
    lp.close().unwrap();
    assert_eq!(drops.get(), 1);
    assert_eq!(polls.get(), 0);
    assert!(t.is_cancelled());
    let destroyed = lp
        .trace()
        .events()
        .filter(|e| matches!(e.kind, EventKind::Destroy { task } if task == t.id()))
        .count();
    assert_eq!(destroyed, 1);
}

#[test]
fn run_cancels_leftover_tasks_before_returning() {
    let log = new_log();
    let (_, drops) = counters();
    let (l, d) = (log.clone(), drops.clone());
    let ids = simloop::run(async move {
        let mut ids = Vec::new();
        for i in 0..3 {
            let g = Guard::logged(&d, &l, format!("{i}"));
            let t = simloop::create_task(async move {
                let _g = g;
                simloop::sleep(Duration::from_secs(3600)).await;
            });
            ids.push(t.id());
        }
        simloop::yield_now().await;
        assert_eq!(d.get(), 0);
        ids
    });
    assert_eq!(
        drops.get(),
        3,
        "every leftover was dropped before run returned"
    );
    // asyncio.run cancels leftovers; simloop cancels them in id order. With a seed from
    // SIMLOOP_SEED the policy may reorder the cancellation steps, so only FIFO pins it.
    let mut got = log.borrow().clone();
    if std::env::var_os("SIMLOOP_SEED").is_none() {
        assert_eq!(got, ["dropped 0", "dropped 1", "dropped 2"]);
    }
    got.sort();
    assert_eq!(got, ["dropped 0", "dropped 1", "dropped 2"]);
    assert_eq!(ids.len(), 3);
    // run clears the current loop and closes its loop.
    assert!(simloop::get_running_loop().is_err());
}

#[test]
fn run_returns_the_value_and_leftovers_never_finish() {
    let finished = Rc::new(Cell::new(false));
    let f = finished.clone();
    let v = simloop::run(async move {
        drop(simloop::create_task(async move {
            simloop::sleep(ms(1)).await;
            f.set(true);
        }));
        "main"
    });
    assert_eq!(v, "main");
    assert!(
        !finished.get(),
        "leftovers are cancelled, not run to completion"
    );
}

// ---------------------------------------------------------------- names and ids

#[test]
fn task_names_are_counted_per_loop_and_main_is_a_task() {
    let names = |lp: &EventLoop| {
        let before = lp.create_task(async {});
        let inside = lp
            .run_until_complete(async {
                let t = simloop::create_task(async {});
                let n = t.name();
                let id = t.id();
                t.await.unwrap();
                (n, id)
            })
            .unwrap();
        (before.name(), before.id(), inside)
    };
    let a = fifo();
    let b = fifo();
    let ra = names(&a);
    let rb = names(&b);
    // Task-1 is created before the run, main is Task-2, the task inside main Task-3.
    assert_eq!(ra.0, "Task-1");
    assert_eq!(ra.1.as_u32(), 1);
    assert_eq!(ra.2 .0, "Task-3");
    assert_eq!(ra.2 .1.as_u32(), 3);
    assert_eq!(ra, rb, "two loops count names independently");

    // A fresh loop: main of run_until_complete is Task-1.
    let c = fifo();
    let n = c
        .run_until_complete(async { simloop::create_task(async {}).name() })
        .unwrap();
    assert_eq!(n, "Task-2");
    // Ids keep counting across runs of one loop.
    let n = c
        .run_until_complete(async { simloop::create_task(async {}).name() })
        .unwrap();
    assert_eq!(n, "Task-4");
}

#[test]
fn named_tasks_keep_their_name_and_still_take_an_id() {
    let lp = fifo();
    let a = lp.create_task_named("alpha", async {});
    let b = lp.create_task(async {});
    let c = simloop::EventLoop::create_task_named(&lp, String::from("gamma"), async {});
    assert_eq!(a.name(), "alpha");
    assert_eq!(b.name(), "Task-2");
    assert_eq!(c.name(), "gamma");
    assert_eq!([a.id(), b.id(), c.id()].map(TaskId::as_u32), [1, 2, 3]);
    // The spawn (with its name) is in the trace as soon as the task is created.
    assert_eq!(lp.trace().task_name(a.id()), Some("alpha"));
    assert_eq!(
        lp.trace().task_name(b.id()),
        None,
        "default names are not stored"
    );
    lp.run_until_complete(async {}).unwrap();
    assert_eq!(lp.trace().task_name(a.id()), Some("alpha"));
}

#[test]
fn task_ids_increase_in_creation_order_and_are_not_reused() {
    let lp = fifo();
    let ids = lp
        .run_until_complete(async {
            let mut ids = Vec::new();
            for _ in 0..5 {
                let t = simloop::create_task(async {});
                ids.push(t.id());
                t.await.unwrap(); // frees the slot; the id must still be fresh
            }
            ids
        })
        .unwrap();
    assert_eq!(
        ids.iter().map(|i| i.as_u32()).collect::<Vec<_>>(),
        [2, 3, 4, 5, 6]
    );
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

// ---------------------------------------------------------------- wait_for / timeout_at

#[test]
fn wait_for_timeout_drops_the_inner_future_at_the_deadline() {
    let lp = fifo();
    let (polls, drops) = counters();
    let (p, d) = (polls.clone(), drops.clone());
    let l = lp.clone();
    lp.run_until_complete(async move {
        let g = Guard::new(&d);
        let r = simloop::wait_for(
            counted(&p, async move {
                let _g = g;
                simloop::sleep(ms(10)).await;
                "inner"
            }),
            ms(5),
        )
        .await;
        assert_eq!(r, Err(Elapsed::default()));
        assert_eq!(d.get(), 1, "cancellation finished before Err(Elapsed)");
        assert_eq!(l.time(), Instant::ZERO + ms(5), "exactly the deadline");
    })
    .unwrap();
    assert!(polls.get() >= 1);
    // Nothing of the inner 10 ms sleep is left behind.
    assert_eq!(lp.elapsed(), ms(5));
    assert_eq!(Elapsed::default().to_string(), "deadline has elapsed");
}

#[test]
fn wait_for_returns_the_value_when_the_future_wins() {
    let lp = fifo();
    let l = lp.clone();
    let r = lp
        .run_until_complete(async move {
            let r = simloop::wait_for(
                async {
                    simloop::sleep(ms(2)).await;
                    11
                },
                ms(5),
            )
            .await;
            (r, l.time())
        })
        .unwrap();
    assert_eq!(r, (Ok(11), Instant::ZERO + ms(2)));
    // The timeout's timer was cancelled: the run ends at 2 ms.
    assert_eq!(lp.elapsed(), ms(2));
}

#[test]
fn wait_for_zero_never_polls_the_future() {
    let lp = fifo();
    let (polls, drops) = counters();
    let (p, d) = (polls.clone(), drops.clone());
    lp.run_until_complete(async move {
        let g = Guard::new(&d);
        let r = simloop::wait_for(
            counted(&p, async move {
                let _g = g;
                1
            }),
            Duration::ZERO,
        )
        .await;
        assert_eq!(r, Err(Elapsed::default()));
        assert_eq!(d.get(), 1);
    })
    .unwrap();
    assert_eq!(polls.get(), 0);
    assert_eq!(drops.get(), 1);
    assert_eq!(lp.elapsed(), Duration::ZERO);
}

#[test]
fn wait_for_zero_never_polls_even_a_finished_task() {
    // Documented deviation (simloop::wait_for): asyncio-api.md D.3 returns the result of
    // an already-done awaitable for timeout <= 0. simloop cannot tell a finished Task from
    // a future whose body would start when polled, so a zero duration fails at once
    // without polling, whatever the future is.
    let lp = fifo();
    let r = lp
        .run_until_complete(async {
            let t = simloop::create_task(async { 8 });
            simloop::yield_now().await;
            assert!(t.is_done());
            simloop::wait_for(t, Duration::ZERO).await
        })
        .unwrap();
    assert!(r.is_err(), "{r:?}");
}

#[test]
fn wait_for_on_a_shielded_task_leaves_the_task_running() {
    let lp = fifo();
    let (_, drops) = counters();
    let finished = Rc::new(Cell::new(false));
    let (d, f) = (drops.clone(), finished.clone());
    let l = lp.clone();
    lp.run_until_complete(async move {
        let g = Guard::new(&d);
        let t = simloop::create_task(async move {
            let _g = g;
            simloop::sleep(ms(10)).await;
            f.set(true);
        });
        let r = simloop::wait_for(simloop::shield(t), ms(3)).await;
        assert_eq!(r.unwrap_err(), Elapsed::default());
        assert_eq!(l.time(), Instant::ZERO + ms(3));
        assert_eq!(d.get(), 0, "the shielded task was not cancelled");
        simloop::sleep(ms(20)).await;
    })
    .unwrap();
    assert!(finished.get());
    assert_eq!(drops.get(), 1);
    assert_eq!(lp.elapsed(), ms(23));
}

#[test]
fn wait_for_on_an_unshielded_task_cancels_the_task() {
    let lp = fifo();
    let (_, drops) = counters();
    let d = drops.clone();
    lp.run_until_complete(async move {
        let g = Guard::new(&d);
        let t = simloop::create_task(async move {
            let _g = g;
            simloop::sleep(ms(10)).await;
        });
        let r = simloop::wait_for(t, ms(3)).await;
        assert!(r.is_err());
        // asyncio cancels the task and waits for the cancellation before raising.
        assert_eq!(d.get(), 1, "the task was cancelled by the timeout");
    })
    .unwrap();
    assert_eq!(lp.elapsed(), ms(3));
}

#[test]
fn timeout_at_uses_an_absolute_deadline() {
    let lp = fifo();
    let (_, drops) = counters();
    let d = drops.clone();
    let l = lp.clone();
    lp.run_until_complete(async move {
        simloop::sleep(ms(2)).await;
        let g = Guard::new(&d);
        let r = simloop::timeout_at(Instant::ZERO + ms(5), async move {
            let _g = g;
            simloop::sleep(ms(10)).await;
        })
        .await;
        assert_eq!(r, Err(Elapsed::default()));
        assert_eq!(l.time(), Instant::ZERO + ms(5));
        assert_eq!(d.get(), 1);

        // Finishing first wins.
        let r = simloop::timeout_at(Instant::ZERO + ms(9), async {
            simloop::sleep(ms(1)).await;
            "ok"
        })
        .await;
        assert_eq!(r, Ok("ok"));
        assert_eq!(l.time(), Instant::ZERO + ms(6));

        // A deadline in the past: a ready future still wins, a pending one times out
        // without the clock moving.
        assert_eq!(simloop::timeout_at(Instant::ZERO, async { 4 }).await, Ok(4));
        let r = simloop::timeout_at(Instant::ZERO + ms(1), simloop::sleep(ms(1))).await;
        assert_eq!(r, Err(Elapsed::default()));
        assert_eq!(l.time(), Instant::ZERO + ms(6));

        // simloop::timeout is wait_for with tokio's argument order.
        let r = simloop::timeout(ms(1), simloop::sleep(ms(2))).await;
        assert!(r.is_err());
        assert_eq!(l.time(), Instant::ZERO + ms(7));
    })
    .unwrap();
    assert_eq!(lp.elapsed(), ms(7));
}

#[test]
fn timeout_at_pending_inner_future_sees_one_poll_per_wake() {
    // The inner future is polled when the timeout starts; at the deadline it is dropped,
    // never polled into completion.
    let lp = fifo();
    let (polls, drops) = counters();
    let (p, d) = (polls.clone(), drops.clone());
    lp.run_until_complete(async move {
        let g = Guard::new(&d);
        let r = simloop::timeout_at(
            Instant::ZERO + ms(4),
            counted(&p, async move {
                let _g = g;
                std::future::pending::<()>().await;
            }),
        )
        .await;
        assert!(r.is_err());
    })
    .unwrap();
    assert_eq!(drops.get(), 1);
    assert!(polls.get() >= 1);
    assert_eq!(lp.elapsed(), ms(4));
}

#[test]
fn poll_fn_counter_sanity() {
    // The helper itself: counts every poll, drops its inner future with itself.
    let (polls, drops) = counters();
    let g = Guard::new(&drops);
    let mut n = 0;
    let f = counted(
        &polls,
        futures::future::poll_fn(move |_| {
            let _ = &g;
            n += 1;
            if n == 3 {
                Poll::Ready(n)
            } else {
                Poll::Pending
            }
        }),
    );
    let mut f = Box::pin(f);
    let w = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&w);
    assert!(f.as_mut().poll(&mut cx).is_pending());
    assert!(f.as_mut().poll(&mut cx).is_pending());
    assert_eq!(f.as_mut().poll(&mut cx), Poll::Ready(3));
    assert_eq!(polls.get(), 3);
    assert_eq!(drops.get(), 0);
    drop(f);
    assert_eq!(drops.get(), 1);
}

/// A future that wakes its own task and completes in the same poll. The wake must not
/// leave a stale step for the finished task in the ready queue (found by the `loop_ops`
/// fuzz target: the loop later tried to run a freed slot).
struct WakeThenReady;

impl std::future::Future for WakeThenReady {
    type Output = u8;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<u8> {
        cx.waker().wake_by_ref();
        std::task::Poll::Ready(7)
    }
}

#[test]
fn a_task_that_wakes_itself_and_completes_leaves_nothing_queued() {
    for seed in [None, Some(1), Some(2), Some(3)] {
        let lp = match seed {
            Some(s) => simloop::EventLoop::builder().seed(s).build(),
            None => fifo(),
        };
        let out = lp
            .run_until_complete(async {
                let mut n = 0;
                for _ in 0..20 {
                    let t = simloop::create_task(WakeThenReady);
                    // A new task can reuse the freed slot right away.
                    let u = simloop::create_task(async {
                        simloop::yield_now().await;
                        1u8
                    });
                    n += t.await.unwrap() + u.await.unwrap();
                }
                // A task that cancels itself, then finishes in the same poll.
                let me = std::rc::Rc::new(std::cell::RefCell::new(None::<simloop::Task<u8>>));
                let m = me.clone();
                let t = simloop::create_task(async move {
                    simloop::yield_now().await;
                    if let Some(t) = m.borrow().as_ref() {
                        t.cancel();
                    }
                    3u8
                });
                *me.borrow_mut() = Some(t);
                simloop::sleep(Duration::from_millis(1)).await;
                let t = me.borrow_mut().take().unwrap();
                n + t.await.unwrap()
            })
            .unwrap();
        assert_eq!(out, 20 * 8 + 3, "seed {seed:?}");
        let trace = lp.trace();
        let text = trace.to_string();
        assert!(!text.contains("poll 1 cancelled"), "{text}");
    }
}

/// Calls back into its loop when dropped (issue 13, defect 5).
struct SpawnOnDrop {
    lp: EventLoop,
    ran: Rc<Cell<u32>>,
}

impl Drop for SpawnOnDrop {
    fn drop(&mut self) {
        let r = self.ran.clone();
        let t = self.lp.create_task(async move { r.set(r.get() + 1) });
        assert!(t.is_cancelled());
        let r = self.ran.clone();
        assert!(self.lp.call_soon(move || r.set(r.get() + 1)).cancelled());
    }
}

/// Issue 13, defect 5: two destructors that spawn into the loop `close()` is closing used
/// to panic ("Event loop is closed"), the second while unwinding, which aborts the whole
/// test binary. Now both calls are refused quietly: nothing panics and nothing runs.
/// (The report's text is checked by a unit test in src/event_loop/close.rs.)
#[test]
fn destructors_spawning_into_a_closing_loop_do_not_abort() {
    let lp = fifo();
    let ran = Rc::new(Cell::new(0));
    let g1 = SpawnOnDrop {
        lp: lp.clone(),
        ran: ran.clone(),
    };
    let g2 = SpawnOnDrop {
        lp: lp.clone(),
        ran: ran.clone(),
    };
    lp.create_task(async move {
        let _guards = (g1, g2);
        std::future::pending::<()>().await;
    });
    lp.run_until_complete(simloop::yield_now()).unwrap();
    lp.close_quietly().unwrap();
    assert_eq!(ran.get(), 0);
    // The refused tasks (3 and 4) are traced as spawned and destroyed, like task 1.
    let text = lp.trace().to_string();
    for line in [
        " destroy 1\n",
        " spawn 3\n",
        " destroy 3\n",
        " spawn 4\n",
        " destroy 4\n",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
}
