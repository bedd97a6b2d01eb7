//! Shrinking (issue 6, part 3): `Failure::shrunk` after a sweep, a search or a replay.
//!
//! Covered:
//! - a lost update among noisy tasks, found by a random sweep with several preemptions,
//!   shrinks to the one preemption the bug needs, failing the same way;
//! - the shrunk trace is written next to the original and replays (`Builder::replay`) to
//!   the same failure with a byte-identical trace;
//! - the story names the preempted task, what it had just done and who ran instead; the
//!   report gains the "shrunk schedule" section;
//! - `shrink(false)` and `shrink_budget(0)` turn it off; the budget bounds the re-runs;
//!   shrinking is deterministic; a search's failure is shrunk too;
//! - a failure found by a random walk after a long prefix (hundreds of incidental
//!   preemptions) shrinks to the one deviation from the default order it needs.

use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;

use simloop::{create_task_named, yield_now, Builder, Env, Failure};

fn trace_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("simloop-sim-tests-shrink-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn builder(test: &str) -> Builder {
    Builder::new()
        .env(Env::default())
        .name(test)
        .trace_dir(trace_dir(test))
}

/// Two incrementers with a read–yield–write lost update, among three busy tasks that
/// just yield a few times (noise for a random schedule).
async fn noisy_lost_update() -> Result<(), String> {
    let n = Rc::new(Cell::new(0));
    let incr = |n: Rc<Cell<u32>>| async move {
        let v = n.get();
        yield_now().await;
        n.set(v + 1);
    };
    let mut tasks = Vec::new();
    for i in 0..3 {
        tasks.push(create_task_named(format!("busy {i}"), async {
            for _ in 0..3 {
                yield_now().await;
            }
        }));
    }
    let a = create_task_named("incr a", incr(n.clone()));
    let b = create_task_named("incr b", incr(n.clone()));
    for t in tasks {
        t.await.unwrap();
    }
    a.await.unwrap();
    b.await.unwrap();
    if n.get() == 2 {
        Ok(())
    } else {
        Err(format!("counter is {}", n.get()))
    }
}

/// The first failing seed of 0..1000 whose schedule has at least 3 preemptions.
fn noisy_failure(test: &str) -> Box<Failure> {
    (0..1000)
        .filter_map(|s| {
            builder(test)
                .seeds(s..s + 1)
                .try_check(noisy_lost_update)
                .err()
        })
        .find(|f| f.shrunk.as_ref().unwrap().preemptions_before >= 3)
        .expect("a noisy failing seed")
}

#[test]
fn a_noisy_sweep_failure_shrinks_to_one_preemption_and_replays() {
    let dir = trace_dir("noisy");
    let f = noisy_failure("noisy");
    assert_eq!(f.message, "the test returned Err(\"counter is 1\")");
    let s = f.shrunk.as_ref().unwrap();
    assert_eq!(s.preemptions_after, 1, "a lost update needs one preemption");
    assert!(s.preemptions_before >= 3);
    assert!(s.steps_after <= s.steps_before);
    assert!(s.runs <= simloop::DEFAULT_SHRINK_BUDGET);
    assert_eq!(s.trace.policy(), "shrunk");
    assert_eq!(s.trace.seed(), None);
    // The failure's own seed, trace and replay line are the sweep's.
    assert!(f.seed.is_some());
    assert_eq!(f.trace.policy(), "random");

    // The story: one preemption line naming an incrementer that had just yielded.
    let pre: Vec<&String> = s
        .story
        .iter()
        .filter(|l| l.contains("preemption"))
        .collect();
    assert_eq!(pre.len(), 1, "{:#?}", s.story);
    assert!(
        pre[0].contains("\"incr a\" could go on") || pre[0].contains("\"incr b\" could go on"),
        "{}",
        pre[0]
    );
    assert!(pre[0].contains("yielded"), "{}", pre[0]);
    assert!(s
        .story
        .last()
        .unwrap()
        .ends_with("the run fails: the test returned Err(\"counter is 1\")"));

    // The report's section.
    let report = f.to_string();
    assert!(
        report.contains(&format!(
            "  shrunk schedule: {} preemptions -> 1, ",
            s.preemptions_before
        )),
        "{report}"
    );
    assert!(
        report.contains("  replay shrunk: SIMLOOP_REPLAY="),
        "{report}"
    );

    // Written next to the original trace; replays to the same failure, byte for byte.
    let path = s.path.clone().expect("shrunk trace written");
    let stem = f
        .trace_path
        .as_ref()
        .unwrap()
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(path, dir.join(format!("{stem}-shrunk.trace")));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), s.trace.to_string());
    let again = Builder::new()
        .env(Env::default())
        .trace_dir(&dir)
        .replay(path.as_path())
        .shrink(false)
        .try_check(noisy_lost_update)
        .unwrap_err();
    assert_eq!(again.kind, f.kind);
    assert_eq!(again.message, f.message);
    assert_eq!(again.trace.to_string(), s.trace.to_string());
}

