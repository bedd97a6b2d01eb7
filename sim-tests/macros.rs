//! `#[simloop::test]` (the `simloop-macros` crate, re-exported behind the default `macros`
//! feature): an `async fn` becomes a `#[test]` that sweeps its body like `simloop::check`.
//!
//! Covered: a passing body; a body returning `Result` that uses `?`; a lost-update bug
//! that the sweep finds, with `#[should_panic(expected = …)]` written after the attribute
//! (and one written before it); the body runs once per seed of the sweep (`0..1000` by
//! default); `crate = "path"` for a renamed simloop.
//!
//! These tests read the process environment as `simloop::check` does (`SIMLOOP_SEEDS`,
//! `SIMLOOP_SEED`…), and failing seeds write their traces under `target/simloop/`.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The lost-update bug of the crate docs: read, yield, write back.
async fn two_increments() -> u32 {
    let n = Rc::new(Cell::new(0));
    let bump = |n: Rc<Cell<u32>>| async move {
        let v = n.get();
        simloop::yield_now().await;
        n.set(v + 1);
    };
    simloop::gather([bump(n.clone()), bump(n.clone())]).await;
    n.get()
}

#[simloop::test]
async fn a_passing_body_passes() {
    let t = simloop::create_task(async {
        simloop::sleep(Duration::from_millis(5)).await;
        6 * 7
    });
    let start = simloop::get_running_loop().unwrap().time();
    assert_eq!(t.await.unwrap(), 42);
    let lp = simloop::get_running_loop().unwrap();
    assert_eq!(lp.time() - start, Duration::from_millis(5));
}

#[simloop::test]
async fn a_result_body_may_use_the_question_mark() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "7".parse()?;
    simloop::yield_now().await;
    assert_eq!(n, 7);
    Ok(())
}

#[simloop::test]
#[should_panic(expected = "SIMLOOP_SEED=")]
async fn the_sweep_finds_a_lost_update() {
    assert_eq!(two_increments().await, 2, "lost an update");
}

#[should_panic(expected = "SIMLOOP_SEED=")]
#[simloop::test]
async fn the_sweep_finds_a_lost_update_reported_as_err() -> Result<(), String> {
    match two_increments().await {
        2 => Ok(()),
        n => Err(format!("lost an update: the counter is {n}")),
    }
}

static SEEDS_RUN: AtomicUsize = AtomicUsize::new(0);

/// Run by `the_body_runs_once_per_seed`, not by the harness (which would race on the
/// counter).
#[simloop::test]
#[ignore = "called by the_body_runs_once_per_seed"]
async fn counts_its_runs() {
    SEEDS_RUN.fetch_add(1, Ordering::SeqCst);
    simloop::yield_now().await;
}

#[test]
fn the_body_runs_once_per_seed() {
    counts_its_runs();
    let runs = SEEDS_RUN.load(Ordering::SeqCst);
    let env_set = [
        "SIMLOOP_SEEDS",
        "SIMLOOP_SEED",
        "SIMLOOP_REPLAY",
        "SIMLOOP_SHARD",
        "SIMLOOP_CHECK_DETERMINISM",
        "SIMLOOP_FUZZ_INPUT",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some());
    if env_set {
        assert!(runs >= 1, "the body never ran");
    } else {
        // 1000 seeds, plus the determinism check's second runs (seed 0 and every 64th).
        assert!(
            (1000..1100).contains(&runs),
            "{runs} runs for the default sweep of 1000 seeds"
        );
    }
}

mod renamed {
    use simloop as sim;

    #[simloop::test(crate = "sim")]
    async fn crate_argument_names_a_renamed_simloop() {
        let t = sim::create_task(async { 1 });
        assert_eq!(t.await.unwrap(), 1);
    }
}
