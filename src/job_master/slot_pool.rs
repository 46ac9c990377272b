//! The JobMaster's slot pool: the physical slots TaskExecutors have offered and the job accepted,
//! what each holds, and the declaration of the job's requirements to the ResourceManager.
//!
//! Requirements are absolute counts per resource profile, as `declareRequiredResources` carries
//! them. A change is declared after `slot.request.max-interval` (Flink batches bursts the same
//! way), and only if the requirements then differ from the last declaration.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::resource_manager::types::{
    AllocationId, ResourceProfile, Resources, Timestamp, WorkerId,
};

/// A slot the job holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhysicalSlot {
    /// The TaskExecutor holding it.
    pub worker: WorkerId,
    /// Its resources.
    pub resources: Resources,
    /// The shared-slot key it serves.
    pub key: u32,
}

/// Slots held and requirements declared.
#[derive(Debug, Clone)]
pub struct SlotPool {
    slots: BTreeMap<AllocationId, PhysicalSlot>,
    required: BTreeMap<ResourceProfile, u32>,
    declared: Option<BTreeMap<ResourceProfile, u32>>,
    declare_at: Option<Timestamp>,
    max_interval: Duration,
}

impl SlotPool {
    /// An empty pool that batches declarations for `max_interval`.
    pub fn new(max_interval: Duration) -> Self {
        SlotPool {
            slots: BTreeMap::new(),
            required: BTreeMap::new(),
            declared: None,
            declare_at: None,
            max_interval,
        }
    }

    /// One more (or, with `up == false`, one fewer) slot of `profile` is required.
    pub fn adjust_requirement(&mut self, profile: ResourceProfile, up: bool, now: Timestamp) {
        let count = self.required.entry(profile).or_insert(0);
        if up {
            *count += 1;
        } else {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.required.remove(&profile);
            }
        }
        if self.declare_at.is_none() {
            self.declare_at = Some(now.after(self.max_interval));
        }
    }

    /// Drops every requirement at once (the job ended); declared at the next due time.
    pub fn clear_requirements(&mut self, now: Timestamp) {
        self.required.clear();
        self.declare_at = Some(now);
    }

    /// The current requirements.
    pub fn requirements(&self) -> &BTreeMap<ResourceProfile, u32> {
        &self.required
    }

    /// The requirements last declared, if any.
    pub fn declared(&self) -> Option<&BTreeMap<ResourceProfile, u32>> {
        self.declared.as_ref()
    }

    /// When a declaration is due.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.declare_at
    }

    /// The requirements to declare now, if a declaration is due and they changed.
    pub fn due_declaration(&mut self, now: Timestamp) -> Option<BTreeMap<ResourceProfile, u32>> {
        if self.declare_at.is_none_or(|t| t > now) {
            return None;
        }
        self.declare_at = None;
        if self.declared.as_ref() == Some(&self.required) {
            return None;
        }
        self.declared = Some(self.required.clone());
        self.declared.clone()
    }

    /// Whether the pool holds this allocation.
    pub fn contains(&self, allocation: AllocationId) -> bool {
        self.slots.contains_key(&allocation)
    }

    /// A held slot.
    pub fn get(&self, allocation: AllocationId) -> Option<&PhysicalSlot> {
        self.slots.get(&allocation)
    }

    /// Takes an accepted slot.
    pub fn insert(&mut self, allocation: AllocationId, slot: PhysicalSlot) {
        self.slots.insert(allocation, slot);
    }

    /// Gives a slot up (freed, lost or failed).
    pub fn remove(&mut self, allocation: AllocationId) -> Option<PhysicalSlot> {
        self.slots.remove(&allocation)
    }

    /// The slots held on one TaskExecutor.
    pub fn slots_on(&self, worker: &WorkerId) -> Vec<AllocationId> {
        self.slots
            .iter()
            .filter(|(_, s)| &s.worker == worker)
            .map(|(a, _)| *a)
            .collect()
    }

    /// All held slots.
    pub fn iter(&self) -> impl Iterator<Item = (&AllocationId, &PhysicalSlot)> {
        self.slots.iter()
    }

    /// Number of held slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no slot is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_are_batched_and_sent_only_on_change() {
        let mut pool = SlotPool::new(Duration::from_millis(20));
        pool.adjust_requirement(ResourceProfile::Unknown, true, Timestamp(0));
        pool.adjust_requirement(ResourceProfile::Unknown, true, Timestamp(5));
        assert_eq!(pool.next_deadline(), Some(Timestamp(20)));
        assert_eq!(pool.due_declaration(Timestamp(19)), None);
        let declared = pool.due_declaration(Timestamp(20)).unwrap();
        assert_eq!(declared[&ResourceProfile::Unknown], 2);
        // Up and down again within one batch: nothing new to declare.
        pool.adjust_requirement(ResourceProfile::Unknown, true, Timestamp(30));
        pool.adjust_requirement(ResourceProfile::Unknown, false, Timestamp(31));
        assert_eq!(pool.due_declaration(Timestamp(50)), None);
        pool.clear_requirements(Timestamp(60));
        assert_eq!(pool.due_declaration(Timestamp(60)), Some(BTreeMap::new()));
    }
}
