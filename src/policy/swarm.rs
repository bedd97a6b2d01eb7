//! [`Swarm`]: random choice with a random weight per item, drawn once per run.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use super::pct::below;
use super::{CandidateKind, Decision, Policy, Strategy};
use crate::error::LoopError;

/// Random choice weighted per item: every task gets a weight the first time it is
/// runnable (a power of two from 1 to 2^[`Swarm::SPREAD`], uniform in the exponent) and
/// keeps it for its whole life; every callback, timer and stop request gets one of its
/// own. Each step picks a candidate with probability proportional to its weight.
///
/// Uniform [`Random`](crate::Random) gives every task the same speed, so two tasks
/// rarely get far apart; a bug that needs one task well ahead of another (a relay of
/// start-up steps, a waiter overtaken by its setter) needs many lucky steps in a row.
/// Under `Swarm` each run has its own speeds — in the spirit of swarm testing, one run
/// makes `d` four times as fast as `a`, another the reverse — so such orders come from
/// the weights, not from luck at every step, while every interleaving stays possible.
///
/// The same seed always gives the same choices, on every machine.
///
/// ```
/// use simloop::{EventLoop, Swarm};
/// let lp = EventLoop::builder().policy(Swarm::new(7)).build();
/// assert_eq!((lp.seed(), lp.trace().policy()), (Some(7), "swarm"));
/// ```
#[derive(Clone, Debug)]
pub struct Swarm {
    seed: u64,
    rng: ChaCha8Rng,
    /// Item (kind, id) -> weight.
    weights: BTreeMap<(CandidateKind, u32), u64>,
    scratch: Vec<u64>,
}

impl Swarm {
    /// Weights range over `1 ..= 2^SPREAD`.
    pub const SPREAD: u32 = 5;

    /// A swarm policy seeded with `seed`.
    pub fn new(seed: u64) -> Swarm {
        Swarm {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            weights: BTreeMap::new(),
            scratch: Vec::new(),
        }
    }
}

impl Policy for Swarm {
    fn name(&self) -> String {
        "swarm".to_owned()
    }

    fn seed(&self) -> Option<u64> {
        Some(self.seed)
    }

    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        let cands = d.candidates;
        if cands.len() < 2 {
            return Ok(0);
        }
        self.scratch.clear();
        let mut total = 0u64;
        for c in cands {
            let rng = &mut self.rng;
            let w = *self
                .weights
                .entry((c.kind, c.id))
                .or_insert_with(|| 1 << below(rng, u64::from(Swarm::SPREAD) + 1));
            total += w;
            self.scratch.push(total);
        }
        let r = below(&mut self.rng, total);
        let i = self.scratch.partition_point(|&acc| acc <= r);
        let chosen = cands[i];
        if chosen.kind != CandidateKind::Task {
            // One-step items never come back.
            self.weights.remove(&(chosen.kind, chosen.id));
            if self.weights.len() > 2 * cands.len() + 64 {
                // Forget one-step items that ran without a decision; tasks keep theirs.
                let live: std::collections::BTreeSet<(CandidateKind, u32)> =
                    cands.iter().map(|c| (c.kind, c.id)).collect();
                self.weights
                    .retain(|k, _| k.0 == CandidateKind::Task || live.contains(k));
            }
        }
        Ok(i)
    }
}

impl Strategy for Swarm {
    fn name(&self) -> String {
        "swarm".to_owned()
    }
    fn for_seed(&self, seed: u64) -> Box<dyn Policy> {
        Box::new(Swarm::new(seed))
    }
}
