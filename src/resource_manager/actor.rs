//! The ResourceManager in production: one tokio task owns the [`ResourceManagerCore`], takes
//! messages from a mailbox, sleeps until the core's next deadline, and carries the core's commands
//! out on the driver and the gateways (all fire-and-forget; their answers come back as messages
//! through the [`ResourceManagerHandle`]). No locks: the task is the only owner of the state.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::commands::{Command, DriverCommand, JobMasterCommand, TaskExecutorCommand};
use super::core::{
    JobResources, ResourceManagerCore, ResourceOverview, RmError, TaskExecutorRegistration,
    TaskExecutorRegistrationResponse,
};
use super::driver::{ApplicationStatus, DriverEvent, DriverEventSink, ResourceManagerDriver};
use super::events::{Event, EventQuery};
use super::gateways::{JobMasterGateway, SlotRequest, TaskExecutorGateway};
use super::types::{
    AllocationId, InstanceId, JobId, JobStatus, ResourceProfile, SlotReport, Timestamp, WorkerId,
};

/// The ResourceManager task has stopped (shut down or failed fatally).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the ResourceManager has stopped")]
pub struct Stopped;

enum Message {
    RegisterTaskExecutor {
        registration: TaskExecutorRegistration,
        gateway: Arc<dyn TaskExecutorGateway>,
        reply: oneshot::Sender<TaskExecutorRegistrationResponse>,
    },
    HeartbeatFromTaskExecutor {
        worker: WorkerId,
        instance: InstanceId,
        report: SlotReport,
        reply: oneshot::Sender<Result<(), RmError>>,
    },
    SlotRequestResult {
        worker: WorkerId,
        instance: InstanceId,
        allocation: AllocationId,
        ok: bool,
    },
    NotifySlotAvailable {
        worker: WorkerId,
        instance: InstanceId,
        allocation: AllocationId,
    },
    DisconnectTaskExecutor {
        worker: WorkerId,
        cause: String,
    },
    RegisterJobMaster {
        job: JobId,
        job_master_id: u128,
        address: String,
        gateway: Arc<dyn JobMasterGateway>,
        reply: oneshot::Sender<()>,
    },
    DeclareRequiredResources {
        job: JobId,
        job_master_id: u128,
        requirements: BTreeMap<ResourceProfile, u32>,
        reply: oneshot::Sender<Result<(), RmError>>,
    },
    DisconnectJobMaster {
        job: JobId,
        status: JobStatus,
    },
    HeartbeatFromJobMaster {
        job: JobId,
    },
    Driver(DriverEvent),
    Events {
        query: EventQuery,
        reply: oneshot::Sender<Vec<Event>>,
    },
    Overview {
        reply: oneshot::Sender<ResourceOverview>,
    },
    JobResources {
        job: JobId,
        reply: oneshot::Sender<JobResources>,
    },
    Shutdown {
        status: ApplicationStatus,
        diagnostics: String,
        reply: oneshot::Sender<()>,
    },
}

/// The way into a running ResourceManager; cheap to clone.
#[derive(Clone)]
pub struct ResourceManagerHandle {
    tx: mpsc::UnboundedSender<Message>,
}

struct MailboxSink(mpsc::UnboundedSender<Message>);

impl DriverEventSink for MailboxSink {
    fn send(&self, event: DriverEvent) {
        // A stopped ResourceManager has no use for driver events.
        let _ = self.0.send(Message::Driver(event));
    }
}

/// Starts the ResourceManager on its own tokio task; the driver is initialized with a sink into
/// its mailbox. The task ends on [`ResourceManagerHandle::shutdown`], on a fatal driver error, or
/// when every handle is dropped.
pub fn spawn(
    core: ResourceManagerCore,
    mut driver: Box<dyn ResourceManagerDriver>,
) -> ResourceManagerHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    driver.initialize(Box::new(MailboxSink(tx.clone())));
    let actor = Actor {
        core,
        driver,
        rx,
        start: Instant::now(),
        task_executors: HashMap::new(),
        job_masters: HashMap::new(),
    };
    tokio::spawn(actor.run());
    ResourceManagerHandle { tx }
}

