//! [`TaskSlab`]: the live tasks of a loop, by key.
//!
//! A key packs a slot index (low 32 bits) and the slot's generation (high 32 bits). A
//! slot's generation goes up when its task ends, so a stale key (a waker that outlived
//! its task) finds nothing instead of a newer task in the same slot. Freed slots are
//! reused last-freed first; keys never reach traces (tasks are named by [`TaskId`](crate::task::id::TaskId)).

use std::rc::Rc;

use crate::task::header::TaskObj;

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
    /// Its slot's generation (kept here, in what would be padding: a slot is 24 bytes).
    gen: u32,
}

/// A slot: a live task, or the generation the next task in it will have.
enum Slot {
    Live(LiveTask),
    Vacant(u32),
}

impl Slot {
    #[inline]
    fn gen(&self) -> u32 {
        match self {
            Slot::Live(t) => t.gen,
            Slot::Vacant(g) => *g,
        }
    }

    #[inline]
    fn live(&self) -> Option<&LiveTask> {
        match self {
            Slot::Live(t) => Some(t),
            Slot::Vacant(_) => None,
        }
    }

    #[inline]
    fn live_mut(&mut self) -> Option<&mut LiveTask> {
        match self {
            Slot::Live(t) => Some(t),
            Slot::Vacant(_) => None,
        }
    }

    /// Takes the task out, leaving the slot vacant with the same generation.
    #[inline]
    fn take(&mut self) -> Option<LiveTask> {
        let g = self.gen();
        match std::mem::replace(self, Slot::Vacant(g)) {
            Slot::Live(t) => Some(t),
            Slot::Vacant(_) => None,
        }
    }
}

/// Slots of live tasks.
#[derive(Default)]
pub(crate) struct TaskSlab {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

/// Splits a key into (slot index, generation).
#[inline]
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
    #[inline]
    pub(crate) fn next_key(&mut self) -> u64 {
        let (index, gen) = match self.free.last() {
            Some(&i) => (i as usize, self.slots[i as usize].gen()),
            None => (self.slots.len(), 0),
        };
        ((gen as u64) << 32) | index as u64
    }

    /// Inserts a task at the key [`next_key`](TaskSlab::next_key) returned.
    #[inline]
    pub(crate) fn insert(&mut self, key: u64, obj: Rc<dyn TaskObj>) {
        let (index, gen) = split(key);
        let task = Slot::Live(LiveTask {
            obj,
            scheduled: false,
            polling: false,
            woken: false,
            gen,
        });
        if index == self.slots.len() {
            self.slots.push(task);
        } else {
            debug_assert_eq!(
                self.free.last(),
                Some(&(index as u32)),
                "insert at next_key"
            );
            self.free.pop();
            let slot = &mut self.slots[index];
            debug_assert!(slot.live().is_none() && slot.gen() == gen);
            *slot = task;
        }
    }

    /// The live task with this key (and its slot index), if the key is current.
    #[inline]
    pub(crate) fn get_mut(&mut self, key: u64) -> Option<(usize, &mut LiveTask)> {
        let (index, gen) = split(key);
        match self.slots.get_mut(index) {
            Some(Slot::Live(t)) if t.gen == gen => Some((index, t)),
            _ => None,
        }
    }

    /// The task in slot `index`, which must be live.
    #[inline]
    pub(crate) fn at(&mut self, index: usize) -> &mut LiveTask {
        self.slots[index]
            .live_mut()
            .expect("simloop: a scheduled task is live")
    }

