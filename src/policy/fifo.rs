//! [`Fifo`]: asyncio's own order.

use super::{Decision, Policy, Strategy};
use crate::error::LoopError;

/// asyncio's order: always the item at the head of the ready queue.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fifo;

impl Policy for Fifo {
    fn name(&self) -> String {
        "fifo".to_owned()
    }
    #[inline]
    fn choose(&mut self, _: &Decision<'_>) -> Result<usize, LoopError> {
        Ok(0)
    }
}

impl Strategy for Fifo {
    fn name(&self) -> String {
        "fifo".to_owned()
    }
    /// Every seed runs FIFO (a sweep of FIFO runs the same schedule each time).
    fn for_seed(&self, _: u64) -> Box<dyn Policy> {
        Box::new(Fifo)
    }
}
