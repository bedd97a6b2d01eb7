//! [`choose`] and [`rng`]: nondeterminism the search controls (layer 3: what user code
//! calls inside a run; the decisions themselves are the policy's, see `policy/mod.rs`).

use std::time::Duration;

use crate::event_loop::registry;
use crate::event_loop::Inner;

/// The running loop, or a panic naming `what`; also refuses a loop that is busy (a
/// `choose`/`rng` from a destructor the loop itself is running).
#[track_caller]
fn running(what: &str) -> std::rc::Rc<Inner> {
    let inner = registry::running_inner(what);
    if inner.core.try_borrow_mut().is_err() {
        panic!(
            "{what}: the loop is busy (called from a destructor the loop runs while updating \
             its own state); call it from a task or a callback instead"
        );
    }
    inner
}

/// A user-level nondeterministic choice among `n` alternatives: returns an index in
/// `0..n`, decided by the run's policy and recorded in the trace.
///
/// `choose` and [`rng`] are answered by the run's [`Policy`](crate::Policy), like every
/// scheduling choice, and recorded in the trace, so whatever strategy found a failure — a seed, the
/// fuzzer, the exhaustive search — the failure replays exactly, and the shrinker can
/// simplify it.
///
/// **When to use which.** Use `choose` for a few alternatives the search should
/// *explore*: drop this message or deliver it, which replica to ask, whether a request
/// fails. Under [`Fifo`](crate::Fifo) it takes alternative 0; seeded policies draw;
/// the fuzzer's bytes decide under [`Bytes`](crate::Bytes); the exhaustive search
/// ([`Builder::check_all`](crate::Builder::check_all)) tries every alternative (a
/// departure from 0 costs one unit of its preemption budget); the shrinker prefers 0.
/// Use [`rng`] for *data*: latencies, payload sizes, jitter. It draws from a stream of its
/// own, seeded from the run's seed, so adding a draw never changes a scheduling decision;
/// the fuzzer supplies the values under `Bytes`; it is deterministic under `Fifo`.
///
/// ```
/// use std::{cell::RefCell, rc::Rc, time::Duration};
/// // A simulated server: its latency comes from rng(), and choose(2) decides whether it
/// // drops the request.
/// async fn server(request: u32) -> Option<u32> {
///     let latency = simloop::rng().between(Duration::from_millis(1), Duration::from_millis(50));
///     simloop::sleep(latency).await;
///     (simloop::choose(2) == 0).then_some(request * 2) // alternative 1: dropped
/// }
///
/// let run = |seed| {
///     let answers = Rc::new(RefCell::new(Vec::new()));
///     let a = answers.clone();
///     let lp = simloop::EventLoop::builder().seed(seed).build();
///     lp.run_until_complete(async move {
///         for r in 0..5 {
///             a.borrow_mut().push(server(r).await);
///         }
///     }).unwrap();
///     let v = answers.borrow().clone();
///     (v, lp.trace().to_string())
/// };
/// assert_eq!(run(3), run(3)); // same seed, same latencies, same drops, same trace
/// assert!(run(3).1.contains(" choose 2 ") && run(3).1.contains(" random 0x"));
/// ```
///
/// `choose(1)` is 0 and records nothing.
///
/// ```
/// let lp = simloop::new_event_loop(); // FIFO: alternative 0
/// assert_eq!(lp.run_until_complete(async { simloop::choose(3) }), Ok(0));
/// ```
///
/// # Panics
/// Outside a running loop ("simloop::choose: no running event loop"), and if `n` is 0 or
/// more than `u32::MAX`.
#[track_caller]
pub fn choose(n: usize) -> usize {
    assert!(
        n > 0,
        "simloop::choose(0): there must be at least one alternative"
    );
    let n32 = u32::try_from(n)
        .unwrap_or_else(|_| panic!("simloop::choose({n}): at most u32::MAX alternatives"));
    let inner = running("simloop::choose");
    if n32 == 1 {
        return 0;
    }
    inner.user_choice(n32) as usize
}

/// Random data from the running loop's own stream: see [`SimRng`].
///
/// ```
/// use rand_core::RngCore;
/// let lp = simloop::EventLoop::builder().seed(7).build();
/// let v = lp.run_until_complete(async { simloop::rng().next_u64() }).unwrap();
/// let again = simloop::EventLoop::builder().seed(7).build();
/// assert_eq!(again.run_until_complete(async { simloop::rng().next_u64() }).unwrap(), v);
/// ```
///
/// # Panics
/// Outside a running loop ("simloop::rng: no running event loop").
#[track_caller]
pub fn rng() -> SimRng {
    let _ = running("simloop::rng");
    SimRng { _private: () }
}

/// Random data drawn from the running loop: each value comes from the policy (a replay's
/// recorded values, the fuzzer's bytes) or from the run's own data stream, and is recorded
/// in the trace as a `random` line. Implements [`rand_core::RngCore`], so `rand`'s
/// helpers work on it; a few common ones are here too.
///
/// A `SimRng` holds no state of its own: every draw goes to the loop running when it is
/// made, so it may be kept across awaits.
#[derive(Debug, Clone)]
pub struct SimRng {
    _private: (),
}

impl SimRng {
    /// A uniform value in `0..n` (`n > 0`), by multiply-shift (no modulo bias worth the
    /// name: at most `n / 2^64`).
    ///
    /// # Panics
    /// If `n` is 0, or outside a running loop.
    #[track_caller]
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SimRng::below(0): the range is empty");
        ((u128::from(self.draw()) * u128::from(n)) >> 64) as u64
    }

    /// `true` with probability `p` (clamped to `0.0..=1.0`).
    #[track_caller]
    pub fn chance(&mut self, p: f64) -> bool {
        let p = p.clamp(0.0, 1.0);
        // 53 random bits, as a float in [0, 1).
        ((self.draw() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// A duration uniform in `low..=high` (nanosecond resolution; `low` if `high < low`).
    #[track_caller]
    pub fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let lo = u64::try_from(low.as_nanos()).unwrap_or(u64::MAX);
        let hi = u64::try_from(high.as_nanos()).unwrap_or(u64::MAX);
        if hi <= lo {
            return low;
        }
        match (hi - lo).checked_add(1) {
            Some(span) => Duration::from_nanos(lo + self.below(span)),
            None => Duration::from_nanos(self.draw()),
        }
    }

    #[track_caller]
    fn draw(&mut self) -> u64 {
        running("simloop::rng").random_u64()
    }
}

impl rand_core::RngCore for SimRng {
    fn next_u32(&mut self) -> u32 {
        (self.draw() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.draw()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.draw().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
