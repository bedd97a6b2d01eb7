//! PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi and Nagarakatte,
//! ASPLOS 2010).
//!
//! [`Pct`] gives every runnable item a random priority and always runs the
//! highest-priority one; at `depth - 1` *change points*, drawn uniformly over the expected
//! number of scheduling decisions `k`, it lowers the priority of the item that was about
//! to run below every initial priority. A bug that needs `d` ordering constraints among
//! `n` schedulable items is then found by one run with probability at least
//! `1/(n·k^(d−1))` — for small `d` far better than uniform random scheduling, which must
//! get *every* step of a long window right.
//!
//! # What PCT counts and prioritises here
//!
//! - **Steps**: only decisions with a real choice (two or more candidates) count towards
//!   `k` and the change points; a step with one runnable item is not a decision.
//! - **Items**: a task keeps one priority for its whole life (assigned the first time it
//!   appears among the candidates). A callback, a fired timer and the stop request are
//!   one-step items: each gets a random priority of its own the first time it is seen,
//!   exactly like a task that runs once. So PCT also explores the order of timers firing
//!   at the same instant and of callbacks against tasks, and the guarantee holds with `n`
//!   counting every item that was ever runnable (tasks and one-step items).
//! - **Change points**: at a change point the highest-priority candidate (the one about to
//!   run) is demoted to priority `i` (for the `i`-th change point, `i < depth`), below
//!   every initial priority, and the new highest runs instead: a preemption exactly there.
//! - **Where change points fall**: uniformly over `1..=k`, as in the paper; or, with
//!   [`Pct::at_ends`] (named `pct<d>e`), at a log-uniform distance from the first or the
//!   last decision, which hits a window a few decisions from either end of a long run
//!   (after a long prefix of legitimate work) far more often than `1/k`.
//! - **Starvation guard**: strict priorities livelock a task that spins
//!   (`while !flag { yield_now().await }`) waiting for a lower-priority one. When one item
//!   wins [`Pct::STARVATION_LIMIT`] consecutive decisions it is demoted below everything,
//!   as PCT implementations do for yielding threads. This only adds a priority change; it
//!   never runs anything that was not runnable.
//!
//! # The expected run length `k`
//!
//! Given with [`Pct::with_steps`], or learned: in a sweep ([`Builder::check`] /
//! [`Builder::run`]), a `Pct` built without a length makes the sweep first run the test
//! as probes — three times under [`Random`] (seeds 0..3) and eight times in pure priority
//! order (PCT without change points, seeds 0..8, which keeps a low-priority task waiting
//! until the end) — and uses the largest number of real decisions of those runs as `k`
//! for every seed. The probes do not depend on the seed range, so a single-seed rerun
//! (`SIMLOOP_SEED`, the report's replay line) repeats them, gets the same `k` and the same
//! schedule; the two runs of a determinism check share it too. A `Pct` used outside a sweep without a
//! length assumes [`Pct::DEFAULT_STEPS`].
//!
//! [`Builder::check`]: crate::Builder::check
//! [`Builder::run`]: crate::Builder::try_check
//!
//! ```
//! use simloop::{EventLoop, Pct};
//! let lp = EventLoop::builder().policy(Pct::with_steps(7, 3, 40)).build();
//! assert_eq!(lp.trace().policy(), "pct3");
//! assert_eq!(lp.seed(), Some(7));
//! ```

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::{Candidate, CandidateKind, Decision, Policy, Random, Strategy};
use crate::error::LoopError;

/// Initial priorities live in `[2^63, 2^64)`; change-point priorities are `LOW + i`;
/// starvation demotions count down from `LOW - 1`.
const HIGH: u64 = 1 << 63;
const LOW: u64 = 1 << 62;

/// The PCT scheduler. See the [module docs](crate::pct) for the algorithm and the rules.
///
/// ```
/// use simloop::{Builder, Pct};
/// // A sweep of PCT(3) over 30 seeds; the run length is learned by probe runs.
/// Builder::new()
///     .env(simloop::Env::default())
///     .policy(Pct::new(0, 3))
///     .seeds(0..30)
///     .check(|| async {
///         let v = simloop::gather((0..3).map(|i| async move { simloop::yield_now().await; i })).await;
///         assert_eq!(v, [0, 1, 2]);
///     });
/// ```
#[derive(Clone, Debug)]
pub struct Pct {
    seed: u64,
    depth: u32,
    placement: Placement,
    steps: Option<u64>,
    rng: ChaCha8Rng,
    /// `(decision number, priority)`, sorted by decision number.
    change: Vec<(u64, u64)>,
    next_change: usize,
    decisions: u64,
    /// Task id -> priority.
    tasks: BTreeMap<u32, u64>,
    /// One-step items (callbacks, timers, stop), keyed by kind and id -> priority.
    items: BTreeMap<(CandidateKind, u32), u64>,
    /// The next starvation-demotion priority.
    floor: u64,
    last: Option<(CandidateKind, u32)>,
    streak: u32,
}

