//! The `SIMLOOP_*` environment variables, read in this one place (a plain-values module:
//! it parses text and depends on nothing else in the crate, so the loop can read
//! `SIMLOOP_SEED` for `new_event_loop` without reaching up into the runner).
//!
//! | variable | meaning | form |
//! | --- | --- | --- |
//! | `SIMLOOP_SEED` | run exactly this seed | `42` or `0x2a` |
//! | `SIMLOOP_SEEDS` | the sweep range (end excluded) | `0..1000`, `0x10..0x20` |
//! | `SIMLOOP_REPLAY` | replay a recorded trace file instead of sweeping | a path |
//! | `SIMLOOP_FUZZ_INPUT` | run once under the fuzzer's schedule in this file (a crash input; see [`fuzz`](crate::fuzz)) instead of sweeping | a path (not with `SIMLOOP_REPLAY`) |
//! | `SIMLOOP_SHARD` | take only the seeds ≡ I (mod N) | `I/N` with `I < N` |
//! | `SIMLOOP_CHECK_DETERMINISM` | run every seed twice and compare | `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off` |
//! | `SIMLOOP_TRACE_DIR` | where failing traces are written | a directory (default `simloop/` in the target directory: `CARGO_TARGET_DIR`, else the one holding the test binary, else `target`) |
//! | `SIMLOOP_VERBOSE` | a passing `check`/`check_all` prints its summary to stderr (how many seeds or schedules ran, and what the environment changed) | `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off` |
//!
//! A bad value is an error naming the variable, the form it expects and what it got. A
//! variable set to an empty (or blank) value is treated as unset — the same for every
//! variable — and said so: [`Env::from_process`] prints one notice on stderr naming it
//! (once per process), and [`Env::set_but_empty`] lists them.
//! Nothing here ever reads the wall clock: a sweep without a seed range uses `0..1000`.
//!
//! ```
//! use simloop::Env;
//! let env = Env::from_lookup(|k| match k {
//!     "SIMLOOP_SEEDS" => Some("0x10..0x20".into()),
//!     "SIMLOOP_SHARD" => Some("1/4".into()),
//!     _ => None,
//! }).unwrap();
//! assert_eq!(env.seeds, Some(16..32));
//! assert_eq!(env.shard, Some((1, 4)));
//! let err = Env::from_lookup(|k| (k == "SIMLOOP_SHARD").then(|| "4/4".into())).unwrap_err();
//! assert_eq!(err.to_string(),
//!     "SIMLOOP_SHARD: expected I/N with 0 <= I < N (e.g. 0/4), got \"4/4\"");
//! ```

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// The parsed `SIMLOOP_*` variables. Every field is `None` when its variable is unset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Env {
    /// `SIMLOOP_SEED`.
    pub seed: Option<u64>,
    /// `SIMLOOP_SEEDS`.
    pub seeds: Option<Range<u64>>,
    /// `SIMLOOP_REPLAY`.
    pub replay: Option<PathBuf>,
    /// `SIMLOOP_FUZZ_INPUT`: a fuzz input (e.g. a libFuzzer crash file) whose bytes drive
    /// one run under [`fuzz::Bytes`](crate::fuzz::Bytes).
    pub fuzz_input: Option<PathBuf>,
    /// `SIMLOOP_SHARD` as `(I, N)`.
    pub shard: Option<(u64, u64)>,
    /// `SIMLOOP_CHECK_DETERMINISM`.
    pub check_determinism: Option<bool>,
    /// `SIMLOOP_TRACE_DIR`.
    pub trace_dir: Option<PathBuf>,
    /// `SIMLOOP_VERBOSE`.
    pub verbose: Option<bool>,
}

/// A `SIMLOOP_*` variable with a value of the wrong form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvError {
    /// The variable.
    pub var: &'static str,
    /// The form it expects.
    pub expected: &'static str,
    /// The value it had.
    pub got: String,
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, got {:?}",
            self.var, self.expected, self.got
        )
    }
}

impl std::error::Error for EnvError {}

const SEED_FORM: &str = "a u64 in decimal (42) or hex with 0x (0x2a)";
const SEEDS_FORM: &str = "a range A..B of u64 seeds with A < B (e.g. 0..1000 or 0x0..0x100)";
const SHARD_FORM: &str = "I/N with 0 <= I < N (e.g. 0/4)";
const FUZZ_INPUT_FORM: &str =
    "a path to a fuzz input, and SIMLOOP_REPLAY unset (both replay one run: set one)";
const BOOL_FORM: &str = "1, true, yes, on, 0, false, no or off";

/// Every variable this module reads.
const VARS: [&str; 7] = [
    "SIMLOOP_SEED",
    "SIMLOOP_SEEDS",
    "SIMLOOP_REPLAY",
    "SIMLOOP_FUZZ_INPUT",
    "SIMLOOP_SHARD",
    "SIMLOOP_CHECK_DETERMINISM",
    "SIMLOOP_TRACE_DIR",
];

/// Says on stderr, once per process, which variables are set but empty (so unset).
fn notice_empty(lookup: impl Fn(&str) -> Option<String>) {
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let empty = Env::set_but_empty(lookup);
    if !empty.is_empty() && !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "simloop: {} set but empty: treated as unset",
            empty.join(", ")
        );
    }
}

fn num(s: &str) -> Option<u64> {
    parse_seed(s).ok()
}

