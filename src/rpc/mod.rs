//! The ApplicationMaster <-> TaskExecutor protocol.
//!
//! A TaskExecutor connects out to its ApplicationMaster (it needs no inbound port) over one TCP
//! connection. Every message is a length-prefixed JSON frame ([`frame`]); the connection first runs a
//! mutual challenge-response with the per-application secret ([`auth`]), then carries the typed
//! messages of [`messages`]. [`server`] is the AM's endpoint, [`client`] the TaskExecutor's side.
//!
//! A TaskExecutor's life on the wire (TE = TaskExecutor, AM = ApplicationMaster):
//!
//! ```text
//! TE -> AM  Register{resource id, host, total and default slot resources, slots, slot report}
//! AM -> TE  RegistrationAccepted{instance id, heartbeat interval, timeout}
//!           | RegistrationDeclined{reason} (TE retries later) | RegistrationRefused{reason} (TE exits)
//! TE -> AM  Heartbeat{slot report} every interval     AM -> TE  HeartbeatReply
//! AM -> TE  HeartbeatRequest (optional)               TE -> AM  Heartbeat{slot report}
//! AM -> TE  RequestSlot{static index | dynamic, allocation, job, resources}
//! TE -> AM  SlotRequestAck{allocation} + OfferSlots{job, [offer]}  | SlotRequestFailed{allocation, reason}
//! AM -> TE  DeployTask{attempt, allocation, job, vertex, subtask, parallelism, attempt no., argv, env}
//! TE -> AM  TaskStateUpdate RUNNING, then FINISHED (exit 0) | FAILED (exit code, stderr tail) | CANCELED
//! AM -> TE  CancelTask{attempt}; FreeSlot{allocation, cause}; FreeInactiveSlots{job}
//! TE -> AM  SlotAvailable{allocation, index} when a slot is freed
//! AM -> TE  Disconnect{reason} (TE reconnects and registers again, keeping its slots and tasks)
//! ```
//!
//! On the AM, [`TaskExecutorServer::bind`] delivers [`ServerEvent`]s (`Connected` with a
//! [`TaskExecutorHandle`], `Message`, `Disconnected`) to one mpsc channel read by the AM's actor,
//! which answers through the handle; a connection silent for the heartbeat timeout is closed and
//! reported as `Disconnected`. The TaskExecutor itself gives up when it has heard nothing from the
//! AM for the heartbeat timeout granted at registration.

pub mod auth;
pub mod client;
pub mod frame;
pub mod messages;
pub mod server;

pub use auth::Secret;
pub use client::{AmConnection, AmReceiver, AmSender, ClientError, connect};
pub use frame::{FrameError, MAX_FRAME_LEN};
pub use messages::*;
pub use server::{
    ConnectionClosed, ConnectionId, ServerConfig, ServerEvent, TaskExecutorHandle,
    TaskExecutorServer,
};
