//! The ResourceManager as a deterministic state machine: TaskExecutor and JobMaster registrations,
//! heartbeats in both directions, requirement declarations, slot requests and their answers, and
//! the driver's events, tying the SlotManager to the worker lifecycle.
//!
//! Every input takes the current time; outputs accumulate as [`Command`]s for the owner (the tokio
//! actor or the simulation) to carry out, and [`ResourceManagerCore::next_deadline`] /
//! [`ResourceManagerCore::poll`] replace timers. Same inputs, same outputs: a run replays exactly.

use std::collections::BTreeMap;

use super::ResourceManagerConfig;
use super::commands::{Command, JobMasterCommand, TaskExecutorCommand};
use super::driver::DriverEvent;
use super::events::{DecisionLog, Event, EventKind, EventQuery, Reason};
use super::slot_manager::{Ctx, SlotManager, SlotManagerStats, TaskManagerRegistration};
use super::types::{
    AllocationId, DetMap, InstanceId, JobId, JobStatus, ResourceProfile, Resources, SlotReport,
    Timestamp, WorkerId, WorkerSpec,
};
use super::workers::{Termination, Workers};

/// What a TaskExecutor sends to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskExecutorRegistration {
    /// Its resource id (the container id).
    pub worker: WorkerId,
    /// Where it listens.
    pub address: String,
    /// Its total slot resources.
    pub total: Resources,
    /// Its default slot profile.
    pub default_slot: Resources,
    /// Its slots right now (after an RM failover it may already hold some).
    pub slot_report: SlotReport,
}

/// The answer to a TaskExecutor registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskExecutorRegistrationResponse {
    /// Registered under this instance id; heartbeats and slot messages must carry it.
    Success { instance: InstanceId },
    /// Refused; the TaskExecutor should not retry.
    Rejected { reason: String },
}

/// An error answering a JobMaster or TaskExecutor call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RmError {
    /// The JobMaster is not registered for the job under this leader id.
    #[error(
        "job {job} has no registered JobMaster with leader id {job_master_id:x}; register first"
    )]
    JobMasterNotRegistered { job: JobId, job_master_id: u128 },
    /// The TaskExecutor is not registered under this instance.
    #[error("TaskExecutor {worker} is not registered under instance {instance:?}; register again")]
    TaskExecutorNotRegistered {
        worker: WorkerId,
        instance: InstanceId,
    },
}

/// Figures for the overview page and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ResourceOverview {
    /// SlotManager counters.
    pub slot_manager: SlotManagerStats,
    /// Asks not yet granted.
    pub outstanding_asks: u32,
    /// Workers allocated, starting or registered.
    pub workers: u32,
    /// Registered JobMasters.
    pub job_masters: u32,
}

/// Where a job stands, in one answer: what it requires and holds, what waits for workers, and
/// what the last decisions about it were ("why is my job stuck?").
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JobResources {
    /// Slots required (the newest declaration).
    pub required: u32,
    /// Slots held (requested from or confirmed by TaskExecutors).
    pub acquired: u32,
    /// Slots missing that are planned on pending TaskManagers, i.e. waiting for workers.
    pub waiting_for_workers: u32,
    /// Slots missing with no place planned (unfulfillable, or until the next requirement check).
    pub unplaced: u32,
    /// Worker asks not yet granted by the deployment (all jobs).
    pub outstanding_asks: u32,
    /// Asking is paused until then after too many start failures.
    pub start_paused_until: Option<Timestamp>,
    /// Whether declarations wait for previous-attempt workers to re-register.
    pub waiting_for_recovered_workers: bool,
    /// The newest decisions about the job.
    pub recent_events: Vec<Event>,
}

#[derive(Debug)]
struct TaskExecutorConnection {
    instance: InstanceId,
    address: String,
    last_heartbeat: Timestamp,
}

/// A registered TaskExecutor, for listings (Flink's requestTaskManagerInfo).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaskExecutorInfo {
    /// Its resource id.
    pub worker: WorkerId,
    /// Its current registration.
    pub instance: InstanceId,
    /// Where it listens.
    pub address: String,
    /// When it last answered a heartbeat (or registered).
    pub last_heartbeat: Timestamp,
}

#[derive(Debug)]
struct JobMasterConnection {
    job_master_id: u128,
    address: String,
    last_heartbeat: Timestamp,
}

