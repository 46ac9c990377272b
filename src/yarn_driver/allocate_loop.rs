//! The allocate loop: the one task that owns the [`AmRmClient`]. It takes the ResourceManager's
//! commands, heartbeats the YARN ResourceManager at the pace the asks call for, turns the answers
//! into driver events, and runs NodeManager calls beside itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use yarn::amrm::{AmRmClient, AmRmError, ContainerRequest, Registration};
use yarn::nm::NmClient;
use yarn::proto::hadoop::yarn::{ContainerProto, FinalApplicationStatusProto};
use yarn::records::{ContainerId, NodeId, Resource};

use super::exit::termination_cause;
use super::launch::TaskExecutorLaunch;
use super::{DriverOutcome, DriverStatus, LoopCommand, YarnDriverConfig};
use crate::resource_manager::driver::{ApplicationStatus, DriverEvent, DriverEventSink};
use crate::resource_manager::types::{WorkerId, WorkerSpec};

/// Consecutive failed allocate calls (lost connection, timeout) tolerated before the driver gives
/// up: the RPC client reconnects on the next call, so one blip must not end the application.
const MAX_CONSECUTIVE_ALLOCATE_FAILURES: u32 = 3;

/// How long an unregistration waits for the NodeManagers to stop the containers first.
const STOP_ON_EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything the loop needs, gathered before the ResourceManager initializes the driver.
pub(super) struct Start {
    pub am: AmRmClient,
    pub registration: Registration,
    pub nm: NmClient,
    pub launch: TaskExecutorLaunch,
    pub config: YarnDriverConfig,
    pub commands: mpsc::UnboundedReceiver<LoopCommand>,
    pub status: watch::Sender<DriverStatus>,
    pub done: oneshot::Sender<DriverOutcome>,
}

/// A launch attempt's outcome, sent back to the loop.
struct Launched {
    container: ContainerId,
    result: Result<(), String>,
}

struct Loop {
    am: AmRmClient,
    nm: NmClient,
    launch: Arc<TaskExecutorLaunch>,
    config: YarnDriverConfig,
    events: Box<dyn DriverEventSink>,
    max_capability: Resource,
    priorities: BTreeMap<WorkerSpec, i32>,
    specs: HashMap<i32, WorkerSpec>,
    /// Asks per priority not yet granted, on the driver's books; must equal the client's table.
    pending: BTreeMap<i32, u32>,
    containers: HashMap<ContainerId, NodeId>,
    launched_tx: mpsc::UnboundedSender<Launched>,
    stops: JoinSet<()>,
    status: watch::Sender<DriverStatus>,
    surplus_released: u64,
    allocate_calls: u64,
    interval: Duration,
    failures: u32,
    /// Set once the driver has failed fatally: no more allocate calls.
    fatal: Option<String>,
    /// Set once unregistered: no more allocate calls.
    unregistered: bool,
}

impl Start {
    pub(super) async fn run(self, events: Box<dyn DriverEventSink>) {
        let Start {
            am,
            registration,
            nm,
            launch,
            config,
            mut commands,
            status,
            done,
        } = self;
        let (launched_tx, mut launched_rx) = mpsc::unbounded_channel();
        let mut lp = Loop {
            am,
            nm,
            launch: Arc::new(launch),
            config,
            events,
            max_capability: registration.maximum_capability,
            priorities: BTreeMap::new(),
            specs: HashMap::new(),
            pending: BTreeMap::new(),
            containers: HashMap::new(),
            launched_tx,
            stops: JoinSet::new(),
            status,
            surplus_released: 0,
            allocate_calls: 0,
            interval: config.heartbeat,
            failures: 0,
            fatal: None,
            unregistered: false,
        };
        lp.recover(&registration.containers_from_previous_attempts);
        let mut outcome = None;
        let mut next_heartbeat = Instant::now();
        let mut hurried = false;
        loop {
            let heartbeat_due = lp.fatal.is_none() && !lp.unregistered;
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    None | Some(LoopCommand::Terminate) => break,
                    Some(LoopCommand::Deregister(status, diagnostics)) => {
                        outcome = Some(lp.deregister(status, &diagnostics).await);
                    }
                    Some(command) => {
                        lp.handle(command);
                        if lp.pending_total() > 0 {
                            // A new ask should not wait out a slow heartbeat.
                            next_heartbeat = next_heartbeat.min(Instant::now() + lp.config.request_heartbeat);
                        }
                    }
                },
                Some(launched) = launched_rx.recv() => lp.on_launched(launched),
                _ = tokio::time::sleep_until(next_heartbeat), if heartbeat_due => {
                    lp.heartbeat().await;
                    // Surplus containers go back at once rather than a heartbeat later: an
                    // allocation the application will not use should not be held at all. Only
                    // one such extra call per heartbeat, so a failing call does not spin.
                    hurried = lp.am.pending_releases() > 0 && !hurried;
                    next_heartbeat = if hurried {
                        Instant::now()
                    } else {
                        Instant::now() + lp.interval
                    };
                }
            }
            lp.publish();
        }
        let outcome = match (outcome, lp.fatal.clone()) {
            (Some(outcome), _) => outcome,
            (None, None) => Ok(()),
            (None, Some(message)) => {
                // The ResourceManager stops without unregistering after a fatal driver error; the
                // attempt still owes YARN a final status.
                let finished = lp
                    .am
                    .finish(FinalApplicationStatusProto::AppFailed, &message, "")
                    .await;
                if let Err(e) = finished {
                    tracing::error!(%e, "could not unregister the failed application");
                }
                Err(message)
            }
        };
        let _ = done.send(outcome);
    }
}

