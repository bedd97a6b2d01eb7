//! [`Pos`]: partial order sampling — random priorities, redrawn for the item that ran.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::{CandidateKind, Decision, Policy, Strategy};
use crate::error::LoopError;

/// Partial order sampling (after Yuan, Yang and Gu, "Partial Order Aware Concurrency
/// Sampling", CAV 2018): every runnable item carries a random priority, the highest runs,
/// and the task that ran draws a fresh priority for its next step; the others keep
/// theirs. An item with a low priority therefore waits until every other one has drawn
/// lower, so a run delays some tasks for long stretches and lets others race ahead —
/// orders uniform random choice rarely produces — with no run length to learn.
///
/// The same seed always gives the same choices, on every machine.
///
/// ```
/// use simloop::{EventLoop, Pos};
/// let lp = EventLoop::builder().policy(Pos::new(7)).build();
/// assert_eq!((lp.seed(), lp.trace().policy()), (Some(7), "pos"));
/// ```
#[derive(Clone, Debug)]
pub struct Pos {
    seed: u64,
    rng: ChaCha8Rng,
    /// Item (kind, id) -> the priority of its next step.
    priority: BTreeMap<(CandidateKind, u32), u64>,
}

impl Pos {
    /// A POS policy seeded with `seed`.
    pub fn new(seed: u64) -> Pos {
        Pos {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            priority: BTreeMap::new(),
        }
    }
}

impl Policy for Pos {
    fn name(&self) -> String {
        "pos".to_owned()
    }

    fn seed(&self) -> Option<u64> {
        Some(self.seed)
    }

    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        let cands = d.candidates;
        if cands.len() < 2 {
            return Ok(0);
        }
        let mut best = 0;
        let mut best_p = 0;
        for (i, c) in cands.iter().enumerate() {
            let rng = &mut self.rng;
            let p = *self
                .priority
                .entry((c.kind, c.id))
                .or_insert_with(|| rng.next_u64());
            if i == 0 || p > best_p {
                best = i;
                best_p = p;
            }
        }
        let chosen = cands[best];
        // The item that runs gets a fresh priority for its next step; a one-step item
        // never comes back.
        self.priority.remove(&(chosen.kind, chosen.id));
        if self.priority.len() > 2 * cands.len() + 64 {
            let live: std::collections::BTreeSet<(CandidateKind, u32)> =
                cands.iter().map(|c| (c.kind, c.id)).collect();
            self.priority
                .retain(|k, _| k.0 == CandidateKind::Task || live.contains(k));
        }
        Ok(best)
    }
}

impl Strategy for Pos {
    fn name(&self) -> String {
        "pos".to_owned()
    }
    fn for_seed(&self, seed: u64) -> Box<dyn Policy> {
        Box::new(Pos::new(seed))
    }
}
