//! Which strategy finds which bug: a measurement.
//!
//! Ten planted bugs of increasing depth, each a small test body that returns `Err` when
//! the bug shows. For each bug and each sweep strategy — `Random`, `Swarm`, `Pct` of
//! depth 2, 3 and 4, `Pct` of depth 2 with change points near the ends (`PCT(2)e`),
//! simloop 0.1's portfolio (`Portfolio::classic()`), the default portfolio's rotation
//! without learning (`rotation`: `.adaptive(false)`) and the default sweep (`default`:
//! `Builder::new()` alone — the rotation, learning from await-site coverage) — this
//! runs 20 independent trials (trial `t` sweeps the seeds `t·100_000 ..`, at most
//! [`CAP`] of them) and counts the schedules run up to and including the first failing
//! one (`seeds_passed + 1`). Bounded exhaustive search (`Builder::explore`) is deterministic,
//! so it is run once. Then it shrinks one failure per bug and strategy (trial 0's) and
//! compares the failing trace with the shrunk one.
//!
//! The first column says whether asyncio's own order (`Fifo`) hits the bug. The output is
//! the markdown of `docs/strategies.md`'s tables.
//!
//! Run it: `cargo run --release --example strategies`. Knobs: `STRATEGIES_CAP=2000` for
//! a quicker, coarser run; `STRATEGIES_TRIALS=5` for fewer trials; `STRATEGIES_BUGS=6,7`
//! for some bugs only; `STRATEGIES_SWEEPS='PCT(3)e,rotation'` for other columns (labels
//! as in the table; `PCT(3)e` is measured only when named);
//! `STRATEGIES_QUICK=1` skips the exhaustive search and the shrinking;
//! `STRATEGIES_SEARCH_CAP` bounds the exhaustive search (default [`SEARCH_CAP`]: it holds
//! every schedule it ran in memory).

use std::cell::Cell;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use simloop::{Builder, Env, Failure, FailureKind, Pct, Portfolio, Random, Swarm};

/// Most schedules one trial may run before it counts as "not found".
const CAP: u64 = 100_000;
/// Independent trials per bug and sweep strategy.
const TRIALS: u64 = 20;
/// Where trial `t`'s seeds start.
const TRIAL_STRIDE: u64 = 100_000;
/// The preemption bound of the exhaustive search.
const MAX_PREEMPTIONS: u32 = 3;
/// Most schedules the exhaustive search may run. The search keeps every schedule it ran
/// (about 300 KB each for bug 7's 320-step runs), so this is lower than [`CAP`].
const SEARCH_CAP: u64 = 5_000;

type Body = Pin<Box<dyn Future<Output = Result<(), String>>>>;

struct Bug {
    name: &'static str,
    what: &'static str,
    body: fn() -> Body,
}

/// `n` polls of doing nothing in particular.
async fn busy(n: u32) {
    for _ in 0..n {
        simloop::yield_now().await;
    }
}

fn spawn(name: &str, f: impl Future<Output = ()> + 'static) -> simloop::Task<()> {
    simloop::create_task_named(name, f)
}

async fn join(tasks: Vec<simloop::Task<()>>) {
    for t in tasks {
        t.await.expect("a task of the bug failed");
    }
}

/// 1. Two tasks increment a counter with read, yield, write: one increment is lost when
///    the second read comes before the first write.
fn lost_update() -> Body {
    Box::pin(async {
        let n = Rc::new(Cell::new(0));
        let incr = |n: Rc<Cell<u32>>| async move {
            let v = n.get();
            simloop::yield_now().await;
            n.set(v + 1);
        };
        join(vec![
            spawn("incr a", incr(n.clone())),
            spawn("incr b", incr(n.clone())),
        ])
        .await;
        match n.get() {
            2 => Ok(()),
            v => Err(format!("lost update: counter is {v}")),
        }
    })
}

