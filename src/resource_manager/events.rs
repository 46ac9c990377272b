//! The decision log: every decision the ResourceManager takes, with its reason, in a bounded buffer
//! that can be queried ("why is my job stuck?" is one query away; the AM serves it at GET /events).
//!
//! Events carry ids and counts, not formatted text, so recording one costs a few word copies even
//! when a full allocation records a hundred thousand of them.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::types::{AllocationId, JobId, Timestamp, WorkerId, WorkerSpec};

/// Why a decision was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The SlotManager declared more workers of this spec than exist or are asked for.
    Needed,
    /// The SlotManager declared fewer workers than exist: the ask or worker is no longer needed.
    NoLongerNeeded,
    /// The deployment delivered a worker nobody asked for.
    Surplus,
    /// The TaskManager was idle for `resourcemanager.taskmanager-timeout`.
    Idle,
    /// The worker did not register within `resourcemanager.taskmanager-registration.timeout`.
    RegistrationTimeout,
    /// The TaskExecutor is not a worker this ResourceManager requested or recovered.
    UnknownWorker,
    /// A newer registration of the same TaskExecutor replaced this one.
    Reregistered,
    /// Adding it would exceed `slotmanager.number-of-slots.max` / `max-total-resource.*`.
    MaxResourcesExceeded,
    /// The profile does not fit into a TaskManager of the default worker spec.
    ProfileTooLarge,
    /// More start failures per minute than `resourcemanager.start-worker.max-failure-rate`.
    StartFailureRateExceeded,
    /// The deployment failed to provide the worker.
    RequestFailed,
    /// The worker's process ended.
    Terminated,
    /// No heartbeat within `heartbeat.timeout`.
    HeartbeatTimeout,
    /// The TaskExecutor or JobMaster said so.
    Requested,
    /// The TaskExecutor's connection ended: its process stopped or the network between it and
    /// the ResourceManager failed.
    Disconnected,
    /// The TaskExecutor did not answer the slot request within the RPC timeout.
    SlotRequestTimeout,
    /// The TaskExecutor refused the slot request.
    SlotRequestRefused,
    /// The TaskExecutor's slot report differs from the ResourceManager's belief; the report wins.
    SlotReport,
    /// Kept free for `slotmanager.redundant-taskmanager-num`.
    Redundancy,
    /// Kept for `slotmanager.number-of-slots.min` / `min-total-resource.*`.
    Minimum,
    /// The job reached a globally terminal state.
    JobTerminated,
    /// The job's JobMaster went away but the job may come back with a new leader.
    JobMasterGone,
    /// A requirement was assigned to a slot or a pending TaskManager.
    Requirement,
    /// A worker from a previous attempt of the application.
    PreviousAttempt,
    /// The deployment reported an unrecoverable error.
    Fatal,
}

