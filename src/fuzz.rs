//! Fuzz-driven scheduling: a coverage-guided fuzzer chooses the schedule.
//!
//! A seed sweep ([`check`](crate::check)) tries thousands of *random* schedules; that
//! finds shallow interleaving bugs. A bug that needs a specific chain of three or four
//! scheduling decisions is found by a fuzzer that *chooses* the schedule and keeps the
//! inputs that reached new code: each step of the chain is new coverage, so the fuzzer
//! climbs it one decision at a time.
//!
//! - [`Bytes`]: a [`Policy`] that takes every scheduling choice (which runnable task,
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

use std::cell::Cell;
use std::fmt;
use std::fs;
use std::future::Future;
use std::panic;
use std::path::{Path, PathBuf};
use std::sync::Once;

use arbitrary::Unstructured;

use crate::check::{cargo_test_line, sanitize, CheckOutcome, Failure, SingleRun, Summary};
use crate::error::LoopError;
use crate::event_loop::Builder;
use crate::policy::{Decision, Policy};
use crate::trace::Trace;

/// A [`Policy`] whose choices come from a byte string (a fuzzer's input).
///
/// Each decision with `n >= 2` candidates takes `Unstructured::choose_index(n)` from the
/// bytes not used yet — one byte, taken modulo `n`, for up to 256 candidates. When the
/// bytes run out every later decision is index 0, the item asyncio would run next (FIFO).
/// So every byte string is a valid schedule: the empty one is exactly FIFO, and the same
/// bytes always give the same schedule.
///
/// Its name is `bytes` and it has no seed (the trace header says
/// `policy=bytes seed=none`); it cannot be re-seeded for a sweep.
///
/// ```
/// use simloop::{fuzz::Bytes, EventLoop};
/// let order = |data: &[u8]| {
///     let lp = EventLoop::builder().policy(Bytes::new(data)).build();
///     let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
///     let o = out.clone();
///     lp.run_until_complete(simloop::gather((0..3).map(move |i| {
///         let o = o.clone();
///         async move { o.borrow_mut().push(i) }
///     }))).unwrap();
///     let v = out.borrow().clone();
///     v
/// };
/// assert_eq!(order(&[]), [0, 1, 2]); // no bytes: FIFO
/// assert_eq!(order(&[2]), order(&[2])); // deterministic
/// assert_ne!(order(&[2]), [0, 1, 2]); // the first choice took the third candidate
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Bytes {
    data: Vec<u8>,
    pos: usize,
}

impl Bytes {
    /// A policy that takes its choices from `data`, from the start.
    pub fn new(data: impl Into<Vec<u8>>) -> Bytes {
        Bytes {
            data: data.into(),
            pos: 0,
        }
    }

    /// A policy that takes its choices from the bytes `u` has not consumed yet.
    pub fn from_unstructured(u: Unstructured<'_>) -> Bytes {
        Bytes::new(u.take_rest())
    }

    /// How many bytes the decisions so far have used.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// How many bytes are left (0: every further decision is FIFO).
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bytes")
            .field("len", &self.data.len())
            .field("consumed", &self.pos)
            .finish()
    }
}

impl Policy for Bytes {
    fn name(&self) -> String {
        "bytes".to_owned()
    }

    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        let n = d.candidates.len();
        if n < 2 || self.pos >= self.data.len() {
            return Ok(0);
        }
        let mut u = Unstructured::new(&self.data[self.pos..]);
        // `choose_index` returns index 0 (never an error) when the bytes run out.
        let i = u.choose_index(n).unwrap_or(0);
        self.pos = self.data.len() - u.len();
        Ok(i)
    }
}

thread_local! {
    static QUIET: Cell<u32> = const { Cell::new(0) };
}
static QUIET_HOOK: Once = Once::new();

/// Runs `f` with this thread's panics hidden from the process's panic hook; they still
/// unwind and are caught where they would be (a task's panic becomes
/// [`TaskError::Panicked`](crate::TaskError::Panicked)).
///
/// libFuzzer's harness aborts on any panic its hook sees, caught or not; inside this
/// call only a panic that escapes `f` and is raised again outside reaches it. Other
/// threads are not affected. The first call wraps the hook installed at that time.
///
/// ```
/// let r = simloop::fuzz::with_quiet_panics(|| std::panic::catch_unwind(|| panic!("quiet")));
/// assert!(r.is_err()); // nothing was printed
/// ```
pub fn with_quiet_panics<R>(f: impl FnOnce() -> R) -> R {
    QUIET_HOOK.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.try_with(Cell::get).unwrap_or(0) == 0 {
                prev(info);
            }
        }));
    });
    struct Loud;
    impl Drop for Loud {
        fn drop(&mut self) {
            let _ = QUIET.try_with(|q| q.set(q.get().saturating_sub(1)));
        }
    }
    QUIET.with(|q| q.set(q.get() + 1));
    let _loud = Loud;
    f()
}

