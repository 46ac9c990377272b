//! Typed RPC errors. A client sees [`RpcError`]: either a remote Java exception (its class mapped to a
//! [`RemoteErrorKind`]) or a local failure (I/O, timeout, SASL, protocol). A server handler answers with
//! a [`RemoteException`], which the server sends exactly as Hadoop would.

use std::time::Duration;

use crate::proto::hadoop::common::rpc_response_header_proto::RpcErrorCodeProto;
use crate::sasl::SaslError;

/// The remote exceptions an ApplicationMaster or NodeManager client must tell apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RemoteErrorKind {
    /// `ApplicationMasterNotRegisteredException`: allocate before register (e.g. after an RM restart).
    ApplicationMasterNotRegistered,
    /// `InvalidResourceRequestException`: an ask beyond the scheduler's limits.
    InvalidResourceRequest,
    /// `InvalidApplicationMasterRequestException`: e.g. registering twice.
    InvalidApplicationMasterRequest,
    /// `ApplicationAttemptNotFoundException`: the attempt is gone (finished or failed).
    ApplicationAttemptNotFound,
    /// `InvalidContainerReleaseException`: releasing a container this AM does not hold.
    InvalidContainerRelease,
    /// `SecretManager$InvalidToken`: unknown or expired token.
    InvalidToken,
    /// `AccessControlException`: authentication or authorization refused.
    AccessControl,
    /// `RpcNoSuchMethodException`.
    NoSuchMethod,
    /// `RpcNoSuchProtocolException`.
    NoSuchProtocol,
    /// `YarnException` itself.
    Yarn,
    /// Any other class.
    Other,
}

const CLASSES: [(RemoteErrorKind, &str); 10] = [
    (
        RemoteErrorKind::ApplicationMasterNotRegistered,
        "org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException",
    ),
    (
        RemoteErrorKind::InvalidResourceRequest,
        "org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException",
    ),
    (
        RemoteErrorKind::InvalidApplicationMasterRequest,
        "org.apache.hadoop.yarn.exceptions.InvalidApplicationMasterRequestException",
    ),
    (
        RemoteErrorKind::ApplicationAttemptNotFound,
        "org.apache.hadoop.yarn.exceptions.ApplicationAttemptNotFoundException",
    ),
    (
        RemoteErrorKind::InvalidContainerRelease,
        "org.apache.hadoop.yarn.exceptions.InvalidContainerReleaseException",
    ),
    (
        RemoteErrorKind::InvalidToken,
        "org.apache.hadoop.security.token.SecretManager$InvalidToken",
    ),
    (
        RemoteErrorKind::AccessControl,
        "org.apache.hadoop.security.AccessControlException",
    ),
    (
        RemoteErrorKind::NoSuchMethod,
        "org.apache.hadoop.ipc.RpcNoSuchMethodException",
    ),
    (
        RemoteErrorKind::NoSuchProtocol,
        "org.apache.hadoop.ipc.RpcNoSuchProtocolException",
    ),
    (
        RemoteErrorKind::Yarn,
        "org.apache.hadoop.yarn.exceptions.YarnException",
    ),
];

impl RemoteErrorKind {
    /// Maps a Java exception class name to its kind.
    pub fn from_class(class_name: &str) -> RemoteErrorKind {
        CLASSES
            .iter()
            .find(|(_, c)| *c == class_name)
            .map(|(k, _)| *k)
            .unwrap_or(RemoteErrorKind::Other)
    }

    /// The Java class name of this kind (`None` for [`RemoteErrorKind::Other`]).
    pub fn class_name(self) -> Option<&'static str> {
        CLASSES.iter().find(|(k, _)| *k == self).map(|(_, c)| *c)
    }
}

/// An exception reported by the remote side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteError {
    /// The class, mapped.
    pub kind: RemoteErrorKind,
    /// The Java class name as sent.
    pub class_name: String,
    /// The message as sent (for application errors Hadoop sends the stack trace text).
    pub message: String,
    /// FATAL (the server closed the connection) rather than ERROR.
    pub fatal: bool,
    /// Hadoop's error code, if sent.
    pub code: Option<RpcErrorCodeProto>,
}

