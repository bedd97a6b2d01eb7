//! FNV-1a, 64 bits: the crate's one stable hash (trace digests, buggify sites, fuzz input
//! names). Identical on every machine and Rust version.

use std::fmt::{self, Write as _};

use super::Trace;

/// FNV-1a's offset basis.
const BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a's 64-bit prime.
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// Streams bytes into a 64-bit FNV-1a hash.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fnv1a(u64);

impl Fnv1a {
    pub(crate) fn new() -> Fnv1a {
        Fnv1a(BASIS)
    }

    pub(crate) fn bytes(mut self, data: &[u8]) -> Fnv1a {
        for &b in data {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(PRIME);
        }
        self
    }

    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

impl fmt::Write for Fnv1a {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        *self = self.bytes(s.as_bytes());
        Ok(())
    }
}

/// FNV-1a of `data`.
pub(crate) fn fnv1a(data: &[u8]) -> u64 {
    Fnv1a::new().bytes(data).finish()
}

impl Trace {
    /// 64-bit FNV-1a hash of the rendered text: a stable fingerprint of the
    /// run, identical across machines and Rust versions. For a loop's trace whose oldest
    /// events left memory, still the hash of the whole run's text (as a streamed file has
    /// it), kept up to date as they left.
    pub fn digest(&self) -> u64 {
        if self.truncated.is_none() {
            return self.digest_state().finish();
        }
        let mut hasher = Fnv1a::new();
        // Fnv1a::write_str never fails.
        let _ = write!(hasher, "{self}");
        hasher.0
    }
}
