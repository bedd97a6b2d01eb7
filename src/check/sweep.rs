//! The sweep: one run per seed under the strategy's policy for that seed, with probe runs
//! first (when the strategy learns the run length) and a determinism double-run on some
//! seeds; and the dispatch to replay or a fuzz input when the environment asks for one.

use std::fs;
use std::ops::Range;
use std::rc::Rc;

use super::adaptive::{block_start, may_mutate_alone, seed_line, Learner, SeedLine};
use super::body::Body;
use super::builder::{Builder, Seeds};
use super::fuzz_input::{single_run, Origin};
use super::plan::Plan;
use super::report::{
    cargo_test_line, trace_file_is_complete, Failure, FailureKind, Outcome, Ran, Summary,
};
use super::source::{recorded_file, Recorded};
use crate::env::{shard_seeds, Env};
use crate::error::LoopError;
use crate::policy::mutant::Mutant;
use crate::policy::record::{Picks, RecordPicks};
use crate::policy::wrappers::{CandidateLog, CountDecisions, Observed, Watch};
use crate::policy::{Policy, Portfolio, Strategy};

/// The seeds a sweep runs when neither the builder nor `SIMLOOP_SEEDS` names a range.
pub const DEFAULT_SEEDS: Range<u64> = 0..1000;

impl Builder {
    /// [`try_check`](Builder::try_check) without shrinking.
    pub(crate) fn sweep_or_replay<B: Body>(&self, body: &B) -> Result<Summary, Box<Failure>> {
        let policy_name = self
            .policy
            .as_ref()
            .map_or_else(|| "portfolio".to_owned(), |p| p.name());
        let Plan { test, env, dir } = self.plan(&policy_name)?;
        let bad = |message: String| Box::new(Failure::bad_input(&test, &policy_name, message));

        // Replay mode: the builder's trace, else SIMLOOP_REPLAY.
        let replay = match &self.replay {
            Some(r) => Some(r.clone().map_err(&bad)?),
            None => match &env.replay {
                Some(p) => Some(recorded_file(p).map_err(&bad)?),
                None => None,
            },
        };
        match replay {
            Some(Recorded::Loaded(recorded, path)) => {
                return self.replay_run(&test, &dir, *recorded, path, body)
            }
            Some(Recorded::File(path)) => return self.replay_streamed(&test, &dir, &path, body),
            None => {}
        }

        // A fuzzer's crash input (SIMLOOP_FUZZ_INPUT): one run under the `Bytes` policy.
        if let Some(path) = &env.fuzz_input {
            let data = fs::read(path).map_err(|e| {
                bad(format!(
                    "SIMLOOP_FUZZ_INPUT: cannot read the fuzz input {}: {e}",
                    path.display()
                ))
            })?;
            let single = single_run(data, Origin::File(path.clone()), &dir);
            return self.single_run(&test, &dir, single, body);
        }

        // Sweep mode. The seeds are produced one at a time (any range `u64` can hold runs
        // in constant memory, starting at once).
        // A sweep of the default strategy learns from coverage unless told not to
        // (`Builder::adaptive`); a one-seed run of a seed that may run a mutation re-runs
        // the seeds before it in its block quietly first, as the sweep from the block's
        // start did (`adaptive.rs`), and reports only its own run.
        let learning = self.adaptive.unwrap_or(self.policy.is_none());
        let one = match (env.seed, &self.seeds) {
            (Some(s), _) => Some(s),
            (None, Seeds::One(s)) if env.seeds.is_none() => Some(*s),
            _ => None,
        };
        let quiet_before = one.filter(|&s| learning && may_mutate_alone(s));
        type SeedIter = Box<dyn Iterator<Item = u64>>;
        let (seeds, sweep): (SeedIter, Option<Range<u64>>) = match (one, &self.seeds) {
            (Some(s), _) if quiet_before.is_some() => (Box::new(block_start(s)..=s), None),
            (Some(s), _) => (Box::new(std::iter::once(s)), None),
            (None, code) => {
                let range = env.seeds.clone().unwrap_or(match code {
                    Seeds::Range(r) => r.clone(),
                    _ => DEFAULT_SEEDS,
                });
                let seeds: SeedIter = match env.shard {
                    Some((i, n)) => Box::new(shard_seeds(range.clone(), i, n)),
                    None => Box::new(range.clone()),
                };
                (seeds, Some(range))
            }
        };
        let determinism = env.check_determinism.or(self.check_determinism);
        let count = |n: u64| format!("{n} seed{}", if n == 1 { "" } else { "s" });
        let what = match (
            &sweep,
            env.shard,
            env.seed.or(match self.seeds {
                Seeds::One(s) => Some(s),
                _ => None,
            }),
        ) {
            (Some(r), Some((i, n)), _) => format!(
                "{} (shard {i}/{n} of {}..{})",
                count(shard_len(r, i, n)),
                r.start,
                r.end
            ),
            (Some(r), None, _) => format!("{} ({}..{})", count(r.end - r.start), r.start, r.end),
            (None, _, Some(s)) => format!("seed {s:#x}"),
            (None, _, None) => "one seed".to_owned(),
        };
        let under = match policy_name.as_str() {
            "portfolio" => "the portfolio".to_owned(),
            p => format!("policy {p}"),
        };
        let mut summary = Summary::new(format!("checked {what} under {under}"), 0, 0);
        summary.notes = self.env_notes(&env);
        if let Some(s) = quiet_before.filter(|&s| s > block_start(s)) {
            summary.notes.push(format!(
                "seed {s:#x} learns from the seeds before it in its block, as a sweep from \
                 {:#x} does: {:#x}..{s:#x} ran first, quietly",
                block_start(s),
                block_start(s)
            ));
        }
        let learned = self.learn_run_length(body);
        let learns = learning && (sweep.is_some() || quiet_before.is_some());
        let mut learner: Option<Learner> = None;
        // The reported runs so far.
        let mut index = 0u64;
        for seed in seeds {
            let quiet = quiet_before.is_some_and(|q| seed < q);
            if learns && !learner.as_ref().is_some_and(|l| l.covers(seed)) {
                learner = Some(Learner::new(seed));
            }
            let mutation = learner.as_mut().and_then(|l| l.plan(seed));
            let root_seed = mutation.as_ref().map_or(seed, |m| m.root_seed);
            let make = || -> Box<dyn Policy> {
                match &mutation {
                    Some(m) => Box::new(Mutant::new(m.clone())),
                    None => self.sweep_policy(&learned, seed),
                }
            };
            let picks = Rc::new(std::cell::RefCell::new(Picks::new()));
            let policy = match learner {
                Some(_) => Box::new(RecordPicks::wrap(make(), picks.clone())),
                None => make(),
            };
            let covered = learner.is_some();
            let twice = !quiet && determinism.unwrap_or(index % 64 == 0);
            let (outcome, sites) = if twice {
                summary.determinism_checked += 1;
                let log = Rc::new(std::cell::RefCell::new(CandidateLog::default()));
                let (first, sites) = self.run_one_with_sites(
                    Box::new(Observed::new(policy, Watch::Record(log.clone()))),
                    body,
                    covered,
                );
                let expected = Rc::new(std::mem::take(&mut *log.borrow_mut()));
                let second = self.run_one(
                    Box::new(Observed::new(make(), Watch::Check(expected))),
                    body,
                );
                (compare_runs(first, second), sites)
            } else {
                self.run_one_with_sites(policy, body, covered)
            };
            if let Some(l) = learner.as_mut() {
                l.learn(
                    &sites,
                    std::mem::take(&mut *picks.borrow_mut()),
                    root_seed,
                    mutation.is_none(),
                );
            }
            if quiet {
                continue;
            }
            summary.runs += 1;
            summary.steps += outcome.steps;
            let mut outcome = outcome;
            if let Err((kind, message)) = std::mem::replace(&mut outcome.result, Ok(())) {
                let source = match &mutation {
                    Some(m) => format!(
                        "seed {seed:#x} (a mutation of seed {:#x}'s line)",
                        m.root_seed
                    ),
                    None => format!("seed {seed:#x}"),
                };
                let mut f = Failure::new(
                    &test,
                    source.clone(),
                    kind,
                    message,
                    Ran::Run(Box::new(outcome)),
                );
                f.write_trace_file(&dir, &source);
                f.replay_command = match seed_line(learning, &sweep, env.shard, seed, &mutation) {
                    SeedLine::Seed => cargo_test_line(&format!("SIMLOOP_SEED={seed:#x}"), &test),
                    SeedLine::Sweep(vars) => format!(
                        "{}\n              (seed {seed:#x} {}: the line re-runs the sweep up \
                         to it)",
                        cargo_test_line(&vars, &test),
                        if mutation.is_some() {
                            "ran a mutation of an earlier run that this sweep learned from"
                        } else {
                            "ran its own policy here, but run alone it would learn from its \
                             whole block of 1,000 seeds"
                        }
                    ),
                };
                let nondeterministic = f.nondeterminism.is_some()
                    || matches!(f.kind, FailureKind::Loop(LoopError::Nondeterminism { .. }));
                if nondeterministic {
                    // A replay follows one recorded run; this body does not repeat its runs,
                    // so a replay would stop where they differ. The seed line runs the seed
                    // twice again: the nondeterminism shows, and the failure when it recurs.
                    f.replay_command.push_str(
                        "\n              (no SIMLOOP_REPLAY line: the body is nondeterministic, \
                         so a replay of its trace stops where two runs differ; the seed line \
                         runs the seed twice again)",
                    );
                } else {
                    let whole = self.whole_trace_files
                        && !trace_file_is_complete(&f.trace)
                        && self.rewrite_whole(&mut f, make(), body);
                    if let Some(p) = f
                        .trace_path
                        .as_ref()
                        .filter(|_| whole || trace_file_is_complete(&f.trace))
                    {
                        f.replay_command.push_str(&format!(
                            "\n              or follow the trace file: {}",
                            cargo_test_line(&format!("SIMLOOP_REPLAY={}", p.display()), &test)
                        ));
                    }
                }
                f.seed = Some(seed);
                if let (Some(l), Some(_)) = (&learner, &mutation) {
                    f.notes.push(format!(
                        "seed {seed:#x} ran a mutation: the sweep learned from coverage \
                         (Builder::adaptive), {} run(s) in its corpus",
                        l.corpus_len()
                    ));
                }
                f.notes.splice(0..0, summary.notes.iter().cloned());
                f.seeds_passed = index;
                f.sweep = sweep;
                return Err(Box::new(f));
            }
            index += 1;
        }
        Ok(summary)
    }

