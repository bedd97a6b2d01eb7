//! The runner: seed sweeps, bounded exhaustive search, replay, fuzz inputs, shrinking and
//! failure reports. The only layer that reads the environment's `SIMLOOP_*` run settings
//! (through [`Env`](crate::Env)) and builds loops for many runs.
//!
//! - [`builder`]: [`Builder`] and its settings; [`terminals`]: `check`/`try_check`,
//!   `check_all`/`try_check_all`, `fuzz_check`/`try_fuzz_check`.
//! - [`body`]: [`Body`], what a sweep runs; [`source`]: where a replay reads a trace.
//! - [`run`]: one run on a fresh loop ([`outcome`]: its result); [`sweep`]: the sweep; [`replay`]: replays;
//!   [`fuzz_input`]: fuzz inputs; [`search`] + [`explore`]: bounded exhaustive search;
//!   [`shrink`]: shrinking ([`shrunk`]: its result); [`quiet`]: silencing re-runs and
//!   recording their panics.
//! - [`plan`]: a terminal's settings (test name, environment, trace directory),
//!   resolved once.
//! - [`report`]: [`Failure`] (one constructor, one report, one place it is raised),
//!   [`Summary`]; [`cause`]: what the report names as the cause (the run's earliest
//!   panic, its step, hints).
//!
//! ```should_panic
//! use std::{cell::Cell, rc::Rc};
//! // Two tasks increment a shared counter with a read–yield–write: a lost update.
//! simloop::Builder::new().seeds(0..100).name("lost_update").check(|| async {
//!     let counter = Rc::new(Cell::new(0));
//!     let incr = |c: Rc<Cell<i32>>| async move {
//!         let v = c.get();
//!         simloop::yield_now().await;
//!         c.set(v + 1);
//!     };
//!     simloop::gather([incr(counter.clone()), incr(counter.clone())]).await;
//!     assert_eq!(counter.get(), 2, "an increment was lost");
//! });
//! ```

pub(crate) mod adaptive;
pub(crate) mod body;
pub(crate) mod builder;
pub(crate) mod cause;
pub(crate) mod corpus;
pub(crate) mod coverage;
pub(crate) mod explore;
pub(crate) mod fuzz_input;
pub(crate) mod outcome;
pub(crate) mod plan;
pub(crate) mod quiet;
pub(crate) mod replay;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod search;
pub(crate) mod shrink;
pub(crate) mod shrunk;
pub(crate) mod source;
pub(crate) mod sweep;
pub(crate) mod terminals;

pub use body::{Body, CheckOutcome};
pub use builder::{Builder, DEFAULT_MAX_PREEMPTIONS, DEFAULT_MAX_SCHEDULES, DEFAULT_SHRINK_BUDGET};
pub use report::{Failure, FailureKind, Summary};
pub use search::ExploreSummary;
pub use shrunk::Shrunk;
pub use source::TraceSource;
pub use sweep::DEFAULT_SEEDS;