/// What was decided or observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A worker was asked of the deployment.
    WorkerAsked {
        spec: WorkerSpec,
        outstanding_asks: u32,
    },
    /// An ask not yet granted was withdrawn.
    AskCancelled {
        spec: WorkerSpec,
        outstanding_asks: u32,
    },
    /// The deployment allocated a worker against an ask.
    WorkerAllocated { worker: WorkerId },
    /// A worker was released (see the reason: surplus, idle, no longer needed, registration timeout...).
    WorkerReleased { worker: WorkerId },
    /// The worker's process started.
    WorkerStarted { worker: WorkerId },
    /// The worker's process ended.
    WorkerTerminated {
        worker: WorkerId,
        cause: String,
        registered: bool,
    },
    /// A start failure was counted.
    StartFailure {
        worker: Option<WorkerId>,
        failures_last_minute: u32,
    },
    /// Asking for workers is paused until the given time.
    StartPaused { until: Timestamp },
    /// Workers from a previous attempt were recovered.
    WorkersRecovered { count: u32 },
    /// A TaskExecutor registered and its TaskManager joined the SlotManager.
    TaskManagerRegistered {
        worker: WorkerId,
        matched_pending: bool,
    },
    /// A TaskExecutor's registration was refused.
    RegistrationRefused { worker: WorkerId },
    /// A TaskManager left the SlotManager.
    TaskManagerRemoved { worker: WorkerId, slots_lost: u32 },
    /// A TaskManager was marked unwanted (to be released).
    TaskManagerUnwanted { worker: WorkerId },
    /// A pending TaskManager (a worker to come) was planned.
    PendingTaskManagerAdded { pending: u32 },
    /// A pending TaskManager was dropped.
    PendingTaskManagerRemoved { pending: u32 },
    /// A slot was requested on a TaskExecutor for a job.
    SlotRequested {
        job: JobId,
        worker: WorkerId,
        allocation: AllocationId,
    },
    /// The TaskExecutor confirmed the slot.
    SlotAllocated {
        job: JobId,
        worker: WorkerId,
        allocation: AllocationId,
    },
    /// The slot request failed; the requirement is checked again.
    SlotRequestFailed {
        job: JobId,
        worker: WorkerId,
        allocation: AllocationId,
    },
    /// A slot became free.
    SlotFreed {
        job: JobId,
        worker: WorkerId,
        allocation: AllocationId,
    },
    /// A slot the ResourceManager did not know of was adopted from a slot report.
    SlotAdopted {
        job: JobId,
        worker: WorkerId,
        allocation: AllocationId,
    },
    /// A job declared its requirements (total slots over all profiles).
    RequirementsDeclared { job: JobId, slots: u32 },
    /// A job's requirements cannot be fulfilled; the JobMaster was told.
    RequirementUnfulfillable { job: JobId, missing: u32 },
    /// A job's requirements were cleared.
    RequirementsCleared { job: JobId },
    /// A JobMaster registered.
    JobMasterRegistered { job: JobId },
    /// A JobMaster disconnected or was disconnected.
    JobMasterDisconnected { job: JobId },
    /// Declarations were postponed until previous-attempt workers re-registered.
    WaitingForRecoveredWorkers { count: u32 },
    /// The deployment failed fatally.
    FatalError { message: String },
}

/// One entry of the decision log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log since start (never reused; gaps mean older entries were dropped).
    pub seq: u64,
    /// When, on the ResourceManager's clock.
    pub at: Timestamp,
    /// Why.
    pub reason: Reason,
    /// What.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// The job the event concerns, if any.
    pub fn job(&self) -> Option<JobId> {
        use EventKind::*;
        match &self.kind {
            SlotRequested { job, .. }
            | SlotAllocated { job, .. }
            | SlotRequestFailed { job, .. }
            | SlotFreed { job, .. }
            | SlotAdopted { job, .. }
            | RequirementsDeclared { job, .. }
            | RequirementUnfulfillable { job, .. }
            | RequirementsCleared { job }
            | JobMasterRegistered { job }
            | JobMasterDisconnected { job } => Some(*job),
            _ => None,
        }
    }

    /// The worker the event concerns, if any.
    pub fn worker(&self) -> Option<&WorkerId> {
        use EventKind::*;
        match &self.kind {
            WorkerAllocated { worker }
            | WorkerReleased { worker }
            | WorkerStarted { worker }
            | WorkerTerminated { worker, .. }
            | TaskManagerRegistered { worker, .. }
            | RegistrationRefused { worker }
            | TaskManagerRemoved { worker, .. }
            | TaskManagerUnwanted { worker }
            | SlotRequested { worker, .. }
            | SlotAllocated { worker, .. }
            | SlotRequestFailed { worker, .. }
            | SlotFreed { worker, .. }
            | SlotAdopted { worker, .. } => Some(worker),
            StartFailure { worker, .. } => worker.as_ref(),
            _ => None,
        }
    }

    /// The event's name as it appears in JSON (`worker_asked`, `slot_freed`, ...).
    pub fn name(&self) -> &'static str {
        use EventKind::*;
        match &self.kind {
            WorkerAsked { .. } => "worker_asked",
            AskCancelled { .. } => "ask_cancelled",
            WorkerAllocated { .. } => "worker_allocated",
            WorkerReleased { .. } => "worker_released",
            WorkerStarted { .. } => "worker_started",
            WorkerTerminated { .. } => "worker_terminated",
            StartFailure { .. } => "start_failure",
            StartPaused { .. } => "start_paused",
            WorkersRecovered { .. } => "workers_recovered",
            TaskManagerRegistered { .. } => "task_manager_registered",
            RegistrationRefused { .. } => "registration_refused",
            TaskManagerRemoved { .. } => "task_manager_removed",
            TaskManagerUnwanted { .. } => "task_manager_unwanted",
            PendingTaskManagerAdded { .. } => "pending_task_manager_added",
            PendingTaskManagerRemoved { .. } => "pending_task_manager_removed",
            SlotRequested { .. } => "slot_requested",
            SlotAllocated { .. } => "slot_allocated",
            SlotRequestFailed { .. } => "slot_request_failed",
            SlotFreed { .. } => "slot_freed",
            SlotAdopted { .. } => "slot_adopted",
            RequirementsDeclared { .. } => "requirements_declared",
            RequirementUnfulfillable { .. } => "requirement_unfulfillable",
            RequirementsCleared { .. } => "requirements_cleared",
            JobMasterRegistered { .. } => "job_master_registered",
            JobMasterDisconnected { .. } => "job_master_disconnected",
            WaitingForRecoveredWorkers { .. } => "waiting_for_recovered_workers",
            FatalError { .. } => "fatal_error",
        }
    }
}

