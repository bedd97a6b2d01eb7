//! `simloop::fuzz`: the `Bytes` policy is total and deterministic (empty, all-0x00,
//! all-0xff and 300 ChaCha8-random inputs: every run completes, the same input twice gives
//! the same trace, no input gives a policy error), runs out into FIFO, and chooses among
//! timers due at the same instant; a known input reproduces a known schedule (insta
//! snapshot); a crash input turns into a trace that replays to the same failure with a
//! byte-identical trace (a found lost-update input, and the deep-bug crash the fuzzer found,
//! `sim-tests/data/deep_bug.crash`); `SIMLOOP_FUZZ_INPUT` through `Env::from_lookup` and
//! `Builder::run`; `check_with`'s split of the input. No test reads the real environment.

#[allow(dead_code)]
#[path = "../examples/deep_bug/program.rs"]
mod deep_bug;

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use simloop::fuzz::{self, Bytes};
use simloop::{Builder, Env, EventKind, EventLoop, FailureKind, Fifo, Trace};

/// A program that passes under every schedule: tasks that yield and sleep, a gather,
/// callbacks and three timers due at the same instant. It logs what ran, in order.
async fn busy(log: Rc<RefCell<Vec<String>>>) {
    let lp = simloop::get_running_loop().unwrap();
    for i in 0..3 {
        let l = log.clone();
        lp.call_later(Duration::from_millis(2), move || {
            l.borrow_mut().push(format!("timer {i}"))
        });
    }
    let l = log.clone();
    lp.call_soon(move || l.borrow_mut().push("soon".to_owned()));
    let workers = (0..4).map(|i| {
        let l = log.clone();
        async move {
            for round in 0..3 {
                l.borrow_mut().push(format!("w{i}.{round}"));
                if (i + round) % 2 == 0 {
                    simloop::yield_now().await;
                } else {
                    simloop::sleep(Duration::from_millis(1)).await;
                }
            }
            i
        }
    });
    let out = simloop::gather(workers).await;
    assert_eq!(out, [0, 1, 2, 3]);
    simloop::sleep(Duration::from_millis(5)).await;
}

fn busy_body() -> impl std::future::Future<Output = ()> {
    busy(Rc::new(RefCell::new(Vec::new())))
}

/// Runs `busy` under `Bytes(data)`: its log and its trace.
fn run_busy(data: &[u8]) -> (Vec<String>, String) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let lp = EventLoop::builder().policy(Bytes::new(data)).build();
    lp.run_until_complete(busy(log.clone()))
        .unwrap_or_else(|e| panic!("input {data:?}: {e:#}"));
    let l = log.borrow().clone();
    (l, lp.trace().to_string())
}

fn inputs() -> Vec<Vec<u8>> {
    let mut v = vec![
        Vec::new(),
        vec![0x00; 64],
        vec![0xff; 64],
        vec![0xff; 1],
        vec![1; 300],
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    for _ in 0..300 {
        let len = (rng.next_u32() % 80) as usize;
        let mut d = vec![0; len];
        rng.fill_bytes(&mut d);
        v.push(d);
    }
    v
}

fn tmp_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("simloop-fuzz-tests-{name}"))
}

fn no_env() -> Env {
    Env::from_lookup(|_| None).unwrap()
}

#[test]
fn bytes_policy_is_total_and_deterministic() {
    let mut schedules = std::collections::BTreeSet::new();
    for data in inputs() {
        let (log1, trace1) = run_busy(&data);
        let (log2, trace2) = run_busy(&data);
        assert_eq!(trace1, trace2, "input {data:?}: two runs differ");
        assert_eq!(log1, log2);
        assert!(trace1.starts_with("simloop-trace v1 policy=bytes seed=none\n"));
        // The same through the fuzz entry points.
        let t = fuzz::to_trace(&data, busy_body);
        assert_eq!(t.to_string(), trace1);
        let summary = Builder::new()
            .env(no_env())
            .try_fuzz_check(&data, busy_body)
            .unwrap_or_else(|f| panic!("input {data:?} failed:\n{f}"));
        assert_eq!(summary.runs, 1);
        assert_eq!(summary.steps, t.steps());
        schedules.insert(log1);
    }
    // The bytes really steer: many different schedules, not one.
    assert!(schedules.len() > 100, "only {} schedules", schedules.len());
}

