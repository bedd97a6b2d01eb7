//! The six workloads of the benchmark issue, written once per executor so each runs the
//! same logical work. Every workload returns a count that the caller asserts, so nothing
//! is optimised away.
#![allow(dead_code)]

use std::time::Duration;

use futures::channel::mpsc;
use futures::lock::Mutex;
use futures::{SinkExt, StreamExt};

pub const W1_TASKS: u64 = 100_000;
pub const W2_TASKS: u64 = 1_000;
pub const W2_YIELDS: u64 = 1_000;
pub const W3_MESSAGES: u64 = 200_000;
pub const W4_TASKS: u64 = 10_000;
pub const W4_SLEEPS: u64 = 10;
pub const W5_TASKS: u64 = 10;
pub const W5_YIELDS: u64 = 10;
pub const W6_TASKS: u64 = 100;
pub const W6_ACQUISITIONS: u64 = 1_000;

/// Pseudo-random sleep of 1..=1000 ms for task `i`, sleep `j` (a fixed LCG: the same on
/// every executor and every run).
pub fn w4_delay(i: u64, j: u64) -> Duration {
    let x = (i * 6364136223846793005 + j * 1442695040888963407) >> 33;
    Duration::from_millis(1 + x % 1000)
}

/// The ping side of W3: sends `n` numbers and waits for each echo.
pub async fn ping(mut tx: mpsc::Sender<u64>, mut rx: mpsc::Receiver<u64>, n: u64) -> u64 {
    let mut got = 0;
    for i in 0..n {
        tx.send(i).await.expect("pong alive");
        got += u64::from(rx.next().await == Some(i));
    }
    got
}

/// The pong side of W3: echoes every number back.
pub async fn pong(mut rx: mpsc::Receiver<u64>, mut tx: mpsc::Sender<u64>) {
    while let Some(v) = rx.next().await {
        if tx.send(v).await.is_err() {
            break;
        }
    }
}

/// One W6 contender: `n` acquisitions, yielding while holding the lock.
pub async fn contend<Y, F>(m: std::rc::Rc<Mutex<u64>>, n: u64, yield_now: Y)
where
    Y: Fn() -> F,
    F: std::future::Future<Output = ()>,
{
    for _ in 0..n {
        let mut g = m.lock().await;
        yield_now().await;
        *g += 1;
    }
}

pub mod simloop_w {
    use super::*;
    use simloop::EventLoop;
    use std::rc::Rc;

    pub fn fifo() -> EventLoop {
        EventLoop::builder().build()
    }

    pub fn random() -> EventLoop {
        EventLoop::builder().seed(1).build()
    }

    pub fn w1(lp: &EventLoop) -> u64 {
        lp.run_until_complete(async {
            let tasks: Vec<_> = (0..W1_TASKS)
                .map(|i| simloop::create_task(async move { i }))
                .collect();
            let mut n = 0;
            for t in tasks {
                n += u64::from(t.await.is_ok());
            }
            n
        })
        .unwrap()
    }

    pub fn w2(lp: &EventLoop) -> u64 {
        lp.run_until_complete(async {
            let tasks: Vec<_> = (0..W2_TASKS)
                .map(|_| {
                    simloop::create_task(async {
                        for _ in 0..W2_YIELDS {
                            simloop::yield_now().await;
                        }
                        W2_YIELDS
                    })
                })
                .collect();
            let mut n = 0;
            for t in tasks {
                n += t.await.unwrap();
            }
            n
        })
        .unwrap()
    }

    pub fn w3(lp: &EventLoop) -> u64 {
        lp.run_until_complete(async {
            let (tx1, rx1) = mpsc::channel(1);
            let (tx2, rx2) = mpsc::channel(1);
            let p = simloop::create_task(pong(rx1, tx2));
            let n = simloop::create_task(ping(tx1, rx2, W3_MESSAGES))
                .await
                .unwrap();
            p.await.unwrap();
            n
        })
        .unwrap()
    }

    pub fn w4(lp: &EventLoop) -> u64 {
        lp.run_until_complete(async {
            let tasks: Vec<_> = (0..W4_TASKS)
                .map(|i| {
                    simloop::create_task(async move {
                        for j in 0..W4_SLEEPS {
                            simloop::sleep(w4_delay(i, j)).await;
                        }
                        W4_SLEEPS
                    })
                })
                .collect();
            let mut n = 0;
            for t in tasks {
                n += t.await.unwrap();
            }
            n
        })
        .unwrap()
    }

    /// One W5 simulation on a fresh loop.
    pub fn w5(lp: EventLoop) -> u64 {
        let n = lp
            .run_until_complete(async {
                let (tx, mut rx) = mpsc::unbounded();
                for i in 0..W5_TASKS {
                    let tx = tx.clone();
                    drop(simloop::create_task(async move {
                        for _ in 0..W5_YIELDS {
                            simloop::yield_now().await;
                        }
                        tx.unbounded_send(i).unwrap();
                    }));
                }
                drop(tx);
                let mut n = 0;
                while rx.next().await.is_some() {
                    n += 1;
                }
                n
            })
            .unwrap();
        drop(lp);
        n
    }

