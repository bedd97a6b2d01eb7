//! The learning part of a sweep ([`Builder::adaptive`](crate::Builder::adaptive)): which
//! seeds run a mutation of an earlier run instead of their own policy, and what the
//! sweep learns from each run.
//!
//! The first [`WARM_UP`] seeds of a range run their own policy (the strategy's pick, as
//! in a plain sweep); after that, a seed runs a mutation (see [`corpus`](super::corpus))
//! when a hash of the seed says so — about [`MUTATE_PERCENT`] % of them — and the corpus
//! holds a run to mutate. Every run's coverage and picks are fed back, in seed order.
//! Nothing but the runs of the earlier seeds of the same range goes in, so a range
//! `a..b` runs the same schedules as any longer range `a..c` up to `b`: the sweep line
//! `SIMLOOP_SEEDS=a..s+1` reproduces the run of seed `s`.

use super::corpus::Corpus;
use super::coverage::features;
use crate::event_loop::sites::TaskStep;
use crate::policy::mutant::MutantPlan;
use crate::policy::record::Picks;

/// Seeds at the start of a range that always run their own policy.
pub(crate) const WARM_UP: u64 = 16;
/// The share of seeds after the warm-up that run a mutation, in percent.
pub(crate) const MUTATE_PERCENT: u64 = 75;
/// Keeps the "mutate or not" hash apart from every other use of a seed ("simloopa").
const SPLIT_KEY: u64 = 0x7369_6d6c_6f6f_7061;

/// SplitMix64's finaliser.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// What an adaptive sweep carries from seed to seed.
#[derive(Default)]
pub(crate) struct Learner {
    corpus: Corpus,
}

impl Learner {
    /// The mutation the `index`-th seed of the range (`seed`) runs, or `None` if it runs
    /// its own policy.
    pub(crate) fn plan(&mut self, index: u64, seed: u64) -> Option<MutantPlan> {
        if index < WARM_UP || mix(seed ^ SPLIT_KEY) % 100 >= MUTATE_PERCENT {
            return None;
        }
        self.corpus.mutation(seed)
    }

    /// Feeds one run back: its await-site log and picks, and the plain seed it descends
    /// from.
    pub(crate) fn learn(&mut self, sites: &[TaskStep], picks: Picks, root_seed: u64, plain: bool) {
        self.corpus.add(&features(sites), picks, root_seed, plain);
    }

    /// How many runs the corpus holds.
    pub(crate) fn corpus_len(&self) -> usize {
        self.corpus.len()
    }
}
