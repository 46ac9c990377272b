//! NodeManagers as the ResourceManager reports them to ApplicationMasters (`updated_nodes` in an
//! allocate response) and to clients: where a node is, what it has, and whether it is usable.

use crate::proto::hadoop::yarn as pb;
use crate::records::{NodeId, RecordError, Resource};

/// A NodeManager's state in the ResourceManager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeState {
    /// Registered, not yet heartbeating.
    New,
    /// Healthy and heartbeating.
    Running,
    /// Its health check fails.
    Unhealthy,
    /// Decommissioned by an administrator.
    Decommissioned,
    /// Stopped heartbeating (its containers are lost).
    Lost,
    /// Rebooted (its containers are gone).
    Rebooted,
    /// Being decommissioned gracefully.
    Decommissioning,
    /// Shut down cleanly.
    Shutdown,
}

impl NodeState {
    /// Whether containers on such a node are gone or going (the AM should not wait for them).
    pub fn is_unusable(self) -> bool {
        matches!(
            self,
            NodeState::Unhealthy
                | NodeState::Decommissioned
                | NodeState::Lost
                | NodeState::Rebooted
                | NodeState::Shutdown
        )
    }
}

impl From<pb::NodeStateProto> for NodeState {
    fn from(s: pb::NodeStateProto) -> Self {
        use pb::NodeStateProto as P;
        match s {
            P::NsNew => NodeState::New,
            P::NsRunning => NodeState::Running,
            P::NsUnhealthy => NodeState::Unhealthy,
            P::NsDecommissioned => NodeState::Decommissioned,
            P::NsLost => NodeState::Lost,
            P::NsRebooted => NodeState::Rebooted,
            P::NsDecommissioning => NodeState::Decommissioning,
            P::NsShutdown => NodeState::Shutdown,
        }
    }
}

impl From<NodeState> for pb::NodeStateProto {
    fn from(s: NodeState) -> Self {
        use pb::NodeStateProto as P;
        match s {
            NodeState::New => P::NsNew,
            NodeState::Running => P::NsRunning,
            NodeState::Unhealthy => P::NsUnhealthy,
            NodeState::Decommissioned => P::NsDecommissioned,
            NodeState::Lost => P::NsLost,
            NodeState::Rebooted => P::NsRebooted,
            NodeState::Decommissioning => P::NsDecommissioning,
            NodeState::Shutdown => P::NsShutdown,
        }
    }
}

/// One NodeManager as the ResourceManager sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    /// Its RPC address.
    pub node_id: NodeId,
    /// Its web address (`host:port`).
    pub http_address: String,
    /// Its rack (`/default-rack` unless topology is configured).
    pub rack_name: String,
    /// What its containers use.
    pub used: Resource,
    /// What it offers in total.
    pub capability: Resource,
    /// How many containers run there.
    pub num_containers: i32,
    /// Its state.
    pub state: NodeState,
    /// The health script's last report.
    pub health_report: String,
    /// When health was last reported (ms).
    pub last_health_report_time: i64,
}

impl TryFrom<&pb::NodeReportProto> for NodeReport {
    type Error = RecordError;
    fn try_from(p: &pb::NodeReportProto) -> Result<Self, RecordError> {
        let node = p
            .node_id
            .as_ref()
            .ok_or(RecordError::missing("NodeReportProto", "nodeId"))?;
        let state = match p.node_state {
            None => return Err(RecordError::missing("NodeReportProto", "node_state")),
            Some(v) => {
                pb::NodeStateProto::try_from(v).map_err(|_| RecordError::UnknownEnumValue {
                    record: "NodeReportProto",
                    field: "node_state",
                    value: v,
                })?
            }
        };
        Ok(NodeReport {
            node_id: node.try_into()?,
            http_address: p.http_address().to_owned(),
            rack_name: p.rack_name().to_owned(),
            used: p.used.as_ref().map(Resource::from).unwrap_or_default(),
            capability: p
                .capability
                .as_ref()
                .map(Resource::from)
                .unwrap_or_default(),
            num_containers: p.num_containers(),
            state: state.into(),
            health_report: p.health_report().to_owned(),
            last_health_report_time: p.last_health_report_time(),
        })
    }
}

impl From<&NodeReport> for pb::NodeReportProto {
    fn from(n: &NodeReport) -> Self {
        pb::NodeReportProto {
            node_id: Some((&n.node_id).into()),
            http_address: Some(n.http_address.clone()),
            rack_name: Some(n.rack_name.clone()),
            used: Some(n.used.into()),
            capability: Some(n.capability.into()),
            num_containers: Some(n.num_containers),
            node_state: Some(pb::NodeStateProto::from(n.state) as i32),
            health_report: Some(n.health_report.clone()),
            last_health_report_time: Some(n.last_health_report_time),
            ..Default::default()
        }
    }
}