impl Loop {
    fn pending_total(&self) -> u32 {
        self.pending.values().sum()
    }

    fn publish(&self) {
        let status = DriverStatus {
            allocate_calls: self.allocate_calls,
            interval: self.interval,
            pending_asks: self.pending_total(),
            priorities: self.priorities.iter().map(|(s, p)| (*s, *p)).collect(),
            surplus_released: self.surplus_released,
            containers: self.containers.len(),
        };
        self.status.send_if_modified(|old| {
            let changed = *old != status;
            *old = status;
            changed
        });
    }

    fn fail(&mut self, message: String) {
        if self.fatal.is_none() {
            tracing::error!(%message, "the YARN driver cannot go on");
            self.fatal = Some(message.clone());
            self.events.send(DriverEvent::FatalError { message });
        }
    }

    fn recover(&mut self, previous: &[ContainerProto]) {
        let mut workers = Vec::new();
        for container in previous {
            let id = container.id.as_ref().map(ContainerId::try_from);
            let node = container.node_id.as_ref().map(NodeId::try_from);
            match (id, node) {
                (Some(Ok(id)), Some(Ok(node))) => {
                    self.containers.insert(id, node);
                    workers.push(WorkerId::new(id.to_string()));
                }
                _ => tracing::warn!(
                    "ignoring a container from a previous attempt without a valid id or node"
                ),
            }
        }
        if !workers.is_empty() {
            tracing::info!(
                count = workers.len(),
                "recovered containers from previous attempts"
            );
            self.events
                .send(DriverEvent::PreviousAttemptWorkersRecovered { workers });
        }
    }

    fn resource_of(spec: &WorkerSpec) -> Resource {
        Resource::new(
            i64::try_from(spec.container.memory_mb).unwrap_or(i64::MAX),
            i32::try_from(spec.container.vcores).unwrap_or(i32::MAX),
        )
    }

    fn priority_of(&mut self, spec: &WorkerSpec) -> i32 {
        if let Some(p) = self.priorities.get(spec) {
            return *p;
        }
        let p = self.priorities.len() as i32 + 1;
        self.priorities.insert(*spec, p);
        self.specs.insert(p, *spec);
        p
    }

    fn handle(&mut self, command: LoopCommand) {
        match command {
            LoopCommand::Request(spec) => self.request(spec),
            LoopCommand::Cancel(spec) => self.cancel(spec),
            LoopCommand::Release(worker) => self.release(&worker),
            LoopCommand::Deregister(..) | LoopCommand::Terminate => {
                unreachable!("handled by the loop")
            }
        }
    }

