// The service. Written against tokio only (no simloop in sight); `tests/real_tokio.rs`
// compiles this file against real tokio, the crate compiles it against whatever `tokio`
// its root says.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch, Mutex as AsyncMutex};
use tokio::task::JoinHandle;
use tokio::time::{interval, interval_at, timeout, Instant};

/// How often a worker's heartbeat task beats, and how often the supervisor checks.
pub const HEARTBEAT: Duration = Duration::from_millis(10);

/// The service's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// How many workers take jobs from the queue.
    pub workers: usize,
    /// A worker whose last heartbeat is at least this old is presumed dead: the
    /// supervisor aborts it and starts a new one.
    pub dead_after: Duration,
    /// How long one job may take.
    pub job_timeout: Duration,
}

impl Config {
    /// The first release's settings: a worker is dead once a whole heartbeat period has
    /// passed without a beat. **The bug:** when the supervisor's check and a heartbeat
    /// are due at the same instant and the check runs first, a healthy worker's last
    /// beat is exactly one period old — it is killed, and the job it held is lost.
    /// tokio fires timers of one millisecond in registration order, which always puts
    /// the heartbeat first, so no tokio test ever sees it.
    pub fn v1() -> Config {
        Config {
            workers: 2,
            dead_after: HEARTBEAT,
            job_timeout: Duration::from_millis(50),
        }
    }

    /// The fix: a worker is dead only after missing a beat entirely.
    pub fn fixed() -> Config {
        Config {
            dead_after: HEARTBEAT * 2,
            ..Config::v1()
        }
    }
}

/// A unit of work: `cost` is how long it takes.
#[derive(Clone, Copy, Debug)]
pub struct Job {
    /// Its id.
    pub id: u32,
    /// How long it takes.
    pub cost: Duration,
}

struct Shared {
    done: Mutex<Vec<u32>>,
    done_count: watch::Sender<usize>,
    beats: Mutex<Vec<Instant>>,
    restarts: Mutex<u32>,
}

type Queue = Arc<AsyncMutex<mpsc::Receiver<Job>>>;

/// The running service.
pub struct Service {
    jobs: mpsc::Sender<Job>,
    shutdown: watch::Sender<bool>,
    shared: Arc<Shared>,
    supervisor: JoinHandle<()>,
}

impl Service {
    /// Starts the supervisor, which starts the workers.
    pub fn start(config: Config) -> Service {
        let (jobs, rx) = mpsc::channel(64);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            done: Mutex::new(Vec::new()),
            done_count: watch::channel(0).0,
            beats: Mutex::new(vec![Instant::now(); config.workers]),
            restarts: Mutex::new(0),
        });
        let queue = Arc::new(AsyncMutex::new(rx));
        let supervisor = tokio::spawn(supervise(config, queue, shutdown_rx, shared.clone()));
        Service {
            jobs,
            shutdown,
            shared,
            supervisor,
        }
    }

    /// Queues a job.
    pub async fn submit(&self, job: Job) {
        self.jobs.send(job).await.expect("the service is running");
    }

    /// How many workers the supervisor has replaced.
    pub fn restarts(&self) -> u32 {
        *self.shared.restarts.lock().unwrap()
    }

    /// Waits until `n` jobs are done (at most `limit`), shuts the service down, and
    /// returns the done jobs' ids in order.
    ///
    /// # Errors
    /// If fewer than `n` jobs were done within `limit`: which ones were lost.
    pub async fn finish(self, n: usize, limit: Duration) -> Result<Vec<u32>, String> {
        let mut count = self.shared.done_count.subscribe();
        let waited = timeout(limit, count.wait_for(|c| *c >= n)).await;
        let _ = self.shutdown.send(true);
        self.supervisor.await.map_err(|e| e.to_string())?;
        let mut done = self.shared.done.lock().unwrap().clone();
        done.sort_unstable();
        match waited {
            Ok(_) => Ok(done),
            Err(_) => {
                let lost: Vec<u32> = (0..n as u32).filter(|i| !done.contains(i)).collect();
                Err(format!(
                    "lost jobs {lost:?}: {} of {n} done after {limit:?} ({} worker restarts)",
                    done.len(),
                    *self.shared.restarts.lock().unwrap()
                ))
            }
        }
    }
}

/// A worker and its heartbeat task.
struct Worker {
    work: JoinHandle<()>,
    heartbeat: JoinHandle<()>,
}

impl Worker {
    fn abort(&self) {
        self.work.abort();
        self.heartbeat.abort();
    }
}

async fn start_worker(
    i: usize,
    config: &Config,
    queue: &Queue,
    shutdown: &watch::Receiver<bool>,
    shared: &Arc<Shared>,
) -> Worker {
    let (up_tx, up) = tokio::sync::oneshot::channel();
    let heartbeat = tokio::spawn(heartbeat(i, shared.clone(), up_tx));
    let work = tokio::spawn(work(
        queue.clone(),
        shutdown.clone(),
        shared.clone(),
        config.job_timeout,
    ));
    // Supervise it only once it beats.
    let _ = up.await;
    Worker { work, heartbeat }
}

async fn supervise(
    config: Config,
    queue: Queue,
    mut shutdown: watch::Receiver<bool>,
    shared: Arc<Shared>,
) {
    let mut workers = Vec::new();
    for i in 0..config.workers {
        workers.push(start_worker(i, &config, &queue, &shutdown, &shared).await);
    }
    let mut check = interval_at(Instant::now() + HEARTBEAT, HEARTBEAT);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = check.tick() => {
                let now = Instant::now();
                for (i, w) in workers.iter_mut().enumerate() {
                    let last = shared.beats.lock().unwrap()[i];
                    if now - last >= config.dead_after {
                        w.abort();
                        *shared.restarts.lock().unwrap() += 1;
                        *w = start_worker(i, &config, &queue, &shutdown, &shared).await;
                    }
                }
            }
        }
    }
    for w in &workers {
        w.abort();
    }
}

async fn heartbeat(i: usize, shared: Arc<Shared>, up: tokio::sync::oneshot::Sender<()>) {
    let mut beat = interval(HEARTBEAT);
    beat.tick().await;
    shared.beats.lock().unwrap()[i] = Instant::now();
    let _ = up.send(());
    loop {
        beat.tick().await;
        shared.beats.lock().unwrap()[i] = Instant::now();
    }
}

async fn work(
    queue: Queue,
    mut shutdown: watch::Receiver<bool>,
    shared: Arc<Shared>,
    limit: Duration,
) {
    loop {
        let job = tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            job = async { queue.lock().await.recv().await } => job,
        };
        let Some(job) = job else { return };
        // The job's work: here, just its cost in time.
        if timeout(limit, tokio::time::sleep(job.cost)).await.is_ok() {
            shared.done.lock().unwrap().push(job.id);
            shared.done_count.send_modify(|c| *c += 1);
        }
    }
}
