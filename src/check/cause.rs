//! What a failure report names as the cause: the earliest panic of the failing run (a
//! knock-on failure — a `PoisonError` after a task panicked holding a lock — comes after
//! it), where and at which step it happened, its backtrace, and hints for messages whose
//! cause is known.

use super::outcome::{FailureKind, Outcome};
use super::quiet::Caught;
use crate::error::LoopError;
use crate::task::id::TaskId;
use crate::time::instant::Instant;
use crate::trace::{EventKind, PollOutcome, Trace};

/// Messages of tokio's runtime when it is called outside one of its runtimes.
const TOKIO_RUNTIME_MESSAGES: [&str; 2] = [
    "there is no reactor running",
    "must be called from the context of a Tokio 1.x runtime",
];

/// The hint for [`TOKIO_RUNTIME_MESSAGES`].
pub(crate) const TOKIO_HINT: &str = "real tokio's runtime was called inside the simulation \
     (tokio's \"there is no reactor running\"): switch the crate to the tokio mirror with \
     `extern crate simloop_tokio as tokio;` at its root; if the crate already has it, the call \
     comes from a dependency, or a module compiled without the alias, that names real tokio \
     itself: move that call behind the alias or replace it in the simulation";

/// The cause of a failing run, as the report shows it.
pub(crate) struct Cause {
    /// The run's first panic, when it came before the failure the run ended with.
    pub(crate) first: Option<String>,
    /// What followed the first panic, in order, ending with the run's own failure.
    pub(crate) then: Vec<String>,
    /// Where the cause panicked (`file:line:col in task N "name"`).
    pub(crate) location: Option<String>,
    /// The cause's backtrace, if one was captured.
    pub(crate) backtrace: Option<String>,
    /// The step and virtual time at which the cause happened.
    pub(crate) step: u64,
    pub(crate) time: Instant,
}

/// The report's words for a failure kind.
pub(crate) fn kind_word(kind: &FailureKind) -> &'static str {
    match kind {
        FailureKind::Panicked => "panicked",
        FailureKind::ReturnedErr => "returned an error",
        FailureKind::Loop(_) => "loop error",
        FailureKind::BadInput => "bad input",
        FailureKind::SearchLimit => "search limit",
    }
}

/// The panic message a failure carries, if it is a panic.
fn own_panic<'a>(kind: &'a FailureKind, message: &'a str) -> Option<&'a str> {
    match kind {
        FailureKind::Panicked => Some(message),
        FailureKind::Loop(
            LoopError::TaskPanicked { message, .. } | LoopError::CallbackPanicked { message, .. },
        ) => Some(message),
        _ => None,
    }
}

/// The first task spawned: the body's main task.
fn main_task(trace: &Trace) -> Option<TaskId> {
    trace.events().find_map(|e| match e.kind {
        EventKind::Spawn { task } => Some(task),
        _ => None,
    })
}

/// The step and time of `task`'s first poll that ended `outcome`.
fn poll_of(trace: &Trace, task: Option<TaskId>, outcome: PollOutcome) -> Option<(u64, Instant)> {
    let task = task?;
    trace.events().find_map(|e| match e.kind {
        EventKind::Poll {
            task: t,
            outcome: o,
        } if t == task && o == outcome => Some((e.step, e.time)),
        _ => None,
    })
}

fn describe(c: &Caught) -> String {
    match &c.task {
        Some(t) => format!(
            "task {} \"{}\" panicked: {}",
            t.id().as_u32(),
            t.name(),
            c.message
        ),
        None => format!("panicked: {}", c.message),
    }
}

/// Finds the cause of a run that failed with `kind`/`message`.
pub(crate) fn find(kind: &FailureKind, message: &str, o: &Outcome) -> Cause {
    let fallback = match kind {
        FailureKind::Loop(LoopError::Divergence { step, .. })
        | FailureKind::Loop(LoopError::Nondeterminism { step, .. }) => (*step, o.time),
        _ => (o.steps, o.time),
    };
    let mut cause = Cause {
        first: None,
        then: Vec::new(),
        location: None,
        backtrace: None,
        step: fallback.0,
        time: fallback.1,
    };
    let Some(own) = own_panic(kind, message) else {
        return cause;
    };
    let Some(j) = o.panics.iter().position(|c| c.message == own) else {
        // A payload re-raised without the hook (resume_unwind): the main task's panic.
        if *kind == FailureKind::Panicked {
            if let Some(at) = poll_of(&o.trace, main_task(&o.trace), PollOutcome::Panicked) {
                (cause.step, cause.time) = at;
            }
        }
        return cause;
    };
    let first = &o.panics[0];
    if j > 0 {
        cause.first = Some(first.message.clone());
        cause.then = o.panics[1..j].iter().map(describe).collect();
        cause.then.push(format!("{}: {message}", kind_word(kind)));
    }
    cause.location = first.location.as_ref().map(|l| match &first.task {
        Some(t) => format!("{l} in task {} \"{}\"", t.id().as_u32(), t.name()),
        None => l.clone(),
    });
    cause.backtrace = first
        .backtrace
        .as_ref()
        .map(|b| short_backtrace(&b.to_string()));
    let task = first
        .task
        .as_ref()
        .map(|t| t.id())
        .or_else(|| main_task(&o.trace));
    if let Some(at) = poll_of(&o.trace, task, PollOutcome::Panicked) {
        (cause.step, cause.time) = at;
    }
    cause
}

/// Hints for failures whose messages have a known cause.
pub(crate) fn hints<'a>(messages: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut hints = Vec::new();
    for m in messages {
        if TOKIO_RUNTIME_MESSAGES.iter().any(|t| m.contains(t)) && hints.is_empty() {
            hints.push(TOKIO_HINT.to_owned());
        }
    }
    hints
}

/// The frames of a rendered backtrace from the `panic!` on: the hook's and std's panic
/// machinery before it and the test harness after it are dropped; frames renumbered.
fn short_backtrace(text: &str) -> String {
    let mut frames: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        let is_frame = t
            .split_once(": ")
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        match frames.last_mut() {
            Some(f) if !is_frame => f.push(t),
            _ => frames.push(vec![t.split_once(": ").map_or(t, |(_, rest)| rest)]),
        }
    }
    let machinery = |f: &Vec<&str>| {
        let name = f[0];
        name.contains("rust_begin_unwind")
            || name.starts_with("core::panicking::")
            || name.starts_with("std::panicking::begin_panic")
    };
    let start = frames.iter().rposition(machinery).map_or(0, |i| i + 1);
    let end = frames
        .iter()
        .position(|f| f[0].contains("__rust_begin_short_backtrace"))
        .unwrap_or(frames.len())
        .max(start);
    let mut out = String::new();
    for (i, f) in frames[start..end].iter().enumerate() {
        out.push_str(&format!("{i:>4}: {}\n", f[0]));
        for at in &f[1..] {
            out.push_str(&format!("             {at}\n"));
        }
    }
    out
}