#[test]
fn shrinking_is_deterministic() {
    let a = noisy_failure("determ_a");
    let b = noisy_failure("determ_b");
    assert_eq!(a.seed, b.seed);
    let (sa, sb) = (a.shrunk.unwrap(), b.shrunk.unwrap());
    assert_eq!(sa.trace.to_string(), sb.trace.to_string());
    assert_eq!(sa.story, sb.story);
    assert_eq!(sa.runs, sb.runs);
}

#[test]
fn shrinking_can_be_turned_off_and_is_bounded() {
    let seed = noisy_failure("off_find").seed.unwrap();
    let off = builder("off")
        .seeds(seed..seed + 1)
        .shrink(false)
        .try_check(noisy_lost_update)
        .unwrap_err();
    assert!(off.shrunk.is_none());
    assert!(!off.to_string().contains("shrunk schedule"));
    let zero = builder("zero")
        .seeds(seed..seed + 1)
        .shrink_budget(0)
        .try_check(noisy_lost_update)
        .unwrap_err();
    assert!(zero.shrunk.is_none());
    let small = builder("small")
        .seeds(seed..seed + 1)
        .shrink_budget(5)
        .try_check(noisy_lost_update)
        .unwrap_err();
    let s = small.shrunk.unwrap();
    assert!(s.runs <= 5, "{} re-runs", s.runs);
    assert!(s.trace.steps() > 0);
}

#[test]
fn a_search_failure_is_shrunk_too() {
    let f = builder("search")
        .max_preemptions(1)
        .try_check_all(noisy_lost_update)
        .unwrap_err();
    assert!(f.source.ends_with("(1 preemption)"), "{}", f.source);
    let s = f.shrunk.as_ref().expect("shrunk");
    assert_eq!(s.preemptions_before, 1);
    assert_eq!(s.preemptions_after, 1);
    assert!(s.steps_after <= s.steps_before);
    let again = Builder::new()
        .env(Env::default())
        .trace_dir(trace_dir("search_replay"))
        .replay(s.path.clone().unwrap().as_path())
        .shrink(false)
        .try_check(noisy_lost_update)
        .unwrap_err();
    assert_eq!(again.message, f.message);
    assert_eq!(again.trace.to_string(), s.trace.to_string());
}

/// A window after a long prefix (as `examples/strategies.rs`'s bug 7, smaller): four
/// workers do 30 polls each; then a coordinator flags a migration for one poll; a reader
/// that was started at the beginning must first run inside that poll.
async fn late_window() -> Result<(), String> {
    let migrating = Rc::new(Cell::new(false));
    let seen = Rc::new(Cell::new(false));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            create_task_named(format!("worker {i}"), async {
                for _ in 0..30 {
                    yield_now().await;
                }
            })
        })
        .collect();
    let m = migrating.clone();
    let coordinator = create_task_named("coordinator", async move {
        for w in workers {
            w.await.unwrap();
        }
        m.set(true);
        yield_now().await;
        m.set(false);
    });
    let (m, s) = (migrating.clone(), seen.clone());
    let reader = create_task_named("reader", async move {
        s.set(m.get());
    });
    coordinator.await.unwrap();
    reader.await.unwrap();
    if seen.get() {
        Err("the reader saw the migration".into())
    } else {
        Ok(())
    }
}

#[test]
fn a_random_walks_failure_after_a_long_prefix_shrinks_to_one_preemption() {
    // The default sweep finds it with a mutation whose walk preempts all along; the
    // schedule the bug needs is the default order with one deviation late in the run.
    let f = builder("late_window")
        .seeds(0..1000)
        .try_check(late_window)
        .expect_err("the window is found");
    let s = f.shrunk.as_ref().expect("shrunk");
    assert!(s.preemptions_before > 10, "{}", s.preemptions_before);
    assert_eq!(s.preemptions_after, 1, "{}", s.story.join("\n"));
    // The shrunk trace fails the same way.
    let again = builder("late_window")
        .shrink(false)
        .replay(&s.trace)
        .try_check(late_window)
        .expect_err("the shrunk trace fails");
    assert_eq!(again.message, f.message);
    assert_eq!(again.trace.to_string(), s.trace.to_string());
    // The same sweep again finds and shrinks it to the same trace and story.
    let g = builder("late_window")
        .seeds(0..1000)
        .try_check(late_window)
        .expect_err("found again");
    let t = g.shrunk.as_ref().expect("shrunk");
    assert_eq!(g.seed, f.seed);
    assert_eq!(t.trace.to_string(), s.trace.to_string());
    assert_eq!(t.story, s.story);
}
