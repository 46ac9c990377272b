//! Containers as the ResourceManager hands them out and reports them back: the allocated container,
//! its state and status, and YARN's exit statuses with a classification an ApplicationMaster can act on
//! (was it preempted, killed by YARN, out of memory, or did the process itself fail?).

use std::fmt;

use crate::credentials::Token;
use crate::proto::hadoop::yarn as pb;
use crate::records::{ContainerId, NodeId, Priority, RecordError, Resource};

/// YARN's exit statuses (`ContainerExitStatus`). Anything else is the process's own exit code.
pub mod exit_status {
    /// The process exited with 0.
    pub const SUCCESS: i32 = 0;
    /// No exit status yet (the protobuf default).
    pub const INVALID: i32 = -1000;
    /// Released by the ApplicationMaster, or lost before it started.
    pub const ABORTED: i32 = -100;
    /// The NodeManager's disks went bad.
    pub const DISKS_FAILED: i32 = -101;
    /// Preempted by the scheduler.
    pub const PREEMPTED: i32 = -102;
    /// Killed for using more virtual memory than allowed.
    pub const KILLED_EXCEEDED_VMEM: i32 = -103;
    /// Killed for using more physical memory than allowed.
    pub const KILLED_EXCEEDED_PMEM: i32 = -104;
    /// Stopped at the ApplicationMaster's request.
    pub const KILLED_BY_APPMASTER: i32 = -105;
    /// Killed by the ResourceManager (e.g. the attempt ended).
    pub const KILLED_BY_RESOURCEMANAGER: i32 = -106;
    /// Killed because the application had finished.
    pub const KILLED_AFTER_APP_COMPLETION: i32 = -107;
    /// Killed by the NodeManager's container scheduler (opportunistic containers).
    pub const KILLED_BY_CONTAINER_SCHEDULER: i32 = -108;
    /// Killed for writing too much log.
    pub const KILLED_FOR_EXCESS_LOGS: i32 = -109;
}

/// What an exit status means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerExit {
    /// Exit code 0.
    Success,
    /// No exit status yet.
    Invalid,
    /// Released by the AM, or lost before it started.
    Aborted,
    /// The node's disks failed.
    DisksFailed,
    /// Preempted by the scheduler.
    Preempted,
    /// Killed for exceeding its memory limit (`physical` false: the virtual memory limit).
    MemoryExceeded {
        /// Whether the physical (true) or the virtual (false) limit was exceeded.
        physical: bool,
    },
    /// Stopped at the ApplicationMaster's request.
    KilledByAppMaster,
    /// Killed by the ResourceManager.
    KilledByResourceManager,
    /// Killed because the application had finished.
    KilledAfterAppCompletion,
    /// Killed by the NodeManager's container scheduler.
    KilledByContainerScheduler,
    /// Killed for writing too much log.
    KilledForExcessLogs,
    /// The process's own non-zero exit code (137: SIGKILL, 143: SIGTERM).
    ExitCode(i32),
}

impl ContainerExit {
    /// Classifies an exit status.
    pub fn from_status(status: i32) -> ContainerExit {
        use exit_status::*;
        match status {
            SUCCESS => ContainerExit::Success,
            INVALID => ContainerExit::Invalid,
            ABORTED => ContainerExit::Aborted,
            DISKS_FAILED => ContainerExit::DisksFailed,
            PREEMPTED => ContainerExit::Preempted,
            KILLED_EXCEEDED_VMEM => ContainerExit::MemoryExceeded { physical: false },
            KILLED_EXCEEDED_PMEM => ContainerExit::MemoryExceeded { physical: true },
            KILLED_BY_APPMASTER => ContainerExit::KilledByAppMaster,
            KILLED_BY_RESOURCEMANAGER => ContainerExit::KilledByResourceManager,
            KILLED_AFTER_APP_COMPLETION => ContainerExit::KilledAfterAppCompletion,
            KILLED_BY_CONTAINER_SCHEDULER => ContainerExit::KilledByContainerScheduler,
            KILLED_FOR_EXCESS_LOGS => ContainerExit::KilledForExcessLogs,
            code => ContainerExit::ExitCode(code),
        }
    }

