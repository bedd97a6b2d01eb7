//! Execution traces: a compact, replayable record of everything the loop did.
//!
//! The loop appends 8-byte records on its hot path ([`Trace`]'s recording methods,
//! here); [`Trace`] decodes them into [`Event`]s. Only [`format`] knows the text:
//! it renders the stable, versioned format and parses it back. `diff` finds the first
//! differing event of two traces; `digest` is the 64-bit FNV-1a fingerprint used for
//! cheap determinism checks (and by anything else in the crate that needs a stable hash).

use std::collections::BTreeMap;

use crate::task::id::TaskId;
use crate::time::instant::Instant;

pub(crate) mod diff;
pub(crate) mod digest;
pub(crate) mod format;
pub(crate) mod origin;
pub(crate) mod reader;
pub(crate) mod window;

pub use format::ParseError;

/// A task was created and its first step queued (id = task). Not a step.
pub(crate) const SPAWN: u8 = 0;
/// The loop polled a task (id = task, flag = [`PollOutcome`]). A step.
pub(crate) const POLL: u8 = 1;
/// A task's step was queued because it was woken (id = task). Not a step.
pub(crate) const WAKE: u8 = 2;
/// A due timer fired (id = timer sequence number). A step.
pub(crate) const TIMER: u8 = 3;
/// A `call_soon`/`call_later` callback ran (id = handle sequence number). A step.
pub(crate) const CALLBACK: u8 = 4;
/// Cancellation of a task was requested (id = task). Not a step.
pub(crate) const CANCEL: u8 = 5;
/// The clock jumped forward; id = low 32 bits of the new time in ns. Always
/// immediately followed by a [`CLOCK_HI`] record. Not a step.
pub(crate) const CLOCK: u8 = 6;
/// Second half of a clock jump: id = high 32 bits of the new time in ns.
pub(crate) const CLOCK_HI: u8 = 7;
/// The loop's stop request ran (id = 0). A step.
pub(crate) const STOP: u8 = 8;
/// A still-pending task was dropped by `close()` (id = task). Not a step.
pub(crate) const DESTROY: u8 = 9;
/// A `buggify()` call returned (id = site hash, flag = 0 or 1). Not a step.
pub(crate) const BUGGIFY: u8 = 10;
/// A `choose(n)` returned (id = the alternative taken). Always immediately followed by a
/// [`CHOOSE_N`] record. Not a step.
pub(crate) const CHOOSE: u8 = 11;
/// Second half of a choice: id = the number of alternatives.
pub(crate) const CHOOSE_N: u8 = 12;
/// An `rng()` draw (id = low 32 bits of the value). Always immediately followed by a
/// [`RANDOM_HI`] record. Not a step.
pub(crate) const RANDOM: u8 = 13;
/// Second half of a draw: id = the high 32 bits.
pub(crate) const RANDOM_HI: u8 = 14;

#[inline]
const fn is_step_kind(kind: u8) -> bool {
    matches!(kind, POLL | TIMER | CALLBACK | STOP)
}

/// One compact 8-byte trace record.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Rec {
    pub(crate) kind: u8,
    pub(crate) flag: u8,
    pub(crate) id: u32,
}

/// How a poll step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollOutcome {
    /// The future returned `Poll::Pending`.
    Pending,
    /// The future completed.
    Ready,
    /// The future panicked while being polled.
    Panicked,
    /// The task had been cancelled: its future was dropped instead of polled.
    Cancelled,
}

impl PollOutcome {
    const fn to_flag(self) -> u8 {
        match self {
            PollOutcome::Pending => 0,
            PollOutcome::Ready => 1,
            PollOutcome::Panicked => 2,
            PollOutcome::Cancelled => 3,
        }
    }

    const fn from_flag(flag: u8) -> PollOutcome {
        match flag {
            0 => PollOutcome::Pending,
            1 => PollOutcome::Ready,
            2 => PollOutcome::Panicked,
            _ => PollOutcome::Cancelled,
        }
    }

    const fn as_str(self) -> &'static str {
        match self {
            PollOutcome::Pending => "pending",
            PollOutcome::Ready => "ready",
            PollOutcome::Panicked => "panicked",
            PollOutcome::Cancelled => "cancelled",
        }
    }
}

