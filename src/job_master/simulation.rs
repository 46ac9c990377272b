//! A deterministic, virtual-time simulation of one JobMaster with a minimal ResourceManager and
//! TaskExecutors around it, for tests and experiments: the ResourceManager turns declarations into
//! slot allocations (starting workers when none has a free slot) and offers them; TaskExecutors
//! run deployed subtasks for the durations and with the results a behaviour function decides,
//! confirm cancels, free slots; workers can be killed at chosen times. Everything observable is
//! recorded in a [`SimLog`], and harness-level invariants (one subtask of a vertex per slot,
//! deployments only into held slots) are checked as the run goes.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use super::core::{Command, JobMasterCore, SlotOffer};
use crate::resource_manager::types::{
    AllocationId, JobStatus, ResourceProfile, Resources, Timestamp, WorkerId,
};
use crate::rpc::messages::{ExecutionAttemptId, TaskDeployment, TaskState};

/// How a deployed subtask behaves: how long it runs and how it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOutcome {
    /// Virtual milliseconds from RUNNING to its end.
    pub duration_ms: u64,
    /// `Err(message)` fails the attempt with that error.
    pub result: Result<(), String>,
}

impl TaskOutcome {
    /// Runs `duration_ms` and finishes.
    pub fn finish_after(duration_ms: u64) -> Self {
        TaskOutcome {
            duration_ms,
            result: Ok(()),
        }
    }

    /// Runs `duration_ms` and fails with `error`.
    pub fn fail_after(duration_ms: u64, error: &str) -> Self {
        TaskOutcome {
            duration_ms,
            result: Err(error.to_owned()),
        }
    }
}

/// The simulated cluster's shape.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Slots per worker.
    pub slots_per_worker: u32,
    /// Resources of a default slot (what an `Unknown` requirement gets).
    pub default_slot: Resources,
    /// Milliseconds from asking for a worker to its registration.
    pub worker_start_ms: u64,
    /// Milliseconds from an allocation to its offer reaching the JobMaster.
    pub offer_delay_ms: u64,
    /// Extra allocations offered with the first offer, beyond what was declared (a ResourceManager
    /// or a deployment handing out too much); the JobMaster should reject them.
    pub surplus_offers: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            slots_per_worker: 2,
            default_slot: Resources::new(1000, 1 << 30),
            worker_start_ms: 500,
            offer_delay_ms: 5,
            surplus_offers: 0,
        }
    }
}

/// One deployment the JobMaster made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// When.
    pub at: u64,
    /// The vertex.
    pub vertex: String,
    /// The subtask index.
    pub subtask: u32,
    /// The attempt number.
    pub attempt: u32,
    /// Where.
    pub worker: WorkerId,
    /// Into which slot.
    pub allocation: AllocationId,
}

/// One attempt's end as a TaskExecutor reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEnd {
    /// When.
    pub at: u64,
    /// The vertex.
    pub vertex: String,
    /// The subtask index.
    pub subtask: u32,
    /// The attempt number.
    pub attempt: u32,
    /// How it ended.
    pub state: TaskState,
}

/// Everything a run shows.
#[derive(Debug, Clone, Default)]
pub struct SimLog {
    /// Deployments in order.
    pub deployments: Vec<Deployment>,
    /// Reported attempt ends in order.
    pub task_ends: Vec<TaskEnd>,
    /// Declarations: time and total slots required.
    pub declarations: Vec<(u64, u32)>,
    /// Offers accepted.
    pub accepted: u32,
    /// Offers rejected.
    pub rejected: u32,
    /// Slots freed by the JobMaster.
    pub freed: u32,
    /// Cancels sent by the JobMaster.
    pub cancels: u32,
    /// Workers started.
    pub workers_started: u32,
    /// The job's end.
    pub terminated: Option<(u64, JobStatus, Option<String>)>,
    /// Harness invariants broken.
    pub violations: Vec<String>,
}

