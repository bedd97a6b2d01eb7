//! [`Replay`]: follows a recorded trace step by step.

use std::collections::VecDeque;

use super::{describe, seeded_buggify, CandidateKind, Decision, Policy, StepRef};
use crate::error::LoopError;
use crate::trace::{EventKind, Trace};

/// A recorded run's decisions other than steps — `buggify` results, `choose` results and
/// `rng` draws — each kind in its recorded order: what [`Replay`] and the streamed replay
/// (`replay_stream.rs`) give back when the run asks.
#[derive(Clone, Debug, Default)]
pub(crate) struct Recorded {
    buggify: VecDeque<(u32, bool)>,
    choices: VecDeque<(u32, u32)>,
    randoms: VecDeque<u64>,
}

impl Recorded {
    /// Keeps `kind` if it is one of these decisions; `false` otherwise.
    pub(crate) fn note(&mut self, kind: &EventKind) -> bool {
        match *kind {
            EventKind::Buggify { site, fired } => self.buggify.push_back((site, fired)),
            EventKind::Choose { n, chosen } => self.choices.push_back((n, chosen)),
            EventKind::Random { value } => self.randoms.push_back(value),
            _ => return false,
        }
        true
    }

    /// How many are kept.
    pub(crate) fn len(&self) -> usize {
        self.buggify.len() + self.choices.len() + self.randoms.len()
    }

    pub(crate) fn has_buggify(&self) -> bool {
        !self.buggify.is_empty()
    }

    pub(crate) fn has_choice(&self) -> bool {
        !self.choices.is_empty()
    }

    pub(crate) fn has_random(&self) -> bool {
        !self.randoms.is_empty()
    }

    /// The recorded value when the next recorded `buggify` call is at `site`; otherwise
    /// (the program changed) the seeded value, and the replay's trace comparison reports
    /// where it diverged.
    pub(crate) fn buggify(&mut self, seed: Option<u64>, site: u32, hit: u32) -> Option<bool> {
        match self.buggify.front() {
            Some(&(s, v)) if s == site => {
                self.buggify.pop_front();
                Some(v)
            }
            _ => seed.map(|seed| seeded_buggify(seed, site, hit)),
        }
    }

    /// The recorded alternative when the next recorded choice has the same `n`; otherwise
    /// (the program changed) the run decides, and the trace comparison reports where.
    pub(crate) fn user_choice(&mut self, n: u32) -> Option<u32> {
        match self.choices.front() {
            Some(&(m, k)) if m == n => {
                self.choices.pop_front();
                Some(k)
            }
            _ => None,
        }
    }

    /// The recorded draws, in order; past them, the run's own stream.
    pub(crate) fn random_u64(&mut self) -> Option<u64> {
        self.randoms.pop_front()
    }
}

/// The index of the recorded step `exp` among `d`'s candidates, or the divergence: `exp`
/// is not runnable, or there is no recorded step (`ended` says what was expected).
pub(crate) fn follow(
    d: &Decision<'_>,
    exp: Option<&StepRef>,
    ended: impl FnOnce() -> String,
) -> Result<usize, LoopError> {
    let divergence = |expected| LoopError::Divergence {
        step: d.step,
        expected,
        runnable: describe(d.candidates),
    };
    let exp = exp.ok_or_else(|| divergence(ended()))?;
    d.candidates
        .iter()
        .position(|c| c.kind == exp.kind && c.id == exp.id)
        .ok_or_else(|| divergence(exp.to_string()))
}

/// What a replay expected when the run wanted a step the trace (of `steps` steps) lacks.
pub(crate) fn ended(steps: usize) -> String {
    format!(
        "the run to end (the trace has {steps} step{})",
        if steps == 1 { "" } else { "s" }
    )
}

/// The step a step event names, if it is one.
pub(crate) fn step_of(kind: &EventKind) -> Option<StepRef> {
    let step = |kind, id| Some(StepRef { kind, id });
    match *kind {
        EventKind::Poll { task, .. } => step(CandidateKind::Task, task.as_u32()),
        EventKind::Timer { timer } => step(CandidateKind::Timer, timer),
        EventKind::Callback { handle } => step(CandidateKind::Callback, handle),
        EventKind::Stop => step(CandidateKind::Stop, 0),
        _ => None,
    }
}

/// Follows a recorded [`Trace`] step by step: at every step it runs the item the trace
/// says ran, and fails with [`LoopError::Divergence`] the first time that item is not
/// runnable (the program no longer matches the trace).
///
/// It reports the recorded trace's policy name and seed, so a faithful replay produces a
/// byte-identical trace. Usually used through [`replay`](crate::replay) or
/// `SIMLOOP_REPLAY`, which also compare the whole trace at the end.
///
/// ```
/// use simloop::{EventLoop, Replay};
/// let program = || simloop::gather((0..3).map(|_| async { simloop::yield_now().await }));
/// let lp = EventLoop::builder().seed(5).build();
/// lp.run_until_complete(program()).unwrap();
/// let recorded = lp.trace();
///
/// let again = EventLoop::builder().policy(Replay::new(&recorded)).build();
/// again.run_until_complete(program()).unwrap();
/// assert_eq!(again.trace().to_string(), recorded.to_string());
/// ```
#[derive(Clone, Debug)]
pub struct Replay {
    policy: String,
    seed: Option<u64>,
    steps: Vec<StepRef>,
    recorded: Recorded,
}

impl Replay {
    /// A replay of `trace`'s decisions.
    pub fn new(trace: &Trace) -> Replay {
        let mut recorded = Recorded::default();
        let steps = trace
            .events()
            .filter_map(|e| {
                recorded.note(&e.kind);
                step_of(&e.kind)
            })
            .collect();
        Replay {
            policy: trace.policy().to_owned(),
            seed: trace.seed(),
            steps,
            recorded,
        }
    }

    /// How many steps the recorded trace has.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// `true` if the recorded trace has no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

impl Policy for Replay {
    fn name(&self) -> String {
        self.policy.clone()
    }
    fn seed(&self) -> Option<u64> {
        self.seed
    }
    fn every_step(&self) -> bool {
        true
    }
    /// The recorded value when the next recorded `buggify` call is at `site`; otherwise
    /// (the program changed) the seeded value, and the replay's trace comparison reports
    /// where it diverged.
    fn buggify(&mut self, site: u32, hit: u32) -> Option<bool> {
        self.recorded.buggify(self.seed, site, hit)
    }
    /// The recorded alternative when the next recorded choice has the same `n`; otherwise
    /// (the program changed) the run decides, and the trace comparison reports where.
    fn user_choice(&mut self, n: u32) -> Option<u32> {
        self.recorded.user_choice(n)
    }
    /// The recorded draws, in order; past them, the run's own stream.
    fn random_u64(&mut self) -> Option<u64> {
        self.recorded.random_u64()
    }

    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        let exp = usize::try_from(d.step - 1)
            .ok()
            .and_then(|i| self.steps.get(i));
        follow(d, exp, || ended(self.steps.len()))
    }
}
