//! The ordinary test, under **real tokio**: this file compiles the service's source
//! itself, with no alias, so `tokio` here is tokio. v1's bug never shows: tokio fires
//! timers due in one millisecond in registration order, and the heartbeats registered
//! first. (The library crate itself is built with the mirror during `cargo test`.)

#[path = "../src/service.rs"]
#[allow(dead_code)]
mod service;

use service::{Config, Job, Service};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn v1_passes_its_ordinary_tokio_test() {
    let svc = Service::start(Config::v1());
    for id in 0..20 {
        svc.submit(Job {
            id,
            cost: Duration::from_millis(5),
        })
        .await;
    }
    let done = svc.finish(20, Duration::from_secs(1)).await.unwrap();
    assert_eq!(done, (0..20).collect::<Vec<_>>());
}
