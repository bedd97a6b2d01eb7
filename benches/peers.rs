//! simloop side by side with tokio's current-thread runtime (paused clock) and
//! async-executor's `LocalExecutor`, on the six workloads of `benches/workloads`.
//!
//! Run: `cargo bench --bench peers`. Each benchmark is one whole workload; divide the
//! reported time by the workload's operation count for ns/op (`benches/README.md`).

mod workloads;

use divan::Bencher;
use workloads::*;

fn main() {
    divan::main();
}

macro_rules! simloop_benches {
    ($w:ident, $expect:expr) => {
        #[divan::bench(sample_count = 10, sample_size = 1)]
        fn simloop_fifo(b: Bencher<'_, '_>) {
            b.bench_local(|| {
                let lp = simloop_w::fifo();
                assert_eq!(simloop_w::$w(&lp), $expect);
            });
        }

        #[divan::bench(sample_count = 10, sample_size = 1)]
        fn simloop_random(b: Bencher<'_, '_>) {
            b.bench_local(|| {
                let lp = simloop_w::random();
                assert_eq!(simloop_w::$w(&lp), $expect);
            });
        }

        #[divan::bench(sample_count = 10, sample_size = 1)]
        fn tokio(b: Bencher<'_, '_>) {
            let rt = tokio_w::rt();
            b.bench_local(|| assert_eq!(tokio_w::$w(&rt), $expect));
        }
    };
}

/// W1 spawn_join: 100,000 trivial tasks spawned from a root task and awaited.
mod w1_spawn_join {
    use super::*;
    simloop_benches!(w1, W1_TASKS);

    #[divan::bench(sample_count = 10, sample_size = 1)]
    fn async_executor(b: Bencher<'_, '_>) {
        b.bench_local(|| assert_eq!(executor_w::w1(), W1_TASKS));
    }
}

/// W2 yield_storm: 1,000 tasks × 1,000 yields (1M scheduling steps).
mod w2_yield_storm {
    use super::*;
    simloop_benches!(w2, W2_TASKS * W2_YIELDS);

    #[divan::bench(sample_count = 10, sample_size = 1)]
    fn async_executor(b: Bencher<'_, '_>) {
        b.bench_local(|| assert_eq!(executor_w::w2(), W2_TASKS * W2_YIELDS));
    }
}

/// W3 ping_pong: 200,000 round trips over bounded(1) futures channels.
mod w3_ping_pong {
    use super::*;
    simloop_benches!(w3, W3_MESSAGES);

    #[divan::bench(sample_count = 10, sample_size = 1)]
    fn async_executor(b: Bencher<'_, '_>) {
        b.bench_local(|| assert_eq!(executor_w::w3(), W3_MESSAGES));
    }
}

/// W4 timers: 10,000 tasks × 10 virtual sleeps of 1..1000 ms (async-executor has no
/// virtual clock, so it has no entry here).
mod w4_timers {
    use super::*;
    simloop_benches!(w4, W4_TASKS * W4_SLEEPS);
}

/// W5 many_sims: one whole simulation (new loop, 10 tasks × 10 yields + a message each,
/// drop) per iteration: the time is per simulation.
mod w5_many_sims {
    use super::*;

    #[divan::bench(sample_count = 100, sample_size = 100)]
    fn simloop_fifo() -> u64 {
        simloop_w::w5(simloop_w::fifo())
    }

    #[divan::bench(sample_count = 100, sample_size = 100)]
    fn simloop_random() -> u64 {
        simloop_w::w5(simloop_w::random())
    }

    #[divan::bench(sample_count = 100, sample_size = 100)]
    fn tokio() -> u64 {
        tokio_w::w5()
    }

    #[divan::bench(sample_count = 100, sample_size = 100)]
    fn async_executor() -> u64 {
        executor_w::w5()
    }
}

/// W6 mutex_contention: 100 tasks × 1,000 acquisitions of `futures::lock::Mutex`, yielding
/// while holding it.
mod w6_mutex_contention {
    use super::*;
    simloop_benches!(w6, W6_TASKS * W6_ACQUISITIONS);

    #[divan::bench(sample_count = 10, sample_size = 1)]
    fn async_executor(b: Bencher<'_, '_>) {
        b.bench_local(|| assert_eq!(executor_w::w6(), W6_TASKS * W6_ACQUISITIONS));
    }
}
