//! [`MainFuture`]: a `block_on` future (or a test body) as tokio sees it — not a task
//! (`task::try_id()` is `None`), with a cooperative budget per poll.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::coop;
use crate::task::SetCurrent;

pin_project_lite::pin_project! {
    /// Wraps the main future of a run.
    pub(crate) struct MainFuture<F> {
        #[pin]
        fut: F,
    }
}

impl<F> MainFuture<F> {
    pub(crate) fn new(fut: F) -> MainFuture<F> {
        MainFuture { fut }
    }
}

impl<F: Future> Future for MainFuture<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let fut = self.project().fut;
        let _not_a_task = SetCurrent::new(None);
        coop::with_budget(Some(coop::BUDGET), || fut.poll(cx))
    }
}