/// Parses a seed as written in `SIMLOOP_SEED`: decimal, or hex with a `0x` prefix.
///
/// ```
/// assert_eq!(simloop::parse_seed("42"), Ok(42));
/// assert_eq!(simloop::parse_seed("0x2a"), Ok(42));
/// assert!(simloop::parse_seed("forty-two").is_err());
/// ```
///
/// # Errors
/// A message naming what was expected and what was given.
pub fn parse_seed(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    r.map_err(|e| {
        format!("expected a u64 seed in decimal (42) or hex with 0x (0x2a), got {s:?} ({e})")
    })
}

/// `SIMLOOP_SEED` from the process environment (what `new_event_loop` uses).
pub(crate) fn seed_from_process() -> Result<Option<u64>, EnvError> {
    notice_empty(|k| {
        (k == "SIMLOOP_SEED")
            .then(|| std::env::var(k).ok())
            .flatten()
    });
    Env::from_lookup(|k| {
        (k == "SIMLOOP_SEED")
            .then(|| std::env::var(k).ok())
            .flatten()
    })
    .map(|e| e.seed)
}

fn err(var: &'static str, expected: &'static str, got: &str) -> EnvError {
    EnvError {
        var,
        expected,
        got: got.to_owned(),
    }
}

fn boolean(var: &'static str, v: &str) -> Result<bool, EnvError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(err(var, BOOL_FORM, v)),
    }
}

impl Env {
    /// Reads the process environment.
    ///
    /// # Errors
    /// The first variable with a malformed value.
    pub fn from_process() -> Result<Env, EnvError> {
        notice_empty(|k| std::env::var(k).ok());
        Env::from_lookup(|k| std::env::var(k).ok())
    }

    /// The `SIMLOOP_*` variables that are set but empty or blank, which every reader treats
    /// as unset.
    ///
    /// ```
    /// let empty = simloop::Env::set_but_empty(|k| match k {
    ///     "SIMLOOP_SEED" => Some("".into()),
    ///     "SIMLOOP_SHARD" => Some("  ".into()),
    ///     "SIMLOOP_SEEDS" => Some("0..10".into()),
    ///     _ => None,
    /// });
    /// assert_eq!(empty, ["SIMLOOP_SEED", "SIMLOOP_SHARD"]);
    /// ```
    pub fn set_but_empty(lookup: impl Fn(&str) -> Option<String>) -> Vec<&'static str> {
        VARS.iter()
            .copied()
            .filter(|k| lookup(k).is_some_and(|v| v.trim().is_empty()))
            .collect()
    }

    /// Reads the variables through `lookup` (for tests, or to take them from elsewhere).
    ///
    /// # Errors
    /// The first variable with a malformed value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Env, EnvError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let mut env = Env::default();
        if let Some(v) = get("SIMLOOP_SEED") {
            env.seed = Some(num(&v).ok_or_else(|| err("SIMLOOP_SEED", SEED_FORM, &v))?);
        }
        if let Some(v) = get("SIMLOOP_SEEDS") {
            let r = v
                .split_once("..")
                .and_then(|(a, b)| Some((num(a)?, num(b)?)))
                .filter(|(a, b)| a < b)
                .ok_or_else(|| err("SIMLOOP_SEEDS", SEEDS_FORM, &v))?;
            env.seeds = Some(r.0..r.1);
        }
        if let Some(v) = get("SIMLOOP_REPLAY") {
            env.replay = Some(PathBuf::from(v));
        }
        if let Some(v) = get("SIMLOOP_FUZZ_INPUT") {
            if env.replay.is_some() {
                return Err(err("SIMLOOP_FUZZ_INPUT", FUZZ_INPUT_FORM, &v));
            }
            env.fuzz_input = Some(PathBuf::from(v));
        }
        if let Some(v) = get("SIMLOOP_SHARD") {
            let s = v
                .split_once('/')
                .and_then(|(i, n)| Some((num(i)?, num(n)?)))
                .filter(|(i, n)| i < n)
                .ok_or_else(|| err("SIMLOOP_SHARD", SHARD_FORM, &v))?;
            env.shard = Some(s);
        }
        if let Some(v) = get("SIMLOOP_CHECK_DETERMINISM") {
            env.check_determinism = Some(boolean("SIMLOOP_CHECK_DETERMINISM", &v)?);
        }
        if let Some(v) = get("SIMLOOP_VERBOSE") {
            env.verbose = Some(boolean("SIMLOOP_VERBOSE", &v)?);
        }
        if let Some(v) = get("SIMLOOP_TRACE_DIR") {
            env.trace_dir = Some(PathBuf::from(v));
        }
        Ok(env)
    }
}

/// The seeds of `range` that belong to shard `i` of `n` (seed ≡ i mod n).
///
/// ```
/// let all: Vec<u64> = (0..4).flat_map(|i| simloop::shard_seeds(0..10, i, 4)).collect();
/// let mut sorted = all.clone();
/// sorted.sort();
/// assert_eq!(sorted, (0..10).collect::<Vec<_>>()); // every seed exactly once
/// ```
pub fn shard_seeds(range: Range<u64>, i: u64, n: u64) -> impl Iterator<Item = u64> {
    let n = n.max(1);
    let i = i % n;
    // The first seed >= range.start that is ≡ i (mod n); None if it would overflow.
    let offset = (i + n - range.start % n) % n;
    let first = range.start.checked_add(offset);
    let end = range.end;
    let mut next = first.filter(|s| *s < end);
    std::iter::from_fn(move || {
        let s = next?;
        next = s.checked_add(n).filter(|t| *t < end);
        Some(s)
    })
}