#[test]
fn bytes_run_out_into_fifo() {
    let fifo = EventLoop::builder().policy(Fifo).build();
    let log = Rc::new(RefCell::new(Vec::new()));
    fifo.run_until_complete(busy(log.clone())).unwrap();
    let (bytes_log, bytes_trace) = run_busy(&[]);
    assert_eq!(bytes_log, *log.borrow());
    let events = |t: &Trace| t.events().collect::<Vec<_>>();
    let bytes_trace: Trace = bytes_trace.parse().unwrap();
    assert_eq!(events(&bytes_trace), events(&fifo.trace()));

    // Index 0 everywhere is FIFO too, and so is a long input once it is used up: the
    // tail of the schedule after the bytes run out matches FIFO's choices.
    let (zeros_log, _) = run_busy(&[0; 500]);
    assert_eq!(zeros_log, *log.borrow());
}

#[test]
fn bytes_choose_among_timers_due_at_the_same_instant() {
    let timer_order = |data: &[u8]| -> Vec<String> {
        let (log, _) = run_busy(data);
        log.into_iter().filter(|l| l.starts_with("timer")).collect()
    };
    assert_eq!(timer_order(&[]), ["timer 0", "timer 1", "timer 2"]);
    let orders: std::collections::BTreeSet<Vec<String>> =
        inputs().iter().map(|d| timer_order(d)).collect();
    assert_eq!(orders.len(), 6, "every order of the 3 timers: {orders:?}");
}

#[test]
fn a_known_input_reproduces_a_known_schedule() {
    let trace = fuzz::to_trace(&[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], busy_body);
    insta::assert_snapshot!("bytes_known_input", trace.to_string());
}

/// Two read-yield-write increments, the second after two yields: FIFO passes, some
/// schedules lose an update.
async fn lost_update() -> Result<(), String> {
    let n = Rc::new(Cell::new(0));
    let incr = |n: Rc<Cell<u32>>, delay: u32| async move {
        for _ in 0..delay {
            simloop::yield_now().await;
        }
        let v = n.get();
        simloop::yield_now().await;
        n.set(v + 1);
    };
    simloop::gather([incr(n.clone(), 0), incr(n.clone(), 2)]).await;
    if n.get() == 2 {
        Ok(())
    } else {
        Err(format!("lost update: counter is {}", n.get()))
    }
}

