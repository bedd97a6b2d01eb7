use std::cell::{Cell, RefCell};
use std::rc::Rc;
use simloop::{Decision, LoopError, Policy};
use rand_core::{RngCore, SeedableRng};
async fn busy(n: u32) { for _ in 0..n { simloop::yield_now().await; } }
async fn relay(start: u32, input: Option<Rc<Cell<bool>>>, output: Rc<Cell<bool>>, fired: Rc<Cell<bool>>, tail: u32) {
    busy(start).await;
    if input.is_none_or(|i| i.get()) { fired.set(true); output.set(true); simloop::yield_now().await; output.set(false); }
    else { simloop::yield_now().await; }
    busy(tail).await;
}
struct P { prefix: Vec<u32>, next: usize, rng: rand_chacha::ChaCha8Rng, log: Rc<RefCell<Vec<u32>>>, fired: Vec<Rc<Cell<bool>>>, at: Rc<RefCell<[Option<usize>;4]>> }
impl Policy for P {
    fn name(&self) -> String { "p".into() }
    fn choose(&mut self, d: &Decision<'_>) -> Result<usize, LoopError> {
        let k = self.log.borrow().len();
        for (i, f) in self.fired.iter().enumerate() { if f.get() && self.at.borrow()[i].is_none() { self.at.borrow_mut()[i] = Some(k); } }
        let i = if self.next < self.prefix.len() { let want = self.prefix[self.next]; self.next += 1; d.candidates.iter().position(|c| c.id() == want).unwrap() } else { (self.rng.next_u64() % d.candidates.len() as u64) as usize };
        self.log.borrow_mut().push(d.candidates[i].id());
        Ok(i)
    }
}
fn run(prefix: Vec<u32>, seed: u64) -> (usize, Vec<u32>, [Option<usize>;4]) {
    let fired: Vec<Rc<Cell<bool>>> = (0..4).map(|_| Rc::new(Cell::new(false))).collect();
    let log = Rc::new(RefCell::new(Vec::new()));
    let at = Rc::new(RefCell::new([None;4]));
    let p = P { prefix, next: 0, rng: rand_chacha::ChaCha8Rng::seed_from_u64(seed), log: log.clone(), fired: fired.clone(), at: at.clone() };
    let lp = simloop::EventLoop::builder().policy(p).build();
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
    let l = log.borrow().clone();
    let a = *at.borrow();
    (depth, l, a)
}
fn main() {
    let stage: usize = std::env::var("STAGE").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    // parents: random runs that reached depth == stage-1 exactly... (>= stage-1)
    let mut parents = Vec::new();
    let mut s = 0;
    while parents.len() < 200 { let (d, l, a) = run(vec![], s); s += 1; if d == stage - 1 { parents.push((l, a)); } }
    for j in [0usize, 1, 2, 3, 4, 6, 8, 12, 100] {
        let mut ok = 0; let mut tot = 0;
        for (pi, (l, a)) in parents.iter().enumerate() {
            let fire = a[stage - 2].unwrap(); // decision index at which the flag was seen set (after the fire step)
            let cut = if j == 100 { 0 } else { fire.saturating_sub(j) };
            for m in 0..20u64 { let (d, _, _) = run(l[..cut].to_vec(), 1_000_000 + pi as u64 * 100 + m); tot += 1; if d >= stage { ok += 1; } }
        }
        println!("stage {stage} cut fire-{j}: {ok}/{tot} = {:.3}", ok as f64 / tot as f64);
    }
}