/// What happened in one trace event.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A task was created and its first step queued.
    Spawn {
        /// The new task.
        task: TaskId,
    },
    /// A step: the loop polled a task (or dropped a cancelled one).
    Poll {
        /// The polled task.
        task: TaskId,
        /// How the poll ended.
        outcome: PollOutcome,
    },
    /// A task's step was queued because it was woken.
    Wake {
        /// The woken task.
        task: TaskId,
    },
    /// A step: a due timer fired.
    Timer {
        /// The timer's sequence number.
        timer: u32,
    },
    /// A step: a `call_soon`/`call_later` callback ran.
    Callback {
        /// The callback handle's sequence number.
        handle: u32,
    },
    /// Cancellation of a task was requested.
    Cancel {
        /// The task asked to cancel.
        task: TaskId,
    },
    /// The virtual clock jumped forward.
    Clock {
        /// The new time.
        to: Instant,
    },
    /// A step: the loop's stop request ran.
    Stop,
    /// A still-pending task was dropped when the loop was closed.
    Destroy {
        /// The dropped task.
        task: TaskId,
    },
    /// A [`buggify`](crate::buggify) call returned.
    Buggify {
        /// The call site's hash (FNV-1a of `file:line:column`, folded to 32 bits; an
        /// absolute `file` is first cut down to its part inside its package).
        site: u32,
        /// What it returned.
        fired: bool,
    },
    /// A [`choose`](crate::choose) call returned.
    Choose {
        /// How many alternatives there were.
        n: u32,
        /// The alternative taken (`0..n`).
        chosen: u32,
    },
    /// An [`rng`](crate::rng) draw.
    Random {
        /// The value drawn.
        value: u64,
    },
}

impl EventKind {
    /// Whether this event is a step (poll, timer, callback or stop).
    pub fn is_step(&self) -> bool {
        matches!(
            self,
            EventKind::Poll { .. }
                | EventKind::Timer { .. }
                | EventKind::Callback { .. }
                | EventKind::Stop
        )
    }
}

/// A decoded trace event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// Step number: for a step, its own number (the first step is 1); for any
    /// other event, the number of the last step before it (0 before any step).
    pub step: u64,
    /// Virtual time of the event (for a clock event, the new time).
    pub time: Instant,
    /// What happened.
    pub kind: EventKind,
}

/// The record of one run of the loop.
///
/// Renders (via `Display`) to a stable, line-oriented text format and parses
/// back from it (via [`FromStr`](std::str::FromStr)); `parse(render(t)) == t` always holds.
///
/// The header `simloop-trace v1 policy=<name> seed=<n|none>` is followed by one line per
/// event: `<step> <time> <event>`, where `<step>` is the step's own number for a step and
/// the last step's for other events, `<time>` is seconds with nine decimals, and
/// `<event>` is one of `spawn <task> ["name"]`, `poll <task> <pending|ready|panicked|cancelled>`
/// (a step), `wake <task>`, `timer <n>` (a step), `callback <n>` (a step),
/// `cancel <task>`, `clock` (the time jumped), `stop` (a step), `destroy <task>`, and
/// `buggify <site> <0|1>` (what a [`buggify`](crate::buggify) call at `site` — `0x` and
/// eight hex digits — returned).
///
/// ```
/// use simloop::trace::{EventKind, Trace};
///
/// let text = "simloop-trace v1 policy=fifo seed=none\n\
///             0 0.000000000 spawn 1 \"main\"\n\
///             1 0.000000000 poll 1 pending\n\
///             1 1.500000000 clock\n\
///             2 1.500000000 timer 1\n\
///             3 1.500000000 poll 1 ready\n";
/// let trace: Trace = text.parse().unwrap();
/// assert_eq!(trace.policy(), "fifo");
/// assert_eq!(trace.seed(), None);
/// assert_eq!(trace.len(), 5);
/// assert_eq!(trace.steps(), 3);
/// assert_eq!(trace.end_time().as_nanos(), 1_500_000_000);
/// let first = trace.events().next().unwrap();
/// assert!(matches!(first.kind, EventKind::Spawn { .. }));
/// assert_eq!(trace.to_string(), text);
/// assert_eq!(trace.digest(), text.parse::<Trace>().unwrap().digest());
/// ```
///
/// In memory, a trace recorded by a loop also knows where each timer, callback and task
/// came from (for reports); that is not part of its text, its `==` or its digest.
///
/// A loop keeps a bounded window of its trace in memory (64 MiB of records by default,
/// [`LoopBuilder::trace_memory`](crate::LoopBuilder::trace_memory)): a longer run drops
/// its oldest events, keeping its counts, its [`digest`](Trace::digest) and its last
/// events exact; such a trace is [truncated](Trace::is_truncated). To keep the whole
/// text, stream it to a file ([`EventLoop::stream_trace`](crate::EventLoop::stream_trace)).
pub struct Trace {
    policy: String,
    seed: Option<u64>,
    recs: Vec<Rec>,
    /// Explicit task names only.
    names: BTreeMap<u32, String>,
    /// Number of events (a clock record pair counts once).
    events: usize,
    /// Number of steps so far.
    steps: u64,
    /// Current virtual time.
    now: Instant,
    /// Set when this trace was read from a truncated trace file (see
    /// [`Trace::is_truncated`]): the text of its `# truncated:` line.
    truncated: Option<String>,
    /// Where timers, callbacks and tasks came from (never rendered or compared).
    origins: origin::Origins,
    /// The most records kept in memory (see [`window`]).
    limit: usize,
    /// Records already spilled (the index of the window's first record in the run).
    base: usize,
    /// What was spilled, once something was.
    spilled: Option<Box<window::Spilled>>,
    /// The file receiving the whole text, if any.
    stream: Option<Box<window::Stream>>,
}

