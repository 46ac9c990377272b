//! The TaskExecutor's slot table: which slot is free, allocated to a job, or running tasks.
//!
//! Modelled on Flink's TaskSlotTable. A TaskExecutor has `number_of_slots` static slots (indexes
//! `0..n`, each with the default slot resources) and, under fine-grained resource management, dynamic
//! slots (indexes from `n` up) of the exact resources a job asked for. Every allocation draws on one
//! budget, the TaskExecutor's total resources, so static and dynamic slots never overcommit it.
//! A slot is allocated for a job (`RequestSlot`), becomes active when the job deploys a task into it,
//! and is freed by the job or the ResourceManager. Freeing a slot whose tasks are still running
//! cancels them; the slot stays allocated until the last of them has ended, so it is never handed
//! out twice.

use std::collections::{BTreeMap, BTreeSet};

use crate::rpc::{
    AllocationId, ExecutionAttemptId, JobId, ResourceId, Resources, SlotAllocation, SlotId,
    SlotOffer, SlotReport, SlotStatus,
};

#[derive(Clone, Debug, PartialEq)]
enum SlotState {
    /// Allocated for a job, no task deployed yet.
    Allocated,
    /// Tasks were deployed into it; `releasing` once freed while tasks still run.
    Active {
        tasks: BTreeSet<ExecutionAttemptId>,
        releasing: bool,
    },
}

#[derive(Clone, Debug)]
struct Slot {
    allocation: SlotAllocation,
    resources: Resources,
    state: SlotState,
}

/// What freeing a slot did.
#[derive(Debug, PartialEq, Eq)]
pub enum FreeOutcome {
    /// The slot is free now.
    Freed { slot_index: u32 },
    /// These tasks must end first; the slot becomes free when the last one has.
    Releasing {
        slot_index: u32,
        tasks: Vec<ExecutionAttemptId>,
    },
}

pub struct SlotTable {
    resource_id: ResourceId,
    number_of_slots: u32,
    total: Resources,
    default_slot: Resources,
    /// Allocated slots (static and dynamic) by index; a static index missing here is free.
    slots: BTreeMap<u32, Slot>,
}

impl SlotTable {
    pub fn new(resource_id: ResourceId, number_of_slots: u32, total: Resources) -> Self {
        SlotTable {
            resource_id,
            number_of_slots,
            total,
            default_slot: total.divided_by(number_of_slots),
            slots: BTreeMap::new(),
        }
    }

    /// Resources not allocated to any slot.
    pub fn free_resources(&self) -> Resources {
        self.slots
            .values()
            .fold(self.total, |free, slot| free.minus(&slot.resources))
    }

    /// Allocates static slot `slot_index`, or with `None` a dynamic slot of `resources`.
    /// Repeating a request for the same allocation answers with the slot it already has.
    pub fn allocate(
        &mut self,
        slot_index: Option<u32>,
        allocation_id: &AllocationId,
        job_id: &JobId,
        resources: &Resources,
    ) -> Result<SlotOffer, String> {
        if let Some((&index, slot)) = self
            .slots
            .iter()
            .find(|(_, slot)| &slot.allocation.allocation_id == allocation_id)
        {
            return if slot_index.is_none_or(|i| i == index) && &slot.allocation.job_id == job_id {
                Ok(self.offer(index, slot))
            } else {
                Err(format!(
                    "allocation {allocation_id} already holds slot {index} for job {}",
                    slot.allocation.job_id
                ))
            };
        }
        let (index, resources) = match slot_index {
            Some(index) if index >= self.number_of_slots => {
                return Err(format!(
                    "slot index {index} does not exist; this TaskExecutor has {} static slots",
                    self.number_of_slots
                ));
            }
            Some(index) => {
                if let Some(slot) = self.slots.get(&index) {
                    return Err(format!(
                        "slot {index} is already allocated to allocation {} of job {}",
                        slot.allocation.allocation_id, slot.allocation.job_id
                    ));
                }
                (index, self.default_slot)
            }
            None => {
                let index = (self.number_of_slots..)
                    .find(|i| !self.slots.contains_key(i))
                    .ok_or("no dynamic slot index is left")?;
                (index, *resources)
            }
        };
        let free = self.free_resources();
        if !free.fits(&resources) {
            return Err(format!(
                "not enough free resources for a slot of {resources}; free: {free}"
            ));
        }
        let slot = Slot {
            allocation: SlotAllocation {
                allocation_id: allocation_id.clone(),
                job_id: job_id.clone(),
            },
            resources,
            state: SlotState::Allocated,
        };
        let offer = self.offer(index, &slot);
        self.slots.insert(index, slot);
        Ok(offer)
    }

