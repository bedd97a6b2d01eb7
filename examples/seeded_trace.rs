//! The G.1 tutorial program under FIFO and under a seed, then the seeded run's trace.
//!
//! ```text
//! cargo run --example seeded_trace          # seed from SIMLOOP_SEED, else 7
//! cargo run --example seeded_trace -- 0x2a  # seed from the first argument
//! ```
//!
//! FIFO reproduces asyncio's order (`Started 0 a 1 b 2 c 3 d Finished`). A seeded `Random`
//! loop may resume either task first whenever both are runnable, so the two tasks'
//! lines may interleave differently, while each task keeps its own order and the run
//! still takes 4 ms of virtual time. The trace is the full record of the seeded run:
//! the same seed gives the same trace, byte for byte, on every machine.

#[allow(dead_code)] // its `main` is not used here
#[path = "g1_run_gather.rs"]
pub mod g1;

use std::rc::Rc;

use g1::Print;
use simloop::{EventLoop, Trace};

/// The seed to use: the first command-line argument, else `SIMLOOP_SEED`, else 7.
/// Both may be decimal or `0x` hex.
pub fn choose_seed(arg: Option<String>, env: Option<String>) -> Result<u64, String> {
    match arg.or(env) {
        Some(s) => simloop::parse_seed(&s),
        None => Ok(7),
    }
}

/// Runs G.1 under FIFO and under `seed`, printing headings, both outputs and the seeded
/// run's trace text; returns that trace.
pub fn program(seed: u64, print: Print) -> Trace {
    let fifo = EventLoop::builder().build();
    print("== G.1 under FIFO ==".to_string());
    let took = g1::program(&fifo, print.clone());
    print(format!("(virtual time {took:?})"));

    let seeded = EventLoop::builder().seed(seed).build();
    print(format!("== G.1 under Random, seed {seed} ({seed:#x}) =="));
    let took = g1::program(&seeded, print.clone());
    print(format!("(virtual time {took:?})"));

    print(format!("== trace of the run with seed {seed} =="));
    let trace = seeded.trace();
    for line in trace.to_string().lines() {
        print(line.to_string());
    }
    trace
}

fn main() {
    let seed = choose_seed(std::env::args().nth(1), std::env::var("SIMLOOP_SEED").ok())
        .unwrap_or_else(|e| {
            eprintln!("seeded_trace: {e}");
            std::process::exit(2);
        });
    program(seed, Rc::new(|line| println!("{line}")));
}
