//! YARN's records as idiomatic Rust: identifiers with YARN's string forms, resources with the arithmetic a
//! scheduler needs, asks and preemption, allocated containers with their states and exit statuses, node
//! reports, launch contexts, application states, and the environment a NodeManager gives a container —
//! each convertible to and from the generated protobuf messages in [`crate::proto::hadoop::yarn`].
//!
//! Conversions from protobuf are `TryFrom<&Proto>` and fail with [`RecordError`] when a field YARN
//! always sets is missing or an enum number is unknown; records whose every field has a YARN default
//! (resources, priorities) convert with `From`. Absent optional fields take the defaults YARN declares.
//! Conversions to protobuf are infallible `From`.

mod app;
mod container;
mod env;
mod ids;
mod launch;
mod node;
mod request;
mod resource;

pub use app::{FinalApplicationStatus, UnknownStateError, YarnApplicationState};
pub use container::{
    Container, ContainerExit, ContainerState, ContainerStatus, ExecutionType, exit_status,
};
pub use env::{ContainerEnv, ContainerEnvError, vars as env_vars};
pub use ids::{ApplicationAttemptId, ApplicationId, ContainerId, IdParseError, NodeId};
pub use launch::{
    LaunchContext, LocalResource, LocalResourceType, LocalResourceVisibility, ResourceUrl, UrlError,
};
pub use node::{NodeReport, NodeState};
pub use request::{ANY, Preemption, ResourceRequest};
pub use resource::{Priority, Resource};

/// A protobuf record that cannot become a Rust record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A field that YARN always sets is absent.
    #[error("{record} has no {field}; the peer sent an incomplete record")]
    MissingField {
        /// The protobuf message.
        record: &'static str,
        /// The absent field.
        field: &'static str,
    },
    /// An enum field holds a number this version of YARN does not define.
    #[error("{record}.{field} holds {value}, which is not a known value")]
    UnknownEnumValue {
        /// The protobuf message.
        record: &'static str,
        /// The enum field.
        field: &'static str,
        /// The number received.
        value: i32,
    },
    /// An id string inside a record does not parse.
    #[error(transparent)]
    BadId(#[from] IdParseError),
}

impl RecordError {
    pub(crate) fn missing(record: &'static str, field: &'static str) -> Self {
        RecordError::MissingField { record, field }
    }
}
