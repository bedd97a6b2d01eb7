//! The corpus of a sweep that learns: the runs that reached coverage no earlier run had
//! (see [`coverage`](super::coverage)), and how a mutation run is made from one of them.
//!
//! **First, starve each task.** The first mutations of a range (one per task of its
//! first run, in id order, at most [`STARVED`]) each take the first run's picks up to a
//! task's first poll and then hold that task back until nothing else can run: every task
//! in turn starts last. A bug that needs one task kept out of the way while the others
//! do their work (a reader that must not look until a long computation is half-way)
//! starts here: the starved run's late start is a new feature, and mutating it (below)
//! moves the task's first poll back to just after some earlier event.
//!
//! **Which feature to work on.** Every feature a run was the first to reach is a
//! *target*, kept with that run's picks. A feature's rarity is how many *plain* runs
//! (seeds that ran their own policy) reached it: mutations copy their parent's prefix
//! and so reach its features again, which says nothing about how hard they are. A
//! mutation takes the target with the lowest key (tier, rounds, rarity, newest first):
//!
//! - *tier* (three times in four): await-site features that at most a quarter of the
//!   plain runs reach come first — a task suspending where it rarely does is the best
//!   sign of a new path through the program's own logic;
//! - *rounds*: how many times the target was already worked on, in rounds of
//!   [`ENERGY`], so a target whose mutations lead nowhere yields to the others;
//! - *rarity*, then the newest run.
//!
//! **How to mutate it**, at the step where the target first showed in its run. A
//! target's first [`ORDERED`] mutations are *inserts* at the 1st, 2nd, … earlier event
//! in turn (the cheap, likely ones, tried in order, as a fuzzer's deterministic stage);
//! after that, one of (out of 9):
//!
//! - **extend** (2): the run's picks through that step, then a random walk;
//! - **near** (2): its picks up to a point shortly before that step (log-uniform
//!   distance, up to 64 decisions), then a walk;
//! - **insert** (2): its picks through a shortly earlier *event* of the run (a step
//!   at which some feature first showed: a task suspending somewhere new, a task ending),
//!   then the target's task at once if it can run, then a walk — the poll that showed
//!   the feature moves to just after something else that happened;
//! - **reroll** (1): its picks up to a uniform point before that step, then a walk;
//! - **hold** (2): its picks through that step, then the walk holds the target's task
//!   back (for a log-uniform number of decisions, or until at most 0–2 other items are
//!   runnable): whatever state the poll that showed the feature left behind stays while
//!   the other tasks move on — a one-poll window held open. A relay of tasks that each
//!   react to the previous one's short-lived state is found stage by stage this way.
//!
//! Everything is drawn from the mutation's seed and the corpus, which depends only on the
//! runs before it: the same sweep range makes the same mutations on every machine.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::rc::Rc;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::coverage::{is_site, Feature, FeatureHash, Seen};
use crate::policy::guided::Pick;
use crate::policy::mutant::MutantPlan;
use crate::policy::record::Picks;

/// Most runs a corpus keeps (later runs with new coverage still count their hits).
const MAX_ENTRIES: usize = 512;
/// Most picks the corpus's runs may hold together (24 bytes each).
const MAX_PICKS: usize = 2 << 20;
/// Mutations a target gets per round.
pub(crate) const ENERGY: u32 = 16;
/// A target's first mutations, inserts at the 1st, 2nd, … earlier event in turn.
const ORDERED: u32 = 4;
/// Most tasks the starving phase starves, one mutation each.
pub(crate) const STARVED: usize = 64;
/// Keeps the mutation stream apart from every other stream of a seed ("simloopm").
const MUTATION_KEY: u64 = 0x7369_6d6c_6f6f_706d;

