//! The trace's text format: the only code that knows it. Renders a [`Trace`] (its
//! `Display`), parses it back (`FromStr`, with a line-numbered [`ParseError`]), and
//! renders single lines for reports and diffs.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::{
    is_step_kind, Event, EventKind, PollOutcome, Trace, BUGGIFY, CALLBACK, CANCEL, CHOOSE, CLOCK,
    DESTROY, POLL, RANDOM, SPAWN, STOP, TIMER, WAKE,
};
use crate::task::id::TaskId;
use crate::time::instant::{Instant, Secs};

pub(crate) const HEADER_PREFIX: &str = "simloop-trace v1";
pub(crate) const HEADER_EXPECTED: &str = "\"simloop-trace v1 header\"";
pub(crate) const KINDS_EXPECTED: &str =
    "one of spawn, poll, wake, timer, callback, cancel, clock, stop, destroy, buggify, choose, random";
pub(crate) const RANDOM_EXPECTED: &str = "random value (0x and 16 lowercase hex digits)";
pub(crate) const SITE_EXPECTED: &str = "buggify site (0x and 8 lowercase hex digits)";
pub(crate) const OUTCOME_EXPECTED: &str = "poll outcome (pending, ready, panicked, cancelled)";
pub(crate) const EOL: &str = "<end of line>";

impl Trace {
    /// The header line followed by the last `n` event lines.
    pub fn render_tail(&self, n: usize) -> String {
        let mut out = String::new();
        let skip = self.window_events().saturating_sub(n);
        let _ = self.write_header(&mut out);
        for event in self.events().skip(skip) {
            let _ = self.write_event(&mut out, &event);
        }
        out
    }

    /// `true` if this trace does not hold its whole run: a loop's trace whose oldest
    /// events left memory (a run longer than the loop's trace memory; see
    /// [`LoopBuilder::trace_memory`](crate::LoopBuilder::trace_memory)), or a trace read
    /// from a *truncated* trace file — one written for a run too long to record in full
    /// (a failure report writes those above a million events, unless asked for whole
    /// files). Such a file has the header, a `# truncated: …` line (the only comment the
    /// parser gives a meaning to) and the run's last events as `#` comments; it parses to
    /// a trace without events, which cannot be replayed. A truncated trace renders in that
    /// form.
    pub fn is_truncated(&self) -> bool {
        self.truncated.is_some() || self.has_spilled()
    }

