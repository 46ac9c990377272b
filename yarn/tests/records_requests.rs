//! Asks and preemption messages: YARN's defaults, round trips through the protobuf records.

use prost::Message;
use yarn::proto::hadoop::yarn as pb;
use yarn::records::{
    ANY, ApplicationAttemptId, ApplicationId, ContainerId, ExecutionType, Preemption, Priority,
    RecordError, Resource, ResourceRequest,
};

#[test]
fn asks_round_trip_and_take_yarns_defaults() {
    let mut ask = ResourceRequest::anywhere(Priority(1), Resource::new(1024, 1), 3);
    assert_eq!(
        (
            ask.resource_name.as_str(),
            ask.relax_locality,
            ask.allocation_request_id
        ),
        (ANY, true, -1)
    );
    ask.node_label_expression = Some("gpu".into());
    ask.execution_type = ExecutionType::Opportunistic;
    let p = pb::ResourceRequestProto::from(&ask);
    let decoded = pb::ResourceRequestProto::decode(p.encode_to_vec().as_slice()).unwrap();
    assert_eq!(ResourceRequest::try_from(&decoded).unwrap(), ask);

    let minimal = pb::ResourceRequestProto {
        capability: Some(Resource::new(512, 1).into()),
        num_containers: Some(2),
        ..Default::default()
    };
    let r = ResourceRequest::try_from(&minimal).unwrap();
    assert_eq!(
        r,
        ResourceRequest::anywhere(Priority(0), Resource::new(512, 1), 2)
    );
    assert_eq!(
        ResourceRequest::try_from(&pb::ResourceRequestProto::default()).unwrap_err(),
        RecordError::MissingField {
            record: "ResourceRequestProto",
            field: "capability"
        }
    );
}

#[test]
fn preemption_messages_round_trip() {
    let attempt = ApplicationAttemptId::new(ApplicationId::new(1, 1), 1);
    let p = Preemption {
        strict: vec![ContainerId::new(attempt, 2)],
        negotiable: vec![ContainerId::new(attempt, 3), ContainerId::new(attempt, 4)],
        negotiable_resources: vec![ResourceRequest::anywhere(
            Priority(0),
            Resource::new(2048, 2),
            1,
        )],
    };
    let proto = pb::PreemptionMessageProto::from(&p);
    assert_eq!(proto.strict_contract.as_ref().unwrap().container.len(), 1);
    let decoded = pb::PreemptionMessageProto::decode(proto.encode_to_vec().as_slice()).unwrap();
    assert_eq!(Preemption::try_from(&decoded).unwrap(), p);

    let empty = Preemption::default();
    assert!(empty.is_empty());
    let proto = pb::PreemptionMessageProto::from(&empty);
    assert!(proto.strict_contract.is_none() && proto.contract.is_none());
    let bad = pb::PreemptionMessageProto {
        strict_contract: Some(pb::StrictPreemptionContractProto {
            container: vec![pb::PreemptionContainerProto { id: None }],
        }),
        contract: None,
    };
    assert!(Preemption::try_from(&bad).is_err());
}

#[test]
fn node_reports_round_trip_and_classify_states() {
    use yarn::records::{NodeId, NodeReport, NodeState};
    let n = NodeReport {
        node_id: NodeId::new("w1", 45454),
        http_address: "w1:8042".into(),
        rack_name: "/default-rack".into(),
        used: Resource::new(1024, 1),
        capability: Resource::new(8192, 8),
        num_containers: 1,
        state: NodeState::Lost,
        health_report: String::new(),
        last_health_report_time: 5,
    };
    let p = pb::NodeReportProto::from(&n);
    assert_eq!(p.node_state, Some(5), "NS_LOST");
    let decoded = pb::NodeReportProto::decode(p.encode_to_vec().as_slice()).unwrap();
    assert_eq!(NodeReport::try_from(&decoded).unwrap(), n);
    assert!(NodeState::Lost.is_unusable() && NodeState::Decommissioned.is_unusable());
    assert!(!NodeState::Running.is_unusable() && !NodeState::Decommissioning.is_unusable());
    let bad = pb::NodeReportProto {
        node_state: Some(42),
        ..p
    };
    assert!(
        NodeReport::try_from(&bad)
            .unwrap_err()
            .to_string()
            .contains("node_state holds 42")
    );
}
