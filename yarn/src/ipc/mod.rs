//! Hadoop RPC version 9 over TCP, client and server, with SIMPLE or SASL TOKEN (DIGEST-MD5)
//! authentication at the three `hadoop.rpc.protection` levels.
//!
//! - [`frame`]: the preamble, frames, headers, and the SASL-wrapping reader and writer.
//! - [`Client`]: calls on one server and protocol over a shared, self-healing connection.
//! - [`Server`]: accepts connections and dispatches calls to [`Handler`]s by protocol.
//! - [`RpcError`] / [`RemoteException`]: typed failures, mapped to and from Java exception classes.

mod client;
mod error;
pub mod frame;
mod server;

pub use client::{Auth, AuthToken, Client, ClientConfig, PROTOCOL_VERSION};
pub use error::{RemoteError, RemoteErrorKind, RemoteException, RpcError};
pub use server::{
    AuthMethod, CallContext, HTTP_RESPONSE, Handler, HandlerFuture, InvalidToken, Server,
    ServerBuilder, TokenVerifier, VerifiedToken, decode_request,
};
