//! What the ResourceManager core asks of the world. The core is synchronous and does no I/O: each
//! input returns (through `take_commands`) the calls to make on the driver, the TaskExecutors and the
//! JobMasters. The tokio actor turns them into gateway calls; the simulation into simulated effects.

use std::sync::Arc;

use super::types::{AllocationId, InstanceId, JobId, Resources, WorkerId, WorkerSpec};

/// A call on the deployment (see [`super::driver::ResourceManagerDriver`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverCommand {
    /// Ask for one more worker of this spec.
    RequestWorker { spec: WorkerSpec },
    /// Withdraw one ask of this spec that has not been granted yet.
    CancelRequest { spec: WorkerSpec },
    /// Stop and give back a worker.
    ReleaseWorker { worker: WorkerId },
}

/// A call on one TaskExecutor (see [`super::gateways::TaskExecutorGateway`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskExecutorCommand {
    /// Allocate a dynamic slot of these resources for a job and offer it to the job's JobMaster;
    /// answer with `slot_request_result`.
    RequestSlot {
        instance: InstanceId,
        allocation: AllocationId,
        job: JobId,
        resources: Resources,
        job_master_address: Arc<str>,
    },
    /// Free the slots of this job that hold no running task (the job ended).
    FreeInactiveSlots { job: JobId },
    /// Send a heartbeat with the current slot report.
    Heartbeat,
    /// The ResourceManager closed the connection; do not re-register.
    Disconnect { cause: String },
}

/// A call on one JobMaster (see [`super::gateways::JobMasterGateway`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobMasterCommand {
    /// The requirements cannot be fulfilled; `acquired` slots are held.
    NotEnoughResources { acquired: u32 },
    /// A TaskManager the job may use is gone.
    TaskManagerLost { worker: WorkerId, cause: String },
    /// Send a heartbeat.
    Heartbeat,
    /// The ResourceManager closed the connection.
    Disconnect { cause: String },
}

/// One output of the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// To the deployment.
    Driver(DriverCommand),
    /// To a TaskExecutor.
    TaskExecutor {
        worker: WorkerId,
        command: TaskExecutorCommand,
    },
    /// To a JobMaster.
    JobMaster {
        job: JobId,
        command: JobMasterCommand,
    },
}