#[test]
fn crash_input_to_trace_to_replay_round_trip() {
    let dir = tmp_dir("round-trip");
    let b = || {
        Builder::new()
            .env(no_env())
            .trace_dir(&dir)
            .name("lost_update")
    };
    // The fuzzer's job, done by hand: the first short input (bytes 0..4) that fails.
    let short = (1..=3u32).flat_map(|len| {
        (0..4u32.pow(len)).map(move |k| (0..len).map(|i| (k >> (2 * i) & 3) as u8).collect())
    });
    let crash: Vec<u8> = short
        .into_iter()
        .find(|d: &Vec<u8>| b().try_fuzz_check(d, lost_update).is_err())
        .expect("some short schedule loses the update");
    assert!(b().try_fuzz_check(&[], lost_update).is_ok(), "FIFO passes");

    let failure = b().try_fuzz_check(&crash, lost_update).unwrap_err();
    assert_eq!(failure.kind, FailureKind::ReturnedErr);
    assert!(failure.message.contains("lost update: counter is 1"));
    assert_eq!(failure.seed, None);
    assert!(
        failure
            .source
            .starts_with(&format!("fuzz input ({} bytes", crash.len())),
        "{}",
        failure.source
    );
    assert_eq!(failure.policy, "bytes");
    assert!(failure.to_string().contains("under:      fuzz input"));
    assert!(failure.replay_command.starts_with("cargo fuzz run "));
    assert!(failure.replay_command.contains("SIMLOOP_FUZZ_INPUT="));
    assert!(failure.replay_command.contains("SIMLOOP_REPLAY="));
    // The input was saved next to the trace, byte for byte.
    let saved = failure.trace_path.as_ref().unwrap().with_extension("input");
    assert_eq!(std::fs::read(&saved).unwrap(), crash);

    // Crash -> trace -> replay: the same failure, a byte-identical trace.
    let trace = fuzz::to_trace(&crash, lost_update);
    assert_eq!(trace.to_string(), failure.trace.to_string());
    let replayed = b().replay(&trace).try_check(lost_update).unwrap_err();
    assert_eq!(replayed.message, failure.message);
    assert_eq!(replayed.trace.to_string(), trace.to_string());
    // Through the trace text and the written trace file as well.
    let from_text = b()
        .replay(trace.to_string())
        .try_check(lost_update)
        .unwrap_err();
    assert_eq!(from_text.trace.to_string(), trace.to_string());
    let from_file = b()
        .replay(failure.trace_path.clone().unwrap())
        .try_check(lost_update)
        .unwrap_err();
    assert_eq!(from_file.message, failure.message);
    assert_eq!(from_file.trace.to_string(), trace.to_string());
}

#[test]
fn the_deep_bug_crash_the_fuzzer_found_replays_without_the_fuzzer() {
    let crash = std::fs::read("sim-tests/data/deep_bug.crash").unwrap();
    let dir = tmp_dir("deep-bug");
    // asyncio's order never takes the fused path.
    let fifo = EventLoop::builder().policy(Fifo).build();
    fifo.run_until_complete(deep_bug::body()).unwrap();

    let trace = fuzz::to_trace(&crash, deep_bug::body);
    let message = "a fused commit skipped the lock";
    let env = Env::from_lookup(|k| {
        (k == "SIMLOOP_FUZZ_INPUT").then(|| "sim-tests/data/deep_bug.crash".to_owned())
    })
    .unwrap();
    let failure = Builder::new()
        .env(env)
        .trace_dir(&dir)
        .name("deep_bug")
        .try_check(deep_bug::body)
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Panicked);
    assert!(failure.message.contains(message), "{}", failure.message);
    assert_eq!(
        failure.source,
        format!(
            "fuzz input sim-tests/data/deep_bug.crash ({} bytes)",
            crash.len()
        )
    );
    assert!(
        failure
            .replay_command
            .starts_with("SIMLOOP_FUZZ_INPUT=sim-tests/data/deep_bug.crash cargo test"),
        "{}",
        failure.replay_command
    );
    assert!(failure.replay_command.contains("SIMLOOP_REPLAY="));
    assert_eq!(failure.trace.to_string(), trace.to_string());

    let replayed = Builder::new()
        .env(no_env())
        .trace_dir(&dir)
        .replay(&trace)
        .try_check(deep_bug::body)
        .unwrap_err();
    assert!(replayed.message.contains(message));
    assert_eq!(replayed.trace.to_string(), trace.to_string());
}

