//! A small job service written against tokio — workers on an `mpsc` queue, a
//! supervisor that watches their heartbeats (`interval`), `select!` with a shutdown
//! signal, `timeout`s — and the example of `simloop-tokio`: its ordinary
//! `#[tokio::test]` passes under real tokio, and the same test under the mirror finds
//! the interleaving bug of [`Config::v1`], reports it, replays it and, after the fix,
//! passes a sweep. See the README's "Testing tokio code".

// The one line: with the `sim` feature (which `cargo test` turns on through the self
// dev-dependency in Cargo.toml), every `tokio::…` below is the mirror's.
#[cfg(feature = "sim")]
extern crate simloop_tokio as tokio;

mod service;

pub use service::{Config, Job, Service, HEARTBEAT};