impl Clone for Trace {
    /// A copy of the trace; the copy does not write to the original's file, if any.
    fn clone(&self) -> Trace {
        Trace {
            policy: self.policy.clone(),
            seed: self.seed,
            recs: self.recs.clone(),
            names: self.names.clone(),
            events: self.events,
            steps: self.steps,
            now: self.now,
            truncated: self.truncated.clone(),
            origins: self.origins.clone(),
            limit: self.limit,
            base: self.base,
            spilled: self.spilled.clone(),
            stream: None,
        }
    }
}

impl Drop for Trace {
    /// Completes the file the trace is streamed to, if any.
    fn drop(&mut self) {
        if self.stream.is_some() {
            let _ = self.finish_file();
        }
    }
}

/// Two traces are equal when their text is: the origins side table is not compared. A
/// trace whose head left memory is compared by its counts and digest, which cover the
/// whole run.
impl PartialEq for Trace {
    fn eq(&self, other: &Trace) -> bool {
        let same = self.policy == other.policy
            && self.seed == other.seed
            && self.events == other.events
            && self.steps == other.steps
            && self.now == other.now
            && self.truncated == other.truncated;
        if !same {
            return false;
        }
        if self.has_spilled() || other.has_spilled() {
            self.digest() == other.digest()
        } else {
            self.recs == other.recs && self.names == other.names
        }
    }
}

impl Eq for Trace {}

impl Trace {
    /// An empty trace for a loop using scheduling `policy` (non-empty, no
    /// whitespace) and optional `seed`.
    pub(crate) fn new(policy: &str, seed: Option<u64>) -> Trace {
        debug_assert!(format::valid_policy(policy), "bad policy name {policy:?}");
        Trace {
            policy: policy.to_owned(),
            seed,
            recs: Vec::with_capacity(512),
            names: BTreeMap::new(),
            events: 0,
            steps: 0,
            now: Instant::ZERO,
            truncated: None,
            origins: origin::Origins::default(),
            limit: usize::MAX,
            base: 0,
            spilled: None,
            stream: None,
        }
    }

    /// An empty trace like `self` (policy, seed and memory limit), for a loop's next run.
    pub(crate) fn fresh(&self) -> Trace {
        let mut t = Trace::new(&self.policy, self.seed);
        if self.limit != usize::MAX {
            t.set_limit(self.limit);
        }
        t
    }

    /// Appends one event record. Clock jumps must use [`Trace::push_clock`].
    #[inline]
    pub(crate) fn push(&mut self, kind: u8, flag: u8, id: u32) {
        debug_assert!(kind <= DESTROY && kind != CLOCK && kind != CLOCK_HI);
        debug_assert!((kind == POLL && flag <= 3) || flag == 0);
        self.steps += u64::from(is_step_kind(kind));
        self.events += 1;
        self.recs.push(Rec { kind, flag, id });
    }

