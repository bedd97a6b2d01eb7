//! Names a person can follow (issue 10, item 6): reports name each timer, callback and task
//! by where it came from — the user's `sleep`/`call_*`/`create_task` line (recorded with
//! `#[track_caller]`), the task that registered it, a sleep's duration — in the shrink
//! story, divergence errors and deadlock reports. None of it changes a scheduling
//! decision or the trace text.
//!
//! Line numbers are asserted with `line!()`; snapshots replace this file's line numbers
//! with `[LINE]` so editing it does not change them.

#[path = "support/normalize.rs"]
mod normalize;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use simloop::{
    create_task, create_task_named, sleep, Builder, Candidate, Decision, Env, EventLoop, Fifo,
    Instant, LoopError, Policy, Replay, Trace,
};

const FILE: &str = "sim-tests/names.rs";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------
// the shrink story

/// The line of the `sleep` in [`client`].
const CLIENT_SLEEP_LINE: u32 = line!() + 5;

/// Sleeps `d`, then records `name`.
async fn client(name: &'static str, d: Duration, log: Rc<RefCell<Vec<&'static str>>>) {
    let _ = name;
    sleep(d).await;
    log.borrow_mut().push(name);
}

/// The line of `create_task_named("client-2", …)` in [`two_clients`].
const SPAWN_LINE: u32 = line!() + 7;

/// Two clients whose 20 ms sleeps end at the same time; the body assumes client-1 is
/// served first, which holds only while the timers fire in registration order.
async fn two_clients() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let a = create_task_named("client-1", client("client-1", ms(20), log.clone()));
    let b = create_task_named("client-2", client("client-2", ms(20), log.clone()));
    a.await.unwrap();
    b.await.unwrap();
    assert_eq!(
        *log.borrow(),
        ["client-1", "client-2"],
        "served out of order"
    );
}

fn runner(test: &str) -> Builder {
    Builder::new()
        .env(Env::default())
        .name(test)
        .trace_dir(std::env::temp_dir().join("simloop-names"))
}

#[test]
fn the_story_names_timers_by_sleep_task_and_line() {
    let f = runner("story_names")
        .seeds(0..200)
        .try_check(two_clients)
        .expect_err("the order bug is found");
    let shrunk = f.shrunk.as_ref().expect("shrunk");
    let named = shrunk.named_story.join("\n");
    // The shrunk schedule runs client-2 first (so its sleep registers timer 1): the story
    // names both tasks by where they were created. (Timers are named the same way, with
    // their sleep: see `a_divergence_names_the_differing_timers`.)
    assert_eq!(
        shrunk.named_story[0],
        format!(
            "step 2: task 3 \"client-2\" (created at {FILE}:{SPAWN_LINE}) ran before task 2 \
             \"client-1\" (created at {FILE}:{}) (no task could go on: a free choice)",
            SPAWN_LINE - 1
        ),
        "{named}"
    );
    // The plain story names the same items by number only; both have the same lines.
    assert_eq!(shrunk.story.len(), shrunk.named_story.len());
    assert!(
        !shrunk.story.join("\n").contains(FILE),
        "{:?}",
        shrunk.story
    );
    // The report shows the named story.
    assert!(f.to_string().contains(&shrunk.named_story[0]), "{f}");
    insta::assert_snapshot!("story", without_line_numbers_in(&named));
}

// ---------------------------------------------------------------------------------------
// divergence errors

#[test]
fn a_divergence_names_the_differing_timers() {
    let recorded = {
        let lp = EventLoop::builder().policy(Fifo).build();
        lp.run_until_complete(two_clients()).unwrap();
        lp.trace()
    };
    // The edited program: client-2 now sleeps 10 ms, so its timer is the only one due
    // when the trace expects client-1's.
    let edited = async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let a = create_task_named("client-1", client("client-1", ms(20), log.clone()));
        let b = create_task_named("client-2", client("client-2", ms(10), log.clone()));
        a.await.unwrap();
        b.await.unwrap();
    };
    let lp = EventLoop::builder().policy(Replay::new(&recorded)).build();
    let e = lp.run_until_complete(edited).unwrap_err();
    let LoopError::Divergence {
        expected, runnable, ..
    } = &e
    else {
        panic!("expected a divergence, got {e:?}");
    };
    let at = format!("{FILE}:{CLIENT_SLEEP_LINE}");
    assert_eq!(
        expected,
        &format!("timer 1 (sleep 20ms in `client-1` at {at})")
    );
    assert_eq!(
        runnable,
        &format!("timer 2 (sleep 10ms in `client-2` at {at})")
    );
    insta::assert_snapshot!("divergence", without_line_numbers_in(&e.to_string()));
}

/// Fails the run with a divergence at the first decision among `n` or more items, so the
/// loop names every candidate (a window on the origins it noted).
struct FailAt(usize);

