//! What an ApplicationMaster asks the scheduler for ([`ResourceRequest`]) and what the scheduler says it
//! will take back ([`Preemption`]).

use crate::proto::hadoop::yarn as pb;
use crate::records::{ContainerId, ExecutionType, Priority, RecordError, Resource};

/// The `resource_name` meaning "anywhere in the cluster".
pub const ANY: &str = "*";

/// An ask: `num_containers` containers of `capability` at `priority`, at `resource_name` (a host, a
/// rack, or [`ANY`]). Asks are absolute — a new ask for the same priority, allocation id and resource
/// name replaces the old one, and 0 cancels it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRequest {
    /// Priority of the ask (smaller is more urgent).
    pub priority: Priority,
    /// Host, rack or [`ANY`].
    pub resource_name: String,
    /// Size of each container.
    pub capability: Resource,
    /// How many containers are still wanted at this key.
    pub num_containers: i32,
    /// Whether the scheduler may fall back from this host/rack to a wider one.
    pub relax_locality: bool,
    /// Node label expression, if any.
    pub node_label_expression: Option<String>,
    /// Distinguishes asks of the same priority (-1: none, YARN's default).
    pub allocation_request_id: i64,
    /// Guaranteed or opportunistic containers.
    pub execution_type: ExecutionType,
    /// Whether the scheduler must not substitute another execution type.
    pub enforce_execution_type: bool,
}

impl ResourceRequest {
    /// An ask for `num_containers` containers of `capability` anywhere, with YARN's defaults otherwise.
    pub fn anywhere(priority: Priority, capability: Resource, num_containers: i32) -> Self {
        ResourceRequest {
            priority,
            resource_name: ANY.to_owned(),
            capability,
            num_containers,
            relax_locality: true,
            node_label_expression: None,
            allocation_request_id: -1,
            execution_type: ExecutionType::Guaranteed,
            enforce_execution_type: false,
        }
    }
}

impl From<&ResourceRequest> for pb::ResourceRequestProto {
    fn from(r: &ResourceRequest) -> Self {
        pb::ResourceRequestProto {
            priority: Some(r.priority.into()),
            resource_name: Some(r.resource_name.clone()),
            capability: Some(r.capability.into()),
            num_containers: Some(r.num_containers),
            relax_locality: Some(r.relax_locality),
            node_label_expression: r.node_label_expression.clone(),
            execution_type_request: Some(pb::ExecutionTypeRequestProto {
                execution_type: Some(pb::ExecutionTypeProto::from(r.execution_type) as i32),
                enforce_execution_type: Some(r.enforce_execution_type),
            }),
            allocation_request_id: Some(r.allocation_request_id),
        }
    }
}

impl TryFrom<&pb::ResourceRequestProto> for ResourceRequest {
    type Error = RecordError;
    /// Absent fields take YARN's declared defaults; a request without a capability is an error.
    fn try_from(p: &pb::ResourceRequestProto) -> Result<Self, RecordError> {
        let capability = p
            .capability
            .as_ref()
            .ok_or(RecordError::missing("ResourceRequestProto", "capability"))?;
        let etr = p.execution_type_request.unwrap_or_default();
        Ok(ResourceRequest {
            priority: p.priority.as_ref().map(Priority::from).unwrap_or_default(),
            resource_name: p.resource_name.clone().unwrap_or_else(|| ANY.to_owned()),
            capability: capability.into(),
            num_containers: p.num_containers(),
            relax_locality: p.relax_locality(),
            node_label_expression: p.node_label_expression.clone(),
            allocation_request_id: p.allocation_request_id(),
            execution_type: etr.execution_type().into(),
            enforce_execution_type: etr.enforce_execution_type(),
        })
    }
}

/// Containers the scheduler is about to take back from the application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preemption {
    /// Containers that will be preempted whatever the application does.
    pub strict: Vec<ContainerId>,
    /// Containers the scheduler would like back; returning others of equal value also satisfies it.
    pub negotiable: Vec<ContainerId>,
    /// Resources the scheduler wants back under the negotiable contract.
    pub negotiable_resources: Vec<ResourceRequest>,
}

impl Preemption {
    /// Whether the message asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.strict.is_empty() && self.negotiable.is_empty() && self.negotiable_resources.is_empty()
    }
}

fn preempted_ids(list: &[pb::PreemptionContainerProto]) -> Result<Vec<ContainerId>, RecordError> {
    list.iter()
        .map(|c| {
            c.id.as_ref()
                .ok_or(RecordError::missing("PreemptionContainerProto", "id"))?
                .try_into()
        })
        .collect()
}

fn preemption_containers(ids: &[ContainerId]) -> Vec<pb::PreemptionContainerProto> {
    ids.iter()
        .map(|id| pb::PreemptionContainerProto {
            id: Some((*id).into()),
        })
        .collect()
}

impl TryFrom<&pb::PreemptionMessageProto> for Preemption {
    type Error = RecordError;
    fn try_from(p: &pb::PreemptionMessageProto) -> Result<Self, RecordError> {
        let mut out = Preemption::default();
        if let Some(strict) = &p.strict_contract {
            out.strict = preempted_ids(&strict.container)?;
        }
        if let Some(contract) = &p.contract {
            out.negotiable = preempted_ids(&contract.container)?;
            for r in &contract.resource {
                let req = r.resource.as_ref().ok_or(RecordError::missing(
                    "PreemptionResourceRequestProto",
                    "resource",
                ))?;
                out.negotiable_resources.push(req.try_into()?);
            }
        }
        Ok(out)
    }
}

impl From<&Preemption> for pb::PreemptionMessageProto {
    fn from(p: &Preemption) -> Self {
        pb::PreemptionMessageProto {
            strict_contract: (!p.strict.is_empty()).then(|| pb::StrictPreemptionContractProto {
                container: preemption_containers(&p.strict),
            }),
            contract: (!p.negotiable.is_empty() || !p.negotiable_resources.is_empty()).then(|| {
                pb::PreemptionContractProto {
                    resource: p
                        .negotiable_resources
                        .iter()
                        .map(|r| pb::PreemptionResourceRequestProto {
                            resource: Some(r.into()),
                        })
                        .collect(),
                    container: preemption_containers(&p.negotiable),
                }
            }),
        }
    }
}
