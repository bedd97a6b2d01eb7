//! The `SIMLOOP_*` environment variables (issue 3 item 2) and shard arithmetic.
//!
//! Covered, through `Env::from_lookup` so no test depends on the real environment:
//! - every variable's happy path and bad values, with the exact error text
//!   (`VAR: expected <form>, got "<value>"`): `SIMLOOP_SEED` (decimal, hex),
//!   `SIMLOOP_SEEDS` (range, bad form, empty range), `SIMLOOP_REPLAY`, `SIMLOOP_SHARD`,
//!   `SIMLOOP_CHECK_DETERMINISM`, `SIMLOOP_TRACE_DIR`;
//! - their effect on `Builder::run`: `SIMLOOP_SEED` runs exactly one seed, `SIMLOOP_SEEDS`
//!   replaces the builder's range, `SIMLOOP_SHARD` runs only its seeds,
//!   `SIMLOOP_CHECK_DETERMINISM` overrides the builder, `SIMLOOP_TRACE_DIR` is where the
//!   trace file lands, `SIMLOOP_REPLAY` replays a file;
//! - `shard_seeds`: for many ranges (also not starting at 0, empty, shorter than N, near
//!   `u64::MAX`) and N in 1..=7, the N shards cover the range exactly once.
//!
//! Only the tests marked "process environment" touch the real environment (to check that
//! a bad value makes `Builder::run` return `FailureKind::BadInput`); they hold a lock,
//! clear every `SIMLOOP_*` variable first and restore them afterwards, and no other test
//! in this file reads the process environment.

use std::cell::RefCell;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Mutex;

use simloop::{
    get_running_loop, shard_seeds, yield_now, Builder, Env, EnvError, EventLoop, FailureKind, Fifo,
    Random,
};

const VARS: [&str; 6] = [
    "SIMLOOP_SEED",
    "SIMLOOP_SEEDS",
    "SIMLOOP_REPLAY",
    "SIMLOOP_SHARD",
    "SIMLOOP_CHECK_DETERMINISM",
    "SIMLOOP_TRACE_DIR",
];

const SEED_FORM: &str = "a u64 in decimal (42) or hex with 0x (0x2a)";
const SEEDS_FORM: &str = "a range A..B of u64 seeds with A < B (e.g. 0..1000 or 0x0..0x100)";
const SHARD_FORM: &str = "I/N with 0 <= I < N (e.g. 0/4)";
const BOOL_FORM: &str = "1, true, yes, on, 0, false, no or off";

/// Parses an environment in which only `var` is set, to `value`.
fn one(var: &'static str, value: &str) -> Result<Env, EnvError> {
    let value = value.to_owned();
    Env::from_lookup(move |k| (k == var).then(|| value.clone()))
}