    /// The task in slot `index`, if any.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<&LiveTask> {
        self.slots.get(index)?.live()
    }

    /// Removes the task in slot `index`, retiring its key.
    #[inline]
    pub(crate) fn remove(&mut self, index: usize) -> Option<LiveTask> {
        let slot = &mut self.slots[index];
        let next = slot.gen().wrapping_add(1);
        let t = std::mem::replace(slot, Slot::Vacant(next));
        self.free.push(index as u32);
        match t {
            Slot::Live(t) => Some(t),
            Slot::Vacant(_) => None,
        }
    }

    /// Every live task, in id order.
    pub(crate) fn live_by_id(&self) -> Vec<Rc<dyn TaskObj>> {
        let mut v: Vec<Rc<dyn TaskObj>> = self
            .slots
            .iter()
            .filter_map(|s| s.live().map(|t| t.obj.clone()))
            .collect();
        v.sort_by_key(|o| o.header().id);
        v
    }

    /// Takes every live task out, in id order (close).
    pub(crate) fn drain_by_id(&mut self) -> Vec<LiveTask> {
        let mut v: Vec<LiveTask> = self.slots.iter_mut().filter_map(Slot::take).collect();
        v.sort_by_key(|t| t.obj.header().id);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::LoopError;
    use crate::task::error::TaskError;
    use crate::task::header::{Header, LoopLink};
    use crate::task::link::Msg;
    use crate::task::state::Status;
    use std::cell::Cell;
    use std::rc::Weak;
    use std::task::{Poll, Waker};

    struct NoLoop;
    impl LoopLink for NoLoop {
        fn post(&self, _: Msg) {}
        fn fail(&self, _: LoopError) {}
        fn link_awaiting(&self, _: Rc<dyn TaskObj>) {}
        fn describe(&self) -> String {
            "none".to_owned()
        }
    }

    struct Dummy(Header);
    impl TaskObj for Dummy {
        fn header(&self) -> &Header {
            &self.0
        }
        fn poll_step(&self, _: &Waker) -> Poll<()> {
            Poll::Pending
        }
        fn drop_future(&self) {}
        fn set_failed(&self, _: TaskError) {}
    }

    fn task(id: u32, key: u64) -> Rc<dyn TaskObj> {
        let link: Weak<dyn LoopLink> = Weak::<NoLoop>::new();
        Rc::new(Dummy(Header {
            id: crate::task::id::TaskId::from_raw(id),
            key,
            rare: std::cell::OnceCell::new(),
            status: Status::new(),
            join_waker: Cell::new(None),
            awaiting: Cell::new(None),
            link,
            waker: std::cell::OnceCell::new(),
        }))
    }

    fn add(slab: &mut TaskSlab, id: u32) -> u64 {
        let key = slab.next_key();
        slab.insert(key, task(id, key));
        key
    }

    #[test]
    fn a_stale_key_finds_nothing_after_its_slot_is_reused() {
        let mut slab = TaskSlab::default();
        let a = add(&mut slab, 1);
        let b = add(&mut slab, 2);
        assert_eq!(split(a), (0, 0));
        assert_eq!(split(b), (1, 0));
        let (index, _) = slab.get_mut(a).unwrap();
        assert!(slab.remove(index).is_some());
        assert!(slab.get_mut(a).is_none(), "the key retired with its task");
        let c = add(&mut slab, 3);
        assert_eq!(
            split(c),
            (0, 1),
            "the slot is reused with the next generation"
        );
        assert!(slab.get_mut(a).is_none(), "the old key still finds nothing");
        assert_eq!(slab.get_mut(c).unwrap().1.obj.header().id.as_u32(), 3);
    }

    #[test]
    fn a_slot_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Slot>(), 24);
    }

    #[test]
    fn live_tasks_come_out_in_id_order() {
        let mut slab = TaskSlab::default();
        for id in [1, 2, 3] {
            add(&mut slab, id);
        }
        slab.remove(0);
        add(&mut slab, 4); // takes slot 0
        let ids: Vec<u32> = slab
            .live_by_id()
            .iter()
            .map(|o| o.header().id.as_u32())
            .collect();
        assert_eq!(ids, [2, 3, 4]);
        let drained: Vec<u32> = slab
            .drain_by_id()
            .iter()
            .map(|t| t.obj.header().id.as_u32())
            .collect();
        assert_eq!(drained, [2, 3, 4]);
        assert!(slab.live_by_id().is_empty());
    }
}
