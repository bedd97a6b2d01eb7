//! [`LoopError`]: every way running a loop can fail.

use std::fmt;

use crate::task::TaskId;
use crate::time::Instant;

/// A task that could not make progress when a deadlock was detected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockedTask {
    /// The task's id.
    pub id: TaskId,
    /// The task's name (`Task-N` unless it was named).
    pub name: String,
    /// Where the task was created, as `file:line` of the `create_task` (or
    /// `run_until_complete`, `gather`, task group …) call, the file as the compiler gave
    /// it (relative to the workspace for your own code). `None` when unknown, e.g. for the
    /// task running a [`check`](crate::check) body.
    pub created: Option<String>,
    /// Set when the task awaits a task of *another* loop, which this loop can neither run
    /// nor be woken by.
    pub awaits_other_loop: Option<OtherLoopTask>,
}

/// A task of another loop awaited by a [`BlockedTask`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtherLoopTask {
    /// The awaited task's id (in its own loop).
    pub id: TaskId,
    /// The awaited task's name.
    pub name: String,
    /// The awaited task's loop, as `policy=<name> seed=<n|none>` (or that it was dropped).
    pub its_loop: String,
    /// The loop of the blocked task, described the same way.
    pub this_loop: String,
}

/// Why running (or closing) a loop failed.
///
/// Errors that asyncio also raises display **asyncio's exact wording** with `{}`; the
/// alternate form `{:#}` adds what to do about it (also available as [`LoopError::hint`]).
/// The simulator's own errors (deadlock, step limit, unobserved panics, …) always explain
/// themselves.
///
/// After any of these errors the loop is left consistent: it is not running, nothing
/// queued was lost, and it can be run again or closed.
///
/// ```
/// let lp = simloop::new_event_loop();
/// lp.close().unwrap();
/// let err = lp.run_until_complete(async {}).unwrap_err();
/// assert_eq!(err, simloop::LoopError::Closed);
/// assert_eq!(err.to_string(), "Event loop is closed");
/// assert!(format!("{err:#}").contains("create a new loop"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoopError {
    /// The loop was closed: "Event loop is closed".
    Closed,
    /// `run_*` on a loop that is already running: "This event loop is already running".
    AlreadyRunning,
    /// `run_*` on one loop while another runs in this thread:
    /// "Cannot run the event loop while another loop is running".
    AnotherLoopRunning,
    /// `close()` on a running loop: "Cannot close a running event loop".
    CloseRunning,
    /// No loop is running in this thread: "no running event loop".
    NoRunningLoop,
    /// `simloop::run` inside a running loop:
    /// "simloop::run() cannot be called from a running event loop".
    RunInRunningLoop,
    /// `stop()` took effect before the future passed to `run_until_complete` finished:
    /// "Event loop stopped before Future completed." The future's task stays alive and
    /// continues on the next run.
    StoppedBeforeComplete,
    /// The future passed to `run_until_complete` was cancelled.
    MainCancelled {
        /// The main task.
        task: TaskId,
    },
    /// Nothing was runnable, no timer was pending, and the future was not done.
    Deadlock {
        /// Every task still pending, in id order.
        blocked: Vec<BlockedTask>,
        /// Steps run so far by this loop.
        step: u64,
        /// The virtual time of the deadlock.
        time: Instant,
    },
    /// The run took more than `max_steps` steps (a livelock guard).
    StepLimit {
        /// The limit that was exceeded.
        limit: u64,
        /// The virtual time when it was hit.
        time: Instant,
    },
    /// A task panicked and nobody could observe the panic (its `Task` handle was dropped).
    TaskPanicked {
        /// The task's id.
        task: TaskId,
        /// The task's name.
        name: String,
        /// The panic message.
        message: String,
    },
    /// A `call_soon`/`call_later`/`call_at` callback panicked.
    CallbackPanicked {
        /// The callback's handle number (as in the trace).
        handle: u32,
        /// The panic message.
        message: String,
    },
    /// A task of this loop was woken from another OS thread: a source of nondeterminism.
    ForeignWake {
        /// How many such wakes were seen.
        count: u64,
    },
    /// Tasks of this loop were woken from another OS thread while the loop was not running
    /// (after its previous run had ended); reported when the loop runs next.
    ForeignWakeBetweenRuns {
        /// How many such wakes were seen.
        count: u64,
    },
    /// A replay could not follow its trace: the item the trace ran at `step` was not
    /// runnable (or the trace ended while the program went on).
    Divergence {
        /// The step (counted from 1) where the replay left the trace.
        step: u64,
        /// What the trace ran at that step.
        expected: String,
        /// What was runnable instead; or, when the replay followed every decision but
        /// recorded a different event, `the replay recorded <event> there`.
        runnable: String,
    },
    /// Two runs of the same seed differed: the set of runnable items at `step` was not the
    /// same. Something outside the loop's control (a global, a real clock, a hash map's
    /// order, another thread) influenced the program.
    Nondeterminism {
        /// The first step that differed.
        step: u64,
        /// What was runnable in the first run.
        first: String,
        /// What was runnable in the second run.
        second: String,
    },
    /// The scheduling policy could not make a decision.
    Policy {
        /// The policy's name.
        policy: String,
        /// What went wrong.
        message: String,
    },
}

