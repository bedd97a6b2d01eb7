//! Snapshot tests (insta) of text users read: the full trace of a small program under FIFO
//! and under `Random` seed 3, the deadlock error of two named tasks waiting on each other's
//! oneshot channels (`{}` and `{:#}`), and the step-limit error.
//!
//! The snapshots live in `sim-tests/snapshots/`. A change to the trace format or to an
//! error text shows up here as a diff; accept it with `cargo insta review` only if the
//! CHANGELOG says the format changed.

#[path = "support/normalize.rs"]
mod normalize;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use simloop::{
    create_task_named, get_running_loop, sleep, yield_now, EventLoop, Fifo, LoopError, TaskError,
};

/// Two named tasks, a sleep, a callback and a cancel. Returns the trace text and a log.
fn small_program(lp: EventLoop) -> (String, Vec<String>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    lp.run_until_complete(async move {
        let lp = get_running_loop().unwrap();
        let l2 = l.clone();
        lp.call_soon(move || l2.borrow_mut().push("callback".to_owned()));
        let l2 = l.clone();
        let worker = create_task_named("worker", async move {
            yield_now().await;
            sleep(Duration::from_millis(2)).await;
            l2.borrow_mut().push("worker done".to_owned());
            7
        });
        let l2 = l.clone();
        let sleeper = create_task_named("sleeper", async move {
            sleep(Duration::from_secs(60)).await;
            l2.borrow_mut().push("SLEEPER WOKE".to_owned());
        });
        sleep(Duration::from_millis(1)).await;
        assert!(sleeper.cancel());
        assert!(matches!(sleeper.await, Err(TaskError::Cancelled)));
        assert_eq!(worker.await.unwrap(), 7);
    })
    .unwrap();
    assert_eq!(lp.elapsed(), Duration::from_millis(2));
    lp.close().unwrap();
    let log = log.borrow().clone();
    (lp.trace().to_string(), log)
}

#[test]
fn trace_of_small_program_under_fifo() {
    let (text, log) = small_program(EventLoop::builder().policy(Fifo).build());
    assert_eq!(log, ["callback", "worker done"]);
    insta::assert_snapshot!("small_program_fifo", text);
}

#[test]
fn trace_of_small_program_under_random_seed_3() {
    let (text, log) = small_program(EventLoop::builder().seed(3).build());
    assert!(log.contains(&"worker done".to_owned()), "{log:?}");
    assert!(!log.contains(&"SLEEPER WOKE".to_owned()), "{log:?}");
    insta::assert_snapshot!("small_program_random_seed_3", text);
}

fn deadlock_error() -> LoopError {
    let lp = EventLoop::builder().policy(Fifo).build();
    let err = lp
        .run_until_complete(async {
            let (to_alice, from_bob) = oneshot::channel::<u32>();
            let (to_bob, from_alice) = oneshot::channel::<u32>();
            // Each waits for the other's message before sending its own.
            let alice = create_task_named("alice", async move {
                let v = from_bob.await.unwrap();
                to_bob.send(v + 1).unwrap();
            });
            let bob = create_task_named("bob", async move {
                let v = from_alice.await.unwrap();
                to_alice.send(v + 1).unwrap();
            });
            alice.await.unwrap();
            bob.await.unwrap();
        })
        .unwrap_err();
    lp.close().unwrap();
    err
}

#[test]
fn deadlock_error_display() {
    let err = deadlock_error();
    assert!(matches!(err, LoopError::Deadlock { .. }), "{err:?}");
    let plain = err.to_string();
    assert!(plain.starts_with("deadlock:"), "{plain}");
    assert!(plain.contains("alice") && plain.contains("bob"), "{plain}");
    // Line numbers of this file become `[LINE]`, so editing it does not change snapshots.
    insta::assert_snapshot!("deadlock_display", without_line_numbers_in(&plain));
    insta::assert_snapshot!(
        "deadlock_display_alternate",
        without_line_numbers_in(&format!("{err:#}"))
    );
}

#[test]
fn step_limit_error_display() {
    let lp = EventLoop::builder().policy(Fifo).max_steps(100).build();
    let err = lp
        .run_until_complete(async {
            loop {
                sleep(Duration::from_millis(1)).await;
            }
        })
        .unwrap_err();
    assert!(
        matches!(err, LoopError::StepLimit { limit: 100, .. }),
        "{err:?}"
    );
    let plain = err.to_string();
    assert!(
        plain.contains("step limit") && plain.contains("100"),
        "{plain}"
    );
    insta::assert_snapshot!("step_limit_display", plain);
    insta::assert_snapshot!("step_limit_display_alternate", format!("{err:#}"));
}

/// `text` with this file's line numbers replaced by `[LINE]`.
fn without_line_numbers_in(text: &str) -> String {
    normalize::without_line_numbers(text, "sim-tests/snapshots.rs:")
}