    /// The exit status number.
    pub fn status(self) -> i32 {
        use exit_status::*;
        match self {
            ContainerExit::Success => SUCCESS,
            ContainerExit::Invalid => INVALID,
            ContainerExit::Aborted => ABORTED,
            ContainerExit::DisksFailed => DISKS_FAILED,
            ContainerExit::Preempted => PREEMPTED,
            ContainerExit::MemoryExceeded { physical: false } => KILLED_EXCEEDED_VMEM,
            ContainerExit::MemoryExceeded { physical: true } => KILLED_EXCEEDED_PMEM,
            ContainerExit::KilledByAppMaster => KILLED_BY_APPMASTER,
            ContainerExit::KilledByResourceManager => KILLED_BY_RESOURCEMANAGER,
            ContainerExit::KilledAfterAppCompletion => KILLED_AFTER_APP_COMPLETION,
            ContainerExit::KilledByContainerScheduler => KILLED_BY_CONTAINER_SCHEDULER,
            ContainerExit::KilledForExcessLogs => KILLED_FOR_EXCESS_LOGS,
            ContainerExit::ExitCode(code) => code,
        }
    }

    /// Whether the cluster, not the application's process, ended the container: preemption, failed
    /// disks, aborts, and kills by the ResourceManager or the NodeManager's scheduler. Such exits are
    /// usually not counted against the application.
    pub fn is_caused_by_cluster(self) -> bool {
        matches!(
            self,
            ContainerExit::Aborted
                | ContainerExit::DisksFailed
                | ContainerExit::Preempted
                | ContainerExit::KilledByResourceManager
                | ContainerExit::KilledAfterAppCompletion
                | ContainerExit::KilledByContainerScheduler
        )
    }
}

impl fmt::Display for ContainerExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContainerExit::Success => f.write_str("succeeded"),
            ContainerExit::Invalid => f.write_str("no exit status"),
            ContainerExit::Aborted => f.write_str("aborted (released or lost)"),
            ContainerExit::DisksFailed => f.write_str("the node's disks failed"),
            ContainerExit::Preempted => f.write_str("preempted"),
            ContainerExit::MemoryExceeded { physical: true } => {
                f.write_str("killed: physical memory limit exceeded")
            }
            ContainerExit::MemoryExceeded { physical: false } => {
                f.write_str("killed: virtual memory limit exceeded")
            }
            ContainerExit::KilledByAppMaster => f.write_str("stopped by the ApplicationMaster"),
            ContainerExit::KilledByResourceManager => f.write_str("killed by the ResourceManager"),
            ContainerExit::KilledAfterAppCompletion => {
                f.write_str("killed after the application completed")
            }
            ContainerExit::KilledByContainerScheduler => {
                f.write_str("killed by the NodeManager's container scheduler")
            }
            ContainerExit::KilledForExcessLogs => f.write_str("killed for excess logs"),
            ContainerExit::ExitCode(137) => f.write_str("exit code 137 (SIGKILL)"),
            ContainerExit::ExitCode(143) => f.write_str("exit code 143 (SIGTERM)"),
            ContainerExit::ExitCode(code) => write!(f, "exit code {code}"),
        }
    }
}

/// A container's lifecycle state as the NodeManager reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerState {
    /// Accepted, not yet running.
    New,
    /// Running (or localizing).
    Running,
    /// Finished; the exit status is final.
    Complete,
}

impl From<ContainerState> for pb::ContainerStateProto {
    fn from(s: ContainerState) -> Self {
        match s {
            ContainerState::New => pb::ContainerStateProto::CNew,
            ContainerState::Running => pb::ContainerStateProto::CRunning,
            ContainerState::Complete => pb::ContainerStateProto::CComplete,
        }
    }
}

impl From<pb::ContainerStateProto> for ContainerState {
    fn from(s: pb::ContainerStateProto) -> Self {
        match s {
            pb::ContainerStateProto::CNew => ContainerState::New,
            pb::ContainerStateProto::CRunning => ContainerState::Running,
            pb::ContainerStateProto::CComplete => ContainerState::Complete,
        }
    }
}

/// Whether a container may be taken back for a more urgent guaranteed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExecutionType {
    /// Runs once started; the default.
    #[default]
    Guaranteed,
    /// May queue at the NodeManager and be killed for guaranteed work.
    Opportunistic,
}

impl From<ExecutionType> for pb::ExecutionTypeProto {
    fn from(e: ExecutionType) -> Self {
        match e {
            ExecutionType::Guaranteed => pb::ExecutionTypeProto::Guaranteed,
            ExecutionType::Opportunistic => pb::ExecutionTypeProto::Opportunistic,
        }
    }
}

impl From<pb::ExecutionTypeProto> for ExecutionType {
    fn from(e: pb::ExecutionTypeProto) -> Self {
        match e {
            pb::ExecutionTypeProto::Guaranteed => ExecutionType::Guaranteed,
            pb::ExecutionTypeProto::Opportunistic => ExecutionType::Opportunistic,
        }
    }
}

