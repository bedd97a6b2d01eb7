//! [`as_completed`]: outputs in completion order, as a stream.

use super::unwrap_child;
use super::{box_all, spawn_all};
use crate::event_loop::waker::relay;
use crate::task::handle::Task;
use futures::Stream;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::task::Wake;
use std::task::Waker;
use std::task::{Context, Poll};

struct Completion {
    index: usize,
    shared: Arc<Mutex<CompletedState>>,
}

struct CompletedState {
    order: VecDeque<usize>,
    parent: Option<Waker>,
}

impl Wake for Completion {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let parent = match self.shared.lock() {
            Ok(mut s) => {
                s.order.push_back(self.index);
                s.parent.clone()
            }
            Err(_) => None,
        };
        if let Some(p) = parent {
            relay(&p);
        }
    }
}

/// Runs every future as its own task (created in input order) and yields their outputs in
/// completion order (asyncio's `as_completed`). A child's panic is re-raised in the
/// consumer when its turn comes. Dropping the stream early leaves the remaining tasks
/// running (detached), as asyncio does.
///
/// ```
/// use futures::StreamExt;
/// use std::time::Duration;
/// let order = simloop::run(async {
///     let s = simloop::as_completed([30u64, 10, 20].map(|ms| async move {
///         simloop::sleep(Duration::from_millis(ms)).await;
///         ms
///     }));
///     s.collect::<Vec<_>>().await
/// });
/// assert_eq!(order, vec![10, 20, 30]);
/// ```
#[track_caller]
pub fn as_completed<I>(futures: I) -> AsCompleted<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future + 'static,
{
    let futs = box_all(futures);
    AsCompleted {
        pending: Some(futs),
        tasks: Vec::new(),
        yielded: 0,
        at: std::panic::Location::caller(),
        shared: Arc::new(Mutex::new(CompletedState {
            order: VecDeque::new(),
            parent: None,
        })),
    }
}

/// The stream returned by [`as_completed`].
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<T: 'static> {
    pending: Option<Vec<Pin<Box<dyn Future<Output = T>>>>>,
    tasks: Vec<Task<T>>,
    yielded: usize,
    /// The user's call, noted as where the children came from.
    at: &'static std::panic::Location<'static>,
    shared: Arc<Mutex<CompletedState>>,
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("tasks", &self.tasks.len())
            .field("yielded", &self.yielded)
            .finish()
    }
}

impl<T: 'static> Stream for AsCompleted<T> {
    type Item = T;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        if let Some(futs) = this.pending.take() {
            this.tasks = spawn_all("as_completed", futs, this.at);
            for (index, t) in this.tasks.iter().enumerate() {
                t.header().status.keep_on_drop();
                let w = Waker::from(Arc::new(Completion {
                    index,
                    shared: this.shared.clone(),
                }));
                t.header().join_waker.set(Some(w));
            }
        }
        if this.yielded == this.tasks.len() {
            return Poll::Ready(None);
        }
        let next = match this.shared.lock() {
            Ok(mut s) => {
                let n = s.order.pop_front();
                if n.is_none() {
                    s.parent = Some(cx.waker().clone());
                }
                n
            }
            Err(_) => None,
        };
        match next {
            Some(i) => {
                this.yielded += 1;
                let t = &this.tasks[i];
                let r = t.take_output().expect("completed output");
                Poll::Ready(Some(unwrap_child(t, r)))
            }
            None => Poll::Pending,
        }
    }
}