/// 2. Depth 2: a writer (12 polls) leaves a record half-written for one poll, from its 9th
///    poll to its 10th; a reader that reads at its *first* poll (then does 11 polls of
///    other work) must come in exactly there: after 9 writer polls, before the 10th.
fn window_depth2() -> Body {
    torn_window(11)
}

/// 2b. The same bug with a reader that does nothing but the read (one poll).
fn window_depth2_short() -> Body {
    torn_window(0)
}

/// Bugs 2 and 2b: the writer of bug 2, and a reader that reads at its first poll, then
/// does `reader_work` more polls.
fn torn_window(reader_work: u32) -> Body {
    Box::pin(async move {
        let torn = Rc::new(Cell::new(false));
        let seen = Rc::new(Cell::new(false));
        let writer = {
            let torn = torn.clone();
            async move {
                busy(8).await;
                torn.set(true); // 9th poll: first half written
                simloop::yield_now().await;
                torn.set(false); // 10th poll: second half
                busy(2).await;
            }
        };
        let reader = {
            let (torn, seen) = (torn.clone(), seen.clone());
            async move {
                seen.set(torn.get());
                busy(reader_work).await;
            }
        };
        join(vec![spawn("writer", writer), spawn("reader", reader)]).await;
        if seen.get() {
            Err("the reader saw a half-written record".into())
        } else {
            Ok(())
        }
    })
}

/// 3. Depth 3: three events in one order. `a` (14 polls) holds a flag up from its 11th
///    poll to its 12th; `b` looks at its first poll and, if it sees the flag, holds its
///    own flag up until its second poll; `c` fails if it sees `b`'s flag at its first
///    poll. So: 11 polls of `a`, then `b`, then `c` before `b` runs again. Every task
///    does 14 polls.
fn chain_depth3() -> Body {
    Box::pin(async {
        let x = Rc::new(Cell::new(false));
        let y = Rc::new(Cell::new(false));
        let bad = Rc::new(Cell::new(false));
        let a = {
            let x = x.clone();
            async move {
                busy(10).await;
                x.set(true);
                simloop::yield_now().await;
                x.set(false);
                busy(2).await;
            }
        };
        let b = {
            let (x, y) = (x.clone(), y.clone());
            async move {
                if x.get() {
                    y.set(true);
                }
                simloop::yield_now().await;
                y.set(false);
                busy(12).await;
            }
        };
        let c = {
            let (y, bad) = (y.clone(), bad.clone());
            async move {
                bad.set(y.get());
                busy(13).await;
            }
        };
        join(vec![spawn("a", a), spawn("b", b), spawn("c", c)]).await;
        if bad.get() {
            Err("c saw the state only a-then-b-then-c produces".into())
        } else {
            Ok(())
        }
    })
}

/// 4. A narrow window among many busy tasks: eight tasks yield ten times each; two
///    claimers check-then-act on one slot (check, yield, claim). `p` checks at its 2nd
///    poll and claims at its 3rd; `q` checks at its 8th poll. Both claim when `q`'s check
///    falls in `p`'s one-poll window.
fn busy_window() -> Body {
    Box::pin(async {
        let slot = Rc::new(Cell::new(None));
        let claims = Rc::new(Cell::new(0));
        type Slot = Rc<Cell<Option<&'static str>>>;
        let claimer = |me: &'static str, before: u32, slot: Slot, claims: Rc<Cell<u32>>| async move {
            busy(before).await;
            if slot.get().is_none() {
                simloop::yield_now().await;
                slot.set(Some(me));
                claims.set(claims.get() + 1);
            }
            busy(3).await;
        };
        let mut tasks: Vec<_> = (0..8)
            .map(|i| spawn(&format!("busy {i}"), busy(10)))
            .collect();
        tasks.push(spawn("p", claimer("p", 1, slot.clone(), claims.clone())));
        tasks.push(spawn("q", claimer("q", 7, slot.clone(), claims.clone())));
        join(tasks).await;
        match claims.get() {
            1 => Ok(()),
            n => Err(format!("{n} claimers took the slot")),
        }
    })
}

