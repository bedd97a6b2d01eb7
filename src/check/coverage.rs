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
//! features are `u64`s with fixed meanings; nothing here depends on a hash set's order
//! (the sets are only looked up).

use std::collections::{HashMap, HashSet};

use crate::buggify::{site_hash, site_path};
use crate::event_loop::sites::TaskStep;
use crate::policy::buggify::mix;

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

/// Hashes a [`Feature`] for the learning sweep's sets and maps (SplitMix64's finaliser
/// over the `u64`). They are only ever looked up, never iterated, so no result depends
/// on their order.
#[derive(Default, Clone, Copy)]
pub(crate) struct FeatureHasher(u64);

impl std::hash::Hasher for FeatureHasher {
    fn finish(&self) -> u64 {
        mix(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// A hash set or map keyed by features (see [`FeatureHasher`]).
pub(crate) type FeatureHash = std::hash::BuildHasherDefault<FeatureHasher>;

/// The run's features, each with its first appearance, in the order they showed.
pub(crate) fn features(log: &[TaskStep]) -> Vec<Seen> {
    let mut first: HashSet<Feature, FeatureHash> = HashSet::default();
    // Per task: not started (`None`), else the site and step bit length of its latest
    // step, whose two features are in `first` already.
    let mut latest: Vec<Option<(u32, u32)>> = Vec::new();
    // Each call site's hash, by the address of its `Location` (one static per site): a
    // cache of `site_hash`, which depends only on the file, line and column.
    let mut sites: HashMap<usize, u32, FeatureHash> = HashMap::default();
    let mut ended = 0u32;
    let mut out = Vec::new();
    let mut add = |out: &mut Vec<Seen>, f: Feature, step: u64, task: u32| {
        if first.insert(f) {
            out.push(Seen {
                feature: f,
                step,
                task,
            });
        }
    };
    for s in log {
        let t = s.task as usize;
        if latest.len() <= t {
            latest.resize(t + 1, None);
        }
        if latest[t].is_none() {
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
                Some(l) => *sites
                    .entry(l as *const _ as usize)
                    .or_insert_with(|| site_hash(&site_path(l.file()), l.line(), l.column())),
                None => UNKNOWN,
            }
        };
        let bits = 64 - s.step.leading_zeros();
        if latest[t].replace((site, bits)) == Some((site, bits)) {
            continue;
        }
        add(&mut out, feature(SITE, s.task, site), s.step, s.task);
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
