//! The learning part of a sweep ([`Builder::adaptive`](crate::Builder::adaptive), on by
//! default): which seeds run a mutation of an earlier run instead of their own policy,
//! what the sweep learns from each run, and which seeds a one-seed run must re-run first
//! to run a seed as the sweep did.
//!
//! **Blocks.** Learning starts afresh at every multiple of [`BLOCK`] and at the start
//! of the sweep's range: seed `s` learns from the runs of the seeds before it in its
//! block that the sweep ran (its *origin* is the later of the two starts). A range that
//! starts at a multiple of [`BLOCK`] (`0..1000`, the default, or `5000..6000`) gives every
//! seed the origin a one-seed run assumes, so `SIMLOOP_SEED=<seed>` reproduces any of its
//! failures: the one-seed run re-runs the seeds from the block's start quietly, learning
//! as the sweep did, then runs the seed.
//!
//! **Which seeds mutate.** The first [`WARM_UP`] seeds from an origin run their own
//! policy (the strategy's pick, as in a sweep that does not learn); after that, a seed
//! runs a mutation (see [`corpus`](super::corpus)) when a hash of the seed says so —
//! about [`MUTATE_PERCENT`] % of them — and the corpus holds a run to mutate. Every run's
//! coverage and picks are fed back, in seed order. Nothing but the runs of the earlier
//! seeds since the origin goes in, so a range `a..b` runs the same schedules as any
//! longer range `a..c` up to `b`: the sweep line `SIMLOOP_SEEDS=a..s+1` reproduces the
//! run of seed `s`.

use super::corpus::Corpus;
use super::coverage::features;
use crate::event_loop::sites::TaskStep;
use crate::policy::buggify::mix;
use std::ops::Range;

use crate::policy::mutant::MutantPlan;
use crate::policy::record::Picks;

/// Learning starts afresh at every multiple of this seed (see the module docs).
pub(crate) const BLOCK: u64 = 1000;
/// Seeds from an origin that always run their own policy.
pub(crate) const WARM_UP: u64 = 16;
/// The share of seeds after the warm-up that run a mutation, in percent.
pub(crate) const MUTATE_PERCENT: u64 = 75;
/// Keeps the "mutate or not" hash apart from every other use of a seed ("simloopa").
const SPLIT_KEY: u64 = 0x7369_6d6c_6f6f_7061;

/// The first seed of `seed`'s block.
pub(crate) fn block_start(seed: u64) -> u64 {
    seed - seed % BLOCK
}

/// Whether the hash of `seed` makes it a mutation seed (past the warm-up).
fn mutates(seed: u64) -> bool {
    mix(seed ^ SPLIT_KEY) % 100 < MUTATE_PERCENT
}

/// Whether a one-seed run of `seed` may run a mutation, and so re-runs the seeds from
/// its block's start first (otherwise it runs the seed's own policy at once).
pub(crate) fn may_mutate_alone(seed: u64) -> bool {
    seed - block_start(seed) >= WARM_UP && mutates(seed)
}

/// What a learning sweep carries from seed to seed within a block.
pub(crate) struct Learner {
    corpus: Corpus,
    /// The block this learner is for.
    block: u64,
    /// The runs fed back since the origin.
    runs: u64,
}

impl Learner {
    /// A learner for `seed`'s block, starting empty.
    pub(crate) fn new(seed: u64) -> Learner {
        Learner {
            corpus: Corpus::default(),
            block: block_start(seed),
            runs: 0,
        }
    }

    /// Whether `seed` belongs to this learner's block (else the sweep starts a new one).
    pub(crate) fn covers(&self, seed: u64) -> bool {
        block_start(seed) == self.block
    }

    /// The mutation seed `seed` runs, or `None` if it runs its own policy.
    pub(crate) fn plan(&mut self, seed: u64) -> Option<MutantPlan> {
        if self.runs < WARM_UP || !mutates(seed) {
            return None;
        }
        self.corpus.mutation(seed)
    }

    /// Feeds one run back: its await-site log and picks, and the plain seed it descends
    /// from.
    pub(crate) fn learn(&mut self, sites: &[TaskStep], picks: Picks, root_seed: u64, plain: bool) {
        self.runs += 1;
        self.corpus.add(&features(sites), picks, root_seed, plain);
    }

    /// How many runs the corpus holds.
    pub(crate) fn corpus_len(&self) -> usize {
        self.corpus.len()
    }
}

/// Which line re-runs a failing seed as the sweep ran it.
pub(crate) enum SeedLine {
    /// `SIMLOOP_SEED=<seed>`: a one-seed run does what the sweep did.
    Seed,
    /// These variables (`SIMLOOP_SEEDS=<origin>..<seed + 1>`, and the shard): the sweep
    /// again from the seed's origin, up to it.
    Sweep(String),
}

/// The line for a failure at `seed` (see `adaptive.rs`): a one-seed run re-runs its block
/// from the block's start when the seed may mutate, so `SIMLOOP_SEED` reproduces the
/// sweep's run when the sweep did not learn, or learned from the block's start unsharded,
/// or ran the seed's own policy where a one-seed run does too. Otherwise the sweep line.
pub(crate) fn seed_line(
    learning: bool,
    sweep: &Option<Range<u64>>,
    shard: Option<(u64, u64)>,
    seed: u64,
    mutation: &Option<MutantPlan>,
) -> SeedLine {
    let Some(r) = sweep.as_ref().filter(|_| learning) else {
        return SeedLine::Seed;
    };
    let aligned = shard.is_none() && r.start <= block_start(seed);
    if aligned || (mutation.is_none() && !may_mutate_alone(seed)) {
        return SeedLine::Seed;
    }
    let shard = shard
        .map(|(i, n)| format!(" SIMLOOP_SHARD={i}/{n}"))
        .unwrap_or_default();
    let origin = r.start.max(block_start(seed));
    SeedLine::Sweep(format!("SIMLOOP_SEEDS={origin}..{}{shard}", seed + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_the_warm_up() {
        assert_eq!(block_start(0), 0);
        assert_eq!(block_start(999), 0);
        assert_eq!(block_start(123_456), 123_000);
        // The warm-up of a block never mutates, alone or in a sweep.
        assert!((0..WARM_UP).all(|s| !may_mutate_alone(s) && !may_mutate_alone(5000 + s)));
        // About three seeds in four after it may.
        let n = (WARM_UP..BLOCK).filter(|&s| may_mutate_alone(s)).count() as u64;
        assert!((BLOCK * 65 / 100..BLOCK * 85 / 100).contains(&n), "{n}");
        let mut l = Learner::new(1234);
        assert!(l.covers(1000) && l.covers(1999) && !l.covers(2000));
        // No run fed back yet: every seed runs its own policy.
        assert!((0..100).all(|s| l.plan(s).is_none()));
    }
}
