//! The TaskExecutor (`spindle taskmanager`): the worker that runs in each YARN container.
//!
//! It connects out to the ApplicationMaster, registers with its container id as resource id and
//! reports its slots, heartbeats with its slot report, allocates slots for jobs when told to and
//! offers them to the job, runs deployed tasks as child processes, reports their state changes, and
//! frees slots. It is an actor: one tokio task owns the slot table and the task records and handles
//! one event at a time; the network connection and the task processes run beside it and report back
//! as messages. It exits with an error when the ApplicationMaster has been unreachable for longer
//! than the heartbeat timeout (before the first registration: the registration timeout).
//!
//! Entry point: [`run`] with a [`TaskExecutorConfig`] (see [`config`] for where each setting comes from).

pub mod config;
mod connection;
pub mod process;
pub mod slot_table;

use std::collections::HashMap;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tracing::{error, info, warn};

pub use config::{
    ConfigError, RegistrationBackoff, SECRET_ALIAS, TaskExecutorConfig, TaskManagerOptions,
};
pub use process::task_log_paths;

use crate::rpc::{
    AllocationId, ExecutionAttemptId, InstanceId, JobId, Registration, Resources, TaskDeployment,
    TaskState, ToAm, ToTe,
};
use connection::{Dialer, NetEvent, spawn_connector};
use process::{CancelHandle, ProcessSettings, TaskEvent, TaskOutcome};
use slot_table::{FreeOutcome, SlotTable};

/// Why a TaskExecutor stopped.
#[derive(Debug, thiserror::Error)]
pub enum TaskExecutorError {
    #[error(
        "the ApplicationMaster at {address} has been unreachable for {silent:?}, longer than the \
         heartbeat timeout of {timeout:?}; the TaskExecutor exits and its tasks are killed"
    )]
    AmUnreachable {
        address: String,
        silent: Duration,
        timeout: Duration,
    },
    #[error(
        "could not register with the ApplicationMaster at {address} within {timeout:?} \
         (taskmanager.registration.timeout); check that the address is right and the AM is running"
    )]
    RegistrationTimeout { address: String, timeout: Duration },
    #[error("the ApplicationMaster at {address} refused this TaskExecutor: {reason}")]
    RegistrationRefused { address: String, reason: String },
    #[error("cannot create the log directory {path}: {source}")]
    LogDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot install the SIGTERM handler: {0}")]
    Signal(std::io::Error),
}

/// Runs a TaskExecutor until it is told to stop (SIGTERM: its tasks are killed and `Ok` is returned)
/// or loses the ApplicationMaster for longer than the heartbeat timeout (an error, for a non-zero
/// exit code).
pub async fn run(config: TaskExecutorConfig) -> Result<(), TaskExecutorError> {
    std::fs::create_dir_all(&config.log_dir).map_err(|source| TaskExecutorError::LogDir {
        path: config.log_dir.clone(),
        source,
    })?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(TaskExecutorError::Signal)?;
    let (net_tx, mut net_rx) = mpsc::unbounded_channel();
    let (task_tx, mut task_rx) = mpsc::unbounded_channel();
    let mut te = TaskExecutor::new(config, net_tx, task_tx);
    info!(
        resource_id = %te.config.resource_id,
        am = %te.config.am_address,
        slots = te.config.number_of_slots,
        log_dir = %te.config.log_dir.display(),
        "TaskExecutor starting"
    );
    te.reconnect(Duration::ZERO);

    let mut heartbeat: Option<(u64, Interval)> = None;
    let result = loop {
        let deadline = te.last_heard + te.allowed_silence();
        tokio::select! {
            Some(event) = net_rx.recv() => te.on_net_event(event),
            Some(event) = task_rx.recv() => te.on_task_event(event),
            _ = tick(&mut heartbeat) => te.send_heartbeat(),
            _ = tokio::time::sleep_until(deadline) => {
                if Instant::now() >= te.last_heard + te.allowed_silence() {
                    break Err(te.unreachable_error());
                }
            }
            _ = sigterm.recv() => {
                info!("SIGTERM received; stopping the TaskExecutor");
                break Ok(());
            }
        }
        if let Some(err) = te.fatal.take() {
            break Err(err);
        }
        heartbeat = match te.heartbeat_period() {
            Some((generation, _)) if heartbeat.as_ref().is_some_and(|(g, _)| *g == generation) => {
                heartbeat
            }
            Some((generation, period)) => {
                let mut interval = tokio::time::interval_at(Instant::now() + period, period);
                interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
                Some((generation, interval))
            }
            None => None,
        };
    };
    if let Err(err) = &result {
        error!("{err}");
    }
    te.kill_all_tasks();
    result
}

