//! The await-site log a loop keeps when a sweep learns from coverage: for each task
//! step, which task ran, where it suspended (the `#[track_caller]` site of the simloop
//! awaitable that returned `Pending`, see `task/await_site.rs`) or that it ended.
//!
//! Off unless asked for ([`EventLoop::record_sites`]); then one push per task step. It
//! never feeds back into the run: the trace and every decision are the same with it on.

use std::panic::Location;

use super::EventLoop;
use crate::task::await_site;

/// One task step, as the site log has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskStep {
    /// The step's number (from 1).
    pub(crate) step: u64,
    /// The task's id.
    pub(crate) task: u32,
    /// Where it suspended, if at a simloop awaitable that notes its site.
    pub(crate) site: Option<&'static Location<'static>>,
    /// The step ended the task (finished, panicked or cancelled).
    pub(crate) done: bool,
}

/// Most task steps a site log keeps (a few dozen bytes each): coverage is learned from a run's
/// first steps, and a long run's memory stays bounded.
pub(crate) const MOST_STEPS: usize = 1 << 20;

/// A loop's site log; while one exists, simloop's awaitables note their sites (see
/// `task/await_site.rs`).
pub(crate) struct SiteLog {
    pub(crate) steps: Vec<TaskStep>,
}

impl SiteLog {
    fn new() -> SiteLog {
        await_site::start();
        SiteLog { steps: Vec::new() }
    }
}

impl Drop for SiteLog {
    fn drop(&mut self) {
        await_site::stop();
    }
}

impl EventLoop {
    /// Starts keeping the site log (see the module docs).
    pub(crate) fn record_sites(&self) {
        let old = self.inner.core().sites.replace(SiteLog::new());
        drop(old);
    }

    /// The site log so far, and stops keeping it.
    pub(crate) fn take_sites(&self) -> Vec<TaskStep> {
        let log = self.inner.core().sites.take();
        log.map(|mut l| std::mem::take(&mut l.steps))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::policy::Random;
    use crate::{create_task, sleep, yield_now, EventLoop};

    /// Two tasks: one yields at two sites, the other sleeps and then ends.
    fn run(record: bool) -> (String, Vec<super::TaskStep>, [u32; 2]) {
        let lp = EventLoop::builder().policy(Random::new(3)).build();
        if record {
            lp.record_sites();
        }
        let lines = [line!() + 3, line!() + 4];
        lp.run_until_complete(async {
            let a = create_task(async {
                yield_now().await;
                yield_now().await;
            });
            let b = create_task(async {
                sleep(Duration::from_millis(1)).await;
            });
            a.await.unwrap();
            b.await.unwrap();
        })
        .unwrap();
        (lp.trace().to_string(), lp.take_sites(), lines)
    }

    #[test]
    fn the_log_names_each_suspension_and_changes_nothing() {
        let (with, log, lines) = run(true);
        let (without, none, _) = run(false);
        assert_eq!(with, without, "recording sites changed the run");
        assert!(none.is_empty());
        let at = |task: u32| -> Vec<Option<u32>> {
            log.iter()
                .filter(|s| s.task == task && !s.done)
                .map(|s| s.site.map(|l| l.line()))
                .collect()
        };
        // Task 2 suspended at its two yields (in order), task 3 at its sleep; the main
        // task (1) at task handles, which note no site.
        assert_eq!(at(2), [Some(lines[0]), Some(lines[1])]);
        assert_eq!(at(3).len(), 1);
        assert!(at(3)[0].is_some());
        assert!(at(1).iter().all(Option::is_none));
        assert!(log.iter().filter(|s| s.done).count() == 3);
        // Steps are increasing and name the loop's steps.
        assert!(log.windows(2).all(|w| w[0].step < w[1].step));
        assert!(log.last().unwrap().step <= 20);
        assert!(file!().ends_with("sites.rs"));
        assert!(log
            .iter()
            .filter_map(|s| s.site)
            .all(|l| l.file().ends_with("sites.rs")));
    }

    #[test]
    fn a_long_run_keeps_only_its_first_steps() {
        let lp = EventLoop::builder().build();
        lp.record_sites();
        lp.run_until_complete(async {
            for _ in 0..super::MOST_STEPS + 50 {
                yield_now().await;
            }
        })
        .unwrap();
        let log = lp.take_sites();
        assert_eq!(log.len(), super::MOST_STEPS);
        assert_eq!(log.last().map(|s| s.step), Some(super::MOST_STEPS as u64));
    }
}