/// The ResourceManager state machine.
#[derive(Debug)]
pub struct ResourceManagerCore {
    config: ResourceManagerConfig,
    slot_manager: SlotManager,
    workers: Workers,
    log: DecisionLog,
    out: Vec<Command>,
    task_executors: DetMap<WorkerId, TaskExecutorConnection>,
    job_masters: BTreeMap<JobId, JobMasterConnection>,
    /// Declarations that arrived while waiting for previous-attempt workers.
    deferred: BTreeMap<JobId, (String, BTreeMap<ResourceProfile, u32>)>,
    next_heartbeat: Timestamp,
    fatal: Option<String>,
}

macro_rules! ctx {
    ($self:ident, $now:expr) => {
        Ctx {
            now: $now,
            out: &mut $self.out,
            log: &mut $self.log,
        }
    };
}

impl ResourceManagerCore {
    /// A ResourceManager with nothing registered.
    pub fn new(config: ResourceManagerConfig) -> Self {
        Self {
            slot_manager: SlotManager::new(config.slot_manager.clone()),
            workers: Workers::new(config.workers.clone()),
            log: DecisionLog::new(config.event_log_capacity),
            out: Vec::new(),
            task_executors: DetMap::default(),
            job_masters: BTreeMap::new(),
            deferred: BTreeMap::new(),
            next_heartbeat: Timestamp(0).after(config.heartbeat_interval),
            fatal: None,
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ResourceManagerConfig {
        &self.config
    }

    /// The commands produced since the last call, in order.
    pub fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.out)
    }

    /// Decision log entries matching a query.
    pub fn events(&self, query: &EventQuery) -> Vec<Event> {
        self.log.query(query)
    }

    /// Counters.
    pub fn overview(&self) -> ResourceOverview {
        ResourceOverview {
            slot_manager: self.slot_manager.stats(),
            outstanding_asks: self.workers.outstanding_asks(),
            workers: self.workers.worker_count(),
            job_masters: self.job_masters.len() as u32,
        }
    }

    /// Where a job stands and why, in one answer.
    pub fn job_resources(&self, job: JobId) -> JobResources {
        let sm = &self.slot_manager;
        let missing = sm.missing_slots(job);
        let planned = sm.planned_slots(job).min(missing);
        JobResources {
            required: sm.required_slots(job),
            acquired: sm.acquired_slots(job),
            waiting_for_workers: planned,
            unplaced: missing - planned,
            outstanding_asks: self.workers.outstanding_asks(),
            start_paused_until: self.workers.start_paused_until(),
            waiting_for_recovered_workers: !self.workers.ready_to_serve(),
            recent_events: self.log.query(&EventQuery {
                job: Some(job),
                limit: Some(20),
                ..Default::default()
            }),
        }
    }

    /// The registered TaskExecutors, by resource id.
    pub fn task_executors(&self) -> Vec<TaskExecutorInfo> {
        let mut list: Vec<TaskExecutorInfo> = self
            .task_executors
            .iter()
            .map(|(worker, c)| TaskExecutorInfo {
                worker: worker.clone(),
                instance: c.instance,
                address: c.address.clone(),
                last_heartbeat: c.last_heartbeat,
            })
            .collect();
        list.sort_by(|a, b| a.worker.cmp(&b.worker));
        list
    }

    /// The SlotManager (read-only, for inspection and tests).
    pub fn slot_manager(&self) -> &SlotManager {
        &self.slot_manager
    }

    /// The worker lifecycle (read-only, for inspection and tests).
    pub fn workers(&self) -> &Workers {
        &self.workers
    }

    /// The fatal error reported by the driver, if any: the process should exit.
    pub fn fatal_error(&self) -> Option<&str> {
        self.fatal.as_deref()
    }

    /// Hands the SlotManager's current declarations to the worker lifecycle and disconnects the
    /// TaskExecutors of registered workers it released. Runs after every input, except while a
    /// requirement check is scheduled: until it has run, the declarations are stale (they may
    /// still count pending TaskManagers a job no longer needs), and acting on them could ask for
    /// workers nobody needs.
    fn sync(&mut self, now: Timestamp) {
        if self.slot_manager.check_scheduled() {
            return;
        }
        for _ in 0..4 {
            let declarations = self.slot_manager.declarations();
            self.workers.declare(&declarations, &mut ctx!(self, now));
            let released = self.workers.take_released_registered();
            if released.is_empty() {
                break;
            }
            for worker in released {
                self.close_task_executor(
                    &worker,
                    Reason::NoLongerNeeded,
                    "resource is no longer needed",
                    now,
                );
            }
        }
    }

