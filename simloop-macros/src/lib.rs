//! Attribute macros for [simloop](https://docs.rs/simloop).
//!
//! - [`macro@test`], re-exported as `#[simloop::test]`: an `async fn` becomes a `#[test]`
//!   that sweeps its body over seeds with `simloop::check`.
//! - [`macro@tokio_test`] and [`macro@tokio_main`]: tokio's `#[tokio::test]` and
//!   `#[tokio::main]`, with tokio's arguments and rules, for the tokio mirror
//!   (`simloop-tokio`). They expand to calls of
//!   `::simloop_tokio::__private::{test_main, block_on_main}`.
//! - [`macro@select`]: the mirror's `select!`, with the policy choosing the first branch
//!   polled.
//!
//! Depend on `simloop` (whose default `macros` feature re-exports [`macro@test`]) rather
//! than on this crate.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

use proc_macro::TokenStream;

mod item;
mod select;
mod simloop_test;
mod tokio_attr;

/// Turns `async fn name() { body }` into a `#[test] fn name()` that runs
/// `simloop::check` on the body: a sweep over seeds (`SIMLOOP_SEEDS`, default `0..1000`)
/// under the portfolio, with a fresh loop per seed, panicking with the replayable report
/// on the first failing seed.
///
/// ```
/// #[simloop::test]
/// async fn spawned_task_runs() {
///     let t = simloop::create_task(async { 6 * 7 });
///     assert_eq!(t.await.unwrap(), 42);
/// }
/// ```
///
/// The body may return `Result<(), E>` with `E: Debug`; an `Err` fails that seed. Other
/// attributes (`#[should_panic(expected = …)]`, `#[ignore]`, doc comments) may come before
/// or after it and stay on the generated test:
///
/// ```
/// #[simloop::test]
/// #[should_panic(expected = "SIMLOOP_SEED=")]
/// async fn lost_update() -> Result<(), String> {
///     use std::{cell::Cell, rc::Rc};
///     let n = Rc::new(Cell::new(0));
///     let bump = |n: Rc<Cell<u32>>| async move {
///         let v = n.get();
///         simloop::yield_now().await;
///         n.set(v + 1);
///     };
///     simloop::gather([bump(n.clone()), bump(n.clone())]).await;
///     if n.get() == 2 { Ok(()) } else { Err(format!("lost an update: {}", n.get())) }
/// }
/// ```
///
/// (`cargo test` runs such tests; a doc example only compiles them, since `#[test]`
/// functions exist only in test builds. `sim-tests/macros.rs` runs these two.)
///
/// # Arguments
///
/// `crate = "path"` names the simloop crate when it is not reachable as `::simloop`
/// (e.g. it was renamed in `Cargo.toml`): `#[simloop::test(crate = "sim")]`.
///
/// # Expansion, and why the body is always `Fn`
///
/// ```text
/// #[::core::prelude::v1::test]
/// fn name() {
///     async fn __simloop_test_body() -> R { body }   // the original function, renamed
///     ::simloop::check(__simloop_test_body)
/// }
/// ```
///
/// A sweep calls the body once per seed, so it must be `Fn`. Because the body becomes a
/// nested `async fn`, it can capture nothing and is always `Fn`; everything it uses is
/// created inside it, afresh for each seed. The one way to hand it an outside value,
/// a parameter, is refused with a message saying to build the value inside the body:
///
/// ```compile_fail
/// #[simloop::test]
/// async fn takes_a_value(accounts: Vec<u64>) { // error: #[simloop::test] functions take no
///     drop(accounts);                          // arguments: the sweep runs the body once per
/// }                                            // seed, so create each value the test needs
///                                              // inside the body (e.g. `let accounts = …;`)
/// ```
///
/// (Calling `simloop::check` by hand with a closure that moves a captured value out is
/// the other way to get a non-`Fn` body; there rustc's error is "expected a closure that
/// implements the `Fn` trait, but this closure only implements `FnOnce`", and the fix is
/// the same: create the value inside the closure, or clone it there.)
///
/// The function must be an `async fn` without a second `#[test]` attribute:
///
/// ```compile_fail
/// #[simloop::test]
/// fn not_async() {} // error: #[simloop::test] goes on an `async fn`: write `async fn not_async()`
/// ```
///
/// and the body's output must be `()` or `Result<(), E: Debug>`: another return type is
/// refused in test builds with "the trait bound `u32: CheckOutcome` is not satisfied".
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    simloop_test::expand(args.into(), item.into()).into()
}

