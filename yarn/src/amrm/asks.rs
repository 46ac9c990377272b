//! The ask table: what an ApplicationMaster still wants, kept the way YARN's scheduler keeps it.
//!
//! YARN stores an application's asks as absolute totals keyed by scheduler key (priority and
//! allocation request id) and resource name (`*`, a rack or a host). Every ask an AM sends replaces
//! the RM's count at that key, and the RM decrements its own count whenever it allocates a container
//! for the key. Two rules follow, and this table enforces both:
//!
//! - When a container arrives, the matching count is decremented here at once, exactly as the RM
//!   decremented its own. Nothing is sent for that: re-sending the old total (YARN-1902's "stale
//!   ask") would re-arm the RM and over-allocate.
//! - Only counts the application itself changed (a new request, a withdrawn one) are sent, once, on
//!   the next allocate; a failed allocate puts them back to be sent again.
//!
//! A container that matches no outstanding count is surplus: the caller releases it.

use std::collections::{BTreeMap, BTreeSet};

use crate::proto::hadoop::yarn::{PriorityProto, ResourceProto, ResourceRequestProto};
use crate::records::Resource;

/// The resource name YARN uses for "any host".
pub const ANY: &str = "*";

/// One container wanted: its shape, its scheduler key and where it may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRequest {
    /// Smaller numbers are served first. One priority per container shape is the safe choice,
    /// since YARN may normalise the size it returns.
    pub priority: i32,
    pub capability: Resource,
    /// `-1` when unused (the default); otherwise containers come back tagged with it.
    pub allocation_request_id: i64,
    /// Preferred hosts; empty for anywhere.
    pub nodes: Vec<String>,
    /// Preferred racks; empty for anywhere.
    pub racks: Vec<String>,
    /// With nodes or racks given: `false` keeps the container on them.
    pub relax_locality: bool,
    pub node_label_expression: Option<String>,
}

impl ContainerRequest {
    /// A request for one container of `capability` anywhere, at `priority`.
    pub fn new(priority: i32, capability: Resource) -> Self {
        ContainerRequest {
            priority,
            capability,
            allocation_request_id: -1,
            nodes: Vec::new(),
            racks: Vec::new(),
            relax_locality: true,
            node_label_expression: None,
        }
    }

    fn key(&self) -> SchedulerKey {
        SchedulerKey {
            priority: self.priority,
            allocation_request_id: self.allocation_request_id,
        }
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(ANY)
            .chain(self.racks.iter().map(String::as_str))
            .chain(self.nodes.iter().map(String::as_str))
    }
}

/// The scheduler key of YARN's ask table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchedulerKey {
    pub priority: i32,
    pub allocation_request_id: i64,
}

/// A request the table cannot hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AskError {
    #[error(
        "priority {priority} (allocation request id {allocation_request_id}) already asks for \
         {existing}; YARN cannot tell containers of two sizes apart at one priority, so use one \
         priority per container size (asked now: {asked})"
    )]
    CapabilityMismatch {
        priority: i32,
        allocation_request_id: i64,
        existing: Resource,
        asked: Resource,
    },
    #[error("no outstanding request at priority {priority} to withdraw")]
    NothingToWithdraw { priority: i32 },
}

#[derive(Debug, Clone)]
struct Entry {
    capability: Resource,
    relax_any: bool,
    node_label_expression: Option<String>,
    counts: BTreeMap<String, i32>,
}

/// What the application still wants, with the counts not yet sent to the RM.
#[derive(Debug, Default, Clone)]
pub struct AskTable {
    entries: BTreeMap<SchedulerKey, Entry>,
    unsent: BTreeSet<(SchedulerKey, String)>,
}

