//! The value a seeded policy gives [`buggify`](crate::buggify): its own stream, derived
//! from the seed, the site and the call count, so adding a `buggify()` call never
//! perturbs the scheduling decisions of a seed.

/// SplitMix64's finaliser: a well-mixed 64-bit hash of `x`.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The seeded value of the `hit`-th call (from 1) of `site` in a run with `seed`: the site
/// is enabled for this seed with probability 1/2, and an enabled site fires with
/// probability 1/4.
pub(crate) fn seeded_buggify(seed: u64, site: u32, hit: u32) -> bool {
    // A constant keeps this stream apart from anything else derived from the seed.
    let base = mix(seed ^ 0x6275_6767_6966_7921 ^ mix(u64::from(site)));
    let enabled = base & 1 == 1;
    enabled && mix(base ^ u64::from(hit)) % 4 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_about_right() {
        let mut enabled = 0;
        let mut fired = 0;
        let mut calls_enabled = 0;
        for seed in 0..2000u64 {
            let on = (1..=20).any(|h| seeded_buggify(seed, 7, h));
            let n = (1..=20).filter(|&h| seeded_buggify(seed, 7, h)).count();
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
