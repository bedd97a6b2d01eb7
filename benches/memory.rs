//! Peak heap memory of W1 (100,000 spawned-and-awaited tasks) on each executor, and the
//! trace's memory per scheduling step. Run: `cargo bench --bench memory`.

mod workloads;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use workloads::*;

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let now = if new_size >= layout.size() {
                LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                    - layout.size()
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed) - layout.size()
                    + new_size
            };
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Peak bytes allocated while `f` runs, above what was live before it.
fn peak_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let r = f();
    (r, PEAK.load(Ordering::Relaxed) - base)
}

fn main() {
    println!("W1 spawn_join ({W1_TASKS} tasks): peak heap bytes above baseline");
    let (n, simloop_fifo) = peak_of(|| simloop_w::w1(&simloop_w::fifo()));
    assert_eq!(n, W1_TASKS);
    let (n, simloop_random) = peak_of(|| simloop_w::w1(&simloop_w::random()));
    assert_eq!(n, W1_TASKS);
    let (n, tokio) = peak_of(|| tokio_w::w1(&tokio_w::rt()));
    assert_eq!(n, W1_TASKS);
    let (n, executor) = peak_of(executor_w::w1);
    assert_eq!(n, W1_TASKS);
    for (name, bytes) in [
        ("simloop fifo", simloop_fifo),
        ("simloop random", simloop_random),
        ("tokio current_thread", tokio),
        ("async-executor", executor),
    ] {
        println!(
            "  {name:<22} {:>8.1} MiB  ({:>5.0} bytes/task)",
            bytes as f64 / 1048576.0,
            bytes as f64 / W1_TASKS as f64
        );
    }

    let lp = simloop_w::random();
    let n = simloop_w::w2(&lp);
    assert_eq!(n, W2_TASKS * W2_YIELDS);
    let t = lp.trace();
    println!(
        "W2 yield_storm trace: {} steps, {} events, {:.1} bytes/step in memory",
        t.steps(),
        t.len(),
        t.memory_bytes() as f64 / t.steps() as f64
    );

    println!("Bounded trace (1 MiB of trace memory): peak heap of a two-task yield loop");
    for steps in [100_000u64, 1_000_000, 4_000_000] {
        let ((), peak) = peak_of(|| {
            let lp = simloop::EventLoop::builder()
                .seed(1)
                .trace_memory(1 << 20)
                .build();
            lp.run_until_complete(async move {
                let worker = move || async move {
                    for _ in 0..steps / 2 {
                        simloop::yield_now().await;
                    }
                };
                let (_, spawned) = futures::join!(worker(), simloop::create_task(worker()));
                spawned.unwrap();
            })
            .unwrap();
            lp.close().unwrap();
        });
        println!(
            "  {steps:>9} steps: {:>6.2} MiB peak heap",
            peak as f64 / 1048576.0
        );
    }
}