impl Policy for FailAt {
    fn name(&self) -> String {
        "failat".into()
    }
    fn every_step(&self) -> bool {
        true
    }
    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        if d.candidates.len() < self.0 {
            return Ok(0);
        }
        let _: &[Candidate] = d.candidates;
        Err(LoopError::Divergence {
            step: d.step,
            expected: "poll of task 2".into(),
            runnable: String::new(),
        })
    }
}

#[test]
#[rustfmt::skip]
fn track_caller_records_the_users_line() {
    let lp = EventLoop::builder().policy(FailAt(7)).build();
    let l = lp.clone();
    let lines = Rc::new(RefCell::new(Vec::new()));
    let ls = lines.clone();
    let e = lp
        .run_until_complete(async move {
            {
                let mut ls = ls.borrow_mut();
                ls.push(line!()); l.call_soon(|| ());
                ls.push(line!()); l.call_later(Duration::ZERO, || ());
                ls.push(line!()); l.call_at(Instant::ZERO, || ());
                ls.push(line!()); drop(create_task(async {}));
                ls.push(line!()); drop(create_task_named("b", async {}));
                ls.push(line!()); drop(l.create_task(async {}));
                ls.push(line!()); drop(l.create_task_named("d", async {}));
            }
            sleep(ms(1)).await;
        })
        .unwrap_err();
    let l = lines.borrow();
    let LoopError::Divergence {
        expected, runnable, ..
    } = &e
    else {
        panic!("expected a divergence, got {e:?}");
    };
    assert_eq!(
        expected,
        &format!("poll of task 2 (created at {FILE}:{})", l[3])
    );
    let want = [
        format!("callback 1 (call_soon in task 1 at {FILE}:{})", l[0]),
        format!("poll of task 2 (created at {FILE}:{})", l[3]),
        format!("poll of task 3 \"b\" (created at {FILE}:{})", l[4]),
        format!("poll of task 4 (created at {FILE}:{})", l[5]),
        format!("poll of task 5 \"d\" (created at {FILE}:{})", l[6]),
        format!("timer 2 (call_later 0ns in task 1 at {FILE}:{})", l[1]),
        format!("timer 3 (call_at 0.000000000s in task 1 at {FILE}:{})", l[2]),
    ];
    let mut got: Vec<&str> = runnable.split(", ").collect();
    got.sort();
    let mut want: Vec<&str> = want.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(got, want, "{e}");
}

#[test]
fn the_trace_text_is_unchanged_by_origins() {
    let lp = EventLoop::builder().policy(Fifo).build();
    lp.run_until_complete(two_clients()).unwrap();
    let t = lp.trace();
    let text = t.to_string();
    assert!(!text.contains(FILE), "{text}");
    let parsed: Trace = text.parse().unwrap();
    assert_eq!(parsed, t);
    assert_eq!(parsed.digest(), t.digest());
}

// ---------------------------------------------------------------------------------------
// deadlock reports

#[test]
#[rustfmt::skip]
fn a_deadlock_names_where_each_blocked_task_was_created() {
    let lp = EventLoop::builder().policy(Fifo).build();
    let l = lp.clone();
    let lines = Rc::new(RefCell::new(Vec::new()));
    let ls = lines.clone();
    let (_tx, rx) = futures::channel::oneshot::channel::<()>();
    let rx = futures::FutureExt::shared(rx);
    let main_line = line!(); let e = lp.run_until_complete(async move {
            let r = rx.clone();
            ls.borrow_mut().push(line!()); let waiter = l.create_task_named("waiter", async move { r.await.ok() });
            let r = rx.clone();
            ls.borrow_mut().push(line!()); let gathered = simloop::gather([async move { r.await.ok() }]);
            ls.borrow_mut().push(line!()); let g = create_task(gathered);
            let _ = waiter.await;
            let _ = g.await;
        })
        .unwrap_err();
    let l = lines.borrow();
    let LoopError::Deadlock { blocked, .. } = &e else {
        panic!("expected a deadlock, got {e:?}");
    };
    let created: Vec<(&str, Option<String>)> = blocked
        .iter()
        .map(|b| (b.name.as_str(), b.created.clone()))
        .collect();
    let at = |line: u32| Some(format!("{FILE}:{line}"));
    assert_eq!(
        created,
        [
            ("Task-1", at(main_line)),
            ("waiter", at(l[0])),
            ("Task-3", at(l[2])),
            ("Task-4", at(l[1])),
        ],
        "{e}"
    );
    insta::assert_snapshot!("deadlock", without_line_numbers_in(&e.to_string()));
}

/// `text` with this file's line numbers replaced by `[LINE]`.
fn without_line_numbers_in(text: &str) -> String {
    normalize::without_line_numbers(text, "sim-tests/names.rs:")
}