    fn offer(&self, slot_index: u32, slot: &Slot) -> SlotOffer {
        SlotOffer {
            allocation_id: slot.allocation.allocation_id.clone(),
            slot_index,
            resources: slot.resources,
        }
    }

    /// Frees the slot of `allocation_id`.
    pub fn free(&mut self, allocation_id: &AllocationId) -> Result<FreeOutcome, String> {
        let slot_index = self
            .index_of(allocation_id)
            .ok_or_else(|| format!("no slot is allocated to {allocation_id}"))?;
        let slot = self.slots.get_mut(&slot_index).expect("index just found");
        match &mut slot.state {
            SlotState::Active { tasks, releasing } if !tasks.is_empty() => {
                *releasing = true;
                Ok(FreeOutcome::Releasing {
                    slot_index,
                    tasks: tasks.iter().cloned().collect(),
                })
            }
            _ => {
                self.slots.remove(&slot_index);
                Ok(FreeOutcome::Freed { slot_index })
            }
        }
    }

    /// Frees the job's slots that never had a task deployed; returns them.
    pub fn free_inactive(&mut self, job_id: &JobId) -> Vec<(AllocationId, u32)> {
        let inactive: Vec<u32> = self
            .slots
            .iter()
            .filter(|(_, s)| &s.allocation.job_id == job_id && s.state == SlotState::Allocated)
            .map(|(&index, _)| index)
            .collect();
        inactive
            .into_iter()
            .filter_map(|index| {
                let slot = self.slots.remove(&index)?;
                Some((slot.allocation.allocation_id, index))
            })
            .collect()
    }

    /// Records a task deployed into the slot of `allocation_id`, which must belong to `job_id`.
    pub fn add_task(
        &mut self,
        allocation_id: &AllocationId,
        job_id: &JobId,
        task: ExecutionAttemptId,
    ) -> Result<u32, String> {
        let slot_index = self.index_of(allocation_id).ok_or_else(|| {
            format!("no slot is allocated to {allocation_id} on this TaskExecutor")
        })?;
        let slot = self.slots.get_mut(&slot_index).expect("index just found");
        if &slot.allocation.job_id != job_id {
            return Err(format!(
                "the slot of {allocation_id} is allocated to job {}, not {job_id}",
                slot.allocation.job_id
            ));
        }
        match &mut slot.state {
            SlotState::Allocated => {
                slot.state = SlotState::Active {
                    tasks: BTreeSet::from([task]),
                    releasing: false,
                };
            }
            SlotState::Active {
                releasing: true, ..
            } => return Err(format!("the slot of {allocation_id} is being freed")),
            SlotState::Active { tasks, .. } => {
                tasks.insert(task);
            }
        }
        Ok(slot_index)
    }

    /// Records that a task has ended; returns the slot index if that freed a releasing slot.
    pub fn remove_task(
        &mut self,
        allocation_id: &AllocationId,
        task: &ExecutionAttemptId,
    ) -> Option<u32> {
        let slot_index = self.index_of(allocation_id)?;
        let slot = self.slots.get_mut(&slot_index)?;
        if let SlotState::Active { tasks, releasing } = &mut slot.state {
            tasks.remove(task);
            if *releasing && tasks.is_empty() {
                self.slots.remove(&slot_index);
                return Some(slot_index);
            }
        }
        None
    }

    /// The slot report sent with every heartbeat: all static slots, then allocated dynamic ones.
    pub fn report(&self) -> SlotReport {
        let status = |slot_index: u32, resources: Resources, allocation: Option<SlotAllocation>| {
            SlotStatus {
                slot_id: SlotId {
                    resource_id: self.resource_id.clone(),
                    slot_index,
                },
                resources,
                allocation,
            }
        };
        let statics = (0..self.number_of_slots).filter_map(|index| match self.slots.get(&index) {
            Some(_) => None,
            None => Some(status(index, self.default_slot, None)),
        });
        let allocated = self
            .slots
            .iter()
            .map(|(&index, slot)| status(index, slot.resources, Some(slot.allocation.clone())));
        let mut slots: Vec<SlotStatus> = statics.chain(allocated).collect();
        slots.sort_by_key(|s| s.slot_id.slot_index);
        SlotReport { slots }
    }

