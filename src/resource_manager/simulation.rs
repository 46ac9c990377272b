//! A deterministic simulation of the ResourceManager with a simulated driver, TaskExecutors and
//! JobMasters on a virtual clock. Delays are drawn from a seeded generator, so a seed replays
//! exactly; thousands of TaskExecutors run in milliseconds because nothing waits for real time.
//!
//! The simulation checks safety invariants on every step and records violations: a slot is never
//! requested under an allocation id already in use, never on a released or unregistered worker,
//! and a TaskExecutor never holds more than its resources.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::ResourceManagerConfig;
use super::commands::{Command, DriverCommand, JobMasterCommand, TaskExecutorCommand};
use super::core::{
    ResourceManagerCore, TaskExecutorRegistration, TaskExecutorRegistrationResponse,
};
use super::driver::DriverEvent;
use super::types::{
    AllocatedSlot, AllocationId, InstanceId, JobId, JobStatus, ResourceProfile, Resources,
    SlotReport, Timestamp, WorkerId, WorkerSpec,
};

/// How the simulated world behaves; tests change it between steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// Milliseconds from an ask to the allocation (inclusive range).
    pub allocation_delay: (u64, u64),
    /// Milliseconds from allocation to the process start.
    pub start_delay: (u64, u64),
    /// Milliseconds from the process start to the TaskExecutor's registration.
    pub registration_delay: (u64, u64),
    /// Milliseconds a TaskExecutor takes to answer a slot request or a heartbeat.
    pub answer_delay: (u64, u64),
    /// Whether the driver grants asks on its own (otherwise tests call [`Simulation::grant`]).
    pub auto_allocate: bool,
    /// Extra unrequested workers delivered with each granted ask (YARN over-allocation).
    pub surplus_per_allocation: u32,
    /// Probability that a started worker dies before registering.
    pub start_failure_probability: f64,
    /// Whether started workers register (otherwise they hang until the registration timeout).
    pub workers_register: bool,
    /// Whether TaskExecutors answer slot requests.
    pub answer_slot_requests: bool,
    /// Resources a TaskExecutor registers with; `None` means its spec's.
    pub registered_resources: Option<(Resources, Resources)>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            allocation_delay: (100, 2_000),
            start_delay: (10, 500),
            registration_delay: (200, 3_000),
            answer_delay: (1, 20),
            auto_allocate: true,
            surplus_per_allocation: 0,
            start_failure_probability: 0.0,
            workers_register: true,
            answer_slot_requests: true,
            registered_resources: None,
        }
    }
}

/// A simulated worker as the deployment and its TaskExecutor see it.
#[derive(Debug, Clone)]
pub struct SimWorker {
    /// The spec it was allocated for.
    pub spec: WorkerSpec,
    /// Registered instance, if registered.
    pub instance: Option<InstanceId>,
    /// Alive (not released, not terminated).
    pub alive: bool,
    /// The TaskExecutor's slot table.
    pub slots: BTreeMap<AllocationId, AllocatedSlot>,
    /// Resources the TaskExecutor registered with.
    pub total: Resources,
    /// Whether the TaskExecutor answers heartbeats.
    pub responsive: bool,
}

/// A simulated JobMaster.
#[derive(Debug, Clone, Default)]
pub struct SimJob {
    /// The last declared requirements.
    pub requirements: BTreeMap<ResourceProfile, u32>,
    /// Whether the JobMaster answers heartbeats.
    pub alive: bool,
    /// `notifyNotEnoughResourcesAvailable` calls received.
    pub not_enough_notifications: u32,
    /// TaskManager losses reported to it.
    pub task_managers_lost: u32,
    /// Disconnects by the ResourceManager.
    pub disconnects: u32,
}

/// Counters over the whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Asks received by the driver.
    pub asked: u32,
    /// Asks withdrawn.
    pub cancelled: u32,
    /// Workers allocated (including surplus).
    pub allocated: u32,
    /// Workers released by the ResourceManager.
    pub released: u32,
    /// TaskExecutor registrations refused.
    pub registrations_refused: u32,
    /// Slot requests received by TaskExecutors.
    pub slot_requests: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SimEvent {
    Allocate {
        spec: WorkerSpec,
    },
    Start {
        worker: WorkerId,
    },
    Register {
        worker: WorkerId,
    },
    Fail {
        worker: WorkerId,
    },
    SlotAnswer {
        worker: WorkerId,
        instance: InstanceId,
        allocation: AllocationId,
    },
    Heartbeat {
        worker: WorkerId,
    },
    JobHeartbeat {
        job: JobId,
    },
    ExternalRegister {
        worker: WorkerId,
        total: Resources,
        default_slot: Resources,
    },
}