    /// Removes a TaskExecutor's connection and TaskManager and tells it and every JobMaster.
    fn close_task_executor(
        &mut self,
        worker: &WorkerId,
        reason: Reason,
        cause: &str,
        now: Timestamp,
    ) {
        let Some(conn) = self.task_executors.remove(worker) else {
            return;
        };
        self.slot_manager
            .unregister_task_manager(conn.instance, reason, &mut ctx!(self, now));
        for job in self.job_masters.keys() {
            self.out.push(Command::JobMaster {
                job: *job,
                command: JobMasterCommand::TaskManagerLost {
                    worker: worker.clone(),
                    cause: cause.to_owned(),
                },
            });
        }
        self.out.push(Command::TaskExecutor {
            worker: worker.clone(),
            command: TaskExecutorCommand::Disconnect {
                cause: cause.to_owned(),
            },
        });
    }

    // ---------------------------------------------------------------------------------------
    // TaskExecutors

    /// A TaskExecutor registers with its first slot report. Only workers this ResourceManager
    /// requested or recovered are accepted; a re-registration replaces the previous one.
    pub fn register_task_executor(
        &mut self,
        registration: TaskExecutorRegistration,
        now: Timestamp,
    ) -> TaskExecutorRegistrationResponse {
        let worker = registration.worker.clone();
        if !self.workers.is_known(&worker) {
            self.log.record(
                now,
                Reason::UnknownWorker,
                EventKind::RegistrationRefused { worker },
            );
            return TaskExecutorRegistrationResponse::Rejected {
                reason: "The ResourceManager does not recognize this TaskExecutor.".to_owned(),
            };
        }
        if let Some(old) = self.task_executors.remove(&worker) {
            self.slot_manager.unregister_task_manager(
                old.instance,
                Reason::Reregistered,
                &mut ctx!(self, now),
            );
        }
        let spec = self.workers.spec_of(&worker).unwrap_or_else(|| {
            let default = self.config.slot_manager.default_worker;
            let num_slots = if registration.default_slot.memory() == 0 {
                1
            } else {
                (registration.total.memory() / registration.default_slot.memory()).max(1) as u32
            };
            WorkerSpec {
                total: registration.total,
                num_slots,
                container: default.container,
            }
        });
        let outcome = self.slot_manager.register_task_manager(
            worker.clone(),
            spec,
            registration.total,
            registration.default_slot,
            &registration.slot_report,
            &mut ctx!(self, now),
        );
        let response = match outcome {
            TaskManagerRegistration::Accepted(instance) => {
                self.workers.on_registered(&worker, spec);
                self.task_executors.insert(
                    worker,
                    TaskExecutorConnection {
                        instance,
                        address: registration.address.clone(),
                        last_heartbeat: now,
                    },
                );
                TaskExecutorRegistrationResponse::Success { instance }
            }
            TaskManagerRegistration::Rejected => {
                self.workers
                    .release(&worker, Reason::MaxResourcesExceeded, &mut ctx!(self, now));
                self.workers.take_released_registered();
                TaskExecutorRegistrationResponse::Rejected {
                    reason:
                        "Registering this TaskExecutor would exceed the maximum total resources."
                            .to_owned(),
                }
            }
        };
        self.sync(now);
        response
    }

    fn connection(&self, worker: &WorkerId, instance: InstanceId) -> Result<(), RmError> {
        match self.task_executors.get(worker) {
            Some(c) if c.instance == instance => Ok(()),
            _ => Err(RmError::TaskExecutorNotRegistered {
                worker: worker.clone(),
                instance,
            }),
        }
    }

    /// A heartbeat answer from a TaskExecutor with its slot report (the report wins).
    pub fn heartbeat_from_task_executor(
        &mut self,
        worker: &WorkerId,
        instance: InstanceId,
        report: &SlotReport,
        now: Timestamp,
    ) -> Result<(), RmError> {
        self.connection(worker, instance)?;
        self.task_executors
            .get_mut(worker)
            .expect("checked")
            .last_heartbeat = now;
        self.slot_manager
            .report_slot_status(instance, report, &mut ctx!(self, now));
        self.sync(now);
        Ok(())
    }

    /// The TaskExecutor's answer to a slot request.
    pub fn slot_request_result(
        &mut self,
        worker: &WorkerId,
        instance: InstanceId,
        allocation: AllocationId,
        ok: bool,
        now: Timestamp,
    ) -> Result<(), RmError> {
        self.connection(worker, instance)?;
        self.slot_manager
            .slot_request_result(instance, allocation, ok, &mut ctx!(self, now));
        self.sync(now);
        Ok(())
    }

