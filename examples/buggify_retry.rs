//! Fault injection with `simloop::buggify()`: a client sends a message with retries; the
//! retry path (a lost reply, a backoff, a resend) only runs when `buggify()` says so.
//!
//! Under FIFO, or outside a simulation, `buggify()` is always `false`: the first send
//! works and the error path never runs. A seed sweep turns faults on per site and per
//! seed, so the retry loop — and the server's deduplication it depends on — is tested
//! under many seeds. Each `buggify()` value is recorded in the trace and a replay returns
//! the same values.
//!
//! Run it: `cargo run --example buggify_retry`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use simloop::{Builder, Env, EventLoop, Fifo, Replay};

/// Attempts before the client gives up.
pub const MAX_ATTEMPTS: u32 = 6;

/// A server that applies each message once, even when it is sent again.
#[derive(Default)]
pub struct Server {
    /// Message ids applied.
    pub applied: RefCell<BTreeSet<u64>>,
    /// How many times any message arrived.
    pub arrivals: Cell<u32>,
}

impl Server {
    async fn receive(&self, id: u64) -> Result<(), &'static str> {
        simloop::sleep(Duration::from_millis(2)).await; // the network
        if simloop::buggify() {
            return Err("request lost"); // never arrived
        }
        self.arrivals.set(self.arrivals.get() + 1);
        self.applied.borrow_mut().insert(id); // idempotent: a resend is harmless
        simloop::sleep(Duration::from_millis(2)).await;
        if simloop::buggify() {
            return Err("reply lost"); // arrived and applied, but the client cannot know
        }
        Ok(())
    }
}

/// What the client saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Attempts made (1 when nothing went wrong).
    pub attempts: u32,
    /// Whether the client got an acknowledgement.
    pub acked: bool,
}

/// Sends message `id` until it is acknowledged, with exponential backoff.
pub async fn send_with_retry(server: Rc<Server>, id: u64) -> Outcome {
    let mut backoff = Duration::from_millis(10);
    for attempt in 1..=MAX_ATTEMPTS {
        match server.receive(id).await {
            Ok(()) => {
                return Outcome {
                    attempts: attempt,
                    acked: true,
                }
            }
            Err(_) => {
                // The error path: only ever reached under buggify.
                simloop::sleep(backoff).await;
                backoff *= 2;
            }
        }
    }
    Outcome {
        attempts: MAX_ATTEMPTS,
        acked: false,
    }
}

/// The test body: three clients send one message each. An acknowledged message must have
/// been applied exactly once, however often it arrived.
pub async fn scenario() -> Result<Vec<Outcome>, String> {
    let server = Rc::new(Server::default());
    let clients: Vec<_> = (0..3u64)
        .map(|id| simloop::create_task(send_with_retry(server.clone(), id)))
        .collect();
    let mut outcomes = Vec::new();
    for (id, c) in clients.into_iter().enumerate() {
        let o = c.await.map_err(|e| e.to_string())?;
        if o.acked && !server.applied.borrow().contains(&(id as u64)) {
            return Err(format!("message {id} acknowledged but never applied"));
        }
        outcomes.push(o);
    }
    Ok(outcomes)
}

fn main() {
    // FIFO: buggify is off, every message goes through on the first attempt.
    let lp = EventLoop::builder().policy(Fifo).build();
    let fifo = lp.run_until_complete(scenario()).unwrap().unwrap();
    println!(
        "FIFO: attempts {:?}",
        fifo.iter().map(|o| o.attempts).collect::<Vec<_>>()
    );
    println!("outside a simulation buggify() is {}", simloop::buggify());

    // A sweep: count the seeds that exercised the retry path.
    let retried = Rc::new(Cell::new(0u32));
    let r = retried.clone();
    let summary = Builder::new()
        .env(Env::default())
        .name("buggify_retry")
        .seeds(0..300)
        .try_check(move || {
            let r = r.clone();
            async move {
                let outcomes = scenario().await?;
                if outcomes.iter().any(|o| o.attempts > 1) {
                    r.set(r.get() + 1);
                }
                Ok::<(), String>(())
            }
        })
        .unwrap_or_else(|f| panic!("{f}"));
    println!(
        "sweep: {} seeds pass; {} of them went down the retry path",
        summary.runs,
        retried.get()
    );

    // Replay: a seed's buggify values come back from its trace.
    let seed = 4;
    let lp = EventLoop::builder().seed(seed).build();
    let first = lp.run_until_complete(scenario()).unwrap().unwrap();
    let trace = lp.trace();
    let lines = trace
        .to_string()
        .lines()
        .filter(|l| l.contains(" buggify "))
        .count();
    let again = EventLoop::builder().policy(Replay::new(&trace)).build();
    let second = again.run_until_complete(scenario()).unwrap().unwrap();
    assert_eq!(first, second);
    assert_eq!(again.trace().to_string(), trace.to_string());
    println!(
        "seed {seed}: {lines} buggify lines in the trace; the replay returned the same values"
    );
}
