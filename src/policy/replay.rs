//! [`Replay`]: follows a recorded trace step by step.

use super::{describe, seeded_buggify, CandidateKind, Decision, Policy, StepRef};
use crate::error::LoopError;
use crate::trace::{EventKind, Trace};

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
    /// The recorded `buggify` outcomes `(site, value)`, in order, and the next one.
    buggify: Vec<(u32, bool)>,
    next_buggify: usize,
    /// The recorded `choose` results `(n, chosen)`, in order, and the next one.
    choices: Vec<(u32, u32)>,
    next_choice: usize,
    /// The recorded `rng` draws, in order, and the next one.
    randoms: Vec<u64>,
    next_random: usize,
}

impl Replay {
    /// A replay of `trace`'s decisions.
    pub fn new(trace: &Trace) -> Replay {
        let steps = trace
            .events()
            .filter_map(|e| match e.kind {
                EventKind::Poll { task, .. } => Some(StepRef {
                    kind: CandidateKind::Task,
                    id: task.as_u32(),
                }),
                EventKind::Timer { timer } => Some(StepRef {
                    kind: CandidateKind::Timer,
                    id: timer,
                }),
                EventKind::Callback { handle } => Some(StepRef {
                    kind: CandidateKind::Callback,
                    id: handle,
                }),
                EventKind::Stop => Some(StepRef {
                    kind: CandidateKind::Stop,
                    id: 0,
                }),
                _ => None,
            })
            .collect();
        let buggify = trace
            .events()
            .filter_map(|e| match e.kind {
                EventKind::Buggify { site, fired } => Some((site, fired)),
                _ => None,
            })
            .collect();
        let choices = trace
            .events()
            .filter_map(|e| match e.kind {
                EventKind::Choose { n, chosen } => Some((n, chosen)),
                _ => None,
            })
            .collect();
        let randoms = trace
            .events()
            .filter_map(|e| match e.kind {
                EventKind::Random { value } => Some(value),
                _ => None,
            })
            .collect();
        Replay {
            policy: trace.policy().to_owned(),
            seed: trace.seed(),
            steps,
            buggify,
            next_buggify: 0,
            choices,
            next_choice: 0,
            randoms,
            next_random: 0,
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
        match self.buggify.get(self.next_buggify) {
            Some(&(s, v)) if s == site => {
                self.next_buggify += 1;
                Some(v)
            }
            _ => self.seed.map(|seed| seeded_buggify(seed, site, hit)),
        }
    }
    /// The recorded alternative when the next recorded choice has the same `n`; otherwise
    /// (the program changed) the run decides, and the trace comparison reports where.
    fn user_choice(&mut self, n: u32) -> Option<u32> {
        match self.choices.get(self.next_choice) {
            Some(&(m, k)) if m == n => {
                self.next_choice += 1;
                Some(k)
            }
            _ => None,
        }
    }

    /// The recorded draws, in order; past them, the run's own stream.
    fn random_u64(&mut self) -> Option<u64> {
        let v = self.randoms.get(self.next_random).copied()?;
        self.next_random += 1;
        Some(v)
    }

    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        let Some(exp) = usize::try_from(d.step - 1)
            .ok()
            .and_then(|i| self.steps.get(i))
        else {
            return Err(LoopError::Divergence {
                step: d.step,
                expected: format!(
                    "the run to end (the trace has {} step{})",
                    self.steps.len(),
                    if self.steps.len() == 1 { "" } else { "s" }
                ),
                runnable: describe(d.candidates),
            });
        };
        d.candidates
            .iter()
            .position(|c| c.kind == exp.kind && c.id == exp.id)
            .ok_or_else(|| LoopError::Divergence {
                step: d.step,
                expected: exp.to_string(),
                runnable: describe(d.candidates),
            })
    }
}
