//! [`Random`]: a uniform choice among everything runnable, from a seeded stream.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::{Decision, Policy, Strategy};
use crate::error::LoopError;

/// Uniform choice among every runnable item, from a ChaCha8 stream seeded by `seed`.
///
/// The same seed always gives the same choices, on every machine.
///
/// ```
/// use simloop::{EventLoop, Random};
/// let lp = EventLoop::builder().policy(Random::new(7)).build();
/// assert_eq!(lp.seed(), Some(7));
/// ```
#[derive(Clone, Debug)]
pub struct Random {
    seed: u64,
    rng: ChaCha8Rng,
}

impl Random {
    /// A random policy seeded with `seed`.
    pub fn new(seed: u64) -> Random {
        Random {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }
}

impl Policy for Random {
    fn name(&self) -> String {
        "random".to_owned()
    }
    #[inline]
    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        // Multiply-shift maps a uniform u64 onto 0..len without division.
        let r = self.rng.next_u64() as u128;
        Ok(((r * d.candidates.len() as u128) >> 64) as usize)
    }
    fn seed(&self) -> Option<u64> {
        Some(self.seed)
    }
}

impl Strategy for Random {
    fn name(&self) -> String {
        "random".to_owned()
    }
    fn for_seed(&self, seed: u64) -> Box<dyn Policy> {
        Box::new(Random::new(seed))
    }
}
