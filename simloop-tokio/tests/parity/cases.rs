// The parity suite's tests, written once and included by `parity_real.rs` (real tokio)
// and `parity_mirror.rs` (the mirror, FIFO): every item is reached as `tokio::…`, and
// nothing here names either crate.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::time::{Duration, Instant};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// Sets its flag when dropped: shows that an aborted task's future was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Returns `Pending` `n` times (waking itself each time), recording each poll as `name`.
struct PendingTimes {
    name: &'static str,
    left: u32,
    log: Rc<RefCell<Vec<&'static str>>>,
}

impl Future for PendingTimes {
    type Output = &'static str;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        self.log.borrow_mut().push(self.name);
        if self.left == 0 {
            return Poll::Ready(self.name);
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

// ---------------------------------------------------------------------------------------
// Time: millisecond granularity, auto-advance, pause/resume/advance

#[tokio::test(start_paused = true)]
async fn sleep_deadlines_round_up_to_the_next_millisecond() {
    let start = Instant::now();
    tokio::time::sleep(us(1500)).await;
    assert_eq!(start.elapsed(), ms(2), "1.5 ms wakes at 2 ms");
    let t = Instant::now();
    tokio::time::sleep(ms(1)).await;
    assert_eq!(
        t.elapsed(),
        ms(1),
        "a whole millisecond is not rounded further"
    );
    let t = Instant::now();
    tokio::time::sleep(Duration::from_nanos(1)).await;
    assert_eq!(t.elapsed(), ms(1), "1 ns wakes a whole millisecond later");
    let t = Instant::now();
    tokio::time::sleep(Duration::ZERO).await;
    assert_eq!(t.elapsed(), Duration::ZERO, "a zero sleep takes no time");
}

#[tokio::test(start_paused = true)]
async fn rounding_is_to_the_runtimes_millisecond_grid_but_wakes_jump_whole_milliseconds() {
    // The wheel counts whole milliseconds since the runtime started. Off the grid
    // (after `advance(0.5 ms)`), a 1 ms sleep's deadline (1.5 ms) rounds up to tick 2;
    // the clock is at tick 0 (truncated), so auto-advance jumps 2 ms: to 2.5 ms.
    let start = Instant::now();
    tokio::time::advance(us(500)).await;
    let sleep = tokio::time::sleep(ms(1));
    assert_eq!(
        sleep.deadline() - start,
        us(1500),
        "deadline() is not rounded"
    );
    sleep.await;
    assert_eq!(start.elapsed(), us(2500));
}

#[tokio::test(start_paused = true)]
async fn timers_in_one_millisecond_fire_at_one_instant() {
    let start = Instant::now();
    let a = tokio::spawn(async move {
        tokio::time::sleep(us(1200)).await;
        start.elapsed()
    });
    let b = tokio::spawn(async move {
        tokio::time::sleep(us(1700)).await;
        start.elapsed()
    });
    assert_eq!(a.await.unwrap(), ms(2));
    assert_eq!(b.await.unwrap(), ms(2));
}

#[tokio::test(start_paused = true)]
async fn sleep_until_a_past_instant_is_ready_at_once() {
    let start = Instant::now();
    tokio::time::sleep(ms(10)).await;
    let mut sleep = Box::pin(tokio::time::sleep_until(start));
    assert!(futures_poll_once(sleep.as_mut()).await.is_ready());
    assert!(sleep.is_elapsed());
    assert_eq!(start.elapsed(), ms(10));
}

#[tokio::test(start_paused = true)]
async fn sleep_reset_moves_the_deadline() {
    let start = Instant::now();
    let mut sleep = Box::pin(tokio::time::sleep(ms(10)));
    sleep.as_mut().reset(start + ms(3));
    sleep.as_mut().await;
    assert_eq!(start.elapsed(), ms(3));
}

#[tokio::test(start_paused = true)]
async fn an_idle_paused_runtime_jumps_to_the_next_timer() {
    let real = std::time::Instant::now();
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
    assert!(
        real.elapsed() < Duration::from_secs(60),
        "virtual, not real, time"
    );
}

#[tokio::test(start_paused = true)]
async fn a_paused_clock_does_not_move_by_itself() {
    let start = Instant::now();
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    std::thread::sleep(ms(2));
    assert_eq!(Instant::now(), start);
}

#[tokio::test(start_paused = true)]
async fn advance_moves_the_clock_exactly_and_fires_due_timers() {
    let start = Instant::now();
    let fired = Arc::new(AtomicUsize::new(0));
    for d in [3, 5, 7] {
        let fired = fired.clone();
        tokio::spawn(async move {
            tokio::time::sleep(ms(d)).await;
            fired.fetch_add(1, Ordering::SeqCst);
        });
    }
    tokio::task::yield_now().await; // let the tasks register their timers
    tokio::time::advance(ms(6)).await;
    assert_eq!(start.elapsed(), ms(6));
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        fired.load(Ordering::SeqCst),
        2,
        "the 3 ms and 5 ms timers fired"
    );
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "time is already frozen")]
async fn pause_twice_panics() {
    tokio::time::pause();
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "time is not frozen")]
async fn advance_while_resumed_panics() {
    tokio::time::resume();
    tokio::time::advance(ms(1)).await;
}