    /// Records that the clock jumped forward to `to` (must be later than the
    /// current time).
    #[inline]
    pub(crate) fn push_clock(&mut self, to: Instant) {
        debug_assert!(to > self.now, "clock must move forward");
        let ns = to.as_nanos();
        let rec = |kind, id| Rec { kind, flag: 0, id };
        self.recs.push(rec(CLOCK, ns as u32));
        self.recs.push(rec(CLOCK_HI, (ns >> 32) as u32));
        self.events += 1;
        self.now = to;
    }

    /// Records what a `buggify()` call at `site` returned.
    pub(crate) fn push_buggify(&mut self, site: u32, fired: bool) {
        self.events += 1;
        self.recs.push(Rec {
            kind: BUGGIFY,
            flag: u8::from(fired),
            id: site,
        });
    }

    /// Records what a `choose(n)` call returned.
    pub(crate) fn push_choose(&mut self, n: u32, chosen: u32) {
        debug_assert!(chosen < n);
        self.events += 1;
        self.recs.push(Rec {
            kind: CHOOSE,
            flag: 0,
            id: chosen,
        });
        self.recs.push(Rec {
            kind: CHOOSE_N,
            flag: 0,
            id: n,
        });
    }

    /// Records an `rng()` draw.
    pub(crate) fn push_random(&mut self, value: u64) {
        self.events += 1;
        self.recs.push(Rec {
            kind: RANDOM,
            flag: 0,
            id: value as u32,
        });
        self.recs.push(Rec {
            kind: RANDOM_HI,
            flag: 0,
            id: (value >> 32) as u32,
        });
    }

    /// Gives `task` an explicit name, shown on its spawn line. Call it after
    /// the task's spawn record has been pushed.
    pub(crate) fn set_name(&mut self, task: TaskId, name: &str) {
        self.names.insert(task.as_u32(), name.to_owned());
    }

    /// Records the start of a poll step of `task` (outcome `Pending` for
    /// now) and returns the record's index for [`Trace::end_poll`].
    #[inline]
    pub(crate) fn begin_poll(&mut self, task: TaskId) -> usize {
        let index = self.recs.len();
        self.push(POLL, PollOutcome::Pending.to_flag(), task.as_u32());
        index
    }

    /// Sets the outcome of the poll record at `index` (from [`Trace::begin_poll`]).
    #[inline]
    pub(crate) fn end_poll(&mut self, index: usize, outcome: PollOutcome) {
        // A spill happens only between steps, so `index` still names the record.
        let rec = &mut self.recs[index];
        debug_assert_eq!(rec.kind, POLL);
        rec.flag = outcome.to_flag();
    }

    /// The scheduling policy's name.
    pub fn policy(&self) -> &str {
        &self.policy
    }

    /// The seed, if the policy is seeded.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events
    }

    /// Whether no event has been recorded.
    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// Number of steps (polls, timers, callbacks and stops).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The virtual time at the end of the trace.
    pub fn end_time(&self) -> Instant {
        self.now
    }

    /// The decoded events, in order: all of them, or for a [truncated](Trace::is_truncated)
    /// trace the last ones, kept in memory (their step numbers and times are the run's).
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        let (step, time) = self
            .spilled
            .as_ref()
            .map_or((0, Instant::ZERO), |s| (s.steps, s.time));
        Events::over(&self.recs, step, time)
    }

    /// The explicit name given to `task`, if any.
    pub fn task_name(&self, task: TaskId) -> Option<&str> {
        self.names.get(&task.as_u32()).map(String::as_str)
    }

    /// Bytes the trace's records occupy in memory (8 per record; a step is usually one
    /// or two records; at most the loop's trace memory limit). Names and the header are
    /// not counted.
    pub fn memory_bytes(&self) -> usize {
        self.recs.len() * std::mem::size_of::<Rec>()
    }
}

/// Decodes records into events.
struct Events<'a> {
    recs: std::slice::Iter<'a, Rec>,
    step: u64,
    time: Instant,
}

