//! Fault injection: `simloop::buggify()` (issue 6 item 5) and `examples/buggify_retry.rs`.
//!
//! Covered:
//! - never `true` outside a simulation, under `Fifo` (not even with a builder seed) or
//!   under an unseeded custom policy, and nothing is recorded then;
//! - under seeded policies (Random, PCT, the default portfolio) the example's retry path
//!   is reached under some seeds and not others;
//! - swarm testing: a site is enabled in about half of the seeds, and an enabled site
//!   fires on about a quarter of its calls; a disabled site never fires in that run;
//! - call sites: each source location is its own site, a call in a loop is one site;
//! - the trace records each value (`buggify 0x… 0|1`, not a step), its text round-trips,
//!   and a `Replay` (and `Builder::replay` of a failing sweep's trace) returns the recorded
//!   values, byte for byte;
//! - the same seed gives the same values and trace; a `buggify()` call whose value is
//!   ignored does not change any scheduling decision (its stream is separate).
//!
//! Every sweep gets `Env` explicitly: nothing here reads the process environment.

#[allow(dead_code)]
#[path = "../examples/buggify_retry.rs"]
mod retry;

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

use simloop::{
    buggify, create_task, yield_now, Builder, Decision, Env, EventKind, EventLoop, FailureKind,
    Fifo, LoopError, Pct, Policy, Random, Replay, Trace,
};

fn seeded(seed: u64) -> EventLoop {
    EventLoop::builder().seed(seed).build()
}

fn buggify_events(t: &Trace) -> Vec<(u32, bool)> {
    t.events()
        .filter_map(|e| match e.kind {
            EventKind::Buggify { site, fired } => Some((site, fired)),
            _ => None,
        })
        .collect()
}

/// Calls one site `n` times (yielding between calls) and returns the values.
async fn calls(n: usize) -> Vec<bool> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(buggify());
        yield_now().await;
    }
    v
}

#[test]
fn never_true_outside_a_simulation() {
    assert!((0..1000).all(|_| !buggify()));
    // Not inside a loop that is not running either.
    let _lp = seeded(1);
    assert!((0..1000).all(|_| !buggify()));
}

#[test]
fn never_true_under_fifo_even_with_a_seed() {
    for lp in [
        EventLoop::builder().policy(Fifo).build(),
        EventLoop::builder().seed(3).policy(Fifo).build(),
    ] {
        let v = lp.run_until_complete(calls(500)).unwrap();
        assert!(v.iter().all(|b| !b));
        assert!(buggify_events(&lp.trace()).is_empty(), "nothing recorded");
        let out = lp.run_until_complete(retry::scenario()).unwrap().unwrap();
        assert!(out.iter().all(|o| o.attempts == 1 && o.acked));
    }
}

/// A policy without a seed (FIFO order, but not `Fifo`): buggify stays off.
struct Unseeded;
impl Policy for Unseeded {
    fn name(&self) -> String {
        "unseeded".into()
    }
    fn choose(&mut self, _: &Decision<'_>) -> Result<usize, LoopError> {
        Ok(0)
    }
}

#[test]
fn never_true_under_an_unseeded_policy() {
    let lp = EventLoop::builder().policy(Unseeded).build();
    assert!(lp
        .run_until_complete(calls(200))
        .unwrap()
        .iter()
        .all(|b| !b));
    assert!(buggify_events(&lp.trace()).is_empty());
}

#[test]
fn the_retry_path_is_reached_under_some_seeds_only() {
    let mut retried = 0;
    let mut clean = 0;
    for seed in 0..200 {
        let lp = seeded(seed);
        let out = lp.run_until_complete(retry::scenario()).unwrap().unwrap();
        if out.iter().any(|o| o.attempts > 1) {
            retried += 1;
        } else {
            clean += 1;
        }
    }
    assert!(
        retried > 20,
        "retry path reached under {retried} of 200 seeds"
    );
    assert!(clean > 20, "clean runs: {clean} of 200");
    // The same under PCT and in a default (portfolio) sweep.
    let pct_retried = (0..100)
        .filter(|&s| {
            let lp = EventLoop::builder().policy(Pct::new(s, 3)).build();
            let out = lp.run_until_complete(retry::scenario()).unwrap().unwrap();
            out.iter().any(|o| o.attempts > 1)
        })
        .count();
    assert!(pct_retried > 10, "{pct_retried}");
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    Builder::new()
        .env(Env::default())
        .seeds(0..60)
        .try_check(move || {
            let h = h.clone();
            async move {
                let out = retry::scenario().await?;
                if out.iter().any(|o| o.attempts > 1) {
                    h.set(h.get() + 1);
                }
                Ok::<(), String>(())
            }
        })
        .unwrap_or_else(|f| panic!("{f}"));
    assert!(hits.get() > 5, "{}", hits.get());
}

