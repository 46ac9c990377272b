//! Between the TaskExecutors' connections and the ResourceManager: one task that owns the
//! connections, turns the wire protocol's messages (`spindle::rpc`) into the ResourceManager's
//! calls and the ResourceManager's [`TaskExecutorGateway`] calls into wire messages.
//!
//! The two sides count resources differently. The ResourceManager knows a worker's slot
//! resources by pool (task heap, task off-heap, managed, network); a TaskExecutor is started with
//! one memory figure (`--memory-mb`, the spec's pools summed and rounded up to MiB, see
//! [`crate::yarn_driver::launch`]). So a TaskExecutor of the default spec registers here with the
//! spec's exact resources, slot requests go out as CPU plus the sum of the pools, and the slots
//! a TaskExecutor reports come back with the resources the ResourceManager gave them. Ids travel
//! as text on the wire (allocation ids in decimal, job ids as 32 hex digits).
//!
//! The bridge also keeps what the REST API lists about each TaskExecutor (slots, free
//! resources, last heartbeat), which the ResourceManager's actor does not expose.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};

use crate::dispatcher::DispatcherHandle;
use crate::resource_manager::core::{TaskExecutorRegistration, TaskExecutorRegistrationResponse};
use crate::resource_manager::gateways::{SlotRequest, TaskExecutorGateway};
use crate::resource_manager::types::{
    AllocatedSlot, AllocationId, InstanceId, JobId, Resources, SlotReport, WorkerId, WorkerSpec,
};
use crate::resource_manager::{ResourceManagerHandle, core::RmError};
use crate::rpc::{self, ConnectionId, ServerEvent, TaskExecutorHandle, ToAm, ToTe};

/// A registered TaskExecutor as the REST API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskManagerInfo {
    /// Its resource id (container id).
    pub id: String,
    /// Where it connected from.
    pub path: String,
    /// Its number of slots.
    pub slots: u32,
    /// Its slots not allocated to a job.
    pub free_slots: u32,
    /// Its slot resources.
    pub total: Resources,
    /// What no allocated slot takes.
    pub free: Resources,
    /// When it last sent a heartbeat (or registered), in ms since the epoch.
    pub last_heartbeat_ms: u64,
}

/// Asks the bridge task; cheap to clone.
#[derive(Clone)]
pub struct BridgeHandle {
    tx: mpsc::UnboundedSender<BridgeMessage>,
}

impl BridgeHandle {
    /// Sends a message to a registered TaskExecutor. A deployment or cancellation that cannot be
    /// delivered (the TaskExecutor is gone) is reported back to the dispatcher as a failed or
    /// cancelled task.
    pub fn send(&self, worker: WorkerId, message: ToTe) {
        let _ = self.tx.send(BridgeMessage::Send { worker, message });
    }

    /// The registered TaskExecutors, by id; `None` once the bridge has stopped.
    pub async fn task_managers(&self) -> Option<Vec<TaskManagerInfo>> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(BridgeMessage::List { reply }).ok()?;
        rx.await.ok()
    }
}

enum GatewayCall {
    RequestSlot(SlotRequest),
    FreeInactiveSlots(JobId),
    Heartbeat,
    Disconnect(String),
}

enum BridgeMessage {
    Gateway {
        worker: WorkerId,
        call: GatewayCall,
    },
    List {
        reply: oneshot::Sender<Vec<TaskManagerInfo>>,
    },
    Send {
        worker: WorkerId,
        message: ToTe,
    },
}

/// The ResourceManager's gateway to one TaskExecutor: a mailbox entry of the bridge.
struct Gateway {
    worker: WorkerId,
    tx: mpsc::UnboundedSender<BridgeMessage>,
}

impl Gateway {
    fn call(&self, call: GatewayCall) {
        let _ = self.tx.send(BridgeMessage::Gateway {
            worker: self.worker.clone(),
            call,
        });
    }
}

impl TaskExecutorGateway for Gateway {
    fn request_slot(&self, request: SlotRequest) {
        self.call(GatewayCall::RequestSlot(request));
    }
    fn free_inactive_slots(&self, job: JobId) {
        self.call(GatewayCall::FreeInactiveSlots(job));
    }
    fn heartbeat_from_resource_manager(&self) {
        self.call(GatewayCall::Heartbeat);
    }
    fn disconnect_resource_manager(&self, cause: &str) {
        self.call(GatewayCall::Disconnect(cause.to_owned()));
    }
}

struct Registered {
    instance: InstanceId,
    slots: u32,
    total: Resources,
    /// The resources the ResourceManager gave each allocation it requested.
    allocations: HashMap<AllocationId, Resources>,
    allocated: Vec<AllocatedSlot>,
    last_heartbeat_ms: u64,
}

