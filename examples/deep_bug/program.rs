//! A program with a *deep* interleaving bug, shared by `examples/deep_bug/main.rs` (the
//! seed sweep), the `deep_bug` fuzz target (`fuzz/fuzz_targets/deep_bug.rs`) and the
//! tests (`sim-tests/fuzz.rs`).
//!
//! A request goes through `STAGES` pipeline stages, one task per stage, while `OBSERVERS`
//! metrics tasks read the pipeline's state. As an optimisation, when every stage of a
//! request runs *back to back* — stage 0, then stage 1 immediately after, … with no other
//! task in between — the pipeline treats the request as "fused" and commits it on a fast
//! path. The fast path forgets to take the commit lock, so it corrupts the ledger: the
//! bug. Any other step (an observer, or a stage out of order) breaks the streak.
//!
//! asyncio's FIFO order never triggers it (the tasks are spawned stage, observer, stage,
//! observer, …, so an observer always runs between two stages). A random schedule needs
//! `STAGES - 1` consecutive lucky choices among about `STAGES + OBSERVERS` runnable
//! tasks. A fuzzer that chooses the schedule climbs the chain one stage at a time,
//! because each longer streak runs new code (`reached`).

use std::cell::Cell;
use std::rc::Rc;

/// Pipeline stages (tasks) a request goes through.
pub const STAGES: usize = 7;
/// Metrics tasks that touch the shared state between stages.
pub const OBSERVERS: usize = 7;
/// How many requests each stage handles (and how often each observer looks).
pub const ROUNDS: usize = 16;

#[derive(Default)]
struct Pipeline {
    /// How many stages of the current request have run back to back.
    streak: Cell<usize>,
    /// Held by the slow path while it commits.
    locked: Cell<bool>,
    /// Commits so far.
    commits: Cell<usize>,
}

impl Pipeline {
    fn stage(&self, i: usize) {
        if i == 0 {
            self.streak.set(1);
        } else if self.streak.get() == i {
            self.streak.set(i + 1);
            reached(i + 1);
        } else {
            self.streak.set(0);
        }
        if i == STAGES - 1 {
            if self.streak.get() == STAGES {
                self.fused_commit();
            } else {
                self.slow_commit();
            }
        }
    }

    fn observe(&self) {
        // Reading the metrics touches the request: the next stage cannot fuse.
        self.streak.set(0);
    }

    fn slow_commit(&self) {
        assert!(!self.locked.replace(true), "commit lock already held");
        self.commits.set(self.commits.get() + 1);
        self.locked.set(false);
    }

    fn fused_commit(&self) {
        // BUG: the fast path skips the lock, and counts the request twice.
        self.commits.set(self.commits.get() + 2);
    }
}

/// Marks how long a streak got: a distinct code path per length, so a coverage-guided
/// fuzzer sees every step of progress towards the bug.
#[inline(never)]
fn reached(streak: usize) {
    match streak {
        2 => tracing::debug!("streak of 2 stages"),
        3 => tracing::debug!("streak of 3 stages"),
        4 => tracing::debug!("streak of 4 stages"),
        5 => tracing::debug!("streak of 5 stages"),
        6 => tracing::debug!("streak of 6 stages"),
        7 => tracing::debug!("streak of 7 stages"),
        n => tracing::debug!(n, "streak of many stages"),
    }
}

/// The test body: run the pipeline, then check the ledger. Fails (panics) only if some
/// request took the fused fast path.
pub async fn body() {
    let p = Rc::new(Pipeline::default());
    let mut tasks = Vec::new();
    for i in 0..STAGES.max(OBSERVERS) {
        if i < STAGES {
            let p = p.clone();
            tasks.push(simloop::create_task_named(
                format!("stage-{i}"),
                async move {
                    for _ in 0..ROUNDS {
                        simloop::yield_now().await;
                        p.stage(i);
                    }
                },
            ));
        }
        if i < OBSERVERS {
            let p = p.clone();
            tasks.push(simloop::create_task_named(
                format!("observer-{i}"),
                async move {
                    for _ in 0..ROUNDS {
                        simloop::yield_now().await;
                        p.observe();
                    }
                },
            ));
        }
    }
    for t in tasks {
        t.await.expect("pipeline task failed");
    }
    assert_eq!(
        p.commits.get(),
        ROUNDS,
        "the ledger counts {} commits for {ROUNDS} requests: a fused commit skipped the lock",
        p.commits.get()
    );
}
