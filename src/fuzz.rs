//! Fuzz-driven scheduling: a coverage-guided fuzzer chooses the schedule.
//!
//! A seed sweep ([`check`](crate::check)) tries thousands of *random* schedules; that
//! finds shallow interleaving bugs. A bug that needs a specific chain of three or four
//! scheduling decisions is found by a fuzzer that *chooses* the schedule and keeps the
//! inputs that reached new code: each step of the chain is new coverage, so the fuzzer
//! climbs it one decision at a time.
//!
//! - [`Bytes`]: a [`Policy`](crate::Policy) that takes every scheduling choice (which runnable task,
//!   callback or due timer runs next — including which of several timers due at the same
//!   instant) from the fuzzer's bytes. When the bytes run out it falls back to FIFO
//!   (asyncio's order), so *every* input is a valid schedule and a short input means "few
//!   deviations from asyncio's order".
//! - [`check`]: the body of a fuzz target. Runs the test once under the input's schedule
//!   and panics with the usual failure report (its "under:" line says `fuzz input`), so
//!   libFuzzer records the crash. [`check_with`] first draws an
//!   [`Arbitrary`](arbitrary::Arbitrary) value (operations to perform) from the front of
//!   the same bytes and uses the rest as the schedule.
//! - [`to_trace`]: turns a crash input into a [`Trace`], which [`replay`](crate::replay)
//!   and `SIMLOOP_REPLAY` follow step by step — and `SIMLOOP_FUZZ_INPUT=<crash file>` makes
//!   [`Builder::check`] run that one input instead of sweeping seeds. A bug the fuzzer
//!   found is debugged without the fuzzer, with the same tools as a failing seed.
//!
//! # The fuzz target
//!
//! With [cargo-fuzz](https://github.com/rust-fuzz/cargo-fuzz) (`cargo install
//! cargo-fuzz`, then `cargo fuzz init`), `fuzz/fuzz_targets/lost_update.rs`:
//!
//! ```no_run
//! # macro_rules! fuzz_target { (|$d:ident: &[u8]| $b:block) => { fn _t($d: &[u8]) $b } }
//! // #![no_main]
//! // use libfuzzer_sys::fuzz_target;
//! use std::{cell::Cell, rc::Rc};
//!
//! // Two read-yield-write increments; the second starts two steps later. asyncio's
//! // order passes, some schedules lose an update.
//! async fn lost_update() {
//!     let n = Rc::new(Cell::new(0));
//!     let incr = |n: Rc<Cell<u32>>, delay: u32| async move {
//!         for _ in 0..delay {
//!             simloop::yield_now().await;
//!         }
//!         let v = n.get();
//!         simloop::yield_now().await;
//!         n.set(v + 1);
//!     };
//!     simloop::gather([incr(n.clone(), 0), incr(n.clone(), 2)]).await;
//!     assert_eq!(n.get(), 2, "an increment was lost");
//! }
//!
//! fuzz_target!(|data: &[u8]| {
//!     simloop::fuzz::check(data, lost_update);
//! });
//! ```
//!
//! `cargo fuzz run lost_update --sanitizer none` (stable Rust is enough with
//! `--sanitizer none`) stops at the first crash and saves the input under
//! `fuzz/artifacts/lost_update/`.
//!
//! # Operations from the same bytes
//!
//! [`check_with`] splits the input: `make` draws a value from the *front* of the bytes
//! with an [`Unstructured`]; whatever `make` did not consume is the schedule.
//!
//! ```
//! use arbitrary::{Arbitrary, Unstructured};
//!
//! #[derive(Arbitrary, Debug, Clone)]
//! enum Op { Deposit(u8), Withdraw(u8) }
//!
//! # let data: &[u8] = &[3, 0, 5, 1, 2, 0, 1, 1];
//! simloop::fuzz::check_with(data, |u: &mut Unstructured<'_>| u.arbitrary::<Vec<Op>>(), |ops| {
//!     let ops = ops.clone();
//!     async move {
//!         let mut balance: u32 = 1000;
//!         for op in ops {
//!             match op {
//!                 Op::Deposit(n) => balance += u32::from(n),
//!                 Op::Withdraw(n) => balance = balance.saturating_sub(u32::from(n)),
//!             }
//!             simloop::yield_now().await;
//!         }
//!         assert!(balance <= 1000 + 255 * 8);
//!     }
//! });
//! ```
//!
//! # From a crash to a replay
//!
//! When a run fails, [`check`] writes two files under `target/simloop/` (or
//! `SIMLOOP_TRACE_DIR`) and prints their absolute paths in the report's replay lines:
//! the failing run's trace (`…-fuzz_input_0x….trace`) and the input itself
//! (`…-fuzz_input_0x….input`, the same bytes as libFuzzer's `crash-…` file). Then, in a
//! test that checks the same body with [`Builder::check`] (or [`crate::check`]):
//!
//! ```text
//! SIMLOOP_FUZZ_INPUT=fuzz/artifacts/lost_update/crash-… cargo test --test lost_update
//! SIMLOOP_REPLAY=target/simloop/lost_update-fuzz_input_0x….trace cargo test --test lost_update
//! ```
//!
//! both run exactly the fuzzer's schedule once (no sweep), and fail with the same report.
//! In code, [`to_trace`] gives the trace to pass to [`replay`](crate::replay):
//!
//! ```
//! # use std::{cell::Cell, rc::Rc};
//! # async fn lost_update() {
//! #     let n = Rc::new(Cell::new(0));
//! #     let incr = |n: Rc<Cell<u32>>, delay: u32| async move {
//! #         for _ in 0..delay { simloop::yield_now().await; }
//! #         let v = n.get(); simloop::yield_now().await; n.set(v + 1);
//! #     };
//! #     simloop::gather([incr(n.clone(), 0), incr(n.clone(), 2)]).await;
//! #     assert_eq!(n.get(), 2, "an increment was lost");
//! # }
//! simloop::fuzz::check(&[], lost_update); // no bytes: asyncio's order passes
//! let crash: &[u8] = &[1, 1]; // e.g. std::fs::read("fuzz/artifacts/lost_update/crash-…")
//! let trace = simloop::fuzz::to_trace(crash, lost_update);
//! assert_eq!(trace.policy(), "bytes");
//! let failure = simloop::Builder::new()
//!     .trace_dir(std::env::temp_dir().join("simloop-doc"))
//!     .replay(&trace)
//!     .run(lost_update)
//!     .unwrap_err();
//! assert!(failure.message.contains("an increment was lost"));
//! assert_eq!(failure.trace.to_string(), trace.to_string()); // byte-identical
//! ```
//!
//! Keep the crash as a regression test: copy it into your repository and run it in a
//! plain test, `simloop::fuzz::check(&std::fs::read("tests/crashes/lost_update-1")?, body)`.
//!
//! # Fuzz your scheduler in CI
//!
//! A GitHub Actions job that fuzzes each target for a bounded time, keeps the corpus
//! between runs, and uploads crash inputs:
//!
//! ```yaml
//! fuzz:
//!   runs-on: ubuntu-latest
//!   steps:
//!     - uses: actions/checkout@v4
//!     - uses: dtolnay/rust-toolchain@stable
//!     - run: cargo install cargo-fuzz --locked
//!     - uses: actions/cache@v4
//!       with:
//!         path: fuzz/corpus
//!         key: fuzz-corpus-${{ github.ref_name }}-${{ github.run_id }}
//!         restore-keys: fuzz-corpus-
//!     - name: fuzz each target for 60 s
//!       run: |
//!         for t in $(cargo fuzz list); do
//!           mkdir -p fuzz/corpus/$t
//!           cargo fuzz run $t fuzz/corpus/$t fuzz/seeds/$t --sanitizer none -- -max_total_time=60
//!         done
//!     - uses: actions/upload-artifact@v4
//!       if: failure()
//!       with:
//!         name: fuzz-crashes
//!         path: fuzz/artifacts
//! ```
//!
//! A failed job's artifact holds `crash-…` files; download one and run
//! `SIMLOOP_FUZZ_INPUT=crash-… cargo test …` locally.
//!
//! # libFuzzer and caught panics
//!
//! libFuzzer's Rust harness installs a panic hook that aborts the process on *any*
//! panic, even one that is caught (simloop catches a task's panic and reports it as
//! [`TaskError::Panicked`](crate::TaskError::Panicked)). [`check`], [`check_with`] and
//! [`to_trace`] therefore run the body with this thread's panics hidden from the panic
//! hook ([`with_quiet_panics`]); the failure report, printed afterwards, carries the
//! panic message, and the final `panic!` with the report's summary reaches the hook as
//! usual. Use [`with_quiet_panics`] around your own loops in a fuzz target whose tasks
//! are expected to panic.

