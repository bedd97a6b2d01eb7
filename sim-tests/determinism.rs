//! Determinism of whole programs: one "mixed program" (tasks spawning tasks, `yield_now`
//! loops, sleeps with equal deadlines, `call_soon`/`call_later` callbacks, a cancelled
//! `Handle` and `TimerHandle`, a task cancelled mid-sleep, a `gather`, a
//! `futures::channel::mpsc` exchange, a `wait_for` that times out, and a background task
//! destroyed at `close()`) is run under 500 seeds, twice each, and under FIFO twice.
//!
//! Checked: the same seed gives a byte-identical trace and the same log; the seeds really
//! explore different schedules; every trace survives a text round trip (parse, re-render,
//! digest); and every trace obeys the invariants of the trace format (step numbering,
//! monotonic time, spawn-before-poll, nothing polled after it ended, every task ends).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use simloop::{
    create_task, create_task_named, gather, get_running_loop, sleep, wait_for, yield_now,
    EventKind, EventLoop, Fifo, Instant, PollOutcome, Task, TaskError, TaskId, Trace,
};

const SEEDS: u64 = 500;

type Log = Rc<RefCell<Vec<String>>>;

fn now() -> Instant {
    get_running_loop().expect("inside the loop").time()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn say(log: &Log, what: impl AsRef<str>) {
    log.borrow_mut()
        .push(format!("{} {}", now(), what.as_ref()));
}

/// Logs when it is dropped (a cancelled task's future is dropped).
struct DropFlag(Log, &'static str);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.borrow_mut().push(format!("dropped {}", self.1));
    }
}

/// Sleeps `d` and checks that exactly `d` of virtual time passed, whatever the schedule.
async fn exact_sleep(d: Duration) {
    let t0 = now();
    sleep(d).await;
    assert_eq!(now() - t0, d, "sleep({d:?}) woke at the wrong virtual time");
}

