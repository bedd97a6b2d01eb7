//! The coverage of one run, for a sweep that learns: a set of cheap features computed
//! from the loop's await-site log (`event_loop/sites.rs`), each with the step at which
//! it first showed and the task it is about.
//!
//! - **Await site**: task `t` suspended at call site `s` (a simloop awaitable's
//!   `#[track_caller]` location, hashed as [`buggify`](crate::buggify) hashes its
//!   sites), or ended. A run where a task takes a branch that suspends elsewhere reaches
//!   a new pair.
//! - **When**: the same pair with the bit length of the step number, for each step that
//!   reaches it. A branch taken later in a run than before (with more of the program
//!   done) is new.
//! - **Start**: how many tasks had ended before task `t`'s first poll (up to 63), and
//!   the bit length of that poll's step number: how far the program had got before `t`
//!   started. A run that holds a task back longer reaches a new value.
//!
//! Tasks are named by their id, which a deterministic program gives in spawn order. The
//! features are `u64`s with fixed meanings; nothing here depends on a hash map's order.

use std::collections::BTreeMap;

use crate::buggify::{site_hash, site_path};
use crate::event_loop::sites::TaskStep;

/// A feature of a run (see the module docs).
pub(crate) type Feature = u64;

/// A feature's first appearance in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) feature: Feature,
    /// The step at which it first showed.
    pub(crate) step: u64,
    /// The task it is about.
    pub(crate) task: u32,
}

const SITE: u64 = 1 << 60;
const ENDED_BEFORE: u64 = 2 << 60;
const START_STEP: u64 = 3 << 60;
const SITE_WHEN: u64 = 4 << 60;
/// The "site" of a step that ended its task.
const ENDED: u32 = u32::MAX;
/// The "site" of a suspension at an awaitable that notes none (a task handle, …).
const UNKNOWN: u32 = 0;

/// Whether `f` is an await-site feature (task, site).
pub(crate) fn is_site(f: Feature) -> bool {
    f >> 60 == SITE >> 60
}

fn feature(kind: u64, task: u32, value: u32) -> Feature {
    kind | u64::from(task & 0x0fff_ffff) << 32 | u64::from(value)
}

/// The run's features, each with its first appearance, in the order they showed.
pub(crate) fn features(log: &[TaskStep]) -> Vec<Seen> {
    let mut first: BTreeMap<Feature, ()> = BTreeMap::new();
    let mut started: BTreeMap<u32, ()> = BTreeMap::new();
    let mut sites: BTreeMap<usize, u32> = BTreeMap::new();
    let mut ended = 0u32;
    let mut out = Vec::new();
    let mut add = |out: &mut Vec<Seen>, f: Feature, step: u64, task: u32| {
        if first.insert(f, ()).is_none() {
            out.push(Seen {
                feature: f,
                step,
                task,
            });
        }
    };
    for s in log {
        if started.insert(s.task, ()).is_none() {
            add(
                &mut out,
                feature(ENDED_BEFORE, s.task, ended.min(63)),
                s.step,
                s.task,
            );
            let bits = 64 - s.step.leading_zeros();
            add(&mut out, feature(START_STEP, s.task, bits), s.step, s.task);
        }
        let site = if s.done {
            ended += 1;
            ENDED
        } else {
            match s.site {
                // The same `Location` is one static: its address keys the hash cache.
                Some(l) => *sites
                    .entry(l as *const _ as usize)
                    .or_insert_with(|| site_hash(&site_path(l.file()), l.line(), l.column())),
                None => UNKNOWN,
            }
        };
        add(&mut out, feature(SITE, s.task, site), s.step, s.task);
        let bits = 64 - s.step.leading_zeros();
        add(
            &mut out,
            feature(SITE_WHEN, s.task, site.rotate_left(6) ^ bits),
            s.step,
            s.task,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::Location;

    #[track_caller]
    fn here() -> &'static Location<'static> {
        Location::caller()
    }

    fn step(
        step: u64,
        task: u32,
        site: Option<&'static Location<'static>>,
        done: bool,
    ) -> TaskStep {
        TaskStep {
            step,
            task,
            site,
            done,
        }
    }

    #[test]
    fn sites_tasks_and_starts_are_features() {
        let (a, b) = (here(), here());
        let log = [
            step(1, 1, Some(a), false),
            step(2, 2, Some(a), false),
            step(3, 1, Some(a), false),
            step(4, 2, Some(b), false),
            step(5, 2, None, true),
            step(9, 3, None, true),
        ];
        let f = features(&log);
        let site_of = |l: &Location<'_>| site_hash(&site_path(l.file()), l.line(), l.column());
        let site = |t, l: &Location<'_>| feature(SITE, t, site_of(l));
        let firsts: Vec<(Feature, u64)> = f.iter().map(|s| (s.feature, s.step)).collect();
        assert!(firsts.contains(&(site(1, a), 1)));
        assert!(firsts.contains(&(site(2, a), 2)));
        assert!(firsts.contains(&(site(2, b), 4)));
        assert!(firsts.contains(&(feature(SITE, 2, ENDED), 5)));
        // Task 3 started after one task had ended, at step 9 (bit length 4).
        assert!(firsts.contains(&(feature(ENDED_BEFORE, 3, 1), 9)));
        assert!(firsts.contains(&(feature(START_STEP, 3, 4), 9)));
        assert!(firsts.contains(&(feature(ENDED_BEFORE, 1, 0), 1)));
        // Task 1 at site a again: not a new feature.
        assert_eq!(f.iter().filter(|s| s.feature == site(1, a)).count(), 1);
        // Different sites of one line (two calls) differ; one site, two tasks differ.
        assert_ne!(site(2, a), site(2, b));
        assert_ne!(site(1, a), site(2, a));
        // Each (task, site) pair also comes with its steps' bit lengths: task 1 at site a
        // at step 1 (1 bit) and at step 3 (2 bits) are two.
        assert!(firsts.contains(&(feature(SITE_WHEN, 2, site_of(b).rotate_left(6) ^ 3), 4)));
        assert!(firsts.contains(&(feature(SITE_WHEN, 1, site_of(a).rotate_left(6) ^ 2), 3)));
        assert!(f
            .iter()
            .all(|s| is_site(s.feature) == (s.feature >> 60 == 1)));
        assert_eq!(f.len(), 3 * 2 + 5 + 6);
    }
}