struct Connection {
    handle: TaskExecutorHandle,
    worker: WorkerId,
    registered: Option<Registered>,
}

/// The bridge's settings.
#[derive(Debug, Clone, Copy)]
pub struct BridgeConfig {
    /// The worker spec the ResourceManager asks for (its TaskExecutors register with it).
    pub default_worker: WorkerSpec,
    /// `heartbeat.interval`, told to TaskExecutors at registration.
    pub heartbeat_interval: Duration,
    /// `heartbeat.timeout`, told to TaskExecutors at registration.
    pub heartbeat_timeout: Duration,
}

struct Bridge {
    rm: ResourceManagerHandle,
    dispatcher: DispatcherHandle,
    config: BridgeConfig,
    connections: HashMap<ConnectionId, Connection>,
    by_worker: HashMap<WorkerId, ConnectionId>,
    tx: mpsc::UnboundedSender<BridgeMessage>,
}

/// Starts the bridge on its own task: TaskExecutor events come from `server_events`.
pub fn spawn(
    rm: ResourceManagerHandle,
    dispatcher: DispatcherHandle,
    config: BridgeConfig,
    mut server_events: mpsc::Receiver<ServerEvent>,
) -> BridgeHandle {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut bridge = Bridge {
        rm,
        dispatcher,
        config,
        connections: HashMap::new(),
        by_worker: HashMap::new(),
        tx: tx.clone(),
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                event = server_events.recv() => match event {
                    Some(event) => bridge.on_server_event(event).await,
                    None => break,
                },
                Some(message) = rx.recv() => bridge.on_message(message),
            }
        }
    });
    BridgeHandle { tx }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn from_wire(r: &rpc::Resources) -> Resources {
    Resources {
        cpu_millis: r.cpu_millis,
        task_heap: r.task_heap,
        task_off_heap: r.task_off_heap,
        managed: r.managed,
        network: r.network,
    }
}

/// A slot's resources as a TaskExecutor started with one memory figure counts them.
fn to_wire(r: &Resources) -> rpc::Resources {
    rpc::Resources::new(r.cpu_millis, r.memory())
}

impl Bridge {
    async fn on_server_event(&mut self, event: ServerEvent) {
        match event {
            ServerEvent::Connected { handle } => {
                let worker = WorkerId::new(&handle.resource_id().0);
                self.connections.insert(
                    handle.connection(),
                    Connection {
                        handle,
                        worker,
                        registered: None,
                    },
                );
            }
            ServerEvent::Message {
                connection,
                message,
                ..
            } => self.on_te_message(connection, message).await,
            ServerEvent::Disconnected {
                connection, reason, ..
            } => {
                let Some(conn) = self.connections.remove(&connection) else {
                    return;
                };
                if self.by_worker.get(&conn.worker) == Some(&connection) {
                    self.by_worker.remove(&conn.worker);
                    if conn.registered.is_some() {
                        tracing::info!(worker = %conn.worker, %reason, "TaskExecutor disconnected");
                        let _ = self.rm.disconnect_task_executor(conn.worker, reason);
                    }
                }
            }
        }
    }

    async fn on_te_message(&mut self, connection: ConnectionId, message: ToAm) {
        let Some(conn) = self.connections.get(&connection) else {
            return;
        };
        let worker = conn.worker.clone();
        let handle = conn.handle.clone();
        let registered = conn.registered.as_ref().map(|r| r.instance);
        match (message, registered) {
            (ToAm::Register(registration), _) => {
                self.register(connection, registration).await;
            }
            (_, None) => {
                let _ = handle.disconnect("not registered; register first");
            }
            (ToAm::Heartbeat { slot_report }, Some(instance)) => {
                let report = self.slot_report(connection, &slot_report);
                match self
                    .rm
                    .heartbeat_from_task_executor(worker.clone(), instance, report)
                    .await
                {
                    Ok(Ok(())) => {
                        let _ = handle.send(ToTe::HeartbeatReply);
                    }
                    Ok(Err(RmError::TaskExecutorNotRegistered { .. })) | Ok(Err(_)) => {
                        self.unregister(connection);
                        let _ = handle.disconnect("unknown to the ResourceManager; register again");
                    }
                    Err(_) => {
                        let _ = handle.disconnect("the ResourceManager has stopped");
                    }
                }
            }
            (ToAm::SlotRequestAck { allocation_id }, Some(instance)) => {
                if let Some(allocation) = parse_allocation(&allocation_id) {
                    let _ = self
                        .rm
                        .slot_request_result(worker, instance, allocation, true);
                }
            }
            (
                ToAm::SlotRequestFailed {
                    allocation_id,
                    reason,
                },
                Some(instance),
            ) => {
                tracing::info!(%worker, allocation = %allocation_id, %reason, "slot request failed");
                if let Some(allocation) = parse_allocation(&allocation_id) {
                    self.forget_allocation(connection, allocation);
                    let _ = self
                        .rm
                        .slot_request_result(worker, instance, allocation, false);
                }
            }
            (ToAm::SlotAvailable { allocation_id, .. }, Some(instance)) => {
                if let Some(allocation) = parse_allocation(&allocation_id) {
                    self.forget_allocation(connection, allocation);
                    let _ = self.rm.notify_slot_available(worker, instance, allocation);
                }
            }
            (ToAm::OfferSlots { job_id, offers }, Some(_)) => {
                self.dispatcher.offer_slots(worker, job_id, offers);
            }
            (
                ToAm::TaskStateUpdate {
                    execution_attempt_id,
                    state,
                    error,
                    ..
                },
                Some(_),
            ) => {
                self.dispatcher
                    .task_state(execution_attempt_id, state, error);
            }
        }
    }

