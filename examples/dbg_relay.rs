use std::cell::Cell;
use std::rc::Rc;
use simloop::{Builder, Env};
async fn busy(n: u32) { for _ in 0..n { simloop::yield_now().await; } }
async fn relay(start: u32, input: Option<Rc<Cell<bool>>>, output: Rc<Cell<bool>>, fired: Rc<Cell<bool>>, tail: u32) {
    busy(start).await;
    if input.is_none_or(|i| i.get()) { fired.set(true); output.set(true); simloop::yield_now().await; output.set(false); }
    else { simloop::yield_now().await; }
    busy(tail).await;
}
fn main() {
    let start: u64 = std::env::var("S").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let r = Builder::new().env(Env::default()).check_determinism(false).capture_logs(false).shrink(false)
        .seeds(start..start+3000).adaptive(true).trace_dir("/tmp/dbg")
        .try_check(|| async {
            let flags: Vec<Rc<Cell<bool>>> = (0..4).map(|_| Rc::new(Cell::new(false))).collect();
            let fired: Vec<Rc<Cell<bool>>> = (0..4).map(|_| Rc::new(Cell::new(false))).collect();
            let mut tasks = Vec::new();
            for i in 0..4usize {
                let s = 1 + 2 * i as u32;
                let input = (i > 0).then(|| flags[i - 1].clone());
                tasks.push(simloop::create_task(relay(s, input, flags[i].clone(), fired[i].clone(), 9 - s)));
            }
            for t in tasks { t.await.unwrap(); }
            if fired[3].get() { Err::<(), String>("bug".into()) } else { Ok(()) }
        });
    match r { Ok(s) => println!("passed {}", s.runs), Err(f) => println!("found at {}", f.seeds_passed + 1) }
}