/// A failed RPC.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The server answered with an exception.
    #[error("{address} answered {}: {} ({})", .error.class_name, first_line(&.error.message),
        if .error.fatal { "fatal, connection closed" } else { "connection kept" })]
    Remote {
        /// The server address.
        address: String,
        /// The exception.
        error: RemoteError,
    },
    /// Connecting or writing failed.
    #[error("I/O error talking to {address}: {source}")]
    Io {
        /// The server address.
        address: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The connection broke while the call was outstanding; the next call reconnects.
    #[error("connection to {address} lost: {reason}; the call can be retried")]
    ConnectionClosed {
        /// The server address.
        address: String,
        /// Why.
        reason: String,
    },
    /// No answer within the call timeout.
    #[error("call {method} to {address} got no answer within {after:?}")]
    Timeout {
        /// The server address.
        address: String,
        /// The method called.
        method: String,
        /// The configured timeout.
        after: Duration,
    },
    /// SASL authentication failed on this side (bad challenge, rspauth mismatch, no common QOP).
    #[error("SASL authentication with {address} failed: {source}")]
    Sasl {
        /// The server address.
        address: String,
        /// The cause.
        #[source]
        source: SaslError,
    },
    /// The server sent something this client cannot interpret.
    #[error("protocol error talking to {address}: {message}")]
    Protocol {
        /// The server address.
        address: String,
        /// What was wrong.
        message: String,
    },
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

impl RpcError {
    /// The remote exception's kind, if this is a remote exception.
    pub fn remote_kind(&self) -> Option<RemoteErrorKind> {
        match self {
            RpcError::Remote { error, .. } => Some(error.kind),
            _ => None,
        }
    }

    /// Whether retrying the same call (on a fresh connection) may succeed: lost connections, I/O
    /// errors and timeouts. Remote exceptions and authentication failures are not retriable.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            RpcError::ConnectionClosed { .. } | RpcError::Io { .. } | RpcError::Timeout { .. }
        )
    }
}

/// An exception a server handler answers with: a Java class name, a message, and Hadoop's error code
/// (non-fatal; `ERROR_APPLICATION` for application exceptions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteException {
    /// The Java class name the client will see.
    pub class_name: String,
    /// The message.
    pub message: String,
    /// The error code.
    pub code: RpcErrorCodeProto,
}

impl RemoteException {
    /// An application exception (`ERROR_APPLICATION`) of this class.
    pub fn new(class_name: impl Into<String>, message: impl Into<String>) -> RemoteException {
        RemoteException {
            class_name: class_name.into(),
            message: message.into(),
            code: RpcErrorCodeProto::ErrorApplication,
        }
    }

    /// An application exception of a known kind.
    ///
    /// # Panics
    /// For [`RemoteErrorKind::Other`], which has no class name; use [`RemoteException::new`].
    pub fn of_kind(kind: RemoteErrorKind, message: impl Into<String>) -> RemoteException {
        let class = kind
            .class_name()
            .expect("RemoteErrorKind::Other has no class; use RemoteException::new");
        RemoteException::new(class, message)
    }

    /// Hadoop's answer to an unknown method.
    pub fn no_such_method(protocol: &str, method: &str) -> RemoteException {
        RemoteException {
            class_name: RemoteErrorKind::NoSuchMethod.class_name().unwrap().into(),
            message: format!("Unknown method {method} called on {protocol} protocol."),
            code: RpcErrorCodeProto::ErrorNoSuchMethod,
        }
    }

    /// Hadoop's answer to an unknown protocol or version.
    pub fn no_such_protocol(protocol: &str, version: u64) -> RemoteException {
        RemoteException {
            class_name: RemoteErrorKind::NoSuchProtocol.class_name().unwrap().into(),
            message: format!("Unknown protocol: {protocol} version {version}"),
            code: RpcErrorCodeProto::ErrorNoSuchProtocol,
        }
    }

    /// A request body that does not decode as the method's request message.
    pub fn undecodable(method: &str, error: impl std::fmt::Display) -> RemoteException {
        RemoteException {
            class_name: "org.apache.hadoop.ipc.RpcServerException".into(),
            message: format!("cannot decode the request of {method}: {error}"),
            code: RpcErrorCodeProto::ErrorRpcServer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_map_both_ways() {
        for (kind, class) in CLASSES {
            assert_eq!(RemoteErrorKind::from_class(class), kind);
            assert_eq!(kind.class_name(), Some(class));
        }
        assert_eq!(
            RemoteErrorKind::from_class("java.io.IOException"),
            RemoteErrorKind::Other
        );
        assert_eq!(
            RemoteErrorKind::from_class(
                "org.apache.hadoop.security.token.SecretManager$InvalidToken"
            ),
            RemoteErrorKind::InvalidToken
        );
    }

    #[test]
    fn remote_error_display_shows_class_and_first_line() {
        let e = RpcError::Remote {
            address: "rm:8030".into(),
            error: RemoteError {
                kind: RemoteErrorKind::Yarn,
                class_name: "org.apache.hadoop.yarn.exceptions.YarnException".into(),
                message: "No AMRMToken found\n\tat Foo.bar".into(),
                fatal: false,
                code: Some(RpcErrorCodeProto::ErrorApplication),
            },
        };
        assert_eq!(
            e.to_string(),
            "rm:8030 answered org.apache.hadoop.yarn.exceptions.YarnException: No AMRMToken found (connection kept)"
        );
        assert!(!e.is_retriable());
        assert_eq!(e.remote_kind(), Some(RemoteErrorKind::Yarn));
    }
}
