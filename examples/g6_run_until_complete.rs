//! G.6 of the asyncio tutorial (reconstructed): `run_until_complete` with one coroutine.
//!
//! ```python
//! import asyncio
//!
//! async def display_nums():
//!     for i in range(4):
//!         print(i)
//!         await asyncio.sleep(0.001)
//!
//! loop = asyncio.new_event_loop()
//! loop.run_until_complete(display_nums())
//! loop.close()
//! ```
//!
//! Output: `0`, `1`, `2`, `3`. The loop's virtual clock ends at 4 ms (four 1 ms sleeps),
//! reached instantly: the clock jumps to the next timer whenever nothing is ready.

use std::rc::Rc;
use std::time::Duration;

use simloop::EventLoop;

/// Where the program's lines go: stdout in `main`, a `Vec` in the tests.
pub type Print = Rc<dyn Fn(String)>;

/// Prints 0 to 3, sleeping 1 ms after each.
pub async fn display_nums(print: Print) {
    for i in 0..4 {
        print(i.to_string());
        simloop::sleep(Duration::from_millis(1)).await;
    }
}

/// The program, on the loop `lp` (Python's `loop = asyncio.new_event_loop()`); returns the
/// virtual time the run took.
///
/// `main` passes `simloop::new_event_loop()` (FIFO unless `SIMLOOP_SEED` is set); the
/// tests pass a loop they built.
pub fn program(lp: &EventLoop, print: Print) -> Duration {
    lp.run_until_complete(display_nums(print))
        .expect("the loop failed");
    lp.close().expect("the loop is not running");
    lp.elapsed()
}

fn main() {
    let print: Print = Rc::new(|line| println!("{line}"));
    program(&simloop::new_event_loop(), print);
}
