//! The TaskExecutor's slot table: which slot is free, allocated to a job, or running tasks.
//!
//! Modelled on Flink's TaskSlotTable: a slot is allocated for a job by the ResourceManager
//! (`RequestSlot`), becomes active when the job deploys a task into it, and is freed by the job (or
//! the ResourceManager). Freeing a slot whose tasks are still running cancels them; the slot is
//! reported as allocated until the last of them has ended, so it is never handed out twice.

use std::collections::BTreeSet;

use crate::rpc::{
    AllocationId, ExecutionAttemptId, JobId, ResourceId, ResourceProfile, SlotAllocation, SlotId,
    SlotOffer, SlotReport, SlotStatus,
};

#[derive(Clone, Debug, PartialEq)]
enum SlotState {
    Free,
    /// Allocated for a job, no task deployed yet.
    Allocated(SlotAllocation),
    /// Tasks were deployed into it; `releasing` once freed while tasks still run.
    Active {
        allocation: SlotAllocation,
        tasks: BTreeSet<ExecutionAttemptId>,
        releasing: bool,
    },
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
    profile: ResourceProfile,
    slots: Vec<SlotState>,
}

impl SlotTable {
    pub fn new(resource_id: ResourceId, number_of_slots: u32, profile: ResourceProfile) -> Self {
        SlotTable {
            resource_id,
            profile,
            slots: vec![SlotState::Free; number_of_slots as usize],
        }
    }

    /// Allocates slot `slot_index` for a job. Repeating a request for the same allocation succeeds.
    pub fn allocate(
        &mut self,
        slot_index: u32,
        allocation_id: &AllocationId,
        job_id: &JobId,
    ) -> Result<SlotOffer, String> {
        if let Some(index) = self.index_of(allocation_id)
            && index != slot_index
        {
            return Err(format!(
                "allocation {allocation_id} already holds slot {index}, not slot {slot_index}"
            ));
        }
        let number_of_slots = self.slots.len();
        let slot = self.slots.get_mut(slot_index as usize).ok_or_else(|| {
            format!("slot index {slot_index} does not exist; this TaskExecutor has {number_of_slots} slots")
        })?;
        match slot {
            SlotState::Free => {
                *slot = SlotState::Allocated(SlotAllocation {
                    allocation_id: allocation_id.clone(),
                    job_id: job_id.clone(),
                });
            }
            SlotState::Allocated(current)
            | SlotState::Active {
                allocation: current,
                ..
            } => {
                if &current.allocation_id != allocation_id || &current.job_id != job_id {
                    return Err(format!(
                        "slot {slot_index} is already allocated to allocation {} of job {}",
                        current.allocation_id, current.job_id
                    ));
                }
            }
        }
        Ok(SlotOffer {
            allocation_id: allocation_id.clone(),
            slot_index,
            resource_profile: self.profile,
        })
    }

    /// Frees the slot of `allocation_id`.
    pub fn free(&mut self, allocation_id: &AllocationId) -> Result<FreeOutcome, String> {
        let slot_index = self
            .index_of(allocation_id)
            .ok_or_else(|| format!("no slot is allocated to {allocation_id}"))?;
        let slot = &mut self.slots[slot_index as usize];
        match slot {
            SlotState::Active {
                tasks, releasing, ..
            } if !tasks.is_empty() => {
                *releasing = true;
                Ok(FreeOutcome::Releasing {
                    slot_index,
                    tasks: tasks.iter().cloned().collect(),
                })
            }
            _ => {
                *slot = SlotState::Free;
                Ok(FreeOutcome::Freed { slot_index })
            }
        }
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
        let slot = &mut self.slots[slot_index as usize];
        match slot {
            SlotState::Allocated(allocation) if &allocation.job_id == job_id => {
                *slot = SlotState::Active {
                    allocation: allocation.clone(),
                    tasks: BTreeSet::from([task]),
                    releasing: false,
                };
            }
            SlotState::Active {
                allocation,
                tasks,
                releasing: false,
            } if &allocation.job_id == job_id => {
                tasks.insert(task);
            }
            SlotState::Active {
                releasing: true, ..
            } => return Err(format!("the slot of {allocation_id} is being freed")),
            _ => {
                return Err(format!(
                    "the slot of {allocation_id} is not allocated to job {job_id}"
                ));
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
        let slot = &mut self.slots[slot_index as usize];
        if let SlotState::Active {
            tasks, releasing, ..
        } = slot
        {
            tasks.remove(task);
            if *releasing && tasks.is_empty() {
                *slot = SlotState::Free;
                return Some(slot_index);
            }
        }
        None
    }

    /// The slot report sent with every heartbeat.
    pub fn report(&self) -> SlotReport {
        let slots = self
            .slots
            .iter()
            .enumerate()
            .map(|(index, state)| SlotStatus {
                slot_id: SlotId {
                    resource_id: self.resource_id.clone(),
                    slot_index: index as u32,
                },
                resource_profile: self.profile,
                allocation: match state {
                    SlotState::Free => None,
                    SlotState::Allocated(allocation) | SlotState::Active { allocation, .. } => {
                        Some(allocation.clone())
                    }
                },
            })
            .collect();
        SlotReport { slots }
    }

    fn index_of(&self, allocation_id: &AllocationId) -> Option<u32> {
        self.slots
            .iter()
            .position(|state| match state {
                SlotState::Free => false,
                SlotState::Allocated(a) | SlotState::Active { allocation: a, .. } => {
                    &a.allocation_id == allocation_id
                }
            })
            .map(|i| i as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> SlotTable {
        SlotTable::new(
            "c1".into(),
            2,
            ResourceProfile {
                cpu_cores: 1.0,
                memory_mb: 512,
            },
        )
    }

    #[test]
    fn allocate_is_idempotent_and_exclusive() {
        let mut t = table();
        let (a, b, job) = (
            AllocationId::from("a"),
            AllocationId::from("b"),
            JobId::from("j"),
        );
        assert_eq!(t.allocate(0, &a, &job).unwrap().slot_index, 0);
        assert!(t.allocate(0, &a, &job).is_ok());
        assert!(
            t.allocate(0, &b, &job)
                .unwrap_err()
                .contains("already allocated")
        );
        assert!(
            t.allocate(1, &a, &job)
                .unwrap_err()
                .contains("already holds slot 0")
        );
        assert!(
            t.allocate(2, &b, &job)
                .unwrap_err()
                .contains("does not exist")
        );
        let report = t.report();
        assert_eq!(
            report.slots[0].allocation.as_ref().unwrap().allocation_id,
            a
        );
        assert_eq!(report.slots[1].allocation, None);
    }

    #[test]
    fn freeing_an_active_slot_waits_for_its_tasks() {
        let mut t = table();
        let (a, job) = (AllocationId::from("a"), JobId::from("j"));
        t.allocate(1, &a, &job).unwrap();
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
}
