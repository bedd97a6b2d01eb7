//! A very long run in bounded memory: two tasks yield to each other for `LONG_RUN_STEPS`
//! steps (default 10,000,000) under a seeded random policy. The loop keeps the last 64 MiB
//! of its trace in memory and its digest over the whole run; with `LONG_RUN_FILE=<path>`
//! it also streams the whole trace to that file (about 25 bytes per event);
//! `LONG_RUN_MEMORY=<bytes>` sets the trace memory.
//!
//! ```text
//! cargo run --release --example long_run
//! LONG_RUN_STEPS=1000000000 cargo run --release --example long_run
//! ```
//!
//! It prints the steps, the trace's records in memory, its digest and the process's peak
//! resident memory (Linux), which stays flat however many steps run.

fn main() {
    let steps: u64 = std::env::var("LONG_RUN_STEPS")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(10_000_000);
    let mut builder = simloop::EventLoop::builder().seed(1).max_steps(steps + 10);
    if let Some(bytes) = std::env::var("LONG_RUN_MEMORY")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
    {
        builder = builder.trace_memory(bytes);
    }
    let lp = builder.build();
    if let Ok(path) = std::env::var("LONG_RUN_FILE") {
        lp.stream_trace(&path).expect("create the trace file");
    }
    let half = steps / 2;
    let started = std::time::Instant::now();
    lp.run_until_complete(async move {
        let worker = || async move {
            for _ in 0..half {
                simloop::yield_now().await;
            }
        };
        let (_, spawned) = futures::join!(worker(), simloop::create_task(worker()));
        spawned.expect("the spawned worker");
    })
    .expect("the run");
    let ran = started.elapsed();
    lp.close().expect("close");
    if let Ok(Some(path)) = lp.finish_trace_file() {
        println!("trace file: {}", path.display());
    }
    let trace = lp.trace();
    println!(
        "run: {:.2} s ({:.0} ns per step)",
        ran.as_secs_f64(),
        ran.as_nanos() as f64 / steps as f64
    );
    println!(
        "steps: {}, events: {}, trace records in memory: {} bytes ({:.2} bytes per step), \
         truncated: {}, digest: {:#018x}",
        trace.steps(),
        trace.len(),
        trace.memory_bytes(),
        trace.memory_bytes() as f64 / trace.steps() as f64,
        trace.is_truncated(),
        trace.digest()
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines().filter(|l| l.starts_with("VmHWM")) {
            println!(
                "peak resident memory: {}",
                line.trim_start_matches("VmHWM:").trim()
            );
        }
    }
}