    /// A TaskExecutor freed a slot (`notifySlotAvailable`).
    pub fn notify_slot_available(
        &mut self,
        worker: &WorkerId,
        instance: InstanceId,
        allocation: AllocationId,
        now: Timestamp,
    ) -> Result<(), RmError> {
        self.connection(worker, instance)?;
        self.slot_manager
            .free_slot(instance, allocation, &mut ctx!(self, now));
        self.sync(now);
        Ok(())
    }

    /// A TaskExecutor disconnects (or is found unreachable): its TaskManager goes, its worker is
    /// stopped.
    pub fn disconnect_task_executor(&mut self, worker: &WorkerId, cause: &str, now: Timestamp) {
        self.close_task_executor(worker, Reason::Disconnected, cause, now);
        self.workers
            .release(worker, Reason::Disconnected, &mut ctx!(self, now));
        self.workers.take_released_registered();
        self.sync(now);
    }

    // ---------------------------------------------------------------------------------------
    // JobMasters

    /// A JobMaster registers for a job. A different JobMaster already registered for the job is
    /// disconnected; the job's requirements are kept. Registration always succeeds: leader
    /// election (which refuses a JobMaster that is not the job's leader) lives outside this module,
    /// so the newest registration wins.
    pub fn register_job_master(
        &mut self,
        job: JobId,
        job_master_id: u128,
        address: &str,
        now: Timestamp,
    ) {
        if let Some(old) = self.job_masters.get(&job)
            && old.job_master_id != job_master_id
        {
            self.out.push(Command::JobMaster {
                job,
                command: JobMasterCommand::Disconnect {
                    cause: "a new JobMaster registered for the job".to_owned(),
                },
            });
            self.log.record(
                now,
                Reason::Reregistered,
                EventKind::JobMasterDisconnected { job },
            );
        }
        self.job_masters.insert(
            job,
            JobMasterConnection {
                job_master_id,
                address: address.to_owned(),
                last_heartbeat: now,
            },
        );
        self.log.record(
            now,
            Reason::Requested,
            EventKind::JobMasterRegistered { job },
        );
    }

    /// A JobMaster declares its job's requirements: absolute counts per profile, the newest wins.
    /// While previous-attempt workers are awaited the declaration is kept and served later.
    pub fn declare_required_resources(
        &mut self,
        job: JobId,
        job_master_id: u128,
        requirements: BTreeMap<ResourceProfile, u32>,
        now: Timestamp,
    ) -> Result<(), RmError> {
        let address = match self.job_masters.get(&job) {
            Some(c) if c.job_master_id == job_master_id => c.address.clone(),
            _ => return Err(RmError::JobMasterNotRegistered { job, job_master_id }),
        };
        if !self.workers.ready_to_serve() {
            self.deferred.insert(job, (address, requirements));
            return Ok(());
        }
        self.slot_manager
            .process_requirements(job, &address, &requirements, &mut ctx!(self, now));
        self.sync(now);
        Ok(())
    }

    /// A JobMaster disconnects. A globally terminal job's requirements are cleared (its inactive
    /// slots freed); otherwise they are kept for a new leader.
    pub fn disconnect_job_master(&mut self, job: JobId, status: JobStatus, now: Timestamp) {
        if self.job_masters.remove(&job).is_some() {
            let reason = if status.is_globally_terminal() {
                Reason::JobTerminated
            } else {
                Reason::JobMasterGone
            };
            self.log
                .record(now, reason, EventKind::JobMasterDisconnected { job });
        }
        if status.is_globally_terminal() {
            self.deferred.remove(&job);
            self.slot_manager
                .clear_requirements(job, &mut ctx!(self, now));
        }
        self.sync(now);
    }

    /// A heartbeat answer from a JobMaster.
    pub fn heartbeat_from_job_master(&mut self, job: JobId, now: Timestamp) {
        if let Some(c) = self.job_masters.get_mut(&job) {
            c.last_heartbeat = now;
        }
    }

    // ---------------------------------------------------------------------------------------
    // Driver and timers