#[derive(Debug)]
enum Event {
    WorkerUp(WorkerId),
    Offer(WorkerId, Vec<SlotOffer>),
    TaskRunning(WorkerId, ExecutionAttemptId),
    TaskEnded(WorkerId, ExecutionAttemptId, TaskState, Option<String>),
    KillWorker(WorkerId),
    Cancel,
}

#[derive(Debug, Default)]
struct SimWorker {
    alive: bool,
    /// Allocated slots and their profile.
    slots: BTreeMap<AllocationId, ResourceProfile>,
    /// Running attempts: slot and vertex.
    tasks: BTreeMap<ExecutionAttemptId, (AllocationId, String, u32, u32)>,
}

/// The behaviour function type.
pub type Behaviour = Box<dyn FnMut(&TaskDeployment) -> TaskOutcome>;

/// A JobMaster in a simulated cluster.
pub struct Simulation {
    /// The JobMaster under test.
    pub jm: JobMasterCore,
    /// What happened.
    pub log: SimLog,
    config: SimConfig,
    behaviour: Behaviour,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: Vec<Option<Event>>,
    workers: BTreeMap<WorkerId, SimWorker>,
    requirements: BTreeMap<ResourceProfile, u32>,
    /// Slots the ResourceManager allocated to the job and did not get back, by profile.
    allocated: BTreeMap<AllocationId, (WorkerId, ResourceProfile)>,
    starting_slots: u32,
    next_allocation: u64,
    surplus_left: u32,
}

