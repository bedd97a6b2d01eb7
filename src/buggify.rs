//! Fault injection: [`buggify`], after FoundationDB's `BUGGIFY`.

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
/// let summary = Builder::new().env(Env::default()).seeds(0..50).run(|| async {
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
    crate::event_loop::buggify_at(site_hash(loc.file(), loc.line(), loc.column()))
}

/// FNV-1a over `file:line:column`, folded to 32 bits.
pub(crate) fn site_hash(file: &str, line: u32, column: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let text = format!("{file}:{line}:{column}");
    for &b in text.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ (h >> 32)) as u32
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The seeded value of the `hit`-th call (from 1) of `site` in a run with `seed`: the site
/// is enabled for this seed with probability 1/2, and an enabled site fires with
/// probability 1/4.
pub(crate) fn draw(seed: u64, site: u32, hit: u32) -> bool {
    // A constant keeps this stream apart from anything else derived from the seed.
    let base = mix(seed ^ 0x6275_6767_6966_7921 ^ mix(u64::from(site)));
    let enabled = base & 1 == 1;
    enabled && mix(base ^ u64::from(hit)) % 4 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_hash_is_stable() {
        assert_eq!(site_hash("src/a.rs", 1, 1), site_hash("src/a.rs", 1, 1));
        assert_ne!(site_hash("src/a.rs", 1, 1), site_hash("src/a.rs", 1, 2));
    }

    #[test]
    fn rates_are_about_right() {
        let mut enabled = 0;
        let mut fired = 0;
        let mut calls_enabled = 0;
        for seed in 0..2000u64 {
            let on = (1..=20).any(|h| draw(seed, 7, h));
            let n = (1..=20).filter(|&h| draw(seed, 7, h)).count();
            if on {
                enabled += 1;
                calls_enabled += 20;
                fired += n;
            }
        }
        // An enabled site fires on 20 calls with probability 1 - (3/4)^20 ≈ 0.997.
        assert!((900..1100).contains(&enabled), "enabled {enabled}");
        let rate = fired as f64 / calls_enabled as f64;
        assert!((0.2..0.3).contains(&rate), "rate {rate}");
    }
}
