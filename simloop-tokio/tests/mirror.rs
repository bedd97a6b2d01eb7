//! The mirror's own behaviour, beyond parity with tokio: every choice (task order,
//! timers due in the same millisecond, `select!`'s first branch) goes through simloop's
//! policy — recorded, replayed, swept — and bad use gets a clear error.
//!
//! This file switches `tokio` to the mirror exactly as users do; real tokio, which is
//! also a dependency of this package, stays reachable as `real_tokio` (an `extern crate`
//! of its own, which names the crate, not the shadowed `tokio` path) for the tests that
//! call it on purpose.

extern crate simloop_tokio as tokio;
extern crate tokio as real_tokio;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// A tokio program with every kind of choice: spawned tasks, timers of one tick, a
/// `select!` over ready branches, a `JoinSet`, an `mpsc` channel. Returns what it saw.
async fn busy_program() -> Vec<String> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut set = tokio::task::JoinSet::new();
    for (i, d) in [1200_u64, 1700, 1900].into_iter().enumerate() {
        let log = log.clone();
        set.spawn(async move {
            tokio::time::sleep(us(d)).await;
            log.lock().unwrap().push(format!("t{i}"));
            i
        });
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    for i in 0..2 {
        let tx = tx.clone();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send(i).await.unwrap();
        });
    }
    drop(tx);
    let mut picks = Vec::new();
    for _ in 0..4 {
        tokio::select! {
            a = std::future::ready(1) => picks.push(a),
            b = std::future::ready(2) => picks.push(b),
        }
    }
    let mut got = Vec::new();
    while let Some(v) = rx.recv().await {
        got.push(v);
    }
    let mut order = Vec::new();
    while let Some(r) = set.join_next().await {
        order.push(r.unwrap());
    }
    let mut out = log.lock().unwrap().clone();
    out.push(format!("{picks:?} {got:?} {order:?}"));
    out
}

/// Runs `busy_program` on a loop under `Random(seed)`: its result and trace.
fn run_seeded(seed: u64) -> (Vec<String>, String) {
    let lp = simloop::EventLoop::builder().seed(seed).build();
    let out = lp.block_on(busy_program()).unwrap();
    (out, lp.trace().to_string())
}

#[test]
fn every_choice_replays_the_same_under_many_seeds() {
    let mut outcomes = BTreeSet::new();
    for seed in 0..60 {
        let (a, ta) = run_seeded(seed);
        let (b, tb) = run_seeded(seed);
        assert_eq!(a, b, "seed {seed}: same result");
        assert_eq!(ta, tb, "seed {seed}: byte-identical trace");
        outcomes.insert(a);
    }
    assert!(
        outcomes.len() > 5,
        "the seeds explore different orders: {outcomes:?}"
    );
}

/// Three tasks sleeping 1.9, 1.1 and 1.5 ms: all due at tick 2. Returns wake order.
async fn one_tick_sleepers() -> Vec<usize> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut hs = Vec::new();
    for (i, d) in [1900_u64, 1100, 1500].into_iter().enumerate() {
        let log = log.clone();
        hs.push(tokio::spawn(async move {
            tokio::time::sleep(us(d)).await;
            log.lock().unwrap().push(i);
        }));
    }
    for h in hs {
        h.await.unwrap();
    }
    let v = log.lock().unwrap().clone();
    v
}

#[test]
fn timers_due_in_one_millisecond_fire_in_the_policys_order() {
    let mut orders = BTreeSet::new();
    for seed in 0..40 {
        let lp = simloop::EventLoop::builder().seed(seed).build();
        orders.insert(lp.block_on(one_tick_sleepers()).unwrap());
        assert_eq!(lp.elapsed(), ms(2), "all wake at the tick");
    }
    assert!(orders.len() >= 3, "ties are choices: {orders:?}");
    // FIFO: registration order, as tokio.
    let lp = simloop::EventLoop::builder().build();
    assert_eq!(lp.block_on(one_tick_sleepers()).unwrap(), [0, 1, 2]);
}

