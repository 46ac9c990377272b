//! YARN's identifiers — application, attempt, container and node — with the exact string forms YARN
//! prints and parses (`application_…`, `appattempt_…`, `container_[e…_]…`, `host:port`) and conversions
//! to and from their protobuf records.
//!
//! The string forms matter beyond logging: the NodeManager hands an AM its identity only as the
//! `CONTAINER_ID` environment variable, the AMRMToken's SASL user is the attempt id string, and REST
//! URLs name applications by string.

use std::fmt;
use std::str::FromStr;

use crate::proto::hadoop::yarn as pb;
use crate::records::RecordError;

/// Bits of a container id's 64-bit number that hold the per-attempt sequence; the RM epoch sits above.
const CONTAINER_SEQUENCE_BITS: u32 = 40;
const CONTAINER_SEQUENCE_MASK: i64 = (1 << CONTAINER_SEQUENCE_BITS) - 1;

/// Why an id string could not be parsed. Names the id kind, the input and the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {input:?}: {reason}; expected {expected}")]
pub struct IdParseError {
    kind: &'static str,
    input: String,
    reason: String,
    expected: &'static str,
}

impl IdParseError {
    fn new(
        kind: &'static str,
        expected: &'static str,
        input: &str,
        reason: impl Into<String>,
    ) -> Self {
        IdParseError {
            kind,
            input: input.to_owned(),
            reason: reason.into(),
            expected,
        }
    }
}

const APP_SHAPE: &str = "application_<clusterTimestamp>_<id>, e.g. application_1410901177871_0001";
const ATTEMPT_SHAPE: &str =
    "appattempt_<clusterTimestamp>_<appId>_<attempt>, e.g. appattempt_1410901177871_0001_000001";
const CONTAINER_SHAPE: &str = "container_[e<epoch>_]<clusterTimestamp>_<appId>_<attempt>_<id>, \
     e.g. container_1410901177871_0001_01_000005 or container_e17_1410901177871_0001_01_000005";
const NODE_SHAPE: &str = "host:port, e.g. worker-3.example.com:45454";

/// Parses a decimal field the way YARN writes them: ASCII digits only (no sign, no spaces).
fn digits<T: FromStr>(field: &str, what: &str) -> Result<T, String> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} {field:?} is not a decimal number"));
    }
    field
        .parse()
        .map_err(|_| format!("{what} {field:?} is out of range"))
}

/// Splits `input` on `_`, checks the leading word, and returns the remaining parts.
fn parts<'a>(
    input: &'a str,
    prefix: &str,
    kind: &'static str,
    shape: &'static str,
) -> Result<Vec<&'a str>, IdParseError> {
    let mut it = input.split('_');
    match it.next() {
        Some(p) if p == prefix => Ok(it.collect()),
        _ => Err(IdParseError::new(
            kind,
            shape,
            input,
            format!("it does not start with {prefix}_"),
        )),
    }
}

/// An application: the ResourceManager's start time plus a sequence number within that RM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApplicationId {
    /// When the ResourceManager that issued the id started (ms since the epoch).
    pub cluster_timestamp: i64,
    /// Sequence number within that ResourceManager, from 1.
    pub id: i32,
}

impl ApplicationId {
    /// An application id from its two parts.
    pub fn new(cluster_timestamp: i64, id: i32) -> Self {
        ApplicationId {
            cluster_timestamp,
            id,
        }
    }
}

impl fmt::Display for ApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "application_{}_{:04}", self.cluster_timestamp, self.id)
    }
}

impl FromStr for ApplicationId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |r: String| IdParseError::new("application id", APP_SHAPE, s, r);
        let p = parts(s, "application", "application id", APP_SHAPE)?;
        if p.len() != 2 {
            return Err(err(format!(
                "it has {} parts after the prefix, not 2",
                p.len()
            )));
        }
        Ok(ApplicationId {
            cluster_timestamp: digits(p[0], "cluster timestamp").map_err(err)?,
            id: digits(p[1], "application number").map_err(err)?,
        })
    }
}

/// One attempt at running an application's ApplicationMaster (attempts count from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApplicationAttemptId {
    /// The application.
    pub application_id: ApplicationId,
    /// The attempt number, from 1.
    pub attempt_id: i32,
}

impl ApplicationAttemptId {
    /// An attempt id from the application and attempt number.
    pub fn new(application_id: ApplicationId, attempt_id: i32) -> Self {
        ApplicationAttemptId {
            application_id,
            attempt_id,
        }
    }
}