/// FNV-1a over the input: names its files.
fn digest(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn absolute(p: &Path) -> PathBuf {
    fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Where a fuzz input came from, for the report.
pub(crate) enum Origin {
    /// `SIMLOOP_FUZZ_INPUT`: a file, run from an ordinary test.
    File(PathBuf),
    /// The bytes a fuzz target was handed (the file libFuzzer will write is not known
    /// yet): the input is written next to the trace. `value` describes what
    /// [`check_with`] drew from the front of the bytes.
    Fuzzer {
        input: Vec<u8>,
        value: Option<String>,
    },
}

/// The one run of a fuzz input: the `Bytes` policy over `schedule`, and how the report
/// names it and says to replay it.
pub(crate) fn single_run(schedule: Vec<u8>, origin: Origin, dir: &Path) -> SingleRun {
    let n = schedule.len();
    match origin {
        Origin::File(path) => {
            let tag = format!("fuzz_input_{:#018x}", digest(&schedule));
            SingleRun {
                policy: Box::new(Bytes::new(schedule)),
                source: format!("fuzz input {} ({n} bytes)", path.display()),
                file_tag: tag,
                replay: Box::new(move |test, trace| {
                    let mut line =
                        cargo_test_line(&format!("SIMLOOP_FUZZ_INPUT={}", path.display()), test);
                    if let Some(t) = trace {
                        line.push_str(&format!(
                            "\n              or follow the trace file: {}",
                            cargo_test_line(&format!("SIMLOOP_REPLAY={}", t.display()), test)
                        ));
                    }
                    line
                }),
            }
        }
        Origin::Fuzzer { input, value } => {
            let d = digest(&input);
            let tag = format!("fuzz_input_{d:#018x}");
            let mut source = if input.len() == n {
                format!("fuzz input ({n} bytes, digest {d:#018x})")
            } else {
                format!(
                    "fuzz input ({} bytes, digest {d:#018x}: {} for the value, {n} for the schedule)",
                    input.len(),
                    input.len() - n
                )
            };
            if let Some(v) = value {
                let mut v: String = v.chars().take(400).collect();
                if v.len() >= 400 {
                    v.push('…');
                }
                source.push_str(&format!(", value {v}"));
            }
            let dir = dir.to_path_buf();
            SingleRun {
                policy: Box::new(Bytes::new(schedule)),
                source,
                file_tag: tag.clone(),
                replay: Box::new(move |test, trace| {
                    let file = dir.join(format!("{}-{tag}.input", sanitize(test)));
                    let file = match fs::write(&file, &input) {
                        Ok(()) => absolute(&file).display().to_string(),
                        Err(_) => "<the crash file libFuzzer wrote>".to_owned(),
                    };
                    let target = std::env::current_exe()
                        .ok()
                        .and_then(|e| Some(e.file_stem()?.to_str()?.to_owned()))
                        .unwrap_or_else(|| "<target>".to_owned());
                    let mut line = format!(
                        "cargo fuzz run {target} {file}\n              \
                         or without the fuzzer, in a test that checks the same body: \
                         SIMLOOP_FUZZ_INPUT={file} cargo test <test>"
                    );
                    if let Some(t) = trace {
                        line.push_str(&format!(
                            "\n              or follow the trace file: \
                             SIMLOOP_REPLAY={} cargo test <test>",
                            absolute(t).display()
                        ));
                    }
                    line
                }),
            }
        }
    }
}

impl Builder {
    /// Runs `body` once under the schedule in `data` (the [`Bytes`] policy) and returns
    /// the failure, if any, without printing or panicking. The builder's name, trace
    /// directory, step limit and log capture apply; its seeds, policy and replay do not.
    ///
    /// ```
    /// let summary = simloop::Builder::new()
    ///     .fuzz_run(&[7, 1, 3], || async { simloop::yield_now().await })
    ///     .unwrap();
    /// assert_eq!(summary.runs, 1);
    /// ```
    ///
    /// # Errors
    /// The failing run, with its report (its source says `fuzz input`).
    pub fn fuzz_run<F, Fut>(self, data: &[u8], body: F) -> Result<Summary, Box<Failure>>
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        self.fuzz_run_split(data.to_vec(), data.to_vec(), None, &body)
    }

    /// Runs `body` once under the schedule in `data`; on failure prints the report to
    /// stderr and panics with its summary (a crash for the fuzzer). See [`check`].
    ///
    /// # Panics
    /// If the run fails.
    #[track_caller]
    pub fn fuzz_check<F, Fut>(self, data: &[u8], body: F)
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        if let Err(failure) = self.fuzz_run(data, body) {
            eprintln!("{failure}");
            panic!("{}", failure.summary());
        }
    }

    fn fuzz_run_split<F, Fut>(
        self,
        input: Vec<u8>,
        schedule: Vec<u8>,
        value: Option<String>,
        body: &F,
    ) -> Result<Summary, Box<Failure>>
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
        Fut::Output: CheckOutcome,
    {
        let (mut test, dir) = self.report_target();
        if test.is_empty() {
            test = std::env::current_exe()
                .ok()
                .and_then(|e| Some(e.file_stem()?.to_str()?.to_owned()))
                .unwrap_or_default();
        }
        let single = single_run(schedule, Origin::Fuzzer { input, value }, &dir);
        with_quiet_panics(|| self.single_run(&test, &dir, single, body))
    }
}

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
pub fn check<F, Fut>(data: &[u8], body: F)
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
    Fut::Output: CheckOutcome,
{
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
        eprintln!("{failure}");
        panic!("{}", failure.summary());
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
pub fn to_trace<F, Fut>(data: &[u8], body: F) -> Trace
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
    Fut::Output: CheckOutcome,
{
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