#[test]
fn select_first_branch_is_a_recorded_choice_and_fair_under_fifo() {
    async fn picks() -> Vec<u8> {
        let mut v = Vec::new();
        for _ in 0..6 {
            tokio::select! {
                a = std::future::ready(0) => v.push(a),
                b = std::future::ready(1) => v.push(b),
                c = std::future::ready(2) => v.push(c),
            }
        }
        v
    }
    let fifo = simloop::EventLoop::builder().build();
    assert_eq!(
        fifo.block_on(picks()).unwrap(),
        [0, 1, 2, 0, 1, 2],
        "a rotation"
    );
    let mut seen = BTreeSet::new();
    for seed in 0..20 {
        let lp = simloop::EventLoop::builder().seed(seed).build();
        let v = lp.block_on(picks()).unwrap();
        let trace = lp.trace().to_string();
        assert!(trace.contains(" choose 3 "), "recorded: {trace}");
        let again = simloop::EventLoop::builder().seed(seed).build();
        assert_eq!(again.block_on(picks()).unwrap(), v, "replays");
        seen.insert(v);
    }
    assert!(seen.len() > 10, "the policy picks: {seen:?}");
    // `biased;` makes no choice.
    let lp = simloop::EventLoop::builder().seed(3).build();
    lp.block_on(async {
        for _ in 0..3 {
            let v = tokio::select! {
                biased;
                a = std::future::ready(0) => a,
                b = std::future::ready(1) => b,
            };
            assert_eq!(v, 0);
        }
    })
    .unwrap();
    assert!(!lp.trace().to_string().contains(" choose "));
}

/// Two tokio tasks each read a shared counter, wait 1 ms, and write it back + 1.
async fn lost_update() -> Result<(), String> {
    let n = Arc::new(Mutex::new(0));
    let mut hs = Vec::new();
    for _ in 0..2 {
        let n = n.clone();
        hs.push(tokio::spawn(async move {
            let v = *n.lock().unwrap();
            tokio::task::yield_now().await;
            *n.lock().unwrap() = v + 1;
        }));
    }
    for h in hs {
        h.await.map_err(|e| e.to_string())?;
    }
    let v = *n.lock().unwrap();
    if v == 2 {
        Ok(())
    } else {
        Err(format!("lost an update: counter is {v}"))
    }
}

#[test]
fn a_sweep_finds_a_tokio_interleaving_bug_names_its_tasks_and_replays_it() {
    let dir = std::env::temp_dir().join("simloop-tokio-mirror-tests");
    let f = simloop::Builder::new()
        .name("lost_update")
        .seeds(0..100)
        .trace_dir(&dir)
        .try_check(lost_update)
        .unwrap_err();
    assert!(f.message.contains("lost an update"), "{}", f.message);
    assert!(
        f.replay_command.starts_with("SIMLOOP_SEED="),
        "{}",
        f.replay_command
    );
    let report = f.to_string();
    assert!(
        report.contains("spawn@simloop-tokio/tests/mirror.rs:"),
        "tasks are named after their spawn site: {report}"
    );
    // The recorded trace replays the same failure.
    let again = simloop::Builder::new()
        .name("lost_update")
        .trace_dir(&dir)
        .replay(f.trace.clone())
        .try_check(lost_update)
        .unwrap_err();
    assert_eq!(again.message, f.message);
}

#[test]
fn exhaustive_search_and_fuzzer_schedules_drive_tokio_code_too() {
    let dir = std::env::temp_dir().join("simloop-tokio-mirror-tests");
    let f = simloop::Builder::new()
        .name("lost_update_explore")
        .trace_dir(&dir)
        .try_check_all(lost_update)
        .unwrap_err();
    assert!(f.message.contains("lost an update"), "{}", f.message);
    let found = (0_u8..64).any(|b| {
        simloop::Builder::new()
            .name("lost_update_fuzz")
            .trace_dir(&dir)
            .shrink(false)
            .try_fuzz_check(&[b, b.wrapping_mul(37), 0x5a, b ^ 0xff], lost_update)
            .is_err()
    });
    assert!(found, "some fuzzer input schedules the bug");
}

// `#[tokio::test]` under the alias is a sweep: the bug FIFO hides is found and reported
// with its replay line.
#[tokio::test]
#[should_panic(expected = "SIMLOOP_SEED=")]
async fn tokio_test_under_the_alias_sweeps_and_reports() -> Result<(), String> {
    lost_update().await
}