impl ResourceManagerHandle {
    fn send(&self, message: Message) -> Result<(), Stopped> {
        self.tx.send(message).map_err(|_| Stopped)
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Message) -> Result<T, Stopped> {
        let (reply, rx) = oneshot::channel();
        self.send(make(reply))?;
        rx.await.map_err(|_| Stopped)
    }

    /// Registers a TaskExecutor with its first slot report and the gateway to reach it.
    pub async fn register_task_executor(
        &self,
        registration: TaskExecutorRegistration,
        gateway: Arc<dyn TaskExecutorGateway>,
    ) -> Result<TaskExecutorRegistrationResponse, Stopped> {
        self.ask(|reply| Message::RegisterTaskExecutor {
            registration,
            gateway,
            reply,
        })
        .await
    }

    /// A TaskExecutor's heartbeat answer with its slot report.
    pub async fn heartbeat_from_task_executor(
        &self,
        worker: WorkerId,
        instance: InstanceId,
        report: SlotReport,
    ) -> Result<Result<(), RmError>, Stopped> {
        self.ask(|reply| Message::HeartbeatFromTaskExecutor {
            worker,
            instance,
            report,
            reply,
        })
        .await
    }

    /// A TaskExecutor's answer to a slot request.
    pub fn slot_request_result(
        &self,
        worker: WorkerId,
        instance: InstanceId,
        allocation: AllocationId,
        ok: bool,
    ) -> Result<(), Stopped> {
        self.send(Message::SlotRequestResult {
            worker,
            instance,
            allocation,
            ok,
        })
    }

    /// A TaskExecutor freed a slot.
    pub fn notify_slot_available(
        &self,
        worker: WorkerId,
        instance: InstanceId,
        allocation: AllocationId,
    ) -> Result<(), Stopped> {
        self.send(Message::NotifySlotAvailable {
            worker,
            instance,
            allocation,
        })
    }

    /// A TaskExecutor goes away.
    pub fn disconnect_task_executor(&self, worker: WorkerId, cause: String) -> Result<(), Stopped> {
        self.send(Message::DisconnectTaskExecutor { worker, cause })
    }

    /// Registers a JobMaster for a job under its leader id.
    pub async fn register_job_master(
        &self,
        job: JobId,
        job_master_id: u128,
        address: String,
        gateway: Arc<dyn JobMasterGateway>,
    ) -> Result<(), Stopped> {
        self.ask(|reply| Message::RegisterJobMaster {
            job,
            job_master_id,
            address,
            gateway,
            reply,
        })
        .await
    }

    /// Declares a job's requirements (absolute; the newest wins).
    pub async fn declare_required_resources(
        &self,
        job: JobId,
        job_master_id: u128,
        requirements: BTreeMap<ResourceProfile, u32>,
    ) -> Result<Result<(), RmError>, Stopped> {
        self.ask(|reply| Message::DeclareRequiredResources {
            job,
            job_master_id,
            requirements,
            reply,
        })
        .await
    }

    /// Declares a job's requirements without waiting: the answer arrives on the returned
    /// receiver (the message is queued at once, so declarations keep their order).
    pub fn declare_required_resources_later(
        &self,
        job: JobId,
        job_master_id: u128,
        requirements: BTreeMap<ResourceProfile, u32>,
    ) -> Result<oneshot::Receiver<Result<(), RmError>>, Stopped> {
        let (reply, rx) = oneshot::channel();
        self.send(Message::DeclareRequiredResources {
            job,
            job_master_id,
            requirements,
            reply,
        })?;
        Ok(rx)
    }

    /// A JobMaster goes away; a globally terminal status clears the job's requirements.
    pub fn disconnect_job_master(&self, job: JobId, status: JobStatus) -> Result<(), Stopped> {
        self.send(Message::DisconnectJobMaster { job, status })
    }

    /// A JobMaster's heartbeat answer.
    pub fn heartbeat_from_job_master(&self, job: JobId) -> Result<(), Stopped> {
        self.send(Message::HeartbeatFromJobMaster { job })
    }

    /// The decision log entries matching a query (what GET /events serves).
    pub async fn events(&self, query: EventQuery) -> Result<Vec<Event>, Stopped> {
        self.ask(|reply| Message::Events { query, reply }).await
    }