    /// An event from the driver.
    pub fn on_driver_event(&mut self, event: DriverEvent, now: Timestamp) {
        match event {
            DriverEvent::WorkerAllocated { worker, spec } => {
                self.workers
                    .on_allocated(worker, spec, &mut ctx!(self, now));
            }
            DriverEvent::SurplusReturned { worker } => {
                self.log
                    .record(now, Reason::Surplus, EventKind::WorkerReleased { worker });
            }
            DriverEvent::WorkerRequestFailed { spec, .. } => {
                self.workers.on_request_failed(spec, &mut ctx!(self, now));
            }
            DriverEvent::WorkerStarted { worker } => {
                self.workers.on_started(&worker, &mut ctx!(self, now))
            }
            DriverEvent::WorkerTerminated { worker, cause } => {
                if self
                    .workers
                    .on_terminated(&worker, &cause, &mut ctx!(self, now))
                    == Termination::AfterRegistration
                {
                    self.close_task_executor(&worker, Reason::Terminated, &cause, now);
                }
            }
            DriverEvent::PreviousAttemptWorkersRecovered { workers } => {
                self.workers.on_recovered(workers, &mut ctx!(self, now));
            }
            DriverEvent::FatalError { message } => {
                self.log.record(
                    now,
                    Reason::Fatal,
                    EventKind::FatalError {
                        message: message.clone(),
                    },
                );
                self.fatal = Some(message);
            }
        }
        self.serve_deferred(now);
        self.sync(now);
    }

    fn serve_deferred(&mut self, now: Timestamp) {
        if self.workers.ready_to_serve() && !self.deferred.is_empty() {
            for (job, (address, requirements)) in std::mem::take(&mut self.deferred) {
                self.slot_manager.process_requirements(
                    job,
                    &address,
                    &requirements,
                    &mut ctx!(self, now),
                );
            }
        }
    }

    /// The earliest time [`Self::poll`] has work to do.
    pub fn next_deadline(&self) -> Timestamp {
        let mut t = self.slot_manager.next_deadline().min(self.next_heartbeat);
        if let Some(w) = self.workers.next_deadline() {
            t = t.min(w);
        }
        t
    }

    /// Runs everything due at `now`: heartbeats and their timeouts, registration timeouts, the
    /// start cool-down, the debounced requirement check and the idle reconcile.
    pub fn poll(&mut self, now: Timestamp) {
        if self.next_heartbeat <= now {
            self.next_heartbeat = now.after(self.config.heartbeat_interval);
            self.heartbeat_round(now);
        }
        self.workers.poll(&mut ctx!(self, now));
        let released = self.workers.take_released_registered();
        for worker in released {
            self.close_task_executor(
                &worker,
                Reason::RegistrationTimeout,
                "registration timeout",
                now,
            );
        }
        self.serve_deferred(now);
        self.slot_manager.poll(&mut ctx!(self, now));
        self.sync(now);
    }

    fn heartbeat_round(&mut self, now: Timestamp) {
        let timeout = self.config.heartbeat_timeout;
        let mut dead_tes: Vec<WorkerId> = self
            .task_executors
            .iter()
            .filter(|(_, c)| c.last_heartbeat.after(timeout) <= now)
            .map(|(w, _)| w.clone())
            .collect();
        dead_tes.sort();
        for worker in dead_tes {
            let cause = format!("The heartbeat of TaskManager with id {worker} timed out.");
            self.close_task_executor(&worker, Reason::HeartbeatTimeout, &cause, now);
            self.workers
                .release(&worker, Reason::HeartbeatTimeout, &mut ctx!(self, now));
            self.workers.take_released_registered();
        }
        let dead_jms: Vec<JobId> = self
            .job_masters
            .iter()
            .filter(|(_, c)| c.last_heartbeat.after(timeout) <= now)
            .map(|(j, _)| *j)
            .collect();
        for job in dead_jms {
            self.job_masters.remove(&job);
            self.log.record(
                now,
                Reason::HeartbeatTimeout,
                EventKind::JobMasterDisconnected { job },
            );
            self.out.push(Command::JobMaster {
                job,
                command: JobMasterCommand::Disconnect {
                    cause: "heartbeat timed out".to_owned(),
                },
            });
        }
        let mut workers: Vec<&WorkerId> = self.task_executors.keys().collect();
        workers.sort();
        for worker in workers {
            self.out.push(Command::TaskExecutor {
                worker: worker.clone(),
                command: TaskExecutorCommand::Heartbeat,
            });
        }
        for job in self.job_masters.keys() {
            self.out.push(Command::JobMaster {
                job: *job,
                command: JobMasterCommand::Heartbeat,
            });
        }
    }
}
