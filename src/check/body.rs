//! [`Body`]: what a sweep runs once per seed, and [`CheckOutcome`]: what it may return.

use std::fmt;
use std::future::Future;

/// A test body: called once per run, each call a fresh future on a fresh loop.
///
/// Implemented by every `Fn() -> impl Future` closure whose output is a
/// [`CheckOutcome`] (`()` or `Result<(), E>`). The body is called many times (once per
/// seed, again for probes, determinism checks and shrinking), so it must be `Fn`: clone
/// what it captures inside it.
///
/// ```compile_fail
/// let owned = String::from("moved into the body");
/// // A body that moves a captured value out is `FnOnce`, not a `Body`:
/// simloop::check(move || async move { drop(owned) });
/// ```
///
/// ```
/// let shared = std::rc::Rc::new(String::from("cloned per run"));
/// simloop::Builder::new().seeds(0..3).env(simloop::Env::default()).check(move || {
///     let s = shared.clone(); // a fresh clone for each run
///     async move { assert!(!s.is_empty()) }
/// });
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a simloop test body",
    label = "a body must be a closure that can be called once per run: `|| async {{ … }}`",
    note = "the body runs once per seed, so it must be `Fn`, not `FnOnce`: clone captured values inside the closure (`move || {{ let x = x.clone(); async move {{ … }} }}`), and return `()` or `Result<(), E: Debug>`"
)]
pub trait Body {
    /// The future one run awaits.
    type Fut: Future<Output = Self::Output> + 'static;
    /// What the future returns.
    type Output: CheckOutcome;
    /// Makes the future for one run.
    fn call(&self) -> Self::Fut;
}

impl<F, Fut> Body for F
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
    Fut::Output: CheckOutcome,
{
    type Fut = Fut;
    type Output = Fut::Output;
    fn call(&self) -> Fut {
        self()
    }
}

/// What a test body may return: `()` (failure = panic) or `Result<(), E>` (failure =
/// panic or `Err`).
pub trait CheckOutcome {
    /// `Err(description)` if the body reported a failure.
    fn into_check_result(self) -> Result<(), String>;
}

impl CheckOutcome for () {
    fn into_check_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Debug> CheckOutcome for Result<(), E> {
    fn into_check_result(self) -> Result<(), String> {
        self.map_err(|e| format!("the test returned Err({e:?})"))
    }
}