/// A run that reached new coverage.
struct Entry {
    /// Its picks up to its last new feature's step (no mutation cuts later).
    picks: Rc<Picks>,
    /// The plain seed its line descends from.
    root_seed: u64,
    /// The features it was the first to reach, with their index in the counts.
    news: Vec<(u32, Seen)>,
    /// The steps at which any of its features first showed, in order (up to its last
    /// new feature's step).
    events: Vec<u64>,
}

/// What the corpus counts per feature.
#[derive(Clone, Copy, Default)]
struct Counts {
    /// How many plain runs reached it.
    plain_hits: u32,
    /// How many mutations worked on it.
    worked: u32,
}

/// The corpus and the sweep-wide counts.
#[derive(Default)]
pub(crate) struct Corpus {
    /// Each feature seen so far: its index in `counts` (only looked up, never iterated).
    index: HashMap<Feature, u32, FeatureHash>,
    counts: Vec<Counts>,
    plain_runs: u32,
    entries: Vec<Entry>,
    picks_held: usize,
    /// Mutations of the starving phase made so far (see the module docs).
    starved: usize,
}

/// The key a target is chosen by (the lowest wins; see the module docs).
type Key = (bool, u32, u32, Reverse<usize>);

impl Corpus {
    /// Counts a run's features (`plain`: the seed ran its own policy); keeps the run if
    /// it reached one no earlier run had. Returns whether it was kept.
    pub(crate) fn add(&mut self, seen: &[Seen], picks: Picks, root_seed: u64, plain: bool) -> bool {
        self.plain_runs += u32::from(plain);
        let mut news = Vec::new();
        for s in seen {
            let next = self.counts.len() as u32;
            let id = *self.index.entry(s.feature).or_insert(next);
            if id == next {
                self.counts.push(Counts::default());
                news.push((id, *s));
            }
            self.counts[id as usize].plain_hits += u32::from(plain);
        }
        if news.is_empty() || self.entries.len() >= MAX_ENTRIES {
            return false;
        }
        let last = news.iter().map(|(_, s)| s.step).max().unwrap_or(0);
        let mut picks = picks;
        picks.truncate(picks.partition_point(|&(step, _)| step <= last));
        if self.picks_held + picks.len() > MAX_PICKS {
            return false;
        }
        self.picks_held += picks.len();
        picks.shrink_to_fit();
        let mut events: Vec<u64> = seen.iter().map(|s| s.step).filter(|&s| s <= last).collect();
        events.sort_unstable();
        events.dedup();
        self.entries.push(Entry {
            picks: Rc::new(picks),
            root_seed,
            news,
            events,
        });
        true
    }

    /// How many runs the corpus holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The target with the lowest key: its run's index, the feature's index in the
    /// counts, and the feature.
    fn target(&self, tiered: bool) -> Option<(usize, u32, Seen)> {
        let runs = self.plain_runs;
        let key = |i: usize, id: u32, s: &Seen| -> Key {
            let c = self.counts[id as usize];
            let rare_site = is_site(s.feature) && c.plain_hits.saturating_mul(4) <= runs;
            (
                tiered && !rare_site,
                c.worked / ENERGY,
                c.plain_hits,
                Reverse(i),
            )
        };
        self.entries
            .iter()
            .enumerate()
            .flat_map(|(i, e)| e.news.iter().map(move |&(id, s)| (i, id, s)))
            .min_by_key(|&(i, id, s)| key(i, id, &s))
    }

    /// How many plain runs reached feature `f` (tests).
    #[cfg(test)]
    fn hits(&self, f: Feature) -> u32 {
        self.index
            .get(&f)
            .map_or(0, |&id| self.counts[id as usize].plain_hits)
    }

