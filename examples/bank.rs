//! README's main job: a seed sweep finds an interleaving bug, prints the failure report
//! (with the failing schedule shrunk to a minimal one and its story), replays the failing
//! schedule from its trace file, shrinks a noisier failing schedule, and shows the fix
//! passing the same sweep.
//!
//! The bug: a transfer debits one account, `await`s (think: writes an audit log to a
//! remote service), then credits the other. An auditor summing the balances while a
//! transfer is half done sees money vanish or appear. asyncio's FIFO order happens to
//! hide it; a seeded random schedule finds it within a few seeds.
//!
//! Run it: `cargo run --example bank` (`SIMLOOP_SEED=0x… cargo run --example bank` runs
//! one seed, as the report's replay line says).

use std::cell::RefCell;
use std::rc::Rc;

use futures::lock::Mutex;
use simloop::{Builder, EventLoop, Fifo};

const ACCOUNTS: usize = 3;
const OPENING: i64 = 100;

struct Bank {
    balances: RefCell<Vec<i64>>,
    /// Held across a whole transfer or audit in the fixed version.
    ledger: Mutex<()>,
    fixed: bool,
}

impl Bank {
    fn new(fixed: bool) -> Rc<Bank> {
        Rc::new(Bank {
            balances: RefCell::new(vec![OPENING; ACCOUNTS]),
            ledger: Mutex::new(()),
            fixed,
        })
    }

    async fn transfer(&self, from: usize, to: usize, amount: i64) {
        let _guard = if self.fixed {
            Some(self.ledger.lock().await)
        } else {
            None
        };
        if self.balances.borrow()[from] < amount {
            return;
        }
        self.balances.borrow_mut()[from] -= amount;
        simloop::yield_now().await; // "write the audit log": the transfer is half done here
        self.balances.borrow_mut()[to] += amount;
    }

    async fn audit(&self) -> i64 {
        let _guard = if self.fixed {
            Some(self.ledger.lock().await)
        } else {
            None
        };
        let mut total = 0;
        for i in 0..ACCOUNTS {
            total += self.balances.borrow()[i];
            simloop::yield_now().await; // one account per round trip to the database
        }
        total
    }
}

/// The test body: two transfers and an audit run concurrently; the audit must see all the
/// money.
async fn scenario(fixed: bool) -> Result<(), String> {
    let bank = Bank::new(fixed);
    let (b1, b2, b3) = (bank.clone(), bank.clone(), bank.clone());
    let t1 =
        simloop::create_task_named("transfer 0->1", async move { b1.transfer(0, 1, 50).await });
    let t2 =
        simloop::create_task_named("transfer 1->2", async move { b2.transfer(1, 2, 70).await });
    let audit = simloop::create_task_named("audit", async move { b3.audit().await });
    let total = audit.await.map_err(|e| e.to_string())?;
    t1.await.map_err(|e| e.to_string())?;
    t2.await.map_err(|e| e.to_string())?;
    let expected = OPENING * ACCOUNTS as i64;
    if total != expected {
        return Err(format!("audit saw {total}, but the bank holds {expected}"));
    }
    Ok(())
}

fn main() {
    // 1. asyncio's own order hides the bug.
    let lp = EventLoop::builder().policy(Fifo).build();
    let fifo = lp
        .run_until_complete(scenario(false))
        .expect("the loop runs");
    println!("FIFO (asyncio's order): {fifo:?}");

    // 2. A seed sweep finds it.
    println!("\n== sweeping seeds 0..1000 over the buggy bank");
    let failure = match Builder::new()
        .seeds(0..1000)
        .name("bank_audit")
        .try_check(|| scenario(false))
    {
        Ok(summary) => {
            println!("no failure in {} runs: the bug was not found", summary.runs);
            std::process::exit(1);
        }
        Err(f) => f,
    };
    println!("{failure}");

    // 3. The trace file replays the failure step for step.
    let path = failure
        .trace_path
        .clone()
        .expect("the failing trace was written");
    println!("\n== replaying {}", path.display());
    let again = Builder::new()
        .name("bank_audit")
        .replay(path.as_path())
        .try_check(|| scenario(false))
        .expect_err("the replay fails the same way");
    println!("replay failed the same way: {}", again.message);
    assert_eq!(again.message, failure.message);
    assert_eq!(again.trace.to_string(), failure.trace.to_string());
    println!(
        "and its trace is byte-identical ({} events, digest {:#018x})",
        again.trace.len(),
        again.trace.digest()
    );

    // 4. Shrinking. Seed 0's schedule was already minimal (see "shrunk schedule" above);
    //    a noisier failing schedule shrinks to the one preemption the bug needs.
    println!("\n== shrinking: the first failing seed whose schedule has 4 or more preemptions");
    let noisy = (0..1000)
        .filter_map(|seed| {
            Builder::new()
                .seeds(seed..seed + 1)
                .name("bank_audit")
                .try_check(|| scenario(false))
                .err()
        })
        .find(|f| f.shrunk.as_ref().is_some_and(|s| s.preemptions_before >= 4))
        .expect("a noisy failing seed");
    let shrunk = noisy.shrunk.clone().expect("shrunk");
    println!("{}: {}", noisy.source, noisy.message);
    print!("{shrunk}");
    let path = shrunk.path.clone().expect("the shrunk trace was written");
    let again = Builder::new()
        .name("bank_audit")
        .replay(path.as_path())
        .shrink(false)
        .try_check(|| scenario(false))
        .expect_err("the shrunk schedule fails the same way");
    assert_eq!(again.message, noisy.message);
    assert_eq!(again.trace.to_string(), shrunk.trace.to_string());
    println!(
        "the shrunk trace replays to the same failure, byte-identical ({} events)",
        again.trace.len()
    );

    // 5. The fix passes the same sweep.
    println!("\n== sweeping seeds 0..1000 over the fixed bank");
    match Builder::new()
        .seeds(0..1000)
        .name("bank_audit_fixed")
        .try_check(|| scenario(true))
    {
        Ok(s) => println!(
            "all {} seeds pass ({} checked twice for determinism, {} steps)",
            s.runs, s.determinism_checked, s.steps
        ),
        Err(f) => {
            println!("the fix failed:\n{f}");
            std::process::exit(1);
        }
    }
}
