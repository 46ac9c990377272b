//! The Dispatcher: the part of the ApplicationMaster that runs jobs. It accepts submitted job
//! specs, hosts one [`JobMasterCore`] per job, and carries out what they ask: requirement
//! declarations to the ResourceManager, deployments, cancellations and freed slots to the
//! TaskExecutors (through the [bridge](crate::jobmanager::bridge)). TaskExecutors' slot offers
//! and task state updates come back to it from the bridge, the ResourceManager's calls on a
//! JobMaster (lost TaskManagers, not enough resources, heartbeats) through a gateway per job.
//!
//! It is one actor: a single task owns every job's state and handles one message at a time;
//! the JobMasters' timers are its one deadline. Each job also has a small key-value store
//! ([`kv`]) that its tasks reach through the REST API with the job's token
//! ([`crate::web::auth::job_token`]).
//!
//! A session runs many jobs side by side; in per-job mode the ApplicationMaster submits its one
//! job at start and ends the application when the job ends (see [`JobResult`]).

pub mod kv;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::job_master::{
    Command, JobDetails, JobMasterConfig, JobMasterCore, JobOverview, SlotOffer,
};
use crate::jobmanager::bridge::BridgeHandle;
use crate::jobspec::{InvalidSpec, JobSpec};
use crate::resource_manager::ResourceManagerHandle;
use crate::resource_manager::gateways::JobMasterGateway;
use crate::resource_manager::types::{JobId, JobStatus, Resources, Timestamp, WorkerId};
use crate::rpc::{self, Secret, TaskState, ToTe};
use kv::{Kv, KvError};

/// Environment variable naming the REST address (`http://host:port`) tasks reach the job's
/// key-value store at.
pub const ENV_KV_URL: &str = "SPINDLE_KV_URL";
/// Environment variable holding the job's token for the key-value store.
pub const ENV_JOB_TOKEN: &str = "SPINDLE_JOB_TOKEN";
/// How many ended jobs are remembered for listings (the oldest are forgotten first).
pub const MAX_ENDED_JOBS: usize = 1000;

/// The dispatcher's settings.
#[derive(Clone)]
pub struct DispatcherConfig {
    /// Every JobMaster's settings.
    pub job_master: JobMasterConfig,
    /// What the largest TaskExecutor of this cluster can give one slot: a job whose shared slot
    /// needs more is refused at submission.
    pub max_slot: Resources,
    /// The REST API's address, for tasks' `spindle kv` calls.
    pub kv_url: String,
    /// The application's secret (job tokens are derived from it).
    pub secret: Secret,
}

/// How a job ended, for the per-job ApplicationMaster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobResult {
    /// The job.
    pub job: JobId,
    /// FINISHED, FAILED or CANCELED.
    pub status: JobStatus,
    /// Why it failed.
    pub error: Option<String>,
}

/// Why a submission was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SubmitError {
    /// The spec is invalid (or asks for more than a worker offers).
    #[error("{0}")]
    Invalid(InvalidSpec),
    /// The ResourceManager has stopped.
    #[error("the ResourceManager has stopped; the cluster is shutting down")]
    Stopped,
}

/// Why a cancellation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CancelError {
    /// No such job.
    #[error("no job {0} in this cluster")]
    UnknownJob(JobId),
    /// It has already ended.
    #[error("job {job} has already ended ({status:?})")]
    AlreadyEnded { job: JobId, status: JobStatus },
}

enum Message {
    Submit {
        spec: Box<JobSpec>,
        reply: oneshot::Sender<Result<JobId, SubmitError>>,
    },
    Cancel {
        job: JobId,
        reply: oneshot::Sender<Result<(), CancelError>>,
    },
    Overview {
        reply: oneshot::Sender<Vec<JobOverview>>,
    },
    Details {
        job: JobId,
        reply: oneshot::Sender<Option<JobDetails>>,
    },
    KvPut {
        job: JobId,
        key: String,
        value: String,
        reply: oneshot::Sender<Result<(), KvError>>,
    },
    KvGet {
        job: JobId,
        key: String,
        reply: oneshot::Sender<Result<Option<String>, KvError>>,
    },
    KvWait {
        job: JobId,
        key: String,
        reply: oneshot::Sender<Result<oneshot::Receiver<String>, KvError>>,
    },
    OfferSlots {
        worker: WorkerId,
        job: rpc::JobId,
        offers: Vec<rpc::SlotOffer>,
    },
    TaskState {
        execution: rpc::ExecutionAttemptId,
        state: TaskState,
        error: Option<String>,
    },
    FromResourceManager {
        job: JobId,
        call: RmCall,
    },
}