    /// Counters.
    pub async fn overview(&self) -> Result<ResourceOverview, Stopped> {
        self.ask(|reply| Message::Overview { reply }).await
    }

    /// Where a job stands and why (required, held, waiting for workers, recent decisions).
    pub async fn job_resources(&self, job: JobId) -> Result<JobResources, Stopped> {
        self.ask(|reply| Message::JobResources { job, reply }).await
    }

    /// Deregisters the application from the deployment and stops the ResourceManager.
    pub async fn shutdown(
        &self,
        status: ApplicationStatus,
        diagnostics: String,
    ) -> Result<(), Stopped> {
        self.ask(|reply| Message::Shutdown {
            status,
            diagnostics,
            reply,
        })
        .await
    }
}

struct Actor {
    core: ResourceManagerCore,
    driver: Box<dyn ResourceManagerDriver>,
    rx: mpsc::UnboundedReceiver<Message>,
    start: Instant,
    task_executors: HashMap<WorkerId, Arc<dyn TaskExecutorGateway>>,
    job_masters: HashMap<JobId, Arc<dyn JobMasterGateway>>,
}

impl Actor {
    fn now(&self) -> Timestamp {
        Timestamp(self.start.elapsed().as_millis() as u64)
    }

    async fn run(mut self) {
        loop {
            let deadline = self.start + Duration::from_millis(self.core.next_deadline().0);
            tokio::select! {
                message = self.rx.recv() => match message {
                    None => break,
                    Some(Message::Shutdown { status, diagnostics, reply }) => {
                        self.driver.deregister_application(status, &diagnostics);
                        self.driver.terminate();
                        let _ = reply.send(());
                        return;
                    }
                    Some(message) => self.handle(message),
                },
                _ = tokio::time::sleep_until(deadline) => {
                    let now = self.now();
                    self.core.poll(now);
                }
            }
            self.dispatch();
            if let Some(message) = self.core.fatal_error() {
                tracing::error!(%message, "fatal error from the resource manager driver; stopping");
                break;
            }
        }
        self.driver.terminate();
    }

    fn handle(&mut self, message: Message) {
        let now = self.now();
        let core = &mut self.core;
        match message {
            Message::RegisterTaskExecutor {
                registration,
                gateway,
                reply,
            } => {
                let worker = registration.worker.clone();
                let response = core.register_task_executor(registration, now);
                if matches!(response, TaskExecutorRegistrationResponse::Success { .. }) {
                    self.task_executors.insert(worker, gateway);
                }
                let _ = reply.send(response);
            }
            Message::HeartbeatFromTaskExecutor {
                worker,
                instance,
                report,
                reply,
            } => {
                let _ =
                    reply.send(core.heartbeat_from_task_executor(&worker, instance, &report, now));
            }
            Message::SlotRequestResult {
                worker,
                instance,
                allocation,
                ok,
            } => {
                if let Err(e) = core.slot_request_result(&worker, instance, allocation, ok, now) {
                    tracing::debug!(%e, "ignoring a slot request result");
                }
            }
            Message::NotifySlotAvailable {
                worker,
                instance,
                allocation,
            } => {
                if let Err(e) = core.notify_slot_available(&worker, instance, allocation, now) {
                    tracing::debug!(%e, "ignoring a freed slot");
                }
            }
            Message::DisconnectTaskExecutor { worker, cause } => {
                core.disconnect_task_executor(&worker, &cause, now)
            }
            Message::RegisterJobMaster {
                job,
                job_master_id,
                address,
                gateway,
                reply,
            } => {
                core.register_job_master(job, job_master_id, &address, now);
                // Commands to the previous JobMaster (its disconnect) go out before it is replaced.
                self.dispatch();
                self.job_masters.insert(job, gateway);
                let _ = reply.send(());
            }
            Message::DeclareRequiredResources {
                job,
                job_master_id,
                requirements,
                reply,
            } => {
                let _ = reply.send(core.declare_required_resources(
                    job,
                    job_master_id,
                    requirements,
                    now,
                ));
            }
            Message::DisconnectJobMaster { job, status } => {
                core.disconnect_job_master(job, status, now);
                self.job_masters.remove(&job);
            }
            Message::HeartbeatFromJobMaster { job } => core.heartbeat_from_job_master(job, now),
            Message::Driver(event) => core.on_driver_event(event, now),
            Message::Events { query, reply } => {
                let _ = reply.send(core.events(&query));
            }
            Message::Overview { reply } => {
                let _ = reply.send(core.overview());
            }
            Message::JobResources { job, reply } => {
                let _ = reply.send(core.job_resources(job));
            }
            Message::Shutdown { .. } => unreachable!("handled by the loop"),
        }
    }