    /// The truncated form of this trace (see [`Trace::is_truncated`]): the header, a
    /// `# truncated:` line saying what was left out and how to replay the run (`replay`),
    /// and the last `keep` events as comments.
    pub(crate) fn render_truncated(&self, keep: usize, replay: &str) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = self.write_header(&mut out);
        let kept = keep.min(self.window_events());
        let _ = writeln!(
            out,
            "# truncated: the run had {} events ({} steps), too many for this file: it \
             keeps the last {kept}, as comments, and cannot be replayed step by step; {replay}",
            self.events, self.steps
        );
        for event in self.events().skip(self.window_events() - kept) {
            out.push_str("# ");
            let _ = self.write_event(&mut out, &event);
        }
        out
    }

    pub(crate) fn line(&self, event: &Event) -> String {
        let mut out = String::new();
        let _ = self.write_event(&mut out, event);
        out.pop();
        out
    }

    pub(crate) fn write_header<W: fmt::Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        write!(w, "{HEADER_PREFIX} policy={} seed=", self.policy)?;
        match self.seed {
            Some(seed) => writeln!(w, "{seed}"),
            None => writeln!(w, "none"),
        }
    }

    pub(crate) fn write_event<W: fmt::Write + ?Sized>(
        &self,
        w: &mut W,
        event: &Event,
    ) -> fmt::Result {
        write!(w, "{} {} ", event.step, Secs(event.time))?;
        match event.kind {
            EventKind::Spawn { task } => {
                write!(w, "spawn {}", task.as_u32())?;
                if let Some(name) = self.names.get(&task.as_u32()) {
                    w.write_char(' ')?;
                    write_quoted(w, name)?;
                }
            }
            EventKind::Poll { task, outcome } => {
                write!(w, "poll {} {}", task.as_u32(), outcome.as_str())?
            }
            EventKind::Wake { task } => write!(w, "wake {}", task.as_u32())?,
            EventKind::Timer { timer } => write!(w, "timer {timer}")?,
            EventKind::Callback { handle } => write!(w, "callback {handle}")?,
            EventKind::Cancel { task } => write!(w, "cancel {}", task.as_u32())?,
            EventKind::Clock { .. } => w.write_str("clock")?,
            EventKind::Stop => w.write_str("stop")?,
            EventKind::Destroy { task } => write!(w, "destroy {}", task.as_u32())?,
            EventKind::Buggify { site, fired } => {
                write!(w, "buggify {site:#010x} {}", u8::from(fired))?
            }
            EventKind::Choose { n, chosen } => write!(w, "choose {n} {chosen}")?,
            EventKind::Random { value } => write!(w, "random {value:#018x}")?,
        }
        w.write_char('\n')
    }

    /// Appends `event`'s line (with its newline) to `out`: the same bytes as
    /// [`write_event`](Trace::write_event), without `fmt`'s machinery — the path a long
    /// run's spilled events, streamed files and digests take (about a tenth of the cost).
    pub(crate) fn push_line(&self, out: &mut Vec<u8>, event: &Event) {
        push_u64(out, event.step);
        out.push(b' ');
        let ns = event.time.as_nanos();
        push_u64(out, ns / 1_000_000_000);
        out.push(b'.');
        push_padded(out, ns % 1_000_000_000, 9);
        out.push(b' ');
        let (word, a, b): (&[u8], Option<u32>, Option<&[u8]>) = match event.kind {
            EventKind::Spawn { task } => {
                out.extend_from_slice(b"spawn ");
                push_u64(out, u64::from(task.as_u32()));
                if let Some(name) = self.names.get(&task.as_u32()) {
                    let mut quoted = String::from(" ");
                    let _ = write_quoted(&mut quoted, name);
                    out.extend_from_slice(quoted.as_bytes());
                }
                out.push(b'\n');
                return;
            }
            EventKind::Poll { task, outcome } => (
                b"poll ",
                Some(task.as_u32()),
                Some(outcome.as_str().as_bytes()),
            ),
            EventKind::Wake { task } => (b"wake ", Some(task.as_u32()), None),
            EventKind::Timer { timer } => (b"timer ", Some(timer), None),
            EventKind::Callback { handle } => (b"callback ", Some(handle), None),
            EventKind::Cancel { task } => (b"cancel ", Some(task.as_u32()), None),
            EventKind::Clock { .. } => (b"clock", None, None),
            EventKind::Stop => (b"stop", None, None),
            EventKind::Destroy { task } => (b"destroy ", Some(task.as_u32()), None),
            EventKind::Buggify { .. } | EventKind::Choose { .. } | EventKind::Random { .. } => {
                // Rare: the `fmt` path.
                let mut line = String::new();
                let _ = self.write_event(&mut line, event);
                let rest = line.splitn(3, ' ').nth(2).unwrap_or("");
                out.extend_from_slice(rest.as_bytes());
                return;
            }
        };
        out.extend_from_slice(word);
        if let Some(a) = a {
            push_u64(out, u64::from(a));
        }
        if let Some(b) = b {
            out.push(b' ');
            out.extend_from_slice(b);
        }
        out.push(b'\n');
    }

    pub(crate) fn parse_event(
        &mut self,
        line: &str,
        spawned: &mut BTreeSet<u32>,
    ) -> Result<(), Fail> {
        let mut cols = line.splitn(4, ' ');
        let step_tok = cols.next().unwrap_or("");
        let step = parse_u64(step_tok, "step number")?;
        let time_tok = next_tok(&mut cols, "time")?;
        let time = parse_time(time_tok)?;
        let kind_tok = next_tok(&mut cols, KINDS_EXPECTED)?;
        let kind = match kind_tok {
            "spawn" => SPAWN,
            "poll" => POLL,
            "wake" => WAKE,
            "timer" => TIMER,
            "callback" => CALLBACK,
            "cancel" => CANCEL,
            "clock" => CLOCK,
            "stop" => STOP,
            "destroy" => DESTROY,
            "buggify" => BUGGIFY,
            "choose" => CHOOSE,
            "random" => RANDOM,
            _ => return fail(KINDS_EXPECTED, kind_tok),
        };
        let want_step = self.steps + u64::from(is_step_kind(kind));
        if step != want_step {
            return fail(format!("step {want_step}"), step_tok);
        }
        if kind == CLOCK {
            if time <= self.now {
                return fail(format!("time later than {}", Secs(self.now)), time_tok);
            }
        } else if time != self.now {
            return fail(format!("time {}", Secs(self.now)), time_tok);
        }
        let rest = cols.next();
        if kind == SPAWN {
            let rest = rest.ok_or_else(|| fail_of("task id", EOL))?;
            let (id_tok, name) = match rest.split_once(' ') {
                Some((id_tok, quoted)) => (id_tok, Some(unquote(quoted)?)),
                None => (rest, None),
            };
            let id = parse_u32(id_tok, "task id")?;
            if !spawned.insert(id) {
                return fail("task id not spawned before", id_tok);
            }
            self.push(SPAWN, 0, id);
            if let Some(name) = name {
                self.set_name(TaskId::from_raw(id), &name);
            }
            return Ok(());
        }
        let mut args = rest.into_iter().flat_map(|r| r.split(' '));
        match kind {
            CLOCK => self.push_clock(time),
            STOP => self.push(STOP, 0, 0),
            BUGGIFY => {
                let site_tok = next_tok(&mut args, SITE_EXPECTED)?;
                let site = site_tok
                    .strip_prefix("0x")
                    .filter(|h| {
                        h.len() == 8 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                    })
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .ok_or_else(|| fail_of(SITE_EXPECTED, site_tok))?;
                let fired = match next_tok(&mut args, "0 or 1")? {
                    "0" => false,
                    "1" => true,
                    other => return fail("0 or 1", other),
                };
                self.push_buggify(site, fired);
            }
            CHOOSE => {
                let n_tok = next_tok(&mut args, "number of alternatives")?;
                let n = parse_u32(n_tok, "number of alternatives")?;
                if n < 2 {
                    return fail("at least 2 alternatives", n_tok);
                }
                let k_tok = next_tok(&mut args, "alternative taken")?;
                let chosen = parse_u32(k_tok, "alternative taken")?;
                if chosen >= n {
                    return fail(format!("an alternative below {n}"), k_tok);
                }
                self.push_choose(n, chosen);
            }
            RANDOM => {
                let tok = next_tok(&mut args, RANDOM_EXPECTED)?;
                let value = tok
                    .strip_prefix("0x")
                    .filter(|h| {
                        h.len() == 16 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                    })
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                    .ok_or_else(|| fail_of(RANDOM_EXPECTED, tok))?;
                self.push_random(value);
            }
            POLL => {
                let id = parse_u32(next_tok(&mut args, "task id")?, "task id")?;
                let out_tok = next_tok(&mut args, OUTCOME_EXPECTED)?;
                let outcome = match out_tok {
                    "pending" => PollOutcome::Pending,
                    "ready" => PollOutcome::Ready,
                    "panicked" => PollOutcome::Panicked,
                    "cancelled" => PollOutcome::Cancelled,
                    _ => return fail(OUTCOME_EXPECTED, out_tok),
                };
                self.push(POLL, outcome.to_flag(), id);
            }
            _ => {
                let what = if matches!(kind, TIMER | CALLBACK) {
                    "sequence number"
                } else {
                    "task id"
                };
                let id = parse_u32(next_tok(&mut args, what)?, what)?;
                self.push(kind, 0, id);
            }
        }
        match args.next() {
            Some(extra) => fail("end of line", extra),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.has_spilled() {
            let replay = "stream the trace to a file to keep it whole \
                          (EventLoop::stream_trace, or Builder::whole_trace_files for a check)";
            let text = self.render_truncated(self.window_events(), replay);
            return f.write_str(&text);
        }
        self.write_header(f)?;
        if let Some(note) = &self.truncated {
            writeln!(f, "# truncated:{note}")?;
        }
        for event in self.events() {
            self.write_event(f, &event)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trace")
            .field("policy", &self.policy)
            .field("seed", &self.seed)
            .field("events", &self.events)
            .field("steps", &self.steps)
            .field("end_time", &self.now)
            .finish()
    }
}

impl FromStr for Trace {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Trace, ParseError> {
        let mut trace: Option<Trace> = None;
        let mut spawned = BTreeSet::new();
        let mut lines = 0;
        let mut truncated = None;
        for (i, raw) in s.split('\n').enumerate() {
            lines = i + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if let Some(note) = line.strip_prefix("# truncated:") {
                truncated.get_or_insert_with(|| note.to_owned());
                continue;
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let result = match trace.as_mut() {
                Some(t) => t.parse_event(line, &mut spawned),
                None => parse_header(line).map(|t| trace = Some(t)),
            };
            result.map_err(|(expected, found)| ParseError {
                line: lines,
                expected,
                found,
            })?;
        }
        let mut trace = trace.ok_or_else(|| ParseError {
            line: lines,
            expected: HEADER_EXPECTED.to_owned(),
            found: "<end of input>".to_owned(),
        })?;
        trace.truncated = truncated;
        Ok(trace)
    }
}

/// Why a trace text could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based number of the offending line.
    pub line: usize,
    /// What the parser expected.
    pub expected: String,
    /// What it found instead.
    pub found: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "trace line {}: expected {}, found {:?}",
            self.line, self.expected, self.found
        )
    }
}