enum RmCall {
    NotEnoughResources(u32),
    TaskManagerLost(WorkerId, String),
    Heartbeat,
    Disconnected(String),
}

/// Talks to the dispatcher; cheap to clone.
#[derive(Clone)]
pub struct DispatcherHandle {
    tx: mpsc::UnboundedSender<Message>,
}

/// The dispatcher's mailbox before it runs (the bridge needs a handle before the dispatcher
/// can be given the bridge's).
pub struct DispatcherInbox {
    rx: mpsc::UnboundedReceiver<Message>,
}

/// A handle and the mailbox it sends to.
pub fn channel() -> (DispatcherHandle, DispatcherInbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    (DispatcherHandle { tx }, DispatcherInbox { rx })
}

impl DispatcherHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Message) -> Option<T> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).ok()?;
        rx.await.ok()
    }

    /// Submits a validated spec; the job starts at once. `None` once the dispatcher has stopped.
    pub async fn submit(&self, spec: JobSpec) -> Result<JobId, SubmitError> {
        self.ask(|reply| Message::Submit {
            spec: Box::new(spec),
            reply,
        })
        .await
        .unwrap_or(Err(SubmitError::Stopped))
    }

    /// Cancels a job.
    pub async fn cancel(&self, job: JobId) -> Option<Result<(), CancelError>> {
        self.ask(|reply| Message::Cancel { job, reply }).await
    }

    /// Every job, newest first.
    pub async fn overview(&self) -> Option<Vec<JobOverview>> {
        self.ask(|reply| Message::Overview { reply }).await
    }

    /// One job's details.
    pub async fn details(&self, job: JobId) -> Option<Option<JobDetails>> {
        self.ask(|reply| Message::Details { job, reply }).await
    }

    /// Sets a key of a job's store.
    pub async fn kv_put(
        &self,
        job: JobId,
        key: String,
        value: String,
    ) -> Option<Result<(), KvError>> {
        self.ask(|reply| Message::KvPut {
            job,
            key,
            value,
            reply,
        })
        .await
    }

    /// Reads a key of a job's store.
    pub async fn kv_get(&self, job: JobId, key: String) -> Option<Result<Option<String>, KvError>> {
        self.ask(|reply| Message::KvGet { job, key, reply }).await
    }

    /// A key's value now or once it is put; the caller bounds the wait.
    pub async fn kv_wait(
        &self,
        job: JobId,
        key: String,
    ) -> Option<Result<oneshot::Receiver<String>, KvError>> {
        self.ask(|reply| Message::KvWait { job, key, reply }).await
    }

    /// A TaskExecutor offers slots allocated for a job (from the bridge).
    pub fn offer_slots(&self, worker: WorkerId, job: rpc::JobId, offers: Vec<rpc::SlotOffer>) {
        let _ = self.tx.send(Message::OfferSlots {
            worker,
            job,
            offers,
        });
    }

    /// A task changed state (from the bridge, or the bridge's report that a deployment or
    /// cancellation could not be delivered).
    pub fn task_state(
        &self,
        execution: rpc::ExecutionAttemptId,
        state: TaskState,
        error: Option<String>,
    ) {
        let _ = self.tx.send(Message::TaskState {
            execution,
            state,
            error,
        });
    }
}

/// The ResourceManager's gateway to one job's JobMaster: a mailbox entry of the dispatcher.
struct Gateway {
    job: JobId,
    tx: mpsc::UnboundedSender<Message>,
}

impl Gateway {
    fn call(&self, call: RmCall) {
        let _ = self.tx.send(Message::FromResourceManager {
            job: self.job,
            call,
        });
    }
}

impl JobMasterGateway for Gateway {
    fn notify_not_enough_resources(&self, acquired: u32) {
        self.call(RmCall::NotEnoughResources(acquired));
    }
    fn disconnect_task_manager(&self, worker: &WorkerId, cause: &str) {
        self.call(RmCall::TaskManagerLost(worker.clone(), cause.to_owned()));
    }
    fn heartbeat_from_resource_manager(&self) {
        self.call(RmCall::Heartbeat);
    }
    fn disconnect_resource_manager(&self, cause: &str) {
        self.call(RmCall::Disconnected(cause.to_owned()));
    }
}

