//! [`Bytes`]: every choice from a fuzzer's input.

use std::fmt;

use arbitrary::Unstructured;

use super::{Decision, Policy};
use crate::error::LoopError;

/// A [`Policy`] whose choices come from a byte string (a fuzzer's input).
///
/// Each decision with `n >= 2` candidates — a scheduling step, or a [`choose(n)`](crate::choose)
/// — takes `Unstructured::choose_index(n)` from the bytes not used yet: one byte, taken
/// modulo `n`, for up to 256 candidates. Each [`rng`](crate::rng) draw takes the next 8
/// bytes. When the bytes run out every later decision is index 0, the item asyncio would
/// run next (FIFO), and draws come from the run's own stream.
/// So every byte string is a valid schedule: the empty one is exactly FIFO, and the same
/// bytes always give the same schedule.
///
/// Its name is `bytes` and it has no seed (the trace header says
/// `policy=bytes seed=none`); it cannot be re-seeded for a sweep.
///
/// ```
/// use simloop::{Bytes, EventLoop};
/// let order = |data: &[u8]| {
///     let lp = EventLoop::builder().policy(Bytes::new(data)).build();
///     let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
///     let o = out.clone();
///     lp.run_until_complete(simloop::gather((0..3).map(move |i| {
///         let o = o.clone();
///         async move { o.borrow_mut().push(i) }
///     }))).unwrap();
///     let v = out.borrow().clone();
///     v
/// };
/// assert_eq!(order(&[]), [0, 1, 2]); // no bytes: FIFO
/// assert_eq!(order(&[2]), order(&[2])); // deterministic
/// assert_ne!(order(&[2]), [0, 1, 2]); // the first choice took the third candidate
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Bytes {
    data: Vec<u8>,
    pos: usize,
}

impl Bytes {
    /// A policy that takes its choices from `data`, from the start.
    pub fn new(data: impl Into<Vec<u8>>) -> Bytes {
        Bytes {
            data: data.into(),
            pos: 0,
        }
    }

    /// A policy that takes its choices from the bytes `u` has not consumed yet.
    pub fn from_unstructured(u: Unstructured<'_>) -> Bytes {
        Bytes::new(u.take_rest())
    }

    /// How many bytes the decisions so far have used.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// How many bytes are left (0: every further decision is FIFO).
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
}

impl Bytes {
    /// An index below `n` from the bytes not used yet (0 when `n < 2` or they ran out).
    fn index(&mut self, n: usize) -> usize {
        if n < 2 || self.pos >= self.data.len() {
            return 0;
        }
        let mut u = Unstructured::new(&self.data[self.pos..]);
        // `choose_index` returns index 0 (never an error) when the bytes run out.
        let i = u.choose_index(n).unwrap_or(0);
        self.pos = self.data.len() - u.len();
        i
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bytes")
            .field("len", &self.data.len())
            .field("consumed", &self.pos)
            .finish()
    }
}

impl Policy for Bytes {
    fn name(&self) -> String {
        "bytes".to_owned()
    }

    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        Ok(self.index(d.candidates.len()))
    }

    /// A user-level choice takes its alternative from the bytes too (0 once they run out).
    fn user_choice(&mut self, n: u32) -> Option<u32> {
        Some(self.index(n as usize) as u32)
    }

    /// Random data comes from the next 8 bytes (little-endian); once fewer remain, from the
    /// run's own data stream.
    fn random_u64(&mut self) -> Option<u64> {
        let rest = self.data.get(self.pos..self.pos + 8)?;
        self.pos += 8;
        Some(u64::from_le_bytes(rest.try_into().ok()?))
    }
}