impl std::error::Error for ParseError {}

fn write_quoted<W: fmt::Write + ?Sized>(w: &mut W, s: &str) -> fmt::Result {
    w.write_char('"')?;
    for c in s.chars() {
        match c {
            '\\' => w.write_str("\\\\")?,
            '"' => w.write_str("\\\"")?,
            '\n' => w.write_str("\\n")?,
            '\r' => w.write_str("\\r")?,
            '\t' => w.write_str("\\t")?,
            c if c.is_control() => write!(w, "\\u{{{:02x}}}", u32::from(c))?,
            c => w.write_char(c)?,
        }
    }
    w.write_char('"')
}

/// (expected, found)
pub(crate) type Fail = (String, String);

fn fail_of(expected: impl Into<String>, found: &str) -> Fail {
    (expected.into(), found.to_owned())
}

fn fail<T>(expected: impl Into<String>, found: &str) -> Result<T, Fail> {
    Err(fail_of(expected, found))
}

fn next_tok<'a>(it: &mut impl Iterator<Item = &'a str>, what: &str) -> Result<&'a str, Fail> {
    it.next().ok_or_else(|| fail_of(what, EOL))
}

pub(crate) fn valid_policy(policy: &str) -> bool {
    !policy.is_empty() && !policy.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Parses a canonical decimal (digits only, no leading zeros).
fn parse_u64(tok: &str, what: &str) -> Result<u64, Fail> {
    let canonical = !tok.is_empty()
        && tok.bytes().all(|b| b.is_ascii_digit())
        && (tok == "0" || !tok.starts_with('0'));
    match tok.parse() {
        Ok(n) if canonical => Ok(n),
        _ => fail(what, tok),
    }
}

fn parse_u32(tok: &str, what: &str) -> Result<u32, Fail> {
    let n = parse_u64(tok, what)?;
    u32::try_from(n).or_else(|_| fail(what, tok))
}

fn parse_time(tok: &str) -> Result<Instant, Fail> {
    const WHAT: &str = "time in seconds with 9 decimals";
    let (secs, frac) = tok.split_once('.').ok_or_else(|| fail_of(WHAT, tok))?;
    if frac.len() != 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return fail(WHAT, tok);
    }
    let secs = parse_u64(secs, WHAT).map_err(|_| fail_of(WHAT, tok))?;
    let frac: u64 = frac.parse().map_err(|_| fail_of(WHAT, tok))?;
    secs.checked_mul(1_000_000_000)
        .and_then(|ns| ns.checked_add(frac))
        .map(Instant::from_nanos)
        .ok_or_else(|| fail_of(WHAT, tok))
}