/// 5. Timers: a client gives a request 10 ms (`timeout` of a shielded server task) and
///    resends it when time is up; the server applies the request after 10 ms of its own. When both timers fire at the
///    same instant and the client's timeout is handled first, the request is applied
///    twice. asyncio's order fires the server's timer (set first) first and passes. Four
///    other clients do the same with timers that do not collide.
fn timeout_race() -> Body {
    Box::pin(async {
        let request = |applied: Rc<Cell<u32>>, server_ms: u64, client_ms: u64| async move {
            let server = simloop::create_task({
                let applied = applied.clone();
                async move {
                    simloop::sleep(Duration::from_millis(server_ms)).await;
                    applied.set(applied.get() + 1);
                }
            });
            simloop::yield_now().await; // the server starts first: FIFO fires its timer first
                                        // shield: the server goes on when the client gives up (it cannot un-send).
            if simloop::timeout(Duration::from_millis(client_ms), simloop::shield(server))
                .await
                .is_err()
            {
                applied.set(applied.get() + 1); // "resend": applied again
            }
        };
        let counters: Vec<Rc<Cell<u32>>> = (0..5).map(|_| Rc::new(Cell::new(0))).collect();
        let mut tasks = vec![spawn("racy", request(counters[0].clone(), 10, 10))];
        for (i, c) in counters.iter().enumerate().skip(1) {
            let i = i as u64;
            tasks.push(spawn(
                &format!("client {i}"),
                request(c.clone(), 2 * i, 3 * i),
            ));
        }
        join(tasks).await;
        simloop::sleep(Duration::from_millis(100)).await; // every server has finished
        for (i, c) in counters.iter().enumerate() {
            if c.get() != 1 {
                return Err(format!("request {i} applied {} times", c.get()));
            }
        }
        Ok(())
    })
}

/// One stage of a relay: after `start` polls of start-up work, the stage looks at its
/// input flag (the first stage has none and always fires) and, if it is up, holds its own
/// flag up for exactly one poll (and notes that it fired); then `tail` more polls.
async fn relay(
    start: u32,
    input: Option<Rc<Cell<bool>>>,
    output: Rc<Cell<bool>>,
    fired: Rc<Cell<bool>>,
    tail: u32,
) {
    busy(start).await;
    if input.is_none_or(|i| i.get()) {
        fired.set(true);
        output.set(true);
        simloop::yield_now().await;
        output.set(false);
    } else {
        simloop::yield_now().await;
    }
    busy(tail).await;
}

/// 6. Depth 4: a relay of four tasks, each reacting once to the previous one's one-poll
///    state, with staggered start-up work (1, 3, 5 and 7 polls) so that no round-robin
///    lines the events up: `b`'s check (its 4th poll) must fall between `a`'s 2nd and 3rd
///    polls, `c`'s (6th) between `b`'s 4th and 5th, `d`'s (8th) between `c`'s 6th and
///    7th. Every task does 12 polls.
fn chain_depth4() -> Body {
    Box::pin(async {
        let flags: Vec<Rc<Cell<bool>>> = (0..4).map(|_| Rc::new(Cell::new(false))).collect();
        let fired: Vec<Rc<Cell<bool>>> = (0..4).map(|_| Rc::new(Cell::new(false))).collect();
        let mut tasks = Vec::new();
        for (i, name) in ["a", "b", "c", "d"].into_iter().enumerate() {
            let start = 1 + 2 * i as u32;
            let input = (i > 0).then(|| flags[i - 1].clone());
            let work = relay(start, input, flags[i].clone(), fired[i].clone(), 9 - start);
            tasks.push(spawn(name, work));
        }
        join(tasks).await;
        if fired[3].get() {
            Err("d saw the state only a, b, c, d in that order produce".into())
        } else {
            Ok(())
        }
    })
}

