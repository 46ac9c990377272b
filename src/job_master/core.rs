//! The JobMaster as a deterministic state machine: it schedules pipelined regions, declares the
//! job's slot requirements, accepts offered slots that serve an outstanding need, deploys subtasks
//! into shared slots, frees slots whose subtasks are done, restarts failed regions under the
//! restart strategy, and cancels.
//!
//! Every input takes the current time; outputs accumulate as [`Command`]s for the owner (an actor
//! in the ApplicationMaster, or the [`super::simulation`]) to carry out, and
//! [`JobMasterCore::next_deadline`] / [`JobMasterCore::poll`] replace timers. Same inputs, same
//! outputs.
//!
//! Job states: CREATED → RUNNING → FINISHED, or → FAILING → FAILED (no restart left), or →
//! CANCELLING → CANCELED. A failed region restarts while the job stays RUNNING (region failover,
//! as Flink). Subtask states: SCHEDULED (waiting for its shared slot) → DEPLOYING → RUNNING →
//! FINISHED / FAILED / CANCELED (CANCELING while a cancel is awaited).
//!
//! A region restart cancels the region's other live subtasks and redeploys every subtask of the
//! region with the next attempt number after the backoff, without waiting for the cancellations
//! to be confirmed (late reports of the old attempt are recognised by their attempt id and
//! ignored). The region keeps its slots through the backoff. A lost TaskExecutor is one failure
//! of every region that had a live subtask on it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use super::graph::ExecutionGraph;
use super::restart::{RestartBackoff, RestartStrategy};
use super::slot_pool::{PhysicalSlot, SlotPool};
use crate::config::{self, ConfigError, Configuration, job_options};
use crate::jobspec::JobSpec;
use crate::resource_manager::types::{
    AllocationId, JobId, JobStatus, ResourceProfile, Resources, Timestamp, WorkerId,
};
use crate::rpc::messages::{self, ExecutionAttemptId, TaskDeployment, TaskState};

/// The JobMaster's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct JobMasterConfig {
    /// `restart-strategy.*`.
    pub restart_strategy: RestartStrategy,
    /// `slot.request.max-interval`.
    pub declare_interval: Duration,
    /// `slot.request.timeout`: how long subtasks may wait for slots before their regions fail.
    pub slot_request_timeout: Duration,
}

impl JobMasterConfig {
    /// Reads the Flink keys.
    pub fn from_configuration(conf: &Configuration) -> Result<Self, ConfigError> {
        Ok(JobMasterConfig {
            restart_strategy: RestartStrategy::from_configuration(conf)?,
            declare_interval: conf.get(&job_options::SLOT_REQUEST_MAX_INTERVAL)?,
            slot_request_timeout: conf.get(&config::SLOT_REQUEST_TIMEOUT)?,
        })
    }
}

impl Default for JobMasterConfig {
    fn default() -> Self {
        JobMasterConfig {
            restart_strategy: RestartStrategy::default(),
            declare_interval: Duration::from_millis(20),
            slot_request_timeout: Duration::from_secs(300),
        }
    }
}

/// A slot a TaskExecutor offers to the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotOffer {
    /// The allocation the ResourceManager made for the job.
    pub allocation: AllocationId,
    /// The slot's resources.
    pub resources: Resources,
}

impl SlotOffer {
    /// A wire offer, whose allocation id is the decimal form [`Command::Deploy`] uses; `None`
    /// for an id that is not one.
    pub fn from_rpc(offer: &messages::SlotOffer) -> Option<SlotOffer> {
        let r = &offer.resources;
        Some(SlotOffer {
            allocation: AllocationId(offer.allocation_id.0.parse().ok()?),
            resources: Resources {
                cpu_millis: r.cpu_millis,
                task_heap: r.task_heap,
                task_off_heap: r.task_off_heap,
                managed: r.managed,
                network: r.network,
            },
        })
    }
}

