//! Not a target of this package: a stand-alone program, kept for the measurement in
//! benches/README.md (issue 12, "What is left"). It compares the cost of spawn + run + join
//! of 100,000 trivial tasks alive at once (W1's shape) for three task layouts:
//! `async-task` (one allocation, its own waker), and two safe ones (a shared `Rc` and a
//! boxed future, with or without an `Arc` waker per task).
//!
//! To run: a new binary crate with `async-task = "=4.7.1"`, this file as `src/main.rs`,
//! `cargo build --release`, then for each variant (`none`, `async-task`, `three`, `two`):
//! `valgrind --tool=callgrind target/release/<name> <variant>`; per task =
//! (instructions − `none`'s) / 100,000.
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

const N: u64 = 100_000;

struct Noop;
impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

struct KeyWaker {
    _key: u64,
}
impl Wake for KeyWaker {
    fn wake(self: Arc<Self>) {}
}

/// async-task: one allocation (header, schedule fn, future/output); its own waker.
fn async_task() -> u64 {
    let q: Rc<RefCell<VecDeque<async_task::Runnable>>> = Rc::new(RefCell::new(VecDeque::new()));
    let mut handles = Vec::with_capacity(N as usize);
    for i in 0..N {
        // The schedule fn must be Send + Sync: a same-thread queue is reached through a
        // thread-local in a real loop; here every runnable is scheduled once, at spawn.
        let (r, t) = async_task::spawn_local(async move { i }, |_r| {});
        q.borrow_mut().push_back(r);
        handles.push(t);
    }
    while let Some(r) = q.borrow_mut().pop_front() {
        r.run();
    }
    let w = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&w);
    let mut n = 0;
    for mut t in handles {
        if let Poll::Ready(v) = Pin::new(&mut t).poll(&mut cx) {
            n += (v == v) as u64;
        }
    }
    n
}

/// Safe Rust, three allocations: shared cell (Rc), boxed future, Arc waker.
fn three() -> u64 {
    type Out = Rc<RefCell<Option<u64>>>;
    let mut q: VecDeque<(Pin<Box<dyn Future<Output = ()>>>, Waker)> = VecDeque::new();
    let mut outs: Vec<Out> = Vec::with_capacity(N as usize);
    for i in 0..N {
        let out: Out = Rc::new(RefCell::new(None));
        let o = out.clone();
        let w = Waker::from(Arc::new(KeyWaker { _key: i }));
        q.push_back((Box::pin(async move { *o.borrow_mut() = Some(i) }), w));
        outs.push(out);
    }
    while let Some((mut f, w)) = q.pop_front() {
        let _ = f.as_mut().poll(&mut Context::from_waker(&w));
    }
    outs.iter()
        .filter(|o| o.borrow_mut().take().is_some())
        .count() as u64
}

/// Safe Rust, two allocations: shared cell (Rc), boxed future; a shared probe waker.
fn two() -> u64 {
    type Out = Rc<RefCell<Option<u64>>>;
    let mut q: VecDeque<Pin<Box<dyn Future<Output = ()>>>> = VecDeque::new();
    let mut outs: Vec<Out> = Vec::with_capacity(N as usize);
    for i in 0..N {
        let out: Out = Rc::new(RefCell::new(None));
        let o = out.clone();
        q.push_back(Box::pin(async move { *o.borrow_mut() = Some(i) }));
        outs.push(out);
    }
    let w = Waker::from(Arc::new(Noop));
    while let Some(mut f) = q.pop_front() {
        let _ = f.as_mut().poll(&mut Context::from_waker(&w));
    }
    outs.iter()
        .filter(|o| o.borrow_mut().take().is_some())
        .count() as u64
}

fn main() {
    let v = std::env::args().nth(1).unwrap_or_default();
    let n = match v.as_str() {
        "async-task" => async_task(),
        "three" => three(),
        "two" => two(),
        "none" => N,
        _ => panic!("variant"),
    };
    assert_eq!(n, N);
}
