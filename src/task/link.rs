//! The one way into a loop: a [`Msg`] posted through a
//! [`LoopLink`](super::header::LoopLink).
//!
//! Everything that changes what a loop will run next — a spawn, a wake, a cancellation,
//! a `call_soon`, a completion hop, a stop request — is a message. The loop (layer 2)
//! implements `LoopLink`; the layers below it (task headers, handles) hold a
//! `Weak<dyn LoopLink>` and never see the loop itself, so imports point one way.
//!
//! How a posted message takes effect is the loop's business and is documented there
//! (`event_loop/mod.rs`): in arrival order, at once when the loop's state is free and
//! nothing is queued before it, else at the start of the next step.

use std::task::Waker;

/// A message to a loop.
pub(crate) enum Msg {
    /// A new task (its slab key): record the spawn and queue its first step.
    Spawn(u64),
    /// Wake a task (its slab key): queue its next step unless already queued.
    Wake(u64),
    /// Deliver a cancellation to a task (its slab key) at its next step.
    Cancel(u64),
    /// Queue a `call_soon` callback (its handle slot).
    Call(u32),
    /// An asyncio-style completion hop: wake this waker from a callback step of its own.
    Relay(Waker),
    /// Queue the stop request (run_until_complete's completion hop).
    Stop,
}
