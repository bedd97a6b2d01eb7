//! `choose` and `rng` in a simulation: a server that may answer slowly and may drop a
//! request once (two `choose(2)` decisions the search explores), with a latency jitter
//! from `rng()` (data), and a client that retries with a timeout.
//!
//! The client's bug: its patience (25 ms) is shorter than a slow answer (30–40 ms), and it
//! tries only twice, so a dropped first attempt followed by a slow second one loses the
//! request. A seed sweep finds it, the exhaustive search finds it with the fewest
//! departures from "nothing goes wrong" (two), the shrinker reduces it to its story, and
//! the fixed client (patience longer than the slowest answer) passes both.
//!
//! ```sh
//! cargo run --example flaky_server
//! ```

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use simloop::{choose, rng, sleep, wait_for, Builder, Env};

/// The server: fast (1–10 ms) or slow (30–40 ms), then an answer — unless it drops the
/// request, which it does at most once per request (`dropped` remembers).
async fn server(request: u32, dropped: Rc<Cell<bool>>) -> Option<u32> {
    let (low, high) = match choose(2) {
        0 => (1, 10),  // fast
        _ => (30, 40), // slow
    };
    let jitter = rng().between(Duration::from_millis(low), Duration::from_millis(high));
    sleep(jitter).await;
    if !dropped.get() && choose(2) == 1 {
        dropped.set(true);
        return None; // dropped: the client hears nothing
    }
    Some(request * 10)
}

/// One call: the answer, or nothing if it was dropped or took longer than `patience`.
async fn call(request: u32, patience: Duration, dropped: Rc<Cell<bool>>) -> Option<u32> {
    // `Err(Elapsed)` (too slow) and `Ok(None)` (dropped) both mean no answer.
    wait_for(server(request, dropped), patience)
        .await
        .ok()
        .flatten()
}

/// The client: retries a request up to `attempts` times.
async fn client(request: u32, attempts: u32, patience: Duration) -> Result<u32, String> {
    let dropped = Rc::new(Cell::new(false));
    for _ in 0..attempts {
        if let Some(answer) = call(request, patience, dropped.clone()).await {
            return Ok(answer);
        }
        sleep(Duration::from_millis(5)).await; // back off
    }
    Err(format!(
        "request {request} was lost after {attempts} attempts"
    ))
}

fn builder() -> Builder {
    Builder::new()
        .env(Env::default())
        .name("flaky_server")
        .trace_dir(std::env::temp_dir().join("simloop-flaky-server"))
}

fn main() {
    // The buggy client: two attempts, 25 ms patience.
    let buggy = || async { client(7, 2, Duration::from_millis(25)).await.map(|_| ()) };
    // The fixed client: patience longer than the slowest answer.
    let fixed = || async { client(7, 2, Duration::from_millis(50)).await.map(|_| ()) };

    println!("FIFO (choose takes 0: fast, nothing dropped): {:?}", {
        let lp = simloop::new_event_loop();
        lp.run_until_complete(buggy()).unwrap()
    });

    println!("\n== a seed sweep over the buggy client");
    let failure = builder()
        .seeds(0..200)
        .try_check(buggy)
        .expect_err("a sweep finds the lost request");
    println!(
        "seed {:#x} fails: {}",
        failure.seed.expect("a seed"),
        failure.message
    );
    if let Some(s) = &failure.shrunk {
        for line in &s.story {
            println!("  {line}");
        }
    }

    println!("\n== exhaustive search (choices cost like preemptions)");
    let found = builder()
        .max_preemptions(2)
        .try_check_all(buggy)
        .expect_err("the search finds it with two departures");
    println!("{}: {}", found.source, found.message);

    println!("\n== the fixed client");
    let summary = builder()
        .seeds(0..200)
        .try_check(fixed)
        .expect("the fixed client passes 200 seeds");
    println!(
        "{} seeds, {} steps: no failure",
        summary.runs, summary.steps
    );
    let all = builder()
        .max_preemptions(2)
        .try_check_all(fixed)
        .expect("and every schedule with at most two departures");
    println!("{all}");
}
