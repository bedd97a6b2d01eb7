//! The unit-test form of the switch: this crate uses real tokio, and its unit tests run
//! on the mirror (`simloop-tokio` is only a dev-dependency).

#[cfg(test)]
extern crate simloop_tokio as tokio;

use std::time::Duration;

/// Sums `n` values produced by `n` tasks, each after `n - i` milliseconds.
pub async fn staggered_sum(n: u64) -> u64 {
    let mut handles = Vec::new();
    for i in 0..n {
        handles.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(n - i)).await;
            i
        }));
    }
    let mut sum = 0;
    for h in handles {
        sum += h.await.expect("no task panics");
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unit_tests_run_on_the_mirror() {
        assert!(
            simloop::get_running_loop().is_ok(),
            "#[tokio::test] is the mirror's: the body runs on a simloop loop"
        );
        let start = tokio::time::Instant::now();
        assert_eq!(staggered_sum(4).await, 6);
        assert_eq!(start.elapsed(), Duration::from_millis(4), "virtual time");
    }
}
