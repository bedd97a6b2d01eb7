//! G.2 of the asyncio tutorial (reconstructed): create a new loop and inspect its state.
//!
//! ```python
//! import asyncio
//!
//! loop = asyncio.new_event_loop()
//! print(loop)
//! print(loop.is_running())
//! print(loop.is_closed())
//! loop.close()
//! print(loop.is_closed())
//! ```
//!
//! Python prints `<_UnixSelectorEventLoop running=False closed=False debug=False>`, `False`,
//! `False`, `True`. simloop prints its own `Debug` form, which shows the seed instead of the
//! debug flag: `<EventLoop running=false closed=false seed=none>`, then `false`, `false`,
//! `true`. A closed loop cannot run anything again.

use std::rc::Rc;

use simloop::EventLoop;

/// Where the program's lines go: stdout in `main`, a `Vec` in the tests.
pub type Print = Rc<dyn Fn(String)>;

/// The program, on the loop `lp` (Python's `loop = asyncio.new_event_loop()`).
///
/// `main` passes `simloop::new_event_loop()`, which is FIFO unless `SIMLOOP_SEED` is set;
/// the tests pass a loop they built, so the printed seed does not depend on the environment.
pub fn program(lp: &EventLoop, print: Print) {
    print(format!("{lp:?}"));
    print(lp.is_running().to_string());
    print(lp.is_closed().to_string());
    lp.close().expect("the loop is not running");
    print(lp.is_closed().to_string());
}

fn main() {
    let print: Print = Rc::new(|line| println!("{line}"));
    program(&simloop::new_event_loop(), print);
}