/// 7. A long prefix: six workers do 50 polls of legitimate work each (300 steps); a
///    coordinator waits for all of them, then migrates a shared table (it is
///    inconsistent for one poll); a reader started at the beginning reads the table at
///    its first poll. The bug needs the reader held back through all 300 steps and then
///    landing in the coordinator's one-poll window.
fn long_prefix() -> Body {
    Box::pin(async {
        let migrating = Rc::new(Cell::new(false));
        let seen = Rc::new(Cell::new(false));
        let workers: Vec<_> = (0..6)
            .map(|i| spawn(&format!("worker {i}"), busy(50)))
            .collect();
        let coordinator = {
            let migrating = migrating.clone();
            async move {
                join(workers).await;
                migrating.set(true);
                simloop::yield_now().await;
                migrating.set(false);
                busy(2).await;
            }
        };
        let reader = {
            let (migrating, seen) = (migrating.clone(), seen.clone());
            async move {
                seen.set(migrating.get());
                busy(2).await;
            }
        };
        join(vec![
            spawn("coordinator", coordinator),
            spawn("reader", reader),
        ])
        .await;
        if seen.get() {
            Err("the reader saw the table mid-migration".into())
        } else {
            Ok(())
        }
    })
}

/// 8. Timer ties with one-sided progress: an expiry task sleeps 10 ms and then checks the
///    lease; a renewer sleeps 10 ms too (registered after the expiry's timer, so asyncio
///    fires the expiry first) and then renews in six steps, each handed to a short
///    sub-task it awaits. The lease is taken twice when the renewer's timer fires first
///    and all six steps run before the expiry task's check. Three noise tasks tick every
///    millisecond meanwhile.
fn timer_tie() -> Body {
    Box::pin(async {
        let progress = Rc::new(Cell::new(0u32));
        let doubled = Rc::new(Cell::new(false));
        let expiry = {
            let (progress, doubled) = (progress.clone(), doubled.clone());
            async move {
                simloop::sleep(Duration::from_millis(10)).await;
                if progress.get() == 6 {
                    doubled.set(true);
                }
            }
        };
        let expiry = spawn("expiry", expiry);
        let renewer = {
            let progress = progress.clone();
            async move {
                simloop::sleep(Duration::from_millis(10)).await;
                for _ in 0..6 {
                    let p = progress.clone();
                    simloop::create_task(async move { p.set(p.get() + 1) })
                        .await
                        .expect("a renewal step");
                }
            }
        };
        simloop::yield_now().await; // the expiry's sleep is registered first
        let mut tasks = vec![expiry, spawn("renewer", renewer)];
        for i in 0..3 {
            tasks.push(spawn(&format!("noise {i}"), async {
                for _ in 0..15 {
                    simloop::sleep(Duration::from_millis(1)).await;
                    simloop::yield_now().await;
                }
            }));
        }
        join(tasks).await;
        if doubled.get() {
            Err("the lease expired after it was renewed: taken twice".into())
        } else {
            Ok(())
        }
    })
}

/// A hand-rolled one-shot event with a lost-wakeup bug: `wait` checks the flag, yields
/// (as if preparing), then registers its waker without checking again.
#[derive(Default)]
struct Event {
    set: Cell<bool>,
    waker: std::cell::RefCell<Option<std::task::Waker>>,
}