impl AskTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one container to the totals at the request's key.
    pub fn add(&mut self, request: &ContainerRequest) -> Result<(), AskError> {
        let key = request.key();
        let localized = !request.nodes.is_empty() || !request.racks.is_empty();
        let entry = self.entries.entry(key).or_insert_with(|| Entry {
            capability: request.capability,
            relax_any: true,
            node_label_expression: request.node_label_expression.clone(),
            counts: BTreeMap::new(),
        });
        if entry.capability != request.capability {
            return Err(AskError::CapabilityMismatch {
                priority: key.priority,
                allocation_request_id: key.allocation_request_id,
                existing: entry.capability,
                asked: request.capability,
            });
        }
        if localized {
            entry.relax_any = request.relax_locality;
        }
        for name in request.names() {
            *entry.counts.entry(name.to_string()).or_insert(0) += 1;
            self.unsent.insert((key, name.to_string()));
        }
        Ok(())
    }

    /// Withdraws one container from the totals at the request's key (a request YARN has not
    /// granted and the application no longer wants).
    pub fn remove(&mut self, request: &ContainerRequest) -> Result<(), AskError> {
        let key = request.key();
        let Some(entry) = self.entries.get_mut(&key) else {
            return Err(AskError::NothingToWithdraw {
                priority: key.priority,
            });
        };
        if entry.counts.get(ANY).copied().unwrap_or(0) == 0 {
            return Err(AskError::NothingToWithdraw {
                priority: key.priority,
            });
        }
        for name in request.names() {
            if let Some(count) = entry.counts.get_mut(name)
                && *count > 0
            {
                *count -= 1;
                self.unsent.insert((key, name.to_string()));
            }
        }
        Ok(())
    }

    /// Accounts for a container the RM allocated at `key` on `host`: decrements the counts the RM
    /// decremented (`*`, and the host's own when one was asked for). Returns false when nothing
    /// was outstanding there: the container is surplus.
    pub fn allocated(&mut self, key: SchedulerKey, host: &str) -> bool {
        let Some(entry) = self.entries.get_mut(&key) else {
            return false;
        };
        match entry.counts.get_mut(ANY) {
            Some(any) if *any > 0 => *any -= 1,
            _ => return false,
        }
        if let Some(count) = entry.counts.get_mut(host)
            && *count > 0
        {
            *count -= 1;
        }
        self.prune(key);
        true
    }

    /// The key an allocated container belongs to: its allocation request id when it carries one
    /// that the table knows, else its priority with the default id.
    pub fn key_for(&self, priority: i32, allocation_request_id: i64) -> SchedulerKey {
        let exact = SchedulerKey {
            priority,
            allocation_request_id,
        };
        if self.entries.contains_key(&exact) {
            return exact;
        }
        SchedulerKey {
            priority,
            allocation_request_id: -1,
        }
    }

    /// Containers still wanted at `key` (the `*` total).
    pub fn outstanding(&self, key: SchedulerKey) -> i32 {
        self.entries
            .get(&key)
            .and_then(|e| e.counts.get(ANY).copied())
            .unwrap_or(0)
    }

    /// Containers still wanted across all keys.
    pub fn total_outstanding(&self) -> i64 {
        self.entries
            .values()
            .map(|e| i64::from(e.counts.get(ANY).copied().unwrap_or(0)))
            .sum()
    }

    /// The capability asked for at `key`.
    pub fn capability(&self, key: SchedulerKey) -> Option<Resource> {
        self.entries.get(&key).map(|e| e.capability)
    }

    /// The counts changed since the last call, as the asks of the next allocate. Call
    /// [`AskTable::unsend`] with them if that allocate fails.
    pub fn take_changes(&mut self) -> Vec<ResourceRequestProto> {
        let unsent = std::mem::take(&mut self.unsent);
        let asks = unsent
            .iter()
            .filter_map(|(key, name)| self.request_proto(*key, name))
            .collect();
        for (key, _) in &unsent {
            self.prune(*key);
        }
        asks
    }

    /// Marks asks from a failed allocate to be sent again (with their current totals).
    pub fn unsend(&mut self, asks: &[ResourceRequestProto]) {
        for ask in asks {
            let key = SchedulerKey {
                priority: ask.priority.as_ref().and_then(|p| p.priority).unwrap_or(0),
                allocation_request_id: ask.allocation_request_id.unwrap_or(-1),
            };
            let name = ask.resource_name.clone().unwrap_or_else(|| ANY.to_string());
            self.entries
                .entry(key)
                .or_insert_with(|| Entry {
                    capability: ask
                        .capability
                        .as_ref()
                        .map(Resource::from)
                        .unwrap_or_default(),
                    relax_any: ask.relax_locality.unwrap_or(true),
                    node_label_expression: ask.node_label_expression.clone(),
                    counts: BTreeMap::new(),
                })
                .counts
                .entry(name.clone())
                .or_insert(0);
            self.unsent.insert((key, name));
        }
    }

    /// Every outstanding count, for re-registering after the RM lost the application's state.
    pub fn full_table(&mut self) -> Vec<ResourceRequestProto> {
        self.unsent.clear();
        let all: Vec<_> = self
            .entries
            .iter()
            .flat_map(|(key, e)| e.counts.keys().map(move |name| (*key, name.clone())))
            .collect();
        all.iter()
            .filter_map(|(key, name)| self.request_proto(*key, name))
            .filter(|ask| ask.num_containers.unwrap_or(0) > 0)
            .collect()
    }

    fn request_proto(&self, key: SchedulerKey, name: &str) -> Option<ResourceRequestProto> {
        let entry = self.entries.get(&key)?;
        let count = entry.counts.get(name).copied()?;
        Some(ResourceRequestProto {
            priority: Some(PriorityProto {
                priority: Some(key.priority),
            }),
            resource_name: Some(name.to_string()),
            capability: Some(ResourceProto::from(entry.capability)),
            num_containers: Some(count),
            relax_locality: Some(if name == ANY { entry.relax_any } else { true }),
            node_label_expression: entry.node_label_expression.clone(),
            execution_type_request: None,
            allocation_request_id: Some(key.allocation_request_id),
        })
    }

    /// Drops counts that are zero and already sent, and keys with nothing left.
    fn prune(&mut self, key: SchedulerKey) {
        let Some(entry) = self.entries.get_mut(&key) else {
            return;
        };
        let unsent = &self.unsent;
        entry
            .counts
            .retain(|name, count| *count > 0 || unsent.contains(&(key, name.clone())));
        if entry.counts.is_empty() {
            self.entries.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(mb: i64, vcores: i32) -> Resource {
        Resource::new(mb, vcores)
    }

    fn counts(asks: &[ResourceRequestProto]) -> Vec<(i32, String, i32)> {
        asks.iter()
            .map(|a| {
                (
                    a.priority.unwrap().priority.unwrap(),
                    a.resource_name.clone().unwrap(),
                    a.num_containers.unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn asks_are_absolute_totals_sent_once() {
        let mut t = AskTable::new();
        let r = ContainerRequest::new(1, res(1024, 1));
        for _ in 0..3 {
            t.add(&r).unwrap();
        }
        assert_eq!(counts(&t.take_changes()), vec![(1, "*".into(), 3)]);
        assert!(
            t.take_changes().is_empty(),
            "an unchanged total is not re-sent"
        );
        assert_eq!(t.total_outstanding(), 3);
    }

    #[test]
    fn an_allocation_decrements_without_resending_the_stale_total() {
        let mut t = AskTable::new();
        let r = ContainerRequest::new(1, res(1024, 1));
        t.add(&r).unwrap();
        t.add(&r).unwrap();
        t.take_changes();
        let key = t.key_for(1, -1);
        assert!(t.allocated(key, "host-a"));
        assert_eq!(t.outstanding(key), 1);
        assert!(
            t.take_changes().is_empty(),
            "the RM decremented its own count"
        );
        assert!(t.allocated(key, "host-b"));
        assert!(!t.allocated(key, "host-c"), "a third container is surplus");
        assert_eq!(t.total_outstanding(), 0);
    }

    #[test]
    fn withdrawing_sends_the_new_total_and_zero_cancels() {
        let mut t = AskTable::new();
        let r = ContainerRequest::new(2, res(512, 1));
        t.add(&r).unwrap();
        t.take_changes();
        t.remove(&r).unwrap();
        assert_eq!(counts(&t.take_changes()), vec![(2, "*".into(), 0)]);
        assert!(t.take_changes().is_empty());
        assert_eq!(
            t.remove(&r),
            Err(AskError::NothingToWithdraw { priority: 2 })
        );
    }

    #[test]
    fn one_capability_per_priority() {
        let mut t = AskTable::new();
        t.add(&ContainerRequest::new(1, res(1024, 1))).unwrap();
        let err = t.add(&ContainerRequest::new(1, res(2048, 1))).unwrap_err();
        assert!(matches!(err, AskError::CapabilityMismatch { .. }));
        assert!(err.to_string().contains("one priority per container size"));
    }

    #[test]
    fn a_failed_allocate_puts_its_asks_back() {
        let mut t = AskTable::new();
        let r = ContainerRequest::new(1, res(1024, 1));
        t.add(&r).unwrap();
        let sent = t.take_changes();
        t.unsend(&sent);
        t.add(&r).unwrap();
        assert_eq!(counts(&t.take_changes()), vec![(1, "*".into(), 2)]);
    }

    #[test]
    fn node_requests_carry_any_and_strict_locality() {
        let mut t = AskTable::new();
        let mut r = ContainerRequest::new(3, res(1024, 1));
        r.nodes = vec!["n1".into()];
        r.relax_locality = false;
        t.add(&r).unwrap();
        let asks = t.take_changes();
        assert_eq!(counts(&asks), vec![(3, "*".into(), 1), (3, "n1".into(), 1)]);
        let any = asks
            .iter()
            .find(|a| a.resource_name.as_deref() == Some("*"))
            .unwrap();
        assert_eq!(any.relax_locality, Some(false));
        assert!(t.allocated(t.key_for(3, -1), "n1"));
        assert_eq!(t.total_outstanding(), 0);
    }

    #[test]
    fn allocation_request_ids_are_their_own_keys() {
        let mut t = AskTable::new();
        let mut a = ContainerRequest::new(1, res(1024, 1));
        a.allocation_request_id = 7;
        let b = ContainerRequest::new(1, res(1024, 1));
        t.add(&a).unwrap();
        t.add(&b).unwrap();
        assert_eq!(t.key_for(1, 7).allocation_request_id, 7);
        assert_eq!(t.key_for(1, 99).allocation_request_id, -1);
        assert!(t.allocated(t.key_for(1, 7), "h"));
        assert_eq!(t.outstanding(t.key_for(1, -1)), 1);
    }

    #[test]
    fn resync_resends_every_outstanding_count() {
        let mut t = AskTable::new();
        let r = ContainerRequest::new(1, res(1024, 1));
        t.add(&r).unwrap();
        t.add(&r).unwrap();
        t.take_changes();
        t.allocated(t.key_for(1, -1), "h");
        assert_eq!(counts(&t.full_table()), vec![(1, "*".into(), 1)]);
    }
}
