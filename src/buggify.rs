//! Fault injection: [`buggify`], after FoundationDB's `BUGGIFY`. The call site names the
//! fault; the run's policy decides the value (see [`Policy::buggify`](crate::Policy::buggify)).

use crate::event_loop::registry;
use crate::trace::digest::fnv1a;

/// `true` now and then inside a seeded simulation, to push the code around it down its
/// rare paths (a timeout, a retry, a short read); always `false` outside a running loop,
/// under [`Fifo`](crate::Fifo) and under any policy without a seed.
///
/// - **Per site**: a call site is identified by its source location (file, line, column,
///   via `#[track_caller]`), hashed with FNV-1a to 32 bits — the same on every machine.
/// - **Swarm testing**: each site is enabled in half of the runs and disabled in the
///   others, decided from the seed, so a run explores some faults in depth rather than all
///   of them a little. An enabled site returns `true` on a quarter of its calls.
/// - **Its own stream**: the values are a hash of the loop's seed, the site and how many
///   times the site was called in this run — not drawn from the scheduler's random
///   stream, so adding a `buggify()` call never changes the scheduling decisions of a seed
///   whose runs do not reach it.
/// - **Recorded and replayed**: each call in a seeded run adds a `buggify <site> <0|1>`
///   line to the trace, and a [`Replay`](crate::Replay) of that trace returns the recorded
///   values.
///
/// ```
/// use simloop::{Builder, Env};
/// // A flaky send that a retry loop must survive: the retry path only runs under buggify.
/// let summary = Builder::new().env(Env::default()).seeds(0..50).try_check(|| async {
///     let mut attempts = 0;
///     loop {
///         attempts += 1;
///         if !simloop::buggify() { break; }   // "the send failed"
///         simloop::sleep(std::time::Duration::from_millis(10)).await;
///     }
///     assert!(attempts >= 1);
/// }).unwrap();
/// assert_eq!(summary.runs, 50);
/// assert!(!simloop::buggify()); // outside a simulation: never
/// ```
#[track_caller]
pub fn buggify() -> bool {
    let loc = std::panic::Location::caller();
    let site = site_hash(loc.file(), loc.line(), loc.column());
    match registry::running() {
        Some(inner) => inner.buggify(site),
        None => false,
    }
}

/// FNV-1a over `file:line:column`, folded to 32 bits.
pub(crate) fn site_hash(file: &str, line: u32, column: u32) -> u32 {
    let h = fnv1a(format!("{file}:{line}:{column}").as_bytes());
    (h ^ (h >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_hash_is_stable() {
        assert_eq!(site_hash("src/a.rs", 1, 1), site_hash("src/a.rs", 1, 1));
        assert_ne!(site_hash("src/a.rs", 1, 1), site_hash("src/a.rs", 1, 2));
        // Pinned: recorded traces name sites by this hash.
        assert_eq!(site_hash("src/a.rs", 1, 1), 0xcab0_cc57);
    }
}