impl Simulation {
    /// A simulation around a JobMaster not started yet.
    pub fn new(jm: JobMasterCore, config: SimConfig, behaviour: Behaviour) -> Self {
        Simulation {
            jm,
            log: SimLog::default(),
            surplus_left: config.surplus_offers,
            config,
            behaviour,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: Vec::new(),
            workers: BTreeMap::new(),
            requirements: BTreeMap::new(),
            allocated: BTreeMap::new(),
            starting_slots: 0,
            next_allocation: 1,
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Kills a worker (`te-1`, `te-2`, … in start order) at a time.
    pub fn kill_worker_at(&mut self, at: u64, worker: &str) {
        self.push(at, Event::KillWorker(WorkerId::new(worker)));
    }

    /// Cancels the job at a time.
    pub fn cancel_at(&mut self, at: u64) {
        self.push(at, Event::Cancel);
    }

    /// Starts the job and runs until it ends or virtual time passes `until`; returns its status.
    pub fn run(&mut self, until: u64) -> JobStatus {
        self.jm.start(Timestamp(self.now));
        self.drain();
        while self.log.terminated.is_none() {
            let next_event = self.queue.peek().map(|Reverse((t, _, _))| *t);
            let next_poll = self.jm.next_deadline().map(|t| t.0);
            let Some(next) = [next_event, next_poll].into_iter().flatten().min() else {
                break;
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            if next_poll.is_some_and(|t| t <= self.now) {
                self.jm.poll(Timestamp(self.now));
                self.drain();
            }
            if next_event.is_some_and(|t| t <= self.now)
                && let Some(Reverse((_, _, i))) = self.queue.pop()
                && let Some(event) = self.events[i].take()
            {
                self.handle(event);
                self.drain();
            }
        }
        self.jm.status()
    }

    fn push(&mut self, at: u64, event: Event) {
        self.events.push(Some(event));
        self.seq += 1;
        self.queue
            .push(Reverse((at, self.seq, self.events.len() - 1)));
    }

    fn handle(&mut self, event: Event) {
        let now = Timestamp(self.now);
        match event {
            Event::WorkerUp(worker) => {
                self.starting_slots -= self.config.slots_per_worker;
                self.workers.insert(
                    worker,
                    SimWorker {
                        alive: true,
                        ..SimWorker::default()
                    },
                );
                self.assign();
            }
            Event::Offer(worker, offers) => {
                if !self.workers.get(&worker).is_some_and(|w| w.alive) {
                    return;
                }
                let accepted = self.jm.offer_slots(&worker, &offers, now);
                for offer in offers {
                    if accepted.contains(&offer.allocation) {
                        self.log.accepted += 1;
                    } else {
                        self.log.rejected += 1;
                        self.release_slot(&worker, offer.allocation);
                    }
                }
            }
            Event::TaskRunning(worker, execution) => {
                if self.task_alive(&worker, &execution) {
                    self.jm
                        .update_task_state(&execution, TaskState::Running, None, now);
                }
            }
            Event::TaskEnded(worker, execution, state, error) => {
                let Some(w) = self.workers.get_mut(&worker).filter(|w| w.alive) else {
                    return;
                };
                let Some((_, vertex, subtask, attempt)) = w.tasks.remove(&execution) else {
                    return;
                };
                self.log.task_ends.push(TaskEnd {
                    at: self.now,
                    vertex,
                    subtask,
                    attempt,
                    state,
                });
                self.jm
                    .update_task_state(&execution, state, error.as_deref(), now);
            }
            Event::KillWorker(worker) => {
                let Some(w) = self.workers.get_mut(&worker).filter(|w| w.alive) else {
                    return;
                };
                w.alive = false;
                w.tasks.clear();
                w.slots.clear();
                self.allocated.retain(|_, (owner, _)| *owner != worker);
                self.jm
                    .task_executor_lost(&worker, "the container was killed", now);
                self.drain();
                self.assign();
            }
            Event::Cancel => self.jm.cancel(now),
        }
    }

    fn task_alive(&self, worker: &WorkerId, execution: &ExecutionAttemptId) -> bool {
        self.workers
            .get(worker)
            .is_some_and(|w| w.alive && w.tasks.contains_key(execution))
    }

    /// Carries out the JobMaster's commands.
    fn drain(&mut self) {
        let commands = self.jm.take_commands();
        for command in commands {
            match command {
                Command::DeclareRequirements { requirements } => {
                    self.log
                        .declarations
                        .push((self.now, requirements.values().sum()));
                    self.requirements = requirements;
                    self.assign();
                }
                Command::Deploy {
                    worker,
                    allocation,
                    task,
                } => self.deploy(worker, allocation, *task),
                Command::CancelTask { worker, execution } => {
                    self.log.cancels += 1;
                    if self.task_alive(&worker, &execution) {
                        self.push(
                            self.now + 1,
                            Event::TaskEnded(worker, execution, TaskState::Canceled, None),
                        );
                    }
                }
                Command::FreeSlot {
                    worker, allocation, ..
                } => {
                    self.log.freed += 1;
                    if let Some(w) = self.workers.get_mut(&worker) {
                        w.tasks.retain(|_, (a, ..)| *a != allocation);
                    }
                    self.release_slot(&worker, allocation);
                }
                Command::JobTerminated { status, error } => {
                    self.log.terminated = Some((self.now, status, error));
                }
            }
        }
    }

    fn deploy(&mut self, worker: WorkerId, allocation: AllocationId, task: TaskDeployment) {
        let Some(w) = self.workers.get_mut(&worker).filter(|w| w.alive) else {
            return;
        };
        if !w.slots.contains_key(&allocation) {
            self.log.violations.push(format!(
                "{} {} deployed into slot {} that {worker} does not hold for the job",
                task.vertex_name, task.subtask_index, allocation.0
            ));
        }
        if w.tasks
            .values()
            .any(|(a, v, ..)| *a == allocation && *v == task.vertex_name)
        {
            self.log.violations.push(format!(
                "two subtasks of {} share slot {}",
                task.vertex_name, allocation.0
            ));
        }
        w.tasks.insert(
            task.execution_attempt_id.clone(),
            (
                allocation,
                task.vertex_name.clone(),
                task.subtask_index,
                task.attempt_number,
            ),
        );
        self.log.deployments.push(Deployment {
            at: self.now,
            vertex: task.vertex_name.clone(),
            subtask: task.subtask_index,
            attempt: task.attempt_number,
            worker: worker.clone(),
            allocation,
        });
        let outcome = (self.behaviour)(&task);
        let id = task.execution_attempt_id;
        self.push(self.now + 1, Event::TaskRunning(worker.clone(), id.clone()));
        let (state, error) = match outcome.result {
            Ok(()) => (TaskState::Finished, None),
            Err(e) => (TaskState::Failed, Some(e)),
        };
        self.push(
            self.now + 1 + outcome.duration_ms,
            Event::TaskEnded(worker, id, state, error),
        );
    }

    fn release_slot(&mut self, worker: &WorkerId, allocation: AllocationId) {
        if let Some(w) = self.workers.get_mut(worker) {
            w.slots.remove(&allocation);
        }
        if self.allocated.remove(&allocation).is_some() {
            self.assign();
        }
    }

    /// The ResourceManager: allocates slots for missing requirements, starting workers if needed.
    fn assign(&mut self) {
        let mut missing: Vec<ResourceProfile> = Vec::new();
        for (profile, &count) in &self.requirements {
            let have = self
                .allocated
                .values()
                .filter(|(_, p)| p == profile)
                .count() as u32;
            missing.extend(std::iter::repeat_n(
                *profile,
                count.saturating_sub(have) as usize,
            ));
        }
        let mut offers: BTreeMap<WorkerId, Vec<SlotOffer>> = BTreeMap::new();
        let mut unplaced = 0;
        for profile in missing {
            if !self.place(profile, &mut offers) {
                unplaced += 1;
            }
        }
        // The surplus rides along with the first real offer, as far as free slots go.
        if !offers.is_empty() {
            while self.surplus_left > 0 && self.place(ResourceProfile::Unknown, &mut offers) {
                self.surplus_left -= 1;
            }
        }
        while self.starting_slots < unplaced {
            self.log.workers_started += 1;
            self.starting_slots += self.config.slots_per_worker;
            let worker = WorkerId::new(format!("te-{}", self.log.workers_started));
            self.push(
                self.now + self.config.worker_start_ms,
                Event::WorkerUp(worker),
            );
        }
        for (worker, offers) in offers {
            self.push(
                self.now + self.config.offer_delay_ms,
                Event::Offer(worker, offers),
            );
        }
    }

    /// Allocates a slot of `profile` on a worker with a free slot; false if there is none.
    fn place(
        &mut self,
        profile: ResourceProfile,
        offers: &mut BTreeMap<WorkerId, Vec<SlotOffer>>,
    ) -> bool {
        let slots_per_worker = self.config.slots_per_worker;
        let Some((worker, w)) = self
            .workers
            .iter_mut()
            .find(|(_, w)| w.alive && (w.slots.len() as u32) < slots_per_worker)
        else {
            return false;
        };
        let allocation = AllocationId(self.next_allocation);
        self.next_allocation += 1;
        w.slots.insert(allocation, profile);
        self.allocated.insert(allocation, (worker.clone(), profile));
        offers.entry(worker.clone()).or_default().push(SlotOffer {
            allocation,
            resources: profile.effective(&self.config.default_slot),
        });
        true
    }

    /// Subtasks, as (vertex, subtask) with their final attempt, that did not end FINISHED
    /// exactly once in that attempt, and attempts reported ended twice.
    pub fn unfinished_or_duplicated(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen: BTreeSet<(&str, u32, u32)> = BTreeSet::new();
        for end in &self.log.task_ends {
            if !seen.insert((&end.vertex, end.subtask, end.attempt)) {
                problems.push(format!(
                    "{} {} attempt {} ended twice",
                    end.vertex, end.subtask, end.attempt
                ));
            }
        }
        for (v, vx) in self.jm.graph().vertices.iter().enumerate() {
            for i in 0..vx.parallelism {
                let (_, attempt) = self.jm.execution(v as u32, i);
                let finished = self
                    .log
                    .task_ends
                    .iter()
                    .filter(|e| {
                        e.vertex == vx.name
                            && e.subtask == i
                            && e.attempt == attempt
                            && e.state == TaskState::Finished
                    })
                    .count();
                if finished != 1 {
                    problems.push(format!(
                        "{} {i} attempt {attempt} finished {finished} times",
                        vx.name
                    ));
                }
            }
        }
        problems
    }
}