/// What the JobMaster asks of the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Declare the job's requirements to the ResourceManager (absolute counts per profile).
    DeclareRequirements {
        requirements: BTreeMap<ResourceProfile, u32>,
    },
    /// Deploy a subtask into an accepted slot. The deployment's `allocation_id` is the
    /// allocation's decimal number and its `job_id` the job id's 32 hex digits.
    Deploy {
        worker: WorkerId,
        allocation: AllocationId,
        task: Box<TaskDeployment>,
    },
    /// Cancel a deployed subtask attempt.
    CancelTask {
        worker: WorkerId,
        execution: ExecutionAttemptId,
    },
    /// Give a slot back to its TaskExecutor (which tells the ResourceManager it is free).
    FreeSlot {
        worker: WorkerId,
        allocation: AllocationId,
        cause: String,
    },
    /// The job reached a terminal state; disconnect from the ResourceManager with this status.
    JobTerminated {
        status: JobStatus,
        error: Option<String>,
    },
}

/// Flink's execution states, as far as spindle's subtasks go through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionState {
    /// Its region is not scheduled yet.
    Created,
    /// Waiting for its shared slot.
    Scheduled,
    /// Sent to a TaskExecutor.
    Deploying,
    /// Its process runs.
    Running,
    /// Exited 0.
    Finished,
    /// A cancel was sent; waiting for the TaskExecutor to confirm.
    Canceling,
    /// Cancelled.
    Canceled,
    /// Failed.
    Failed,
}

impl ExecutionState {
    /// Flink's name (`RUNNING`, ...), as the REST API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionState::Created => "CREATED",
            ExecutionState::Scheduled => "SCHEDULED",
            ExecutionState::Deploying => "DEPLOYING",
            ExecutionState::Running => "RUNNING",
            ExecutionState::Finished => "FINISHED",
            ExecutionState::Canceling => "CANCELING",
            ExecutionState::Canceled => "CANCELED",
            ExecutionState::Failed => "FAILED",
        }
    }

    fn is_live(self) -> bool {
        matches!(self, ExecutionState::Deploying | ExecutionState::Running)
    }
}

#[derive(Debug, Clone, Default)]
struct RegionRun {
    scheduled: bool,
    finished: u32,
    waiting_producers: u32,
    restart_at: Option<Timestamp>,
}

/// The JobMaster state machine of one job.
#[derive(Debug)]
pub struct JobMasterCore {
    job: JobId,
    name: String,
    graph: ExecutionGraph,
    status: JobStatus,
    error: Option<String>,
    backoff: RestartBackoff,
    pool: SlotPool,
    out: Vec<Command>,
    created_at: Timestamp,
    ended_at: Option<Timestamp>,
    // Per subtask.
    state: Vec<ExecutionState>,
    attempt: Vec<u32>,
    last_slot: Vec<Option<(AllocationId, u32)>>,
    failures: BTreeMap<u32, String>,
    // Per region.
    regions: Vec<RegionRun>,
    // Per shared-slot key.
    key_users: Vec<u32>,
    holding: Vec<bool>,
    key_slot: Vec<Option<AllocationId>>,
    waiting_keys: BTreeSet<u32>,
    /// Since when some shared slot has waited without any slot arriving.
    waiting_since: Option<Timestamp>,
    slot_request_timeout: Duration,
    maybe_idle: Vec<u32>,
    // Interned TaskExecutor ids for `last_slot`.
    workers: Vec<WorkerId>,
    worker_index: BTreeMap<WorkerId, u32>,
}