    /// Runs a failing seed again with its whole trace streamed to the failure's trace
    /// file (in place of the truncated one), for [`Builder::whole_trace_files`]. The run
    /// is deterministic, so the file is the failure's; if its digest differs, the file is
    /// kept but the report says so and offers only the seed. `true` if the file now holds
    /// the failure's whole trace.
    fn rewrite_whole<B: Body>(&self, f: &mut Failure, policy: Box<dyn Policy>, body: &B) -> bool {
        let Some(path) = f.trace_path.clone() else {
            return false;
        };
        let again = self.run_one_streamed(policy, body, Some(&path));
        let same = again.trace.digest() == f.trace.digest();
        drop(again);
        if !same {
            f.message.push_str(&format!(
                " (the seed's second run, which wrote {}, differed from the first: the body \
                 is nondeterministic)",
                path.display()
            ));
        }
        same
    }

    /// One line for each way the environment changed what the code asked for.
    fn env_notes(&self, env: &Env) -> Vec<String> {
        let range = |r: &Range<u64>| format!("{}..{}", r.start, r.end);
        let code = match &self.seeds {
            Seeds::Default => format!("the default seeds {}", range(&DEFAULT_SEEDS)),
            Seeds::One(s) => format!("the code's seed {s:#x}"),
            Seeds::Range(r) => format!("the code's seeds {}", range(r)),
        };
        let mut notes = Vec::new();
        match (env.seed, &env.seeds, &self.seeds) {
            (Some(s), _, Seeds::One(c)) if *c == s => {}
            (Some(s), _, _) => notes.push(format!("SIMLOOP_SEED={s:#x} replaced {code}")),
            (None, Some(e), Seeds::Default) => {
                notes.push(format!("SIMLOOP_SEEDS={} set the seeds", range(e)));
            }
            (None, Some(e), Seeds::Range(r)) if e == r => {}
            (None, Some(e), _) => notes.push(format!("SIMLOOP_SEEDS={} overrode {code}", range(e))),
            (None, None, _) => {}
        }
        if let (None, Some((i, n))) = (env.seed, env.shard) {
            notes.push(format!(
                "SIMLOOP_SHARD={i}/{n}: only the seeds equal to {i} mod {n} ran"
            ));
        }
        if let (Some(e), Some(c)) = (env.check_determinism, self.check_determinism) {
            if e != c {
                notes.push(format!(
                    "SIMLOOP_CHECK_DETERMINISM={e} overrode the code's check_determinism({c})"
                ));
            }
        }
        notes
    }