impl Pct {
    /// The run length assumed when none is given or learned.
    pub const DEFAULT_STEPS: u64 = 100;

    /// Consecutive decisions one item may win before the starvation guard demotes it.
    pub const STARVATION_LIMIT: u32 = 64;

    /// PCT of `depth` (≥ 1: `depth - 1` change points) seeded with `seed`; the run length
    /// is learned in a sweep, else [`Pct::DEFAULT_STEPS`].
    ///
    /// # Panics
    /// If `depth` is 0.
    pub fn new(seed: u64, depth: u32) -> Pct {
        Pct::build(seed, depth, None)
    }

    /// PCT of `depth` for runs of about `steps` real decisions (`k` in the paper).
    ///
    /// # Panics
    /// If `depth` or `steps` is 0.
    pub fn with_steps(seed: u64, depth: u32, steps: u64) -> Pct {
        assert!(steps > 0, "Pct: the run length must be at least 1");
        Pct::build(seed, depth, Some(steps))
    }

    pub(crate) fn build(seed: u64, depth: u32, steps: Option<u64>) -> Pct {
        Pct::build_placed(seed, depth, steps, Placement::Uniform)
    }

    pub(crate) fn build_placed(
        seed: u64,
        depth: u32,
        steps: Option<u64>,
        placement: Placement,
    ) -> Pct {
        assert!(depth > 0, "Pct: depth must be at least 1");
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let k = steps.unwrap_or(Pct::DEFAULT_STEPS);
        // depth - 1 distinct change points, uniform over 1..=k; the i-th drawn gets
        // priority LOW + i (the paper's labels).
        let want = u64::from(depth - 1).min(k);
        let mut change: Vec<(u64, u64)> = Vec::with_capacity(want as usize);
        while (change.len() as u64) < want {
            let at = match placement {
                Placement::Uniform => 1 + below(&mut rng, k),
                Placement::Ends => {
                    let x = log_uniform(&mut rng, k);
                    if rng.next_u64() & 1 == 0 {
                        1 + x
                    } else {
                        k - x
                    }
                }
            };
            if change.iter().all(|&(c, _)| c != at) {
                let label = change.len() as u64 + 1;
                change.push((at, LOW + label));
            }
        }
        change.sort_unstable();
        Pct {
            seed,
            depth,
            placement,
            steps,
            rng,
            change,
            next_change: 0,
            decisions: 0,
            tasks: BTreeMap::new(),
            items: BTreeMap::new(),
            floor: LOW - 1,
            last: None,
            streak: 0,
        }
    }

    /// The same PCT with its change points drawn near the ends of the run instead of
    /// uniformly: at a log-uniform distance (1, 2–3, 4–7, … decisions, each range equally
    /// likely) from the first decision or, equally often, back from the `k`-th. Named
    /// `pct<d>e` in traces and reports.
    ///
    /// Uniform placement gives each decision a chance of `1/k`, so a window that opens
    /// after a long prefix of legitimate work (hundreds of decisions in) is hit once in
    /// hundreds of runs however short it is; most such windows lie a few decisions from
    /// the start (start-up) or from the end (the last task's hand-over, shutdown), where
    /// this placement hits a given decision `d` away with a chance of about
    /// `1/(2·d·log2 k)`.
    ///
    /// ```
    /// use simloop::Pct;
    /// let p = Pct::with_steps(3, 2, 1000).at_ends();
    /// let at = p.change_points()[0];
    /// assert!((1..=1000).contains(&at));
    /// assert_eq!(simloop::Policy::name(&p), "pct2e");
    /// ```
    pub fn at_ends(self) -> Pct {
        Pct::build_placed(self.seed, self.depth, self.steps, Placement::Ends)
    }

    /// The depth `d`.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The run length `k` in use, if given or learned.
    pub fn steps(&self) -> Option<u64> {
        self.steps
    }

    /// The decision numbers of the change points (1-based, counting real decisions).
    pub fn change_points(&self) -> Vec<u64> {
        self.change.iter().map(|&(c, _)| c).collect()
    }

    fn priority(&mut self, c: &Candidate) -> u64 {
        let rng = &mut self.rng;
        match c.kind {
            CandidateKind::Task => *self
                .tasks
                .entry(c.id)
                .or_insert_with(|| HIGH | rng.next_u64()),
            k => *self
                .items
                .entry((k, c.id))
                .or_insert_with(|| HIGH | rng.next_u64()),
        }
    }

    fn set_priority(&mut self, c: &Candidate, p: u64) {
        match c.kind {
            CandidateKind::Task => self.tasks.insert(c.id, p),
            k => self.items.insert((k, c.id), p),
        };
    }

