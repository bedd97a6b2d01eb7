//! [`TaskSlab`]: the live tasks of a loop, by key.
//!
//! A key packs a slot index (low 32 bits) and the slot's generation (high 32 bits). A
//! slot's generation goes up when its task ends, so a stale key (a waker that outlived
//! its task) finds nothing instead of a newer task in the same slot. Freed slots are
//! reused last-freed first; keys never reach traces (tasks are named by [`TaskId`]).

use std::rc::Rc;

use crate::task::header::TaskObj;
use crate::task::id::TaskId;

/// A live task as the loop tracks it.
pub(crate) struct LiveTask {
    pub(crate) obj: Rc<dyn TaskObj>,
    /// Its next step is in the ready set.
    pub(crate) scheduled: bool,
    /// Being polled right now: a wake (or cancel) for it is deferred to the end of the
    /// poll, as asyncio re-schedules a task only after its step returned.
    pub(crate) polling: bool,
    /// Woken (or cancelled) while being polled.
    pub(crate) woken: bool,
}

struct Slot {
    gen: u32,
    task: Option<LiveTask>,
}

/// Slots of live tasks.
#[derive(Default)]
pub(crate) struct TaskSlab {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

/// Splits a key into (slot index, generation).
pub(crate) fn split(key: u64) -> (usize, u32) {
    ((key & 0xffff_ffff) as usize, (key >> 32) as u32)
}

impl TaskSlab {
    pub(crate) fn with_capacity(n: usize) -> TaskSlab {
        TaskSlab {
            slots: Vec::with_capacity(n),
            free: Vec::with_capacity(n),
        }
    }

    /// The key the next inserted task will get.
    pub(crate) fn next_key(&mut self) -> u64 {
        let (index, gen) = match self.free.last() {
            Some(&i) => (i as usize, self.slots[i as usize].gen),
            None => (self.slots.len(), 0),
        };
        ((gen as u64) << 32) | index as u64
    }

    /// Inserts a task at the key [`next_key`](TaskSlab::next_key) returned.
    pub(crate) fn insert(&mut self, key: u64, obj: Rc<dyn TaskObj>) {
        let (index, gen) = split(key);
        if self.free.last() == Some(&(index as u32)) {
            self.free.pop();
        } else {
            debug_assert_eq!(index, self.slots.len(), "insert at next_key");
            self.slots.push(Slot { gen, task: None });
        }
        debug_assert!(self.slots[index].task.is_none() && self.slots[index].gen == gen);
        self.slots[index].task = Some(LiveTask {
            obj,
            scheduled: false,
            polling: false,
            woken: false,
        });
    }

    /// The live task with this key (and its slot index), if the key is current.
    pub(crate) fn get_mut(&mut self, key: u64) -> Option<(usize, &mut LiveTask)> {
        let (index, gen) = split(key);
        match self.slots.get_mut(index) {
            Some(slot) if slot.gen == gen => slot.task.as_mut().map(|t| (index, t)),
            _ => None,
        }
    }

    /// The task in slot `index`, which must be live.
    pub(crate) fn at(&mut self, index: usize) -> &mut LiveTask {
        self.slots[index]
            .task
            .as_mut()
            .expect("simloop: a scheduled task is live")
    }

    /// The task in slot `index`, if any.
    pub(crate) fn get(&self, index: usize) -> Option<&LiveTask> {
        self.slots.get(index)?.task.as_ref()
    }

    /// Removes the task in slot `index`, retiring its key.
    pub(crate) fn remove(&mut self, index: usize) -> Option<LiveTask> {
        let slot = &mut self.slots[index];
        slot.gen = slot.gen.wrapping_add(1);
        let t = slot.task.take();
        self.free.push(index as u32);
        t
    }

    /// Every live task, in id order.
    pub(crate) fn live_by_id(&self) -> Vec<Rc<dyn TaskObj>> {
        let mut v: Vec<Rc<dyn TaskObj>> = self
            .slots
            .iter()
            .filter_map(|s| s.task.as_ref().map(|t| t.obj.clone()))
            .collect();
        v.sort_by_key(|o| o.header().id);
        v
    }

    /// Ids and names of every live task, in id order.
    pub(crate) fn ids_and_names(&self) -> Vec<(TaskId, String)> {
        self.live_by_id()
            .iter()
            .map(|o| (o.header().id, o.header().name()))
            .collect()
    }

    /// Takes every live task out, in id order (close).
    pub(crate) fn drain_by_id(&mut self) -> Vec<LiveTask> {
        let mut v: Vec<LiveTask> = self
            .slots
            .iter_mut()
            .filter_map(|s| s.task.take())
            .collect();
        v.sort_by_key(|t| t.obj.header().id);
        v
    }
}