impl JobMasterCore {
    /// A JobMaster for a validated spec, in state CREATED.
    pub fn new(job: JobId, spec: &JobSpec, config: JobMasterConfig, now: Timestamp) -> Self {
        let graph = ExecutionGraph::build(spec);
        let n = graph.subtasks() as usize;
        let regions = graph
            .regions
            .iter()
            .map(|r| RegionRun {
                waiting_producers: r.producers.len() as u32,
                ..RegionRun::default()
            })
            .collect();
        JobMasterCore {
            job,
            name: spec.name.clone(),
            status: JobStatus::Created,
            error: None,
            backoff: RestartBackoff::new(
                config.restart_strategy,
                job.0 as u64 ^ (job.0 >> 64) as u64,
            ),
            pool: SlotPool::new(config.declare_interval),
            out: Vec::new(),
            created_at: now,
            ended_at: None,
            state: vec![ExecutionState::Created; n],
            attempt: vec![0; n],
            last_slot: vec![None; n],
            failures: BTreeMap::new(),
            regions,
            key_users: vec![0; graph.keys as usize],
            holding: vec![false; n],
            key_slot: vec![None; graph.keys as usize],
            waiting_keys: BTreeSet::new(),
            waiting_since: None,
            slot_request_timeout: config.slot_request_timeout,
            maybe_idle: Vec::new(),
            workers: Vec::new(),
            worker_index: BTreeMap::new(),
            graph,
        }
    }

    /// The job's id.
    pub fn job(&self) -> JobId {
        self.job
    }

    /// The job's status.
    pub fn status(&self) -> JobStatus {
        self.status
    }

    /// Why the job failed, once it has.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The execution graph.
    pub fn graph(&self) -> &ExecutionGraph {
        &self.graph
    }

    /// The slot pool (read-only).
    pub fn slot_pool(&self) -> &SlotPool {
        &self.pool
    }

    /// A subtask's state and attempt number, by vertex index and subtask index.
    pub fn execution(&self, vertex: u32, subtask: u32) -> (ExecutionState, u32) {
        let s = (self.graph.vertices[vertex as usize].first + subtask) as usize;
        (self.state[s], self.attempt[s])
    }