    /// The mutation run seed `seed` makes, or `None` if the corpus is empty.
    pub(crate) fn mutation(&mut self, seed: u64) -> Option<MutantPlan> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ MUTATION_KEY);
        let mut below = |n: u64| ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64;
        if let Some(plan) = self.starve(&mut below) {
            return Some(plan);
        }
        let (index, id, target) = self.target(below(4) < 3)?;
        let worked = &mut self.counts[id as usize].worked;
        let ordered = (*worked < ORDERED).then_some(*worked as usize);
        *worked += 1;
        let entry = &self.entries[index];
        let before = entry.picks.partition_point(|&(step, _)| step < target.step);
        let through_step = |at: u64| entry.picks.partition_point(|&(step, _)| step <= at);
        let hold = |below: &mut dyn FnMut(u64) -> u64| {
            let bits = below(13);
            let most = 1 + below(1 << bits);
            let release = below(4).saturating_sub(1) as usize;
            Some((target.task, most, release))
        };
        let kind = if ordered.is_some() { 4 } else { below(9) };
        let (cut, hold, first) = match kind {
            0 | 1 => (through_step(target.step), None, None),
            2 | 3 => {
                let bits = below(7);
                (before.saturating_sub(below(1 << bits) as usize), None, None)
            }
            4 | 5 => {
                let earlier = entry.events.partition_point(|&e| e < target.step);
                if earlier == 0 {
                    (before, None, Some(target.task))
                } else {
                    let back = ordered.unwrap_or_else(|| {
                        let bits = below(6);
                        below(1 << bits) as usize
                    });
                    let at = entry.events[earlier - 1 - back.min(earlier - 1)];
                    (through_step(at), None, Some(target.task))
                }
            }
            6 => (below(before as u64 + 1) as usize, None, None),
            _ => (through_step(target.step), hold(&mut below), None),
        };
        let prefix: Vec<Pick> = entry.picks[..cut].iter().map(|&(_, p)| p).collect();
        Some(MutantPlan {
            prefix: Rc::new(prefix),
            walk_seed: rng_next(&mut below),
            root_seed: entry.root_seed,
            hold,
            first,
        })
    }

    /// The starving phase's next mutation, if it is not over (see the module docs): the
    /// first run's picks up to the next task's first poll, then that task held back
    /// until nothing else can run.
    fn starve(&mut self, below: &mut impl FnMut(u64) -> u64) -> Option<MutantPlan> {
        if self.starved >= STARVED {
            return None;
        }
        let entry = self.entries.first()?;
        let first_poll = |t: u32| entry.picks.iter().position(|&(_, p)| p.task() == Some(t));
        let mut tasks: Vec<u32> = entry.picks.iter().filter_map(|&(_, p)| p.task()).collect();
        tasks.sort_unstable();
        tasks.dedup();
        let Some(&task) = tasks.get(self.starved) else {
            self.starved = STARVED;
            return None;
        };
        self.starved += 1;
        let cut = first_poll(task).unwrap_or(entry.picks.len());
        Some(MutantPlan {
            prefix: Rc::new(entry.picks[..cut].iter().map(|&(_, p)| p).collect()),
            walk_seed: rng_next(below),
            root_seed: entry.root_seed,
            hold: Some((task, u64::MAX, 0)),
            first: None,
        })
    }
}

