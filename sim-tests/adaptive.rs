//! The learning sweep (`Builder::adaptive`, issue 14; the default strategy's default):
//! deterministic per range, a mutation's failure replays from its printed lines alone
//! (the seed line in a sweep from a block's start, which a one-seed run reproduces by
//! re-running the block up to the seed; the sweep line elsewhere), shrinking works on
//! it, and explicit policies do not learn unless asked.

use std::cell::Cell;
use std::rc::Rc;

use simloop::{Body, Builder, Env, Failure, Random};

/// A sweep as the code sets it up, without `adaptive`.
fn plain(name: &str) -> Builder {
    Builder::new()
        .name(name)
        .env(Env::default())
        .trace_dir(std::env::temp_dir().join(format!("simloop-sim-tests-adaptive-{name}")))
}

/// A learning sweep (`adaptive(true)`, as the default strategy does by default).
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

/// Two tasks increment a counter with read, yield, write: an increment is lost when
/// both read first.
async fn lost_update() -> Result<(), String> {
    let n = Rc::new(Cell::new(0));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let n = n.clone();
            simloop::create_task(async move {
                let v = n.get();
                simloop::yield_now().await;
                n.set(v + 1);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    if n.get() == 2 {
        Ok(())
    } else {
        Err(format!("lost an update: {}", n.get()))
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

/// The first failure that a mutation found among the ranges `k * step + offset ..` (1,000
/// seeds each, `k` < 20), and its range's start.
fn a_mutation_failure(name: &str, shrink: bool, step: u64, offset: u64) -> Box<Failure> {
    (0..20u64)
        .map(|k| {
            let start = k * step + offset;
            sweep(name)
                .shrink(shrink)
                .seeds(start..start + 1000)
                .try_check(relay_body)
                .expect_err("the relay is found")
        })
        .find(|f| f.policy == "mutant")
        .expect("some range finds the relay by a mutation")
}

/// Runs `body` with `b` under the environment `line` sets; it must fail again.
fn rerun_with<B: Body>(b: Builder, line: &str, body: B) -> Box<Failure> {
    b.shrink(false)
        .env(env_of_line(line))
        .try_check(body)
        .expect_err("the line fails again")
}

/// Runs `relay_body` in a learning sweep under the environment `line` sets.
fn rerun(name: &str, line: &str) -> Box<Failure> {
    rerun_with(sweep(name), line, relay_body)
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
fn a_mutations_failure_in_a_block_aligned_sweep_replays_from_its_seed_alone() {
    // Ranges from multiples of 1,000 (as the default 0..1000): the seed line.
    let f = a_mutation_failure("replay_seed", false, 1000, 0);
    let seed = f.seed.unwrap();
    let line = f.replay_command.lines().next().unwrap();
    assert!(
        line.starts_with(&format!("SIMLOOP_SEED={seed:#x} ")),
        "{}",
        f.replay_command
    );
    assert!(f.source.contains("a mutation of seed"), "{}", f.source);
    // The seed alone: it re-runs its block up to it quietly, learns the same, and fails
    // the same way, reporting one run.
    let again = rerun("replay_seed", line);
    assert_eq!(again.seed, Some(seed));
    assert_eq!(again.policy, "mutant");
    assert_eq!(again.seeds_passed, 0);
    assert_eq!(again.trace.to_string(), f.trace.to_string());
    let block = seed - seed % 1000;
    assert!(
        again
            .notes
            .iter()
            .any(|n| n.contains(&format!("{block:#x}..{seed:#x} ran first, quietly"))),
        "{:?}",
        again.notes
    );
    // So does the seed set in code.
    let coded = sweep("replay_seed")
        .shrink(false)
        .seed(seed)
        .try_check(relay_body)
        .expect_err("the seed fails again");
    assert_eq!(coded.trace.to_string(), f.trace.to_string());
    // And the trace file line.
    let file_line = f
        .replay_command
        .lines()
        .find_map(|l| l.split("or follow the trace file: ").nth(1))
        .expect("a trace file line");
    let replayed = rerun("replay_seed", file_line);
    assert_eq!(replayed.message, f.message);
    assert_eq!(replayed.step, f.step);
}

#[test]
fn a_mutations_failure_elsewhere_replays_from_its_sweep_line_alone() {
    // Ranges that start inside a block: the sweep from the range's start, up to the seed.
    let f = a_mutation_failure("replay_sweep", false, 1000, 337);
    let seed = f.seed.unwrap();
    let start = f.sweep.clone().unwrap().start;
    let line = f.replay_command.lines().next().unwrap();
    let origin = if seed - seed % 1000 > start {
        seed - seed % 1000
    } else {
        start
    };
    assert!(
        line.starts_with(&format!("SIMLOOP_SEEDS={origin}..{} ", seed + 1)),
        "{}",
        f.replay_command
    );
    let again = rerun("replay_sweep", line);
    assert_eq!(again.seed, Some(seed));
    assert_eq!(again.trace.to_string(), f.trace.to_string());
    // The seed alone would learn from its whole block, which this sweep did not run.
    assert!(!f.replay_command.contains("SIMLOOP_SEED="));
}

#[test]
fn a_sharded_sweeps_mutation_failure_names_its_shard() {
    let f = (0..20u64)
        .map(|k| {
            let shard = format!("{}/3", k % 3);
            let range = format!("{}..{}", k * 3000, k * 3000 + 3000);
            plain("replay_shard")
                .shrink(false)
                .env(
                    Env::from_lookup(move |v| match v {
                        "SIMLOOP_SHARD" => Some(shard.clone()),
                        "SIMLOOP_SEEDS" => Some(range.clone()),
                        _ => None,
                    })
                    .unwrap(),
                )
                .try_check(relay_body)
                .expect_err("the relay is found")
        })
        .find(|f| f.policy == "mutant")
        .expect("some shard finds the relay by a mutation");
    let line = f.replay_command.lines().next().unwrap();
    assert!(line.contains(" SIMLOOP_SHARD="), "{line}");
    assert!(line.starts_with("SIMLOOP_SEEDS="), "{line}");
    let again = rerun_with(plain("replay_shard"), line, relay_body);
    assert_eq!(again.seed, f.seed);
    assert_eq!(again.trace.to_string(), f.trace.to_string());
}

#[test]
fn plain_seeds_keep_their_seed_line_and_never_re_run_a_block() {
    // Every failure of a sweep that does not learn, and every failure found in a block's
    // warm-up, replays from the seed alone without running anything else.
    type Maker = (fn() -> Builder, std::ops::Range<u64>);
    let makers: [Maker; 3] = [
        (|| plain("plain_line").adaptive(false), 5000..6000),
        (|| plain("plain_line"), 5000..5016),
        (|| plain("plain_line").policy(Random::new(0)), 5000..6000),
    ];
    for (b, seeds) in makers {
        let f = b()
            .shrink(false)
            .seeds(seeds)
            .try_check(lost_update)
            .expect_err("found");
        let seed = f.seed.unwrap();
        assert_ne!(f.policy, "mutant");
        let line = f.replay_command.lines().next().unwrap();
        assert!(
            line.starts_with(&format!("SIMLOOP_SEED={seed:#x} ")),
            "{line}"
        );
        let again = rerun_with(b(), line, lost_update);
        assert_eq!(again.trace.to_string(), f.trace.to_string());
        assert!(!again.notes.iter().any(|n| n.contains("quietly")));
    }
}

#[test]
fn a_mutations_failure_is_shrunk() {
    let f = a_mutation_failure("shrink", true, 1000, 0);
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
fn the_default_sweep_learns_and_a_chosen_policy_does_not_unless_asked() {
    let fp = |b: Builder| {
        fingerprint(
            &b.shrink(false)
                .seeds(0..100_000)
                .try_check(relay_body)
                .unwrap_err(),
        )
    };
    // The default strategy learns: the same as asking for it, not the same as the
    // rotation alone.
    assert_eq!(fp(plain("asked")), fp(plain("asked").adaptive(true)));
    assert_ne!(fp(plain("asked")), fp(plain("asked").adaptive(false)));
    let rotation = plain("rotation")
        .adaptive(false)
        .shrink(false)
        .seeds(0..100_000)
        .try_check(relay_body)
        .unwrap_err();
    assert_ne!(rotation.policy, "mutant");
    // A chosen policy does not learn unless asked.
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
    assert_ne!(fingerprint(&on), chosen);
}

#[test]
fn a_one_seed_run_at_the_top_of_the_seed_space_re_runs_its_block_without_overflow() {
    // The last block of the u64 seeds is 616 seeds long; most of its seeds may mutate,
    // and a passing run's summary says what ran first.
    let mut relearned = 0;
    for seed in [u64::MAX, u64::MAX - 1, u64::MAX - 2, u64::MAX - 3] {
        let s = plain("top_seed")
            .seed(seed)
            .try_check(passing_body)
            .expect("passes");
        assert_eq!(s.runs, 1, "{seed:#x}");
        relearned += usize::from(s.notes.iter().any(|n| n.contains("ran first, quietly")));
    }
    assert!(relearned > 0);
}

#[test]
fn a_plain_failure_inside_a_block_gets_the_line_that_reproduces_it() {
    // Ranges starting mid-block: the failure is found in the range's warm-up (its own
    // policy), but a one-seed run of a seed that may mutate would learn from the whole
    // block; such a failure gets the sweep line, the others the seed line. Each line
    // reproduces the run.
    let (mut sweep_lines, mut seed_lines) = (0, 0);
    for k in 0..12u64 {
        let start = k * 1000 + 500;
        let f = plain("mid_block")
            .shrink(false)
            .seeds(start..start + 100)
            .try_check(lost_update)
            .expect_err("found");
        assert_ne!(f.policy, "mutant");
        let line = f.replay_command.lines().next().unwrap();
        if line.starts_with("SIMLOOP_SEEDS=") {
            sweep_lines += 1;
            assert!(
                f.replay_command.contains("ran its own policy here"),
                "{}",
                f.replay_command
            );
        } else {
            seed_lines += 1;
        }
        let again = rerun_with(plain("mid_block"), line, lost_update);
        assert_eq!(again.seed, f.seed);
        assert_eq!(again.trace.to_string(), f.trace.to_string());
    }
    assert!(
        sweep_lines > 0 && seed_lines > 0,
        "{sweep_lines} {seed_lines}"
    );
}
