//! [`Builder`]: tokio's runtime builder; every runtime it builds is a simulated
//! current-thread one.

use std::fmt;
use std::io;

use super::Runtime;

/// Builds a [`Runtime`] (tokio's `runtime::Builder`). Both flavors build the same
/// single-threaded simulated runtime; thread settings are accepted and have no effect.
pub struct Builder {
    multi_thread: bool,
    enable_time: bool,
    start_paused: bool,
}

impl Builder {
    /// A builder for a current-thread runtime.
    pub fn new_current_thread() -> Builder {
        Builder {
            multi_thread: false,
            enable_time: false,
            start_paused: false,
        }
    }

    /// A builder for a "multi-thread" runtime: simulated on the one thread like the
    /// current-thread one.
    pub fn new_multi_thread() -> Builder {
        Builder {
            multi_thread: true,
            ..Builder::new_current_thread()
        }
    }

    /// Enables timers (and the I/O driver, which is not simulated).
    pub fn enable_all(&mut self) -> &mut Self {
        self.enable_time = true;
        self
    }

    /// Enables timers.
    pub fn enable_time(&mut self) -> &mut Self {
        self.enable_time = true;
        self
    }

    /// Accepted for compatibility: I/O is not simulated.
    pub fn enable_io(&mut self) -> &mut Self {
        self
    }

    /// Starts with the clock paused (`time::pause`'s flag; simulated time is always
    /// virtual).
    pub fn start_paused(&mut self, start_paused: bool) -> &mut Self {
        self.start_paused = start_paused;
        self
    }

    /// Accepted for compatibility: the simulation has one thread.
    pub fn worker_threads(&mut self, val: usize) -> &mut Self {
        assert!(val > 0, "Worker threads cannot be set to 0");
        self
    }

    /// Accepted for compatibility: the simulation starts no thread.
    pub fn max_blocking_threads(&mut self, val: usize) -> &mut Self {
        assert!(val > 0, "Max blocking threads cannot be set to 0");
        self
    }

    /// Accepted for compatibility: the simulation starts no thread.
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        let _ = name.into();
        self
    }

    /// Accepted for compatibility: the simulation starts no thread.
    pub fn thread_stack_size(&mut self, val: usize) -> &mut Self {
        let _ = val;
        self
    }

    /// Accepted for compatibility: the policy, not a tick count, orders tasks.
    pub fn event_interval(&mut self, val: u32) -> &mut Self {
        let _ = val;
        self
    }

    /// Accepted for compatibility: the policy, not a tick count, orders tasks.
    pub fn global_queue_interval(&mut self, val: u32) -> &mut Self {
        let _ = val;
        self
    }

    /// Builds the runtime: a new simloop loop (FIFO, or random under `SIMLOOP_SEED`).
    ///
    /// # Errors
    /// Never; the `Result` is tokio's signature.
    pub fn build(&mut self) -> io::Result<Runtime> {
        Ok(Runtime::with(self.enable_time, self.start_paused))
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("multi_thread", &self.multi_thread)
            .field("enable_time", &self.enable_time)
            .field("start_paused", &self.start_paused)
            .finish()
    }
}