#[test]
fn simloop_fuzz_input_in_env() {
    let env = Env::from_lookup(|k| (k == "SIMLOOP_FUZZ_INPUT").then(|| "crash-1".into())).unwrap();
    assert_eq!(env.fuzz_input, Some(PathBuf::from("crash-1")));
    assert_eq!(env.replay, None);
    assert_eq!(no_env().fuzz_input, None);
    let blank = Env::from_lookup(|k| (k == "SIMLOOP_FUZZ_INPUT").then(|| "  ".into())).unwrap();
    assert_eq!(blank.fuzz_input, None);
    let err = Env::from_lookup(|k| match k {
        "SIMLOOP_FUZZ_INPUT" => Some("crash-1".into()),
        "SIMLOOP_REPLAY" => Some("a.trace".into()),
        _ => None,
    })
    .unwrap_err();
    assert_eq!(err.var, "SIMLOOP_FUZZ_INPUT");
    assert_eq!(
        err.to_string(),
        "SIMLOOP_FUZZ_INPUT: expected a path to a fuzz input, and SIMLOOP_REPLAY unset \
         (both replay one run: set one), got \"crash-1\""
    );

    // A passing input runs once (no sweep); a missing file is bad input.
    let dir = tmp_dir("env");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("passing.input");
    std::fs::write(&file, [0u8; 4]).unwrap();
    let f = file.clone();
    let env =
        Env::from_lookup(move |k| (k == "SIMLOOP_FUZZ_INPUT").then(|| f.display().to_string()))
            .unwrap();
    let summary = Builder::new()
        .env(env)
        .seeds(0..500)
        .try_check(busy_body)
        .unwrap();
    assert_eq!((summary.runs, summary.determinism_checked), (1, 0));

    let env =
        Env::from_lookup(|k| (k == "SIMLOOP_FUZZ_INPUT").then(|| "/no/such/crash".into())).unwrap();
    let bad = Builder::new().env(env).try_check(busy_body).unwrap_err();
    assert_eq!(bad.kind, FailureKind::BadInput);
    assert!(
        bad.message
            .starts_with("SIMLOOP_FUZZ_INPUT: cannot read the fuzz input /no/such/crash"),
        "{}",
        bad.message
    );
}

#[derive(Arbitrary, Debug, Clone, PartialEq)]
enum Op {
    Push(u8),
    Yield,
}

#[test]
fn check_with_draws_the_value_first_and_schedules_with_the_rest() {
    let data = [2u8, 0, 7, 1, 9, 0xff, 0xff];
    let make = |u: &mut Unstructured<'_>| u.arbitrary::<Vec<Op>>();
    let (ops, rest) = fuzz::split(&data, make).unwrap();
    let used = data.len() - rest.len();
    assert_eq!(&data[used..], rest);
    assert_eq!(
        ops,
        Vec::<Op>::arbitrary(&mut Unstructured::new(&data)).unwrap()
    );

    let body = |ops: &Vec<Op>| {
        let ops = ops.clone();
        async move {
            let tasks = (0..2).map(|_| {
                let ops = ops.clone();
                async move {
                    for op in ops {
                        if op == Op::Yield {
                            simloop::yield_now().await;
                        }
                    }
                }
            });
            simloop::gather(tasks).await;
        }
    };
    let (ops2, trace) = fuzz::to_trace_with(&data, make, body).unwrap();
    assert_eq!(ops2, ops);
    assert_eq!(
        trace.to_string(),
        fuzz::to_trace(rest, || body(&ops)).to_string()
    );
    // Passes.
    fuzz::check_with(&data, make, body);
    // An input `make` rejects is skipped, not a failure: the body is never run.
    let reject = |_: &mut Unstructured<'_>| -> arbitrary::Result<()> {
        Err(arbitrary::Error::IncorrectFormat)
    };
    fuzz::check_with(&data, reject, |_: &()| async { panic!("never runs") as () });
}

#[test]
fn caught_task_panics_do_not_fail_a_fuzz_check() {
    // A task panic the body observes (TaskError::Panicked) is not a failure; the panic
    // is kept from the panic hook (libFuzzer's would abort).
    fuzz::check(&[1, 0, 1], || async {
        let t = simloop::create_task(async { panic!("expected") as u32 });
        let r = t.await;
        assert!(matches!(r, Err(simloop::TaskError::Panicked(_))));
    });
    let f = Builder::new()
        .env(no_env())
        .trace_dir(tmp_dir("panic"))
        .try_fuzz_check(&[], || async { panic!("boom") as () })
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Panicked);
    assert_eq!(f.message, "boom");
    let trace = fuzz::to_trace(&[], || async {
        simloop::yield_now().await;
    });
    assert!(trace
        .events()
        .any(|e| matches!(e.kind, EventKind::Poll { .. })));
}
