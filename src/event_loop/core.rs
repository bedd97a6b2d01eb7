//! [`Core`]: what one loop owns — the ready set, the task slab, the callback table, the
//! timer queue, the trace and the policy — and the step loop that drives it.
//!
//!
//! The step loop that drives it is in `step.rs`.

use std::collections::BTreeMap;
use std::rc::Rc;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::handle::{Action, HandleCell};
use super::ready::ReadySet;
use super::sites::SiteLog;
use super::slab::TaskSlab;
use super::table::HandleTable;
use super::timers::TimerQueue;
use crate::error::{BlockedTask, OtherLoopTask};
use crate::policy::{Candidate, CandidateKind, Policy};
use crate::task::header::Header;
use crate::task::id::TaskId;
use crate::task::link::Msg;
use crate::trace::{self, Trace};

/// What one loop owns. Borrowed by the loop only between user-code calls.
pub(crate) struct Core {
    pub(crate) tasks: TaskSlab,
    pub(crate) ready: ReadySet,
    pub(crate) handles: HandleTable,
    pub(crate) timers: TimerQueue,
    pub(crate) trace: Trace,
    pub(crate) policy: Box<dyn Policy>,
    /// Steps run so far (over every run of this loop).
    pub(crate) steps: u64,
    /// Timer cells of finished sleeps, for reuse.
    pub(crate) cell_pool: Vec<Rc<HandleCell>>,
    last_task_id: u32,
    last_seq: u32,
    /// The inbox's spare buffer, swapped in when draining.
    pub(crate) spare: Vec<Msg>,
    /// `buggify` call sites seen in this run: site -> calls so far.
    buggify_hits: BTreeMap<u32, u32>,
    /// The run's own data stream for `choose` and `rng` (made on first use; boxed so a
    /// loop that never draws stays small to create).
    data: Option<Box<ChaCha8Rng>>,
    /// The await-site log, when a sweep learns from coverage (`sites.rs`).
    pub(crate) sites: Option<SiteLog>,
}

/// Keeps the data stream apart from the scheduling stream of the same seed ("simloopd").
const DATA_STREAM_KEY: u64 = 0x7369_6d6c_6f6f_7064;

#[inline]
pub(crate) fn task_candidate(index: usize, id: TaskId) -> Candidate {
    Candidate {
        kind: CandidateKind::Task,
        slot: index as u32,
        id: id.as_u32(),
    }
}

impl Core {
    pub(crate) fn new(policy: Box<dyn Policy>, trace: Trace) -> Core {
        Core {
            tasks: TaskSlab::with_capacity(16),
            ready: ReadySet::with_capacity(32),
            handles: HandleTable::default(),
            timers: TimerQueue::default(),
            trace,
            policy,
            steps: 0,
            cell_pool: Vec::new(),
            last_task_id: 0,
            last_seq: 0,
            spare: Vec::new(),
            buggify_hits: BTreeMap::new(),
            data: None,
            sites: None,
        }
    }

    #[inline]
    pub(crate) fn next_task_id(&mut self) -> TaskId {
        self.last_task_id = self
            .last_task_id
            .checked_add(1)
            .expect("simloop: more than 4 billion tasks on one loop");
        TaskId::from_raw(self.last_task_id)
    }

    #[inline]
    pub(crate) fn next_seq(&mut self) -> u32 {
        self.last_seq = self
            .last_seq
            .checked_add(1)
            .expect("simloop: more than 4 billion callbacks/timers on one loop");
        self.last_seq
    }

    /// Applies one message.
    #[inline]
    pub(crate) fn apply(&mut self, msg: Msg) {
        match msg {
            Msg::Spawn(key) => {
                if let Some((index, t)) = self.tasks.get_mut(key) {
                    t.scheduled = true;
                    let h = t.obj.header();
                    let (id, name) = (h.id, h.given_name().cloned());
                    self.trace.push(trace::SPAWN, 0, id.as_u32());
                    if let Some(n) = name {
                        self.trace.set_name(id, &n);
                    }
                    self.ready.push(task_candidate(index, id));
                }
            }
            Msg::Wake(key) => {
                if let Some((index, t)) = self.tasks.get_mut(key) {
                    if t.polling {
                        t.woken = true;
                    } else if !t.scheduled {
                        t.scheduled = true;
                        let id = t.obj.header().id;
                        self.trace.push(trace::WAKE, 0, id.as_u32());
                        self.ready.push(task_candidate(index, id));
                    }
                }
            }
            Msg::Cancel(key) => {
                if let Some((index, t)) = self.tasks.get_mut(key) {
                    let id = t.obj.header().id;
                    self.trace.push(trace::CANCEL, 0, id.as_u32());
                    if t.polling {
                        t.woken = true;
                    } else if !std::mem::replace(&mut t.scheduled, true) {
                        self.ready.push(task_candidate(index, id));
                    }
                }
            }
            Msg::Call(slot) => {
                let Some(cell) = self.handles.get(slot).cloned() else {
                    return;
                };
                if cell.is_cancelled() {
                    self.handles.free(slot);
                } else {
                    cell.make_ready();
                    self.ready.push(Candidate {
                        kind: CandidateKind::Callback,
                        slot,
                        id: cell.seq.get(),
                    });
                }
            }
            Msg::Relay(w) => {
                let seq = self.next_seq();
                let cell = Rc::new(HandleCell::new(seq, None, Action::Wake(w)));
                self.queue_handle(CandidateKind::Callback, seq, cell);
            }
            Msg::Stop => self.ready.push(Candidate {
                kind: CandidateKind::Stop,
                slot: 0,
                id: 0,
            }),
        }
    }