impl fmt::Display for ApplicationAttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let app = self.application_id;
        write!(
            f,
            "appattempt_{}_{:04}_{:06}",
            app.cluster_timestamp, app.id, self.attempt_id
        )
    }
}

impl FromStr for ApplicationAttemptId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |r: String| IdParseError::new("application attempt id", ATTEMPT_SHAPE, s, r);
        let p = parts(s, "appattempt", "application attempt id", ATTEMPT_SHAPE)?;
        if p.len() != 3 {
            return Err(err(format!(
                "it has {} parts after the prefix, not 3",
                p.len()
            )));
        }
        Ok(ApplicationAttemptId {
            application_id: ApplicationId {
                cluster_timestamp: digits(p[0], "cluster timestamp").map_err(err)?,
                id: digits(p[1], "application number").map_err(err)?,
            },
            attempt_id: digits(p[2], "attempt number").map_err(err)?,
        })
    }
}

/// A container: an attempt plus a 64-bit number whose low 40 bits are the sequence within the attempt
/// and whose high bits are the ResourceManager's epoch (bumped by RM restarts with work-preserving
/// recovery, so ids stay unique across them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId {
    /// The attempt that owns the container.
    pub application_attempt_id: ApplicationAttemptId,
    /// Epoch (high bits) and sequence (low 40 bits), as on the wire.
    pub id: i64,
}

impl ContainerId {
    /// A container id from the attempt and the full 64-bit number (epoch included).
    pub fn new(application_attempt_id: ApplicationAttemptId, id: i64) -> Self {
        ContainerId {
            application_attempt_id,
            id,
        }
    }

    /// A container id from the attempt, the RM epoch and the sequence number within the attempt.
    /// The sequence is truncated to its 40 bits, as YARN does.
    pub fn with_epoch(
        application_attempt_id: ApplicationAttemptId,
        epoch: i64,
        sequence: i64,
    ) -> Self {
        ContainerId {
            application_attempt_id,
            id: (epoch << CONTAINER_SEQUENCE_BITS) | (sequence & CONTAINER_SEQUENCE_MASK),
        }
    }

    /// The ResourceManager epoch carried in the high bits (0 for a RM that never restarted).
    pub fn epoch(&self) -> i64 {
        self.id >> CONTAINER_SEQUENCE_BITS
    }

    /// The sequence number within the attempt (the low 40 bits).
    pub fn sequence(&self) -> i64 {
        self.id & CONTAINER_SEQUENCE_MASK
    }

    /// The application the container belongs to.
    pub fn application_id(&self) -> ApplicationId {
        self.application_attempt_id.application_id
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("container_")?;
        let epoch = self.epoch();
        if epoch > 0 {
            write!(f, "e{epoch:02}_")?;
        }
        let attempt = self.application_attempt_id;
        write!(
            f,
            "{}_{:04}_{:02}_{:06}",
            attempt.application_id.cluster_timestamp,
            attempt.application_id.id,
            attempt.attempt_id,
            self.sequence()
        )
    }
}

impl FromStr for ContainerId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |r: String| IdParseError::new("container id", CONTAINER_SHAPE, s, r);
        let mut p = parts(s, "container", "container id", CONTAINER_SHAPE)?;
        let epoch: i64 = match p.first().and_then(|f| f.strip_prefix('e')) {
            Some(e) => {
                let epoch = digits(e, "epoch").map_err(err)?;
                p.remove(0);
                epoch
            }
            None => 0,
        };
        if p.len() != 4 {
            return Err(err(format!(
                "it has {} numeric parts after the prefix and epoch, not 4",
                p.len()
            )));
        }
        let sequence: i64 = digits(p[3], "container number").map_err(err)?;
        if epoch >= 1 << (63 - CONTAINER_SEQUENCE_BITS) {
            return Err(err(format!("epoch {epoch} does not fit in 23 bits")));
        }
        if sequence > CONTAINER_SEQUENCE_MASK {
            return Err(err(format!(
                "container number {sequence} does not fit in 40 bits"
            )));
        }
        let attempt = ApplicationAttemptId {
            application_id: ApplicationId {
                cluster_timestamp: digits(p[0], "cluster timestamp").map_err(err)?,
                id: digits(p[1], "application number").map_err(err)?,
            },
            attempt_id: digits(p[2], "attempt number").map_err(err)?,
        };
        Ok(ContainerId::with_epoch(attempt, epoch, sequence))
    }
}