async fn mixed_main(log: Log) {
    let lp = get_running_loop().unwrap();
    say(&log, "main start");

    // Callbacks: one plain, one cancelled, two timers with equal deadlines, one cancelled
    // timer, and a timer that schedules a call_soon.
    let l = log.clone();
    lp.call_soon(move || say(&l, "soon A"));
    let l = log.clone();
    let cancelled = lp.call_soon(move || say(&l, "CANCELLED HANDLE RAN"));
    cancelled.cancel();
    assert!(cancelled.cancelled());
    for tag in ["a", "b"] {
        let l = log.clone();
        let th = lp.call_later(ms(5), move || {
            assert_eq!(now(), Instant::ZERO + ms(5));
            say(&l, format!("timer 5ms {tag}"));
        });
        assert_eq!(th.when(), Instant::ZERO + ms(5));
    }
    let l = log.clone();
    let cancelled_timer = lp.call_later(ms(4), move || say(&l, "CANCELLED TIMER RAN"));
    cancelled_timer.cancel();
    assert!(cancelled_timer.cancelled());
    let (l, lp2) = (log.clone(), lp.clone());
    lp.call_later(ms(2), move || {
        say(&l, "timer 2ms");
        let l = l.clone();
        lp2.call_soon(move || say(&l, "soon from timer"));
    });

    // A background task nobody awaits: still pending when the loop is closed.
    let l = log.clone();
    drop(create_task_named("background", async move {
        let _flag = DropFlag(l.clone(), "background");
        loop {
            sleep(Duration::from_secs(1)).await;
            say(&l, "background tick");
        }
    }));

    // A yield_now loop.
    let l = log.clone();
    let yielder = create_task_named("yielder", async move {
        for i in 0..4 {
            say(&l, format!("yield {i}"));
            yield_now().await;
        }
        4u64
    });

    // Sleeps of varied durations, two with the same deadline, one of zero.
    let sleepers: Vec<Task<u64>> = [3u64, 1, 2, 2, 0]
        .into_iter()
        .map(|d| {
            let l = log.clone();
            create_task(async move {
                exact_sleep(ms(d)).await;
                say(&l, format!("slept {d}ms"));
                d
            })
        })
        .collect();

    // Tasks that spawn tasks that spawn tasks.
    let l = log.clone();
    let tree = create_task_named("tree", async move {
        let kids: Vec<Task<u64>> = (1..=2u64)
            .map(|k| {
                let l = l.clone();
                create_task(async move {
                    let l2 = l.clone();
                    let grandchild = create_task(async move {
                        yield_now().await;
                        exact_sleep(ms(1)).await;
                        say(&l2, format!("grandchild {k}"));
                        k * 10
                    });
                    yield_now().await;
                    grandchild.await.unwrap() + k
                })
            })
            .collect();
        let mut sum = 0;
        for kid in kids {
            sum += kid.await.unwrap();
        }
        sum
    });

    // A task that will be cancelled in the middle of a long sleep.
    let l = log.clone();
    let victim = create_task_named("victim", async move {
        let _flag = DropFlag(l.clone(), "victim");
        sleep(ms(100)).await;
        say(&l, "VICTIM WOKE");
    });

    // A request/reply exchange over two bounded mpsc channels.
    let (mut tx, mut rx) = mpsc::channel::<u64>(1);
    let (mut reply_tx, mut reply_rx) = mpsc::channel::<u64>(1);
    let l = log.clone();
    let producer = create_task_named("producer", async move {
        for i in 0..5u64 {
            tx.send(i).await.unwrap();
            let r = reply_rx.next().await.unwrap();
            assert_eq!(r, i * i);
            say(&l, format!("reply {r}"));
        }
    });
    let l = log.clone();
    let consumer = create_task_named("consumer", async move {
        let mut n = 0;
        while let Some(v) = rx.next().await {
            say(&l, format!("got {v}"));
            reply_tx.send(v * v).await.unwrap();
            n += 1;
        }
        n
    });

    // A gather: results in input order whatever the completion order.
    let l = log.clone();
    let got = gather([3u64, 1, 2].map(|d| {
        let l = l.clone();
        async move {
            exact_sleep(ms(d)).await;
            say(&l, format!("gather child {d}"));
            d * 100
        }
    }))
    .await;
    assert_eq!(got, vec![300, 100, 200]);
    assert_eq!(now(), Instant::ZERO + ms(3));

    // Cancel the victim mid-sleep.
    assert!(victim.cancel());
    assert!(matches!(victim.await, Err(TaskError::Cancelled)));
    say(&log, "victim cancelled");

    // A wait_for that times out: the inner sleep is dropped at the deadline.
    let r = wait_for(sleep(ms(50)), ms(10)).await;
    assert!(r.is_err());
    assert_eq!(now(), Instant::ZERO + ms(13));
    say(&log, "wait_for timed out");

    assert_eq!(yielder.await.unwrap(), 4);
    let mut slept = Vec::new();
    for s in sleepers {
        slept.push(s.await.unwrap());
    }
    assert_eq!(slept, vec![3, 1, 2, 2, 0]);
    assert_eq!(tree.await.unwrap(), 11 + 22);
    producer.await.unwrap();
    assert_eq!(consumer.await.unwrap(), 5);
    say(&log, "main end");
}

/// Runs the mixed program on `lp`, closes the loop, and returns the log and the trace.
fn run_mixed(lp: EventLoop) -> (Vec<String>, Trace) {
    let log: Log = Rc::new(RefCell::new(Vec::new()));
    lp.run_until_complete(mixed_main(log.clone())).unwrap();
    // The clock never reached the cancelled 100 ms sleep or the background task's 1 s.
    assert_eq!(lp.time(), Instant::ZERO + ms(13));
    lp.close().unwrap();
    let trace = lp.trace();
    assert_eq!(trace.steps(), lp.steps());
    assert_eq!(trace.end_time(), lp.time());
    let log = log.borrow().clone();
    for bad in ["CANCELLED HANDLE RAN", "CANCELLED TIMER RAN", "VICTIM WOKE"] {
        assert!(!log.iter().any(|e| e.contains(bad)), "{bad}: {log:#?}");
    }
    for needed in [
        "soon A",
        "timer 2ms",
        "soon from timer",
        "timer 5ms a",
        "timer 5ms b",
        "dropped victim",
        "dropped background",
        "wait_for timed out",
        "main end",
    ] {
        assert!(
            log.iter().any(|e| e.ends_with(needed)),
            "{needed}: {log:#?}"
        );
    }
    (log, trace)
}

/// The mixed program under `Random` seeded with `seed`: (log, trace text).
fn mixed_program(seed: u64) -> (Vec<String>, String) {
    let (log, trace) = run_mixed(EventLoop::builder().seed(seed).build());
    (log, trace.to_string())
}

