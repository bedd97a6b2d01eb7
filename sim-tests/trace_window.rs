//! Bounded trace memory (issue 12): a loop keeps a window of its trace in memory, spills
//! the rest into a running digest (and, when asked, a file), and replays a file of any
//! length as it reads it.
//!
//! Checked under many seeds, each run twice: a run with a tiny trace memory has the same
//! digest, counts and last events as the same run kept whole; the streamed file is the
//! whole trace's text byte for byte; it replays (loaded and streamed); a changed program
//! diverges from it; a sweep's long failure gets a whole, replayable file when asked and
//! a truncated one (replayed by seed) by default; memory stays within the limit.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use simloop::{create_task_named, gather, sleep, yield_now, Builder, EventLoop, Trace};

/// A program with every kind of event: named spawns, polls, wakes, timers (equal
/// deadlines), callbacks, `choose`, `rng`, `buggify`, and tasks left pending at close.
async fn program(rounds: u32) -> u64 {
    let total = Rc::new(Cell::new(0u64));
    let mut tasks = Vec::new();
    for i in 0..4u64 {
        let total = total.clone();
        tasks.push(create_task_named(format!("worker {i}"), async move {
            for r in 0..rounds {
                match simloop::choose(3) {
                    0 => yield_now().await,
                    1 => sleep(Duration::from_millis(1 + (u64::from(r) % 3))).await,
                    _ => {
                        let h = simloop::get_running_loop().unwrap();
                        let t = total.clone();
                        h.call_soon(move || t.set(t.get() + 1));
                        yield_now().await;
                    }
                }
                if simloop::buggify() {
                    yield_now().await;
                }
                total.set(
                    total
                        .get()
                        .wrapping_mul(31)
                        .wrapping_add(simloop::rng().below(1000) + i),
                );
            }
        }));
    }
    gather(tasks).await;
    simloop::create_task(sleep(Duration::from_secs(3600)));
    total.get()
}

fn run(seed: u64, memory: Option<usize>, stream: Option<&Path>) -> (Trace, u64) {
    let mut b = EventLoop::builder().seed(seed);
    if let Some(m) = memory {
        b = b.trace_memory(m);
    }
    let lp = b.build();
    if let Some(p) = stream {
        lp.stream_trace(p).unwrap();
    }
    let out = lp.run_until_complete(program(40)).unwrap();
    lp.close_quietly().unwrap();
    (lp.trace(), out)
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "simloop-trace-window-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_small_window_keeps_the_digest_counts_and_tail_of_the_whole_run() {
    for seed in 0..60 {
        let (whole, out) = run(seed, None, None);
        assert!(!whole.is_truncated());
        for _ in 0..2 {
            let (small, out2) = run(seed, Some(8192), None);
            assert_eq!(out, out2, "seed {seed}");
            assert!(small.is_truncated(), "seed {seed}: {} events", whole.len());
            assert!(small.memory_bytes() <= 8192, "{}", small.memory_bytes());
            assert_eq!(small.len(), whole.len());
            assert_eq!(small.steps(), whole.steps());
            assert_eq!(small.end_time(), whole.end_time());
            assert_eq!(small.digest(), whole.digest(), "seed {seed}");
            assert_eq!(small, whole);
            assert_eq!(small.render_tail(20), whole.render_tail(20));
            let tail: Vec<_> = small.events().collect();
            let all: Vec<_> = whole.events().collect();
            assert_eq!(tail[..], all[all.len() - tail.len()..]);
            assert_eq!(small.first_difference(&whole), None);
            // It renders in the truncated form, which parses as a truncated trace.
            let text = small.to_string();
            assert!(text.contains("# truncated: the run had"), "{text}");
            assert!(text.parse::<Trace>().unwrap().is_truncated());
        }
    }
    // Different seeds are told apart by the digest alone.
    assert_ne!(
        run(1, Some(8192), None).0.digest(),
        run(2, Some(8192), None).0.digest()
    );
    assert_ne!(run(1, Some(8192), None).0, run(2, Some(8192), None).0);
}

#[test]
fn a_streamed_file_is_the_whole_text() {
    let d = dir("stream");
    for seed in 0..40 {
        let path = d.join(format!("seed-{seed}.trace"));
        let (whole, _) = run(seed, None, None);
        let (small, _) = run(seed, Some(8192), Some(&path));
        assert!(small.is_truncated());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, whole.to_string(), "seed {seed}");
        assert_eq!(text.parse::<Trace>().unwrap().digest(), small.digest());
    }
    std::fs::remove_dir_all(&d).unwrap();
}

/// A body that always fails at its end: every seed's failure has a file to replay.
async fn always_fails() -> Result<(), String> {
    let v = program(40).await;
    Err(format!("ended with {v}"))
}

