//! The tutorial examples (`examples/g1_…` to `g7_…`, asyncio-api.md section G) and
//! `examples/seeded_trace.rs`, included as modules and run through their `program`
//! functions: exact output lines and final virtual time under an explicit FIFO loop
//! (whatever `SIMLOOP_SEED` says), FIFO determinism, and for G.1 and G.7 a 200-seed
//! `Random` sweep (each task keeps its order, same lines, 4 ms, more than one
//! interleaving, and every seed replays to the same trace). Also checks that the
//! seeded_trace example's trace text parses back.

#[allow(dead_code)]
#[path = "../examples/g2_new_event_loop.rs"]
mod g2;
#[allow(dead_code)]
#[path = "../examples/g3_get_event_loop.rs"]
mod g3;
#[allow(dead_code)]
#[path = "../examples/g4_set_event_loop.rs"]
mod g4;
#[allow(dead_code)]
#[path = "../examples/g5_get_running_loop.rs"]
mod g5;
#[allow(dead_code)]
#[path = "../examples/g6_run_until_complete.rs"]
mod g6;
#[allow(dead_code)]
#[path = "../examples/g7_create_task_gather.rs"]
mod g7;
#[allow(dead_code)]
#[path = "../examples/seeded_trace.rs"]
mod seeded;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use seeded::g1; // seeded_trace.rs includes g1_run_gather.rs; one copy is enough
use simloop::{EventLoop, Fifo, Trace};

/// The examples' `Print`: where their lines go.
type Print = g1::Print;
/// The signature of G.1's, G.6's and G.7's `program`.
type Program = fn(&EventLoop, Print) -> Duration;

const G1_LINES: [&str; 10] = [
    "Started", "0", "a", "1", "b", "2", "c", "3", "d", "Finished",
];
const G7_LINES: [&str; 8] = ["0", "a", "1", "b", "2", "c", "3", "d"];
const FOUR_MS: Duration = Duration::from_millis(4);

/// A printer that records lines, and the lines it recorded.
fn recorder() -> (Print, Rc<RefCell<Vec<String>>>) {
    let lines = Rc::new(RefCell::new(Vec::new()));
    let sink = lines.clone();
    (Rc::new(move |l| sink.borrow_mut().push(l)), lines)
}

/// Runs `f` with a recorder and returns its result and the recorded lines.
fn capture<R>(f: impl FnOnce(Print) -> R) -> (R, Vec<String>) {
    let (print, lines) = recorder();
    let r = f(print);
    let lines = lines.borrow().clone();
    (r, lines)
}

/// A FIFO loop regardless of `SIMLOOP_SEED` (builders never read the environment).
fn fifo() -> EventLoop {
    EventLoop::builder().policy(Fifo).build()
}

/// Runs `f` on a fresh thread, so the thread's current loop starts unset.
fn on_fresh_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::spawn(f).join().expect("thread panicked")
}

/// The loop Debug form `new_event_loop()` gives a fresh loop in this environment.
fn expected_new_loop_debug() -> String {
    let seed = match std::env::var("SIMLOOP_SEED") {
        Ok(s) => format!("{:#x}", simloop::parse_seed(&s).unwrap()),
        Err(_) => "none".to_string(),
    };
    format!("<EventLoop running=false closed=false seed={seed}>")
}

#[test]
fn g1_fifo_output_and_virtual_time() {
    let lp = fifo();
    let (took, lines) = capture(|p| g1::program(&lp, p));
    assert_eq!(lines, G1_LINES);
    assert_eq!(took, FOUR_MS);
    assert_eq!(lp.trace().end_time().as_nanos(), 4_000_000);
    assert!(lp.is_closed());
    assert!(
        simloop::get_running_loop().is_err(),
        "no loop runs after the program"
    );
}

#[test]
fn g1_through_simloop_run_as_main_does() {
    // `main` runs `simloop::run(async_main(..))`; its loop follows SIMLOOP_SEED.
    let ((), lines) = capture(|p| simloop::run(g1::async_main(p)));
    if std::env::var_os("SIMLOOP_SEED").is_none() {
        assert_eq!(lines, G1_LINES);
    } else {
        assert_same_lines(&lines, &G1_LINES);
    }
}