#[test]
#[should_panic(expected = "time cannot be frozen from outside the Tokio runtime")]
fn pause_outside_a_runtime_panics() {
    tokio::time::pause();
}

// ---------------------------------------------------------------------------------------
// interval, interval_at, MissedTickBehavior

/// Ticks `n` times, recording (instant returned, clock at return), relative to `start`.
async fn ticks(
    iv: &mut tokio::time::Interval,
    start: Instant,
    n: usize,
) -> Vec<(Duration, Duration)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let at = iv.tick().await;
        out.push((at - start, start.elapsed()));
    }
    out
}

#[tokio::test(start_paused = true)]
async fn interval_ticks_at_once_then_every_period() {
    let start = Instant::now();
    let mut iv = tokio::time::interval(ms(10));
    assert_eq!(iv.period(), ms(10));
    assert_eq!(
        iv.missed_tick_behavior(),
        tokio::time::MissedTickBehavior::Burst
    );
    let got = ticks(&mut iv, start, 3).await;
    assert_eq!(got, [(ms(0), ms(0)), (ms(10), ms(10)), (ms(20), ms(20))]);
}

#[tokio::test(start_paused = true)]
async fn interval_at_first_ticks_at_start() {
    let start = Instant::now();
    let mut iv = tokio::time::interval_at(start + ms(5), ms(10));
    let got = ticks(&mut iv, start, 2).await;
    assert_eq!(got, [(ms(5), ms(5)), (ms(15), ms(15))]);
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "`period` must be non-zero.")]
async fn interval_of_zero_panics() {
    let _ = tokio::time::interval(Duration::ZERO);
}

/// Ticks once at 0, stalls until `stall`, then ticks four more times.
async fn after_a_stall(
    behavior: tokio::time::MissedTickBehavior,
    stall: Duration,
) -> Vec<(Duration, Duration)> {
    let start = Instant::now();
    let mut iv = tokio::time::interval(ms(10));
    iv.set_missed_tick_behavior(behavior);
    iv.tick().await;
    tokio::time::sleep(stall).await;
    ticks(&mut iv, start, 4).await
}