#[test]
fn whole_files_replay_loaded_and_streamed_under_many_seeds() {
    let d = dir("replay");
    for seed in 0..25 {
        let err = Builder::new()
            .name(format!("seed{seed}"))
            .seed(seed)
            .trace_dir(&d)
            .trace_memory(8192)
            .whole_trace_files(true)
            .try_check(always_fails)
            .unwrap_err();
        let path = err.trace_path.clone().unwrap();
        assert!(
            err.replay_command.contains("SIMLOOP_REPLAY="),
            "{}",
            err.replay_command
        );
        // Loaded (a small file) and streamed (forced), each twice.
        for above in [u64::MAX, 0, u64::MAX, 0] {
            let before = simloop::__private::set_stream_replay_above(above);
            let again = Builder::new()
                .name(format!("again{seed}"))
                .trace_dir(d.join("again"))
                .trace_memory(8192)
                .replay(&path)
                .try_check(always_fails)
                .unwrap_err();
            simloop::__private::set_stream_replay_above(before);
            assert_eq!(
                again.message, err.message,
                "seed {seed}, above {above}: {again}"
            );
            assert_eq!(again.trace.digest(), err.trace.digest(), "seed {seed}");
            assert_eq!(again.trace, err.trace, "seed {seed}");
        }
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_streamed_replay_of_a_changed_program_diverges() {
    let d = dir("diverge");
    let path = d.join("recorded.trace");
    run(7, Some(8192), Some(&path));
    let before = simloop::__private::set_stream_replay_above(0);
    // One round fewer: the run ends before the file does.
    let err = Builder::new()
        .trace_dir(&d)
        .replay(&path)
        .try_check(|| async {
            program(39).await;
            Ok::<(), String>(())
        })
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("diverged") || text.contains("Divergence") || text.contains("expected"),
        "{text}"
    );
    assert!(
        err.replay_command.contains("SIMLOOP_REPLAY="),
        "{}",
        err.replay_command
    );
    // A truncated file is refused with a clear message.
    let truncated = d.join("truncated.trace");
    std::fs::write(&truncated, run(7, Some(8192), None).0.to_string()).unwrap();
    let err = Builder::new()
        .trace_dir(&d)
        .replay(&truncated)
        .try_check(|| async { Ok::<(), String>(()) })
        .unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    simloop::__private::set_stream_replay_above(before);
    std::fs::remove_dir_all(&d).unwrap();
}

/// A body that fails after a long run, at a seed-dependent point.
async fn long_failure() -> Result<(), String> {
    program(200).await;
    if simloop::rng().below(3) == 0 {
        Err("the third that fails".into())
    } else {
        Ok(())
    }
}

#[test]
fn a_long_failure_gets_a_whole_replayable_file_when_asked() {
    let d = dir("whole");
    let err = Builder::new()
        .name("whole")
        .trace_dir(&d)
        .trace_memory(8192)
        .whole_trace_files(true)
        .try_check(long_failure)
        .unwrap_err();
    assert!(err.trace.is_truncated());
    let path = err.trace_path.clone().unwrap();
    assert!(
        err.replay_command.contains("SIMLOOP_REPLAY="),
        "{}",
        err.replay_command
    );
    assert!(
        err.not_shrunk
            .as_deref()
            .unwrap_or("")
            .contains("trace memory"),
        "{err}"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed: Trace = text.parse().unwrap();
    assert!(!parsed.is_truncated());
    assert_eq!(parsed.digest(), err.trace.digest());
    assert_eq!(parsed.len(), err.trace.len());
    for above in [0, u64::MAX] {
        let before = simloop::__private::set_stream_replay_above(above);
        let again = Builder::new()
            .trace_dir(d.join("again"))
            .replay(&path)
            .try_check(long_failure)
            .unwrap_err();
        simloop::__private::set_stream_replay_above(before);
        assert_eq!(again.message, err.message);
        assert_eq!(again.trace.digest(), err.trace.digest());
    }
    // By default: a truncated file and the seed line only.
    let err = Builder::new()
        .name("default")
        .trace_dir(&d)
        .trace_memory(8192)
        .try_check(long_failure)
        .unwrap_err();
    assert!(
        !err.replay_command.contains("SIMLOOP_REPLAY="),
        "{}",
        err.replay_command
    );
    assert!(
        err.replay_command.contains("SIMLOOP_SEED="),
        "{}",
        err.replay_command
    );
    let text = std::fs::read_to_string(err.trace_path.unwrap()).unwrap();
    assert!(text.parse::<Trace>().unwrap().is_truncated());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn memory_stays_within_the_limit_over_a_long_run() {
    let lp = EventLoop::builder().seed(1).trace_memory(64 << 10).build();
    let peak = Rc::new(Cell::new(0usize));
    lp.run_until_complete(async {
        let a = async {
            for _ in 0..300_000 {
                yield_now().await;
            }
        };
        let b = async {
            for _ in 0..1000 {
                sleep(Duration::from_millis(1)).await;
                simloop::create_task(async {}).await.unwrap();
            }
        };
        futures::join!(a, b);
    })
    .unwrap();
    let t = lp.trace();
    peak.set(t.memory_bytes());
    assert!(t.steps() > 300_000);
    assert!(peak.get() <= 64 << 10, "{}", peak.get());
    assert!(t.is_truncated());
}
