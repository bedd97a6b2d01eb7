//! G.5 of the asyncio tutorial (reconstructed): get the running loop, inside and outside.
//!
//! ```python
//! import asyncio
//!
//! async def main():
//!     loop = asyncio.get_running_loop()
//!     print(loop)
//!     print(loop.is_running())
//!
//! asyncio.run(main())
//!
//! try:
//!     asyncio.get_running_loop()
//! except RuntimeError as e:
//!     print(f"RuntimeError: {e}")
//! ```
//!
//! Python prints `<_UnixSelectorEventLoop running=True closed=False debug=False>`, `True`,
//! `RuntimeError: no running event loop`. simloop prints
//! `<EventLoop running=true closed=false seed=none>`, `true`, and
//! `Error: no running event loop`: `get_running_loop()` returns a `Result`, and the
//! error's `Display` is asyncio's message word for word.

use std::rc::Rc;

use simloop::EventLoop;

/// Where the program's lines go: stdout in `main`, a `Vec` in the tests.
pub type Print = Rc<dyn Fn(String)>;

/// Python's `async def main()`.
pub async fn async_main(print: Print) {
    let lp = simloop::get_running_loop().expect("main runs inside the loop");
    print(format!("{lp:?}"));
    print(lp.is_running().to_string());
}

/// The part after `asyncio.run(main())`: no loop is running any more.
pub fn after_run(print: &Print) {
    match simloop::get_running_loop() {
        Ok(lp) => print(format!("unexpected: {lp:?} is running")),
        Err(e) => print(format!("Error: {e}")),
    }
}

/// The program, with `asyncio.run(main())` done on the loop `lp`.
///
/// `main` below uses `simloop::run`, the literal translation of `asyncio.run`, which makes
/// its own loop (FIFO unless `SIMLOOP_SEED` is set; the seed shows in the loop's `Debug`).
/// The tests call this function with a loop they built; it does what `simloop::run` does,
/// on `lp` (set current, run, clear current, close; no leftover tasks to cancel).
pub fn program(lp: &EventLoop, print: Print) {
    simloop::set_event_loop(Some(lp));
    lp.run_until_complete(async_main(print.clone()))
        .expect("the loop failed");
    simloop::set_event_loop(None);
    lp.close().expect("the loop is not running");
    after_run(&print);
}

fn main() {
    let print: Print = Rc::new(|line| println!("{line}"));
    simloop::run(async_main(print.clone()));
    after_run(&print);
}
