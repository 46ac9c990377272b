//! The ApplicationMaster <-> TaskExecutor protocol.
//!
//! A TaskExecutor connects out to its ApplicationMaster (it needs no inbound port) over one TCP
//! connection. Every message is a length-prefixed JSON frame ([`frame`]); the connection first runs a
//! mutual challenge-response with the per-application secret ([`auth`]), then carries the typed
//! messages of [`messages`]. [`server`] is the AM's endpoint, [`client`] the TaskExecutor's side.

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
