//! G.7 of the asyncio tutorial (reconstructed): two tasks created before the loop runs,
//! gathered by `run_until_complete`.
//!
//! ```python
//! import asyncio
//!
//! async def display_nums():
//!     for i in range(4):
//!         print(i)
//!         await asyncio.sleep(0.001)
//!
//! async def display_letters():
//!     for c in "abcd":
//!         print(c)
//!         await asyncio.sleep(0.001)
//!
//! loop = asyncio.new_event_loop()
//! task1 = loop.create_task(display_nums())
//! task2 = loop.create_task(display_letters())
//! loop.run_until_complete(asyncio.gather(task1, task2))
//! loop.close()
//! ```
//!
//! Output: `0 a 1 b 2 c 3 d`, one per line (G.1 without `Started`/`Finished`). The tasks'
//! first steps are queued in creation order and run as soon as the loop starts; after
//! that their equal 1 ms timers fire in registration order under FIFO. Virtual time at
//! the end: 4 ms. Try it with `SIMLOOP_SEED=3` for a seeded interleaving.

use std::rc::Rc;
use std::time::Duration;

use simloop::EventLoop;

/// Where the program's lines go: stdout in `main`, a `Vec` in the tests. An `Rc` because
/// each task gets its own copy.
pub type Print = Rc<dyn Fn(String)>;

/// Prints 0 to 3, sleeping 1 ms after each.
pub async fn display_nums(print: Print) {
    for i in 0..4 {
        print(i.to_string());
        simloop::sleep(Duration::from_millis(1)).await;
    }
}

/// Prints a to d, sleeping 1 ms after each.
pub async fn display_letters(print: Print) {
    for c in ['a', 'b', 'c', 'd'] {
        print(c.to_string());
        simloop::sleep(Duration::from_millis(1)).await;
    }
}

/// The program, on the loop `lp` (Python's `loop = asyncio.new_event_loop()`); returns the
/// virtual time the run took.
///
/// `main` passes `simloop::new_event_loop()` (FIFO unless `SIMLOOP_SEED` is set); the
/// tests pass a loop they built.
pub fn program(lp: &EventLoop, print: Print) -> Duration {
    let task1 = lp.create_task(display_nums(print.clone()));
    let task2 = lp.create_task(display_letters(print.clone()));
    let results = lp
        .run_until_complete(simloop::gather([task1, task2]))
        .expect("the loop failed");
    for r in results {
        r.expect("a task failed"); // as asyncio.gather re-raises a task's exception
    }
    lp.close().expect("the loop is not running");
    lp.elapsed()
}

fn main() {
    let print: Print = Rc::new(|line| println!("{line}"));
    program(&simloop::new_event_loop(), print);
}
