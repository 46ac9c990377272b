//! How the ResourceManager reaches TaskExecutors and JobMasters. A networked TaskExecutor and the
//! simulation's both implement these traits. Calls are fire-and-forget and must not block; answers
//! (a slot request's result, heartbeats) come back through the
//! [`ResourceManagerHandle`](super::actor::ResourceManagerHandle).

use super::types::{AllocationId, InstanceId, JobId, Resources, WorkerId};

/// A slot request to a TaskExecutor: allocate a dynamic slot and offer it to the job's JobMaster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRequest {
    /// The registration the request belongs to (echoed in the answer).
    pub instance: InstanceId,
    /// The allocation id chosen by the ResourceManager.
    pub allocation: AllocationId,
    /// The job.
    pub job: JobId,
    /// The slot's resources.
    pub resources: Resources,
    /// Where the job's JobMaster listens.
    pub job_master_address: String,
}

/// The ResourceManager's view of one TaskExecutor.
pub trait TaskExecutorGateway: Send + Sync + 'static {
    /// Allocates a slot; answer with `ResourceManagerHandle::slot_request_result`.
    fn request_slot(&self, request: SlotRequest);
    /// Frees the job's slots that run no task (the job ended).
    fn free_inactive_slots(&self, job: JobId);
    /// Heartbeat request; answer with `ResourceManagerHandle::heartbeat_from_task_executor`.
    fn heartbeat_from_resource_manager(&self);
    /// The ResourceManager closed the connection.
    fn disconnect_resource_manager(&self, cause: &str);
}

/// The ResourceManager's view of one JobMaster.
pub trait JobMasterGateway: Send + Sync + 'static {
    /// The job's requirements cannot be fulfilled; it holds `acquired` slots.
    fn notify_not_enough_resources(&self, acquired: u32);
    /// A TaskManager is gone; its slots are lost.
    fn disconnect_task_manager(&self, worker: &WorkerId, cause: &str);
    /// Heartbeat request; answer with `ResourceManagerHandle::heartbeat_from_job_master`.
    fn heartbeat_from_resource_manager(&self);
    /// The ResourceManager closed the connection.
    fn disconnect_resource_manager(&self, cause: &str);
}