    fn forget_allocation(&mut self, connection: ConnectionId, allocation: AllocationId) {
        if let Some(r) = self
            .connections
            .get_mut(&connection)
            .and_then(|c| c.registered.as_mut())
        {
            r.allocations.remove(&allocation);
        }
    }

    fn unregister(&mut self, connection: ConnectionId) {
        if let Some(conn) = self.connections.get_mut(&connection) {
            conn.registered = None;
        }
    }

    async fn register(&mut self, connection: ConnectionId, registration: rpc::Registration) {
        let Some(conn) = self.connections.get(&connection) else {
            return;
        };
        let handle = conn.handle.clone();
        let worker = conn.worker.clone();
        if registration.resource_id.0 != *worker.0 {
            let _ = handle.send(ToTe::RegistrationRefused {
                reason: format!(
                    "registered as {} but authenticated as {worker}",
                    registration.resource_id
                ),
            });
            return;
        }
        let spec = self.config.default_worker;
        let (total, default_slot) = if registration.number_of_slots == spec.num_slots {
            (spec.total, spec.default_slot())
        } else {
            (
                from_wire(&registration.total_resources),
                from_wire(&registration.default_slot_resources),
            )
        };
        // A re-registration over a new connection replaces the old one.
        if let Some(old) = self.by_worker.insert(worker.clone(), connection)
            && old != connection
            && let Some(old) = self.connections.get_mut(&old)
        {
            old.registered = None;
            let _ = old.handle.disconnect("replaced by a new connection");
        }
        let mut registered = Registered {
            instance: InstanceId(0),
            slots: registration.number_of_slots,
            total,
            allocations: HashMap::new(),
            allocated: Vec::new(),
            last_heartbeat_ms: now_ms(),
        };
        let slot_report = self.convert_report(&registered, &registration.slot_report);
        registered.allocated = slot_report.allocated.clone();
        let rm_registration = TaskExecutorRegistration {
            worker: worker.clone(),
            address: format!("{}@{}", registration.host, handle.peer()),
            total,
            default_slot,
            slot_report,
        };
        let gateway = Arc::new(Gateway {
            worker: worker.clone(),
            tx: self.tx.clone(),
        });
        let response = self
            .rm
            .register_task_executor(rm_registration, gateway)
            .await;
        let reply = match response {
            Ok(TaskExecutorRegistrationResponse::Success { instance }) => {
                registered.instance = instance;
                if let Some(conn) = self.connections.get_mut(&connection) {
                    conn.registered = Some(registered);
                }
                tracing::info!(%worker, instance = instance.0, "TaskExecutor registered");
                ToTe::RegistrationAccepted {
                    instance_id: rpc::InstanceId(instance.0.to_string()),
                    heartbeat_interval_ms: self.config.heartbeat_interval.as_millis() as u64,
                    heartbeat_timeout_ms: self.config.heartbeat_timeout.as_millis() as u64,
                }
            }
            Ok(TaskExecutorRegistrationResponse::Rejected { reason }) => {
                tracing::info!(%worker, %reason, "TaskExecutor registration refused");
                ToTe::RegistrationRefused { reason }
            }
            Err(_) => ToTe::RegistrationDeclined {
                reason: "the ResourceManager is not running".to_owned(),
            },
        };
        let _ = handle.send(reply);
    }

