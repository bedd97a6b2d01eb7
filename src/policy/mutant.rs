//! [`Mutant`]: the policy of a sweep's mutation run — a prefix of an earlier run's
//! picks, then a seeded random walk, optionally holding one task back for a while.
//!
//! - **Prefix**: at each real decision the next recorded pick runs if it is runnable
//!   (the program is deterministic, so it is, unless a held task changed the course);
//!   otherwise the prefix ends there.
//! - **Hold**: after the prefix, the held task is not chosen while anything else is
//!   runnable, for at most `hold_for` decisions or until at most `release_at` other
//!   items are runnable, whichever comes first.
//! - **Walk**: a uniform choice from a ChaCha8 stream seeded with the mutation's seed.
//!
//! The policy's [`seed`](Policy::seed) is the *root* seed (the plain run the corpus
//! entry descends from): `buggify`, `choose` and `rng` draw from that seed's streams, so
//! the prefix meets the same faults and data as the run it copies.

use std::rc::Rc;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::guided::Pick;
use super::{CandidateKind, Decision, Policy};
use crate::error::LoopError;

/// What a mutation run does; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MutantPlan {
    /// The picks to follow first.
    pub(crate) prefix: Rc<Vec<Pick>>,
    /// The seed of the walk after the prefix.
    pub(crate) walk_seed: u64,
    /// The root seed (for the data streams and the trace header).
    pub(crate) root_seed: u64,
    /// A task to hold back after the prefix: its id, the most decisions to hold it for,
    /// and how few other runnable items release it.
    pub(crate) hold: Option<(u32, u64, usize)>,
    /// A task to run first after the prefix, if it is runnable then.
    pub(crate) first: Option<u32>,
}

/// The mutation policy (`mutant` in traces and reports).
pub(crate) struct Mutant {
    plan: MutantPlan,
    next: usize,
    following: bool,
    held: u64,
    rng: ChaCha8Rng,
}

impl Mutant {
    pub(crate) fn new(plan: MutantPlan) -> Mutant {
        let rng = ChaCha8Rng::seed_from_u64(plan.walk_seed);
        Mutant {
            plan,
            next: 0,
            following: true,
            held: 0,
            rng,
        }
    }

    fn uniform(&mut self, n: usize) -> usize {
        ((self.rng.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

impl Policy for Mutant {
    fn name(&self) -> String {
        "mutant".to_owned()
    }

    fn seed(&self) -> Option<u64> {
        Some(self.plan.root_seed)
    }

    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        let n = d.candidates.len();
        if self.following {
            if let Some(p) = self.plan.prefix.get(self.next) {
                let found = d.candidates.iter().position(|c| Pick::of(c) == *p);
                if let Some(i) = found {
                    self.next += 1;
                    return Ok(i);
                }
            }
            self.following = false;
            if let Some(task) = self.plan.first {
                let found = d
                    .candidates
                    .iter()
                    .position(|c| c.kind == CandidateKind::Task && c.id == task);
                if let Some(i) = found {
                    return Ok(i);
                }
            }
        }
        if let Some((task, most, release)) = self.plan.hold {
            let is_held = |i: usize| {
                let c = &d.candidates[i];
                c.kind == CandidateKind::Task && c.id == task
            };
            let held_at = (0..n).find(|&i| is_held(i));
            if let Some(h) = held_at {
                if self.held < most && n - 1 > release {
                    self.held += 1;
                    let i = self.uniform(n - 1);
                    return Ok(if i >= h { i + 1 } else { i });
                }
                self.plan.hold = None;
            }
        }
        Ok(self.uniform(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Candidate;
    use crate::time::instant::Instant;

    fn task(id: u32) -> Candidate {
        Candidate {
            kind: CandidateKind::Task,
            slot: id,
            id,
        }
    }

    fn decide(m: &mut Mutant, ids: &[u32]) -> u32 {
        let cands: Vec<Candidate> = ids.iter().map(|&i| task(i)).collect();
        let d = Decision {
            step: 1,
            now: Instant::from_nanos(0),
            candidates: &cands,
        };
        cands[m.choose(&d).unwrap()].id
    }

    fn plan(prefix: &[u32], hold: Option<(u32, u64, usize)>) -> MutantPlan {
        MutantPlan {
            prefix: Rc::new(prefix.iter().map(|&i| Pick::of(&task(i))).collect()),
            walk_seed: 7,
            root_seed: 3,
            hold,
            first: None,
        }
    }

    #[test]
    fn follows_the_prefix_then_walks() {
        let mut m = Mutant::new(plan(&[2, 2, 1], None));
        assert_eq!(decide(&mut m, &[1, 2]), 2);
        assert_eq!(decide(&mut m, &[1, 2, 3]), 2);
        assert_eq!(decide(&mut m, &[3, 1]), 1);
        assert_eq!(m.seed(), Some(3));
        // Past the prefix: some of each, from the walk.
        let seen: std::collections::BTreeSet<u32> =
            (0..64).map(|_| decide(&mut m, &[1, 2, 3])).collect();
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn a_pick_that_is_not_runnable_ends_the_prefix() {
        let mut m = Mutant::new(plan(&[4, 1], None));
        let _ = decide(&mut m, &[1, 2]);
        assert!(!m.following);
    }

    #[test]
    fn holds_a_task_until_released() {
        // Held for at most 10 decisions, or until at most 1 other item is runnable.
        let mut m = Mutant::new(plan(&[], Some((5, 10, 1))));
        for _ in 0..5 {
            assert_ne!(decide(&mut m, &[5, 1, 2]), 5);
        }
        // One other item: released (and the hold is over for good).
        let _ = decide(&mut m, &[5, 1]);
        assert!(m.plan.hold.is_none());
        let mut m = Mutant::new(plan(&[], Some((5, 3, 0))));
        for _ in 0..3 {
            assert_ne!(decide(&mut m, &[5, 1, 2]), 5);
        }
        let seen: std::collections::BTreeSet<u32> =
            (0..64).map(|_| decide(&mut m, &[5, 1, 2])).collect();
        assert!(seen.contains(&5));
    }
}