#[test]
fn g2_new_loop_state() {
    let lp = fifo();
    let ((), lines) = capture(|p| g2::program(&lp, p));
    assert_eq!(
        lines,
        [
            "<EventLoop running=false closed=false seed=none>",
            "false",
            "false",
            "true"
        ]
    );
    assert!(lp.is_closed());
}

#[test]
fn g3_get_event_loop_creates_and_keeps_the_current_loop() {
    let (debug, same_as_current, lines) = on_fresh_thread(|| {
        let (lp, lines) = capture(g3::program);
        let debug = format!("{lp:?}");
        (debug, lp == simloop::get_event_loop(), lines)
    });
    assert_eq!(lines, [expected_new_loop_debug(), "true".to_string()]);
    assert_eq!(lines[0], debug);
    assert!(
        same_as_current,
        "the created loop is the thread's current loop"
    );
}

#[test]
fn g3_prints_seed_none_without_simloop_seed() {
    if std::env::var_os("SIMLOOP_SEED").is_some() {
        return; // covered by g3_get_event_loop_creates_and_keeps_the_current_loop
    }
    let lines = on_fresh_thread(|| capture(g3::program).1);
    assert_eq!(
        lines,
        ["<EventLoop running=false closed=false seed=none>", "true"]
    );
}

#[test]
fn g4_set_event_loop() {
    let (same, lines) = on_fresh_thread(|| capture(g4::program));
    assert_eq!(lines, ["true"]);
    assert!(same);
}

#[test]
fn g5_running_loop_inside_and_error_outside() {
    let lp = fifo();
    let ((), lines) = capture(|p| g5::program(&lp, p));
    assert_eq!(
        lines,
        [
            "<EventLoop running=true closed=false seed=none>",
            "true",
            "Error: no running event loop"
        ]
    );
}

#[test]
fn g5_through_simloop_run_as_main_does() {
    let ((), lines) = capture(|p| {
        simloop::run(g5::async_main(p.clone()));
        g5::after_run(&p);
    });
    let seed = match std::env::var("SIMLOOP_SEED") {
        Ok(s) => format!("{:#x}", simloop::parse_seed(&s).unwrap()),
        Err(_) => "none".to_string(),
    };
    assert_eq!(
        lines,
        [
            format!("<EventLoop running=true closed=false seed={seed}>"),
            "true".to_string(),
            "Error: no running event loop".to_string()
        ]
    );
}

#[test]
fn g6_single_coroutine() {
    let lp = fifo();
    let (took, lines) = capture(|p| g6::program(&lp, p));
    assert_eq!(lines, ["0", "1", "2", "3"]);
    assert_eq!(took, FOUR_MS);
    assert!(lp.is_closed());
}

#[test]
fn g7_tasks_created_before_the_loop_runs() {
    let lp = fifo();
    let (took, lines) = capture(|p| g7::program(&lp, p));
    assert_eq!(lines, G7_LINES);
    assert_eq!(took, FOUR_MS);
    assert!(lp.is_closed());
}

#[test]
fn fifo_runs_are_identical_twice() {
    let programs: [(&str, Program); 3] = [
        ("g1", g1::program),
        ("g6", g6::program),
        ("g7", g7::program),
    ];
    for (name, program) in programs {
        let run = || {
            let lp = fifo();
            let (took, lines) = capture(|p| program(&lp, p));
            (took, lines, lp.trace().to_string())
        };
        let first = run();
        assert_eq!(first, run(), "{name}: two FIFO runs differ");
        assert!(first.2.contains("policy=fifo"), "{name}: {}", first.2);
    }
}

/// `lines` is a permutation of `expected`.
fn assert_same_lines(lines: &[String], expected: &[&str]) {
    let mut got: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut want = expected.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "not the same lines: {lines:?}");
}

/// Each of `items` appears exactly once in `lines`, in this order.
fn assert_in_order(lines: &[String], items: &[&str]) {
    let pos: Vec<usize> = items
        .iter()
        .map(|it| {
            let mut at = lines.iter().enumerate().filter(|(_, l)| l == it);
            let (i, _) = at
                .next()
                .unwrap_or_else(|| panic!("{it} missing: {lines:?}"));
            assert!(at.next().is_none(), "{it} printed twice: {lines:?}");
            i
        })
        .collect();
    assert!(
        pos.windows(2).all(|w| w[0] < w[1]),
        "{items:?} out of order: {lines:?}"
    );
}

