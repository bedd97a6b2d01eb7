//! The service's tests. Under `cargo test` the `sim` feature is on (the self
//! dev-dependency), so this line switches them to the mirror, and each `#[tokio::test]`
//! is a simloop sweep over schedules.

#[cfg(feature = "sim")]
extern crate simloop_tokio as tokio;

use std::time::Duration;
use tokio_service::{Config, Job, Service};

async fn twenty_jobs(config: Config) -> Result<(), String> {
    let svc = Service::start(config);
    for id in 0..20 {
        svc.submit(Job {
            id,
            cost: Duration::from_millis(5),
        })
        .await;
    }
    let done = svc.finish(20, Duration::from_secs(1)).await?;
    assert_eq!(done, (0..20).collect::<Vec<_>>());
    Ok(())
}

/// After the fix, every schedule of the sweep does every job.
#[tokio::test(start_paused = true)]
async fn every_job_is_done() -> Result<(), String> {
    twenty_jobs(Config::fixed()).await
}

/// v1's bug, found by the sweep: its report (on stderr) names the failing seed, the
/// schedule and the replay line.
#[tokio::test(start_paused = true)]
#[should_panic(expected = "lost jobs")]
async fn v1_loses_a_job_when_a_check_ties_with_a_heartbeat() -> Result<(), String> {
    twenty_jobs(Config::v1()).await
}

/// The same failure through the sweep API: found, replayed from its trace alone, and
/// reproduced from its seed alone.
#[test]
fn the_failure_replays_exactly() {
    let dir = std::env::temp_dir().join("tokio-service-example");
    let f = simloop::Builder::new()
        .name("v1")
        .trace_dir(&dir)
        .try_check(|| twenty_jobs(Config::v1()))
        .unwrap_err();
    assert!(f.message.contains("lost jobs"), "{}", f.message);
    let seed = f.seed.expect("a sweep failure has a seed");
    assert!(f
        .replay_command
        .starts_with(&format!("SIMLOOP_SEED={seed:#x}")));
    let replayed = simloop::Builder::new()
        .name("v1")
        .trace_dir(&dir)
        .replay(f.trace.clone())
        .try_check(|| twenty_jobs(Config::v1()))
        .unwrap_err();
    assert_eq!(replayed.message, f.message);
    let again = simloop::Builder::new()
        .name("v1")
        .trace_dir(&dir)
        .seed(seed)
        .shrink(false)
        .try_check(|| twenty_jobs(Config::v1()))
        .unwrap_err();
    assert_eq!(again.message, f.message);
}
