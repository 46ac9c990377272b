//! Messages encoded by Hadoop 3.5.0's own records decode with spindle's protos into the expected
//! records, and re-encode to the same records.

use std::path::PathBuf;

use prost::Message;
use yarn::credentials::{NmTokens, Token};
use yarn::proto::hadoop::yarn as pb;
use yarn::records::{
    ApplicationAttemptId, Container, ContainerExit, ContainerId, ContainerState, ContainerStatus,
    LaunchContext, LocalResourceType, LocalResourceVisibility, NodeId, Priority, Resource,
    ResourceUrl,
};

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hadoop-messages")
            .join(name),
    )
    .unwrap()
}

fn attempt() -> ApplicationAttemptId {
    "appattempt_1700000000000_0007_000002".parse().unwrap()
}

fn node() -> NodeId {
    NodeId::new("worker-1.example.com", 45454)
}

#[test]
fn allocate_response_from_hadoop() {
    let r = pb::AllocateResponseProto::decode(bytes("allocate-response.bin").as_slice()).unwrap();
    assert_eq!(r.response_id, Some(12));
    assert_eq!(r.num_cluster_nodes, Some(3));
    assert_eq!(
        Resource::from(r.limit.as_ref().unwrap()),
        Resource::new(4096, 4)
    );

    let [c] = &r.allocated_containers[..] else {
        panic!("one container")
    };
    let c = Container::try_from(c).unwrap();
    assert_eq!(
        c.id.to_string(),
        "container_e05_1700000000000_0007_02_000042"
    );
    assert_eq!((c.id.epoch(), c.id.sequence()), (5, 42));
    assert_eq!(c.node_id, node());
    assert_eq!(c.node_http_address, "worker-1.example.com:8042");
    assert_eq!(c.resource, Resource::new(2048, 2));
    assert_eq!(c.priority, Priority(3));
    assert_eq!(c.allocation_request_id, 9);
    assert_eq!(
        c.container_token,
        Some(Token::new(
            vec![1, 2, 3],
            vec![4, 5],
            "ContainerToken",
            "10.0.0.1:45454"
        ))
    );
    // Our encoding of the same record decodes to the same record.
    let again = pb::ContainerProto::decode(pb::ContainerProto::from(&c).encode_to_vec().as_slice())
        .unwrap();
    assert_eq!(Container::try_from(&again).unwrap(), c);

    let [s] = &r.completed_container_statuses[..] else {
        panic!("one status")
    };
    let s = ContainerStatus::try_from(s).unwrap();
    assert_eq!(s.container_id, ContainerId::new(attempt(), 3));
    assert_eq!(s.state, ContainerState::Complete);
    assert_eq!(s.exit(), ContainerExit::Preempted);
    assert_eq!(s.diagnostics, "Container preempted by scheduler");

    let mut nm = NmTokens::new();
    nm.update(&r.nm_tokens).unwrap();
    assert_eq!(
        nm.get(&node()),
        Some(&Token::new(vec![9], vec![8], "NMToken", "10.0.0.1:45454"))
    );

    let amrm = Token::from(r.am_rm_token.as_ref().unwrap());
    assert_eq!(
        amrm,
        Token::new(vec![7, 7], vec![6, 6], "YARN_AM_RM_TOKEN", "")
    );
}

#[test]
fn token_identifiers_from_hadoop() {
    let c = pb::ContainerTokenIdentifierProto::decode(
        bytes("container-token-identifier.bin").as_slice(),
    )
    .unwrap();
    let cid = ContainerId::try_from(c.container_id.as_ref().unwrap()).unwrap();
    assert_eq!(
        cid.to_string(),
        "container_e05_1700000000000_0007_02_000042"
    );
    assert_eq!(c.nm_host_addr(), "worker-1.example.com:45454");
    assert_eq!(c.app_submitter(), "alice");
    assert_eq!(
        Resource::from(c.resource.as_ref().unwrap()),
        Resource::new(2048, 2)
    );
    assert_eq!(c.expiry_time_stamp(), 1700000600000);
    assert_eq!(c.master_key_id(), 17);
    assert_eq!(c.rm_identifier(), 1700000000000);
    assert_eq!(c.creation_time(), 1700000001000);

    let n =
        pb::NmTokenIdentifierProto::decode(bytes("nm-token-identifier.bin").as_slice()).unwrap();
    assert_eq!(
        ApplicationAttemptId::try_from(n.app_attempt_id.as_ref().unwrap()).unwrap(),
        attempt()
    );
    assert_eq!(
        NodeId::try_from(n.node_id.as_ref().unwrap()).unwrap(),
        node()
    );
    assert_eq!((n.app_submitter(), n.key_id()), ("alice", 23));
}

#[test]
fn start_containers_request_from_hadoop() {
    let r =
        pb::StartContainersRequestProto::decode(bytes("start-containers-request.bin").as_slice())
            .unwrap();
    let [req] = &r.start_container_request[..] else {
        panic!("one request")
    };
    assert_eq!(
        Token::from(req.container_token.as_ref().unwrap()).kind,
        "ContainerToken"
    );
    let ctx = LaunchContext::try_from(req.container_launch_context.as_ref().unwrap()).unwrap();
    assert_eq!(ctx.commands, ["bin/run", "1><LOG_DIR>/stdout"]);
    assert_eq!(
        ctx.environment.get("JAVA_HOME").map(String::as_str),
        Some("/usr/lib/jvm")
    );
    assert!(ctx.credentials().unwrap().is_empty());
    let jar = &ctx.local_resources["app.jar"];
    assert_eq!(
        jar.url,
        ResourceUrl {
            scheme: "hdfs".into(),
            host: Some("nn.example.com".into()),
            port: 8020,
            file: "/user/alice/app.jar".into(),
            user_info: None,
        }
    );
    assert_eq!(
        jar.url,
        ResourceUrl::parse("hdfs://nn.example.com:8020/user/alice/app.jar").unwrap()
    );
    assert_eq!((jar.size, jar.timestamp), (1234, 1699999999000));
    assert_eq!(
        (jar.kind, jar.visibility),
        (
            LocalResourceType::File,
            LocalResourceVisibility::Application
        )
    );

    let back = pb::ContainerLaunchContextProto::from(&ctx);
    assert_eq!(LaunchContext::try_from(&back).unwrap(), ctx);
}