    /// The commands produced since the last call, in order.
    pub fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.out)
    }

    /// Starts the job: RUNNING, and the regions without producers are scheduled.
    pub fn start(&mut self, now: Timestamp) {
        if self.status != JobStatus::Created {
            return;
        }
        self.status = JobStatus::Running;
        for r in 0..self.regions.len() {
            if self.regions[r].waiting_producers == 0 {
                self.schedule_region(r as u32, now);
            }
        }
        self.settle(now);
    }

    /// A TaskExecutor offers slots allocated for this job. Returns the accepted allocations:
    /// those already held (a repeated offer) and those serving a shared slot still waiting for
    /// one with a matching profile. The rest are rejected and the TaskExecutor frees them.
    pub fn offer_slots(
        &mut self,
        worker: &WorkerId,
        offers: &[SlotOffer],
        now: Timestamp,
    ) -> Vec<AllocationId> {
        let mut accepted = Vec::new();
        for offer in offers {
            if self.pool.contains(offer.allocation) {
                accepted.push(offer.allocation);
                continue;
            }
            if !matches!(self.status, JobStatus::Running) {
                continue;
            }
            let key = self
                .waiting_keys
                .iter()
                .copied()
                .find(|&k| self.graph.key_profile(k).is_matched_by(&offer.resources));
            let Some(key) = key else { continue };
            self.waiting_keys.remove(&key);
            self.key_slot[key as usize] = Some(offer.allocation);
            self.pool.insert(
                offer.allocation,
                PhysicalSlot {
                    worker: worker.clone(),
                    resources: offer.resources,
                    key,
                },
            );
            accepted.push(offer.allocation);
            self.waiting_since = Some(now);
            self.deploy_key(key);
        }
        self.settle(now);
        accepted
    }

    /// A TaskExecutor reports a subtask attempt's state. Reports of older attempts are ignored.
    pub fn update_task_state(
        &mut self,
        execution: &ExecutionAttemptId,
        state: TaskState,
        error: Option<&str>,
        now: Timestamp,
    ) {
        let Some(s) = self.parse_attempt(execution) else {
            return;
        };
        let current = self.state[s];
        match state {
            TaskState::Running => {
                if current == ExecutionState::Deploying {
                    self.state[s] = ExecutionState::Running;
                }
            }
            TaskState::Finished => {
                if current.is_live() || current == ExecutionState::Canceling {
                    self.finish(s, now);
                }
            }
            TaskState::Canceled if current == ExecutionState::Canceling => {
                self.state[s] = ExecutionState::Canceled;
                self.release(s, now);
            }
            TaskState::Failed | TaskState::Canceled => {
                if current == ExecutionState::Canceling {
                    self.state[s] = ExecutionState::Canceled;
                    self.release(s, now);
                } else if current.is_live() {
                    let cause = error.map_or_else(
                        || format!("{} ended {:?} unexpectedly", self.describe(s), state),
                        |e| format!("{} failed: {e}", self.describe(s)),
                    );
                    self.fail_executions(&[s], cause, now);
                }
            }
        }
        self.settle(now);
    }

    /// A TaskExecutor is gone: its slots are lost, and so are its live subtasks.
    pub fn task_executor_lost(&mut self, worker: &WorkerId, cause: &str, now: Timestamp) {
        let lost = self.pool.slots_on(worker);
        self.lose_slots(
            &lost,
            &format!("TaskExecutor {worker} was lost: {cause}"),
            now,
        );
        self.settle(now);
    }

    /// A TaskExecutor reports that a slot failed (Flink's `failSlot`).
    pub fn slot_failed(&mut self, allocation: AllocationId, cause: &str, now: Timestamp) {
        self.lose_slots(
            &[allocation],
            &format!("slot {} failed: {cause}", allocation.0),
            now,
        );
        self.settle(now);
    }

    /// Cancels the job: every live subtask is cancelled; CANCELED once all have confirmed.
    pub fn cancel(&mut self, now: Timestamp) {
        match self.status {
            JobStatus::Created => {
                self.status = JobStatus::Cancelling;
                self.settle(now);
            }
            JobStatus::Running => {
                self.status = JobStatus::Cancelling;
                self.cancel_everything(now);
                self.settle(now);
            }
            _ => {}
        }
    }

    /// The ResourceManager cannot fulfil the job's requirements (Flink's
    /// `notifyNotEnoughResourcesAvailable`): the subtasks waiting for slots fail now.
    pub fn not_enough_resources(&mut self, acquired: u32, now: Timestamp) {
        self.fail_waiting(
            format!("NoResourceAvailableException: the ResourceManager cannot provide the slots the job requires ({acquired} acquired)"),
            now,
        );
        self.settle(now);
    }

    /// The earliest time [`Self::poll`] has work to do.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let restart = self
            .regions
            .iter()
            .filter_map(|r| r.restart_at)
            .chain(self.slot_timeout_at())
            .min();
        match (restart, self.pool.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs what is due: region restarts after their backoff, the slot request timeout, and
    /// requirement declarations.
    pub fn poll(&mut self, now: Timestamp) {
        if self.slot_timeout_at().is_some_and(|t| t <= now) {
            self.fail_waiting(
                format!(
                    "NoResourceAvailableException: could not acquire the required slots within slot.request.timeout ({} ms)",
                    self.slot_request_timeout.as_millis()
                ),
                now,
            );
        }
        if self.status == JobStatus::Running {
            for r in 0..self.regions.len() {
                if self.regions[r].restart_at.is_some_and(|t| t <= now) {
                    self.regions[r].restart_at = None;
                    self.restart_region(r as u32);
                }
            }
        }
        self.settle(now);
    }

    // -----------------------------------------------------------------------------------------

    fn slot_timeout_at(&self) -> Option<Timestamp> {
        (self.status == JobStatus::Running)
            .then_some(self.waiting_since?.after(self.slot_request_timeout))
    }

    /// Fails the subtasks waiting for a slot (one failure event).
    fn fail_waiting(&mut self, cause: String, now: Timestamp) {
        let mut waiting = Vec::new();
        for &key in &self.waiting_keys {
            let (g, index) = self.graph.key_parts(key);
            for &v in &self.graph.groups[g as usize].vertices {
                let vx = &self.graph.vertices[v as usize];
                let s = (vx.first + index) as usize;
                if vx.parallelism > index
                    && self.state[s] == ExecutionState::Scheduled
                    && self.regions[vx.region as usize].restart_at.is_none()
                {
                    waiting.push(s);
                }
            }
        }
        self.waiting_since = Some(now);
        if !waiting.is_empty() {
            self.fail_executions(&waiting, cause, now);
        }
    }

    /// After every input: free idle shared slots, complete a terminal transition, and declare
    /// requirements when due.
    fn settle(&mut self, now: Timestamp) {
        if self.waiting_keys.is_empty() {
            self.waiting_since = None;
        } else {
            self.waiting_since.get_or_insert(now);
        }
        for key in std::mem::take(&mut self.maybe_idle) {
            if self.key_users[key as usize] == 0
                && let Some(allocation) = self.key_slot[key as usize].take()
                && let Some(slot) = self.pool.remove(allocation)
            {
                self.out.push(Command::FreeSlot {
                    worker: slot.worker,
                    allocation,
                    cause: "no subtask of the job needs the slot any more".to_owned(),
                });
            }
        }
        let waiting_cancel = || self.state.contains(&ExecutionState::Canceling);
        match self.status {
            JobStatus::Running
                if self
                    .regions
                    .iter()
                    .enumerate()
                    .all(|(r, run)| run.finished == self.graph.regions[r].subtasks) =>
            {
                self.terminate(JobStatus::Finished, now)
            }
            JobStatus::Failing if !waiting_cancel() => self.terminate(JobStatus::Failed, now),
            JobStatus::Cancelling if !waiting_cancel() => self.terminate(JobStatus::Canceled, now),
            _ => {}
        }
        if let Some(requirements) = self.pool.due_declaration(now) {
            self.out.push(Command::DeclareRequirements { requirements });
        }
    }

    fn terminate(&mut self, status: JobStatus, now: Timestamp) {
        self.status = status;
        self.ended_at = Some(now);
        for r in &mut self.regions {
            r.restart_at = None;
        }
        let held: Vec<(AllocationId, PhysicalSlot)> =
            self.pool.iter().map(|(a, s)| (*a, s.clone())).collect();
        for (allocation, slot) in held {
            self.pool.remove(allocation);
            self.out.push(Command::FreeSlot {
                worker: slot.worker,
                allocation,
                cause: format!("the job is {status:?}"),
            });
        }
        self.key_users.iter_mut().for_each(|u| *u = 0);
        self.holding.iter_mut().for_each(|h| *h = false);
        self.key_slot.iter_mut().for_each(|s| *s = None);
        self.waiting_keys.clear();
        self.pool.clear_requirements(now);
        if let Some(requirements) = self.pool.due_declaration(now) {
            self.out.push(Command::DeclareRequirements { requirements });
        }
        self.out.push(Command::JobTerminated {
            status,
            error: self.error.clone(),
        });
    }

    fn schedule_region(&mut self, r: u32, now: Timestamp) {
        self.regions[r as usize].scheduled = true;
        let vertices = self.graph.regions[r as usize].vertices.clone();
        for v in vertices {
            let (first, p) = {
                let vx = &self.graph.vertices[v as usize];
                (vx.first, vx.parallelism)
            };
            for i in 0..p {
                let s = (first + i) as usize;
                self.state[s] = ExecutionState::Scheduled;
                self.hold(s, now);
                if self.key_slot[self.graph.key_of(v, i) as usize].is_some() {
                    self.deploy(s);
                }
            }
        }
    }

    /// The shared-slot key of a subtask.
    fn key_of_subtask(&self, s: usize) -> u32 {
        let v = self.graph.subtask_vertex[s];
        self.graph
            .key_of(v, s as u32 - self.graph.vertices[v as usize].first)
    }

    /// A subtask needs its key's shared slot (until [`Self::release`]).
    fn hold(&mut self, s: usize, now: Timestamp) {
        if std::mem::replace(&mut self.holding[s], true) {
            return;
        }
        let key = self.key_of_subtask(s);
        let users = &mut self.key_users[key as usize];
        *users += 1;
        if *users == 1 {
            self.pool
                .adjust_requirement(self.graph.key_profile(key), true, now);
            if self.key_slot[key as usize].is_none() {
                self.waiting_keys.insert(key);
            }
        }
    }

    /// A subtask no longer needs its key's shared slot.
    fn release(&mut self, s: usize, now: Timestamp) {
        if !std::mem::replace(&mut self.holding[s], false) {
            return;
        }
        let key = self.key_of_subtask(s);
        let users = &mut self.key_users[key as usize];
        *users -= 1;
        if *users == 0 {
            self.pool
                .adjust_requirement(self.graph.key_profile(key), false, now);
            self.waiting_keys.remove(&key);
            self.maybe_idle.push(key);
        }
    }

    fn deploy_key(&mut self, key: u32) {
        let (g, index) = self.graph.key_parts(key);
        let members = self.graph.groups[g as usize].vertices.clone();
        for v in members {
            let vx = &self.graph.vertices[v as usize];
            if vx.parallelism > index {
                let s = (vx.first + index) as usize;
                if self.state[s] == ExecutionState::Scheduled
                    && self.regions[vx.region as usize].restart_at.is_none()
                {
                    self.deploy(s);
                }
            }
        }
    }

    fn deploy(&mut self, s: usize) {
        let v = self.graph.subtask_vertex[s];
        let vx = &self.graph.vertices[v as usize];
        let index = s as u32 - vx.first;
        let key = self.graph.key_of(v, index);
        let Some(allocation) = self.key_slot[key as usize] else {
            return;
        };
        let Some(slot) = self.pool.get(allocation) else {
            return;
        };
        let worker = slot.worker.clone();
        let worker_index = match self.worker_index.get(&worker) {
            Some(&i) => i,
            None => {
                self.workers.push(worker.clone());
                let i = self.workers.len() as u32 - 1;
                self.worker_index.insert(worker.clone(), i);
                i
            }
        };
        self.last_slot[s] = Some((allocation, worker_index));
        self.state[s] = ExecutionState::Deploying;
        let task = TaskDeployment {
            execution_attempt_id: self.attempt_id(s),
            allocation_id: messages::AllocationId(allocation.0.to_string()),
            job_id: messages::JobId(self.job.to_string()),
            vertex_name: vx.name.clone(),
            subtask_index: index,
            parallelism: vx.parallelism,
            attempt_number: self.attempt[s],
            argv: vx.command.clone(),
            env: vx.env.clone(),
        };
        self.out.push(Command::Deploy {
            worker,
            allocation,
            task: Box::new(task),
        });
    }

    fn finish(&mut self, s: usize, now: Timestamp) {
        self.state[s] = ExecutionState::Finished;
        self.release(s, now);
        if self.status != JobStatus::Running {
            return;
        }
        let r = self.graph.vertices[self.graph.subtask_vertex[s] as usize].region as usize;
        self.regions[r].finished += 1;
        if self.regions[r].finished == self.graph.regions[r].subtasks {
            for c in self.graph.regions[r].consumers.clone() {
                let run = &mut self.regions[c as usize];
                run.waiting_producers -= 1;
                if run.waiting_producers == 0 && !run.scheduled {
                    self.schedule_region(c, now);
                }
            }
        }
    }

    /// Slots are gone: their keys wait for new slots, and their live subtasks failed.
    fn lose_slots(&mut self, allocations: &[AllocationId], cause: &str, now: Timestamp) {
        let (mut failed, mut cancelled) = (Vec::new(), Vec::new());
        for &allocation in allocations {
            let Some(slot) = self.pool.remove(allocation) else {
                continue;
            };
            let key = slot.key;
            self.key_slot[key as usize] = None;
            if self.key_users[key as usize] > 0 {
                self.waiting_keys.insert(key);
            }
            let (g, index) = self.graph.key_parts(key);
            for &v in &self.graph.groups[g as usize].vertices {
                let vx = &self.graph.vertices[v as usize];
                if vx.parallelism > index {
                    let s = (vx.first + index) as usize;
                    if self.state[s].is_live() {
                        failed.push(s);
                    } else if self.state[s] == ExecutionState::Canceling {
                        cancelled.push(s);
                    }
                }
            }
        }
        for s in cancelled {
            self.state[s] = ExecutionState::Canceled;
            self.release(s, now);
        }
        if !failed.is_empty() {
            self.fail_executions(&failed, cause.to_owned(), now);
        }
    }

    /// Subtasks failed (one failure event): restart their regions, or fail the job.
    fn fail_executions(&mut self, failed: &[usize], cause: String, now: Timestamp) {
        for &s in failed {
            self.state[s] = ExecutionState::Failed;
            self.failures.insert(s as u32, cause.clone());
        }
        if self.status != JobStatus::Running {
            for &s in failed {
                self.release(s, now);
            }
            return;
        }
        let mut regions: Vec<u32> = failed
            .iter()
            .map(|&s| self.graph.vertices[self.graph.subtask_vertex[s] as usize].region)
            .filter(|&r| self.regions[r as usize].restart_at.is_none())
            .collect();
        regions.sort_unstable();
        regions.dedup();
        if regions.is_empty() {
            return;
        }
        match self.backoff.on_failure(now) {
            Some(delay) => {
                for r in regions {
                    self.prepare_restart(r, now.after(delay), now);
                }
            }
            None => {
                self.error = Some(cause);
                self.status = JobStatus::Failing;
                for &s in failed {
                    self.release(s, now);
                }
                self.cancel_everything(now);
            }
        }
    }

    /// Cancels a failed region's other subtasks and arms its restart; its slots stay held.
    fn prepare_restart(&mut self, r: u32, at: Timestamp, now: Timestamp) {
        self.regions[r as usize].restart_at = Some(at);
        self.regions[r as usize].finished = 0;
        for v in self.graph.regions[r as usize].vertices.clone() {
            let (first, p) = {
                let vx = &self.graph.vertices[v as usize];
                (vx.first, vx.parallelism)
            };
            for i in 0..p {
                let s = (first + i) as usize;
                match self.state[s] {
                    ExecutionState::Finished => {
                        // It runs again: it needs its slot again.
                        self.hold(s, now);
                        self.state[s] = ExecutionState::Canceled;
                    }
                    st if st.is_live() => {
                        self.send_cancel(s);
                        self.state[s] = ExecutionState::Canceled;
                    }
                    ExecutionState::Scheduled => self.state[s] = ExecutionState::Canceled,
                    _ => {}
                }
            }
        }
    }

    fn restart_region(&mut self, r: u32) {
        for v in self.graph.regions[r as usize].vertices.clone() {
            let (first, p) = {
                let vx = &self.graph.vertices[v as usize];
                (vx.first, vx.parallelism)
            };
            for i in 0..p {
                let s = (first + i) as usize;
                self.attempt[s] += 1;
                self.state[s] = ExecutionState::Scheduled;
                if self.key_slot[self.graph.key_of(v, i) as usize].is_some() {
                    self.deploy(s);
                }
            }
        }
    }

    /// Job-wide cancel (cancel or fail): live subtasks are cancelled and awaited, waiting ones
    /// dropped, pending restarts forgotten.
    fn cancel_everything(&mut self, now: Timestamp) {
        for r in &mut self.regions {
            r.restart_at = None;
        }
        for s in 0..self.state.len() {
            match self.state[s] {
                st if st.is_live() => {
                    self.send_cancel(s);
                    self.state[s] = ExecutionState::Canceling;
                }
                ExecutionState::Scheduled => {
                    self.state[s] = ExecutionState::Canceled;
                    self.release(s, now);
                }
                ExecutionState::Canceled | ExecutionState::Failed => self.release(s, now),
                _ => {}
            }
        }
    }

    fn send_cancel(&mut self, s: usize) {
        let Some((allocation, w)) = self.last_slot[s] else {
            return;
        };
        if self.pool.contains(allocation) {
            self.out.push(Command::CancelTask {
                worker: self.workers[w as usize].clone(),
                execution: self.attempt_id(s),
            });
        }
    }

    fn attempt_id(&self, s: usize) -> ExecutionAttemptId {
        let v = self.graph.subtask_vertex[s];
        let index = s as u32 - self.graph.vertices[v as usize].first;
        ExecutionAttemptId(format!("{}_{v}_{index}_{}", self.job, self.attempt[s]))
    }

    /// The subtask of a current attempt id; `None` for other jobs, unknown subtasks and older
    /// attempts.
    fn parse_attempt(&self, id: &ExecutionAttemptId) -> Option<usize> {
        let mut parts = id.0.rsplitn(4, '_');
        let attempt: u32 = parts.next()?.parse().ok()?;
        let index: u32 = parts.next()?.parse().ok()?;
        let v: usize = parts.next()?.parse().ok()?;
        if parts.next()? != self.job.to_string() {
            return None;
        }
        let vx = self.graph.vertices.get(v)?;
        (index < vx.parallelism).then_some(())?;
        let s = (vx.first + index) as usize;
        (self.attempt[s] == attempt).then_some(s)
    }

    fn describe(&self, s: usize) -> String {
        let v = self.graph.subtask_vertex[s];
        let vx = &self.graph.vertices[v as usize];
        format!(
            "{} ({}/{}) attempt #{}",
            vx.name,
            s as u32 - vx.first + 1,
            vx.parallelism,
            self.attempt[s]
        )
    }

    /// Milliseconds from creation to the end (or to `now`).
    fn duration(&self, now: Timestamp) -> u64 {
        self.ended_at
            .unwrap_or(now)
            .0
            .saturating_sub(self.created_at.0)
    }

    /// The job's entry in `/jobs/overview`: counts only, without building every subtask's details.
    pub fn overview(&self, now: Timestamp) -> super::summary::JobOverview {
        let mut tasks = BTreeMap::new();
        for state in &self.state {
            *tasks.entry(state.as_str().to_owned()).or_insert(0) += 1;
        }
        super::summary::JobOverview {
            jid: self.job.to_string(),
            name: self.name.clone(),
            state: self.status,
            start_time: self.created_at.0,
            end_time: self.ended_at.map(|t| t.0),
            duration: self.duration(now),
            tasks,
            failure: self.error.clone(),
            restarts: self.backoff.restarts(),
        }
    }

    /// The job as Flink's `/jobs/{id}` shows it, with each vertex's subtasks.
    pub fn details(&self, now: Timestamp) -> super::summary::JobDetails {
        use super::summary::{JobDetails, SubtaskDetails, VertexDetails};
        let vertices = self
            .graph
            .vertices
            .iter()
            .enumerate()
            .map(|(v, vx)| {
                let range = vx.first as usize..(vx.first + vx.parallelism) as usize;
                let subtasks: Vec<SubtaskDetails> = range
                    .clone()
                    .map(|s| {
                        let slot = self.last_slot[s];
                        SubtaskDetails {
                            subtask: s as u32 - vx.first,
                            status: self.state[s],
                            attempt: self.attempt[s],
                            allocation_id: slot.map(|(a, _)| a.0.to_string()),
                            taskmanager_id: slot.map(|(_, w)| self.workers[w as usize].to_string()),
                            failure: self.failures.get(&(s as u32)).cloned(),
                        }
                    })
                    .collect();
                VertexDetails::new(
                    v as u32,
                    vx.name.clone(),
                    vx.parallelism,
                    self.graph.groups[vx.group as usize].name.clone(),
                    subtasks,
                )
            })
            .collect();
        JobDetails {
            jid: self.job.to_string(),
            name: self.name.clone(),
            state: self.status,
            start_time: self.created_at.0,
            end_time: self.ended_at.map(|t| t.0),
            duration: self.duration(now),
            now: now.0,
            failure: self.error.clone(),
            restarts: self.backoff.restarts(),
            vertices,
        }
    }
}
