//! What learning costs a sweep: `check` over 1,000 seeds of a small passing program
//! (four tasks of 25 polls each, sharing a counter, with a timer each), with the
//! default sweep (which learns from await-site coverage) and with the rotation alone
//! (`.adaptive(false)`).
//!
//! Run: `cargo bench --bench sweep`; divide by 1,000 for the time per seed.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use divan::Bencher;
use simloop::{Builder, Env};

fn main() {
    divan::main();
}

/// Seeds per sweep.
const SEEDS: u64 = 1000;

async fn program() {
    let n = Rc::new(Cell::new(0u32));
    let tasks: Vec<_> = (0..4u64)
        .map(|i| {
            let n = n.clone();
            simloop::create_task(async move {
                for k in 0..25 {
                    n.set(n.get() + 1);
                    if k == 12 {
                        simloop::sleep(Duration::from_millis(i + 1)).await;
                    } else {
                        simloop::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(n.get(), 100);
}

fn sweep(learn: Option<bool>) -> u64 {
    let b = Builder::new()
        .env(Env::default())
        .name("sweep bench")
        .seeds(0..SEEDS);
    let b = match learn {
        Some(on) => b.adaptive(on),
        None => b,
    };
    b.try_check(program).expect("passes").runs
}

/// The default sweep: the rotation, learning.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn default_learning(b: Bencher<'_, '_>) {
    b.bench_local(|| assert_eq!(sweep(None), SEEDS));
}

/// The rotation alone.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn rotation_alone(b: Bencher<'_, '_>) {
    b.bench_local(|| assert_eq!(sweep(Some(false)), SEEDS));
}