/// The simulation.
pub struct Simulation {
    /// The ResourceManager under test.
    pub core: ResourceManagerCore,
    /// How the world behaves.
    pub behaviour: Behaviour,
    /// The workers ever allocated.
    pub workers: BTreeMap<WorkerId, SimWorker>,
    /// The jobs.
    pub jobs: BTreeMap<JobId, SimJob>,
    /// Safety violations seen (must stay empty).
    pub violations: Vec<String>,
    /// Counters.
    pub counters: Counters,
    now: Timestamp,
    rng: StdRng,
    queue: BinaryHeap<Reverse<(Timestamp, u64, SimEvent)>>,
    seq: u64,
    asks: BTreeMap<WorkerSpec, u32>,
    next_worker: u64,
    allocation_owner: BTreeMap<AllocationId, WorkerId>,
    /// The largest excess, at any ask, of workers requested (asks + alive) over the workers the
    /// jobs' demand fills (demanded slots / slots per worker, rounded up): must stay within the
    /// configured redundancy and minimum.
    pub peak_excess_requested: i64,
}

/// The leader id simulated JobMasters register with.
pub const JOB_MASTER_ID: u128 = 0x5eed;

impl Simulation {
    /// A simulation of a ResourceManager with this configuration and seed.
    pub fn new(config: ResourceManagerConfig, seed: u64) -> Self {
        Self {
            core: ResourceManagerCore::new(config),
            behaviour: Behaviour::default(),
            workers: BTreeMap::new(),
            jobs: BTreeMap::new(),
            violations: Vec::new(),
            counters: Counters::default(),
            now: Timestamp(0),
            rng: StdRng::seed_from_u64(seed),
            queue: BinaryHeap::new(),
            seq: 0,
            asks: BTreeMap::new(),
            next_worker: 1,
            allocation_owner: BTreeMap::new(),
            peak_excess_requested: i64::MIN,
        }
    }