impl LoopError {
    /// What to do about this error, in one sentence.
    pub fn hint(&self) -> &'static str {
        match self {
            LoopError::Closed => "a closed loop cannot run anything again: create a new loop with simloop::new_event_loop()",
            LoopError::AlreadyRunning => "you are inside this loop already: await the future (or create_task it) instead of calling run_until_complete/run_forever again",
            LoopError::AnotherLoopRunning => "one thread runs one loop at a time: await the future on the running loop, or run the other loop after this one returns",
            LoopError::CloseRunning => "call stop() and close the loop after run_forever/run_until_complete has returned",
            LoopError::NoRunningLoop => "call this from inside a task or callback of a running loop (e.g. within simloop::run or run_until_complete)",
            LoopError::RunInRunningLoop => "you are already inside a running loop: await the future directly (or create_task it)",
            LoopError::StoppedBeforeComplete => "stop() was called before the future finished; run the loop again to let it finish, or don't call stop()",
            LoopError::MainCancelled { .. } => "the future's task was cancelled by someone holding its handle or awaiting chain",
            LoopError::Deadlock { blocked, .. } if blocked.is_empty() => "run_forever returns only after stop(): call it from a task or callback",
            LoopError::Deadlock { blocked, .. } if blocked.iter().any(|b| b.awaits_other_loop.is_some()) => "a task can be awaited only from its own loop: create it on this loop, or run its loop to completion first",
            LoopError::Deadlock { .. } => "find what the blocked tasks await: a channel, lock or event that nobody will ever signal",
            LoopError::StepLimit { .. } => "a task may be spinning (yielding in a loop while waiting for a condition that never comes); raise the limit with Builder::max_steps(n) if the program really needs more steps",
            LoopError::TaskPanicked { .. } => "keep the Task handle and await it to handle the panic, or fix the panic",
            LoopError::CallbackPanicked { .. } => "fix the callback, or catch the panic inside it",
            LoopError::ForeignWake { .. } | LoopError::ForeignWakeBetweenRuns { .. } => "wake simloop tasks only from the loop's own thread (no real threads, timers or I/O inside a simulation)",
            LoopError::Divergence { .. } => "the program changed since the trace was recorded (or is nondeterministic): re-record it by running the seed again",
            LoopError::Nondeterminism { .. } => "remove what varies between runs; the common causes: `select!`'s random branch order (futures::select!, tokio::select!), globals that survive across runs, HashMap iteration order, wall-clock time, threads",
            LoopError::Policy { .. } => "check the policy's input (seed, trace or bytes)",
        }
    }
}

/// How [`LoopError::Divergence::runnable`] starts when the replay took every decision the
/// trace recorded but recorded a different event (not a different runnable set).
pub(crate) const REPLAY_RECORDED: &str = "the replay recorded ";

/// Writes `hint` as a sentence of its own (capitalised).
fn sentence(f: &mut fmt::Formatter<'_>, hint: &str) -> fmt::Result {
    let mut chars = hint.chars();
    if let Some(c) = chars.next() {
        write!(f, "{}{}.", c.to_uppercase(), chars.as_str())?;
    }
    Ok(())
}