impl Event {
    fn set(&self) {
        self.set.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    async fn wait(&self) {
        if self.set.get() {
            return;
        }
        simloop::yield_now().await; // "prepare"
        let mut registered = false;
        std::future::poll_fn(|cx| {
            if registered && self.set.get() {
                return std::task::Poll::Ready(());
            }
            // The bug: the flag is not checked again before sleeping.
            registered = true;
            *self.waker.borrow_mut() = Some(cx.waker().clone());
            std::task::Poll::Pending
        })
        .await;
    }
}

/// 9. A lost wakeup among noise: a waiter does 8 polls of work and waits on the event;
///    a setter does 2 polls of work and sets it; five noise tasks yield 20 times each.
///    The waiter hangs when the setter's `set` falls between the waiter's check and its
///    registration; the test sees that as a timeout.
fn lost_wakeup() -> Body {
    Box::pin(async {
        let ev = Rc::new(Event::default());
        let mut tasks: Vec<_> = (0..5)
            .map(|i| spawn(&format!("noise {i}"), busy(20)))
            .collect();
        let waiter = {
            let ev = ev.clone();
            spawn("waiter", async move {
                busy(8).await;
                ev.wait().await;
            })
        };
        tasks.push({
            let ev = ev.clone();
            spawn("setter", async move {
                busy(2).await;
                ev.set();
            })
        });
        join(tasks).await;
        match simloop::timeout(Duration::from_secs(1), waiter).await {
            Ok(_) => Ok(()),
            Err(_) => Err("lost wakeup: the waiter never woke".into()),
        }
    })
}

#[derive(Clone, Copy)]
enum Sweep {
    Random,
    Swarm,
    Pct2,
    Pct3,
    Pct4,
    Pct2e,
    Pct3e,
    Classic,
    Portfolio,
    Adaptive,
}

impl Sweep {
    const ALL: [Sweep; 10] = [
        Sweep::Random,
        Sweep::Swarm,
        Sweep::Pct2,
        Sweep::Pct3,
        Sweep::Pct4,
        Sweep::Pct2e,
        Sweep::Pct3e,
        Sweep::Classic,
        Sweep::Portfolio,
        Sweep::Adaptive,
    ];

    fn label(self) -> &'static str {
        match self {
            Sweep::Random => "Random",
            Sweep::Swarm => "Swarm",
            Sweep::Pct2 => "PCT(2)",
            Sweep::Pct3 => "PCT(3)",
            Sweep::Pct4 => "PCT(4)",
            Sweep::Pct2e => "PCT(2)e",
            Sweep::Pct3e => "PCT(3)e",
            Sweep::Classic => "0.1 portfolio",
            Sweep::Portfolio => "rotation",
            Sweep::Adaptive => "default",
        }
    }

    /// The sweeps `STRATEGIES_SWEEPS` names (labels, comma-separated), else all.
    fn chosen() -> Vec<Sweep> {
        match std::env::var("STRATEGIES_SWEEPS") {
            Ok(v) => Sweep::ALL
                .into_iter()
                .filter(|s| v.split(',').any(|n| n.trim() == s.label()))
                .collect(),
            Err(_) => Sweep::ALL
                .into_iter()
                .filter(|s| !matches!(s, Sweep::Pct3e))
                .collect(),
        }
    }

    fn builder(self, dir: &PathBuf) -> Builder {
        let b = Builder::new()
            .env(Env::default())
            .name("strategies")
            .check_determinism(false)
            .capture_logs(false)
            .trace_dir(dir);
        match self {
            Sweep::Random => b.policy(Random::new(0)),
            Sweep::Swarm => b.policy(Swarm::new(0)),
            Sweep::Pct4 => b.policy(Pct::new(0, 4)),
            Sweep::Pct2e => b.policy(Pct::new(0, 2).at_ends()),
            Sweep::Pct3e => b.policy(Pct::new(0, 3).at_ends()),
            Sweep::Classic => b.policy(Portfolio::classic()),
            Sweep::Pct2 => b.policy(Pct::new(0, 2)),
            Sweep::Pct3 => b.policy(Pct::new(0, 3)),
            Sweep::Portfolio => b.adaptive(false),
            Sweep::Adaptive => b,
        }
    }
}

/// Schedules to the first failure of trial `t` (`None`: not within `cap`), and the failure.
fn trial(
    bug: &Bug,
    sweep: Sweep,
    t: u64,
    cap: u64,
    dir: &PathBuf,
    shrink: bool,
) -> (Option<u64>, Option<Box<Failure>>) {
    let start = t * TRIAL_STRIDE;
    let r = sweep
        .builder(dir)
        .seeds(start..start + cap)
        .shrink(shrink)
        .try_check(bug.body);
    match r {
        Ok(_) => (None, None),
        Err(f) => {
            assert!(
                matches!(f.kind, FailureKind::ReturnedErr),
                "{}: unexpected failure under {}: {f}",
                bug.name,
                sweep.label()
            );
            (Some(f.seeds_passed + 1), Some(f))
        }
    }
}