fn env_of(vars: &[(&'static str, &str)]) -> Env {
    let vars: Vec<(&'static str, String)> =
        vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    Env::from_lookup(move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .expect("well-formed test environment")
}

/// Asserts that `var=value` is rejected with the exact message.
fn rejected(var: &'static str, value: &str, form: &str) {
    let err = one(var, value).expect_err(&format!("{var}={value:?} must be rejected"));
    assert_eq!(err.var, var);
    assert_eq!(err.expected, form);
    assert_eq!(err.got, value);
    assert_eq!(
        err.to_string(),
        format!("{var}: expected {form}, got {value:?}")
    );
}

fn trace_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("simloop-sim-tests-env-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A sweep that records the seed of every run (the loop's own seed). It pins the
/// `Random` policy: the default portfolio would add a probe run (seed 0) before the sweep.
fn seeds_run(b: Builder) -> (Vec<u64>, simloop::Summary) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let summary = b
        .policy(Random::new(0))
        .try_check(move || {
            let s = s.clone();
            async move {
                s.borrow_mut()
                    .push(get_running_loop().unwrap().seed().expect("seeded"));
                yield_now().await;
            }
        })
        .unwrap_or_else(|f| panic!("{f}"));
    let seen = seen.borrow().clone();
    (seen, summary)
}

fn quiet(test: &str, dir: &Path) -> Builder {
    Builder::new()
        .name(test)
        .trace_dir(dir)
        .check_determinism(false)
}

// ---------------------------------------------------------------------------------------
// parsing

#[test]
fn nothing_set_is_all_none() {
    let env = Env::from_lookup(|_| None).unwrap();
    assert_eq!(env, Env::default());
    assert_eq!(
        (
            env.seed,
            env.seeds,
            env.replay,
            env.shard,
            env.check_determinism,
            env.trace_dir
        ),
        (None, None, None, None, None, None)
    );
    // Empty (or blank) means unset.
    for var in VARS {
        assert_eq!(one(var, "").unwrap(), Env::default(), "{var}");
        assert_eq!(one(var, "  ").unwrap(), Env::default(), "{var}");
    }
}

#[test]
fn seed_decimal_and_hex() {
    for (text, want) in [
        ("42", 42),
        ("0x2a", 42),
        ("0X2A", 42),
        ("0", 0),
        (" 7 ", 7),
        ("18446744073709551615", u64::MAX),
        ("0xffffffffffffffff", u64::MAX),
    ] {
        assert_eq!(
            one("SIMLOOP_SEED", text).unwrap().seed,
            Some(want),
            "{text:?}"
        );
    }
}

#[test]
fn seed_bad_values() {
    for bad in [
        "forty-two",
        "0x",
        "-1",
        "1.5",
        "18446744073709551616",
        "0x1_0000_0000_0000_0000",
        "0x1g",
        "2a",
    ] {
        rejected("SIMLOOP_SEED", bad, SEED_FORM);
    }
    assert_eq!(
        one("SIMLOOP_SEED", "forty-two").unwrap_err().to_string(),
        "SIMLOOP_SEED: expected a u64 in decimal (42) or hex with 0x (0x2a), got \"forty-two\""
    );
}

#[test]
fn seeds_range() {
    for (text, want) in [
        ("0..1000", 0..1000),
        ("0x10..0x20", 16..32),
        ("5..6", 5..6),
        ("100..0x100", 100..256),
        (" 3 .. 9 ", 3..9),
    ] {
        assert_eq!(
            one("SIMLOOP_SEEDS", text).unwrap().seeds,
            Some(want),
            "{text:?}"
        );
    }
}

#[test]
fn seeds_bad_form_and_empty_range() {
    for bad in [
        "10-20", "10..", "..5", "a..b", "0..=5", "0...5", "1000", "0..1..2",
    ] {
        rejected("SIMLOOP_SEEDS", bad, SEEDS_FORM);
    }
    // a >= b: an empty range is a mistake, not a sweep of nothing.
    for empty in ["5..5", "7..3", "0x10..0x10"] {
        rejected("SIMLOOP_SEEDS", empty, SEEDS_FORM);
    }
    assert_eq!(
        one("SIMLOOP_SEEDS", "10-20").unwrap_err().to_string(),
        "SIMLOOP_SEEDS: expected a range A..B of u64 seeds with A < B (e.g. 0..1000 or \
         0x0..0x100), got \"10-20\""
    );
    assert_eq!(
        one("SIMLOOP_SEEDS", "5..5").unwrap_err().to_string(),
        "SIMLOOP_SEEDS: expected a range A..B of u64 seeds with A < B (e.g. 0..1000 or \
         0x0..0x100), got \"5..5\""
    );
}

#[test]
fn replay_is_a_path() {
    let env = one("SIMLOOP_REPLAY", "target/simloop/x-seed_0x7.trace").unwrap();
    assert_eq!(
        env.replay,
        Some(PathBuf::from("target/simloop/x-seed_0x7.trace"))
    );
}

#[test]
fn shard_happy_and_bad() {
    for (text, want) in [
        ("1/4", (1, 4)),
        ("0/1", (0, 1)),
        ("6/7", (6, 7)),
        ("0x1/0x4", (1, 4)),
    ] {
        assert_eq!(
            one("SIMLOOP_SHARD", text).unwrap().shard,
            Some(want),
            "{text:?}"
        );
    }
    for bad in [
        "4/4", "5/4", "0/0", "1/0", "garbage", "1", "1/", "/4", "1/4/2", "-1/4", "1:4",
    ] {
        rejected("SIMLOOP_SHARD", bad, SHARD_FORM);
    }
    assert_eq!(
        one("SIMLOOP_SHARD", "4/4").unwrap_err().to_string(),
        "SIMLOOP_SHARD: expected I/N with 0 <= I < N (e.g. 0/4), got \"4/4\""
    );
    assert_eq!(
        one("SIMLOOP_SHARD", "garbage").unwrap_err().to_string(),
        "SIMLOOP_SHARD: expected I/N with 0 <= I < N (e.g. 0/4), got \"garbage\""
    );
}

#[test]
fn check_determinism_values() {
    for on in ["1", "true", "yes", "TRUE", "Yes"] {
        assert_eq!(
            one("SIMLOOP_CHECK_DETERMINISM", on)
                .unwrap()
                .check_determinism,
            Some(true),
            "{on:?}"
        );
    }
    for off in ["0", "false", "no", "False", "NO"] {
        assert_eq!(
            one("SIMLOOP_CHECK_DETERMINISM", off)
                .unwrap()
                .check_determinism,
            Some(false),
            "{off:?}"
        );
    }
    for bad in ["maybe", "2", "enabled", "y"] {
        rejected("SIMLOOP_CHECK_DETERMINISM", bad, BOOL_FORM);
    }
    assert_eq!(
        one("SIMLOOP_CHECK_DETERMINISM", "maybe")
            .unwrap_err()
            .to_string(),
        "SIMLOOP_CHECK_DETERMINISM: expected 1, true, yes, on, 0, false, no or off, got \"maybe\""
    );
}

#[test]
fn trace_dir_is_a_path() {
    let env = one("SIMLOOP_TRACE_DIR", "/tmp/somewhere else").unwrap();
    assert_eq!(env.trace_dir, Some(PathBuf::from("/tmp/somewhere else")));
}

#[test]
fn all_variables_together() {
    let env = env_of(&[
        ("SIMLOOP_SEED", "0x2a"),
        ("SIMLOOP_SEEDS", "10..20"),
        ("SIMLOOP_REPLAY", "a.trace"),
        ("SIMLOOP_SHARD", "2/3"),
        ("SIMLOOP_CHECK_DETERMINISM", "yes"),
        ("SIMLOOP_TRACE_DIR", "traces"),
    ]);
    assert_eq!(env.seed, Some(42));
    assert_eq!(env.seeds, Some(10..20));
    assert_eq!(env.replay, Some(PathBuf::from("a.trace")));
    assert_eq!(env.shard, Some((2, 3)));
    assert_eq!(env.check_determinism, Some(true));
    assert_eq!(env.trace_dir, Some(PathBuf::from("traces")));
}

#[test]
fn other_variables_are_ignored() {
    let env = Env::from_lookup(|k| match k {
        "SIMLOOP_SEEDZ" | "SEED" | "simloop_seed" => Some("garbage".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(env, Env::default());
}

// ---------------------------------------------------------------------------------------
// effect on a sweep

#[test]
fn simloop_seed_runs_exactly_one_seed() {
    let dir = trace_dir("one_seed");
    for text in ["42", "0x2a"] {
        let (seen, s) = seeds_run(quiet("one_seed", &dir).seeds(0..100).env(env_of(&[
            ("SIMLOOP_SEED", text),
            ("SIMLOOP_SEEDS", "0..50"),
        ])));
        assert_eq!(s.runs, 1, "{text}");
        assert_eq!(seen, [42], "{text}");
    }
    // With the default determinism sample, the one seed is also checked.
    let (seen, s) = seeds_run(
        Builder::new()
            .trace_dir(&dir)
            .env(env_of(&[("SIMLOOP_SEED", "7")])),
    );
    assert_eq!((s.runs, s.determinism_checked), (1, 1));
    assert_eq!(seen, [7, 7]);
}

#[test]
fn simloop_seed_reproduces_a_failure_of_the_sweep() {
    let dir = trace_dir("seed_repro");
    let body = || async {
        let seed = get_running_loop().unwrap().seed().unwrap();
        yield_now().await;
        assert!(seed % 10 != 3, "seed {seed} is unlucky");
    };
    let f = quiet("seed_repro", &dir)
        .seeds(0..100)
        .env(Env::default())
        .try_check(body)
        .unwrap_err();
    assert_eq!(f.seed, Some(3));
    let again = quiet("seed_repro", &dir)
        .seeds(0..100)
        .env(env_of(&[("SIMLOOP_SEED", "0x3")]))
        .try_check(body)
        .unwrap_err();
    assert_eq!(again.seed, Some(3));
    assert_eq!(again.message, "seed 3 is unlucky");
    assert_eq!(again.trace.to_string(), f.trace.to_string());
    assert_eq!(again.sweep, None);
    assert!(
        again
            .to_string()
            .contains("  under:      seed 0x3 (policy random)\n"),
        "{again}"
    );
}

#[test]
fn simloop_seeds_replaces_the_builders_range() {
    let dir = trace_dir("seeds");
    let (seen, s) = seeds_run(
        quiet("seeds", &dir)
            .seeds(0..1000)
            .env(env_of(&[("SIMLOOP_SEEDS", "0x10..0x1a")])),
    );
    assert_eq!(s.runs, 10);
    assert_eq!(seen, (16..26).collect::<Vec<_>>());
    // Without it, the builder's range; without either, 0..1000.
    let (seen, _) = seeds_run(quiet("seeds", &dir).seeds(5..8).env(Env::default()));
    assert_eq!(seen, [5, 6, 7]);
    let (seen, s) = seeds_run(quiet("seeds", &dir).env(Env::default()));
    assert_eq!(s.runs, 1000);
    assert_eq!(seen, (0..1000).collect::<Vec<_>>());
    assert_eq!(simloop::DEFAULT_SEEDS, 0..1000);
}

#[test]
fn simloop_shard_runs_only_its_seeds() {
    let dir = trace_dir("shard");
    let (seen, s) = seeds_run(
        quiet("shard", &dir)
            .seeds(0..100)
            .env(env_of(&[("SIMLOOP_SHARD", "1/4")])),
    );
    assert_eq!(s.runs, 25);
    assert_eq!(seen, (0..100).filter(|s| s % 4 == 1).collect::<Vec<_>>());

    // A range not starting at 0, given by SIMLOOP_SEEDS.
    let (seen, s) = seeds_run(quiet("shard", &dir).seeds(0..100).env(env_of(&[
        ("SIMLOOP_SEEDS", "3..17"),
        ("SIMLOOP_SHARD", "2/5"),
    ])));
    assert_eq!(s.runs, 2);
    assert_eq!(seen, [7, 12]);

    // All shards of one sweep together run every seed once.
    let mut all = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let (seen, _) = seeds_run(
            quiet("shard", &dir)
                .seeds(10..41)
                .env(env_of(&[("SIMLOOP_SHARD", &shard)])),
        );
        all.extend(seen);
    }
    all.sort_unstable();
    assert_eq!(all, (10..41).collect::<Vec<_>>());

    // SIMLOOP_SEED wins over a shard.
    let (seen, _) = seeds_run(
        quiet("shard", &dir)
            .seeds(0..100)
            .env(env_of(&[("SIMLOOP_SHARD", "1/4"), ("SIMLOOP_SEED", "2")])),
    );
    assert_eq!(seen, [2]);
}

#[test]
fn failure_in_a_shard_counts_the_shards_seeds() {
    let dir = trace_dir("shard_fail");
    let f = quiet("shard_fail", &dir)
        .seeds(0..100)
        .env(env_of(&[("SIMLOOP_SHARD", "1/4")]))
        .try_check(|| async {
            let seed = get_running_loop().unwrap().seed().unwrap();
            assert!(seed < 9, "seed {seed}");
        })
        .unwrap_err();
    // The shard runs 1, 5, 9: two passed before 9 failed.
    assert_eq!(f.seed, Some(9));
    assert_eq!(f.seeds_passed, 2);
    assert_eq!(f.sweep, Some(0..100));
}

#[test]
fn simloop_check_determinism_overrides_the_builder() {
    let dir = trace_dir("determinism");
    let run = |builder_on: Option<bool>, env: &str| {
        let mut b = Builder::new().trace_dir(&dir).seeds(0..130);
        if let Some(on) = builder_on {
            b = b.check_determinism(on);
        }
        let vars: Vec<(&'static str, &str)> = if env.is_empty() {
            vec![]
        } else {
            vec![("SIMLOOP_CHECK_DETERMINISM", env)]
        };
        let (seen, s) = seeds_run(b.env(env_of(&vars)));
        assert_eq!(s.runs, 130);
        assert_eq!(seen.len() as u64, s.runs + s.determinism_checked);
        s.determinism_checked
    };
    assert_eq!(run(None, ""), 3, "default: every 64th seed");
    assert_eq!(run(None, "1"), 130);
    assert_eq!(run(None, "0"), 0);
    assert_eq!(run(Some(false), "true"), 130);
    assert_eq!(run(Some(true), "false"), 0);
    assert_eq!(run(Some(true), ""), 130);
    assert_eq!(run(Some(false), ""), 0);
}

#[test]
fn simloop_trace_dir_is_where_the_trace_lands() {
    let builder_dir = trace_dir("trace_dir_builder");
    let env_dir = trace_dir("trace_dir_env");
    let f = Builder::new()
        .name("trace_dir")
        .trace_dir(&builder_dir)
        .seeds(0..10)
        .env(env_of(&[("SIMLOOP_TRACE_DIR", env_dir.to_str().unwrap())]))
        .try_check(|| async { Err::<(), _>("always") })
        .unwrap_err();
    let path = f.trace_path.clone().expect("trace written");
    assert_eq!(path, env_dir.join("trace_dir-seed_0x0.trace"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), f.trace.to_string());
    assert!(
        !builder_dir.exists(),
        "the environment overrides the builder"
    );
    assert!(
        f.to_string()
            .contains(&format!("  full trace: {}\n", path.display())),
        "{f}"
    );
}

#[test]
fn simloop_replay_replays_the_file() {
    let dir = trace_dir("replay");
    std::fs::create_dir_all(&dir).unwrap();
    let body = || async {
        let t = simloop::create_task(async {
            yield_now().await;
            3
        });
        yield_now().await;
        assert_eq!(t.await.unwrap(), 3);
    };
    let lp = EventLoop::builder().seed(5).build();
    lp.run_until_complete(body()).unwrap();
    let path = dir.join("recorded.trace");
    std::fs::write(&path, lp.trace().to_string()).unwrap();
    let s = Builder::new()
        .trace_dir(&dir)
        .seeds(0..500)
        .env(env_of(&[("SIMLOOP_REPLAY", path.to_str().unwrap())]))
        .try_check(body)
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(s.runs, 1, "a replay runs once, not the sweep");
    assert_eq!(s.steps, lp.trace().steps());

    // A path that does not exist is bad input naming it.
    let missing = dir.join("missing.trace");
    let f = Builder::new()
        .trace_dir(&dir)
        .env(env_of(&[("SIMLOOP_REPLAY", missing.to_str().unwrap())]))
        .try_check(body)
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::BadInput);
    assert!(
        f.message.contains(missing.to_str().unwrap()),
        "{}",
        f.message
    );
}

// ---------------------------------------------------------------------------------------
// process environment (the only tests that read it)

static PROCESS_ENV: Mutex<()> = Mutex::new(());

/// Runs `f` with exactly these `SIMLOOP_*` variables set in the process, then restores
/// the previous values.
fn with_process_env<R>(vars: &[(&str, &str)], f: impl FnOnce() -> R) -> R {
    let _lock = PROCESS_ENV.lock().unwrap_or_else(|e| e.into_inner());
    let saved: Vec<(&str, Option<String>)> =
        VARS.iter().map(|v| (*v, std::env::var(v).ok())).collect();
    for v in VARS {
        std::env::remove_var(v);
    }
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    for (k, v) in saved {
        match v {
            Some(v) => std::env::set_var(k, v),
            None => std::env::remove_var(k),
        }
    }
    r.unwrap_or_else(|p| std::panic::resume_unwind(p))
}

#[test]
fn process_environment_bad_value_is_bad_input() {
    let dir = trace_dir("process_bad");
    for (var, value, form) in [
        ("SIMLOOP_SEED", "0xZZ", SEED_FORM),
        ("SIMLOOP_SEEDS", "10-20", SEEDS_FORM),
        ("SIMLOOP_SEEDS", "9..2", SEEDS_FORM),
        ("SIMLOOP_SHARD", "3/3", SHARD_FORM),
        ("SIMLOOP_CHECK_DETERMINISM", "maybe", BOOL_FORM),
    ] {
        let f = with_process_env(&[(var, value)], || {
            Builder::new()
                .name("process_bad")
                .trace_dir(&dir)
                .seeds(0..3)
                .try_check(|| async {})
                .unwrap_err()
        });
        assert_eq!(f.kind, FailureKind::BadInput, "{var}");
        assert_eq!(f.message, format!("{var}: expected {form}, got {value:?}"));
        assert_eq!(f.seed, None);
        assert!(f.to_string().contains("bad input: "), "{f}");
    }
    // check() panics with it.
    let payload = with_process_env(&[("SIMLOOP_SHARD", "x")], || {
        std::panic::catch_unwind(|| {
            Builder::new()
                .name("process_bad")
                .trace_dir(&dir)
                .seeds(0..3)
                .check(|| async {});
        })
        .unwrap_err()
    });
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        msg.contains("SIMLOOP_SHARD: expected I/N with 0 <= I < N (e.g. 0/4), got \"x\""),
        "{msg}"
    );
    // A well-formed process environment is used when the builder has no `.env`.
    let (seen, s) = with_process_env(&[("SIMLOOP_SEEDS", "4..6")], || {
        seeds_run(quiet("process_ok", &dir).seeds(0..100))
    });
    assert_eq!((seen, s.runs), (vec![4, 5], 2));
}

#[test]
fn process_environment_simloop_seed_is_read_in_one_place() {
    // An empty SIMLOOP_SEED means "unset" to sweeps; it should mean the same to plain loops.
    let lp = with_process_env(&[("SIMLOOP_SEED", "")], || {
        std::panic::catch_unwind(simloop::new_event_loop)
    })
    .expect("an empty SIMLOOP_SEED is unset, as Env treats it");
    assert_eq!(lp.seed(), None);
    lp.close().unwrap();
    // A bad SIMLOOP_SEED is reported with the same text everywhere.
    let payload = with_process_env(&[("SIMLOOP_SEED", "forty-two")], || {
        std::panic::catch_unwind(simloop::new_event_loop).unwrap_err()
    });
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        msg,
        one("SIMLOOP_SEED", "forty-two").unwrap_err().to_string()
    );
}

// ---------------------------------------------------------------------------------------
// shard arithmetic

fn check_cover(range: Range<u64>, n: u64) {
    let mut all = Vec::new();
    let mut sizes = Vec::new();
    for i in 0..n {
        let shard: Vec<u64> = shard_seeds(range.clone(), i, n).collect();
        for s in &shard {
            assert!(
                range.contains(s),
                "{range:?} {i}/{n}: {s} outside the range"
            );
            assert_eq!(s % n, i, "{range:?} {i}/{n}: {s} is not ≡ {i} mod {n}");
        }
        assert!(
            shard.windows(2).all(|w| w[0] < w[1]),
            "{range:?} {i}/{n}: not increasing: {shard:?}"
        );
        sizes.push(shard.len());
        all.extend(shard);
    }
    all.sort_unstable();
    let want: Vec<u64> = range.clone().collect();
    assert_eq!(
        all, want,
        "{range:?} split {n} ways must cover it exactly once"
    );
    let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
    assert!(max - min <= 1, "{range:?}/{n}: unbalanced shards {sizes:?}");
}

#[test]
fn shards_cover_the_range_exactly_once() {
    let ranges = [
        0..10,
        0..1,
        3..17,
        5..6,
        5..8,
        7..7,
        100..103,
        1000..1064,
        13..200,
        0x10..0x20,
        (u64::MAX - 40)..(u64::MAX - 20),
    ];
    for range in ranges {
        for n in 1..=7 {
            check_cover(range.clone(), n);
        }
    }
}

#[test]
fn shards_near_u64_max() {
    // The smallest case: the range holds one seed, u64::MAX - 1 (≡ 2 mod 4), so shard 0/4
    // is empty. SIMLOOP_SEEDS=0xfffffffffffffffe..0xffffffffffffffff SIMLOOP_SHARD=0/4.
    assert_eq!(shard_seeds((u64::MAX - 1)..u64::MAX, 0, 4).count(), 0);
    // The last seeds a sweep can name (the end is excluded).
    for n in 1..=7 {
        check_cover((u64::MAX - 3)..u64::MAX, n);
        check_cover((u64::MAX - 10)..u64::MAX, n);
    }
}

#[test]
fn shard_of_one_is_the_whole_range() {
    let all: Vec<u64> = shard_seeds(20..30, 0, 1).collect();
    assert_eq!(all, (20..30).collect::<Vec<_>>());
    // More shards than seeds: some shards are empty, and an empty shard is a passing
    // sweep of nothing.
    assert_eq!(shard_seeds(5..6, 3, 7).count(), 0);
    let dir = trace_dir("empty_shard");
    let (seen, s) = seeds_run(
        quiet("empty_shard", &dir)
            .seeds(5..6)
            .env(env_of(&[("SIMLOOP_SHARD", "3/7")])),
    );
    assert!(seen.is_empty());
    assert_eq!(s.runs, 0);
}

#[test]
fn fifo_policy_ignores_seeds_but_runs_each() {
    // A sweep with Fifo still runs every seed of the range (each gets Fifo::reseeded).
    let dir = trace_dir("fifo");
    let runs = Rc::new(RefCell::new(0u32));
    let r = runs.clone();
    let s = quiet("fifo", &dir)
        .seeds(0..12)
        .policy(Fifo)
        .env(env_of(&[("SIMLOOP_SHARD", "0/3")]))
        .try_check(move || {
            *r.borrow_mut() += 1;
            async { yield_now().await }
        })
        .unwrap();
    assert_eq!(s.runs, 4);
    assert_eq!(*runs.borrow(), 4);
}

/// Issue 13, defect 4: a seed range as large as `u64` allows used to be collected into a
/// `Vec` first (`capacity overflow`, or an allocation failure, or memory growing without
/// bound under `SIMLOOP_SHARD`). The sweep must start at once and stop at the first
/// failing seed, in constant memory, with and without a shard.
#[test]
fn a_huge_seed_range_is_swept_lazily() {
    let body = || async {
        let seed = simloop::get_running_loop().unwrap().seed().unwrap();
        assert!(seed != 5 && seed != 17, "seed {seed} fails");
    };
    let dir = std::env::temp_dir().join("simloop-huge-range");
    let f = Builder::new()
        .env(env_of(&[("SIMLOOP_SEEDS", "0..18446744073709551615")]))
        .trace_dir(&dir)
        .shrink(false)
        .try_check(body)
        .unwrap_err();
    assert_eq!(f.seed, Some(5));
    assert_eq!(f.seeds_passed, 5);
    assert_eq!(f.sweep, Some(0..u64::MAX));
    // Shard 3 of 7 runs 3, 10, 17, …: seed 17 is its third.
    let f = Builder::new()
        .env(env_of(&[
            ("SIMLOOP_SEEDS", "0..18446744073709551615"),
            ("SIMLOOP_SHARD", "3/7"),
        ]))
        .trace_dir(&dir)
        .shrink(false)
        .try_check(body)
        .unwrap_err();
    assert_eq!(f.seed, Some(17));
    assert_eq!(f.seeds_passed, 2);
    // The top of the range, where `seed + n` would overflow.
    let f = Builder::new()
        .env(env_of(&[
            ("SIMLOOP_SEEDS", "0xfffffffffffffff0..0xffffffffffffffff"),
            ("SIMLOOP_SHARD", "0/4"),
        ]))
        .trace_dir(&dir)
        .shrink(false)
        .try_check(|| async {
            let seed = simloop::get_running_loop().unwrap().seed().unwrap();
            assert!(seed != u64::MAX - 3, "seed {seed} fails");
        })
        .unwrap_err();
    assert_eq!(f.seed, Some(u64::MAX - 3));
    assert_eq!(f.seeds_passed, 3);
}

/// Issue 13, defect 8: an empty `SIMLOOP_SEED=` was silently treated as unset. Every
/// `SIMLOOP_*` variable treats an empty or blank value as unset (as before), and now says
/// so: `Env::set_but_empty` lists them (and `Env::from_process` prints them once).
#[test]
fn empty_variables_are_unset_and_listed() {
    for var in VARS {
        for blank in ["", "  ", "\t"] {
            let value = blank.to_owned();
            let lookup = move |k: &str| (k == var).then(|| value.clone());
            assert_eq!(Env::set_but_empty(&lookup), [var], "{var}={blank:?}");
            assert_eq!(Env::from_lookup(&lookup).unwrap(), Env::default(), "{var}");
        }
        assert!(Env::set_but_empty(|k| (k == var).then(|| "1".to_owned())).is_empty());
    }
    assert_eq!(
        Env::set_but_empty(|k| Some(if k == "SIMLOOP_SEEDS" { "0..9" } else { "" }.to_owned())),
        [
            "SIMLOOP_SEED",
            "SIMLOOP_REPLAY",
            "SIMLOOP_FUZZ_INPUT",
            "SIMLOOP_SHARD",
            "SIMLOOP_CHECK_DETERMINISM",
            "SIMLOOP_TRACE_DIR"
        ]
    );
}