    fn request(&mut self, spec: WorkerSpec) {
        let resource = Self::resource_of(&spec);
        if !resource.fits_in(&self.max_capability) {
            let cause = format!(
                "the TaskManager container ({resource}) is larger than the largest container the \
                 YARN cluster grants ({}); lower taskmanager.memory.process.size or the vcores, or \
                 raise yarn.scheduler.maximum-allocation-mb/-vcores",
                self.max_capability
            );
            tracing::warn!(%cause, "not asking for a container");
            self.events
                .send(DriverEvent::WorkerRequestFailed { spec, cause });
            return;
        }
        let priority = self.priority_of(&spec);
        if let Err(e) = self
            .am
            .add_request(&ContainerRequest::new(priority, resource))
        {
            self.events.send(DriverEvent::WorkerRequestFailed {
                spec,
                cause: e.to_string(),
            });
            return;
        }
        *self.pending.entry(priority).or_default() += 1;
        tracing::info!(%resource, priority, "requesting a TaskExecutor container");
    }

    fn cancel(&mut self, spec: WorkerSpec) {
        let Some(&priority) = self.priorities.get(&spec) else {
            return;
        };
        let pending = self.pending.entry(priority).or_default();
        if *pending == 0 {
            // Granted in the meantime: the ResourceManager will release the worker as surplus.
            tracing::debug!(priority, "nothing left to withdraw");
            return;
        }
        *pending -= 1;
        let request = ContainerRequest::new(priority, Self::resource_of(&spec));
        if let Err(e) = self.am.remove_request(&request) {
            self.fail(format!(
                "the container asks of priority {priority} have diverged from the driver's books: {e}"
            ));
            return;
        }
        tracing::info!(priority, "withdrew a pending container request");
    }