    fn index_of(&self, allocation_id: &AllocationId) -> Option<u32> {
        self.slots
            .iter()
            .find(|(_, slot)| &slot.allocation.allocation_id == allocation_id)
            .map(|(&index, _)| index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn table() -> SlotTable {
        SlotTable::new("c1".into(), 2, Resources::new(2000, 2 * GIB))
    }

    #[test]
    fn static_allocation_is_idempotent_and_exclusive() {
        let mut t = table();
        let (a, b, job) = (
            AllocationId::from("a"),
            AllocationId::from("b"),
            JobId::from("j"),
        );
        let any = Resources::default();
        let offer = t.allocate(Some(0), &a, &job, &any).unwrap();
        assert_eq!(
            (offer.slot_index, offer.resources),
            (0, Resources::new(1000, GIB))
        );
        assert_eq!(t.allocate(Some(0), &a, &job, &any).unwrap().slot_index, 0);
        assert!(
            t.allocate(Some(0), &b, &job, &any)
                .unwrap_err()
                .contains("already allocated")
        );
        assert!(
            t.allocate(Some(1), &a, &job, &any)
                .unwrap_err()
                .contains("already holds slot 0")
        );
        assert!(
            t.allocate(Some(2), &b, &job, &any)
                .unwrap_err()
                .contains("does not exist")
        );
        let report = t.report();
        assert_eq!(report.slots.len(), 2);
        assert_eq!(
            report.slots[0].allocation.as_ref().unwrap().allocation_id,
            a
        );
        assert_eq!(report.slots[1].allocation, None);
    }

    #[test]
    fn dynamic_slots_share_the_budget_with_static_ones() {
        let mut t = table();
        let job = JobId::from("j");
        let small = Resources::new(500, GIB / 2);
        let d = t.allocate(None, &"d1".into(), &job, &small).unwrap();
        assert_eq!((d.slot_index, d.resources), (2, small));
        assert_eq!(
            t.allocate(None, &"d2".into(), &job, &small)
                .unwrap()
                .slot_index,
            3
        );
        // 1 core and 1 GiB left: one static slot fits, the second does not.
        t.allocate(Some(0), &"s0".into(), &job, &small).unwrap();
        let err = t.allocate(Some(1), &"s1".into(), &job, &small).unwrap_err();
        assert!(err.contains("not enough free resources"), "{err}");
        assert_eq!(t.free_resources(), Resources::default());
        let indexes: Vec<_> = t
            .report()
            .slots
            .iter()
            .map(|s| s.slot_id.slot_index)
            .collect();
        assert_eq!(indexes, vec![0, 1, 2, 3]);
        // Freeing a dynamic slot returns its resources and its index.
        assert_eq!(
            t.free(&"d1".into()),
            Ok(FreeOutcome::Freed { slot_index: 2 })
        );
        assert_eq!(
            t.allocate(None, &"d3".into(), &job, &small)
                .unwrap()
                .slot_index,
            2
        );
    }

    #[test]
    fn freeing_an_active_slot_waits_for_its_tasks() {
        let mut t = table();
        let (a, job) = (AllocationId::from("a"), JobId::from("j"));
        t.allocate(Some(1), &a, &job, &Resources::default())
            .unwrap();
        assert!(t.add_task(&a, &JobId::from("other"), "e0".into()).is_err());
        assert_eq!(t.add_task(&a, &job, "e1".into()), Ok(1));
        assert_eq!(
            t.free(&a),
            Ok(FreeOutcome::Releasing {
                slot_index: 1,
                tasks: vec!["e1".into()]
            })
        );
        assert!(t.add_task(&a, &job, "e2".into()).is_err());
        assert!(t.report().slots[1].allocation.is_some());
        assert_eq!(t.remove_task(&a, &"e1".into()), Some(1));
        assert!(t.report().slots[1].allocation.is_none());
        assert!(t.free(&a).is_err());
    }

    #[test]
    fn free_inactive_keeps_slots_that_ran_tasks_and_other_jobs() {
        let mut t = table();
        let (j, k) = (JobId::from("j"), JobId::from("k"));
        let r = Resources::new(100, 1);
        t.allocate(None, &"idle".into(), &j, &r).unwrap();
        t.allocate(None, &"busy".into(), &j, &r).unwrap();
        t.allocate(None, &"other".into(), &k, &r).unwrap();
        t.add_task(&"busy".into(), &j, "e".into()).unwrap();
        assert_eq!(t.free_inactive(&j), vec![(AllocationId::from("idle"), 2)]);
        let owners: Vec<_> = t
            .report()
            .slots
            .into_iter()
            .filter_map(|s| s.allocation.map(|a| a.allocation_id.0))
            .collect();
        assert_eq!(owners, vec!["busy", "other"]);
    }
}
