//! The deployment seam, as Flink's ResourceManagerDriver: the ResourceManager says "one more worker
//! of this spec", "one ask fewer", "release this worker"; the deployment (YARN, local processes, a
//! simulation) answers with events. Nothing here knows of YARN.
//!
//! Calls are fire-and-forget and must not block: a driver does its I/O beside the ResourceManager
//! and reports back through the [`DriverEventSink`] it was given, one [`DriverEvent`] at a time.

use serde::{Deserialize, Serialize};

use super::types::{WorkerId, WorkerSpec};

/// What the deployment reports back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DriverEvent {
    /// A worker of this spec was allocated (YARN: a container granted at the spec's priority). The
    /// ResourceManager matches it to its oldest ask of the spec; with none outstanding it releases
    /// the worker at once as surplus. The driver takes one outstanding ask of the spec off its own
    /// books likewise (YARN: removeContainerRequest), so both keep the same count, and starts the
    /// worker's process.
    WorkerAllocated { worker: WorkerId, spec: WorkerSpec },
    /// The deployment received a worker nobody asked for and returned it itself, never started
    /// (YARN: a container beyond the outstanding asks, released on the next heartbeat). Recorded
    /// only, so the decision log shows every surplus worker.
    SurplusReturned { worker: WorkerId },
    /// An ask could not be served (e.g. larger than the cluster's maximum container); counted as a
    /// start failure.
    WorkerRequestFailed { spec: WorkerSpec, cause: String },
    /// The worker's process was started (YARN: the NodeManager accepted the launch).
    WorkerStarted { worker: WorkerId },
    /// The worker's process ended or could not be started, with a human-readable cause.
    WorkerTerminated { worker: WorkerId, cause: String },
    /// Workers from a previous attempt of the application are still running and may re-register.
    PreviousAttemptWorkersRecovered { workers: Vec<WorkerId> },
    /// The deployment cannot go on (YARN: shutdown request or AMRM error); the process should exit.
    FatalError { message: String },
}

/// Where a driver sends its events (the ResourceManager's mailbox).
pub trait DriverEventSink: Send + Sync + 'static {
    /// Delivers one event; never blocks.
    fn send(&self, event: DriverEvent);
}

/// Final status of the application when the ResourceManager deregisters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplicationStatus {
    /// All jobs finished.
    Succeeded,
    /// The application failed.
    Failed,
    /// The application was cancelled.
    Canceled,
    /// Unknown.
    Unknown,
}

/// The deployment as the ResourceManager sees it. Implementations: YARN (elsewhere), the
/// simulation's driver.
pub trait ResourceManagerDriver: Send + 'static {
    /// Starts the driver; events go to `events`. Recovered workers of a previous attempt are
    /// reported as [`DriverEvent::PreviousAttemptWorkersRecovered`].
    fn initialize(&mut self, events: Box<dyn DriverEventSink>);
    /// Asks for one more worker of `spec`.
    fn request_worker(&mut self, spec: &WorkerSpec);
    /// Withdraws one ask of `spec` not yet granted (YARN: removeContainerRequest).
    fn cancel_request(&mut self, spec: &WorkerSpec);
    /// Stops and gives back a worker (YARN: stop the container and release it).
    fn release_worker(&mut self, worker: &WorkerId);
    /// Unregisters the application from the deployment (returning whatever is still asked).
    fn deregister_application(&mut self, status: ApplicationStatus, diagnostics: &str);
    /// Stops the driver.
    fn terminate(&mut self);
}