impl fmt::Display for LoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoopError::Closed => f.write_str("Event loop is closed")?,
            LoopError::AlreadyRunning => f.write_str("This event loop is already running")?,
            LoopError::AnotherLoopRunning => {
                f.write_str("Cannot run the event loop while another loop is running")?
            }
            LoopError::CloseRunning => f.write_str("Cannot close a running event loop")?,
            LoopError::NoRunningLoop => f.write_str("no running event loop")?,
            LoopError::RunInRunningLoop => {
                f.write_str("simloop::run() cannot be called from a running event loop")?
            }
            LoopError::StoppedBeforeComplete => {
                f.write_str("Event loop stopped before Future completed.")?
            }
            LoopError::MainCancelled { task } => write!(
                f,
                "the future passed to run_until_complete (task Task-{task}) was cancelled"
            )?,
            LoopError::Deadlock {
                blocked,
                step,
                time,
            } => {
                write!(
                    f,
                    "deadlock: nothing is runnable and no timer is pending at step {step} \
                     (virtual time {time}), so the loop would wait for ever"
                )?;
                if blocked.is_empty() {
                    f.write_str("; no task is pending either. ")?;
                    return sentence(f, self.hint());
                }
                write!(
                    f,
                    "; {} blocked task{}:",
                    blocked.len(),
                    if blocked.len() == 1 { "" } else { "s" }
                )?;
                for (i, b) in blocked.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}{} (id {}", b.name, b.id)?;
                    if let Some(at) = &b.created {
                        write!(f, ", created at {at}")?;
                    }
                    f.write_str(")")?;
                    if let Some(o) = &b.awaits_other_loop {
                        write!(
                            f,
                            " awaiting task {} (id {}) of another loop ({}), which this loop \
                             ({}) can neither run nor be woken by",
                            o.name, o.id, o.its_loop, o.this_loop
                        )?;
                    }
                }
                f.write_str(". ")?;
                return sentence(f, self.hint());
            }
            LoopError::StepLimit { limit, time } => {
                write!(
                    f,
                    "step limit exceeded: the run took more than {limit} steps (max_steps) \
                     without finishing, at virtual time {time}. "
                )?;
                return sentence(f, self.hint());
            }
            LoopError::TaskPanicked {
                task,
                name,
                message,
            } => {
                write!(
                    f,
                    "task {name} (id {task}) panicked and nobody awaited it: {message}"
                )?;
            }
            LoopError::CallbackPanicked { handle, message } => {
                write!(f, "Exception in callback {handle}: {message}")?;
            }
            LoopError::ForeignWake { count } => {
                write!(
                    f,
                    "nondeterminism detected: {count} wake(s) of this loop's tasks came from \
                     another OS thread"
                )?;
            }
            LoopError::ForeignWakeBetweenRuns { count } => {
                write!(
                    f,
                    "nondeterminism detected: {count} wake(s) of this loop's tasks came from \
                     another OS thread while the loop was not running (after its previous run \
                     had ended; reported as this run starts)"
                )?;
            }
            LoopError::Divergence {
                step,
                expected,
                runnable,
            } => {
                if runnable.starts_with(REPLAY_RECORDED) {
                    write!(
                        f,
                        "replay diverged at step {step}: the trace expected {expected}, but \
                         {runnable}. "
                    )?;
                    return sentence(f, self.hint());
                }
                write!(
                    f,
                    "replay diverged at step {step}: the trace expected {expected}, but the \
                     runnable items were: {}. ",
                    if runnable.is_empty() {
                        "none"
                    } else {
                        runnable
                    },
                )?;
                return sentence(f, self.hint());
            }
            LoopError::Nondeterminism {
                step,
                first,
                second,
            } => {
                write!(
                    f,
                    "nondeterminism detected: two runs of the same seed differ at step {step}: \
                     the first run could run [{first}], the second [{second}]. "
                )?;
                return sentence(f, self.hint());
            }
            LoopError::Policy { policy, message } => {
                write!(f, "policy {policy} failed: {message}")?;
            }
        }
        if f.alternate() {
            write!(f, " ({})", self.hint())?;
        }
        Ok(())
    }
}

impl std::error::Error for LoopError {}