    /// Index of the highest-priority candidate (ties: the earlier candidate).
    fn top(&mut self, cands: &[Candidate]) -> usize {
        let mut best = 0;
        let mut best_p = 0;
        for (i, c) in cands.iter().enumerate() {
            let p = self.priority(c);
            if i == 0 || p > best_p {
                best = i;
                best_p = p;
            }
        }
        best
    }
}

/// The probe runs that learn `k` when it was not given: the test under [`Random`] with
/// seeds 0..3, and under PCT without change points (pure priority order) with seeds
/// 0..8. Random interleaves everything; pure priority order starves its lowest task until
/// the end, which is what makes a short task's window long (a reader that runs once is
/// over at once under Random, so Random alone would learn a `k` far too small for a bug
/// that needs that reader delayed). `k` is the maximum over all probes: an underestimate
/// puts some steps out of reach of the change points, an overestimate only dilutes them.
pub(crate) fn probes(steps: Option<u64>) -> Vec<Box<dyn Policy>> {
    match steps {
        Some(_) => Vec::new(),
        None => {
            (0..RANDOM_PROBES)
                .map(|s| Box::new(Random::new(s)) as Box<dyn Policy>)
                .chain((0..PRIORITY_PROBES).map(|s| {
                    Box::new(Pct::build(s, 1, Some(PRIORITY_PROBE_STEPS))) as Box<dyn Policy>
                }))
                .collect()
        }
    }
}

/// How many Random probe runs learn the run length.
const RANDOM_PROBES: u64 = 3;
/// How many pure-priority probe runs learn the run length.
const PRIORITY_PROBES: u64 = 8;
/// The run length a depth-1 probe is built with (it has no change points to place).
const PRIORITY_PROBE_STEPS: u64 = 1;

/// Where PCT's change points are drawn over the run length `k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Uniformly over `1..=k`, as in the paper.
    Uniform,
    /// At a log-uniform distance from the start or, equally often, from the end.
    Ends,
}

/// Log-uniform in `0..n` (n > 0), integers only: a bit length `b` uniform over the
/// lengths up to `n`'s, then uniform among the values of that length (below `n`).
fn log_uniform(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    let bits = u64::from(64 - n.leading_zeros()); // n in [2^(bits-1), 2^bits)
    let b = below(rng, bits); // values in [2^b - 1, 2^(b+1) - 1), cut at n
    let lo = (1u64 << b) - 1;
    let hi = ((1u64 << b) * 2 - 1).min(n);
    lo + below(rng, hi - lo)
}

/// Uniform in `0..n` (n > 0) by multiply-shift (also `Swarm`'s).
pub(crate) fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

impl Policy for Pct {
    fn name(&self) -> String {
        match self.placement {
            Placement::Uniform => format!("pct{}", self.depth),
            Placement::Ends => format!("pct{}e", self.depth),
        }
    }

    fn seed(&self) -> Option<u64> {
        Some(self.seed)
    }

    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        let cands = d.candidates;
        if cands.len() < 2 {
            return Ok(0);
        }
        self.decisions += 1;
        let mut i = self.top(cands);
        if self
            .change
            .get(self.next_change)
            .is_some_and(|&(at, _)| at == self.decisions)
        {
            let p = self.change[self.next_change].1;
            self.next_change += 1;
            self.set_priority(&cands[i], p);
            i = self.top(cands);
        }
        let key = (cands[i].kind, cands[i].id);
        if self.last == Some(key) {
            self.streak += 1;
            if self.streak >= Pct::STARVATION_LIMIT {
                let p = self.floor;
                self.floor -= 1;
                self.set_priority(&cands[i], p);
                i = self.top(cands);
                self.streak = 0;
            }
        } else {
            self.streak = 1;
        }
        let chosen = cands[i];
        self.last = Some((chosen.kind, chosen.id));
        if chosen.kind != CandidateKind::Task {
            // One-step items never come back; forget them (and, now and then, those that
            // ran without a decision).
            self.items.remove(&(chosen.kind, chosen.id));
            if self.items.len() > 2 * cands.len() + 64 {
                let live: std::collections::BTreeSet<(CandidateKind, u32)> =
                    cands.iter().map(|c| (c.kind, c.id)).collect();
                self.items.retain(|k, _| live.contains(k));
            }
        }
        Ok(i)
    }
}

impl Strategy for Pct {
    fn name(&self) -> String {
        format!("pct{}", self.depth)
    }
    fn for_seed(&self, seed: u64) -> Box<dyn Policy> {
        Box::new(Pct::build_placed(
            seed,
            self.depth,
            self.steps,
            self.placement,
        ))
    }
    fn length_probes(&self) -> Vec<Box<dyn Policy>> {
        probes(self.steps)
    }
    fn with_run_length(&self, decisions: u64) -> Option<Box<dyn Strategy>> {
        Some(Box::new(Pct::build_placed(
            self.seed,
            self.depth,
            Some(decisions.max(1)),
            self.placement,
        )))
    }
}
