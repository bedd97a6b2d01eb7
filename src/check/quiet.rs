//! Panics hidden from the panic hook while a body runs where they are expected, and the
//! record of the panics one run of a body raised (for its report).
//!
//! Every run of a body by the runner (probe runs, sweep runs, the determinism re-run,
//! search and shrinking re-runs, replays) is quiet: the process's panic hook never sees
//! its panics, so a failing test does not print the same assertion once per re-run. The
//! hook records each panic instead (message, location, task, and a backtrace when
//! `RUST_BACKTRACE` asks for one); the report shows the failing run's, once.
//!
//! What cannot be silenced on stable Rust: the body's own `println!`/`eprintln!` output
//! (std has no stable per-thread capture; `cargo test` captures it per test and shows it
//! only for a failing test, and the report comes after it). Log with `tracing` instead:
//! each run's log is captured and the report shows the failing run's.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::panic;
use std::rc::Rc;
use std::sync::Once;

use crate::event_loop::registry;
use crate::task::error::panic_text;
use crate::task::id::TaskInfo;

thread_local! {
    static QUIET: Cell<u32> = const { Cell::new(0) };
    static RECORD: RefCell<Option<Vec<Caught>>> = const { RefCell::new(None) };
}
static QUIET_HOOK: Once = Once::new();

/// How many panics of one run get a backtrace (capturing one is slow; the report shows
/// only the cause's).
const BACKTRACES_PER_RUN: usize = 4;

/// A panic the hook saw during a recorded run.
#[derive(Clone, Debug)]
pub(crate) struct Caught {
    /// The panic message (as [`panic_text`] renders the payload).
    pub(crate) message: String,
    /// `file:line:column` of the `panic!`.
    pub(crate) location: Option<String>,
    /// The task being polled when it panicked.
    pub(crate) task: Option<TaskInfo>,
    /// The backtrace, when `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) enables one.
    pub(crate) backtrace: Option<Rc<Backtrace>>,
}

fn install_hook() {
    QUIET_HOOK.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.try_with(Cell::get).unwrap_or(0) == 0 {
                prev(info);
                return;
            }
            let _ = RECORD.try_with(|r| {
                let Ok(mut r) = r.try_borrow_mut() else {
                    return;
                };
                let Some(list) = r.as_mut() else { return };
                let backtrace = (list.len() < BACKTRACES_PER_RUN)
                    .then(Backtrace::capture)
                    .filter(|b| b.status() == BacktraceStatus::Captured)
                    .map(Rc::new);
                list.push(Caught {
                    message: panic_text(info.payload()),
                    location: info.location().map(|l| l.to_string()),
                    task: registry::current_task(),
                    backtrace,
                });
            });
        }));
    });
}

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
    install_hook();
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

/// Runs `f` quietly (see [`with_quiet_panics`]) and returns, with its result, every panic
/// raised on this thread meanwhile, in order. Nested calls record separately.
pub(crate) fn recording_panics<R>(f: impl FnOnce() -> R) -> (R, Vec<Caught>) {
    struct Restore(Option<Vec<Caught>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            let _ = RECORD.try_with(|r| *r.borrow_mut() = prev);
        }
    }
    let prev = RECORD.with(|r| r.borrow_mut().replace(Vec::new()));
    let restore = Restore(prev);
    let out = with_quiet_panics(f);
    let caught = RECORD.with(|r| r.borrow_mut().take()).unwrap_or_default();
    drop(restore);
    (out, caught)
}