async fn tick(heartbeat: &mut Option<(u64, Interval)>) {
    match heartbeat {
        Some((_, interval)) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

enum Link {
    /// A connector task is dialing.
    Connecting,
    /// Authenticated; `Register` sent, no answer yet.
    Connected { sender: mpsc::UnboundedSender<ToAm> },
    Registered {
        sender: mpsc::UnboundedSender<ToAm>,
        heartbeat_interval: Duration,
    },
}

struct RunningTask {
    job_id: JobId,
    allocation_id: AllocationId,
    pid: Option<u32>,
    cancel: CancelHandle,
}

struct TaskExecutor {
    config: TaskExecutorConfig,
    slots: SlotTable,
    tasks: HashMap<ExecutionAttemptId, RunningTask>,
    link: Link,
    /// Generation of the current connection; events of older ones are ignored.
    generation: u64,
    /// When the ApplicationMaster was last heard from (or the TaskExecutor started).
    last_heard: Instant,
    /// The heartbeat timeout granted by the last accepted registration.
    heartbeat_timeout: Option<Duration>,
    /// Task state updates waiting for a registered connection.
    pending_updates: Vec<ToAm>,
    /// Set when the TaskExecutor must stop.
    fatal: Option<TaskExecutorError>,
    net_tx: mpsc::UnboundedSender<NetEvent>,
    task_tx: mpsc::UnboundedSender<TaskEvent>,
    process_settings: ProcessSettings,
}

impl TaskExecutor {
    fn new(
        config: TaskExecutorConfig,
        net_tx: mpsc::UnboundedSender<NetEvent>,
        task_tx: mpsc::UnboundedSender<TaskEvent>,
    ) -> Self {
        let slots = SlotTable::new(
            config.resource_id.clone(),
            config.number_of_slots,
            config.total_resources,
        );
        let process_settings = ProcessSettings {
            log_dir: config.log_dir.clone(),
            cancel_grace_period: config.cancel_grace_period,
            stderr_tail_bytes: config.stderr_tail_bytes,
            bin_dir: process::spindle_dir(),
        };
        TaskExecutor {
            process_settings,
            config,
            slots,
            tasks: HashMap::new(),
            link: Link::Connecting,
            generation: 0,
            last_heard: Instant::now(),
            heartbeat_timeout: None,
            pending_updates: Vec::new(),
            fatal: None,
            net_tx,
            task_tx,
        }
    }

    /// How long the ApplicationMaster may stay silent before the TaskExecutor gives up.
    fn allowed_silence(&self) -> Duration {
        self.heartbeat_timeout
            .unwrap_or(self.config.registration_timeout)
    }

    fn unreachable_error(&self) -> TaskExecutorError {
        let address = self.config.am_address.clone();
        match self.heartbeat_timeout {
            Some(timeout) => TaskExecutorError::AmUnreachable {
                address,
                silent: self.last_heard.elapsed(),
                timeout,
            },
            None => TaskExecutorError::RegistrationTimeout {
                address,
                timeout: self.config.registration_timeout,
            },
        }
    }

    fn heartbeat_period(&self) -> Option<(u64, Duration)> {
        match &self.link {
            Link::Registered {
                heartbeat_interval, ..
            } => Some((self.generation, *heartbeat_interval)),
            _ => None,
        }
    }

    /// Drops the current connection (if any) and dials again after `delay`.
    fn reconnect(&mut self, delay: Duration) {
        self.generation += 1;
        self.link = Link::Connecting;
        let backoff = self.config.registration_backoff;
        let dialer = Dialer {
            address: self.config.am_address.clone(),
            resource_id: self.config.resource_id.clone(),
            secret: self.config.secret.clone(),
            max_frame_len: self.config.max_frame_len,
            handshake_timeout: self.config.handshake_timeout,
            initial_backoff: backoff.initial,
            max_backoff: backoff.max,
        };
        spawn_connector(dialer, self.generation, delay, self.net_tx.clone());
    }

    fn send(&mut self, message: ToAm) {
        let sender = match &self.link {
            Link::Connected { sender } | Link::Registered { sender, .. } => sender,
            Link::Connecting => return,
        };
        // A closed sender means the connection is gone; its Lost event is on the way.
        let _ = sender.send(message);
    }

    /// Sends a task state update now if registered, else once registered again.
    fn send_update(&mut self, update: ToAm) {
        if matches!(self.link, Link::Registered { .. }) {
            self.send(update);
        } else {
            self.pending_updates.push(update);
        }
    }

    fn on_net_event(&mut self, event: NetEvent) {
        match event {
            NetEvent::Connected { generation, sender } if generation == self.generation => {
                info!(am = %self.config.am_address, "connected to the ApplicationMaster; registering");
                self.last_heard = Instant::now();
                self.link = Link::Connected { sender };
                let registration = Registration {
                    resource_id: self.config.resource_id.clone(),
                    host: self.config.host.clone(),
                    total_resources: self.config.total_resources,
                    default_slot_resources: self.config.default_slot_resources(),
                    number_of_slots: self.config.number_of_slots,
                    slot_report: self.slots.report(),
                };
                self.send(ToAm::Register(registration));
            }
            NetEvent::Message {
                generation,
                message,
            } if generation == self.generation => {
                self.last_heard = Instant::now();
                self.on_message(message);
            }
            NetEvent::Lost { generation, reason } if generation == self.generation => {
                warn!(am = %self.config.am_address, "lost the connection to the ApplicationMaster: {reason}; reconnecting");
                self.reconnect(self.config.registration_backoff.initial);
            }
            _ => {} // from a connection already given up
        }
    }

    fn on_message(&mut self, message: ToTe) {
        match message {
            ToTe::RegistrationAccepted {
                instance_id,
                heartbeat_interval_ms,
                heartbeat_timeout_ms,
            } => self.on_registered(instance_id, heartbeat_interval_ms, heartbeat_timeout_ms),
            ToTe::RegistrationRefused { reason } => {
                self.fatal = Some(TaskExecutorError::RegistrationRefused {
                    address: self.config.am_address.clone(),
                    reason,
                });
            }
            ToTe::RegistrationDeclined { reason } => {
                let delay = self.config.registration_backoff.refused_delay;
                warn!(
                    "the ApplicationMaster declined the registration: {reason}; trying again in {delay:?}"
                );
                self.reconnect(delay);
            }
            ToTe::HeartbeatReply => {}
            ToTe::HeartbeatRequest => self.send_heartbeat(),
            ToTe::RequestSlot {
                slot_index,
                allocation_id,
                job_id,
                resources,
            } => self.on_request_slot(slot_index, allocation_id, job_id, resources),
            ToTe::FreeSlot {
                allocation_id,
                cause,
            } => self.on_free_slot(&allocation_id, &cause),
            ToTe::FreeInactiveSlots { job_id } => {
                for (allocation_id, slot_index) in self.slots.free_inactive(&job_id) {
                    info!(job = %job_id, allocation = %allocation_id, slot_index, "inactive slot freed");
                    self.send(ToAm::SlotAvailable {
                        allocation_id,
                        slot_index,
                    });
                }
            }
            ToTe::DeployTask(task) => self.on_deploy(task),
            ToTe::CancelTask {
                execution_attempt_id,
            } => match self.tasks.get_mut(&execution_attempt_id) {
                Some(task) => {
                    info!(task = %execution_attempt_id, "canceling task");
                    task.cancel.cancel();
                }
                None => {
                    warn!(task = %execution_attempt_id, "asked to cancel a task that is not running here")
                }
            },
            ToTe::Disconnect { reason } => {
                warn!(
                    "the ApplicationMaster disconnected this TaskExecutor: {reason}; reconnecting"
                );
                self.reconnect(self.config.registration_backoff.initial);
            }
        }
    }

    fn on_registered(&mut self, instance_id: InstanceId, interval_ms: u64, timeout_ms: u64) {
        let Link::Connected { sender } = &self.link else {
            warn!("ignoring a registration answer outside of registration");
            return;
        };
        let heartbeat_interval = Duration::from_millis(interval_ms.max(1));
        let heartbeat_timeout = Duration::from_millis(timeout_ms.max(1));
        info!(%instance_id, ?heartbeat_interval, ?heartbeat_timeout, "registered with the ApplicationMaster");
        self.link = Link::Registered {
            sender: sender.clone(),
            heartbeat_interval,
        };
        self.heartbeat_timeout = Some(heartbeat_timeout);
        for update in std::mem::take(&mut self.pending_updates) {
            self.send(update);
        }
    }

    fn send_heartbeat(&mut self) {
        let slot_report = self.slots.report();
        self.send(ToAm::Heartbeat { slot_report });
    }

    fn on_request_slot(
        &mut self,
        slot_index: Option<u32>,
        allocation_id: AllocationId,
        job_id: JobId,
        resources: Resources,
    ) {
        let result = if matches!(self.link, Link::Registered { .. }) {
            self.slots
                .allocate(slot_index, &allocation_id, &job_id, &resources)
        } else {
            Err("this TaskExecutor is not registered".to_string())
        };
        match result {
            Ok(offer) => {
                info!(slot_index = offer.slot_index, allocation = %allocation_id, job = %job_id, resources = %offer.resources, "slot allocated; offering it to the job");
                self.send(ToAm::SlotRequestAck {
                    allocation_id: allocation_id.clone(),
                });
                self.send(ToAm::OfferSlots {
                    job_id,
                    offers: vec![offer],
                });
            }
            Err(reason) => {
                warn!(?slot_index, allocation = %allocation_id, "slot request failed: {reason}");
                self.send(ToAm::SlotRequestFailed {
                    allocation_id,
                    reason,
                });
            }
        }
    }

    fn on_free_slot(&mut self, allocation_id: &AllocationId, cause: &str) {
        match self.slots.free(allocation_id) {
            Ok(FreeOutcome::Freed { slot_index }) => {
                info!(allocation = %allocation_id, slot_index, "slot freed: {cause}");
                self.send(ToAm::SlotAvailable {
                    allocation_id: allocation_id.clone(),
                    slot_index,
                });
            }
            Ok(FreeOutcome::Releasing { slot_index, tasks }) => {
                info!(allocation = %allocation_id, slot_index, running = tasks.len(), "freeing slot: {cause}; canceling its tasks first");
                for id in tasks {
                    if let Some(task) = self.tasks.get_mut(&id) {
                        task.cancel.cancel();
                    }
                }
            }
            Err(reason) => warn!("cannot free a slot: {reason}"),
        }
    }

    fn on_deploy(&mut self, task: TaskDeployment) {
        let id = task.execution_attempt_id.clone();
        let admitted = if self.tasks.contains_key(&id) {
            Err(format!("execution attempt {id} is already running here"))
        } else {
            self.slots
                .add_task(&task.allocation_id, &task.job_id, id.clone())
        };
        if let Err(reason) = admitted {
            warn!(task = %id, "refusing to deploy: {reason}");
            self.send_update(ToAm::TaskStateUpdate {
                execution_attempt_id: id,
                state: TaskState::Failed,
                exit_code: None,
                error: Some(format!("cannot deploy the task: {reason}")),
            });
            return;
        }
        info!(task = %id, job = %task.job_id, vertex = %task.vertex_name, subtask = task.subtask_index, "deploying task");
        let running = RunningTask {
            job_id: task.job_id.clone(),
            allocation_id: task.allocation_id.clone(),
            pid: None,
            cancel: process::spawn_task(task, self.process_settings.clone(), self.task_tx.clone()),
        };
        self.tasks.insert(id, running);
    }

    fn on_task_event(&mut self, event: TaskEvent) {
        match event {
            TaskEvent::Started { id, pid } => {
                if let Some(task) = self.tasks.get_mut(&id) {
                    task.pid = Some(pid);
                }
                self.send_update(ToAm::TaskStateUpdate {
                    execution_attempt_id: id,
                    state: TaskState::Running,
                    exit_code: None,
                    error: None,
                });
            }
            TaskEvent::Ended { id, outcome } => {
                let (state, exit_code, error) = match outcome {
                    TaskOutcome::Finished => (TaskState::Finished, Some(0), None),
                    TaskOutcome::Failed { exit_code, error } => {
                        (TaskState::Failed, exit_code, Some(error))
                    }
                    TaskOutcome::Canceled => (TaskState::Canceled, None, None),
                };
                self.send_update(ToAm::TaskStateUpdate {
                    execution_attempt_id: id.clone(),
                    state,
                    exit_code,
                    error,
                });
                if let Some(task) = self.tasks.remove(&id)
                    && let Some(slot_index) = self.slots.remove_task(&task.allocation_id, &id)
                {
                    info!(job = %task.job_id, slot_index, "slot freed after its last task ended");
                    self.send_update(ToAm::SlotAvailable {
                        allocation_id: task.allocation_id,
                        slot_index,
                    });
                }
            }
        }
    }

    /// Kills every task's process group at once (the TaskExecutor is going away).
    fn kill_all_tasks(&mut self) {
        for (id, task) in &self.tasks {
            if let Some(pid) = task.pid {
                warn!(task = %id, pid, "killing task process group");
                process::signal_group(pid, libc::SIGKILL);
            }
        }
    }
}