    fn dispatch(&mut self) {
        for command in self.core.take_commands() {
            match command {
                Command::Driver(DriverCommand::RequestWorker { spec }) => {
                    self.driver.request_worker(&spec)
                }
                Command::Driver(DriverCommand::CancelRequest { spec }) => {
                    self.driver.cancel_request(&spec)
                }
                Command::Driver(DriverCommand::ReleaseWorker { worker }) => {
                    self.driver.release_worker(&worker)
                }
                Command::TaskExecutor { worker, command } => {
                    let Some(gateway) = self.task_executors.get(&worker) else {
                        continue;
                    };
                    match command {
                        TaskExecutorCommand::RequestSlot {
                            instance,
                            allocation,
                            job,
                            resources,
                            job_master_address,
                        } => {
                            gateway.request_slot(SlotRequest {
                                instance,
                                allocation,
                                job,
                                resources,
                                job_master_address: job_master_address.to_string(),
                            });
                        }
                        TaskExecutorCommand::FreeInactiveSlots { job } => {
                            gateway.free_inactive_slots(job)
                        }
                        TaskExecutorCommand::Heartbeat => gateway.heartbeat_from_resource_manager(),
                        TaskExecutorCommand::Disconnect { cause } => {
                            gateway.disconnect_resource_manager(&cause);
                            self.task_executors.remove(&worker);
                        }
                    }
                }
                Command::JobMaster { job, command } => {
                    let Some(gateway) = self.job_masters.get(&job) else {
                        continue;
                    };
                    match command {
                        JobMasterCommand::NotEnoughResources { acquired } => {
                            gateway.notify_not_enough_resources(acquired)
                        }
                        JobMasterCommand::TaskManagerLost { worker, cause } => {
                            gateway.disconnect_task_manager(&worker, &cause)
                        }
                        JobMasterCommand::Heartbeat => gateway.heartbeat_from_resource_manager(),
                        JobMasterCommand::Disconnect { cause } => {
                            gateway.disconnect_resource_manager(&cause);
                            self.job_masters.remove(&job);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Configuration;
    use crate::resource_manager::ResourceManagerConfig;
    use crate::resource_manager::events::Reason;
    use crate::resource_manager::types::WorkerSpec;

    /// A driver that grants every ask at once with a fresh container id.
    struct InstantDriver {
        sink: Option<Box<dyn DriverEventSink>>,
        asked: mpsc::UnboundedSender<WorkerId>,
        deregistered: mpsc::UnboundedSender<ApplicationStatus>,
        next: u32,
    }

    impl ResourceManagerDriver for InstantDriver {
        fn initialize(&mut self, events: Box<dyn DriverEventSink>) {
            self.sink = Some(events);
        }
        fn request_worker(&mut self, spec: &WorkerSpec) {
            self.next += 1;
            let worker = WorkerId::new(format!("container_{}", self.next));
            let sink = self.sink.as_ref().expect("initialized");
            sink.send(DriverEvent::WorkerAllocated {
                worker: worker.clone(),
                spec: *spec,
            });
            sink.send(DriverEvent::WorkerStarted {
                worker: worker.clone(),
            });
            let _ = self.asked.send(worker);
        }
        fn cancel_request(&mut self, _spec: &WorkerSpec) {}
        fn release_worker(&mut self, _worker: &WorkerId) {}
        fn deregister_application(&mut self, status: ApplicationStatus, _diagnostics: &str) {
            let _ = self.deregistered.send(status);
        }
        fn terminate(&mut self) {}
    }

    struct ChannelTaskExecutor(mpsc::UnboundedSender<SlotRequest>);

    impl TaskExecutorGateway for ChannelTaskExecutor {
        fn request_slot(&self, request: SlotRequest) {
            let _ = self.0.send(request);
        }
        fn free_inactive_slots(&self, _job: JobId) {}
        fn heartbeat_from_resource_manager(&self) {}
        fn disconnect_resource_manager(&self, _cause: &str) {}
    }

    struct SilentJobMaster;

    impl JobMasterGateway for SilentJobMaster {
        fn notify_not_enough_resources(&self, _acquired: u32) {}
        fn disconnect_task_manager(&self, _worker: &WorkerId, _cause: &str) {}
        fn heartbeat_from_resource_manager(&self) {}
        fn disconnect_resource_manager(&self, _cause: &str) {}
    }

    #[tokio::test]
    async fn actor_runs_the_protocol_end_to_end() {
        let conf = Configuration::from_pairs([("taskmanager.numberOfTaskSlots", "2")]);
        let config = ResourceManagerConfig::from_configuration(&conf).unwrap();
        let spec = config.slot_manager.default_worker;
        let (asked_tx, mut asked) = mpsc::unbounded_channel();
        let (dereg_tx, mut deregistered) = mpsc::unbounded_channel();
        let driver = InstantDriver {
            sink: None,
            asked: asked_tx,
            deregistered: dereg_tx,
            next: 0,
        };
        let rm = spawn(ResourceManagerCore::new(config), Box::new(driver));

        let job = JobId(42);
        rm.register_job_master(job, 7, "jm".into(), Arc::new(SilentJobMaster))
            .await
            .unwrap();
        let wrong_leader = rm
            .declare_required_resources(job, 8, BTreeMap::new())
            .await
            .unwrap();
        assert!(matches!(
            wrong_leader,
            Err(RmError::JobMasterNotRegistered { .. })
        ));
        rm.declare_required_resources(job, 7, BTreeMap::from([(ResourceProfile::Unknown, 2)]))
            .await
            .unwrap()
            .unwrap();

        let worker = asked.recv().await.expect("a worker is asked for");
        let (slots_tx, mut slot_requests) = mpsc::unbounded_channel();
        let registration = TaskExecutorRegistration {
            worker: worker.clone(),
            address: "te".into(),
            total: spec.total,
            default_slot: spec.default_slot(),
            slot_report: SlotReport::default(),
        };
        let response = rm
            .register_task_executor(registration, Arc::new(ChannelTaskExecutor(slots_tx)))
            .await
            .unwrap();
        let TaskExecutorRegistrationResponse::Success { instance } = response else {
            panic!("{response:?}")
        };
        for _ in 0..2 {
            let request = slot_requests.recv().await.expect("a slot request");
            assert_eq!(request.job, job);
            assert_eq!(request.job_master_address, "jm");
            rm.slot_request_result(worker.clone(), instance, request.allocation, true)
                .unwrap();
        }

        let stranger = TaskExecutorRegistration {
            worker: WorkerId::new("container_stranger"),
            address: "x".into(),
            total: spec.total,
            default_slot: spec.default_slot(),
            slot_report: SlotReport::default(),
        };
        let (tx, _rx) = mpsc::unbounded_channel();
        let refused = rm
            .register_task_executor(stranger, Arc::new(ChannelTaskExecutor(tx)))
            .await
            .unwrap();
        assert!(matches!(
            refused,
            TaskExecutorRegistrationResponse::Rejected { .. }
        ));

        let allocated = rm
            .events(EventQuery {
                name: Some("slot_allocated".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(allocated.len(), 2);
        let refused = rm
            .events(EventQuery {
                reason: Some(Reason::UnknownWorker),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(refused.len(), 1);
        let overview = rm.overview().await.unwrap();
        assert_eq!(overview.slot_manager.allocated_slots, 2);
        assert_eq!(overview.workers, 1);
        let resources = rm.job_resources(job).await.unwrap();
        assert_eq!(
            (resources.required, resources.acquired, resources.unplaced),
            (2, 2, 0)
        );

        rm.shutdown(ApplicationStatus::Succeeded, "done".into())
            .await
            .unwrap();
        assert_eq!(
            deregistered.recv().await,
            Some(ApplicationStatus::Succeeded)
        );
        assert_eq!(rm.overview().await, Err(Stopped));
    }
}
