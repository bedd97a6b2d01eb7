//! The learning sweep (`Builder::adaptive`, issue 14): deterministic per range, a
//! mutation's failure replays from its printed lines alone, shrinking works on it, and
//! explicit policies and one-seed runs do not learn.

use std::cell::Cell;
use std::rc::Rc;

use simloop::{Builder, Env, Failure, Random};

/// A sweep as the code sets it up, without `adaptive`.
fn plain(name: &str) -> Builder {
    Builder::new()
        .name(name)
        .env(Env::default())
        .trace_dir(std::env::temp_dir().join(format!("simloop-sim-tests-adaptive-{name}")))
}

/// A learning sweep (`adaptive(true)`; learning is off by default).
fn sweep(name: &str) -> Builder {
    plain(name).adaptive(true)
}

async fn busy(n: u32) {
    for _ in 0..n {
        simloop::yield_now().await;
    }
}

/// A relay of three tasks (as `examples/strategies.rs`'s bug 6, one stage shorter): each
/// stage holds its flag up for one poll if its input was up when it looked.
async fn relay_body() -> Result<(), String> {
    let flags: Vec<Rc<Cell<bool>>> = (0..3).map(|_| Rc::new(Cell::new(false))).collect();
    let fired: Vec<Rc<Cell<bool>>> = (0..3).map(|_| Rc::new(Cell::new(false))).collect();
    let mut tasks = Vec::new();
    for i in 0..3usize {
        let (input, output, fired) = (
            (i > 0).then(|| flags[i - 1].clone()),
            flags[i].clone(),
            fired[i].clone(),
        );
        tasks.push(simloop::create_task(async move {
            busy(1 + 2 * i as u32).await;
            if input.is_none_or(|f| f.get()) {
                fired.set(true);
                output.set(true);
                simloop::yield_now().await;
                output.set(false);
            } else {
                simloop::yield_now().await;
            }
            busy(6).await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    if fired[2].get() {
        Err("the relay reached its end".into())
    } else {
        Ok(())
    }
}

/// A body that passes, with some timers.
async fn passing_body() {
    let tasks: Vec<_> = (0..3u64)
        .map(|i| {
            simloop::create_task(async move {
                for k in 0..4 {
                    if (i + k) % 2 == 0 {
                        simloop::sleep(std::time::Duration::from_millis(i + 1)).await;
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
}

/// Everything a failure report says that must not vary between two runs of one range.
fn fingerprint(f: &Failure) -> String {
    format!(
        "{:?} {} {} {} {} {}\n{}\n{}",
        f.seed, f.source, f.policy, f.step, f.seeds_passed, f.message, f.replay_command, f.trace
    )
}

/// The first failure among these ranges that a mutation found.
fn a_mutation_failure(name: &str, shrink: bool) -> Box<Failure> {
    (0..20u64)
        .map(|k| {
            sweep(name)
                .shrink(shrink)
                .seeds(k * 1000..k * 1000 + 1000)
                .try_check(relay_body)
                .expect_err("the relay is found")
        })
        .find(|f| f.policy == "mutant")
        .expect("some range finds the relay by a mutation")
}

/// The environment a printed replay line sets (`VAR=value … cargo test …`).
fn env_of_line(line: &str) -> Env {
    let vars: Vec<(String, String)> = line
        .split_whitespace()
        .take_while(|w| w.starts_with("SIMLOOP_"))
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert!(!vars.is_empty(), "no variables in {line:?}");
    Env::from_lookup(move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())).unwrap()
}

#[test]
fn the_same_range_gives_the_same_schedules_and_report() {
    for range in [0..400u64, 1000..1400, 7..307, 123_456..123_856] {
        let run = || {
            sweep("determinism")
                .shrink(false)
                .seeds(range.clone())
                .try_check(relay_body)
        };
        let (a, b) = (run(), run());
        match (a, b) {
            (Err(a), Err(b)) => assert_eq!(fingerprint(&a), fingerprint(&b), "{range:?}"),
            (Ok(a), Ok(b)) => assert_eq!((a.runs, a.steps), (b.runs, b.steps), "{range:?}"),
            (a, b) => panic!("{range:?}: {:?} vs {:?}", a.is_ok(), b.is_ok()),
        }
        let pass = || {
            sweep("determinism_pass")
                .seeds(range.clone())
                .try_check(passing_body)
                .unwrap()
        };
        let (a, b) = (pass(), pass());
        assert_eq!(
            (a.runs, a.steps, a.determinism_checked),
            (b.runs, b.steps, b.determinism_checked)
        );
    }
}

#[test]
fn learning_finds_the_relay_sooner_than_not_learning() {
    // Over 20 ranges, the total of schedules to the first failure.
    let total = |learn: bool| -> u64 {
        (0..20u64)
            .map(|k| {
                sweep("sooner")
                    .shrink(false)
                    .adaptive(learn)
                    .seeds(k * 100_000..k * 100_000 + 100_000)
                    .try_check(relay_body)
                    .map_or_else(|f| f.seeds_passed + 1, |_| 100_000)
            })
            .sum()
    };
    let (learning, plain) = (total(true), total(false));
    assert!(
        learning < plain,
        "learning {learning}, not learning {plain}"
    );
}

#[test]
fn a_mutations_failure_replays_from_each_printed_line_alone() {
    let f = a_mutation_failure("replay_lines", false);
    let seed = f.seed.unwrap();
    let start = f.sweep.clone().unwrap().start;
    assert!(f.source.contains("a mutation of seed"), "{}", f.source);
    let mut lines = f.replay_command.lines();
    let sweep_line = lines.next().unwrap();
    assert!(
        sweep_line.starts_with(&format!("SIMLOOP_SEEDS={start}..{} ", seed + 1)),
        "{}",
        f.replay_command
    );
    // The sweep line alone: the same run fails again, at the same seed.
    let again = sweep("replay_lines")
        .shrink(false)
        .env(env_of_line(sweep_line))
        .try_check(relay_body)
        .expect_err("the sweep line fails again");
    assert_eq!(again.seed, Some(seed));
    assert_eq!(again.trace.to_string(), f.trace.to_string());
    // The trace file line alone.
    let file_line = f
        .replay_command
        .lines()
        .find_map(|l| l.split("or follow the trace file: ").nth(1))
        .expect("a trace file line");
    let replayed = sweep("replay_lines")
        .shrink(false)
        .env(env_of_line(file_line))
        .try_check(relay_body)
        .expect_err("the trace file line fails again");
    assert_eq!(replayed.message, f.message);
    assert_eq!(replayed.step, f.step);
    // A one-seed run never learns: the seed alone runs its own policy instead.
    let alone = format!("{seed:#x}");
    let one = sweep("replay_lines")
        .shrink(false)
        .env(Env::from_lookup(move |k| (k == "SIMLOOP_SEED").then(|| alone.clone())).unwrap())
        .try_check(relay_body);
    if let Err(o) = one {
        assert_ne!(o.policy, "mutant");
    }
}

#[test]
fn a_mutations_failure_is_shrunk() {
    let f = a_mutation_failure("shrink", true);
    let s = f.shrunk.as_ref().expect("shrunk");
    assert!(s.preemptions_after <= s.preemptions_before);
    assert!(s.steps_after <= s.steps_before);
    // The shrunk trace fails the same way on its own.
    let replayed = sweep("shrink")
        .shrink(false)
        .replay(&s.trace)
        .try_check(relay_body)
        .expect_err("the shrunk trace fails");
    assert_eq!(replayed.message, f.message);
}

#[test]
fn sweeps_do_not_learn_unless_asked() {
    let fp = |b: Builder| {
        fingerprint(
            &b.shrink(false)
                .seeds(0..100_000)
                .try_check(relay_body)
                .unwrap_err(),
        )
    };
    // The default strategy and a chosen one: no mutation unless asked.
    let default = plain("unasked")
        .shrink(false)
        .seeds(0..100_000)
        .try_check(relay_body)
        .unwrap_err();
    assert_ne!(default.policy, "mutant");
    assert_eq!(fp(plain("unasked")), fp(plain("unasked").adaptive(false)));
    let chosen = fp(plain("explicit").policy(Random::new(0)));
    let off = fp(plain("explicit").policy(Random::new(0)).adaptive(false));
    assert_eq!(chosen, off);
    let on = plain("explicit")
        .policy(Random::new(0))
        .adaptive(true)
        .shrink(false)
        .seeds(0..100_000)
        .try_check(relay_body)
        .unwrap_err();
    assert!(on.seeds_passed < 100_000);
}