    /// Puts a callback or timer into the ready set (Waiting → Ready).
    #[inline]
    pub(crate) fn queue_handle(&mut self, kind: CandidateKind, seq: u32, cell: Rc<HandleCell>) {
        cell.make_ready();
        let slot = self.handles.alloc(cell);
        self.ready.push(Candidate {
            kind,
            slot,
            id: seq,
        });
    }

    /// Drops cancelled callbacks and timers from the ready set.
    pub(crate) fn purge_cancelled(&mut self) {
        let Core { ready, handles, .. } = self;
        for slot in ready.purge(|s| handles.is_cancelled(s)) {
            handles.free(slot);
        }
    }

    /// The live tasks, for a deadlock report, each with the task of another loop it
    /// awaits, if any.
    pub(crate) fn blocked(&self) -> Vec<BlockedTask> {
        self.tasks
            .live_by_id()
            .iter()
            .map(|o| {
                let h = o.header();
                BlockedTask {
                    id: h.id,
                    name: h.name(),
                    awaits_other_loop: self.other_loop_task(h),
                    created: self.trace.task_location(h.id.as_u32()),
                }
            })
            .collect()
    }

    /// `policy=<name> seed=<n|none>`: how a deadlock report names a loop (the same in
    /// every run, unlike the loop's process-wide id).
    pub(crate) fn describe(&self) -> String {
        match self.trace.seed() {
            Some(s) => format!("policy={} seed={s}", self.trace.policy()),
            None => format!("policy={} seed=none", self.trace.policy()),
        }
    }

    /// The task of another loop that `h` (a task of this loop) was last seen awaiting.
    fn other_loop_task(&self, h: &Header) -> Option<OtherLoopTask> {
        let awaited = h.awaiting.take()?;
        h.awaiting.set(Some(awaited.clone()));
        let a = awaited.header();
        if a.link.ptr_eq(&h.link) {
            return None;
        }
        let its_loop = match a.link.upgrade() {
            Some(other) => other.describe(),
            None => "dropped".to_owned(),
        };
        Some(OtherLoopTask {
            id: a.id,
            name: a.name(),
            its_loop,
            this_loop: self.describe(),
        })
    }

    /// The next value of the run's own data stream, seeded from the loop's seed (0 without
    /// one), independent of the policy's scheduling stream.
    fn next_data(&mut self) -> u64 {
        let seed = self.trace.seed().unwrap_or(0);
        self.data
            .get_or_insert_with(|| Box::new(ChaCha8Rng::seed_from_u64(seed ^ DATA_STREAM_KEY)))
            .next_u64()
    }

    /// What `choose(n)` returns (`n >= 2`): the policy's value, else uniform from the data
    /// stream under a seeded policy, else 0; recorded in the trace.
    pub(crate) fn user_choice(&mut self, n: u32) -> u32 {
        let chosen = match self.policy.user_choice(n) {
            Some(k) => {
                assert!(
                    k < n,
                    "simloop: policy `{}` chose alternative {k} of choose({n})",
                    self.policy.name()
                );
                k
            }
            None if self.policy.seed().is_some() => {
                ((u128::from(self.next_data()) * u128::from(n)) >> 64) as u32
            }
            None => 0,
        };
        self.trace.push_choose(n, chosen);
        chosen
    }

    /// The next `rng()` value: the policy's, else the data stream's; recorded in the trace.
    pub(crate) fn random_u64(&mut self) -> u64 {
        let value = match self.policy.random_u64() {
            Some(v) => v,
            None => self.next_data(),
        };
        self.trace.push_random(value);
        value
    }

    /// What `buggify()` at `site` returns: the policy decides from the site and how often
    /// it was called in this run; a value is recorded in the trace.
    pub(crate) fn buggify(&mut self, site: u32) -> bool {
        let hit = {
            let h = self.buggify_hits.entry(site).or_insert(0);
            *h += 1;
            *h
        };
        match self.policy.buggify(site, hit) {
            Some(fired) => {
                self.trace.push_buggify(site, fired);
                fired
            }
            None => false,
        }
    }
}
