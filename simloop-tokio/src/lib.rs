//! # simloop-tokio — tokio's API on simloop's deterministic loop (under construction)
//!
//! This crate will mirror tokio's public API so that one line at a crate root,
//! `#[cfg(test)] extern crate simloop_tokio as tokio;`, runs that crate's tokio code and
//! `#[tokio::test]`s on simloop: virtual time, every scheduling choice made by a seeded
//! policy, sweeps, replay and shrinking (issue 11).
//!
//! Nothing is mirrored yet. What exists today:
//!
//! - `NOTES.md` (next to this crate's `Cargo.toml`): tokio's observable semantics that
//!   the mirror must reproduce, item by item, with the tokio source they come from, and
//!   what each item needs from simloop's core;
//! - `tests/parity_real.rs`: the parity suite, run against real tokio (paused clock) now
//!   and against the mirror later by changing its `extern crate` line;
//! - `tests/signatures.rs`: each path to mirror pinned to a concrete signature, with its
//!   `Send`/`Sync` properties, compiled against real tokio;
//! - in `simloop-macros`, the argument parsing of `#[tokio::test]` / `#[tokio::main]`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