    /// The virtual time.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    fn delay(&mut self, (lo, hi): (u64, u64)) -> Timestamp {
        Timestamp(self.now.0 + self.rng.random_range(lo..=hi.max(lo)))
    }

    fn schedule(&mut self, at: Timestamp, event: SimEvent) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, event)));
    }

    /// Runs until virtual time `until`.
    pub fn run_until(&mut self, until: Timestamp) {
        loop {
            let next_event = self.queue.peek().map(|Reverse((t, _, _))| *t);
            let next_timer = self.core.next_deadline();
            let next = next_event.map_or(next_timer, |e| e.min(next_timer));
            if next > until {
                self.now = until;
                return;
            }
            self.now = self.now.max(next);
            if next_event == Some(next) {
                let Reverse((_, _, event)) = self.queue.pop().expect("peeked");
                self.handle(event);
            } else {
                self.core.poll(self.now);
            }
            self.apply_commands();
        }
    }

    /// Runs for `ms` more milliseconds of virtual time.
    pub fn run_for(&mut self, ms: u64) {
        self.run_until(Timestamp(self.now.0 + ms));
    }

    /// Registers a JobMaster for `job` and declares its requirements.
    pub fn submit_job(&mut self, job: JobId, requirements: BTreeMap<ResourceProfile, u32>) {
        self.core
            .register_job_master(job, JOB_MASTER_ID, &format!("jm-{job}"), self.now);
        self.jobs.insert(
            job,
            SimJob {
                alive: true,
                ..SimJob::default()
            },
        );
        self.declare(job, requirements);
    }

    /// A job declares new requirements.
    pub fn declare(&mut self, job: JobId, requirements: BTreeMap<ResourceProfile, u32>) {
        self.jobs.entry(job).or_default().requirements = requirements.clone();
        if let Err(e) =
            self.core
                .declare_required_resources(job, JOB_MASTER_ID, requirements, self.now)
        {
            self.violations.push(format!("declaration refused: {e}"));
        }
        self.apply_commands();
    }

    /// A job ends: its TaskExecutors free its slots, its JobMaster disconnects with `status`.
    pub fn finish_job(&mut self, job: JobId, status: JobStatus) {
        self.free_job_slots(job, usize::MAX);
        self.core.disconnect_job_master(job, status, self.now);
        if let Some(j) = self.jobs.get_mut(&job) {
            j.alive = false;
            if status.is_globally_terminal() {
                j.requirements.clear();
            }
        }
        self.apply_commands();
    }

    /// The job's JobMaster frees up to `n` of its slots (each TaskExecutor notifies the RM).
    pub fn free_job_slots(&mut self, job: JobId, n: usize) {
        let held: Vec<(WorkerId, AllocationId)> = self
            .workers
            .iter()
            .flat_map(|(w, sw)| {
                sw.slots
                    .values()
                    .filter(|s| s.job == job)
                    .map(move |s| (w.clone(), s.allocation))
            })
            .take(n)
            .collect();
        for (worker, allocation) in held {
            let sw = self.workers.get_mut(&worker).expect("listed");
            sw.slots.remove(&allocation);
            self.allocation_owner.remove(&allocation);
            if let Some(instance) = sw.instance {
                let _ = self
                    .core
                    .notify_slot_available(&worker, instance, allocation, self.now);
            }
        }
        self.apply_commands();
    }

    /// Grants up to `n` outstanding asks of the default spec now (with `extra` surplus workers).
    pub fn grant(&mut self, n: u32, extra: u32) {
        let spec = self.core.config().slot_manager.default_worker;
        let granted = n.min(self.asks.get(&spec).copied().unwrap_or(0));
        for _ in 0..granted + extra {
            self.deliver_worker(spec);
        }
        self.apply_commands();
    }

    /// The deployment reports a worker's process as ended.
    pub fn terminate_worker(&mut self, worker: &WorkerId, cause: &str) {
        if let Some(w) = self.workers.get_mut(worker) {
            w.alive = false;
            for a in std::mem::take(&mut w.slots).into_keys() {
                self.allocation_owner.remove(&a);
            }
        }
        self.core.on_driver_event(
            DriverEvent::WorkerTerminated {
                worker: worker.clone(),
                cause: cause.into(),
            },
            self.now,
        );
        self.apply_commands();
    }

    /// A TaskExecutor nobody asked for tries to register.
    pub fn register_stranger(&mut self, worker: &str, total: Resources, default_slot: Resources) {
        self.schedule(
            self.now,
            SimEvent::ExternalRegister {
                worker: WorkerId::new(worker),
                total,
                default_slot,
            },
        );
    }

    /// A JobMaster stops answering heartbeats.
    pub fn crash_job_master(&mut self, job: JobId) {
        if let Some(j) = self.jobs.get_mut(&job) {
            j.alive = false;
        }
    }

    /// Outstanding asks at the driver.
    pub fn driver_asks(&self) -> u32 {
        self.asks.values().sum()
    }

    /// Workers alive at the deployment.
    pub fn alive_workers(&self) -> Vec<&WorkerId> {
        self.workers
            .iter()
            .filter(|(_, w)| w.alive)
            .map(|(id, _)| id)
            .collect()
    }

    /// Slots a job holds on TaskExecutors.
    pub fn slots_of(&self, job: JobId) -> u32 {
        self.workers
            .values()
            .map(|w| w.slots.values().filter(|s| s.job == job).count() as u32)
            .sum()
    }

    /// Workers (alive) holding at least one slot.
    pub fn workers_in_use(&self) -> u32 {
        self.workers
            .values()
            .filter(|w| w.alive && !w.slots.is_empty())
            .count() as u32
    }

    /// Delivers one worker; like a YARN driver, each delivered worker takes one outstanding ask
    /// of its spec off the driver's books, if any is left.
    fn deliver_worker(&mut self, spec: WorkerSpec) {
        if let Some(n) = self.asks.get_mut(&spec) {
            *n = n.saturating_sub(1);
        }
        let worker = WorkerId::new(format!("container_sim_{:06}", self.next_worker));
        self.next_worker += 1;
        let total = self
            .behaviour
            .registered_resources
            .map_or(spec.total, |(t, _)| t);
        self.workers.insert(
            worker.clone(),
            SimWorker {
                spec,
                instance: None,
                alive: true,
                slots: BTreeMap::new(),
                total,
                responsive: true,
            },
        );
        self.counters.allocated += 1;
        self.core.on_driver_event(
            DriverEvent::WorkerAllocated {
                worker: worker.clone(),
                spec,
            },
            self.now,
        );
        let at = self.delay(self.behaviour.start_delay);
        self.schedule(at, SimEvent::Start { worker });
    }

    fn handle(&mut self, event: SimEvent) {
        match event {
            SimEvent::Allocate { spec } => {
                // The ask may have been withdrawn meanwhile; surplus comes only with a grant.
                if self.asks.get(&spec).copied().unwrap_or(0) > 0 {
                    for _ in 0..=self.behaviour.surplus_per_allocation {
                        self.deliver_worker(spec);
                    }
                }
            }
            SimEvent::Start { worker } => {
                if !self.workers.get(&worker).is_some_and(|w| w.alive) {
                    return;
                }
                self.core.on_driver_event(
                    DriverEvent::WorkerStarted {
                        worker: worker.clone(),
                    },
                    self.now,
                );
                if self
                    .rng
                    .random_bool(self.behaviour.start_failure_probability.clamp(0.0, 1.0))
                {
                    let at = self.delay(self.behaviour.registration_delay);
                    self.schedule(at, SimEvent::Fail { worker });
                } else if self.behaviour.workers_register {
                    let at = self.delay(self.behaviour.registration_delay);
                    self.schedule(at, SimEvent::Register { worker });
                }
            }
            SimEvent::Fail { worker } => {
                if self.workers.get(&worker).is_some_and(|w| w.alive) {
                    self.terminate_worker(&worker, "simulated start failure: exit code 1");
                }
            }
            SimEvent::Register { worker } => {
                let Some(w) = self.workers.get(&worker).filter(|w| w.alive) else {
                    return;
                };
                let (total, default_slot) = self
                    .behaviour
                    .registered_resources
                    .unwrap_or((w.spec.total, w.spec.default_slot()));
                let report = SlotReport {
                    allocated: w.slots.values().copied().collect(),
                };
                let registration = TaskExecutorRegistration {
                    worker: worker.clone(),
                    address: format!("te-{worker}"),
                    total,
                    default_slot,
                    slot_report: report,
                };
                match self.core.register_task_executor(registration, self.now) {
                    TaskExecutorRegistrationResponse::Success { instance } => {
                        self.workers.get_mut(&worker).expect("present").instance = Some(instance);
                    }
                    TaskExecutorRegistrationResponse::Rejected { .. } => {
                        self.counters.registrations_refused += 1
                    }
                }
            }
            SimEvent::ExternalRegister {
                worker,
                total,
                default_slot,
            } => {
                let registration = TaskExecutorRegistration {
                    worker: worker.clone(),
                    address: format!("te-{worker}"),
                    total,
                    default_slot,
                    slot_report: SlotReport::default(),
                };
                if let TaskExecutorRegistrationResponse::Rejected { .. } =
                    self.core.register_task_executor(registration, self.now)
                {
                    self.counters.registrations_refused += 1;
                }
            }
            SimEvent::SlotAnswer {
                worker,
                instance,
                allocation,
            } => {
                if self
                    .workers
                    .get(&worker)
                    .is_some_and(|w| w.alive && w.instance == Some(instance))
                {
                    let _ = self
                        .core
                        .slot_request_result(&worker, instance, allocation, true, self.now);
                }
            }
            SimEvent::Heartbeat { worker } => {
                let Some(w) = self
                    .workers
                    .get(&worker)
                    .filter(|w| w.alive && w.responsive)
                else {
                    return;
                };
                let Some(instance) = w.instance else { return };
                let report = SlotReport {
                    allocated: w.slots.values().copied().collect(),
                };
                let _ = self
                    .core
                    .heartbeat_from_task_executor(&worker, instance, &report, self.now);
            }
            SimEvent::JobHeartbeat { job } => {
                if self.jobs.get(&job).is_some_and(|j| j.alive) {
                    self.core.heartbeat_from_job_master(job, self.now);
                }
            }
        }
    }

    fn apply_commands(&mut self) {
        for command in self.core.take_commands() {
            match command {
                Command::Driver(DriverCommand::RequestWorker { spec }) => {
                    self.counters.asked += 1;
                    *self.asks.entry(spec).or_default() += 1;
                    let requested = self.driver_asks()
                        + self.workers.values().filter(|w| w.alive).count() as u32;
                    let demand = self
                        .core
                        .slot_manager()
                        .demanded_slots()
                        .div_ceil(spec.num_slots.max(1));
                    self.peak_excess_requested = self
                        .peak_excess_requested
                        .max(i64::from(requested) - i64::from(demand));
                    if self.behaviour.auto_allocate {
                        let at = self.delay(self.behaviour.allocation_delay);
                        self.schedule(at, SimEvent::Allocate { spec });
                    }
                }
                Command::Driver(DriverCommand::CancelRequest { spec }) => {
                    let n = self.asks.entry(spec).or_default();
                    if *n == 0 {
                        self.violations.push(format!(
                            "cancelled an ask of {spec:?} that the driver does not hold"
                        ));
                    }
                    *n = n.saturating_sub(1);
                    self.counters.cancelled += 1;
                }
                Command::Driver(DriverCommand::ReleaseWorker { worker }) => {
                    self.counters.released += 1;
                    if let Some(w) = self.workers.get_mut(&worker) {
                        w.alive = false;
                        w.instance = None;
                        for a in std::mem::take(&mut w.slots).into_keys() {
                            self.allocation_owner.remove(&a);
                        }
                    }
                }
                Command::TaskExecutor { worker, command } => {
                    self.task_executor_command(worker, command)
                }
                Command::JobMaster { job, command } => {
                    let j = self.jobs.entry(job).or_default();
                    match command {
                        JobMasterCommand::NotEnoughResources { .. } => {
                            j.not_enough_notifications += 1
                        }
                        JobMasterCommand::TaskManagerLost { .. } => j.task_managers_lost += 1,
                        JobMasterCommand::Disconnect { .. } => j.disconnects += 1,
                        JobMasterCommand::Heartbeat => {
                            let at = self.delay(self.behaviour.answer_delay);
                            self.schedule(at, SimEvent::JobHeartbeat { job });
                        }
                    }
                }
            }
        }
    }

    fn task_executor_command(&mut self, worker: WorkerId, command: TaskExecutorCommand) {
        let Some(w) = self.workers.get_mut(&worker) else {
            if matches!(command, TaskExecutorCommand::RequestSlot { .. }) {
                self.violations
                    .push(format!("slot requested on unknown worker {worker}"));
            }
            return;
        };
        match command {
            TaskExecutorCommand::RequestSlot {
                instance,
                allocation,
                job,
                resources,
                ..
            } => {
                self.counters.slot_requests += 1;
                if !w.alive || w.instance != Some(instance) {
                    self.violations.push(format!(
                        "slot {allocation:?} requested on released or unregistered worker {worker}"
                    ));
                    return;
                }
                if let Some(owner) = self.allocation_owner.get(&allocation) {
                    self.violations.push(format!(
                        "allocation {allocation:?} given twice ({owner} and {worker})"
                    ));
                    return;
                }
                if !self.behaviour.answer_slot_requests {
                    return;
                }
                w.slots.insert(
                    allocation,
                    AllocatedSlot {
                        allocation,
                        job,
                        resources,
                    },
                );
                let used = w
                    .slots
                    .values()
                    .fold(Resources::ZERO, |acc, s| acc.plus(&s.resources));
                if !w.total.fits(&used) {
                    self.violations
                        .push(format!("{worker} holds more than its resources"));
                }
                self.allocation_owner.insert(allocation, worker.clone());
                let at = self.delay(self.behaviour.answer_delay);
                self.schedule(
                    at,
                    SimEvent::SlotAnswer {
                        worker,
                        instance,
                        allocation,
                    },
                );
            }
            TaskExecutorCommand::FreeInactiveSlots { job } => {
                let freed: Vec<AllocationId> = w
                    .slots
                    .values()
                    .filter(|s| s.job == job)
                    .map(|s| s.allocation)
                    .collect();
                let instance = w.instance;
                for allocation in freed {
                    self.workers
                        .get_mut(&worker)
                        .expect("present")
                        .slots
                        .remove(&allocation);
                    self.allocation_owner.remove(&allocation);
                    if let Some(instance) = instance {
                        let _ = self
                            .core
                            .notify_slot_available(&worker, instance, allocation, self.now);
                    }
                }
            }
            TaskExecutorCommand::Heartbeat => {
                if w.alive {
                    let at = self.delay(self.behaviour.answer_delay);
                    self.schedule(at, SimEvent::Heartbeat { worker });
                }
            }
            TaskExecutorCommand::Disconnect { .. } => {
                w.instance = None;
            }
        }
    }

    /// Every job whose requirements fit holds what it asked for, per the SlotManager and on the
    /// TaskExecutors.
    pub fn all_jobs_fulfilled(&self) -> bool {
        self.jobs
            .iter()
            .filter(|(_, j)| !j.requirements.is_empty())
            .all(|(job, j)| {
                let required: u32 = j.requirements.values().sum();
                self.core.slot_manager().missing_slots(*job) == 0 && self.slots_of(*job) >= required
            })
    }

    /// Nothing asked, nothing pending, no more registered TaskManagers than `spares`.
    pub fn is_quiet(&self, spares: u32) -> bool {
        let stats = self.core.slot_manager().stats();
        self.driver_asks() == 0
            && stats.pending_task_managers == 0
            && stats.registered_task_managers <= spares
            && self.alive_workers().len() as u32 <= spares
    }

    /// Workers ever released, in id order.
    pub fn released_workers(&self) -> BTreeSet<WorkerId> {
        self.workers
            .iter()
            .filter(|(_, w)| !w.alive)
            .map(|(id, _)| id.clone())
            .collect()
    }
}
