//! [`Portfolio`]: the default strategy of a sweep.

use super::pct::probes;
use super::{Decision, Pct, Policy, Random, Strategy};
use crate::error::LoopError;

/// The default strategy of a sweep: seed `s` runs [`Random`] if `s % 3 == 0`, PCT of
/// depth 2 if `s % 3 == 1` and PCT of depth 3 if `s % 3 == 2`.
///
/// The choice depends only on the seed, so a seed's replay line (`SIMLOOP_SEED`) runs the
/// same policy; the trace header and the failure report name it (`random`, `pct2`,
/// `pct3`). Like [`Pct`], the portfolio learns the run length from probe runs at the
/// start of a sweep. Used directly as a loop's policy, a portfolio is seed 0's pick.
///
/// ```
/// use simloop::{Policy, Portfolio, Strategy};
/// let p = Portfolio::new();
/// let names: Vec<String> = (0..3).map(|s| p.for_seed(s).name()).collect();
/// assert_eq!(names, ["random", "pct2", "pct3"]);
/// ```
pub struct Portfolio {
    steps: Option<u64>,
    /// Seed 0's pick, for direct use.
    inner: Box<dyn Policy>,
}

impl std::fmt::Debug for Portfolio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portfolio")
            .field("steps", &self.steps)
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
        Portfolio::build(None)
    }

    /// The portfolio with a given run length for its PCT seeds.
    ///
    /// # Panics
    /// If `steps` is 0.
    pub fn with_steps(steps: u64) -> Portfolio {
        assert!(steps > 0, "Portfolio: the run length must be at least 1");
        Portfolio::build(Some(steps))
    }

    fn build(steps: Option<u64>) -> Portfolio {
        Portfolio {
            steps,
            inner: pick(0, steps),
        }
    }

    /// The policy seed `seed` runs.
    pub fn pick(&self, seed: u64) -> Box<dyn Policy> {
        pick(seed, self.steps)
    }
}

fn pick(seed: u64, steps: Option<u64>) -> Box<dyn Policy> {
    match seed % 3 {
        0 => Box::new(Random::new(seed)),
        r => Box::new(Pct::build(seed, r as u32 + 1, steps)),
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
        Some(Box::new(Portfolio::build(Some(decisions.max(1)))))
    }
}