/// A full 64-bit draw from `below`'s stream.
fn rng_next(below: &mut impl FnMut(u64) -> u64) -> u64 {
    below(1 << 32) << 32 | below(1 << 32)
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
        assert!(c.add(&[seen(1, 2), seen(2, 5)], picks.clone(), 0, true));
        assert!(!c.add(&[seen(1, 3)], picks.clone(), 1, true));
        assert!(c.add(&[seen(1, 3), seen(3, 4)], picks, 2, false));
        assert_eq!(c.len(), 2);
        // Picks are kept only up to the last new feature.
        assert_eq!(c.entries[0].picks.len(), 5);
        assert_eq!(c.entries[1].picks.len(), 4);
        // Only plain runs count towards rarity.
        assert_eq!(c.hits(1), 2);
        assert_eq!(c.hits(3), 0);
        assert_eq!(c.plain_runs, 2);
    }

    #[test]
    fn the_rarest_target_goes_first_and_yields_after_a_round() {
        let mut c = Corpus::default();
        let picks: Picks = (1..=40).map(|s| (s, pick(s as u32 % 4))).collect();
        c.add(&[seen(10, 5), seen(11, 30)], picks.clone(), 7, true);
        c.add(&[seen(10, 5), seen(12, 20)], picks.clone(), 8, true);
        c.add(&[seen(10, 5), seen(11, 9)], picks, 9, true);
        // 12 was reached by one plain run, 11 by two, 10 by three.
        assert_eq!(
            c.target(false).map(|(i, _, s)| (i, s.feature)),
            Some((1, 12))
        );
        // First the starving phase: each task of the first run (0..=3), in turn.
        for (s, t) in (100..).zip(0..4) {
            let m = c.mutation(s).unwrap();
            assert_eq!(m.hold, Some((t, u64::MAX, 0)));
            // The first run's picks up to the task's first poll (task t first runs at
            // step t, or 4 for task 0).
            assert_eq!(m.prefix.len(), if t == 0 { 3 } else { t as usize - 1 });
        }
        for s in 0..u64::from(ENERGY) {
            c.mutation(s);
        }
        assert_eq!(
            c.target(false).map(|(i, _, s)| (i, s.feature)),
            Some((0, 11))
        );
    }

    #[test]
    fn a_target_gets_ordered_inserts_first_then_holds_among_the_rest() {
        let mut c = Corpus {
            starved: STARVED,
            ..Corpus::default()
        };
        let picks: Picks = (1..=40).map(|s| (s, pick(s as u32 % 4))).collect();
        // Events at steps 5, 9, 20 and 30; the target (feature 3) at step 30, task 1.
        c.add(
            &[seen(1, 5), seen(2, 9), seen(4, 20), seen(3, 30)],
            picks,
            7,
            true,
        );
        let id = c.index[&3] as usize;
        c.counts[id].plain_hits = 0;
        let ordered: Vec<(usize, Option<u32>)> = (0..4)
            .map(|s| {
                let m = c.mutation(s).unwrap();
                (m.prefix.len(), m.first)
            })
            .collect();
        // Through the 1st, 2nd, 3rd earlier event, then the oldest (clamped), each
        // followed by the target's task.
        assert_eq!(
            ordered,
            [(20, Some(1)), (9, Some(1)), (5, Some(1)), (5, Some(1))]
        );
        // After that the kinds are drawn; some hold the target's task right after the
        // step its feature showed at (the targets' steps: 5, 9, 20, 30).
        let holds: Vec<MutantPlan> = (4..200)
            .filter_map(|s| c.mutation(s))
            .filter(|m| m.hold.is_some())
            .collect();
        assert!(holds.len() > 20, "{}", holds.len());
        for m in &holds {
            assert!(
                [5, 9, 20, 30].contains(&m.prefix.len()),
                "{}",
                m.prefix.len()
            );
            assert_eq!(m.hold.map(|h| h.0), Some(1));
        }
    }

    #[test]
    fn mutations_are_a_function_of_the_seed_and_the_runs() {
        let make = || {
            let mut c = Corpus::default();
            let picks: Picks = (1..=40).map(|s| (s, pick(s as u32 % 4))).collect();
            c.add(&[seen(1, 10), seen(2, 30)], picks.clone(), 7, true);
            c.add(&[seen(3, 20)], picks, 9, false);
            c
        };
        let (mut a, mut b) = (make(), make());
        let mut holds = 0;
        for seed in 0..300 {
            let (x, y) = (a.mutation(seed).unwrap(), b.mutation(seed).unwrap());
            assert_eq!(x, y);
            assert!(x.prefix.len() <= 30);
            assert!([7, 9].contains(&x.root_seed));
            holds += usize::from(x.hold.is_some());
        }
        // The two starving mutations, then about 2 in 9 of the rest.
        assert!((40..100).contains(&holds), "{holds}");
        assert!(Corpus::default().mutation(1).is_none());
    }
}
