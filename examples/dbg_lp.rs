use std::cell::Cell;
use std::rc::Rc;
use simloop::{Builder, Env};
async fn busy(n: u32) { for _ in 0..n { simloop::yield_now().await; } }
fn main() {
    let start: u64 = std::env::var("S").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let r = Builder::new().env(Env::default()).check_determinism(false).capture_logs(false).shrink(false)
        .seeds(start..start+3000).adaptive(true).trace_dir("/tmp/dbg")
        .try_check(|| async {
        let migrating = Rc::new(Cell::new(false));
        let seen = Rc::new(Cell::new(false));
        let workers: Vec<_> = (0..6).map(|_| simloop::create_task(busy(50))).collect();
        let coordinator = { let migrating = migrating.clone(); async move {
                for w in workers { w.await.unwrap(); }
                migrating.set(true); simloop::yield_now().await; migrating.set(false); busy(2).await; } };
        let reader = { let (migrating, seen) = (migrating.clone(), seen.clone()); async move { seen.set(migrating.get()); busy(2).await; } };
        let c = simloop::create_task(coordinator); let r = simloop::create_task(reader);
        c.await.unwrap(); r.await.unwrap();
        if seen.get() { Err::<(), String>("bug".into()) } else { Ok(()) }
        });
    match r { Ok(s) => println!("passed {}", s.runs), Err(f) => println!("found at {}", f.seeds_passed + 1) }
}
