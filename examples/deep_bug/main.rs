//! The deep-bug program (`program.rs`) under asyncio's FIFO order, then a seed sweep that
//! looks for its bug with the `Random` policy (`SIMLOOP_SEEDS`, default `0..100000`).
//! The `deep_bug` fuzz target finds the same bug in seconds; see `fuzz/README.md`.
//!
//! ```text
//! cargo run --release --example deep_bug                  # FIFO, then the 100,000-seed sweep
//! SIMLOOP_FUZZ_INPUT=<crash file> cargo run --example deep_bug   # replay a fuzzer's crash
//! ```

mod program;

use std::time::Instant as WallClock;

fn main() {
    // A fuzzer's crash input (or SIMLOOP_REPLAY / SIMLOOP_SEED): replay it and stop.
    let env = simloop::Env::from_process().unwrap_or_else(|e| panic!("{e}"));
    if env.fuzz_input.is_some() || env.replay.is_some() || env.seed.is_some() {
        simloop::Builder::new()
            .name("deep_bug")
            .check(program::body);
        println!("passed");
        return;
    }

    let fifo = simloop::EventLoop::new();
    fifo.run_until_complete(program::body())
        .expect("FIFO order never takes the fast path");
    println!(
        "FIFO (asyncio's order): passes, {} steps per run",
        fifo.steps()
    );

    let seeds = env.seeds.unwrap_or(0..100_000);
    println!(
        "== sweeping seeds {}..{} with the Random policy",
        seeds.start, seeds.end
    );
    let started = WallClock::now();
    let result = simloop::Builder::new()
        .name("deep_bug")
        .seeds(seeds.clone())
        .check_determinism(false)
        .capture_logs(false)
        .try_check(program::body);
    let took = started.elapsed();
    match result {
        Ok(s) => println!(
            "no seed of {}..{} finds the bug ({} runs, {} steps, {took:.1?})",
            seeds.start, seeds.end, s.runs, s.steps
        ),
        Err(f) => println!(
            "first failing seed: {:#x} = {} (after {} passing seeds, {took:.1?})\n{f}",
            f.seed.unwrap_or_default(),
            f.seed.unwrap_or_default(),
            f.seeds_passed
        ),
    }
}