    /// A TaskExecutor's slot report in the ResourceManager's terms (allocated slots only).
    fn convert_report(&self, registered: &Registered, report: &rpc::SlotReport) -> SlotReport {
        let allocated = report
            .slots
            .iter()
            .filter_map(|slot| {
                let a = slot.allocation.as_ref()?;
                let allocation = parse_allocation(&a.allocation_id)?;
                let job = u128::from_str_radix(&a.job_id.0, 16).ok().map(JobId)?;
                let resources = registered
                    .allocations
                    .get(&allocation)
                    .copied()
                    .unwrap_or_else(|| from_wire(&slot.resources));
                Some(AllocatedSlot {
                    allocation,
                    job,
                    resources,
                })
            })
            .collect();
        SlotReport { allocated }
    }

    fn slot_report(&mut self, connection: ConnectionId, report: &rpc::SlotReport) -> SlotReport {
        let Some(registered) = self
            .connections
            .get(&connection)
            .and_then(|c| c.registered.as_ref())
        else {
            return SlotReport::default();
        };
        let converted = self.convert_report(registered, report);
        if let Some(r) = self
            .connections
            .get_mut(&connection)
            .and_then(|c| c.registered.as_mut())
        {
            r.allocated = converted.allocated.clone();
            r.last_heartbeat_ms = now_ms();
        }
        converted
    }

    fn on_message(&mut self, message: BridgeMessage) {
        match message {
            BridgeMessage::List { reply } => {
                let _ = reply.send(self.list());
            }
            BridgeMessage::Send { worker, message } => {
                let handle = self
                    .by_worker
                    .get(&worker)
                    .and_then(|c| self.connections.get(c))
                    .filter(|c| c.registered.is_some())
                    .map(|c| c.handle.clone());
                let fallback = match &message {
                    ToTe::DeployTask(task) => Some((
                        task.execution_attempt_id.clone(),
                        rpc::TaskState::Failed,
                        Some(format!("TaskExecutor {worker} is not connected")),
                    )),
                    ToTe::CancelTask {
                        execution_attempt_id,
                    } => Some((execution_attempt_id.clone(), rpc::TaskState::Canceled, None)),
                    _ => None,
                };
                let delivered = handle.is_some_and(|h| h.send(message).is_ok());
                if !delivered && let Some((execution, state, error)) = fallback {
                    self.dispatcher.task_state(execution, state, error);
                }
            }
            BridgeMessage::Gateway { worker, call } => {
                let Some(&connection) = self.by_worker.get(&worker) else {
                    return;
                };
                let Some(conn) = self.connections.get_mut(&connection) else {
                    return;
                };
                let handle = conn.handle.clone();
                match call {
                    GatewayCall::RequestSlot(request) => {
                        if let Some(r) = conn.registered.as_mut() {
                            r.allocations.insert(request.allocation, request.resources);
                        }
                        let _ = handle.send(ToTe::RequestSlot {
                            slot_index: None,
                            allocation_id: rpc::AllocationId(request.allocation.0.to_string()),
                            job_id: rpc::JobId(request.job.to_string()),
                            resources: to_wire(&request.resources),
                        });
                    }
                    GatewayCall::FreeInactiveSlots(job) => {
                        let _ = handle.send(ToTe::FreeInactiveSlots {
                            job_id: rpc::JobId(job.to_string()),
                        });
                    }
                    GatewayCall::Heartbeat => {
                        let _ = handle.send(ToTe::HeartbeatRequest);
                    }
                    GatewayCall::Disconnect(cause) => {
                        conn.registered = None;
                        let _ = handle.disconnect(cause);
                    }
                }
            }
        }
    }

    fn list(&self) -> Vec<TaskManagerInfo> {
        let mut list: Vec<TaskManagerInfo> = self
            .connections
            .values()
            .filter_map(|c| {
                let r = c.registered.as_ref()?;
                let used = r
                    .allocated
                    .iter()
                    .fold(Resources::ZERO, |sum, s| sum.plus(&s.resources));
                Some(TaskManagerInfo {
                    id: c.worker.to_string(),
                    path: format!("tcp://{}", c.handle.peer()),
                    slots: r.slots,
                    free_slots: r.slots.saturating_sub(r.allocated.len() as u32),
                    total: r.total,
                    free: r.total.minus(&used),
                    last_heartbeat_ms: r.last_heartbeat_ms,
                })
            })
            .collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        list
    }
}

fn parse_allocation(id: &rpc::AllocationId) -> Option<AllocationId> {
    match id.0.parse() {
        Ok(n) => Some(AllocationId(n)),
        Err(_) => {
            tracing::warn!(allocation = %id, "ignoring an allocation id this ApplicationMaster never gave out");
            None
        }
    }
}