#[tokio::test(start_paused = true)]
async fn missed_ticks_burst_catches_up_at_once() {
    let got = after_a_stall(tokio::time::MissedTickBehavior::Burst, ms(35)).await;
    assert_eq!(
        got,
        [
            (ms(10), ms(35)),
            (ms(20), ms(35)),
            (ms(30), ms(35)),
            (ms(40), ms(40))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn missed_ticks_delay_restarts_the_period_from_now() {
    let got = after_a_stall(tokio::time::MissedTickBehavior::Delay, ms(35)).await;
    assert_eq!(
        got,
        [
            (ms(10), ms(35)),
            (ms(45), ms(45)),
            (ms(55), ms(55)),
            (ms(65), ms(65))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn missed_ticks_skip_goes_to_the_next_multiple_of_the_period() {
    let got = after_a_stall(tokio::time::MissedTickBehavior::Skip, ms(35)).await;
    assert_eq!(
        got,
        [
            (ms(10), ms(35)),
            (ms(40), ms(40)),
            (ms(50), ms(50)),
            (ms(60), ms(60))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_tick_up_to_5ms_late_is_not_missed() {
    // Late by 4 ms (now 14 > 10 but not > 10 + 5): the next tick stays on the grid.
    let got = after_a_stall(tokio::time::MissedTickBehavior::Delay, ms(14)).await;
    assert_eq!(got[..2], [(ms(10), ms(14)), (ms(20), ms(20))]);
    // Late by 6 ms: missed, Delay restarts from now.
    let got = after_a_stall(tokio::time::MissedTickBehavior::Delay, ms(16)).await;
    assert_eq!(got[..2], [(ms(10), ms(16)), (ms(26), ms(26))]);
}

#[tokio::test(start_paused = true)]
async fn interval_reset_ticks_a_period_after_now() {
    let start = Instant::now();
    let mut iv = tokio::time::interval(ms(10));
    iv.tick().await;
    tokio::time::sleep(ms(3)).await;
    iv.reset();
    let got = ticks(&mut iv, start, 1).await;
    assert_eq!(got, [(ms(13), ms(13))]);
}

// ---------------------------------------------------------------------------------------
// timeout

#[tokio::test(start_paused = true)]
async fn timeout_fires_at_its_deadline_with_elapsed() {
    let start = Instant::now();
    let r = tokio::time::timeout(ms(10), tokio::time::sleep(ms(20))).await;
    assert_eq!(start.elapsed(), ms(10));
    let e: tokio::time::error::Elapsed = r.unwrap_err();
    assert_eq!(e.to_string(), "deadline has elapsed");
    assert_eq!(format!("{e:?}"), "Elapsed(())");
    let io: std::io::Error = e.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
}

#[tokio::test(start_paused = true)]
async fn timeout_polls_the_inner_future_first() {
    // Inner future and deadline due at the same instant: the inner one wins.
    let start = Instant::now();
    let r = tokio::time::timeout(ms(10), tokio::time::sleep(ms(10))).await;
    assert_eq!((r, start.elapsed()), (Ok(()), ms(10)));
    // A zero timeout still gives a ready future its chance.
    assert_eq!(
        tokio::time::timeout(Duration::ZERO, async { 7 }).await,
        Ok(7)
    );
    let r = tokio::time::timeout(Duration::ZERO, std::future::pending::<()>()).await;
    assert!(r.is_err());
    assert_eq!(start.elapsed(), ms(10));
}

#[tokio::test(start_paused = true)]
async fn timeout_at_and_a_far_deadline() {
    let start = Instant::now();
    let r = tokio::time::timeout_at(start + ms(4), std::future::pending::<()>()).await;
    assert!(r.is_err());
    assert_eq!(start.elapsed(), ms(4));
    // A deadline past Instant's range means "no deadline", not a panic.
    let r = tokio::time::timeout(Duration::MAX, tokio::time::sleep(ms(1))).await;
    assert_eq!(r, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn timeout_on_a_join_handle_does_not_cancel_the_task() {
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let mut handle = tokio::spawn(async move {
        tokio::time::sleep(ms(20)).await;
        d.store(true, Ordering::SeqCst);
        5
    });
    assert!(tokio::time::timeout(ms(5), &mut handle).await.is_err());
    assert_eq!(handle.await.unwrap(), 5);
    assert!(done.load(Ordering::SeqCst));
}

// ---------------------------------------------------------------------------------------
// JoinHandle, AbortHandle, JoinError

#[tokio::test(start_paused = true)]
async fn dropping_a_join_handle_detaches_the_task() {
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    drop(tokio::spawn(async move {
        tokio::time::sleep(ms(5)).await;
        d.store(true, Ordering::SeqCst);
    }));
    tokio::time::sleep(ms(10)).await;
    assert!(done.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn abort_before_the_first_poll_cancels_without_polling() {
    let polled = Arc::new(AtomicBool::new(false));
    let p = polled.clone();
    let handle = tokio::spawn(async move {
        p.store(true, Ordering::SeqCst);
    });
    let id = handle.id();
    handle.abort();
    let err: tokio::task::JoinError = handle.await.unwrap_err();
    assert!(err.is_cancelled() && !err.is_panic());
    assert_eq!(err.id(), id);
    assert_eq!(err.to_string(), format!("task {id} was cancelled"));
    assert_eq!(format!("{err:?}"), format!("JoinError::Cancelled({id:?})"));
    assert_eq!(format!("{id:?}"), format!("Id({id})"));
    assert!(!polled.load(Ordering::SeqCst));
    let io: std::io::Error = err.into();
    assert_eq!(io.to_string(), "task was cancelled");
}

#[tokio::test(start_paused = true)]
async fn abort_drops_a_sleeping_task_at_once() {
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = DropFlag(dropped.clone());
    let start = Instant::now();
    let handle = tokio::spawn(async move {
        let _guard = guard;
        tokio::time::sleep(ms(100)).await;
    });
    tokio::time::sleep(ms(1)).await;
    handle.abort();
    assert!(handle.await.unwrap_err().is_cancelled());
    assert!(dropped.load(Ordering::SeqCst));
    assert_eq!(start.elapsed(), ms(1));
}

#[tokio::test(start_paused = true)]
async fn aborting_a_finished_task_changes_nothing() {
    let handle = tokio::spawn(async { 3 });
    tokio::time::sleep(ms(1)).await;
    assert!(handle.is_finished());
    handle.abort();
    assert_eq!(handle.await.unwrap(), 3);
}

#[tokio::test(start_paused = true)]
async fn an_abort_handle_aborts_a_detached_task() {
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = DropFlag(dropped.clone());
    let handle = tokio::spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    let abort: tokio::task::AbortHandle = handle.abort_handle();
    assert_eq!(abort.id(), handle.id());
    drop(handle);
    assert!(!abort.is_finished());
    abort.abort();
    tokio::task::yield_now().await;
    assert!(abort.is_finished());
    assert!(dropped.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_task_gives_a_panic_join_error() {
    let handle = tokio::spawn(async { panic!("boom") });
    let id = handle.id();
    let err = handle.await.unwrap_err();
    assert!(err.is_panic() && !err.is_cancelled());
    assert_eq!(
        err.to_string(),
        format!("task {id} panicked with message \"boom\"")
    );
    assert_eq!(
        format!("{err:?}"),
        format!("JoinError::Panic({id:?}, \"boom\", ...)")
    );
    let payload = err.into_panic();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));

    let handle = tokio::spawn(async { std::panic::panic_any(17_u32) });
    let id = handle.id();
    let err = handle.await.unwrap_err();
    assert_eq!(err.to_string(), format!("task {id} panicked"));
    assert_eq!(format!("{err:?}"), format!("JoinError::Panic({id:?}, ...)"));
    let err = err.try_into_panic().unwrap();
    assert_eq!(err.downcast_ref::<u32>(), Some(&17));
    let io: std::io::Error = tokio::spawn(async { panic!("x") })
        .await
        .unwrap_err()
        .into();
    assert_eq!(io.to_string(), "task panicked");
}

#[tokio::test(start_paused = true)]
async fn a_task_runs_only_when_the_spawner_yields() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    let handle = tokio::spawn(async move { l.lock().unwrap().push("task") });
    log.lock().unwrap().push("main before await");
    handle.await.unwrap();
    log.lock().unwrap().push("main after");
    assert_eq!(
        *log.lock().unwrap(),
        ["main before await", "task", "main after"]
    );
}

// ---------------------------------------------------------------------------------------
// JoinSet

#[tokio::test(start_paused = true)]
async fn join_set_yields_results_in_completion_order() {
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for d in [30, 10, 20] {
        let _: tokio::task::AbortHandle = set.spawn(async move {
            tokio::time::sleep(ms(d)).await;
            d
        });
    }
    assert_eq!(set.len(), 3);
    let mut got = Vec::new();
    while let Some(r) = set.join_next().await {
        got.push((r.unwrap(), start.elapsed()));
    }
    assert_eq!(got, [(10, ms(10)), (20, ms(20)), (30, ms(30))]);
    assert!(set.is_empty());
    assert!(set.join_next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn join_set_same_instant_completions_come_in_spawn_order() {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..4 {
        set.spawn(async move { i });
    }
    let mut got = Vec::new();
    while let Some(r) = set.join_next().await {
        got.push(r.unwrap());
    }
    assert_eq!(got, [0, 1, 2, 3]);
}

#[tokio::test(start_paused = true)]
async fn join_set_abort_handles_and_ids() {
    let mut set = tokio::task::JoinSet::new();
    let slow = set.spawn(async {
        tokio::time::sleep(ms(50)).await;
        "slow"
    });
    let fast = set.spawn(async { "fast" });
    slow.abort();
    let mut got = Vec::new();
    while let Some(r) = set.join_next_with_id().await {
        match r {
            Ok((id, v)) => got.push((id, Ok(v))),
            Err(e) => got.push((e.id(), Err(e.is_cancelled()))),
        }
    }
    got.sort_by_key(|(id, _)| *id != fast.id());
    assert_eq!(got, [(fast.id(), Ok("fast")), (slow.id(), Err(true))]);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_join_set_aborts_its_tasks() {
    let finished = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let finished = finished.clone();
        let guard = DropFlag(dropped.clone());
        set.spawn(async move {
            let _guard = guard;
            tokio::time::sleep(ms(10)).await;
            finished.fetch_add(1, Ordering::SeqCst);
        });
    }
    tokio::task::yield_now().await;
    drop(set);
    tokio::time::sleep(ms(20)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 0);
    assert!(dropped.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn join_set_shutdown_and_join_all() {
    let mut set = tokio::task::JoinSet::new();
    set.spawn(std::future::pending::<u32>());
    set.shutdown().await;
    assert!(set.is_empty());

    let mut set = tokio::task::JoinSet::new();
    for d in [3_u64, 1, 2] {
        set.spawn(async move {
            tokio::time::sleep(ms(d)).await;
            d
        });
    }
    assert_eq!(set.join_all().await, [1, 2, 3], "completion order");
}

// ---------------------------------------------------------------------------------------
// select!, join!, try_join!, pin!

#[tokio::test(start_paused = true)]
async fn biased_select_takes_the_first_ready_branch() {
    for _ in 0..50 {
        let got = tokio::select! {
            biased;
            v = async { 1 } => v,
            v = async { 2 } => v,
        };
        assert_eq!(got, 1);
    }
}

#[tokio::test(start_paused = true)]
async fn unbiased_select_does_not_starve_a_ready_branch() {
    let mut counts = [0; 2];
    for _ in 0..200 {
        tokio::select! {
            _ = async {} => counts[0] += 1,
            _ = async {} => counts[1] += 1,
        }
    }
    assert!(counts[0] > 0 && counts[1] > 0, "{counts:?}");
}

#[tokio::test(start_paused = true)]
async fn select_waits_for_the_earliest_timer() {
    let start = Instant::now();
    let got = tokio::select! {
        _ = tokio::time::sleep(ms(30)) => "slow",
        _ = tokio::time::sleep(ms(10)) => "fast",
    };
    assert_eq!((got, start.elapsed()), ("fast", ms(10)));
}

#[tokio::test(start_paused = true)]
async fn select_else_runs_when_every_branch_is_disabled() {
    let built = Arc::new(AtomicUsize::new(0));
    let b = built.clone();
    let make = move |v: Option<u32>| {
        b.fetch_add(1, Ordering::SeqCst);
        async move { v }
    };
    let got = tokio::select! {
        Some(v) = make(None) => v,          // pattern fails: branch disabled
        v = make(Some(1)), if false => v.unwrap(), // precondition false: never polled
        else => 99,
    };
    assert_eq!(got, 99);
    assert_eq!(
        built.load(Ordering::SeqCst),
        2,
        "a disabled branch's future is still built"
    );
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "all branches are disabled and there is no else branch")]
async fn select_without_else_panics_when_every_branch_is_disabled() {
    tokio::select! {
        Some(v) = async { None::<u32> } => { let _ = v; }
    }
}

#[tokio::test(start_paused = true)]
async fn join_rotates_which_future_is_polled_first() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let f = |name| PendingTimes {
        name,
        left: 2,
        log: log.clone(),
    };
    let got = tokio::join!(f("a"), f("b"), f("c"));
    assert_eq!(got, ("a", "b", "c"));
    assert_eq!(
        log.borrow().join(""),
        "abc" /* poll 1 */.to_owned() + "bca" /* poll 2 */ + "cab" /* poll 3 */
    );
    log.borrow_mut().clear();
    tokio::join!(biased; f("a"), f("b"), f("c"));
    assert_eq!(log.borrow().join(""), "abcabcabc");
}

#[tokio::test(start_paused = true)]
async fn try_join_returns_the_first_error_at_once() {
    let start = Instant::now();
    let r: Result<(u32, u32), &str> = tokio::try_join!(
        async {
            tokio::time::sleep(ms(10)).await;
            Ok(1)
        },
        async {
            tokio::time::sleep(ms(2)).await;
            Err("failed")
        },
    );
    assert_eq!((r, start.elapsed()), (Err("failed"), ms(2)));
    let r: Result<(u32, u32), &str> = tokio::try_join!(async { Ok(1) }, async { Ok(2) });
    assert_eq!(r, Ok((1, 2)));
}

#[tokio::test(start_paused = true)]
async fn pin_pins_on_the_stack() {
    let sleep = tokio::time::sleep(ms(1));
    tokio::pin!(sleep);
    (&mut sleep).await;
    assert!(sleep.is_elapsed());
}

// ---------------------------------------------------------------------------------------
// yield_now, consume_budget, unconstrained

#[tokio::test(start_paused = true)]
async fn yield_now_lets_a_spawned_task_run() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    tokio::spawn(async move { l.lock().unwrap().push("task") });
    log.lock().unwrap().push("main 1");
    tokio::task::yield_now().await;
    log.lock().unwrap().push("main 2");
    assert_eq!(*log.lock().unwrap(), ["main 1", "task", "main 2"]);
}

#[tokio::test(start_paused = true)]
async fn yield_now_waits_until_every_ready_task_has_run() {
    // A yields while B is ready; B wakes C. tokio wakes the yielded A only once nothing
    // is ready, so C (woken after A yielded) runs before A goes on.
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let l = log.clone();
    let c = tokio::spawn(async move {
        rx.await.unwrap();
        l.lock().unwrap().push("c");
    });
    let l = log.clone();
    let a = tokio::spawn(async move {
        l.lock().unwrap().push("a1");
        tokio::task::yield_now().await;
        l.lock().unwrap().push("a2");
    });
    let l = log.clone();
    let b = tokio::spawn(async move {
        l.lock().unwrap().push("b");
        tx.send(()).unwrap();
    });
    for h in [c, a, b] {
        h.await.unwrap();
    }
    assert_eq!(*log.lock().unwrap(), ["a1", "b", "c", "a2"]);
}

/// Runs `steps` budget-consuming steps, returning the step at which a concurrently
/// spawned task first ran (`None`: it did not run before the loop ended).
async fn first_interleave(steps: usize, unconstrained: bool) -> Option<usize> {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    tokio::spawn(async move { r.store(true, Ordering::SeqCst) });
    let work = async move {
        let mut seen = None;
        for i in 0..steps {
            tokio::task::consume_budget().await;
            if seen.is_none() && ran.load(Ordering::SeqCst) {
                seen = Some(i);
            }
        }
        seen
    };
    if unconstrained {
        tokio::task::unconstrained(work).await
    } else {
        work.await
    }
}

#[tokio::test(start_paused = true)]
async fn consume_budget_yields_after_128_units() {
    // tokio's budget is 128 units per task poll: the 128th `consume_budget` returns
    // Pending, the other task runs, and the loop sees it at step 128.
    let seen = tokio::spawn(first_interleave(1000, false)).await.unwrap();
    assert_eq!(seen, Some(128));
}

#[tokio::test(start_paused = true)]
async fn unconstrained_never_yields_for_budget() {
    let seen = tokio::spawn(first_interleave(1000, true)).await.unwrap();
    assert_eq!(seen, None);
}

// ---------------------------------------------------------------------------------------
// spawn_blocking, block_in_place

#[tokio::test(start_paused = true)]
async fn spawn_blocking_runs_and_holds_the_paused_clock() {
    let start = Instant::now();
    let v = tokio::task::spawn_blocking(|| {
        std::thread::sleep(ms(20)); // real time; the virtual clock must not jump
        6 * 7
    })
    .await
    .unwrap();
    assert_eq!(v, 42);
    assert_eq!(start.elapsed(), Duration::ZERO);
    let err = tokio::task::spawn_blocking(|| panic!("blocking boom"))
        .await
        .unwrap_err();
    assert!(err.is_panic());
    assert!(err
        .to_string()
        .ends_with("panicked with message \"blocking boom\""));
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "can call blocking only when running on the multi-threaded runtime")]
async fn block_in_place_panics_on_current_thread() {
    tokio::task::block_in_place(|| ());
}

// ---------------------------------------------------------------------------------------
// LocalSet, spawn_local

#[tokio::test(start_paused = true)]
async fn local_set_runs_non_send_tasks() {
    let local = tokio::task::LocalSet::new();
    let shared = Rc::new(RefCell::new(Vec::new()));
    let s = shared.clone();
    let out = local
        .run_until(async move {
            let h = tokio::task::spawn_local(async move {
                tokio::time::sleep(ms(1)).await;
                s.borrow_mut().push(1);
                "local"
            });
            h.await.unwrap()
        })
        .await;
    assert_eq!(out, "local");
    assert_eq!(*shared.borrow(), [1]);
}

#[tokio::test(start_paused = true)]
async fn awaiting_a_local_set_runs_its_tasks_to_completion() {
    let start = Instant::now();
    let local = tokio::task::LocalSet::new();
    let n = Rc::new(RefCell::new(0));
    for d in [5, 1] {
        let n = n.clone();
        local.spawn_local(async move {
            tokio::time::sleep(ms(d)).await;
            *n.borrow_mut() += 1;
        });
    }
    local.await;
    assert_eq!((*n.borrow(), start.elapsed()), (2, ms(5)));
}

#[tokio::test(start_paused = true)]
#[should_panic(
    expected = "`spawn_local` called from outside of a `task::LocalSet` or `runtime::LocalRuntime`"
)]
async fn spawn_local_outside_a_local_set_panics() {
    drop(tokio::task::spawn_local(async {}));
}

// ---------------------------------------------------------------------------------------
// task_local!

tokio::task_local! {
    static REQUEST: u32;
    static NAME: &'static str;
}

#[tokio::test(start_paused = true)]
async fn task_local_scope_and_try_with() {
    assert_eq!(format!("{REQUEST:?}"), "LocalKey { .. }");
    let e = REQUEST.try_with(|v| *v).unwrap_err();
    assert_eq!(e.to_string(), "task-local value not set");
    assert_eq!(format!("{e:?}"), "AccessError");
    let got = REQUEST
        .scope(7, async {
            tokio::time::sleep(ms(1)).await;
            let outer = REQUEST.get();
            let inner = REQUEST.scope(8, async { REQUEST.get() }).await;
            (outer, inner, REQUEST.with(|v| *v))
        })
        .await;
    assert_eq!(got, (7, 8, 7));
    assert_eq!(NAME.sync_scope("sync", || NAME.get()), "sync");
    assert!(NAME.try_with(|_| ()).is_err(), "the scope ended");
}

#[tokio::test(start_paused = true)]
async fn task_locals_do_not_flow_into_spawned_tasks() {
    let inner = REQUEST
        .scope(1, async {
            tokio::spawn(async { REQUEST.try_with(|v| *v).is_ok() })
                .await
                .unwrap()
        })
        .await;
    assert!(!inner);
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "cannot access a task-local storage value without setting it first")]
async fn task_local_get_outside_a_scope_panics() {
    let _ = REQUEST.get();
}

// ---------------------------------------------------------------------------------------
// task::id, try_id

#[tokio::test(start_paused = true)]
async fn task_ids() {
    assert_eq!(tokio::task::try_id(), None, "a block_on body is not a task");
    let handle = tokio::spawn(async { (tokio::task::id(), tokio::task::try_id()) });
    let id = handle.id();
    assert_eq!(handle.await.unwrap(), (id, Some(id)));
    let other = tokio::spawn(async {}).id();
    assert_ne!(other, id);
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "Can't get a task id when not inside a task")]
async fn task_id_outside_a_task_panics() {
    let _ = tokio::task::id();
}

// ---------------------------------------------------------------------------------------
// runtime: Builder, Runtime, Handle, EnterGuard; use outside a runtime

const NO_RUNTIME: &str =
    "there is no reactor running, must be called from the context of a Tokio 1.x runtime";

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

#[test]
fn a_built_runtime_block_on_spawn_and_enter() {
    let rt = paused_runtime();
    let v = rt.block_on(async {
        let start = Instant::now();
        tokio::time::sleep(ms(3)).await;
        let h = tokio::runtime::Handle::current().spawn(async { 2 });
        (h.await.unwrap(), start.elapsed())
    });
    assert_eq!(v, (2, ms(3)));
    let h = rt.spawn(async { 5 });
    assert_eq!(rt.block_on(h).unwrap(), 5);
    let h = {
        let _guard: tokio::runtime::EnterGuard<'_> = rt.enter();
        assert!(tokio::runtime::Handle::try_current().is_ok());
        tokio::spawn(async { 9 })
    };
    assert_eq!(rt.block_on(h).unwrap(), 9);
    assert!(tokio::runtime::Handle::try_current().is_err());
}

#[test]
fn outside_a_runtime_handle_current_and_spawn_panic_with_no_reactor() {
    let e = tokio::runtime::Handle::try_current().unwrap_err();
    assert_eq!(e.to_string(), NO_RUNTIME);
    assert!(e.is_missing_context());
    for (what, f) in [
        (
            "Handle::current",
            Box::new(|| drop(tokio::runtime::Handle::current())) as Box<dyn Fn()>,
        ),
        ("spawn", Box::new(|| drop(tokio::spawn(async {})))),
        ("sleep", Box::new(|| drop(tokio::time::sleep(ms(1))))),
        ("interval", Box::new(|| drop(tokio::time::interval(ms(1))))),
        (
            "timeout",
            Box::new(|| drop(tokio::time::timeout(ms(1), async {}))),
        ),
        (
            "spawn_blocking",
            Box::new(|| drop(tokio::task::spawn_blocking(|| ()))),
        ),
    ] {
        let msg = panic_message(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
        assert_eq!(msg.as_deref(), Some(NO_RUNTIME), "{what}");
    }
}

#[test]
fn outside_a_runtime_plain_futures_still_work() {
    // Building these needs no runtime; only polling timers does.
    drop(tokio::task::yield_now());
    let mut set = tokio::task::JoinSet::<()>::new();
    assert!(set.try_join_next().is_none());
    drop(tokio::task::LocalSet::new());
    assert_eq!(tokio::task::try_id(), None);
}

#[test]
#[should_panic(expected = "Cannot start a runtime from within a runtime.")]
fn nested_block_on_panics() {
    let rt = paused_runtime();
    rt.block_on(async {
        paused_runtime().block_on(async {});
    });
}

fn panic_message(r: std::thread::Result<()>) -> Option<String> {
    let p = r.err()?;
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
}

/// Polls a future once (as `futures::poll!` does), without a futures dependency.
async fn futures_poll_once<F: Future + Unpin>(mut f: F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut f).poll(cx))).await
}

#[tokio::test(start_paused = true)]
async fn timers_due_in_one_tick_wake_in_registration_order() {
    // Registered in the order 0, 1, 2, 3 with sub-millisecond deadlines out of order; all
    // round to tick 2, so the sub-ms order is lost and registration order remains.
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for (i, d) in [1900_u64, 1100, 2000, 1500].into_iter().enumerate() {
        let log = log.clone();
        handles.push(tokio::spawn(async move {
            tokio::time::sleep(us(d)).await;
            log.lock().unwrap().push(i);
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(*log.lock().unwrap(), [0, 1, 2, 3]);
}
