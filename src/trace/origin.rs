//! Where each timer, callback and task came from: a side table of a [`Trace`], kept in
//! memory only, for reports ("timer 4 (sleep 20ms in `client-2` at src/limiter.rs:42)").
//!
//! The loop notes an [`Origin`] when it registers a timer or callback (by its sequence
//! number) or creates a task (by its id): the `#[track_caller]` location of the user's
//! call, the task that was running, and for a timer its delay. Noting one is a copy of 16
//! bytes into a `Vec` (no allocation per item beyond the `Vec`'s amortised growth): the
//! (location, what) pair is kept once in a table of call sites and named by its index,
//! found through a one-entry cache per kind (a loop registers most of its items from a
//! few sites). The text is made only when a report asks for it. The table is never rendered, parsed,
//! compared or digested: a trace's text, `==` and digest ignore it, and a trace parsed
//! from text has none (its items are then named by number only).

use std::collections::HashMap;
use std::panic::Location;
use std::path::Path;
use std::time::Duration;

use super::Trace;
use crate::task::id::TaskId;
use crate::time::instant::Instant;

/// What registered a timer, callback or task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum What {
    /// Unknown (an internal completion hop, or a number the loop never noted).
    Unknown,
    /// A `sleep`/`sleep_until` timer (`nanos` = its delay).
    Sleep,
    /// The timer of a `wait_for`/`timeout`/`timeout_at` (`nanos` = its delay).
    Timeout,
    /// `call_soon`.
    CallSoon,
    /// `call_later` (`nanos` = its delay).
    CallLater,
    /// `call_at` (`nanos` = its deadline).
    CallAt,
    /// A task made by `create_task`, a task group, `gather`, `as_completed`.
    Spawn,
    /// The task of `run_until_complete`'s future.
    Main,
    /// The task running a `check` body.
    Body,
}

/// Where one timer, callback or task came from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin {
    /// The user's call (`#[track_caller]`), if known.
    pub(crate) at: Option<&'static Location<'static>>,
    /// The delay (sleep, timeout, `call_later`) or deadline (`call_at`) in nanoseconds.
    pub(crate) nanos: u64,
    /// The task that was running when it was registered (0: none, e.g. a callback).
    pub(crate) task: u32,
    pub(crate) what: What,
}

impl Origin {
    const UNKNOWN: Origin = Origin {
        at: None,
        nanos: 0,
        task: 0,
        what: What::Unknown,
    };

    #[inline]
    pub(crate) fn new(what: What, at: &'static Location<'static>, nanos: u64) -> Origin {
        Origin {
            at: Some(at),
            nanos,
            task: 0,
            what,
        }
    }

    /// The task running a `check` body.
    pub(crate) const fn body() -> Origin {
        Origin {
            what: What::Body,
            ..Origin::UNKNOWN
        }
    }

    /// The same origin, registered while `task` (a raw id, 0 for none) was running.
    #[inline]
    pub(crate) fn in_task(self, task: u32) -> Origin {
        Origin { task, ..self }
    }
}

/// An [`Origin`] as the table keeps it: its call site by index (16 bytes, not 24).
#[derive(Clone, Copy)]
struct Noted {
    nanos: u64,
    task: u32,
    /// The call site (see [`Sites`]); 0 is the unknown site.
    site: u32,
}

impl Noted {
    const UNKNOWN: Noted = Noted {
        nanos: 0,
        task: 0,
        site: 0,
    };
}