    /// The probe runs of a sweep whose strategy needs the test's run length (PCT, the
    /// default portfolio; the probes are `random` and `pct1`, PCT without change points,
    /// and are never reported: they run quietly and their outcomes are ignored, so a
    /// failure always names the sweep seed's own policy): runs the test under each of the strategy's probes, counting real
    /// decisions, and returns the strategy that knows the largest count. Their outcomes are
    /// ignored (the sweep itself reports failures); they depend on nothing but the test,
    /// so a one-seed rerun learns the same length.
    fn learn_run_length<B: Body>(&self, body: &B) -> Option<Box<dyn Strategy>> {
        let default;
        let proto: &dyn Strategy = match &self.policy {
            Some(p) => p.as_ref(),
            None => {
                default = Portfolio::new();
                &default
            }
        };
        let probes = proto.length_probes();
        if probes.is_empty() {
            return None;
        }
        let mut longest = 0;
        for probe in probes {
            let count = Rc::new(std::cell::Cell::new(0));
            let _ = self.run_one(
                Box::new(Observed::new(probe, CountDecisions(count.clone()))),
                body,
            );
            longest = longest.max(count.get());
        }
        proto.with_run_length(longest)
    }

    /// Seed `seed`'s policy: from the learned strategy if there is one.
    fn sweep_policy(&self, learned: &Option<Box<dyn Strategy>>, seed: u64) -> Box<dyn Policy> {
        match (learned, &self.policy) {
            (Some(s), _) => s.for_seed(seed),
            (None, Some(s)) => s.for_seed(seed),
            (None, None) => Portfolio::new().pick(seed),
        }
    }
}