#[tokio::test(flavor = "local")]
async fn the_local_flavor_allows_spawn_local() {
    let shared = Rc::new(RefCell::new(0));
    let s = shared.clone();
    tokio::task::spawn_local(async move { *s.borrow_mut() += 1 })
        .await
        .unwrap();
    assert_eq!(*shared.borrow(), 1);
}

#[tokio::test(start_paused = true)]
async fn resume_keeps_time_virtual() {
    tokio::time::resume();
    let t = tokio::time::Instant::now();
    std::thread::sleep(ms(2));
    assert_eq!(
        t.elapsed(),
        Duration::ZERO,
        "no real time enters a simulation"
    );
    tokio::time::sleep(ms(5)).await;
    assert_eq!(t.elapsed(), ms(5), "an idle run still jumps to its timer");
}

#[test]
fn the_mirror_works_inside_simloop_check() {
    simloop::Builder::new().seeds(0..20).check(|| async {
        let start = tokio::time::Instant::now();
        let h = tokio::spawn(async {
            tokio::time::sleep(ms(3)).await;
            7
        });
        assert_eq!(h.await.unwrap(), 7);
        assert_eq!(start.elapsed(), ms(3));
    });
}

#[test]
fn real_tokio_inside_a_simulation_is_named_as_the_cause() {
    let f = simloop::Builder::new()
        .name("real_tokio_inside")
        .seeds(0..1)
        .trace_dir(std::env::temp_dir().join("simloop-tokio-mirror-tests"))
        .try_check(|| async {
            // A dependency built against real tokio would do this.
            drop(real_tokio::spawn(async {}));
        })
        .unwrap_err();
    assert!(
        f.message.contains("there is no reactor running"),
        "{}",
        f.message
    );
    assert_eq!(f.hints.len(), 1);
    assert!(f.hints[0].contains("real tokio's runtime was called inside the simulation"));
}

#[test]
fn a_simulation_inside_a_real_tokio_runtime_is_refused() {
    let real = real_tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        real.block_on(async {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(async {});
        })
    }));
    let msg = panic_text(r.unwrap_err());
    assert!(
        msg.contains("a simulated runtime was started inside a real tokio runtime"),
        "{msg}"
    );
    // Also a plain simloop loop whose code first touches the mirror.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        real.block_on(async {
            let lp = simloop::new_event_loop();
            lp.block_on(async { drop(tokio::spawn(async {})) })
        })
    }));
    let msg = panic_text(r.unwrap_err());
    assert!(
        msg.contains("a simulated runtime was started inside a real tokio runtime"),
        "{msg}"
    );
}

#[test]
fn the_mirror_outside_a_simulation_panics_with_tokios_text() {
    let r = std::panic::catch_unwind(|| drop(tokio::spawn(async {})));
    assert_eq!(
        panic_text(r.unwrap_err()),
        "there is no reactor running, must be called from the context of a Tokio 1.x runtime"
    );
}

#[test]
fn io_that_is_not_simulated_fails_with_a_message_naming_it() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let e = tokio::fs::read("Cargo.toml").await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
        assert!(
            e.to_string()
                .starts_with("tokio::fs::read is not simulated by simloop-tokio"),
            "{e}"
        );
        let e = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_err();
        assert!(e
            .to_string()
            .starts_with("tokio::net::TcpListener::bind is not simulated"));
        let e = tokio::signal::ctrl_c().await.unwrap_err();
        assert!(e
            .to_string()
            .starts_with("tokio::signal::ctrl_c is not simulated"));
        let e = tokio::process::Command::new("ls").spawn().unwrap_err();
        assert!(e
            .to_string()
            .starts_with("tokio::process::Command::spawn is not simulated"));
    });
}

#[test]
fn a_deadlocked_block_on_is_reported_instead_of_hanging() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
            let _ = rx.await;
        })
    }));
    let msg = panic_text(r.unwrap_err());
    assert!(
        msg.starts_with("simloop-tokio: the simulated runtime failed: deadlock"),
        "{msg}"
    );
}