/// Parses `text`, re-renders it, and compares the digest with the original's.
fn check_round_trip(text: &str) -> Trace {
    let parsed: Trace = text
        .parse()
        .unwrap_or_else(|e| panic!("trace does not parse: {e}\n{text}"));
    assert_eq!(parsed.to_string(), text, "re-rendering changed the trace");
    parsed
}

/// The invariants every finished, closed trace must satisfy.
fn check_invariants(trace: &Trace) {
    let text = trace.to_string();
    let mut last_step = 0u64;
    let mut last_time = Instant::ZERO;
    let mut spawned = BTreeSet::new();
    let mut ended: BTreeMap<TaskId, &'static str> = BTreeMap::new();
    let mut n_steps = 0u64;
    for (i, ev) in trace.events().enumerate() {
        let ctx = || format!("event {i} ({ev:?}) in\n{text}");
        assert!(ev.step >= last_step, "step went backwards: {}", ctx());
        if ev.kind.is_step() {
            n_steps += 1;
            assert_eq!(
                ev.step,
                last_step + 1,
                "steps are numbered 1, 2, ...: {}",
                ctx()
            );
        } else {
            assert_eq!(
                ev.step,
                last_step,
                "a non-step keeps the step number: {}",
                ctx()
            );
        }
        assert!(ev.time >= last_time, "time went backwards: {}", ctx());
        last_step = ev.step;
        last_time = ev.time;
        match ev.kind {
            EventKind::Spawn { task } => {
                assert!(spawned.insert(task), "spawned twice: {}", ctx());
            }
            EventKind::Poll { task, outcome } => {
                assert!(spawned.contains(&task), "polled before spawn: {}", ctx());
                if let Some(how) = ended.get(&task) {
                    panic!("polled after it ended ({how}): {}", ctx());
                }
                match outcome {
                    PollOutcome::Pending => {}
                    PollOutcome::Ready => {
                        ended.insert(task, "ready");
                    }
                    PollOutcome::Panicked => {
                        ended.insert(task, "panicked");
                    }
                    PollOutcome::Cancelled => {
                        ended.insert(task, "cancelled");
                    }
                }
            }
            EventKind::Wake { task } | EventKind::Cancel { task } => {
                assert!(
                    spawned.contains(&task),
                    "woken/cancelled before spawn: {}",
                    ctx()
                );
            }
            EventKind::Destroy { task } => {
                assert!(spawned.contains(&task), "destroyed before spawn: {}", ctx());
                assert!(
                    ended.insert(task, "destroyed").is_none(),
                    "destroyed a task that had ended: {}",
                    ctx()
                );
            }
            EventKind::Clock { to } => assert_eq!(to, ev.time),
            _ => {}
        }
    }
    assert_eq!(n_steps, trace.steps());
    assert_eq!(last_time, trace.end_time());
    let unfinished: Vec<_> = spawned
        .difference(&ended.keys().copied().collect())
        .copied()
        .collect();
    assert!(
        unfinished.is_empty(),
        "tasks that never ended: {unfinished:?}\n{text}"
    );
    // The background task is the one task destroyed by close().
    assert_eq!(
        ended.values().filter(|how| **how == "destroyed").count(),
        1,
        "{text}"
    );
}

#[test]
fn same_seed_same_trace_and_log_under_500_seeds() {
    let mut distinct = BTreeSet::new();
    let mut logs = BTreeSet::new();
    for seed in 0..SEEDS {
        let (log1, trace1) = run_mixed(EventLoop::builder().seed(seed).build());
        let (log2, text2) = mixed_program(seed);
        let text1 = trace1.to_string();
        if text1 != text2 {
            let b: Trace = text2.parse().unwrap();
            panic!(
                "seed {seed}: two runs differ at event {:?}",
                trace1.first_difference(&b)
            );
        }
        assert_eq!(log1, log2, "seed {seed}: logs differ");
        assert!(
            text1.starts_with(&format!("simloop-trace v1 policy=random seed={seed}\n")),
            "{text1}"
        );

        // Round trip: parse, re-render, same digest and events.
        for text in [&text1, &text2] {
            let parsed = check_round_trip(text);
            assert_eq!(parsed.digest(), trace1.digest(), "seed {seed}");
            assert_eq!(parsed.steps(), trace1.steps(), "seed {seed}");
            assert_eq!(parsed.end_time(), trace1.end_time(), "seed {seed}");
            assert_eq!(parsed.seed(), Some(seed));
            assert_eq!(parsed.policy(), "random");
            let victim = task_named(&parsed, "victim");
            assert_eq!(parsed.task_name(victim), Some("victim"));
            assert!(
                parsed.events().eq(trace1.events()),
                "seed {seed}: events differ"
            );
            check_invariants(&parsed);
        }
        check_invariants(&trace1);

        distinct.insert(trace1.digest());
        logs.insert(log1);
    }
    eprintln!(
        "{} distinct schedules, {} distinct logs",
        distinct.len(),
        logs.len()
    );
    assert!(
        distinct.len() >= 50,
        "only {} distinct schedules in {SEEDS} seeds",
        distinct.len()
    );
    // The seeds change the observable interleaving too, not only the trace.
    assert!(logs.len() >= 50, "only {} distinct logs", logs.len());
}