/// A call site by content: file, line, column, and what it registered.
type SiteKey = (&'static str, u32, u32, What);

/// The distinct (location, what) pairs of a run, each kept once; site `i` (from 1) is
/// `all[i - 1]`, site 0 the unknown one.
#[derive(Clone, Default)]
struct Sites {
    all: Vec<(Option<&'static Location<'static>>, What)>,
    /// The pairs by content (file, line, column, what), made once a run has more than
    /// [`SCAN_SITES`] sites (below that a scan is cheaper; a loop is made per simulation).
    index: Option<HashMap<SiteKey, u32>>,
}

/// Up to this many sites, a site missing from the caches is found by a scan.
const SCAN_SITES: usize = 32;

/// The same call site: the same `'static` location (compared by address first, only as
/// a shortcut: equal contents are the same site) and the same kind.
#[inline]
fn same_site(
    a: (Option<&'static Location<'static>>, What),
    b: (Option<&'static Location<'static>>, What),
) -> bool {
    a.1 == b.1
        && match (a.0, b.0) {
            (Some(x), Some(y)) => std::ptr::eq(x, y) || x == y,
            (None, None) => true,
            _ => false,
        }
}

/// The site a table noted last, and its index (a one-entry cache into [`Sites`]).
#[derive(Clone, Copy)]
struct LastSite {
    at: Option<&'static Location<'static>>,
    what: What,
    index: u32,
}

impl Default for LastSite {
    fn default() -> LastSite {
        LastSite {
            at: None,
            what: What::Unknown,
            index: 0,
        }
    }
}

impl LastSite {
    /// The cached index if `o` comes from the same site (the same `'static` location:
    /// compared by address, which only decides whether the slow path runs).
    #[inline(always)]
    fn hit(&self, o: &Origin) -> Option<u32> {
        let same_at = match (self.at, o.at) {
            (Some(x), Some(y)) => std::ptr::eq(x, y),
            (None, None) => true,
            _ => false,
        };
        (same_at && self.what == o.what).then_some(self.index)
    }
}

impl Sites {
    /// The index of `o`'s site, trying `cache` first (and updating it).
    #[inline(always)]
    fn intern(&mut self, o: &Origin, cache: &mut LastSite) -> u32 {
        match cache.hit(o) {
            Some(i) => i,
            None => {
                let index = self.intern_slow((o.at, o.what));
                *cache = LastSite {
                    at: o.at,
                    what: o.what,
                    index,
                };
                index
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn intern_slow(&mut self, site: (Option<&'static Location<'static>>, What)) -> u32 {
        if site == (None, What::Unknown) {
            return 0;
        }
        let key = site.0.map(|at| (at.file(), at.line(), at.column(), site.1));
        match (&self.index, key) {
            (Some(index), Some(key)) => {
                if let Some(&i) = index.get(&key) {
                    return i;
                }
            }
            _ => {
                if let Some(i) = self.all.iter().position(|&s| same_site(s, site)) {
                    return i as u32 + 1;
                }
            }
        }
        self.all.push(site);
        let i = self.all.len() as u32;
        if self.all.len() > SCAN_SITES {
            let index = self.index.get_or_insert_with(|| {
                let mut m = HashMap::new();
                for (j, s) in self.all.iter().enumerate() {
                    if let Some(at) = s.0 {
                        m.insert((at.file(), at.line(), at.column(), s.1), j as u32 + 1);
                    }
                }
                m
            });
            if let Some(key) = key {
                index.insert(key, i);
            }
        }
        i
    }

    /// Site `i`.
    fn get(&self, i: u32) -> (Option<&'static Location<'static>>, What) {
        match i.checked_sub(1) {
            Some(j) => self.all[j as usize],
            None => (None, What::Unknown),
        }
    }
}

/// Timer/callback origins by sequence number, task origins by id (both from 1).
///
/// A long run forgets the oldest (see [`Origins::forget_oldest`]): each table then starts
/// at an offset, and the numbers below it are unknown, as if never noted.
#[derive(Clone, Default)]
pub(crate) struct Origins {
    handles: Vec<Noted>,
    tasks: Vec<Noted>,
    /// How many numbers (from 1) each table has forgotten.
    handles_offset: usize,
    tasks_offset: usize,
    sites: Sites,
    /// The site each table noted last.
    last_handle_site: LastSite,
    last_task_site: LastSite,
}

/// Puts `o` at number `n` (from 1) of a table that forgot the first `offset` numbers;
/// numbers never noted stay unknown, forgotten ones are not noted again.
#[inline]
fn put(v: &mut Vec<Noted>, offset: usize, n: u32, o: Noted) {
    let i = (n as usize).wrapping_sub(1).wrapping_sub(offset);
    if i == v.len() {
        v.push(o);
    } else {
        put_slow(v, i, o);
    }
}

#[cold]
#[inline(never)]
fn put_slow(v: &mut Vec<Noted>, i: usize, o: Noted) {
    // Number 0, or a number already forgotten: wrapped around to a huge index.
    if i > u32::MAX as usize {
        return;
    }
    if i >= v.len() {
        v.resize(i + 1, Noted::UNKNOWN);
    }
    v[i] = o;
}

impl Origins {
    #[inline(always)]
    fn note_task(&mut self, n: u32, o: Origin) {
        let site = self.sites.intern(&o, &mut self.last_task_site);
        let noted = Noted {
            nanos: o.nanos,
            task: o.task,
            site,
        };
        put(&mut self.tasks, self.tasks_offset, n, noted);
    }

    #[inline(always)]
    fn note_handle(&mut self, n: u32, o: Origin) {
        let site = self.sites.intern(&o, &mut self.last_handle_site);
        let noted = Noted {
            nanos: o.nanos,
            task: o.task,
            site,
        };
        put(&mut self.handles, self.handles_offset, n, noted);
    }

    fn get(&self, tasks: bool, n: u32) -> Option<Origin> {
        let (v, offset) = if tasks {
            (&self.tasks, self.tasks_offset)
        } else {
            (&self.handles, self.handles_offset)
        };
        let o = *v.get((n as usize).checked_sub(1)?.checked_sub(offset)?)?;
        let (at, what) = self.sites.get(o.site);
        (what != What::Unknown).then_some(Origin {
            at,
            nanos: o.nanos,
            task: o.task,
            what,
        })
    }
}

/// Each origin table keeps at most about this many numbers once a run is long enough to
/// spill its trace (see `trace/window.rs`); a report names older items by number only.
pub(crate) const ORIGINS_KEPT: usize = 1 << 20;

impl Origins {
    /// Forgets the older half of a table that holds more than `keep` numbers, so a long
    /// run keeps bounded memory (the loop calls it when the trace spills).
    pub(crate) fn forget_oldest(&mut self, keep: usize) {
        for (v, offset) in [
            (&mut self.tasks, &mut self.tasks_offset),
            (&mut self.handles, &mut self.handles_offset),
        ] {
            if v.len() > keep {
                let drop = v.len() - keep / 2;
                v.drain(..drop);
                *offset += drop;
            }
        }
    }
}

/// A location as a report shows it: `file:line`, the file as the compiler gave it (relative
/// for the crate being tested); an absolute path (a dependency's) is cut to its last two
/// parts, so no report shows a machine's directories.
pub(crate) fn location_text(at: &Location<'_>) -> String {
    format!("{}:{}", path_text(at.file()), at.line())
}

fn path_text(file: &str) -> String {
    let slashed = file.replace('\\', "/");
    if Path::new(file).is_absolute() || slashed.starts_with('/') {
        let parts: Vec<&str> = slashed.rsplit('/').take(2).collect();
        format!(
            ".../{}",
            parts.into_iter().rev().collect::<Vec<_>>().join("/")
        )
    } else {
        slashed
    }
}

impl Trace {
    /// Notes where timer/callback `seq` came from.
    #[inline]
    pub(crate) fn note_handle(&mut self, seq: u32, origin: Origin) {
        self.origins.note_handle(seq, origin);
    }

    /// Notes where `task` came from.
    #[inline]
    pub(crate) fn note_task(&mut self, task: TaskId, origin: Origin) {
        self.origins.note_task(task.as_u32(), origin);
    }

    /// `task 3 "client-2"`, or `task 3` for an unnamed task.
    pub(crate) fn task_label(&self, task: u32) -> String {
        match self.task_name(TaskId::from_raw(task)) {
            Some(n) => format!("task {task} \"{n}\""),
            None => format!("task {task}"),
        }
    }

    /// How a report refers to the task running a registration: `` `client-2` `` or `task 3`.
    fn running_task(&self, task: u32) -> String {
        match self.task_name(TaskId::from_raw(task)) {
            Some(n) => format!("`{n}`"),
            None => format!("task {task}"),
        }
    }

    /// Where timer or callback `seq` came from, e.g. `` sleep 20ms in `client-2` at
    /// src/limiter.rs:42 ``; `None` if this run did not note it.
    pub(crate) fn handle_origin(&self, seq: u32) -> Option<String> {
        let o = self.origins.get(false, seq)?;
        let d = Duration::from_nanos(o.nanos);
        let mut s = match o.what {
            What::Sleep => format!("sleep {d:?}"),
            What::Timeout => format!("timeout {d:?}"),
            What::CallSoon => "call_soon".to_owned(),
            What::CallLater => format!("call_later {d:?}"),
            What::CallAt => format!("call_at {}", Instant::from_nanos(o.nanos)),
            What::Spawn | What::Main | What::Body | What::Unknown => return None,
        };
        if o.task != 0 {
            s.push_str(" in ");
            s.push_str(&self.running_task(o.task));
        }
        if let Some(at) = o.at {
            s.push_str(" at ");
            s.push_str(&location_text(at));
        }
        Some(s)
    }

    /// Where `task` was created, e.g. `created at src/limiter.rs:30`, `the test body`;
    /// `None` if this run did not note it.
    pub(crate) fn task_origin(&self, task: u32) -> Option<String> {
        let o = self.origins.get(true, task)?;
        match (o.what, o.at) {
            (What::Body, _) => Some("the test body".to_owned()),
            (What::Main, Some(at)) => Some(format!(
                "run_until_complete's future, at {}",
                location_text(at)
            )),
            (_, Some(at)) => Some(format!("created at {}", location_text(at))),
            _ => None,
        }
    }

    /// Where `task` was created, as a location (`src/limiter.rs:30`), if noted.
    pub(crate) fn task_location(&self, task: u32) -> Option<String> {
        self.origins.get(true, task)?.at.map(location_text)
    }

    /// `timer 4 (sleep 20ms in `client-2` at src/limiter.rs:42)`: `what` and `seq`, with
    /// the origin when known.
    pub(crate) fn handle_with_origin(&self, what: &str, seq: u32) -> String {
        match self.handle_origin(seq) {
            Some(o) => format!("{what} {seq} ({o})"),
            None => format!("{what} {seq}"),
        }
    }

    /// A trace line (`3 0.001000000 timer 4`) with where its task, timer or callback came
    /// from in this run appended when known: `… timer 4 (sleep 20ms in task 2 at …)`.
    pub(crate) fn line_with_origin(&self, line: &str) -> String {
        let mut toks = line.split(' ').skip(2);
        let (kind, id) = (toks.next(), toks.next().and_then(|t| t.parse::<u32>().ok()));
        let origin = match (kind, id) {
            (Some("spawn" | "poll" | "wake" | "cancel" | "destroy"), Some(id)) => {
                self.task_origin(id)
            }
            (Some("timer" | "callback"), Some(id)) => self.handle_origin(id),
            _ => None,
        };
        match origin {
            Some(o) => format!("{line} ({o})"),
            None => line.to_owned(),
        }
    }

    /// `task 3 "client-2" (created at src/limiter.rs:30)`, with the origin when known.
    pub(crate) fn task_with_origin(&self, task: u32) -> String {
        match self.task_origin(task) {
            Some(o) => format!("{} ({o})", self.task_label(task)),
            None => self.task_label(task),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_is_small() {
        assert!(std::mem::size_of::<Origin>() <= 24);
        assert_eq!(std::mem::size_of::<Noted>(), 16);
    }

    #[test]
    fn describes_and_ignores_gaps() {
        let mut tr = Trace::new("fifo", None);
        tr.push(super::super::SPAWN, 0, 2);
        tr.set_name(TaskId::from_raw(2), "client-2");
        let here = Location::caller();
        tr.note_task(TaskId::from_raw(2), Origin::new(What::Spawn, here, 0));
        tr.note_handle(3, Origin::new(What::Sleep, here, 20_000_000).in_task(2));
        tr.note_handle(1, Origin::new(What::CallSoon, here, 0));
        let at = location_text(here);
        assert_eq!(
            tr.handle_with_origin("timer", 3),
            format!("timer 3 (sleep 20ms in `client-2` at {at})")
        );
        assert_eq!(
            tr.handle_with_origin("callback", 1),
            format!("callback 1 (call_soon at {at})")
        );
        assert_eq!(tr.handle_with_origin("timer", 2), "timer 2");
        assert_eq!(tr.handle_with_origin("timer", 0), "timer 0");
        assert_eq!(tr.handle_with_origin("timer", 9), "timer 9");
        assert_eq!(
            tr.task_with_origin(2),
            format!("task 2 \"client-2\" (created at {at})")
        );
        assert_eq!(tr.task_with_origin(1), "task 1");
        // The side table is not part of the trace's identity or text.
        let parsed: Trace = tr.to_string().parse().unwrap();
        assert_eq!(parsed, tr);
        assert_eq!(parsed.handle_with_origin("timer", 3), "timer 3");
    }

    /// More sites than a scan handles: each is still kept once and found again.
    #[test]
    fn many_sites_are_kept_apart() {
        let mut tr = Trace::new("fifo", None);
        let here = [
            Location::caller(),
            Location::caller(),
            Location::caller(),
            Location::caller(),
            Location::caller(),
            Location::caller(),
            Location::caller(),
            Location::caller(),
            Location::caller(),
        ];
        let whats = [What::Sleep, What::Timeout, What::CallSoon, What::CallLater];
        let mut seq = 0;
        for round in 0..3 {
            for (a, at) in here.iter().enumerate() {
                for (b, what) in whats.iter().enumerate() {
                    seq += 1;
                    let nanos = (round * 100 + a * 10 + b) as u64;
                    tr.note_handle(seq, Origin::new(*what, at, nanos));
                }
            }
        }
        assert!(tr.origins.sites.all.len() > SCAN_SITES);
        assert_eq!(tr.origins.sites.all.len(), here.len() * whats.len());
        let mut seq = 0;
        for round in 0..3 {
            for (a, at) in here.iter().enumerate() {
                for (b, what) in whats.iter().enumerate() {
                    seq += 1;
                    let o = tr.origins.get(false, seq).unwrap();
                    assert!(std::ptr::eq(o.at.unwrap(), *at) && o.what == *what);
                    assert_eq!(o.nanos, (round * 100 + a * 10 + b) as u64);
                }
            }
        }
    }

    #[test]
    fn absolute_paths_are_cut() {
        assert_eq!(path_text("src/limiter.rs"), "src/limiter.rs");
        assert_eq!(
            path_text("/home/u/.cargo/registry/src/x/simloop-0.1.0/src/check/run.rs"),
            ".../check/run.rs"
        );
        assert!(!location_text(Location::caller()).starts_with('/'));
    }
}