#[test]
fn a_handle_kept_past_its_runtime_says_so() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let h = rt.spawn(std::future::pending::<()>());
    drop(rt);
    let rt2 = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt2.block_on(h)));
    let msg = panic_text(r.unwrap_err());
    assert!(
        msg.contains("this task's handle was used after its runtime ended"),
        "{msg}"
    );
}

#[test]
fn runtime_new_has_timers() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let took = rt.block_on(async {
        let t = tokio::time::Instant::now();
        tokio::time::sleep(ms(7)).await;
        t.elapsed()
    });
    assert_eq!(took, ms(7));
}

#[test]
fn timers_need_enable_time_as_in_tokio() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { tokio::time::sleep(ms(1)).await })
    }));
    assert!(panic_text(r.unwrap_err())
        .starts_with("A Tokio 1.x context was found, but timers are disabled."));
}

/// The alias at the crate root reaches submodules too: `use tokio::…` and `tokio::…`
/// paths, macros and attributes there are the mirror's (checked by type at compile time
/// and by behaviour when run).
mod resolution {
    use tokio::time::Instant;

    fn is_the_mirrors(_: simloop_tokio::time::Instant, _: &simloop_tokio::task::JoinHandle<u8>) {}

    #[tokio::test]
    async fn submodule_paths_macros_and_attributes_resolve_to_the_mirror() {
        // Absolute paths too: the alias is in the extern prelude.
        let _: simloop_tokio::time::Instant = ::tokio::time::Instant::now();
        let h = tokio::spawn(async { 1_u8 });
        is_the_mirrors(Instant::now(), &h);
        let (a, b) = tokio::join!(h, async { 2_u8 });
        let c = tokio::select! { v = async { 3_u8 } => v };
        assert_eq!((a.unwrap(), b, c), (1, 2, 3));
        assert!(
            simloop::get_running_loop().is_ok(),
            "the body runs on a simloop loop, not on tokio"
        );
    }
}

/// Eight receivers wait on one `watch` channel; one send wakes them. Real tokio files
/// them under random wait lists, so the order would differ from run to run; the
/// mirror's `watch` wakes them in the order they waited.
async fn watch_wake_order() -> Vec<usize> {
    let (tx, rx) = tokio::sync::watch::channel(0);
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut hs = Vec::new();
    for i in 0..8 {
        let mut rx = rx.clone();
        let log = log.clone();
        hs.push(tokio::spawn(async move {
            rx.changed().await.unwrap();
            log.lock().unwrap().push(i);
            assert_eq!(*rx.borrow(), 1);
        }));
    }
    tokio::task::yield_now().await;
    tx.send(1).unwrap();
    for h in hs {
        h.await.unwrap();
    }
    let v = log.lock().unwrap().clone();
    v
}

#[test]
fn watch_wakes_receivers_in_a_deterministic_order() {
    let fifo = simloop::EventLoop::builder().build();
    assert_eq!(
        fifo.block_on(watch_wake_order()).unwrap(),
        (0..8).collect::<Vec<_>>()
    );
    for seed in 0..30 {
        let a = simloop::EventLoop::builder().seed(seed).build();
        let b = simloop::EventLoop::builder().seed(seed).build();
        assert_eq!(
            a.block_on(watch_wake_order()).unwrap(),
            b.block_on(watch_wake_order()).unwrap()
        );
        assert_eq!(a.trace().to_string(), b.trace().to_string());
    }
    // `wait_for`, closing, and an unseen value after the close.
    let lp = simloop::EventLoop::builder().build();
    lp.block_on(async {
        let (tx, mut rx) = tokio::sync::watch::channel(0);
        let waiter = tokio::spawn(async move {
            let v = *rx.wait_for(|v| *v >= 2).await.unwrap();
            (v, rx)
        });
        for v in 1..=3 {
            tx.send(v).unwrap();
            tokio::task::yield_now().await;
        }
        let (v, mut rx) = waiter.await.unwrap();
        assert_eq!(v, 2);
        tx.send(4).unwrap();
        drop(tx);
        assert!(
            rx.changed().await.is_ok(),
            "an unseen value survives the close"
        );
        assert!(rx.changed().await.is_err(), "then the close is seen");
    })
    .unwrap();
}
