//! Signature parity (issue 11): every path the mirror must provide, pinned to a concrete
//! type or function-pointer signature, with its auto traits. Compiled against real tokio
//! here and against the mirror by `signatures_mirror.rs` (the same items, in
//! `signatures/cases.rs`). Drift in a
//! name, a signature, a bound or an auto trait is then a compile error.
//!
//! Generic functions are pinned at one concrete instantiation (futures are
//! `Ready<u32>`, closures `fn() -> u32`); `async fn`s, whose future types cannot be
//! named, are pinned by their output and by `Send`.

#![allow(dead_code, clippy::type_complexity)]

extern crate tokio;

include!("signatures/cases.rs");