fn fifo_loop() -> EventLoop {
    EventLoop::builder().policy(Fifo).build()
}

#[test]
fn fifo_is_identical_twice() {
    let (log1, t1) = run_mixed(fifo_loop());
    let (log2, t2) = run_mixed(fifo_loop());
    let (text1, text2) = (t1.to_string(), t2.to_string());
    assert_eq!(text1, text2);
    assert_eq!(log1, log2);
    assert_eq!(t1.digest(), t2.digest());
    assert!(
        text1.starts_with("simloop-trace v1 policy=fifo seed=none\n"),
        "{text1}"
    );
    // FIFO is also what a builder without seed or policy gives.
    let (log3, t3) = run_mixed(EventLoop::builder().build());
    assert_eq!(t3.to_string(), text1);
    assert_eq!(log3, log1);
    let parsed = check_round_trip(&text1);
    assert_eq!(parsed.digest(), t1.digest());
    check_invariants(&t1);
}

#[test]
fn fifo_log_follows_asyncio_order() {
    let (log, _) = run_mixed(fifo_loop());
    // Main's first step runs first; "soon A" was queued before any task's first step.
    assert_eq!(log[0], "0.000000000s main start");
    assert_eq!(log[1], "0.000000000s soon A");
    assert_eq!(log[2], "0.000000000s yield 0");
    // Equal deadlines fire in registration order.
    let a = log.iter().position(|e| e.ends_with("timer 5ms a")).unwrap();
    let b = log.iter().position(|e| e.ends_with("timer 5ms b")).unwrap();
    assert!(a < b, "{log:#?}");
}

/// The id of the task spawned with `name`.
fn task_named(trace: &Trace, name: &str) -> TaskId {
    trace
        .events()
        .find_map(|e| match e.kind {
            EventKind::Spawn { task } if trace.task_name(task) == Some(name) => Some(task),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no task named {name}"))
}

/// The mixed program under `policy`: (log, trace text).
fn mixed_under(policy: Box<dyn simloop::Policy>) -> (Vec<String>, String) {
    let (log, trace) = run_mixed(EventLoop::builder().policy(policy).build());
    check_invariants(&trace);
    (log, trace.to_string())
}

#[test]
fn swarm_pct_at_the_ends_and_the_portfolio_are_deterministic_under_300_seeds() {
    type Make = fn(u64) -> Box<dyn simloop::Policy>;
    let makers: [(&str, Make); 4] = [
        ("swarm", |s| Box::new(simloop::Swarm::new(s))),
        ("pct2e", |s| {
            Box::new(simloop::Pct::with_steps(s, 2, 80).at_ends())
        }),
        ("pct3e", |s| {
            Box::new(simloop::Pct::with_steps(s, 3, 80).at_ends())
        }),
        ("portfolio", |s| simloop::Portfolio::with_steps(80).pick(s)),
    ];
    for (name, make) in makers {
        let mut distinct = BTreeSet::new();
        for seed in 0..300 {
            let (log1, text1) = mixed_under(make(seed));
            let (log2, text2) = mixed_under(make(seed));
            if text1 != text2 {
                let a: Trace = text1.parse().unwrap();
                let b: Trace = text2.parse().unwrap();
                panic!(
                    "{name} seed {seed}: two runs differ at event {:?}",
                    a.first_difference(&b)
                );
            }
            assert_eq!(log1, log2, "{name} seed {seed}: logs differ");
            let parsed = check_round_trip(&text1);
            assert_eq!(parsed.seed(), Some(seed), "{name}");
            if name != "portfolio" {
                assert_eq!(parsed.policy(), name);
            }
            distinct.insert(parsed.digest());
        }
        assert!(
            distinct.len() >= 50,
            "{name}: only {} distinct schedules in 300 seeds",
            distinct.len()
        );
    }
}