struct Job {
    core: JobMasterCore,
    job_master_id: u128,
    kv: Kv,
    token: String,
    ended: bool,
}

struct Dispatcher {
    config: DispatcherConfig,
    rm: ResourceManagerHandle,
    bridge: BridgeHandle,
    tx: mpsc::UnboundedSender<Message>,
    jobs: BTreeMap<JobId, Job>,
    /// Submission order, for listings and for forgetting the oldest ended jobs.
    order: VecDeque<JobId>,
    results: Option<mpsc::UnboundedSender<JobResult>>,
    start: Instant,
    /// Milliseconds since the epoch at `start`: the REST API shows wall-clock times.
    epoch_at_start: u64,
}

/// Starts the dispatcher on its own task. Each job's end is sent to `results` when given.
pub fn spawn(
    inbox: DispatcherInbox,
    handle: &DispatcherHandle,
    config: DispatcherConfig,
    rm: ResourceManagerHandle,
    bridge: BridgeHandle,
    results: Option<mpsc::UnboundedSender<JobResult>>,
) {
    let mut rx = inbox.rx;
    let mut dispatcher = Dispatcher {
        config,
        rm,
        bridge,
        tx: handle.tx.clone(),
        jobs: BTreeMap::new(),
        order: VecDeque::new(),
        results,
        start: Instant::now(),
        epoch_at_start: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
    };
    tokio::spawn(async move {
        loop {
            let deadline = dispatcher.next_deadline();
            tokio::select! {
                message = rx.recv() => match message {
                    Some(message) => dispatcher.handle(message).await,
                    None => break,
                },
                () = sleep_until(deadline) => dispatcher.poll().await,
            }
        }
    });
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// The job an execution attempt id (`<job>_<vertex>_<subtask>_<attempt>`) belongs to.
fn job_of_attempt(id: &rpc::ExecutionAttemptId) -> Option<JobId> {
    let hex = id.0.split('_').next()?;
    (hex.len() == 32)
        .then(|| u128::from_str_radix(hex, 16).ok())
        .flatten()
        .map(JobId)
}

/// A job id as the wire and the REST API write it (32 hex digits).
pub fn parse_job_id(text: &str) -> Option<JobId> {
    (text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u128::from_str_radix(text, 16).ok())
        .flatten()
        .map(JobId)
}

impl Dispatcher {
    fn now(&self) -> Timestamp {
        Timestamp(self.start.elapsed().as_millis() as u64)
    }

    /// A job's details with wall-clock times (ms since the epoch), as Flink shows them.
    fn details(&self, job: &Job, now: Timestamp) -> JobDetails {
        let mut d = job.core.details(now);
        d.start_time += self.epoch_at_start;
        d.end_time = d.end_time.map(|t| t + self.epoch_at_start);
        d.now += self.epoch_at_start;
        d
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.jobs
            .values()
            .filter(|j| !j.ended)
            .filter_map(|j| j.core.next_deadline())
            .min()
            .map(|t| self.start + std::time::Duration::from_millis(t.0))
    }

    async fn poll(&mut self) {
        let now = self.now();
        let due: Vec<JobId> = self
            .jobs
            .iter()
            .filter(|(_, j)| !j.ended && j.core.next_deadline().is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for job in due {
            if let Some(j) = self.jobs.get_mut(&job) {
                j.core.poll(now);
            }
            self.carry_out(job).await;
        }
    }

    async fn handle(&mut self, message: Message) {
        let now = self.now();
        match message {
            Message::Submit { spec, reply } => {
                let result = self.submit(*spec).await;
                let _ = reply.send(result);
            }
            Message::Cancel { job, reply } => {
                let result = match self.jobs.get_mut(&job) {
                    None => Err(CancelError::UnknownJob(job)),
                    Some(j) if j.ended => Err(CancelError::AlreadyEnded {
                        job,
                        status: j.core.status(),
                    }),
                    Some(j) => {
                        tracing::info!(%job, "cancelling the job");
                        j.core.cancel(now);
                        Ok(())
                    }
                };
                let _ = reply.send(result);
                self.carry_out(job).await;
            }
            Message::Overview { reply } => {
                let list = self
                    .order
                    .iter()
                    .rev()
                    .filter_map(|id| self.jobs.get(id))
                    .map(|j| JobOverview::from(&self.details(j, now)))
                    .collect();
                let _ = reply.send(list);
            }
            Message::Details { job, reply } => {
                let _ = reply.send(self.jobs.get(&job).map(|j| self.details(j, now)));
            }
            Message::KvPut {
                job,
                key,
                value,
                reply,
            } => {
                let result = match self.jobs.get_mut(&job) {
                    Some(j) => j.kv.put(key, value),
                    None => Err(KvError::UnknownJob(job.to_string())),
                };
                let _ = reply.send(result);
            }
            Message::KvGet { job, key, reply } => {
                let result = match self.jobs.get(&job) {
                    Some(j) => kv::check_key(&key).map(|()| j.kv.get(&key).map(str::to_owned)),
                    None => Err(KvError::UnknownJob(job.to_string())),
                };
                let _ = reply.send(result);
            }
            Message::KvWait { job, key, reply } => {
                let result = match self.jobs.get_mut(&job) {
                    Some(j) => kv::check_key(&key).map(|()| j.kv.wait(key)),
                    None => Err(KvError::UnknownJob(job.to_string())),
                };
                let _ = reply.send(result);
            }
            Message::OfferSlots {
                worker,
                job,
                offers,
            } => self.offer_slots(worker, &job, offers, now).await,
            Message::TaskState {
                execution,
                state,
                error,
            } => {
                let Some(job) = job_of_attempt(&execution) else {
                    tracing::warn!(%execution, "a task state update for an execution this ApplicationMaster never deployed");
                    return;
                };
                if let Some(j) = self.jobs.get_mut(&job) {
                    if state == TaskState::Failed {
                        tracing::info!(%execution, error = error.as_deref().unwrap_or(""), "task failed");
                    }
                    j.core
                        .update_task_state(&execution, state, error.as_deref(), now);
                    self.carry_out(job).await;
                }
            }
            Message::FromResourceManager { job, call } => {
                let Some(j) = self.jobs.get_mut(&job) else {
                    return;
                };
                match call {
                    RmCall::Heartbeat => {
                        let _ = self.rm.heartbeat_from_job_master(job);
                    }
                    RmCall::NotEnoughResources(acquired) => {
                        j.core.not_enough_resources(acquired, now);
                    }
                    RmCall::TaskManagerLost(worker, cause) => {
                        j.core.task_executor_lost(&worker, &cause, now);
                    }
                    RmCall::Disconnected(cause) => {
                        // The ResourceManager forgot this JobMaster (e.g. missed heartbeats):
                        // register again so the job keeps its requirements.
                        if !j.ended {
                            tracing::warn!(%job, %cause, "the ResourceManager disconnected the JobMaster; registering again");
                            let job_master_id = j.job_master_id;
                            let requirements = j.core.slot_pool().requirements().clone();
                            let gateway = Arc::new(Gateway {
                                job,
                                tx: self.tx.clone(),
                            });
                            let _ = self
                                .rm
                                .register_job_master(
                                    job,
                                    job_master_id,
                                    format!("dispatcher/{job}"),
                                    gateway,
                                )
                                .await;
                            let _ = self
                                .rm
                                .declare_required_resources(job, job_master_id, requirements)
                                .await;
                        }
                    }
                }
                self.carry_out(job).await;
            }
        }
    }

    async fn submit(&mut self, mut spec: JobSpec) -> Result<JobId, SubmitError> {
        if spec.vertices.iter().any(|v| v.parallelism.is_none()) {
            spec.apply_default_parallelism(1)
                .map_err(SubmitError::Invalid)?;
        }
        spec.validate().map_err(SubmitError::Invalid)?;
        spec.check_resources(&self.config.max_slot)
            .map_err(SubmitError::Invalid)?;
        let job = JobId(rand::random());
        let job_master_id: u128 = rand::random();
        let gateway = Arc::new(Gateway {
            job,
            tx: self.tx.clone(),
        });
        self.rm
            .register_job_master(job, job_master_id, format!("dispatcher/{job}"), gateway)
            .await
            .map_err(|_| SubmitError::Stopped)?;
        let now = self.now();
        let mut core = JobMasterCore::new(job, &spec, self.config.job_master.clone(), now);
        core.start(now);
        tracing::info!(%job, name = %spec.name, subtasks = core.graph().subtasks(), "job submitted");
        self.jobs.insert(
            job,
            Job {
                core,
                job_master_id,
                kv: Kv::default(),
                token: crate::web::auth::job_token(&self.config.secret, &job),
                ended: false,
            },
        );
        self.order.push_back(job);
        self.forget_old_jobs();
        self.carry_out(job).await;
        Ok(job)
    }

    fn forget_old_jobs(&mut self) {
        let ended = self.jobs.values().filter(|j| j.ended).count();
        let mut excess = ended.saturating_sub(MAX_ENDED_JOBS);
        if excess == 0 {
            return;
        }
        let jobs = &mut self.jobs;
        self.order.retain(|id| {
            if excess > 0 && jobs.get(id).is_some_and(|j| j.ended) {
                jobs.remove(id);
                excess -= 1;
                false
            } else {
                true
            }
        });
    }

    async fn offer_slots(
        &mut self,
        worker: WorkerId,
        job: &rpc::JobId,
        offers: Vec<rpc::SlotOffer>,
        now: Timestamp,
    ) {
        let job_id = parse_job_id(&job.0);
        let accepted: BTreeSet<String> = match job_id.and_then(|id| self.jobs.get_mut(&id)) {
            Some(j) if !j.ended => {
                let parsed: Vec<SlotOffer> =
                    offers.iter().filter_map(SlotOffer::from_rpc).collect();
                j.core
                    .offer_slots(&worker, &parsed, now)
                    .into_iter()
                    .map(|a| a.0.to_string())
                    .collect()
            }
            _ => BTreeSet::new(),
        };
        for offer in offers {
            if !accepted.contains(&offer.allocation_id.0) {
                tracing::debug!(%worker, allocation = %offer.allocation_id, %job, "rejecting a slot offer");
                self.bridge.send(
                    worker.clone(),
                    ToTe::FreeSlot {
                        allocation_id: offer.allocation_id,
                        cause: "the job does not need this slot".to_owned(),
                    },
                );
            }
        }
        if let Some(id) = job_id {
            self.carry_out(id).await;
        }
    }

    /// Carries out a job's commands.
    async fn carry_out(&mut self, job: JobId) {
        let Some(j) = self.jobs.get_mut(&job) else {
            return;
        };
        let commands = j.core.take_commands();
        let (job_master_id, token) = (j.job_master_id, j.token.clone());
        for command in commands {
            match command {
                Command::DeclareRequirements { requirements } => {
                    match self
                        .rm
                        .declare_required_resources(job, job_master_id, requirements)
                        .await
                    {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!(%job, "declaring requirements failed: {e}"),
                        Err(_) => tracing::warn!(%job, "the ResourceManager has stopped"),
                    }
                }
                Command::Deploy {
                    worker, mut task, ..
                } => {
                    task.env
                        .insert(ENV_KV_URL.to_owned(), self.config.kv_url.clone());
                    task.env.insert(ENV_JOB_TOKEN.to_owned(), token.clone());
                    self.bridge.send(worker, ToTe::DeployTask(*task));
                }
                Command::CancelTask { worker, execution } => {
                    self.bridge.send(
                        worker,
                        ToTe::CancelTask {
                            execution_attempt_id: execution,
                        },
                    );
                }
                Command::FreeSlot {
                    worker,
                    allocation,
                    cause,
                } => {
                    self.bridge.send(
                        worker,
                        ToTe::FreeSlot {
                            allocation_id: rpc::AllocationId(allocation.0.to_string()),
                            cause,
                        },
                    );
                }
                Command::JobTerminated { status, error } => {
                    if let Some(j) = self.jobs.get_mut(&job) {
                        j.ended = true;
                        j.kv.close_waiters();
                    }
                    match &error {
                        Some(e) => tracing::info!(%job, ?status, error = %e, "job ended"),
                        None => tracing::info!(%job, ?status, "job ended"),
                    }
                    let _ = self.rm.disconnect_job_master(job, status);
                    if let Some(results) = &self.results {
                        let _ = results.send(JobResult { job, status, error });
                    }
                }
            }
        }
    }
}