/// Sweeps 200 seeds over `program`, running each seed twice; returns the distinct outputs.
fn sweep(program: Program, expected: &[&str]) -> BTreeSet<Vec<String>> {
    let mut seen = BTreeSet::new();
    for seed in 0..200u64 {
        let run = || {
            let lp = EventLoop::builder().seed(seed).build();
            let (took, lines) = capture(|p| program(&lp, p));
            assert_eq!(lp.seed(), Some(seed));
            (took, lines, lp.trace().to_string())
        };
        let (took, lines, trace) = run();
        let (took2, lines2, trace2) = run();
        assert_eq!(trace, trace2, "seed {seed}: two runs gave different traces");
        assert_eq!(lines, lines2, "seed {seed}: two runs printed differently");
        assert_eq!(took, took2);
        assert_eq!(took, FOUR_MS, "seed {seed}: virtual end time");
        assert_same_lines(&lines, expected);
        assert_in_order(&lines, &["0", "1", "2", "3"]);
        assert_in_order(&lines, &["a", "b", "c", "d"]);
        // Both tasks print once per virtual millisecond, so round i holds i and its letter.
        let body: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .filter(|l| *l != "Started" && *l != "Finished")
            .collect();
        for (round, pair) in body.chunks(2).enumerate() {
            let mut pair = pair.to_vec();
            pair.sort_unstable();
            assert_eq!(
                pair,
                [G7_LINES[2 * round], G7_LINES[2 * round + 1]],
                "seed {seed}: round {round} of {lines:?}"
            );
        }
        seen.insert(lines);
    }
    seen
}

#[test]
fn g1_random_sweep_keeps_each_tasks_order() {
    let seen = sweep(g1::program, &G1_LINES);
    for lines in &seen {
        assert_eq!(lines.first().map(String::as_str), Some("Started"));
        assert_eq!(lines.last().map(String::as_str), Some("Finished"));
    }
    assert!(seen.len() > 1, "200 seeds gave one interleaving: {seen:?}");
}

#[test]
fn g7_random_sweep_keeps_each_tasks_order() {
    let seen = sweep(g7::program, &G7_LINES);
    assert!(seen.len() > 1, "200 seeds gave one interleaving: {seen:?}");
}

#[test]
fn seeded_trace_prints_both_runs_and_a_trace_that_parses() {
    let (trace, lines) = capture(|p| seeded::program(7, p));
    assert_eq!(lines[0], "== G.1 under FIFO ==");
    assert_eq!(lines[1..11], G1_LINES);
    assert_eq!(lines[11], "(virtual time 4ms)");
    assert_eq!(lines[12], "== G.1 under Random, seed 7 (0x7) ==");
    assert_same_lines(&lines[13..23], &G1_LINES);
    assert_eq!(lines[23], "(virtual time 4ms)");
    assert_eq!(lines[24], "== trace of the run with seed 7 ==");
    let text = lines[25..].join("\n");
    assert!(text.starts_with("simloop-trace v1"), "{text}");
    let parsed: Trace = text.parse().expect("the printed trace parses");
    assert_eq!(parsed, trace);
    assert_eq!(parsed.seed(), Some(7));
    assert_eq!(parsed.policy(), "random");
    assert_eq!(parsed.end_time().as_nanos(), 4_000_000);
    assert_eq!(parsed.to_string().trim_end(), text);

    // The seeded part is the same run as G.1 on a loop with that seed.
    let lp = EventLoop::builder().seed(7).build();
    let (_, g1_lines) = capture(|p| g1::program(&lp, p));
    assert_eq!(lines[13..23], g1_lines);
    assert_eq!(lp.trace(), trace);

    // And the whole printout replays.
    assert_eq!(capture(|p| seeded::program(7, p)).1, lines);
}

#[test]
fn seeded_trace_seed_choice() {
    let s = |x: &str| Some(x.to_string());
    assert_eq!(seeded::choose_seed(None, None), Ok(7));
    assert_eq!(seeded::choose_seed(None, s("3")), Ok(3));
    assert_eq!(seeded::choose_seed(s("0x2a"), s("3")), Ok(42));
    assert_eq!(seeded::choose_seed(s("12"), None), Ok(12));
    assert!(seeded::choose_seed(s("seven"), None).is_err());
}
