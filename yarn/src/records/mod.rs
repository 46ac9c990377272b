//! YARN's records as idiomatic Rust: identifiers with YARN's string forms, resources with the arithmetic a
//! scheduler needs, container states and exit statuses, application states — each convertible to and
//! from the generated protobuf messages in [`crate::proto::hadoop::yarn`].
//!
//! Conversions from protobuf are `TryFrom<&Proto>` and fail with [`RecordError`] when a field YARN
//! always sets is missing; conversions to protobuf are infallible `From`.

mod app;
mod container;
mod ids;
mod resource;

pub use app::{FinalApplicationStatus, UnknownStateError, YarnApplicationState};
pub use container::{
    Container, ContainerExit, ContainerState, ContainerStatus, ExecutionType, exit_status,
};
pub use ids::{ApplicationAttemptId, ApplicationId, ContainerId, IdParseError, NodeId};
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