impl<'a> Events<'a> {
    /// Decodes `recs`, which start after step `step` at time `time`.
    fn over(recs: &'a [Rec], step: u64, time: Instant) -> Events<'a> {
        Events {
            recs: recs.iter(),
            step,
            time,
        }
    }
}

impl Events<'_> {
    /// The id of the next record if it is of `kind` (the second half of a wide event),
    /// consuming it; 0 otherwise.
    fn second_half(&mut self, kind: u8) -> u32 {
        match self.recs.as_slice().first() {
            Some(next) if next.kind == kind => {
                self.recs.next();
                next.id
            }
            _ => 0,
        }
    }
}

impl Iterator for Events<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        loop {
            let rec = *self.recs.next()?;
            let task = TaskId::from_raw(rec.id);
            let kind = match rec.kind {
                SPAWN => EventKind::Spawn { task },
                POLL => EventKind::Poll {
                    task,
                    outcome: PollOutcome::from_flag(rec.flag),
                },
                WAKE => EventKind::Wake { task },
                TIMER => EventKind::Timer { timer: rec.id },
                CALLBACK => EventKind::Callback { handle: rec.id },
                CANCEL => EventKind::Cancel { task },
                CLOCK => {
                    let hi = self.second_half(CLOCK_HI);
                    self.time = Instant::from_nanos(u64::from(hi) << 32 | u64::from(rec.id));
                    EventKind::Clock { to: self.time }
                }
                STOP => EventKind::Stop,
                DESTROY => EventKind::Destroy { task },
                BUGGIFY => EventKind::Buggify {
                    site: rec.id,
                    fired: rec.flag != 0,
                },
                CHOOSE => EventKind::Choose {
                    chosen: rec.id,
                    n: self.second_half(CHOOSE_N),
                },
                RANDOM => EventKind::Random {
                    value: u64::from(self.second_half(RANDOM_HI)) << 32 | u64::from(rec.id),
                },
                _ => continue, // stray CLOCK_HI or unknown kind: never pushed
            };
            self.step += u64::from(kind.is_step());
            return Some(Event {
                step: self.step,
                time: self.time,
                kind,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format::{HEADER_EXPECTED, KINDS_EXPECTED, OUTCOME_EXPECTED, SITE_EXPECTED};
    use super::*;

    fn t(n: u32) -> TaskId {
        TaskId::from_raw(n)
    }

    /// Covers every kind, a clock jump above 2^32 ns and a name needing escapes.
    fn sample() -> Trace {
        let mut tr = Trace::new("random", Some(42));
        tr.push(SPAWN, 0, 1);
        tr.push(SPAWN, 0, 2);
        tr.set_name(t(2), "worker \"a\"\\\n\r\t\u{1b}\u{7f}é");
        let i = tr.begin_poll(t(1));
        tr.push(WAKE, 0, 2);
        tr.push(SPAWN, 0, 3);
        tr.end_poll(i, PollOutcome::Pending);
        tr.push(CALLBACK, 0, 1);
        tr.push_clock(Instant::from_nanos(1_000_000));
        tr.push(TIMER, 0, 1);
        let i = tr.begin_poll(t(2));
        tr.end_poll(i, PollOutcome::Ready);
        tr.push_clock(Instant::from_nanos((5 << 32) + 7));
        let i = tr.begin_poll(t(1));
        tr.end_poll(i, PollOutcome::Panicked);
        tr.push(CANCEL, 0, 3);
        let i = tr.begin_poll(t(3));
        tr.end_poll(i, PollOutcome::Cancelled);
        tr.push(STOP, 0, 0);
        tr.push(DESTROY, 0, 4);
        tr
    }

    const SAMPLE: &str = "simloop-trace v1 policy=random seed=42
0 0.000000000 spawn 1
0 0.000000000 spawn 2 \"worker \\\"a\\\"\\\\\\n\\r\\t\\u{1b}\\u{7f}é\"
1 0.000000000 poll 1 pending
1 0.000000000 wake 2
1 0.000000000 spawn 3
2 0.000000000 callback 1
2 0.001000000 clock
3 0.001000000 timer 1
4 0.001000000 poll 2 ready
4 21.474836487 clock
5 21.474836487 poll 1 panicked
5 21.474836487 cancel 3
6 21.474836487 poll 3 cancelled
7 21.474836487 stop
7 21.474836487 destroy 4
";

    #[test]
    fn the_fast_line_writer_writes_the_same_bytes() {
        let mut tr = sample();
        tr.push_buggify(0xdead_beef, true);
        tr.push_choose(7, 3);
        tr.push_random(u64::MAX - 5);
        tr.push_clock(Instant::from_nanos(u64::MAX - 1));
        tr.push(WAKE, 0, u32::MAX);
        for event in tr.events() {
            let mut slow = String::new();
            tr.write_event(&mut slow, &event).unwrap();
            let mut fast = Vec::new();
            tr.push_line(&mut fast, &event);
            assert_eq!(String::from_utf8(fast).unwrap(), slow);
        }
        assert_eq!(tr.digest(), digest::fnv1a(tr.to_string().as_bytes()));
    }

    #[test]
    fn first_difference_ignores_headers() {
        let mut a = Trace::new("random", Some(1));
        let mut b = Trace::new("shrunk", None);
        for t in [&mut a, &mut b] {
            t.push(SPAWN, 0, 1);
        }
        assert_eq!(a.first_difference(&b), None);
    }

    #[test]
    fn rec_is_eight_bytes() {
        assert_eq!(std::mem::size_of::<Rec>(), 8);
    }

    #[test]
    fn renders_and_round_trips() {
        let tr = sample();
        assert_eq!(tr.to_string(), SAMPLE);
        let parsed: Trace = SAMPLE.parse().unwrap();
        assert_eq!(parsed, tr);
        assert_eq!(parsed.to_string(), SAMPLE);
        assert_eq!(tr.len(), 15);
        assert!(!tr.is_empty());
        assert_eq!(tr.steps(), 7);
        assert_eq!(tr.end_time(), Instant::from_nanos((5 << 32) + 7));
        assert_eq!(tr.policy(), "random");
        assert_eq!(tr.seed(), Some(42));
        assert_eq!(
            tr.task_name(t(2)),
            Some("worker \"a\"\\\n\r\t\u{1b}\u{7f}é")
        );
        assert_eq!(tr.task_name(t(1)), None);
        let dbg = format!("{tr:?}");
        assert!(
            dbg.contains("events: 15") && dbg.contains("steps: 7"),
            "{dbg}"
        );
    }

    #[test]
    fn buggify_lines_round_trip() {
        let mut tr = Trace::new("pct3", Some(7));
        tr.push(SPAWN, 0, 1);
        tr.push_buggify(0xdead_beef, true);
        let i = tr.begin_poll(t(1));
        tr.end_poll(i, PollOutcome::Pending);
        tr.push_buggify(0x0000_0012, false);
        let text = "simloop-trace v1 policy=pct3 seed=7\n\
                    0 0.000000000 spawn 1\n\
                    0 0.000000000 buggify 0xdeadbeef 1\n\
                    1 0.000000000 poll 1 pending\n\
                    1 0.000000000 buggify 0x00000012 0\n";
        assert_eq!(tr.to_string(), text);
        assert_eq!(text.parse::<Trace>().unwrap(), tr);
        assert_eq!(tr.steps(), 1);
        assert_eq!(tr.len(), 4);
        let kinds: Vec<EventKind> = tr.events().map(|e| e.kind).collect();
        assert_eq!(
            kinds[1],
            EventKind::Buggify {
                site: 0xdead_beef,
                fired: true
            }
        );
        assert!(!kinds[1].is_step());
        let e = "simloop-trace v1 policy=x seed=none\n0 0.000000000 buggify 0xDEADBEEF 1\n"
            .parse::<Trace>()
            .unwrap_err();
        assert_eq!(e.expected, SITE_EXPECTED);
    }

    #[test]
    fn decodes_events() {
        let evs: Vec<Event> = sample().events().collect();
        assert_eq!(evs.len(), 15);
        assert_eq!(evs.iter().filter(|e| e.kind.is_step()).count(), 7);
        assert_eq!(
            evs[2],
            Event {
                step: 1,
                time: Instant::ZERO,
                kind: EventKind::Poll {
                    task: t(1),
                    outcome: PollOutcome::Pending
                }
            }
        );
        assert_eq!(
            evs[9].kind,
            EventKind::Clock {
                to: Instant::from_nanos((5 << 32) + 7)
            }
        );
        assert_eq!(evs[9].step, 4);
        assert_eq!(evs[13].kind, EventKind::Stop);
        assert_eq!(evs[14].kind, EventKind::Destroy { task: t(4) });
        let empty = Trace::new("fifo", None);
        assert!(empty.is_empty());
        assert_eq!(
            empty.to_string(),
            "simloop-trace v1 policy=fifo seed=none\n"
        );
        assert_eq!(empty.to_string().parse::<Trace>().unwrap(), empty);
    }

    #[test]
    fn accepts_crlf_comments_and_blank_lines() {
        let text = "# a comment\r\n\r\nsimloop-trace v1 policy=fifo seed=0\r\n# mid\n\n0 0.000000000 spawn 1\r\n";
        let tr: Trace = text.parse().unwrap();
        assert_eq!(
            tr.to_string(),
            "simloop-trace v1 policy=fifo seed=0\n0 0.000000000 spawn 1\n"
        );
        // A missing final newline is tolerated too.
        assert_eq!(
            "simloop-trace v1 policy=p seed=none"
                .parse::<Trace>()
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn names_round_trip() {
        for name in [
            "",
            " ",
            "a b",
            "\"",
            "\\",
            "\\u{1b}",
            "\u{0}\u{1f}\u{85}\u{9f}",
            "日本語 ✓",
            "\u{2028}",
        ] {
            let mut tr = Trace::new("p", None);
            tr.push(SPAWN, 0, 9);
            tr.set_name(t(9), name);
            let text = tr.to_string();
            let back: Trace = text.parse().unwrap();
            assert_eq!(back.task_name(t(9)), Some(name), "{text}");
            assert_eq!(back.to_string(), text);
        }
    }

    fn err(text: &str) -> ParseError {
        text.parse::<Trace>().unwrap_err()
    }

    fn err_at(body: &str) -> (usize, String, String) {
        let e = err(&format!(
            "simloop-trace v1 policy=p seed=1\n0 0.000000000 spawn 1\n{body}\n"
        ));
        (e.line, e.expected, e.found)
    }

    #[test]
    fn header_errors() {
        let e = err("");
        assert_eq!((e.line, e.expected.as_str()), (1, HEADER_EXPECTED));
        assert_eq!(
            e.to_string(),
            "trace line 1: expected \"simloop-trace v1 header\", found \"<end of input>\""
        );
        let e = err("\n# c\nsimloop-trace v2 policy=p seed=1\n");
        assert_eq!((e.line, e.expected.as_str()), (3, HEADER_EXPECTED));
        assert_eq!(err("0 0.000000000 spawn 1\n").expected, HEADER_EXPECTED);
        assert_eq!(
            err("simloop-trace v1 policy= seed=1").expected,
            "policy=<name>"
        );
        assert_eq!(
            err("simloop-trace v1 policy=p").expected,
            "seed=<u64 | none>"
        );
        assert_eq!(err("simloop-trace v1 policy=p seed=01").found, "seed=01");
        assert_eq!(
            err("simloop-trace v1 policy=p seed=18446744073709551616").line,
            1
        );
        assert_eq!(err("simloop-trace v1 policy=p seed=1 x").found, "x");
    }

    #[test]
    fn event_errors() {
        let e = err_at("0 0.000000000 frob 1");
        assert_eq!(
            (e.0, e.1.as_str(), e.2.as_str()),
            (3, KINDS_EXPECTED, "frob")
        );
        assert_eq!(err_at("0 0.000000000 poll 1 ready").1, "step 1");
        assert_eq!(err_at("1 0.000000000 wake 1").1, "step 0");
        assert_eq!(err_at("0 0.000000001 wake 1").1, "time 0.000000000");
        assert_eq!(
            err_at("0 0.000000000 clock").1,
            "time later than 0.000000000"
        );
        assert_eq!(err_at("0 0.00000000 wake 1").2, "0.00000000");
        assert_eq!(
            err_at("0 18446744073.709551616 clock").2,
            "18446744073.709551616"
        );
        assert_eq!(err_at("0 0.000000000 wake").1, "task id");
        assert_eq!(err_at("0 0.000000000 wake 1 2").2, "2");
        assert_eq!(err_at("0 0.000000000 wake 4294967296").2, "4294967296");
        assert_eq!(err_at("0 0.000000000 wake -1").2, "-1");
        assert_eq!(err_at("0 0.000000000 wake +1").2, "+1");
        assert_eq!(err_at("1 0.000000000 timer 01").1, "sequence number");
        assert_eq!(err_at("1 0.000000000 poll 1").1, OUTCOME_EXPECTED);
        assert_eq!(err_at("1 0.000000000 poll 1 done").2, "done");
        assert_eq!(err_at("1 0.000000000 stop 0").2, "0");
        assert_eq!(
            err_at("0 0.000000000 clock ").1,
            "time later than 0.000000000"
        );
        assert_eq!(err_at("0 0.000000001 clock x").2, "x");
        assert_eq!(
            err_at("0 0.000000000 spawn 1").1,
            "task id not spawned before"
        );
        assert_eq!(err_at("0 0.000000000 spawn 2 x").1, "quoted task name");
        for bad in [
            "\"a",
            "\"a\"b\"",
            "\"\\q\"",
            "\"\\u{41}\"",
            "\"\\u{0a}\"",
            "\"\\u{1B}\"",
            "\"\\u{1b\"",
            "\"\t\"",
        ] {
            assert_eq!(
                err_at(&format!("0 0.000000000 spawn 2 {bad}")).1,
                "quoted task name",
                "{bad}"
            );
        }
        assert_eq!(err_at("0").1, "time");
        assert_eq!(err_at("x 0.000000000 stop").1, "step number");
    }

    #[test]
    fn garbage_never_panics() {
        let long = "9".repeat(500);
        let inputs = [
            "",
            "\n\n\n",
            "\u{feff}simloop-trace v1 policy=p seed=1",
            "simloop-trace v1 policy=p seed=1\n0 0.000000000 spawn 1 \"é\\u{",
            "simloop-trace v1 policy=p seed=1\n0 ０.000000000 stop",
            "simloop-trace v1 policy=p seed=1\n1 0.00000000é stop",
            "simloop-trace v1 policy=p seed=1\n  \n\t",
            "日本語\n0 0 0",
            "simloop-trace v1 policy=日本 seed=none\n0 0.000000000 spawn 1 \"\\",
        ];
        for input in inputs.iter().map(|s| s.to_string()).chain([
            format!("simloop-trace v1 policy=p seed={long}"),
            format!("simloop-trace v1 policy=p seed=1\n{long} {long}.{long} stop"),
            format!("simloop-trace v1 policy=p seed=1\n0 {long}.000000000 clock"),
        ]) {
            let _ = input.parse::<Trace>();
        }
        // Every prefix of a valid trace either parses or errors, never panics.
        for end in (0..=SAMPLE.len()).filter(|&i| SAMPLE.is_char_boundary(i)) {
            let _ = SAMPLE[..end].parse::<Trace>();
        }
    }

    #[test]
    fn digest_is_stable() {
        let (a, b) = (sample(), sample());
        assert_eq!(a.digest(), b.digest());
        let mut c = sample();
        c.end_poll(2, PollOutcome::Ready);
        assert_ne!(a.digest(), c.digest());
        let mut small = Trace::new("fifo", Some(7));
        small.push(SPAWN, 0, 1);
        let i = small.begin_poll(t(1));
        small.end_poll(i, PollOutcome::Ready);
        assert_eq!(small.to_string(), "simloop-trace v1 policy=fifo seed=7\n0 0.000000000 spawn 1\n1 0.000000000 poll 1 ready\n");
        assert_eq!(small.digest(), 0x968b_51a9_13bf_fb97);
    }

    #[test]
    fn tail_and_first_difference() {
        let tr = sample();
        assert_eq!(
            tr.render_tail(2),
            "simloop-trace v1 policy=random seed=42\n7 21.474836487 stop\n7 21.474836487 destroy 4\n"
        );
        assert_eq!(tr.render_tail(100), SAMPLE);
        assert_eq!(tr.first_difference(&sample()), None);
        let mut c = sample();
        c.end_poll(2, PollOutcome::Ready);
        assert_eq!(
            tr.first_difference(&c),
            Some((
                2,
                Some("1 0.000000000 poll 1 pending".to_owned()),
                Some("1 0.000000000 poll 1 ready".to_owned())
            ))
        );
        let mut longer = sample();
        longer.push(DESTROY, 0, 5);
        assert_eq!(
            tr.first_difference(&longer),
            Some((15, None, Some("7 21.474836487 destroy 5".to_owned())))
        );
        assert_eq!(longer.first_difference(&tr).map(|d| d.2), Some(None));
    }
}