/// A filter over the decision log; every field set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQuery {
    /// Only events with `seq >= since`.
    pub since: Option<u64>,
    /// Only events of this name (e.g. `worker_released`).
    pub name: Option<String>,
    /// Only events with this reason.
    pub reason: Option<Reason>,
    /// Only events about this job.
    pub job: Option<JobId>,
    /// Only events about this worker.
    pub worker: Option<WorkerId>,
    /// At most this many, the newest ones.
    pub limit: Option<usize>,
}

impl EventQuery {
    fn matches(&self, e: &Event) -> bool {
        self.since.is_none_or(|s| e.seq >= s)
            && self.name.as_deref().is_none_or(|n| e.name() == n)
            && self.reason.is_none_or(|r| e.reason == r)
            && self.job.is_none_or(|j| e.job() == Some(j))
            && self.worker.as_ref().is_none_or(|w| e.worker() == Some(w))
    }
}

/// The bounded decision log: the newest `capacity` events.
#[derive(Debug, Clone)]
pub struct DecisionLog {
    events: VecDeque<Event>,
    capacity: usize,
    next_seq: u64,
}

impl DecisionLog {
    /// A log keeping the newest `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self {
            events: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
            next_seq: 0,
        }
    }

    /// Records a decision.
    pub fn record(&mut self, at: Timestamp, reason: Reason, kind: EventKind) {
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(Event {
            seq: self.next_seq,
            at,
            reason,
            kind,
        });
        self.next_seq += 1;
    }

    /// The events matching `query`, oldest first.
    pub fn query(&self, query: &EventQuery) -> Vec<Event> {
        let mut out: Vec<Event> = self
            .events
            .iter()
            .filter(|e| query.matches(e))
            .cloned()
            .collect();
        if let Some(limit) = query.limit {
            let skip = out.len().saturating_sub(limit);
            out.drain(..skip);
        }
        out
    }

    /// The sequence number the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_queryable() {
        let mut log = DecisionLog::new(3);
        let w = WorkerId::new("container_1");
        for i in 0..5 {
            log.record(
                Timestamp(i),
                Reason::Idle,
                EventKind::WorkerReleased { worker: w.clone() },
            );
        }
        let all = log.query(&EventQuery::default());
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3, 4]);
        let q = EventQuery {
            name: Some("worker_released".into()),
            limit: Some(1),
            ..Default::default()
        };
        assert_eq!(log.query(&q)[0].seq, 4);
        let q = EventQuery {
            reason: Some(Reason::Surplus),
            ..Default::default()
        };
        assert!(log.query(&q).is_empty());
        let json = serde_json::to_value(&all[0]).unwrap();
        assert_eq!(json["event"], "worker_released");
        assert_eq!(json["reason"], "idle");
        assert_eq!(json["worker"], "container_1");
    }
}
