// The signature-parity file's items, included by `signatures_real.rs` (real tokio) and
// `signatures_mirror.rs` (the mirror, switched by `extern crate simloop_tokio as tokio;`).

use std::any::Any;
use std::future::{Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

type Fut = Ready<u32>;

fn send<T: Send + ?Sized>() {}
fn sync<T: Sync + ?Sized>() {}
fn unpin<T: Unpin + ?Sized>() {}
fn future<F: Future<Output = O>, O>() {}
fn send_future<O>(_: impl Future<Output = O> + Send) {}

/// Compiles only if `$t` does not implement `$trait` (the ambiguity trick: with the
/// trait implemented, two blanket impls apply and inference fails).
macro_rules! assert_not_impl {
    ($t:ty: $trait:path) => {
        const _: fn() = || {
            trait AmbiguousIfImpl<A> {
                fn some_item() {}
            }
            impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
            struct Invalid;
            impl<T: ?Sized + $trait> AmbiguousIfImpl<Invalid> for T {}
            let _ = <$t as AmbiguousIfImpl<_>>::some_item;
        };
    };
}

// ---------------------------------------------------------------------------------------
// tokio::spawn, tokio::task

fn task_functions() {
    let _: fn(Fut) -> tokio::task::JoinHandle<u32> = tokio::spawn::<Fut>;
    let _: fn(Fut) -> tokio::task::JoinHandle<u32> = tokio::task::spawn::<Fut>;
    let _: fn(Fut) -> tokio::task::JoinHandle<u32> = tokio::task::spawn_local::<Fut>;
    let _: fn(fn() -> u32) -> tokio::task::JoinHandle<u32> =
        tokio::task::spawn_blocking::<fn() -> u32, u32>;
    let _: fn(fn() -> u32) -> u32 = tokio::task::block_in_place::<fn() -> u32, u32>;
    let _: fn(Fut) -> tokio::task::Unconstrained<Fut> = tokio::task::unconstrained::<Fut>;
    let _: fn() -> tokio::task::Id = tokio::task::id;
    let _: fn() -> Option<tokio::task::Id> = tokio::task::try_id;
    send_future::<()>(tokio::task::yield_now());
    send_future::<()>(tokio::task::consume_budget());
}

fn join_handle(h: tokio::task::JoinHandle<u32>) {
    future::<tokio::task::JoinHandle<u32>, Result<u32, tokio::task::JoinError>>();
    send::<tokio::task::JoinHandle<u32>>();
    sync::<tokio::task::JoinHandle<u32>>();
    unpin::<tokio::task::JoinHandle<u32>>();
    let _: fn(&tokio::task::JoinHandle<u32>) = tokio::task::JoinHandle::abort;
    let _: fn(&tokio::task::JoinHandle<u32>) -> bool = tokio::task::JoinHandle::is_finished;
    let _: fn(&tokio::task::JoinHandle<u32>) -> tokio::task::AbortHandle =
        tokio::task::JoinHandle::abort_handle;
    let _: fn(&tokio::task::JoinHandle<u32>) -> tokio::task::Id = tokio::task::JoinHandle::id;
    let _ = format!("{h:?}");
}

fn abort_handle(h: tokio::task::AbortHandle) {
    send::<tokio::task::AbortHandle>();
    sync::<tokio::task::AbortHandle>();
    unpin::<tokio::task::AbortHandle>();
    let _: fn(&tokio::task::AbortHandle) = tokio::task::AbortHandle::abort;
    let _: fn(&tokio::task::AbortHandle) -> bool = tokio::task::AbortHandle::is_finished;
    let _: fn(&tokio::task::AbortHandle) -> tokio::task::Id = tokio::task::AbortHandle::id;
    let _ = format!("{h:?}");
    let _: tokio::task::AbortHandle = h.clone();
}

fn join_error(e: tokio::task::JoinError) {
    send::<tokio::task::JoinError>();
    sync::<tokio::task::JoinError>();
    let _: fn(&tokio::task::JoinError) -> bool = tokio::task::JoinError::is_cancelled;
    let _: fn(&tokio::task::JoinError) -> bool = tokio::task::JoinError::is_panic;
    let _: fn(tokio::task::JoinError) -> Box<dyn Any + Send + 'static> =
        tokio::task::JoinError::into_panic;
    let _: fn(
        tokio::task::JoinError,
    ) -> Result<Box<dyn Any + Send + 'static>, tokio::task::JoinError> =
        tokio::task::JoinError::try_into_panic;
    let _: fn(&tokio::task::JoinError) -> tokio::task::Id = tokio::task::JoinError::id;
    let _: &dyn std::error::Error = &e;
    let _: std::io::Error = e.into();
}

fn task_id(id: tokio::task::Id) {
    fn traits<T: Copy + Eq + Ord + std::hash::Hash + std::fmt::Display + std::fmt::Debug>() {}
    traits::<tokio::task::Id>();
    send::<tokio::task::Id>();
    sync::<tokio::task::Id>();
    let _ = id.to_string();
}

fn join_set(mut set: tokio::task::JoinSet<u32>, handle: &tokio::runtime::Handle) {
    type Set = tokio::task::JoinSet<u32>;
    send::<Set>();
    sync::<Set>();
    unpin::<Set>();
    let _: fn() -> Set = Set::new;
    let _: Set = Default::default();
    let _: fn(&Set) -> usize = Set::len;
    let _: fn(&Set) -> bool = Set::is_empty;
    let _: fn(&mut Set, Fut) -> tokio::task::AbortHandle = Set::spawn::<Fut>;
    let _: fn(&mut Set, Fut, &tokio::runtime::Handle) -> tokio::task::AbortHandle =
        Set::spawn_on::<Fut>;
    let _: fn(&mut Set, Fut) -> tokio::task::AbortHandle = Set::spawn_local::<Fut>;
    let _: fn(&mut Set, Fut, &tokio::task::LocalSet) -> tokio::task::AbortHandle =
        Set::spawn_local_on::<Fut>;
    let _: fn(&mut Set, fn() -> u32) -> tokio::task::AbortHandle =
        Set::spawn_blocking::<fn() -> u32>;
    let _: fn(&mut Set) -> Option<Result<u32, tokio::task::JoinError>> = Set::try_join_next;
    let _: fn(&mut Set) -> Option<Result<(tokio::task::Id, u32), tokio::task::JoinError>> =
        Set::try_join_next_with_id;
    let _: fn(&mut Set) = Set::abort_all;
    let _: fn(&mut Set) = Set::detach_all;
    let _: fn(&mut Set, &mut Context<'_>) -> Poll<Option<Result<u32, tokio::task::JoinError>>> =
        Set::poll_join_next;
    let _ = handle;
    let _ = format!("{set:?}");
    send_future::<Option<Result<u32, tokio::task::JoinError>>>(set.join_next());
    send_future::<Option<Result<(tokio::task::Id, u32), tokio::task::JoinError>>>(
        set.join_next_with_id(),
    );
    send_future::<()>(set.shutdown());
    send_future::<Vec<u32>>(set.join_all());
    let _: tokio::task::JoinSet<u32> = [std::future::ready(1_u32)].into_iter().collect();
}

fn local_set(local: tokio::task::LocalSet, rt: &tokio::runtime::Runtime) {
    type L = tokio::task::LocalSet;
    assert_not_impl!(L: Send);
    assert_not_impl!(L: Sync);
    future::<L, ()>();
    let _: fn() -> L = L::new;
    drop::<L>(Default::default());
    let _: fn(&L, Fut) -> tokio::task::JoinHandle<u32> = L::spawn_local::<Fut>;
    let _: fn(&L, &tokio::runtime::Runtime, Fut) -> u32 = L::block_on::<Fut>;
    let _: fn(&L) -> tokio::task::LocalEnterGuard = L::enter;
    let run: Pin<Box<dyn Future<Output = u32> + '_>> =
        Box::pin(local.run_until(std::future::ready(1_u32)));
    drop(run);
    let _ = rt;
}

tokio::task_local! {
    static KEY: u32;
}

fn task_local() {
    type K = tokio::task::LocalKey<u32>;
    sync::<K>();
    let _: &'static K = &KEY;
    let _: fn(&'static K, u32, Fut) -> tokio::task::futures::TaskLocalFuture<u32, Fut> =
        K::scope::<Fut>;
    let _: fn(&'static K, u32, fn() -> u8) -> u8 = K::sync_scope::<fn() -> u8, u8>;
    let _: fn(&'static K, fn(&u32) -> u8) -> u8 = K::with::<fn(&u32) -> u8, u8>;
    let _: fn(&'static K) -> u32 = K::get;
    type Tlf = tokio::task::futures::TaskLocalFuture<u32, Fut>;
    future::<Tlf, u32>();
    send::<Tlf>();
    sync::<Tlf>();
    let _: fn(Pin<&mut Tlf>) -> Option<u32> = Tlf::take_value;
    // `try_with`/`try_get`'s error type, `AccessError`, is public but not re-exported by
    // tokio (unnameable outside it): pin what a user can observe of it.
    fn try_with_error() -> impl std::error::Error + Send + Sync + 'static {
        KEY.try_with(|v| *v).unwrap_err()
    }
    let _ = try_with_error;
    let _ = || -> Result<u32, Box<dyn std::error::Error>> { Ok(KEY.try_get()?) };
}

// ---------------------------------------------------------------------------------------
// tokio::time

fn time_functions() {
    let _: fn(Duration) -> tokio::time::Sleep = tokio::time::sleep;
    let _: fn(tokio::time::Instant) -> tokio::time::Sleep = tokio::time::sleep_until;
    let _: fn(Duration, Fut) -> tokio::time::Timeout<Fut> = tokio::time::timeout::<Fut>;
    let _: fn(tokio::time::Instant, Fut) -> tokio::time::Timeout<Fut> =
        tokio::time::timeout_at::<Fut>;
    let _: fn(Duration) -> tokio::time::Interval = tokio::time::interval;
    let _: fn(tokio::time::Instant, Duration) -> tokio::time::Interval = tokio::time::interval_at;
    let _: fn() = tokio::time::pause;
    let _: fn() = tokio::time::resume;
    send_future::<()>(tokio::time::advance(Duration::ZERO));
    let _: tokio::time::Duration = Duration::ZERO; // a re-export of std's
}

fn sleep_type() {
    type S = tokio::time::Sleep;
    future::<S, ()>();
    send::<S>();
    sync::<S>();
    assert_not_impl!(S: Unpin);
    let _: fn(&S) -> tokio::time::Instant = S::deadline;
    let _: fn(&S) -> bool = S::is_elapsed;
    let _: fn(Pin<&mut S>, tokio::time::Instant) = S::reset;
}

fn timeout_type(t: tokio::time::Timeout<Fut>) {
    type T = tokio::time::Timeout<Fut>;
    future::<T, Result<u32, tokio::time::error::Elapsed>>();
    send::<T>();
    sync::<T>();
    let _: fn(&T) -> &Fut = T::get_ref;
    let _: fn(&mut T) -> &mut Fut = T::get_mut;
    let _: fn(T) -> Fut = T::into_inner;
    let _ = format!("{t:?}");
}

fn elapsed(e: tokio::time::error::Elapsed) {
    type E = tokio::time::error::Elapsed;
    fn traits<T: std::fmt::Debug + std::fmt::Display + std::error::Error + PartialEq + Eq>() {}
    traits::<E>();
    send::<E>();
    sync::<E>();
    let _: std::io::Error = e.into();
}

fn interval_type(mut iv: tokio::time::Interval) {
    type I = tokio::time::Interval;
    send::<I>();
    sync::<I>();
    unpin::<I>();
    let _: fn(&mut I, &mut Context<'_>) -> Poll<tokio::time::Instant> = I::poll_tick;
    let _: fn(&mut I) = I::reset;
    let _: fn(&mut I) = I::reset_immediately;
    let _: fn(&mut I, Duration) = I::reset_after;
    let _: fn(&mut I, tokio::time::Instant) = I::reset_at;
    let _: fn(&I) -> tokio::time::MissedTickBehavior = I::missed_tick_behavior;
    let _: fn(&mut I, tokio::time::MissedTickBehavior) = I::set_missed_tick_behavior;
    let _: fn(&I) -> Duration = I::period;
    send_future::<tokio::time::Instant>(iv.tick());
}

fn missed_tick_behavior() {
    type M = tokio::time::MissedTickBehavior;
    fn traits<T: Copy + Eq + std::fmt::Debug + Default + Send + Sync>() {}
    traits::<M>();
    let all = [M::Burst, M::Delay, M::Skip];
    match all[0] {
        M::Burst | M::Delay | M::Skip => {}
    }
}

fn instant() {
    type I = tokio::time::Instant;
    fn traits<
        T: Copy
            + Ord
            + std::hash::Hash
            + std::fmt::Debug
            + Send
            + Sync
            + std::ops::Add<Duration, Output = T>
            + std::ops::Sub<Duration, Output = T>
            + std::ops::Sub<T, Output = Duration>
            + std::ops::AddAssign<Duration>
            + std::ops::SubAssign<Duration>
            + From<std::time::Instant>
            + Into<std::time::Instant>,
    >() {
    }
    traits::<I>();
    let _: fn() -> I = I::now;
    let _: fn(std::time::Instant) -> I = I::from_std;
    let _: fn(I) -> std::time::Instant = I::into_std;
    let _: fn(&I, I) -> Duration = I::duration_since;
    let _: fn(&I, I) -> Option<Duration> = I::checked_duration_since;
    let _: fn(&I, I) -> Duration = I::saturating_duration_since;
    let _: fn(&I) -> Duration = I::elapsed;
    let _: fn(&I, Duration) -> Option<I> = I::checked_add;
    let _: fn(&I, Duration) -> Option<I> = I::checked_sub;
}

// ---------------------------------------------------------------------------------------
// tokio::runtime

fn runtime() {
    type B = tokio::runtime::Builder;
    type R = tokio::runtime::Runtime;
    type H = tokio::runtime::Handle;
    let _: fn() -> B = B::new_current_thread;
    let _: fn(&mut B) -> &mut B = B::enable_all;
    let _: fn(&mut B) -> &mut B = B::enable_time;
    let _: fn(&mut B, bool) -> &mut B = B::start_paused;
    let _: fn(&mut B) -> std::io::Result<R> = B::build;
    let _: fn() -> std::io::Result<R> = R::new;
    let _: fn() -> B = B::new_multi_thread;
    send::<R>();
    sync::<R>();
    let _: fn(&R, Fut) -> u32 = R::block_on::<Fut>;
    let _: fn(&R, Fut) -> tokio::task::JoinHandle<u32> = R::spawn::<Fut>;
    let _: fn(&R, fn() -> u32) -> tokio::task::JoinHandle<u32> =
        R::spawn_blocking::<fn() -> u32, u32>;
    let _: fn(&R) -> &H = R::handle;
    let _: for<'a> fn(&'a R) -> tokio::runtime::EnterGuard<'a> = R::enter;
    let _: fn(R, Duration) = R::shutdown_timeout;
    let _: fn(R) = R::shutdown_background;
    send::<H>();
    sync::<H>();
    let _: fn() -> H = H::current;
    let _: fn() -> Result<H, tokio::runtime::TryCurrentError> = H::try_current;
    let _: fn(&H, Fut) -> tokio::task::JoinHandle<u32> = H::spawn::<Fut>;
    let _: fn(&H, fn() -> u32) -> tokio::task::JoinHandle<u32> =
        H::spawn_blocking::<fn() -> u32, u32>;
    let _: fn(&H, Fut) -> u32 = H::block_on::<Fut>;
    let _: for<'a> fn(&'a H) -> tokio::runtime::EnterGuard<'a> = H::enter;
    let _: fn(&H) -> H = H::clone;
    assert_not_impl!(tokio::runtime::EnterGuard<'static>: Send);
    fn try_current_error(e: tokio::runtime::TryCurrentError) {
        let _: &dyn std::error::Error = &e;
        let _: bool = e.is_missing_context();
        let _: bool = e.is_thread_local_destroyed();
    }
    send::<tokio::runtime::TryCurrentError>();
    sync::<tokio::runtime::TryCurrentError>();
}

// ---------------------------------------------------------------------------------------
// macros: select!, join!, try_join!, pin!, task_local! (above), #[tokio::test], #[tokio::main]

async fn macros() -> Result<(u8, u16), ()> {
    let s = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(s);
    let pinned: Pin<&mut tokio::time::Sleep> = s.as_mut();
    assert!(!pinned.is_elapsed());
    let a: u8 = tokio::select! {
        biased;
        v = async { 1_u8 } => v,
        () = &mut s, if false => 0,
        else => 2,
    };
    let (b, c): (u8, u16) = tokio::join!(async { a }, async { 2_u16 });
    let (_, _): (u8, u16) = tokio::join!(biased; async { b }, async { c });
    tokio::try_join!(async { Ok::<u8, ()>(b) }, async { Ok::<u16, ()>(c) })
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn attribute_forms_compile_and_run() {
    assert_eq!(macros().await, Ok((1, 2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_flavor_compiles_and_runs() -> Result<(), String> {
    let v = tokio::spawn(async { 4 }).await.map_err(|e| e.to_string())?;
    assert_eq!(v, 4);
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn a_main() -> u32 {
    3
}

/// Outside any runtime: `a_main()` inside a `#[tokio::test]` would panic ("Cannot start
/// a runtime from within a runtime"), as any nested `block_on` does.
#[test]
fn a_main_called_from_a_plain_test() {
    assert_eq!(a_main(), 3);
}