use std::fmt;
use std::fs;
use std::future::Future;

use arbitrary::Unstructured;

use crate::check::body::{Body, CheckOutcome};
use crate::check::builder::Builder;
use crate::trace::Trace;

pub use crate::check::quiet::with_quiet_panics;
#[doc(hidden)]
pub use crate::policy::Bytes;

/// The body of a fuzz target: runs `body` once under the schedule the fuzzer's `data`
/// encodes ([`Bytes`]); on failure prints the usual report (under: `fuzz input`) and
/// panics, so libFuzzer records the input as a crash. The body is what
/// [`Builder::check`] takes: `Fn() -> impl Future<Output = ()>` or `Result<(), E>`.
///
/// ```
/// simloop::fuzz::check(&[0, 5, 9], || async {
///     let t = simloop::create_task(async { simloop::yield_now().await; 42 });
///     assert_eq!(t.await.unwrap(), 42);
/// });
/// ```
///
/// # Panics
/// If the run fails: a panic, an `Err`, a deadlock, the step limit.
#[track_caller]
pub fn check<B: Body>(data: &[u8], body: B) {
    Builder::new().fuzz_check(data, body);
}

/// Like [`check`], but first draws a value from the front of `data` with `make` (e.g.
/// `|u| u.arbitrary::<Vec<Op>>()`); the bytes `make` did not consume are the schedule.
/// If `make` fails (the input is too short or does not describe a value) the input is
/// skipped: nothing runs. The value's `Debug` text is part of the failure report.
///
/// See the [module docs](self) for an example.
///
/// # Panics
/// If the run fails.
#[track_caller]
pub fn check_with<T, M, F, Fut>(data: &[u8], make: M, body: F)
where
    T: fmt::Debug,
    M: FnOnce(&mut Unstructured<'_>) -> arbitrary::Result<T>,
    F: Fn(&T) -> Fut,
    Fut: Future + 'static,
    Fut::Output: CheckOutcome,
{
    let Some((value, schedule)) = split(data, make) else {
        return;
    };
    let shown = format!("{value:?}");
    let r = Builder::new().fuzz_run_split(data.to_vec(), schedule.to_vec(), Some(shown), &|| {
        body(&value)
    });
    if let Err(failure) = r {
        failure.raise();
    }
}

/// The split [`check_with`] makes: the value `make` draws from the front of `data`, and
/// the rest of the bytes (the schedule). `None` if `make` fails.
///
/// ```
/// use arbitrary::Unstructured;
/// let (v, rest) = simloop::fuzz::split(&[7, 1, 2], |u: &mut Unstructured<'_>| u.arbitrary::<u8>()).unwrap();
/// assert_eq!((v, rest), (7, &[1u8, 2][..]));
/// ```
pub fn split<T, M>(data: &[u8], make: M) -> Option<(T, &[u8])>
where
    M: FnOnce(&mut Unstructured<'_>) -> arbitrary::Result<T>,
{
    let mut u = Unstructured::new(data);
    let value = make(&mut u).ok()?;
    let used = data.len() - u.len();
    Some((value, &data[used..]))
}

/// The trace of one run of `body` under the schedule in `data` (whether it passes or
/// fails): what a crash input did, step by step. Replay it with
/// [`replay`](crate::replay), [`Builder::replay`], or save it and use `SIMLOOP_REPLAY`.
///
/// ```
/// let body = || async { simloop::gather((0..3).map(|_| simloop::yield_now())).await; };
/// let trace = simloop::fuzz::to_trace(&[1, 1], body);
/// assert_eq!(trace.to_string(), simloop::fuzz::to_trace(&[1, 1], body).to_string());
/// simloop::replay(&trace, body); // follows it step for step
/// ```
pub fn to_trace<B: Body>(data: &[u8], body: B) -> Trace {
    let b = Builder::new().capture_logs(false);
    with_quiet_panics(|| b.trace_of(Box::new(Bytes::new(data)), &body))
}

/// [`to_trace`] for a [`check_with`] input: the value drawn from the front of `data` and
/// the trace of the run under the rest. `None` if `make` fails.
pub fn to_trace_with<T, M, F, Fut>(data: &[u8], make: M, body: F) -> Option<(T, Trace)>
where
    M: FnOnce(&mut Unstructured<'_>) -> arbitrary::Result<T>,
    F: Fn(&T) -> Fut,
    Fut: Future + 'static,
    Fut::Output: CheckOutcome,
{
    let (value, schedule) = split(data, make)?;
    let trace = to_trace(schedule, || body(&value));
    Some((value, trace))
}

/// The bytes of the file `SIMLOOP_FUZZ_INPUT` names, if it is set: for a test that
/// replays a [`check_with`] crash without the fuzzer.
///
/// ```no_run
/// # use arbitrary::Unstructured;
/// # fn body(_: &Vec<u8>) -> impl std::future::Future<Output = ()> { async {} }
/// // SIMLOOP_FUZZ_INPUT=fuzz/artifacts/ops/crash-… cargo test --test ops -- replay_crash
/// #[test]
/// fn replay_crash() {
///     if let Some(data) = simloop::fuzz::env_input() {
///         simloop::fuzz::check_with(&data, |u: &mut Unstructured<'_>| u.arbitrary(), body);
///     }
/// }
/// ```
///
/// # Panics
/// If the variable is malformed or the file cannot be read.
#[track_caller]
pub fn env_input() -> Option<Vec<u8>> {
    let env = crate::env::Env::from_process().unwrap_or_else(|e| panic!("{e}"));
    let path = env.fuzz_input?;
    match fs::read(&path) {
        Ok(d) => Some(d),
        Err(e) => panic!(
            "SIMLOOP_FUZZ_INPUT: cannot read the fuzz input {}: {e}",
            path.display()
        ),
    }
}
