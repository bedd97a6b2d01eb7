use std::cell::Cell;
use std::rc::Rc;
async fn busy(n: u32) { for _ in 0..n { simloop::yield_now().await; } }
async fn relay(start: u32, input: Option<Rc<Cell<bool>>>, output: Rc<Cell<bool>>, fired: Rc<Cell<bool>>, tail: u32) {
    busy(start).await;
    if input.is_none_or(|i| i.get()) { fired.set(true); output.set(true); simloop::yield_now().await; output.set(false); }
    else { simloop::yield_now().await; }
    busy(tail).await;
}
fn main() {
    let mut counts = [0u32; 5];
    let n = 100000u64;
    for seed in 0..n {
        let lp = simloop::EventLoop::builder().policy(simloop::Random::new(seed)).build();
        let fired: Vec<Rc<Cell<bool>>> = (0..4).map(|_| Rc::new(Cell::new(false))).collect();
        let f2 = fired.clone();
        lp.run_until_complete(async move {
            let flags: Vec<Rc<Cell<bool>>> = (0..4).map(|_| Rc::new(Cell::new(false))).collect();
            let mut tasks = Vec::new();
            for i in 0..4usize {
                let s = 1 + 2 * i as u32;
                let input = (i > 0).then(|| flags[i - 1].clone());
                tasks.push(simloop::create_task(relay(s, input, flags[i].clone(), f2[i].clone(), 9 - s)));
            }
            for t in tasks { t.await.unwrap(); }
        }).unwrap();
        let depth = fired.iter().take_while(|f| f.get()).count();
        counts[depth] += 1;
    }
    println!("{counts:?}");
}