    pub fn w6(lp: &EventLoop) -> u64 {
        let m = Rc::new(Mutex::new(0u64));
        let m2 = m.clone();
        lp.run_until_complete(async move {
            let tasks: Vec<_> = (0..W6_TASKS)
                .map(|_| {
                    simloop::create_task(contend(m2.clone(), W6_ACQUISITIONS, simloop::yield_now))
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        })
        .unwrap();
        let n = *m.try_lock().unwrap();
        n
    }
}

pub mod tokio_w {
    use super::*;
    use std::rc::Rc;
    use tokio::runtime::{Builder, Runtime};
    use tokio::task::LocalSet;

    /// tokio's current-thread runtime with a paused (auto-advancing) clock.
    pub fn rt() -> Runtime {
        Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    pub fn w1(rt: &Runtime) -> u64 {
        rt.block_on(async {
            let tasks: Vec<_> = (0..W1_TASKS)
                .map(|i| tokio::spawn(async move { i }))
                .collect();
            let mut n = 0;
            for t in tasks {
                n += u64::from(t.await.is_ok());
            }
            n
        })
    }

    pub fn w2(rt: &Runtime) -> u64 {
        rt.block_on(async {
            let tasks: Vec<_> = (0..W2_TASKS)
                .map(|_| {
                    tokio::spawn(async {
                        for _ in 0..W2_YIELDS {
                            tokio::task::yield_now().await;
                        }
                        W2_YIELDS
                    })
                })
                .collect();
            let mut n = 0;
            for t in tasks {
                n += t.await.unwrap();
            }
            n
        })
    }

    pub fn w3(rt: &Runtime) -> u64 {
        rt.block_on(async {
            let (tx1, rx1) = mpsc::channel(1);
            let (tx2, rx2) = mpsc::channel(1);
            let p = tokio::spawn(pong(rx1, tx2));
            let n = tokio::spawn(ping(tx1, rx2, W3_MESSAGES)).await.unwrap();
            p.await.unwrap();
            n
        })
    }

    pub fn w4(rt: &Runtime) -> u64 {
        rt.block_on(async {
            let tasks: Vec<_> = (0..W4_TASKS)
                .map(|i| {
                    tokio::spawn(async move {
                        for j in 0..W4_SLEEPS {
                            tokio::time::sleep(w4_delay(i, j)).await;
                        }
                        W4_SLEEPS
                    })
                })
                .collect();
            let mut n = 0;
            for t in tasks {
                n += t.await.unwrap();
            }
            n
        })
    }

    /// One W5 simulation on a fresh runtime.
    pub fn w5() -> u64 {
        let rt = rt();
        rt.block_on(async {
            let (tx, mut rx) = mpsc::unbounded();
            for i in 0..W5_TASKS {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for _ in 0..W5_YIELDS {
                        tokio::task::yield_now().await;
                    }
                    tx.unbounded_send(i).unwrap();
                });
            }
            drop(tx);
            let mut n = 0;
            while rx.next().await.is_some() {
                n += 1;
            }
            n
        })
    }

    pub fn w6(rt: &Runtime) -> u64 {
        let m = Rc::new(Mutex::new(0u64));
        let local = LocalSet::new();
        let m2 = m.clone();
        local.block_on(rt, async move {
            let tasks: Vec<_> = (0..W6_TASKS)
                .map(|_| {
                    tokio::task::spawn_local(contend(
                        m2.clone(),
                        W6_ACQUISITIONS,
                        tokio::task::yield_now,
                    ))
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        let n = *m.try_lock().unwrap();
        n
    }
}

pub mod executor_w {
    use super::*;
    use async_executor::LocalExecutor;
    use futures_lite::future::{block_on, yield_now};
    use std::rc::Rc;

    pub fn w1() -> u64 {
        let ex = LocalExecutor::new();
        block_on(ex.run(async {
            let tasks: Vec<_> = (0..W1_TASKS).map(|i| ex.spawn(async move { i })).collect();
            let mut n = 0;
            for t in tasks {
                n += u64::from(t.await < W1_TASKS);
            }
            n
        }))
    }

    pub fn w2() -> u64 {
        let ex = LocalExecutor::new();
        block_on(ex.run(async {
            let tasks: Vec<_> = (0..W2_TASKS)
                .map(|_| {
                    ex.spawn(async {
                        for _ in 0..W2_YIELDS {
                            yield_now().await;
                        }
                        W2_YIELDS
                    })
                })
                .collect();
            let mut n = 0;
            for t in tasks {
                n += t.await;
            }
            n
        }))
    }

    pub fn w3() -> u64 {
        let ex = LocalExecutor::new();
        block_on(ex.run(async {
            let (tx1, rx1) = mpsc::channel(1);
            let (tx2, rx2) = mpsc::channel(1);
            let p = ex.spawn(pong(rx1, tx2));
            let n = ex.spawn(ping(tx1, rx2, W3_MESSAGES)).await;
            p.await;
            n
        }))
    }

    /// One W5 simulation on a fresh executor.
    pub fn w5() -> u64 {
        let ex = LocalExecutor::new();
        block_on(ex.run(async {
            let (tx, mut rx) = mpsc::unbounded();
            for i in 0..W5_TASKS {
                let tx = tx.clone();
                ex.spawn(async move {
                    for _ in 0..W5_YIELDS {
                        yield_now().await;
                    }
                    tx.unbounded_send(i).unwrap();
                })
                .detach();
            }
            drop(tx);
            let mut n = 0;
            while rx.next().await.is_some() {
                n += 1;
            }
            n
        }))
    }

    pub fn w6() -> u64 {
        let m = Rc::new(Mutex::new(0u64));
        let ex = LocalExecutor::new();
        let m2 = m.clone();
        block_on(ex.run(async {
            let tasks: Vec<_> = (0..W6_TASKS)
                .map(|_| ex.spawn(contend(m2.clone(), W6_ACQUISITIONS, yield_now)))
                .collect();
            for t in tasks {
                t.await;
            }
        }));
        let n = *m.try_lock().unwrap();
        n
    }
}
