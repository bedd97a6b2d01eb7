//! [`Portfolio`]: the default strategy of a sweep.

use super::pct::{probes, Placement};
use super::{Decision, Pct, Policy, Random, Strategy, Swarm};
use crate::error::LoopError;

/// The default strategy of a sweep: a rotation of policies by seed, each good at a
/// different kind of bug. Seed `s` runs entry `s % 6` of
///
/// | `s % 6` | policy | name | finds best |
/// | --- | --- | --- | --- |
/// | 0, 3 | [`Random`] | `random` | orders that need tasks to make the right *relative* progress (a relay of start-up steps, a window among many busy tasks) |
/// | 1, 5 | PCT of depth 2, change points near the ends ([`Pct::at_ends`]) | `pct2e` | one preemption at a precise point, also after a long prefix of work |
/// | 2 | [`Swarm`] (a random speed per task) | `swarm` | one task well ahead of another; one side running many steps uninterrupted |
/// | 4 | [`Pct`] of depth 4 | `pct4` | two or three preemptions at precise points |
///
/// `docs/strategies.md` measures each of them and the rotation on ten planted bugs.
/// [`Portfolio::classic`] is the rotation of simloop 0.1 (`random`, `pct2`, `pct3` by
/// `s % 3`), for suites whose seeds must keep their schedules.
///
/// The choice depends only on the seed, so a seed's replay line (`SIMLOOP_SEED`) runs the
/// same policy; the trace header and the failure report name it. (A sweep under the
/// default strategy also learns, see [`Builder::adaptive`](crate::Builder::adaptive):
/// past a block's first 16 seeds, about three seeds in four run a mutation of an earlier
/// run instead of their pick; `.adaptive(false)` runs the rotation alone.) Like [`Pct`], the
/// portfolio learns the run length from probe runs at the start of a sweep. Used directly
/// as a loop's policy, a portfolio is seed 0's pick.
///
/// ```
/// use simloop::{Policy, Portfolio, Strategy};
/// let p = Portfolio::new();
/// let names: Vec<String> = (0..6).map(|s| p.for_seed(s).name()).collect();
/// assert_eq!(names, ["random", "pct2e", "swarm", "random", "pct4", "pct2e"]);
/// let classic: Vec<String> = (0..3).map(|s| Portfolio::classic().for_seed(s).name()).collect();
/// assert_eq!(classic, ["random", "pct2", "pct3"]);
/// ```
pub struct Portfolio {
    steps: Option<u64>,
    mix: Mix,
    /// Seed 0's pick, for direct use.
    inner: Box<dyn Policy>,
}

/// Which rotation a [`Portfolio`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mix {
    /// Random, PCT(2) and PCT(3) with uniform change points, by `seed % 3` (simloop 0.1).
    Classic,
    /// The rotation of six described on [`Portfolio`].
    Deep,
}

impl std::fmt::Debug for Portfolio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portfolio")
            .field("steps", &self.steps)
            .field("mix", &self.mix)
            .finish()
    }
}

impl Default for Portfolio {
    fn default() -> Portfolio {
        Portfolio::new()
    }
}

impl Portfolio {
    /// The portfolio, learning the run length in a sweep.
    pub fn new() -> Portfolio {
        Portfolio::build(None, Mix::Deep)
    }

    /// The portfolio with a given run length for its PCT seeds.
    ///
    /// # Panics
    /// If `steps` is 0.
    pub fn with_steps(steps: u64) -> Portfolio {
        assert!(steps > 0, "Portfolio: the run length must be at least 1");
        Portfolio::build(Some(steps), Mix::Deep)
    }

    /// simloop 0.1's rotation: seed `s` runs [`Random`] if `s % 3 == 0`, PCT of depth 2
    /// if `s % 3 == 1` and PCT of depth 3 if `s % 3 == 2` (uniform change points; named
    /// `random`, `pct2`, `pct3`). Every seed keeps the schedule it had in 0.1. Combine
    /// with [`with_steps`](Portfolio::with_steps) through
    /// [`classic_with_steps`](Portfolio::classic_with_steps).
    ///
    /// ```
    /// use simloop::{Policy, Portfolio};
    /// assert_eq!(Portfolio::classic().pick(8).name(), "pct3");
    /// ```
    pub fn classic() -> Portfolio {
        Portfolio::build(None, Mix::Classic)
    }

    /// [`classic`](Portfolio::classic) with a given run length for its PCT seeds.
    ///
    /// # Panics
    /// If `steps` is 0.
    pub fn classic_with_steps(steps: u64) -> Portfolio {
        assert!(steps > 0, "Portfolio: the run length must be at least 1");
        Portfolio::build(Some(steps), Mix::Classic)
    }

    fn build(steps: Option<u64>, mix: Mix) -> Portfolio {
        Portfolio {
            steps,
            mix,
            inner: pick(0, steps, mix),
        }
    }

    /// The policy seed `seed` runs.
    pub fn pick(&self, seed: u64) -> Box<dyn Policy> {
        pick(seed, self.steps, self.mix)
    }
}

fn pick(seed: u64, steps: Option<u64>, mix: Mix) -> Box<dyn Policy> {
    match mix {
        Mix::Classic => match seed % 3 {
            0 => Box::new(Random::new(seed)),
            r => Box::new(Pct::build(seed, r as u32 + 1, steps)),
        },
        Mix::Deep => match seed % 6 {
            0 | 3 => Box::new(Random::new(seed)),
            2 => Box::new(Swarm::new(seed)),
            4 => Box::new(Pct::build(seed, 4, steps)),
            _ => Box::new(Pct::build_placed(seed, 2, steps, Placement::Ends)),
        },
    }
}

impl Policy for Portfolio {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn seed(&self) -> Option<u64> {
        self.inner.seed()
    }

    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        self.inner.choose(d)
    }

    fn buggify(&mut self, site: u32, hit: u32) -> Option<bool> {
        self.inner.buggify(site, hit)
    }

    fn user_choice(&mut self, n: u32) -> Option<u32> {
        self.inner.user_choice(n)
    }

    fn random_u64(&mut self) -> Option<u64> {
        self.inner.random_u64()
    }
}

impl Strategy for Portfolio {
    fn name(&self) -> String {
        "portfolio".to_owned()
    }
    fn for_seed(&self, seed: u64) -> Box<dyn Policy> {
        self.pick(seed)
    }
    fn length_probes(&self) -> Vec<Box<dyn Policy>> {
        probes(self.steps)
    }
    fn with_run_length(&self, decisions: u64) -> Option<Box<dyn Strategy>> {
        Some(Box::new(Portfolio::build(Some(decisions.max(1)), self.mix)))
    }
}
