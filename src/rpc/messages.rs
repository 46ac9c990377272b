//! The messages of the ApplicationMaster <-> TaskExecutor protocol, after authentication.
//!
//! These are the calls Flink's TaskExecutor makes on its ResourceManager and JobMaster gateways
//! (register, heartbeat with slot report, slot offers, task state updates) and the calls they make on
//! the TaskExecutor (request slot, free slot, submit task, cancel task, disconnect), as plain data.
//! In spindle the ResourceManager and the JobMasters live in the same ApplicationMaster process, so
//! both directions share one connection. Each message is one JSON object tagged by `"type"`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Version of this message set; checked in the handshake.
pub const PROTOCOL_VERSION: u32 = 1;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }
    };
}

string_id!(
    /// A TaskExecutor's identity: its YARN container id.
    ResourceId
);
string_id!(
    /// Identifies one accepted registration of a TaskExecutor (a fresh one per registration).
    InstanceId
);
string_id!(
    /// Identifies one allocation of a slot to a job.
    AllocationId
);
string_id!(
    /// Identifies a job.
    JobId
);
string_id!(
    /// Identifies one execution attempt of one subtask.
    ExecutionAttemptId
);

/// A slot: the TaskExecutor that holds it and its index there.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SlotId {
    pub resource_id: ResourceId,
    pub slot_index: u32,
}

impl fmt::Display for SlotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.resource_id, self.slot_index)
    }
}

/// The resources of a slot or of a whole TaskExecutor.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceProfile {
    pub cpu_cores: f64,
    pub memory_mb: u64,
}

/// A slot's owner, when it has one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotAllocation {
    pub allocation_id: AllocationId,
    pub job_id: JobId,
}

/// One slot in a slot report: free (`allocation` is `None`) or allocated to a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlotStatus {
    pub slot_id: SlotId,
    pub resource_profile: ResourceProfile,
    pub allocation: Option<SlotAllocation>,
}

/// The state of every slot of a TaskExecutor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlotReport {
    pub slots: Vec<SlotStatus>,
}

/// What a TaskExecutor tells the ApplicationMaster when it registers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    pub resource_id: ResourceId,
    pub host: String,
    pub total_resources: ResourceProfile,
    pub default_slot_profile: ResourceProfile,
    pub number_of_slots: u32,
    pub slot_report: SlotReport,
}

/// An allocated slot offered to the job it was allocated for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlotOffer {
    pub allocation_id: AllocationId,
    pub slot_index: u32,
    pub resource_profile: ResourceProfile,
}

/// The states a task reports, as Flink's ExecutionState names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskState {
    Running,
    Finished,
    Failed,
    Canceled,
}

impl TaskState {
    /// Whether the task has ended in this state.
    pub fn is_terminal(self) -> bool {
        !matches!(self, TaskState::Running)
    }
}

/// A task to run in an allocated slot: a process with its identity in the environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskDeployment {
    pub execution_attempt_id: ExecutionAttemptId,
    pub allocation_id: AllocationId,
    pub job_id: JobId,
    pub vertex_name: String,
    pub subtask_index: u32,
    pub parallelism: u32,
    pub attempt_number: u32,
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
}

/// TaskExecutor -> ApplicationMaster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToAm {
    /// Register this TaskExecutor and its slots.
    Register(Registration),
    /// Sent every heartbeat interval with the current slot report; answered with `HeartbeatReply`.
    /// A TaskExecutor that hears nothing from the ApplicationMaster for the heartbeat timeout gives up.
    Heartbeat { slot_report: SlotReport },
    /// The slot asked for with `RequestSlot` is allocated.
    SlotRequestAck { allocation_id: AllocationId },
    /// The slot asked for with `RequestSlot` could not be allocated.
    SlotRequestFailed {
        allocation_id: AllocationId,
        reason: String,
    },
    /// Slots allocated for a job, offered to that job's JobMaster.
    OfferSlots {
        job_id: JobId,
        offers: Vec<SlotOffer>,
    },
    /// A task changed state. `exit_code` is set when the process ended with one; `error` carries
    /// the reason of a failure (with the tail of the task's stderr).
    TaskStateUpdate {
        execution_attempt_id: ExecutionAttemptId,
        state: TaskState,
        exit_code: Option<i32>,
        error: Option<String>,
    },
}

/// ApplicationMaster -> TaskExecutor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToTe {
    RegistrationAccepted {
        instance_id: InstanceId,
        heartbeat_interval_ms: u64,
        heartbeat_timeout_ms: u64,
    },
    RegistrationRefused {
        reason: String,
    },
    HeartbeatReply,
    /// Allocate a slot for a job; answered with `SlotRequestAck` or `SlotRequestFailed`.
    RequestSlot {
        slot_id: SlotId,
        allocation_id: AllocationId,
        job_id: JobId,
        resource_profile: ResourceProfile,
    },
    /// Free an allocated slot (its running tasks are canceled first).
    FreeSlot {
        allocation_id: AllocationId,
        cause: String,
    },
    DeployTask(TaskDeployment),
    CancelTask {
        execution_attempt_id: ExecutionAttemptId,
    },
    /// The ApplicationMaster closes the connection.
    Disconnect {
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape_is_tagged_json() {
        let msg = ToTe::CancelTask {
            execution_attempt_id: "e1".into(),
        };
        assert_eq!(
            serde_json::to_string(&msg).unwrap(),
            r#"{"type":"cancel_task","execution_attempt_id":"e1"}"#
        );
        let update = ToAm::TaskStateUpdate {
            execution_attempt_id: "e1".into(),
            state: TaskState::Finished,
            exit_code: Some(0),
            error: None,
        };
        let json = serde_json::to_string(&update).unwrap();
        assert!(json.contains(r#""state":"FINISHED""#), "{json}");
        assert_eq!(serde_json::from_str::<ToAm>(&json).unwrap(), update);
    }
}