#[test]
fn swarm_rates_per_site() {
    let (mut enabled, mut fired, mut calls_on) = (0, 0, 0);
    for seed in 0..400 {
        let lp = seeded(seed);
        let v = lp.run_until_complete(calls(40)).unwrap();
        let n = v.iter().filter(|b| **b).count();
        if n > 0 {
            enabled += 1;
            fired += n;
            calls_on += v.len();
        }
    }
    // A site enabled in a run fires on 40 calls with probability 1 − (3/4)^40 ≈ 1, so
    // "fired at least once" counts the enabled runs: about half.
    assert!((140..260).contains(&enabled), "enabled in {enabled} of 400");
    let rate = fired as f64 / calls_on as f64;
    assert!((0.2..0.3).contains(&rate), "enabled sites fire at {rate}");
}

#[test]
fn sites_are_source_locations() {
    let lp = seeded(11);
    lp.run_until_complete(async {
        for _ in 0..3 {
            buggify(); // one site, three calls
        }
        buggify(); // another
        buggify(); // and another
    })
    .unwrap();
    let ev = buggify_events(&lp.trace());
    assert_eq!(ev.len(), 5);
    let sites: Vec<u32> = ev.iter().map(|e| e.0).collect();
    assert_eq!(sites[0], sites[1]);
    assert_eq!(sites[1], sites[2]);
    let distinct: BTreeSet<u32> = sites.iter().copied().collect();
    assert_eq!(distinct.len(), 3);
    // Stable across loops (a hash of file:line:column, not an address).
    let again = seeded(11);
    again
        .run_until_complete(async {
            for _ in 0..3 {
                buggify();
            }
            buggify();
            buggify();
        })
        .unwrap();
    // Different source lines: same shape, different sites.
    let other: BTreeSet<u32> = buggify_events(&again.trace()).iter().map(|e| e.0).collect();
    assert_eq!(other.len(), 3);
    assert!(other.is_disjoint(&distinct));
}

#[test]
fn recorded_in_the_trace_and_round_trips() {
    let lp = seeded(4);
    let v = lp.run_until_complete(calls(30)).unwrap();
    let t = lp.trace();
    let recorded: Vec<bool> = buggify_events(&t).iter().map(|e| e.1).collect();
    assert_eq!(recorded, v);
    let text = t.to_string();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(" buggify ")).collect();
    assert_eq!(lines.len(), 30);
    for l in &lines {
        let cols: Vec<&str> = l.split(' ').collect();
        assert_eq!(cols.len(), 5, "{l}");
        assert_eq!(cols[2], "buggify");
        assert!(cols[3].starts_with("0x") && cols[3].len() == 10, "{l}");
        assert!(cols[4] == "0" || cols[4] == "1", "{l}");
    }
    // Not steps: the step count is that of the polls.
    let parsed: Trace = text.parse().unwrap();
    assert_eq!(parsed.to_string(), text);
    assert_eq!(parsed.steps(), t.steps());
    assert_eq!(parsed.digest(), t.digest());
    // Malformed lines are rejected with what was expected.
    let header = "simloop-trace v1 policy=random seed=4\n";
    for (bad, expected) in [
        ("0 0.000000000 buggify 12 1\n", "buggify site"),
        ("0 0.000000000 buggify 0x0000001G 1\n", "buggify site"),
        ("0 0.000000000 buggify 0x00000012 2\n", "0 or 1"),
        ("0 0.000000000 buggify 0x00000012\n", "0 or 1"),
        ("0 0.000000000 buggify 0x00000012 1 x\n", "end of line"),
        ("1 0.000000000 buggify 0x00000012 1\n", "step 0"),
    ] {
        let e = format!("{header}{bad}").parse::<Trace>().unwrap_err();
        assert!(e.expected.starts_with(expected), "{bad}: {e}");
    }
    let ok: Trace = format!("{header}0 0.000000000 buggify 0x00000012 1\n")
        .parse()
        .unwrap();
    assert_eq!(buggify_events(&ok), [(0x12, true)]);
}

