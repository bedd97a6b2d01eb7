//! Panics hidden from the panic hook while a body runs where they are expected.

use std::cell::Cell;
use std::panic;
use std::sync::Once;

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