/// A NodeManager's RPC address, `host:port`, as YARN names nodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Host name (or address) the NodeManager registered with.
    pub host: String,
    /// Its ContainerManagementProtocol port.
    pub port: i32,
}

impl NodeId {
    /// A node id from host and port.
    pub fn new(host: impl Into<String>, port: i32) -> Self {
        NodeId {
            host: host.into(),
            port,
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl FromStr for NodeId {
    type Err = IdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |r: String| IdParseError::new("node id", NODE_SHAPE, s, r);
        let (host, port) = match s.split(':').collect::<Vec<_>>()[..] {
            [host, port] => (host, port),
            _ => return Err(err("it does not have exactly one ':'".into())),
        };
        if host.is_empty() {
            return Err(err("the host is empty".into()));
        }
        Ok(NodeId {
            host: host.to_owned(),
            port: digits(port, "port").map_err(err)?,
        })
    }
}

impl From<ApplicationId> for pb::ApplicationIdProto {
    fn from(a: ApplicationId) -> Self {
        pb::ApplicationIdProto {
            id: Some(a.id),
            cluster_timestamp: Some(a.cluster_timestamp),
        }
    }
}

impl TryFrom<&pb::ApplicationIdProto> for ApplicationId {
    type Error = RecordError;
    fn try_from(p: &pb::ApplicationIdProto) -> Result<Self, RecordError> {
        Ok(ApplicationId {
            cluster_timestamp: p.cluster_timestamp.ok_or(RecordError::missing(
                "ApplicationIdProto",
                "cluster_timestamp",
            ))?,
            id: p
                .id
                .ok_or(RecordError::missing("ApplicationIdProto", "id"))?,
        })
    }
}

impl From<ApplicationAttemptId> for pb::ApplicationAttemptIdProto {
    fn from(a: ApplicationAttemptId) -> Self {
        pb::ApplicationAttemptIdProto {
            application_id: Some(a.application_id.into()),
            attempt_id: Some(a.attempt_id),
        }
    }
}

impl TryFrom<&pb::ApplicationAttemptIdProto> for ApplicationAttemptId {
    type Error = RecordError;
    fn try_from(p: &pb::ApplicationAttemptIdProto) -> Result<Self, RecordError> {
        let app = p.application_id.as_ref().ok_or(RecordError::missing(
            "ApplicationAttemptIdProto",
            "application_id",
        ))?;
        Ok(ApplicationAttemptId {
            application_id: app.try_into()?,
            attempt_id: p.attempt_id.ok_or(RecordError::missing(
                "ApplicationAttemptIdProto",
                "attemptId",
            ))?,
        })
    }
}

impl From<ContainerId> for pb::ContainerIdProto {
    /// Like YARN's own writers, leaves the legacy `app_id` field unset.
    fn from(c: ContainerId) -> Self {
        pb::ContainerIdProto {
            app_id: None,
            app_attempt_id: Some(c.application_attempt_id.into()),
            id: Some(c.id),
        }
    }
}

impl TryFrom<&pb::ContainerIdProto> for ContainerId {
    type Error = RecordError;
    fn try_from(p: &pb::ContainerIdProto) -> Result<Self, RecordError> {
        let attempt = p
            .app_attempt_id
            .as_ref()
            .ok_or(RecordError::missing("ContainerIdProto", "app_attempt_id"))?;
        Ok(ContainerId {
            application_attempt_id: attempt.try_into()?,
            id: p.id.ok_or(RecordError::missing("ContainerIdProto", "id"))?,
        })
    }
}

impl From<NodeId> for pb::NodeIdProto {
    fn from(n: NodeId) -> Self {
        pb::NodeIdProto {
            host: Some(n.host),
            port: Some(n.port),
        }
    }
}

impl From<&NodeId> for pb::NodeIdProto {
    fn from(n: &NodeId) -> Self {
        n.clone().into()
    }
}

impl TryFrom<&pb::NodeIdProto> for NodeId {
    type Error = RecordError;
    fn try_from(p: &pb::NodeIdProto) -> Result<Self, RecordError> {
        Ok(NodeId {
            host: p
                .host
                .clone()
                .ok_or(RecordError::missing("NodeIdProto", "host"))?,
            port: p.port.ok_or(RecordError::missing("NodeIdProto", "port"))?,
        })
    }
}
