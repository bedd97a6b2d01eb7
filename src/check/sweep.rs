//! The sweep: one run per seed under the strategy's policy for that seed, with probe runs
//! first (when the strategy learns the run length) and a determinism double-run on some
//! seeds; and the dispatch to replay or a fuzz input when the environment asks for one.

use std::fs;
use std::ops::Range;
use std::rc::Rc;

use super::body::Body;
use super::builder::{Builder, Seeds};
use super::fuzz_input::{single_run, Origin};
use super::plan::Plan;
use super::report::{
    cargo_test_line, trace_file_is_complete, Failure, FailureKind, Outcome, Ran, Summary,
};
use super::source::TraceSource;
use crate::env::shard_seeds;
use crate::error::LoopError;
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
                Some(p) => Some(p.as_path().load().map_err(&bad)?),
                None => None,
            },
        };
        if let Some((recorded, path)) = replay {
            return self.replay_run(&test, &dir, recorded, path, body);
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
        type SeedIter = Box<dyn Iterator<Item = u64>>;
        let (seeds, sweep): (SeedIter, Option<Range<u64>>) = match (env.seed, &self.seeds) {
            (Some(s), _) => (Box::new(std::iter::once(s)), None),
            (None, Seeds::One(s)) if env.seeds.is_none() => (Box::new(std::iter::once(*s)), None),
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
        let mut summary = Summary {
            runs: 0,
            determinism_checked: 0,
            steps: 0,
        };
        let learned = self.learn_run_length(body);
        for (index, seed) in (0u64..).zip(seeds) {
            let policy = self.sweep_policy(&learned, seed);
            let twice = determinism.unwrap_or(index % 64 == 0);
            let outcome = if twice {
                summary.determinism_checked += 1;
                let log = Rc::new(std::cell::RefCell::new(CandidateLog::default()));
                let first = self.run_one(
                    Box::new(Observed::new(policy, Watch::Record(log.clone()))),
                    body,
                );
                let expected = Rc::new(std::mem::take(&mut *log.borrow_mut()));
                let second = self.run_one(
                    Box::new(Observed::new(
                        self.sweep_policy(&learned, seed),
                        Watch::Check(expected),
                    )),
                    body,
                );
                compare_runs(first, second)
            } else {
                self.run_one(policy, body)
            };
            summary.runs += 1;
            summary.steps += outcome.steps;
            let mut outcome = outcome;
            if let Err((kind, message)) = std::mem::replace(&mut outcome.result, Ok(())) {
                let source = format!("seed {seed:#x}");
                let mut f = Failure::new(
                    &test,
                    source.clone(),
                    kind,
                    message,
                    Ran::Run(Box::new(outcome)),
                );
                f.write_trace_file(&dir, &source);
                f.replay_command = cargo_test_line(&format!("SIMLOOP_SEED={seed:#x}"), &test);
                if let Some(p) = f
                    .trace_path
                    .as_ref()
                    .filter(|_| trace_file_is_complete(&f.trace))
                {
                    f.replay_command.push_str(&format!(
                        "\n              or follow the trace file: {}",
                        cargo_test_line(&format!("SIMLOOP_REPLAY={}", p.display()), &test)
                    ));
                }
                f.seed = Some(seed);
                f.seeds_passed = index;
                f.sweep = sweep;
                return Err(Box::new(f));
            }
        }
        Ok(summary)
    }

    /// The probe runs of a sweep whose strategy needs the test's run length (PCT, the
    /// default portfolio): runs the test under each of the strategy's probes, counting real
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

/// Folds the two runs of a determinism check into one outcome.
fn compare_runs(first: Outcome, second: Outcome) -> Outcome {
    if let Err((FailureKind::Loop(LoopError::Nondeterminism { .. }), _)) = &second.result {
        return second;
    }
    // Equal records (the usual case) need no line-by-line rendering.
    let same = first.trace == second.trace;
    if let Some((line, a, b)) = (!same)
        .then(|| first.trace.first_difference(&second.trace))
        .flatten()
    {
        let e = LoopError::Nondeterminism {
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
        };
        let msg = e.to_string();
        return Outcome {
            result: Err((FailureKind::Loop(e), msg)),
            ..second
        };
    }
    if first.result != second.result {
        let e = LoopError::Nondeterminism {
            step: second.steps,
            first: format!("{:?}", first.result),
            second: format!("{:?}", second.result),
        };
        let msg = e.to_string();
        return Outcome {
            result: Err((FailureKind::Loop(e), msg)),
            ..second
        };
    }
    first
}
