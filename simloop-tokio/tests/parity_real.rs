//! The tokio parity suite (issue 11) against **real tokio** with a paused clock. The
//! tests are in `parity/cases.rs`; `parity_mirror.rs` runs the same file against the
//! mirror. Each test asserts exact observable results (instants relative to the test's
//! start, Display/Debug strings, orders) that the mirror must reproduce under its FIFO
//! policy. Task ids are process-global in tokio, so tests compare them with
//! `JoinHandle::id` rather than with literals. Out of scope: anything needing real
//! threads or I/O (`multi_thread` parallelism, `block_in_place` on `multi_thread`,
//! wall-clock timing); see `NOTES.md`.

extern crate tokio;

include!("parity/cases.rs");

// Real tokio only: under the mirror, time stays virtual after `resume()` (see
// `mirror.rs::resume_keeps_time_virtual`).
#[tokio::test(start_paused = true)]
async fn resume_lets_the_clock_run_and_pause_freezes_it_again() {
    tokio::time::resume();
    let t = Instant::now();
    std::thread::sleep(ms(5));
    assert!(t.elapsed() >= ms(5), "resumed: real time passes");
    tokio::time::pause();
    let frozen = Instant::now();
    std::thread::sleep(ms(2));
    assert_eq!(Instant::now(), frozen);
}