fn stats(found: &[Option<u64>], cap: u64) -> (String, String) {
    let mut v: Vec<u64> = found.iter().map(|x| x.unwrap_or(u64::MAX)).collect();
    v.sort_unstable();
    let show = |x: u64| {
        if x == u64::MAX {
            format!(">{cap}")
        } else {
            x.to_string()
        }
    };
    let hits = found.iter().filter(|x| x.is_some()).count();
    let median = show(v[v.len() / 2]);
    let worst = show(*v.last().unwrap());
    let worst = if hits < found.len() {
        format!("{worst} ({hits}/{} found)", found.len())
    } else {
        worst
    };
    (median, worst)
}

fn shrink_cell(f: &Failure) -> String {
    match &f.shrunk {
        Some(s) => format!(
            "{} → {} steps, {} → {} preempt.",
            s.steps_before, s.steps_after, s.preemptions_before, s.preemptions_after
        ),
        None => format!("{} steps (not shrunk)", f.step),
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let cap = env_u64("STRATEGIES_CAP", CAP);
    let trials = env_u64("STRATEGIES_TRIALS", TRIALS);
    let search_cap = env_u64("STRATEGIES_SEARCH_CAP", SEARCH_CAP);
    let dir = std::env::temp_dir().join(format!("simloop-strategies-{}", std::process::id()));
    let bugs = [
        Bug {
            name: "1 lost update",
            what: "2 tasks, read–yield–write",
            body: lost_update,
        },
        Bug {
            name: "2 window, depth 2",
            what: "2 tasks × 12 polls; reader must land in the writer's 9th–10th poll gap",
            body: window_depth2,
        },
        Bug {
            name: "2b window, depth 2, one-poll reader",
            what: "as 2, but the reader only reads (1 poll)",
            body: window_depth2_short,
        },
        Bug {
            name: "3 chain, depth 3",
            what: "3 tasks × 14 polls; a's 11th poll, then b, then c before b's 2nd",
            body: chain_depth3,
        },
        Bug {
            name: "4 busy window",
            what: "8 busy tasks × 10 polls + check-then-act pair; q's 8th poll in p's 2nd–3rd gap",
            body: busy_window,
        },
        Bug {
            name: "5 timer tie",
            what: "timeout and server timer at the same instant, among 4 other clients",
            body: timeout_race,
        },
        Bug {
            name: "6 relay, depth 4",
            what: "4 tasks × 12 polls, start-up 1/3/5/7 polls; a's, b's, c's one-poll states seen in turn",
            body: chain_depth4,
        },
        Bug {
            name: "7 long prefix",
            what: "6 workers × 50 polls, then a one-poll window; the reader must wait all along",
            body: long_prefix,
        },
        Bug {
            name: "8 timer tie, one-sided",
            what: "expiry's and renewer's sleeps due at once, against registration order, then 6 renewal hops first",
            body: timer_tie,
        },
        Bug {
            name: "9 lost wakeup",
            what: "hand-rolled event: set between the waiter's check and registration; 5 noise tasks",
            body: lost_wakeup,
        },
    ];

    println!(
        "Schedules to the first failure over {trials} trials (trial t sweeps seeds \
         t·{TRIAL_STRIDE}.., cap {cap}); median = the {}th smallest of {trials}; \
         exhaustive = bounded search, ≤ {MAX_PREEMPTIONS} preemptions, at most {search_cap} schedules.\n",
        trials / 2 + 1
    );
    let sweeps = Sweep::chosen();
    let mut header = String::from("| bug | FIFO |");
    let mut rule = String::from("| --- | --- |");
    for &s in &sweeps {
        header.push_str(&format!(" {} median | {} worst |", s.label(), s.label()));
        rule.push_str(" ---: | ---: |");
    }
    header.push_str(" exhaustive |");
    rule.push_str(" ---: |");
    println!("{header}\n{rule}");

    let only = std::env::var("STRATEGIES_BUGS").ok();
    let quick = std::env::var_os("STRATEGIES_QUICK").is_some();
    let mut shrink_rows = Vec::new();
    for bug in bugs.iter().filter(|b| {
        only.as_deref().is_none_or(|o| {
            o.split(',')
                .any(|n| b.name.split(' ').next() == Some(n.trim()))
        })
    }) {
        // asyncio's own order: does plain FIFO hit the bug?
        let lp = simloop::EventLoop::builder().policy(simloop::Fifo).build();
        let fifo = match lp.run_until_complete((bug.body)()) {
            Ok(Ok(())) => "passes",
            _ => "fails",
        };
        let mut row = format!("| {} | {fifo} |", bug.name);
        for &s in &sweeps {
            let found: Vec<Option<u64>> = (0..trials)
                .map(|t| trial(bug, s, t, cap, &dir, false).0)
                .collect();
            let (median, worst) = stats(&found, cap);
            row.push_str(&format!(" {median} | {worst} |"));
        }
        if quick {
            println!("{row} (skipped) |");
            continue;
        }
        let explored = Builder::new()
            .env(Env::default())
            .name("strategies")
            .capture_logs(false)
            .trace_dir(&dir)
            .max_preemptions(MAX_PREEMPTIONS)
            .max_schedules(search_cap)
            .shrink(false)
            .try_check_all(bug.body);
        let exhaustive_failure = match explored {
            Ok(summary) => {
                row.push_str(&format!(
                    " not found ({} schedules, all ≤ {MAX_PREEMPTIONS} preempt.) |",
                    summary.schedules
                ));
                None
            }
            Err(f) if f.kind == FailureKind::SearchLimit => {
                // "... max_schedules) at K preemptions; ..."
                let level = f
                    .message
                    .split(") at ")
                    .nth(1)
                    .and_then(|s| s.split(' ').next())
                    .unwrap_or("?");
                row.push_str(&format!(
                    " >{} (limit, still at {level} preempt.) |",
                    f.seeds_passed
                ));
                None
            }
            Err(f) => {
                // "explored schedule N (k preemptions)"
                let pre = f
                    .source
                    .rsplit('(')
                    .next()
                    .and_then(|s| s.split(' ').next())
                    .unwrap_or("?");
                row.push_str(&format!(" {} ({pre} preempt.) |", f.seeds_passed + 1));
                Some(())
            }
        };
        println!("{row}");

        // Shrinking: trial 0's failure of each sweep strategy, and the search's.
        let mut srow = format!("| {} |", bug.name);
        for &s in &sweeps {
            match trial(bug, s, 0, cap, &dir, true).1 {
                Some(f) => srow.push_str(&format!(" {} |", shrink_cell(&f))),
                None => srow.push_str(" (not found) |"),
            }
        }
        if exhaustive_failure.is_some() {
            let f = Builder::new()
                .env(Env::default())
                .name("strategies")
                .capture_logs(false)
                .trace_dir(&dir)
                .max_preemptions(MAX_PREEMPTIONS)
                .max_schedules(search_cap)
                .try_check_all(bug.body)
                .expect_err("the search found a failure a moment ago");
            srow.push_str(&format!(" {} |", shrink_cell(&f)));
        } else {
            srow.push_str(" (not found) |");
        }
        shrink_rows.push(srow);
    }

    println!(
        "\nShrinking trial 0's failure of each strategy: steps of the failing run → steps of \
         the shrunk run, preemptions before → after.\n"
    );
    let mut header = String::from("| bug |");
    let mut rule = String::from("| --- |");
    for &s in &sweeps {
        header.push_str(&format!(" {} |", s.label()));
        rule.push_str(" --- |");
    }
    println!("{header} exhaustive |\n{rule} --- |");
    for r in shrink_rows {
        println!("{r}");
    }
    println!("\nThe bugs:\n");
    for bug in &bugs {
        println!("- {}: {}", bug.name, bug.what);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
