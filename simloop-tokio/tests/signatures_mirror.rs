//! Signature parity (issue 11) against the mirror: the items of `signatures/cases.rs`,
//! with tokio switched to the mirror by the one line users write. Real tokio is also a
//! dependency of this package, so this also shows the `extern crate` alias shadowing
//! it for every `tokio::…` path, `tokio::select!`, `#[tokio::test]` and `#[tokio::main]`.

#![allow(dead_code, clippy::type_complexity)]

extern crate simloop_tokio as tokio;

include!("signatures/cases.rs");
