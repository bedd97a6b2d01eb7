//! G.3 of the asyncio tutorial (reconstructed): get the thread's current loop.
//!
//! ```python
//! import asyncio
//!
//! loop = asyncio.get_event_loop()
//! print(loop)
//! print(loop is asyncio.get_event_loop())
//! ```
//!
//! Python 3.10–3.13 print the loop and `True` (3.12 and 3.13 also warn
//! `DeprecationWarning: There is no current event loop` on stderr).
//!
//! **Documented deviation:** Python 3.14 raises here, `RuntimeError: There is no current
//! event loop in thread 'MainThread'.`, because nothing set a current loop. simloop follows
//! 3.10–3.13 instead, in every thread: when the thread has no current loop,
//! `get_event_loop()` creates one with `new_event_loop()` and sets it as current, so the
//! second call returns the same loop. simloop prints
//! `<EventLoop running=false closed=false seed=none>` and `true`.

use std::rc::Rc;

use simloop::EventLoop;

/// Where the program's lines go: stdout in `main`, a `Vec` in the tests.
pub type Print = Rc<dyn Fn(String)>;

/// The program; returns the loop that `get_event_loop()` gave.
///
/// The loop is created by `get_event_loop()` itself (with `new_event_loop()`), so it is
/// FIFO unless `SIMLOOP_SEED` is set, and then shows that seed.
pub fn program(print: Print) -> EventLoop {
    // Python 3.14 raises RuntimeError here; simloop (like 3.10–3.13) creates the loop.
    let lp = simloop::get_event_loop();
    print(format!("{lp:?}"));
    print((lp == simloop::get_event_loop()).to_string());
    lp
}

fn main() {
    program(Rc::new(|line| println!("{line}")));
}