#[test]
fn same_seed_same_values_and_replay_returns_them() {
    for seed in 0..40 {
        let run = || {
            let lp = seeded(seed);
            let out = lp.run_until_complete(retry::scenario()).unwrap().unwrap();
            (out, lp.trace())
        };
        let (a, ta) = run();
        let (b, tb) = run();
        assert_eq!(a, b);
        assert_eq!(ta.to_string(), tb.to_string());
        // Replay from the text: same values, same trace.
        let parsed: Trace = ta.to_string().parse().unwrap();
        let lp = EventLoop::builder().policy(Replay::new(&parsed)).build();
        let c = lp.run_until_complete(retry::scenario()).unwrap().unwrap();
        assert_eq!(c, a, "seed {seed}");
        assert_eq!(lp.trace().to_string(), ta.to_string(), "seed {seed}");
    }
}

/// A replay returns the *recorded* values, not a fresh draw: a trace whose buggify lines
/// were edited replays with the edited values.
#[test]
fn replay_returns_recorded_values_not_a_fresh_draw() {
    let lp = seeded(8);
    let v = lp.run_until_complete(calls(12)).unwrap();
    let text = lp.trace().to_string();
    let flipped: String = text
        .lines()
        .map(|l| {
            if l.contains(" buggify ") {
                let (head, last) = l.rsplit_once(' ').unwrap();
                format!("{head} {}\n", if last == "1" { "0" } else { "1" })
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let t: Trace = flipped.parse().unwrap();
    let again = EventLoop::builder().policy(Replay::new(&t)).build();
    let w = again.run_until_complete(calls(12)).unwrap();
    let inverted: Vec<bool> = v.iter().map(|b| !b).collect();
    assert_eq!(w, inverted);
    assert_eq!(again.trace().to_string(), flipped);
}

#[test]
fn a_failing_sweep_replays_with_its_buggify_values() {
    // A bug on the error path: the client counts a lost reply as "not applied" and sends
    // a *new* message id, so the server applies it twice.
    let body = || async {
        let server = Rc::new(retry::Server::default());
        let mut id = 0;
        for _ in 0..4 {
            simloop::sleep(std::time::Duration::from_millis(1)).await;
            if buggify() {
                id += 1; // the bug: a new id for a resend
            }
            server.applied.borrow_mut().insert(id);
        }
        if server.applied.borrow().len() > 1 {
            return Err(format!("applied {} times", server.applied.borrow().len()));
        }
        Ok(())
    };
    let dir = std::env::temp_dir().join("simloop-sim-tests-buggify-sweep");
    let f = Builder::new()
        .name("buggify_sweep")
        .env(Env::default())
        .trace_dir(&dir)
        .seeds(0..200)
        .try_check(body)
        .expect_err("some seed goes down the error path");
    assert_eq!(f.kind, FailureKind::ReturnedErr);
    assert!(buggify_events(&f.trace).iter().any(|e| e.1));
    // The recorded trace replays: same failure, same trace.
    let again = Builder::new()
        .name("buggify_sweep")
        .env(Env::default())
        .trace_dir(&dir)
        .replay(&f.trace)
        .try_check(body)
        .expect_err("the replay fails the same way");
    assert_eq!(again.message, f.message);
    assert_eq!(again.trace.to_string(), f.trace.to_string());
    // Under Fifo the same body never fails.
    let lp = EventLoop::builder().policy(Fifo).build();
    assert!(lp.run_until_complete(body()).unwrap().is_ok());
}

/// Adding a `buggify()` call whose value is ignored changes no scheduling decision: the
/// step lines of every seed's trace are the same with and without it.
#[test]
fn buggify_has_its_own_stream() {
    async fn program(extra: bool) {
        let log = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let log = log.clone();
                create_task(async move {
                    for j in 0..3 {
                        if extra {
                            let _ = buggify();
                        }
                        log.borrow_mut().push((i, j));
                        yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    }
    let steps_of = |t: &Trace| -> Vec<String> {
        t.to_string()
            .lines()
            .filter(|l| !l.contains(" buggify "))
            .map(str::to_owned)
            .collect()
    };
    for seed in 0..100 {
        for mk in [
            &(|s| Box::new(Random::new(s)) as Box<dyn Policy>) as &dyn Fn(u64) -> Box<dyn Policy>,
            &|s| Box::new(Pct::with_steps(s, 3, 20)),
        ] {
            let a = EventLoop::builder().policy(mk(seed)).build();
            a.run_until_complete(program(false)).unwrap();
            let b = EventLoop::builder().policy(mk(seed)).build();
            b.run_until_complete(program(true)).unwrap();
            assert_eq!(steps_of(&a.trace()), steps_of(&b.trace()), "seed {seed}");
            assert_eq!(buggify_events(&b.trace()).len(), 12);
        }
    }
}

/// Writes `text` to `path`, creating its directory.
fn write_file(path: &std::path::Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Lays out one checkout under `base`: a dependency `sitedep` at `base/<dep_dir>/sitedep`
/// (outside the app's workspace, so rustc sees its files by absolute path) and the app at
/// `base/app`, both depending on this simloop by path. Returns the app's directory.
fn lay_out_checkout(base: &std::path::Path, dep_dir: &str) -> std::path::PathBuf {
    let simloop = env!("CARGO_MANIFEST_DIR");
    let dep = base.join(dep_dir).join("sitedep");
    write_file(
        &dep.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"sitedep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nsimloop = {{ path = {simloop:?} }}\n"
        ),
    );
    write_file(
        &dep.join("src/lib.rs"),
        "/// Retries `n` times; each attempt may be failed by buggify.\n\
         pub async fn flaky(n: u32) -> u32 {\n\
         \x20   let mut failed = 0;\n\
         \x20   for _ in 0..n {\n\
         \x20       if simloop::buggify() {\n\
         \x20           failed += 1;\n\
         \x20           simloop::sleep(std::time::Duration::from_millis(1)).await;\n\
         \x20       } else {\n\
         \x20           simloop::yield_now().await;\n\
         \x20       }\n\
         \x20   }\n\
         \x20   failed\n\
         }\n",
    );
    let app = base.join("app");
    write_file(
        &app.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"siteapp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nsimloop = {{ path = {simloop:?} }}\n\
             sitedep = {{ path = {:?} }}\n\n[workspace]\n",
            dep.display().to_string()
        ),
    );
    write_file(
        &app.join("src/main.rs"),
        "fn main() {\n\
         \x20   let mut digest = 0u64;\n\
         \x20   let mut fired = 0;\n\
         \x20   for seed in 0..200u64 {\n\
         \x20       let lp = simloop::EventLoop::builder().seed(seed).build();\n\
         \x20       let n = lp.run_until_complete(async {\n\
         \x20           let a = simloop::create_task(sitedep::flaky(3));\n\
         \x20           let b = simloop::create_task(sitedep::flaky(2));\n\
         \x20           let own = u32::from(simloop::buggify());\n\
         \x20           a.await.unwrap() + b.await.unwrap() + own\n\
         \x20       }).unwrap();\n\
         \x20       fired += n;\n\
         \x20       digest = digest.rotate_left(7) ^ lp.trace().digest();\n\
         \x20   }\n\
         \x20   println!(\"digest={digest:#018x} fired={fired}\");\n\
         }\n",
    );
    // The same dependency versions as this repository, so `--offline` resolves.
    std::fs::copy(
        std::path::Path::new(simloop).join("Cargo.lock"),
        app.join("Cargo.lock"),
    )
    .unwrap();
    app
}

/// Defect 1 of issue 13: buggify's site id hashed the absolute path of a dependency's
/// source file, so the same seed fired different faults in another checkout. Builds the
/// same program (an app and a path dependency that calls `buggify()`) from two checkouts
/// at different absolute paths, each with its own target directory, runs 200 seeds in
/// each and compares the combined trace digest.
#[test]
#[ignore = "builds two copies of a small crate with cargo (a minute or more); run sim-tests/site_identity.sh"]
fn same_program_from_two_checkouts_gives_the_same_traces() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let base = std::env::temp_dir().join(format!("simloop-site-identity-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let outputs: Vec<String> = [("one", "deps"), ("two/elsewhere", "x/y/z")]
        .iter()
        .map(|(checkout, dep_dir)| {
            let app = lay_out_checkout(&base.join(checkout), dep_dir);
            let out = std::process::Command::new(&cargo)
                .args(["run", "--offline", "--quiet"])
                .current_dir(&app)
                .env("CARGO_TARGET_DIR", app.join("target"))
                .env_remove("SIMLOOP_SEED")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "cargo run in {} failed:\n{}",
                app.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        })
        .collect();
    let _ = std::fs::remove_dir_all(&base);
    assert!(outputs[0].starts_with("digest=0x"), "{}", outputs[0]);
    assert!(
        !outputs[0].contains("fired=0\n"),
        "no fault fired: {}",
        outputs[0]
    );
    assert_eq!(
        outputs[0], outputs[1],
        "the same program gives different traces from two checkouts"
    );
}