    fn release(&mut self, worker: &WorkerId) {
        let id: ContainerId = match worker.0.parse() {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(%worker, %e, "asked to release a worker that is not a container");
                return;
            }
        };
        self.am.release(id);
        if let Some(node) = self.containers.remove(&id) {
            tracing::info!(container = %id, "stopping and releasing a TaskExecutor container");
            self.spawn_stop(id, node);
        }
    }

    fn spawn_stop(&mut self, id: ContainerId, node: NodeId) {
        if let Some(token) = self.am.nm_token(&node) {
            self.nm.set_token(node.clone(), token.clone());
        }
        let nm = self.nm.clone();
        self.stops.spawn(async move {
            if let Err(e) = nm.stop_container(&id, &node).await {
                tracing::warn!(container = %id, %e, "the NodeManager did not stop the container");
            }
        });
    }

    async fn heartbeat(&mut self) {
        self.allocate_calls += 1;
        let allocation = match self.am.allocate(1.0).await {
            Ok(allocation) => allocation,
            Err(AmRmError::ShutdownRequested) => {
                self.fail("Received shutdown request from YARN ResourceManager.".to_owned());
                return;
            }
            Err(AmRmError::Rpc(e))
                if e.is_retriable() && self.failures + 1 < MAX_CONSECUTIVE_ALLOCATE_FAILURES =>
            {
                self.failures += 1;
                tracing::warn!(%e, failures = self.failures, "allocate call failed; retrying");
                return;
            }
            Err(e) => {
                self.fail(format!(
                    "the YARN ResourceManager's allocate call failed: {e}"
                ));
                return;
            }
        };
        self.failures = 0;
        for (node, token) in allocation.nm_tokens {
            self.nm.set_token(node, token);
        }
        for container in &allocation.surplus {
            self.surplus_released += 1;
            let id = container
                .id
                .as_ref()
                .and_then(|c| ContainerId::try_from(c).ok());
            tracing::info!(
                container = ?id.map(|c| c.to_string()),
                priority = container.priority.and_then(|p| p.priority),
                "returned a surplus container without launching it"
            );
            if let Some(id) = id {
                self.events.send(DriverEvent::SurplusReturned {
                    worker: WorkerId::new(id.to_string()),
                });
            }
        }
        let accepted = allocation.allocated.len();
        for container in allocation.allocated {
            self.on_allocated(container);
        }
        for status in &allocation.completed {
            let Some(id) = status
                .container_id
                .as_ref()
                .and_then(|c| ContainerId::try_from(c).ok())
            else {
                continue;
            };
            if self.containers.remove(&id).is_some() {
                let cause = termination_cause(status);
                tracing::info!(container = %id, %cause, "TaskExecutor container completed");
                self.events.send(DriverEvent::WorkerTerminated {
                    worker: WorkerId::new(id.to_string()),
                    cause,
                });
            }
        }
        self.check_books();
        self.interval = self
            .am
            .heartbeat_interval(self.config.request_heartbeat, self.config.heartbeat);
        if accepted > 0 || !allocation.surplus.is_empty() {
            tracing::info!(
                accepted,
                surplus = allocation.surplus.len(),
                pending = self.pending_total(),
                "allocated containers"
            );
        }
    }

    fn on_allocated(&mut self, container: ContainerProto) {
        let id = match container.id.as_ref().map(ContainerId::try_from) {
            Some(Ok(id)) => id,
            _ => {
                self.fail("YARN granted a container without a valid id".to_owned());
                return;
            }
        };
        let node = match container.node_id.as_ref().map(NodeId::try_from) {
            Some(Ok(node)) => node,
            _ => {
                self.am.release(id);
                tracing::warn!(container = %id, "released a granted container without a node");
                return;
            }
        };
        let priority = container.priority.and_then(|p| p.priority).unwrap_or(0);
        let spec = match (self.specs.get(&priority), self.pending.get_mut(&priority)) {
            (Some(spec), Some(pending)) if *pending > 0 => {
                *pending -= 1;
                *spec
            }
            _ => {
                self.fail(format!(
                    "YARN granted container {id} at priority {priority}, which the driver has no \
                     pending ask for: the asks have diverged"
                ));
                return;
            }
        };
        self.containers.insert(id, node);
        self.events.send(DriverEvent::WorkerAllocated {
            worker: WorkerId::new(id.to_string()),
            spec,
        });
        let (nm, launch, tx) = (
            self.nm.clone(),
            self.launch.clone(),
            self.launched_tx.clone(),
        );
        tokio::spawn(async move {
            let context = launch.context(&spec);
            let result = nm
                .start_container(&container, context)
                .await
                .map_err(|e| e.to_string());
            let _ = tx.send(Launched {
                container: id,
                result,
            });
        });
    }

    fn on_launched(&mut self, launched: Launched) {
        let id = launched.container;
        if !self.containers.contains_key(&id) {
            return;
        }
        let worker = WorkerId::new(id.to_string());
        match launched.result {
            Ok(()) => {
                tracing::info!(container = %id, "TaskExecutor container started");
                self.events.send(DriverEvent::WorkerStarted { worker });
            }
            Err(e) => {
                self.containers.remove(&id);
                self.am.release(id);
                let cause = format!("Could not start the TaskExecutor in container {id}: {e}");
                tracing::warn!(%cause);
                self.events
                    .send(DriverEvent::WorkerTerminated { worker, cause });
            }
        }
    }

    /// The driver's pending asks and the client's table must agree per priority (Flink's
    /// consistency check); a difference means containers would be asked for twice or never.
    fn check_books(&mut self) {
        let diverged = self.pending.iter().find_map(|(&priority, &ours)| {
            let key = self.am.asks().key_for(priority, -1);
            let theirs = self.am.asks().outstanding(key).max(0) as u32;
            (theirs != ours).then_some((priority, ours, theirs))
        });
        if let Some((priority, ours, theirs)) = diverged {
            self.fail(format!(
                "the container asks of priority {priority} have diverged: the driver expects \
                 {ours} pending, the ask table holds {theirs}"
            ));
        }
    }

    async fn deregister(&mut self, status: ApplicationStatus, diagnostics: &str) -> DriverOutcome {
        let containers: Vec<(ContainerId, NodeId)> = self.containers.drain().collect();
        for (id, node) in containers {
            self.am.release(id);
            self.spawn_stop(id, node);
        }
        let stops = &mut self.stops;
        if tokio::time::timeout(STOP_ON_EXIT_TIMEOUT, async {
            while stops.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            tracing::warn!("some containers were not confirmed stopped; YARN will kill them");
        }
        let final_status = match status {
            ApplicationStatus::Succeeded => FinalApplicationStatusProto::AppSucceeded,
            ApplicationStatus::Failed => FinalApplicationStatusProto::AppFailed,
            ApplicationStatus::Canceled => FinalApplicationStatusProto::AppKilled,
            ApplicationStatus::Unknown => FinalApplicationStatusProto::AppUndefined,
        };
        self.unregistered = true;
        tracing::info!(?final_status, %diagnostics, "unregistering the application");
        self.am
            .finish(final_status, diagnostics, "")
            .await
            .map_err(|e| format!("could not unregister from the YARN ResourceManager: {e}"))
    }
}