/// The tokio mirror's `#[tokio::test]` (the mirror re-exports it under that name): tokio's
/// arguments — `flavor = "current_thread" | "multi_thread" | "local"`,
/// `worker_threads = N`, `start_paused = bool`, `crate = "path"`,
/// `unhandled_panic = "ignore" | "shutdown_runtime"`, `name = "…"` — checked by tokio's
/// rules (`worker_threads` only with `multi_thread`; `start_paused` and
/// `unhandled_panic` only with `current_thread` or `local`; each at most once; names
/// case-insensitive), then the body swept like [`macro@test`] through
/// `CRATE::__private::test_main(CRATE::__private::Options { … }, __simloop_test_body)`,
/// where `CRATE` is `::simloop_tokio` or the `crate` argument. `multi_thread` runs on the
/// single simulated thread; the options are passed on so the mirror can honour or
/// report them.
///
/// An unknown argument is a compile error naming it and listing the accepted ones:
///
/// ```compile_fail
/// #[simloop_macros::tokio_test(seed = 7)] // error: unknown argument `seed` for #[tokio::test];
/// async fn t() {}                          // accepted arguments: `flavor`, `worker_threads`, …
/// ```
#[proc_macro_attribute]
pub fn tokio_test(args: TokenStream, item: TokenStream) -> TokenStream {
    tokio_attr::expand(tokio_attr::Kind::Test, args.into(), item.into()).into()
}

/// [`macro@tokio_test`], but the body runs once under FIFO (tokio's own current-thread
/// order) through `CRATE::__private::test_fifo`, instead of being swept: the mirror's
/// `simloop_tokio::fifo::test`, for tests that pin tokio's exact order.
#[proc_macro_attribute]
pub fn tokio_test_fifo(args: TokenStream, item: TokenStream) -> TokenStream {
    tokio_attr::expand_with(
        tokio_attr::Kind::Test,
        "test_fifo",
        args.into(),
        item.into(),
    )
    .into()
}

/// The tokio mirror's `select!` (re-exported as `simloop_tokio::select`): tokio's
/// syntax — `pattern = future (, if precondition)? => handler,` branches, an optional
/// `else => handler`, an optional leading `biased;` — with the first branch polled
/// chosen by `::simloop_tokio::__private::SelectStart` (the policy's choice, a rotation
/// under FIFO) instead of a thread-local random number. At most 64 branches.
///
/// Every future is built (and every precondition evaluated) before the first poll; a
/// branch whose precondition is false is never polled; a ready branch whose pattern
/// does not match is disabled and the scan goes on; with every branch disabled, `else`
/// runs, and without `else` it panics "all branches are disabled and there is no else
/// branch". Handlers run outside the polling, so `?`, `return`, `break` and `continue`
/// in them act on the enclosing function or loop.
#[proc_macro]
pub fn select(input: TokenStream) -> TokenStream {
    select::expand(input.into()).into()
}

/// The tokio mirror's `#[tokio::main]`: the arguments of [`macro@tokio_test`] (default
/// flavor `multi_thread`, as tokio's), and the body run once through
/// `CRATE::__private::block_on_main(CRATE::__private::Options { … }, async move { … })`,
/// returning its output. Like tokio's, it may annotate any `async fn`, but `main` itself
/// takes no arguments.
#[proc_macro_attribute]
pub fn tokio_main(args: TokenStream, item: TokenStream) -> TokenStream {
    tokio_attr::expand(tokio_attr::Kind::Main, args.into(), item.into()).into()
}
