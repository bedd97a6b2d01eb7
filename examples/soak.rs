//! The soak program of `sim-tests/soak/run.sh` (issue 13): one test body using many
//! features, and three modes the script drives.
//!
//! - `digests N`: runs seeds `0..N` on fresh seeded loops, twice in this process, and
//!   prints one line `digest=<hex> fired=<n> steps=<n>` (the combined trace digest). The
//!   two passes must agree; the script compares the line across processes and builds.
//! - `memory N`: a sweep (`Builder::try_check`) of seeds `0..N` in chunks; prints the RSS
//!   (`VmRSS` of `/proc/self/status`) after the first chunk and at the end.
//! - `steplimit DIR`: a sweep of one seed of a body that spins for ever (the step-limit
//!   failure path); prints the time, the trace file's size, the RSS at the end and at
//!   its peak (`VmHWM`), and the error.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use simloop::{Builder, Env, EventLoop, TaskGroup};

/// The body: tasks, timers with equal deadlines, cancellation, gather, wait_for, a task
/// group, a channel, call_soon/call_later callbacks, buggify, `choose` and `rng`. Returns
/// how often buggify fired.
async fn program() -> u32 {
    let fired = Rc::new(Cell::new(0u32));
    let log = Rc::new(RefCell::new(Vec::new()));
    let lp = simloop::get_running_loop().unwrap();
    // A user-level decision and random data, both controlled by the run's policy.
    let producers = 1 + simloop::choose(3) as u64;
    let mut rng = simloop::rng();
    let delays: Vec<Duration> = (0..producers)
        .map(|_| rng.between(Duration::from_millis(1), Duration::from_millis(4)))
        .collect();
    // Callbacks and timers with equal deadlines.
    for i in 0..3 {
        let l = log.clone();
        lp.call_soon(move || l.borrow_mut().push(i));
        let l = log.clone();
        lp.call_later(Duration::from_millis(5), move || {
            l.borrow_mut().push(10 + i)
        });
    }
    // Workers with equal sleeps, some hit by buggify.
    let workers = simloop::gather((0..4u32).map(|i| {
        let f = fired.clone();
        async move {
            for _ in 0..3 {
                if simloop::buggify() {
                    f.set(f.get() + 1);
                    simloop::sleep(Duration::from_millis(1)).await;
                }
                simloop::sleep(Duration::from_millis(5)).await;
                simloop::yield_now().await;
            }
            i
        }
    }));
    // A task cancelled mid-sleep, and a wait_for that times out.
    let victim = simloop::create_task(simloop::sleep(Duration::from_secs(60)));
    let slow = simloop::wait_for(
        simloop::sleep(Duration::from_millis(50)),
        Duration::from_millis(7),
    );
    // A task group.
    let tg = TaskGroup::new();
    for i in 0..3u64 {
        let l = log.clone();
        tg.spawn(async move {
            simloop::sleep(Duration::from_millis(2 * (i % 2))).await;
            l.borrow_mut().push(100 + i as i32);
        });
    }
    // A channel: `producers` senders with random delays, one receiver.
    let (tx, mut rx) = futures::channel::mpsc::unbounded::<u64>();
    for (i, d) in delays.into_iter().enumerate() {
        let tx = tx.clone();
        simloop::create_task(async move {
            simloop::sleep(d).await;
            tx.unbounded_send(i as u64).unwrap();
        });
    }
    drop(tx);
    let received = simloop::create_task(async move {
        let mut n = 0u64;
        while futures::StreamExt::next(&mut rx).await.is_some() {
            n += 1;
        }
        n
    });
    let sum: u32 = workers.await.into_iter().sum();
    assert_eq!(sum, 6);
    assert!(slow.await.is_err());
    victim.cancel();
    assert!(victim.await.unwrap_err().is_cancelled());
    tg.join().await.unwrap();
    assert_eq!(received.await.unwrap(), producers);
    // Left pending: the shutdown cancels it.
    let _left = simloop::create_task(std::future::pending::<()>());
    assert_eq!(log.borrow().len(), 9);
    fired.get()
}

fn digests(n: u64) -> String {
    let mut digest = 0u64;
    let mut fired = 0u64;
    let mut steps = 0u64;
    for seed in 0..n {
        let lp = EventLoop::builder().seed(seed).build();
        fired += u64::from(lp.run_until_complete(program()).unwrap());
        steps += lp.steps();
        digest = digest.rotate_left(5) ^ lp.trace().digest();
        lp.close_quietly().unwrap();
    }
    format!("digest={digest:#018x} fired={fired} steps={steps}")
}

/// A `/proc/self/status` figure in kB (`VmRSS`: now; `VmHWM`: the peak), 0 if unknown.
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn rss_kb() -> u64 {
    status_kb("VmRSS:")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    match arg(1).as_str() {
        "digests" => {
            let n: u64 = arg(2).parse().expect("digests N");
            let (a, b) = (digests(n), digests(n));
            assert_eq!(a, b, "two passes in one process differ");
            println!("{a}");
        }
        "memory" => {
            let n: u64 = arg(2).parse().expect("memory N");
            let chunk = (n / 10).max(1);
            let sweep = |range: std::ops::Range<u64>| {
                let s = Builder::new()
                    .env(Env::default())
                    .seeds(range)
                    .try_check(|| async {
                        program().await;
                    })
                    .unwrap_or_else(|f| panic!("{f}"));
                s.runs
            };
            let mut runs = sweep(0..chunk);
            let start = rss_kb();
            let mut at = chunk;
            while at < n {
                let end = (at + chunk).min(n);
                runs += sweep(at..end);
                at = end;
            }
            println!("runs={runs} rss_start_kb={start} rss_end_kb={}", rss_kb());
        }
        "steplimit" => {
            let t = Instant::now();
            let f = Builder::new()
                .env(Env::default())
                .seeds(0..1)
                .name("soak_steplimit")
                .trace_dir(arg(2))
                .try_check(|| async {
                    let spin = async {
                        loop {
                            simloop::yield_now().await;
                        }
                    };
                    let () = spin.await;
                })
                .unwrap_err();
            let size = f
                .trace_path
                .as_ref()
                .and_then(|p| std::fs::metadata(p).ok())
                .map_or(0, |m| m.len());
            println!(
                "secs={:.1} trace_file_bytes={size} rss_end_kb={} max_rss_kb={} error={}",
                t.elapsed().as_secs_f64(),
                rss_kb(),
                status_kb("VmHWM:"),
                f.message.split('.').next().unwrap_or("")
            );
        }
        _ => {
            eprintln!("usage: soak digests N | memory N | steplimit DIR");
            std::process::exit(2);
        }
    }
}