/// Folds the two runs of a determinism check into one outcome. When they differ and the
/// first run failed, the outcome is the first run (its failure, its full trace) with the
/// nondeterminism attached; when the first passed, the nondeterminism is the failure.
fn compare_runs(first: Outcome, second: Outcome) -> Outcome {
    let Some(e) = difference(&first, &second) else {
        return first;
    };
    if first.result.is_err() {
        return Outcome {
            nondeterminism: Some(e),
            ..first
        };
    }
    let msg = e.to_string();
    Outcome {
        result: Err((FailureKind::Loop(e), msg)),
        ..second
    }
}

/// The nondeterminism between two runs of one seed, if any: the second run's own check,
/// else the first differing trace line, else different results.
fn difference(first: &Outcome, second: &Outcome) -> Option<LoopError> {
    if let Err((FailureKind::Loop(e @ LoopError::Nondeterminism { .. }), _)) = &second.result {
        return Some(e.clone());
    }
    // Equal records (the usual case) need no line-by-line rendering.
    let same = first.trace == second.trace;
    if let Some((line, a, b)) = (!same)
        .then(|| first.trace.first_difference(&second.trace))
        .flatten()
    {
        return Some(LoopError::Nondeterminism {
            step: second.steps.min(first.steps),
            first: format!(
                "event {}: {}",
                line + 1,
                a.as_deref().unwrap_or("<end of trace>")
            ),
            second: format!(
                "event {}: {}",
                line + 1,
                b.as_deref().unwrap_or("<end of trace>")
            ),
        });
    }
    (first.result != second.result).then(|| LoopError::Nondeterminism {
        step: second.steps,
        first: format!("{:?}", first.result),
        second: format!("{:?}", second.result),
    })
}

/// How many seeds of `range` are ≡ `i` (mod `n`), without enumerating them.
fn shard_len(range: &Range<u64>, i: u64, n: u64) -> u64 {
    let n = n.max(1);
    let offset = (i % n + n - range.start % n) % n;
    match range.start.checked_add(offset) {
        Some(first) if first < range.end => (range.end - 1 - first) / n + 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::shard_seeds;

    #[test]
    fn shard_len_counts_what_shard_seeds_yields() {
        for (a, b) in [(0u64, 10u64), (3, 17), (5, 6), (7, 7), (0, 1)] {
            for n in 1..6 {
                for i in 0..n {
                    let want = shard_seeds(a..b, i, n).count() as u64;
                    assert_eq!(shard_len(&(a..b), i, n), want, "{a}..{b} {i}/{n}");
                }
            }
        }
        assert_eq!(shard_len(&(0..u64::MAX), 3, 7), (u64::MAX - 1 - 3) / 7 + 1);
    }
}
