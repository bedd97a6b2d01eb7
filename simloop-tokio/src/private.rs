//! What the macros expand to (`#[tokio::test]`, `#[tokio::main]`, `select!`); not a
//! public API.

use std::future::Future;

use crate::context::{self, RunState};
use crate::coop;
use crate::runtime::MainFuture;
use crate::task::local::local_runtime_set;

/// The runtime flavor an attribute asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `current_thread` (the default of `#[tokio::test]`).
    CurrentThread,
    /// `multi_thread`: simulated on the one thread.
    MultiThread,
    /// `local`: the body may `spawn_local`.
    Local,
}

/// `unhandled_panic = …`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnhandledPanic {
    /// A panicking task's panic goes to its `JoinHandle` (tokio's default).
    Ignore,
    /// Accepted; under the mirror a task's panic still goes to its `JoinHandle`.
    ShutdownRuntime,
}

/// The arguments of `#[tokio::test]`/`#[tokio::main]` (`None`: not written).
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// `"tokio::test"` or `"tokio::main"`.
    pub macro_name: &'static str,
    /// The flavor.
    pub flavor: Flavor,
    /// `worker_threads = N` (no effect: one simulated thread).
    pub worker_threads: Option<usize>,
    /// `start_paused = b`.
    pub start_paused: Option<bool>,
    /// `unhandled_panic = …`.
    pub unhandled_panic: Option<UnhandledPanic>,
    /// `name = "…"`.
    pub name: Option<&'static str>,
}

/// One run's main future: enters a fresh run on the running loop first.
async fn run_body<Fut: Future>(fut: Fut, opts: Options) -> Fut::Output {
    let lp = simloop::get_running_loop().expect("the body runs inside its loop");
    let rs = RunState::new(lp, opts.start_paused.unwrap_or(false));
    let _entered = context::enter(rs);
    let _local = (opts.flavor == Flavor::Local).then(local_runtime_set);
    MainFuture::new(fut).await
}

/// `#[tokio::test]`: the body swept like `simloop::check` (seeds, portfolio, report,
/// replay line, shrinking).
#[track_caller]
pub fn test_main<F, Fut>(opts: Options, body: F)
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
    Fut::Output: simloop::CheckOutcome,
{
    context::check_can_block();
    simloop::Builder::new().check(move || run_body(body(), opts));
}

/// `#[tokio::test]` from [`fifo`](crate::fifo): one run under FIFO (tokio's own
/// current-thread order), the body's panic propagated unchanged.
#[track_caller]
pub fn test_fifo<F, Fut>(opts: Options, body: F)
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
    Fut::Output: simloop::CheckOutcome,
{
    context::check_can_block();
    let lp = simloop::EventLoop::builder().build();
    let out = lp.block_on(run_body(body(), opts));
    match out {
        Ok(r) => {
            if let Err(e) = simloop::CheckOutcome::into_check_result(r) {
                panic!("{e}");
            }
        }
        Err(e) => panic!("simloop-tokio: the simulated runtime failed: {e:#}"),
    }
}

/// `#[tokio::main]`: the body run once on a new simulated runtime.
#[track_caller]
pub fn block_on_main<Fut: Future>(opts: Options, body: Fut) -> Fut::Output {
    context::check_can_block();
    let lp = simloop::EventLoop::new();
    match lp.block_on(run_body(body, opts)) {
        Ok(v) => v,
        Err(e) => panic!("simloop-tokio: the simulated runtime failed: {e:#}"),
    }
}

/// `select!`'s choice of the branch to poll first.
///
/// Unbiased, with two or more enabled branches, the start is `(rotation + choose(n)) mod
/// n` over the enabled branches, where `rotation` counts this site's polls in this run:
/// the policy's choice (recorded, replayed, explored), and under FIFO (where `choose` is
/// 0) a rotation, so a loop over always-ready branches starves none — tokio randomises
/// for the same reason. The count is per run, so a seed replays alone as in its sweep.
pub fn select_start(
    site: (&'static str, u32, u32),
    branches: u32,
    disabled: u64,
    biased: bool,
) -> u32 {
    if biased {
        return 0;
    }
    let enabled: Vec<u32> = (0..branches)
        .filter(|i| disabled & (1u64 << i) == 0)
        .collect();
    if enabled.len() < 2 {
        return 0;
    }
    let n = enabled.len();
    let Some(rs) = context::current() else {
        return enabled[0];
    };
    let rotation = {
        let mut m = rs.select_rotation.borrow_mut();
        let r = m.entry(site).or_insert(0);
        let v = *r;
        *r = r.wrapping_add(1);
        v
    };
    let pick = if simloop::get_running_loop().is_ok() {
        simloop::choose(n)
    } else {
        0
    };
    enabled[(rotation + pick) % n]
}

/// `select!`'s budget check: `Pending` (and a wake) once the task's budget is spent.
pub fn select_budget(cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
    coop::poll_budget_available(cx)
}