pub(crate) fn parse_header(line: &str) -> Result<Trace, Fail> {
    let mut parts = line.split(' ');
    let (magic, version) = (parts.next(), parts.next());
    if magic != Some("simloop-trace") || version != Some("v1") {
        return fail(HEADER_EXPECTED, line);
    }
    let policy = match parts.next().and_then(|p| p.strip_prefix("policy=")) {
        Some(p) if valid_policy(p) => p,
        other => return fail("policy=<name>", other.unwrap_or(EOL)),
    };
    let seed_tok = next_tok(&mut parts, "seed=<u64 | none>")?;
    let seed = match seed_tok.strip_prefix("seed=") {
        Some("none") => None,
        Some(n) => Some(
            parse_u64(n, "seed=<u64 | none>")
                .map_err(|_| fail_of("seed=<u64 | none>", seed_tok))?,
        ),
        None => return fail("seed=<u64 | none>", seed_tok),
    };
    if let Some(extra) = parts.next() {
        return fail("end of line", extra);
    }
    Ok(Trace::new(policy, seed))
}

/// Appends `n` in decimal.
#[inline]
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `n` (below `10^width`) in decimal, zero-padded to `width` digits.
#[inline]
fn push_padded(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

/// Inverts [`write_quoted`] exactly, rejecting anything it would not produce.
fn unquote(quoted: &str) -> Result<String, Fail> {
    const WHAT: &str = "quoted task name";
    let bad = || fail_of(WHAT, quoted);
    let inner = quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(bad)?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        let c = match c {
            '\\' => match chars.next().ok_or_else(bad)? {
                '\\' => '\\',
                '"' => '"',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => {
                    let mut hex = 0;
                    for want in ['{', 'x', 'x', '}'] {
                        let got = chars.next().ok_or_else(bad)?;
                        match (want, got) {
                            ('x', '0'..='9' | 'a'..='f') => {
                                hex = hex * 16 + got.to_digit(16).ok_or_else(bad)?
                            }
                            _ if want == got => {}
                            _ => return Err(bad()),
                        }
                    }
                    match char::from_u32(hex) {
                        Some(c) if c.is_control() && !matches!(c, '\n' | '\r' | '\t') => c,
                        _ => return Err(bad()),
                    }
                }
                _ => return Err(bad()),
            },
            '"' => return Err(bad()),
            c if c.is_control() => return Err(bad()),
            c => c,
        };
        out.push(c);
    }
    Ok(out)
}
