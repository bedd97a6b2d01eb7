//! G.1 of the asyncio tutorial: `asyncio.run(main())`, where `main` gathers two coroutines.
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
//! async def main():
//!     print("Started")
//!     await asyncio.gather(display_nums(), display_letters())
//!     print("Finished")
//!
//! asyncio.run(main())
//! ```
//!
//! Output (Python and simloop alike): `Started 0 a 1 b 2 c 3 d Finished`, one per line. Both
//! tasks sleep 1 ms after every line, so their timers always fall due at the same virtual
//! instant; under FIFO they fire in registration order, which gives the interleaving above.
//! The whole run takes 4 ms of virtual time and no wall time.
//!
//! Try `SIMLOOP_SEED=3 cargo run --example g1_run_gather`: a seeded loop may pick either
//! task first at each tie, while each task still prints its own items in order.

use std::rc::Rc;
use std::time::Duration;

use futures::FutureExt;
use simloop::EventLoop;

/// Where the program's lines go: stdout in `main`, a `Vec` in the tests. An `Rc` because
/// every task gets its own copy (tasks own what they use, like Python closures do).
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

/// Python's `async def main()`.
pub async fn async_main(print: Print) {
    print("Started".to_string());
    // gather takes futures of one type: `boxed_local` gives the two coroutines one.
    simloop::gather([
        display_nums(print.clone()).boxed_local(),
        display_letters(print.clone()).boxed_local(),
    ])
    .await;
    print("Finished".to_string());
}

/// `asyncio.run(main())` on a loop the caller chose; returns the virtual time it took.
///
/// `main` below uses `simloop::run`, the literal translation of `asyncio.run`. That
/// makes its own loop with `new_event_loop()` (FIFO, or `Random` when `SIMLOOP_SEED` is
/// set), so the tests use this function instead to run the same `async_main` under a
/// policy they pick. It does what `simloop::run` does, on `lp` (set current, run, clear
/// current, close; there are no leftover tasks to cancel).
pub fn program(lp: &EventLoop, print: Print) -> Duration {
    simloop::set_event_loop(Some(lp));
    lp.run_until_complete(async_main(print))
        .expect("the loop failed");
    simloop::set_event_loop(None);
    lp.close().expect("the loop is not running");
    lp.elapsed()
}

fn main() {
    simloop::run(async_main(Rc::new(|line| println!("{line}"))));
}
