//! G.4 of the asyncio tutorial (reconstructed): set the thread's current loop.
//!
//! ```python
//! import asyncio
//!
//! loop = asyncio.new_event_loop()
//! asyncio.set_event_loop(loop)
//! print(asyncio.get_event_loop() is loop)
//! ```
//!
//! Output: `True` in Python (every version, no warning), `true` in simloop. Setting a loop
//! as current does not make it running: `get_running_loop()` still fails until the loop
//! runs.

use std::rc::Rc;

/// Where the program's lines go: stdout in `main`, a `Vec` in the tests.
pub type Print = Rc<dyn Fn(String)>;

/// The program; returns what it printed.
pub fn program(print: Print) -> bool {
    let lp = simloop::new_event_loop();
    simloop::set_event_loop(Some(&lp));
    let same = simloop::get_event_loop() == lp;
    print(same.to_string());
    same
}

fn main() {
    program(Rc::new(|line| println!("{line}")));
}
