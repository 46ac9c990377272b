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

/// The resources of a slot or of a whole TaskExecutor: CPU in thousandths of a core and the memory
/// pools a slot may use, in bytes (Flink's slot resource profile, without the JVM-only parts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resources {
    pub cpu_millis: u64,
    pub task_heap: u64,
    pub task_off_heap: u64,
    pub managed: u64,
    pub network: u64,
}

impl Resources {
    /// CPU and a single memory figure (as task heap).
    pub const fn new(cpu_millis: u64, memory: u64) -> Self {
        Resources {
            cpu_millis,
            task_heap: memory,
            task_off_heap: 0,
            managed: 0,
            network: 0,
        }
    }

    /// Every quantity of `self` is at least that of `other`.
    pub fn fits(&self, other: &Resources) -> bool {
        self.cpu_millis >= other.cpu_millis
            && self.task_heap >= other.task_heap
            && self.task_off_heap >= other.task_off_heap
            && self.managed >= other.managed
            && self.network >= other.network
    }

    /// Field-wise sum (saturating).
    pub fn plus(&self, o: &Resources) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis.saturating_add(o.cpu_millis),
            task_heap: self.task_heap.saturating_add(o.task_heap),
            task_off_heap: self.task_off_heap.saturating_add(o.task_off_heap),
            managed: self.managed.saturating_add(o.managed),
            network: self.network.saturating_add(o.network),
        }
    }

    /// Field-wise difference, floored at zero.
    pub fn minus(&self, o: &Resources) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis.saturating_sub(o.cpu_millis),
            task_heap: self.task_heap.saturating_sub(o.task_heap),
            task_off_heap: self.task_off_heap.saturating_sub(o.task_off_heap),
            managed: self.managed.saturating_sub(o.managed),
            network: self.network.saturating_sub(o.network),
        }
    }

    /// Field-wise quotient (the default slot is the total divided by the number of slots).
    pub fn divided_by(&self, n: u32) -> Resources {
        let n = u64::from(n.max(1));
        Resources {
            cpu_millis: self.cpu_millis / n,
            task_heap: self.task_heap / n,
            task_off_heap: self.task_off_heap / n,
            managed: self.managed / n,
            network: self.network / n,
        }
    }
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{cpu: {}.{:03} cores, task heap: {} B, task off-heap: {} B, managed: {} B, network: {} B}}",
            self.cpu_millis / 1000,
            self.cpu_millis % 1000,
            self.task_heap,
            self.task_off_heap,
            self.managed,
            self.network
        )
    }
}

/// A slot's owner, when it has one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotAllocation {
    pub allocation_id: AllocationId,
    pub job_id: JobId,
}

/// One slot in a slot report: free (`allocation` is `None`) or allocated to a job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotStatus {
    pub slot_id: SlotId,
    pub resources: Resources,
    pub allocation: Option<SlotAllocation>,
}

/// The state of a TaskExecutor's slots: every static slot (index below the number of slots, free or
/// allocated) and every allocated dynamic slot (index from the number of slots up), in index order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotReport {
    pub slots: Vec<SlotStatus>,
}

/// What a TaskExecutor tells the ApplicationMaster when it registers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub resource_id: ResourceId,
    pub host: String,
    pub total_resources: Resources,
    pub default_slot_resources: Resources,
    pub number_of_slots: u32,
    pub slot_report: SlotReport,
}

/// An allocated slot offered to the job it was allocated for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotOffer {
    pub allocation_id: AllocationId,
    pub slot_index: u32,
    pub resources: Resources,
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

/// A task to run in an allocated slot: a process with its identity in the environment. Its
/// `Debug` form lists the environment's names only: values may be secrets (the job's token).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl fmt::Debug for TaskDeployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskDeployment")
            .field("execution_attempt_id", &self.execution_attempt_id)
            .field("allocation_id", &self.allocation_id)
            .field("job_id", &self.job_id)
            .field("vertex_name", &self.vertex_name)
            .field("subtask_index", &self.subtask_index)
            .field("parallelism", &self.parallelism)
            .field("attempt_number", &self.attempt_number)
            .field("argv", &self.argv)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// TaskExecutor -> ApplicationMaster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// A slot was freed (Flink's `notifySlotAvailable`); it shows as free in later slot reports too.
    SlotAvailable {
        allocation_id: AllocationId,
        slot_index: u32,
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToTe {
    RegistrationAccepted {
        instance_id: InstanceId,
        heartbeat_interval_ms: u64,
        heartbeat_timeout_ms: u64,
    },
    /// The ApplicationMaster will never accept this TaskExecutor (e.g. it did not start this
    /// container); the TaskExecutor exits.
    RegistrationRefused {
        reason: String,
    },
    /// Not now (e.g. the ApplicationMaster is still starting); the TaskExecutor tries again after
    /// its refused-registration delay.
    RegistrationDeclined {
        reason: String,
    },
    /// The answer to a `Heartbeat`.
    HeartbeatReply,
    /// Asks for a `Heartbeat` now (for an ApplicationMaster that drives heartbeats itself).
    HeartbeatRequest,
    /// Allocate a slot for a job; answered with `SlotRequestAck` (then `OfferSlots`) or
    /// `SlotRequestFailed`. `slot_index: Some(i)` names static slot `i` (below the number of slots;
    /// it has the default slot resources); `None` asks for a dynamic slot of exactly `resources`
    /// carved out of the unallocated resources (Flink's fine-grained `SlotID.dynamic`).
    RequestSlot {
        slot_index: Option<u32>,
        allocation_id: AllocationId,
        job_id: JobId,
        resources: Resources,
    },
    /// Free an allocated slot (its running tasks are canceled first).
    FreeSlot {
        allocation_id: AllocationId,
        cause: String,
    },
    /// Free the job's slots that no task was deployed into (the job ended or needs fewer).
    FreeInactiveSlots {
        job_id: JobId,
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
    fn debug_output_names_the_environment_without_its_values() {
        let task = TaskDeployment {
            execution_attempt_id: "e".into(),
            allocation_id: "1".into(),
            job_id: "j".into(),
            vertex_name: "v".into(),
            subtask_index: 0,
            parallelism: 1,
            attempt_number: 0,
            argv: vec!["true".into()],
            env: BTreeMap::from([("SPINDLE_JOB_TOKEN".to_owned(), "s3cr3t-token".to_owned())]),
        };
        let shown = format!("{:?}", ToTe::DeployTask(task));
        assert!(shown.contains("SPINDLE_JOB_TOKEN"), "{shown}");
        assert!(!shown.contains("s3cr3t-token"), "{shown}");
    }

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