/// A container's state and exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStatus {
    /// The container.
    pub container_id: ContainerId,
    /// Its state.
    pub state: ContainerState,
    /// Free text from YARN (why it ended); `"N/A"` when YARN has nothing to say.
    pub diagnostics: String,
    /// The exit status ([`exit_status::INVALID`] until complete).
    pub exit_status: i32,
    /// The container's resource, when reported.
    pub capability: Option<Resource>,
}

impl ContainerStatus {
    /// What the exit status means.
    pub fn exit(&self) -> ContainerExit {
        ContainerExit::from_status(self.exit_status)
    }
}

impl TryFrom<&pb::ContainerStatusProto> for ContainerStatus {
    type Error = RecordError;
    fn try_from(p: &pb::ContainerStatusProto) -> Result<Self, RecordError> {
        let id = p
            .container_id
            .as_ref()
            .ok_or(RecordError::missing("ContainerStatusProto", "container_id"))?;
        let state = match p.state {
            None => return Err(RecordError::missing("ContainerStatusProto", "state")),
            Some(v) => {
                pb::ContainerStateProto::try_from(v).map_err(|_| RecordError::UnknownEnumValue {
                    record: "ContainerStatusProto",
                    field: "state",
                    value: v,
                })?
            }
        };
        Ok(ContainerStatus {
            container_id: id.try_into()?,
            state: state.into(),
            diagnostics: p.diagnostics().to_owned(),
            exit_status: p.exit_status(),
            capability: p.capability.as_ref().map(Resource::from),
        })
    }
}

impl From<&ContainerStatus> for pb::ContainerStatusProto {
    fn from(s: &ContainerStatus) -> Self {
        pb::ContainerStatusProto {
            container_id: Some(s.container_id.into()),
            state: Some(pb::ContainerStateProto::from(s.state) as i32),
            diagnostics: Some(s.diagnostics.clone()),
            exit_status: Some(s.exit_status),
            capability: s.capability.map(Into::into),
            ..Default::default()
        }
    }
}

/// A container the ResourceManager allocated: where it is, how big, and the token the NodeManager
/// wants to see before starting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The container.
    pub id: ContainerId,
    /// The NodeManager's RPC address.
    pub node_id: NodeId,
    /// The NodeManager's web address (`host:port`).
    pub node_http_address: String,
    /// The resource granted (may exceed the ask after normalization).
    pub resource: Resource,
    /// The priority of the ask it satisfies.
    pub priority: Priority,
    /// The container token (kind `ContainerToken`), to pass unchanged in a start request.
    pub container_token: Option<Token>,
    /// The allocation request id of the ask it satisfies (-1 when the ask had none).
    pub allocation_request_id: i64,
    /// Guaranteed or opportunistic.
    pub execution_type: ExecutionType,
    /// Bumped by container updates (resizes, promotions).
    pub version: i32,
}

impl TryFrom<&pb::ContainerProto> for Container {
    type Error = RecordError;
    fn try_from(p: &pb::ContainerProto) -> Result<Self, RecordError> {
        let id =
            p.id.as_ref()
                .ok_or(RecordError::missing("ContainerProto", "id"))?;
        let node = p
            .node_id
            .as_ref()
            .ok_or(RecordError::missing("ContainerProto", "nodeId"))?;
        Ok(Container {
            id: id.try_into()?,
            node_id: node.try_into()?,
            node_http_address: p.node_http_address().to_owned(),
            resource: p.resource.as_ref().map(Resource::from).unwrap_or_default(),
            priority: p.priority.as_ref().map(Priority::from).unwrap_or_default(),
            container_token: p.container_token.as_ref().map(Token::from),
            allocation_request_id: p.allocation_request_id(),
            execution_type: p.execution_type().into(),
            version: p.version(),
        })
    }
}

impl From<&Container> for pb::ContainerProto {
    fn from(c: &Container) -> Self {
        pb::ContainerProto {
            id: Some(c.id.into()),
            node_id: Some((&c.node_id).into()),
            node_http_address: Some(c.node_http_address.clone()),
            resource: Some(c.resource.into()),
            priority: Some(c.priority.into()),
            container_token: c.container_token.as_ref().map(Into::into),
            execution_type: Some(pb::ExecutionTypeProto::from(c.execution_type) as i32),
            allocation_request_id: Some(c.allocation_request_id),
            version: Some(c.version),
            ..Default::default()
        }
    }
}
