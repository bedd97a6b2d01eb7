//! The corpus of a sweep that learns: the runs that reached coverage no earlier run had
//! (see [`coverage`](super::coverage)), and how a mutation run is made from one of them.
//!
//! Each feature's hit count is kept over the whole sweep. A mutation picks its parent
//! entry by rarity — the entry whose rarest new feature has been seen least often, plus
//! how often the entry was already a parent (so an entry whose mutations never reproduce
//! its feature is not picked forever) — three times in four, and uniformly otherwise.
//! Its target is that rarest feature, at the step where it first showed; then one of:
//!
//! - **extend** (half the time): the parent's picks through that step, then a random walk;
//! - **reroll**: the parent's picks up to a uniform point before that step, then a walk;
//! - **hold**: the parent's picks up to that step, then the walk holds the feature's task
//!   back (for a log-uniform number of decisions, or until few other items are
//!   runnable): the poll that showed the feature comes later.
//!
//! Everything is drawn from the mutation's seed and the corpus, which depends only on the
//! runs before it: the same sweep range makes the same mutations on every machine.

use std::collections::BTreeMap;
use std::rc::Rc;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::coverage::{Feature, Seen};
use crate::policy::guided::Pick;
use crate::policy::mutant::MutantPlan;
use crate::policy::record::Picks;

/// Most entries a corpus keeps (later runs with new coverage still count their hits).
const MAX_ENTRIES: usize = 512;
/// Keeps the mutation stream apart from every other stream of a seed ("simloopm").
const MUTATION_KEY: u64 = 0x7369_6d6c_6f6f_706d;

/// A run that reached new coverage.
struct Entry {
    /// Its picks up to its last new feature's step (no mutation cuts later).
    picks: Rc<Picks>,
    /// The plain seed its line descends from.
    root_seed: u64,
    /// The features it was the first to reach.
    news: Vec<Seen>,
    /// How many mutations it was the parent of.
    parented: u32,
}

/// The corpus and the sweep-wide hit counts.
#[derive(Default)]
pub(crate) struct Corpus {
    hits: BTreeMap<Feature, u32>,
    entries: Vec<Entry>,
}

impl Corpus {
    /// Counts a run's features; keeps the run if it reached one no earlier run had.
    /// Returns whether it was kept.
    pub(crate) fn add(&mut self, seen: &[Seen], picks: Picks, root_seed: u64) -> bool {
        let mut news = Vec::new();
        for s in seen {
            let h = self.hits.entry(s.feature).or_insert(0);
            if *h == 0 {
                news.push(*s);
            }
            *h += 1;
        }
        if news.is_empty() || self.entries.len() >= MAX_ENTRIES {
            return false;
        }
        let last = news.iter().map(|s| s.step).max().unwrap_or(0);
        let mut picks = picks;
        picks.truncate(picks.partition_point(|&(step, _)| step <= last));
        picks.shrink_to_fit();
        self.entries.push(Entry {
            picks: Rc::new(picks),
            root_seed,
            news,
            parented: 0,
        });
        true
    }

    /// How many runs the corpus holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The rarest of an entry's new features and its hit count.
    fn rarest(&self, e: &Entry) -> (u32, Seen) {
        e.news
            .iter()
            .map(|s| (self.hits.get(&s.feature).copied().unwrap_or(0), *s))
            .min_by_key(|&(h, s)| (h, s.step))
            .expect("an entry has a new feature")
    }

    /// The mutation run seed `seed` makes, or `None` if the corpus is empty.
    pub(crate) fn mutation(&mut self, seed: u64) -> Option<MutantPlan> {
        if self.entries.is_empty() {
            return None;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ MUTATION_KEY);
        let mut below = |n: u64| ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64;
        let n = self.entries.len();
        let index = if below(4) < 3 {
            // The lowest score; among equals, the newest.
            (0..n)
                .rev()
                .min_by_key(|&i| {
                    let e = &self.entries[i];
                    u64::from(self.rarest(e).0) + u64::from(e.parented)
                })
                .expect("the corpus is not empty")
        } else {
            below(n as u64) as usize
        };
        let (_, target) = self.rarest(&self.entries[index]);
        let entry = &mut self.entries[index];
        entry.parented += 1;
        let through = entry.picks.partition_point(|&(step, _)| step <= target.step);
        let before = entry.picks.partition_point(|&(step, _)| step < target.step);
        let (cut, hold) = match below(4) {
            0 | 1 => (through, None),
            2 => (below(through as u64 + 1) as usize, None),
            _ => {
                let bits = below(13);
                let most = 1 + below(1u64 << bits);
                let release = match below(4) {
                    1 => 1,
                    2 => 2,
                    _ => 0,
                };
                (before, Some((target.task, most, release)))
            }
        };
        let prefix: Vec<Pick> = entry.picks[..cut].iter().map(|&(_, p)| p).collect();
        Some(MutantPlan {
            prefix: Rc::new(prefix),
            walk_seed: below(u64::MAX),
            root_seed: entry.root_seed,
            hold,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::CandidateKind;

    fn pick(id: u32) -> Pick {
        Pick::Item {
            kind: CandidateKind::Task,
            id,
        }
    }

    fn seen(feature: Feature, step: u64) -> Seen {
        Seen {
            feature,
            step,
            task: 1,
        }
    }

    #[test]
    fn keeps_only_runs_with_new_coverage() {
        let mut c = Corpus::default();
        let picks: Picks = (1..=10).map(|s| (s, pick(s as u32 % 3))).collect();
        assert!(c.add(&[seen(1, 2), seen(2, 5)], picks.clone(), 0));
        assert!(!c.add(&[seen(1, 3)], picks.clone(), 1));
        assert!(c.add(&[seen(1, 3), seen(3, 4)], picks, 2));
        assert_eq!(c.len(), 2);
        // Picks are kept only up to the last new feature.
        assert_eq!(c.entries[0].picks.len(), 5);
        assert_eq!(c.entries[1].picks.len(), 4);
    }

    #[test]
    fn mutations_are_a_function_of_the_seed_and_the_runs() {
        let make = || {
            let mut c = Corpus::default();
            let picks: Picks = (1..=40).map(|s| (s, pick(s as u32 % 4))).collect();
            c.add(&[seen(1, 10), seen(2, 30)], picks.clone(), 7);
            c.add(&[seen(3, 20)], picks, 9);
            c
        };
        let (mut a, mut b) = (make(), make());
        for seed in 0..200 {
            let (x, y) = (a.mutation(seed).unwrap(), b.mutation(seed).unwrap());
            assert_eq!(x, y);
            assert!(x.prefix.len() <= 30);
            assert!([7, 9].contains(&x.root_seed));
        }
        assert!(Corpus::default().mutation(1).is_none());
    }
}
