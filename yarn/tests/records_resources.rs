//! Resource arithmetic, priorities, container statuses and exit classification, application states.

use prost::Message;
use yarn::proto::hadoop::yarn as pb;
use yarn::records::{
    ApplicationAttemptId, ApplicationId, Container, ContainerExit, ContainerId, ContainerState,
    ContainerStatus, ExecutionType, FinalApplicationStatus, NodeId, Priority, RecordError,
    Resource, YarnApplicationState, exit_status,
};

#[test]
fn resource_math() {
    let a = Resource::new(2048, 2);
    let b = Resource::new(1024, 4);
    assert_eq!(a + b, Resource::new(3072, 6));
    assert_eq!(a.saturating_sub(b), Resource::new(1024, 0));
    assert_eq!(b.saturating_sub(a), Resource::new(0, 2));
    assert!(Resource::new(1024, 1).fits_in(&a));
    assert!(a.fits_in(&a));
    assert!(!a.fits_in(&b), "vcores fit but memory does not");
    assert!(!b.fits_in(&a), "memory fits but vcores do not");
    assert_eq!(a.times(3), Resource::new(6144, 6));
    assert_eq!(
        [a, b, a].into_iter().sum::<Resource>(),
        Resource::new(5120, 8)
    );
    let mut c = Resource::ZERO;
    c += a;
    assert_eq!(c, a);
    assert!(Resource::ZERO.is_empty() && !a.is_empty());
    assert_eq!(
        Resource::new(i64::MAX, i32::MAX) + a,
        Resource::new(i64::MAX, i32::MAX)
    );
    assert_eq!(a.to_string(), "<memory:2048, vCores:2>");
}

#[test]
fn normalization_like_the_scheduler() {
    let min = Resource::new(1024, 1);
    let max = Resource::new(8192, 4);
    // Below the minimum → the minimum; in between → rounded up to the step; above → capped.
    assert_eq!(
        Resource::new(100, 0).normalize(min, min, max),
        Resource::new(1024, 1)
    );
    assert_eq!(
        Resource::new(1500, 3).normalize(min, min, max),
        Resource::new(2048, 3)
    );
    assert_eq!(
        Resource::new(2048, 2).normalize(min, min, max),
        Resource::new(2048, 2)
    );
    assert_eq!(Resource::new(9000, 9).normalize(min, min, max), max);
    assert_eq!(
        Resource::new(1100, 1).normalize(min, Resource::new(512, 1), max),
        Resource::new(1536, 1)
    );
    assert_eq!(
        Resource::new(1100, 1).round_up_to(Resource::ZERO),
        Resource::new(1100, 1)
    );
}

#[test]
fn resource_proto_reads_classic_fields_then_the_map() {
    let r = Resource::new(4096, 3);
    let p = pb::ResourceProto::from(r);
    assert_eq!(
        Resource::from(&pb::ResourceProto::decode(p.encode_to_vec().as_slice()).unwrap()),
        r
    );
    let entry = |key: &str, value: i64, units: &str| pb::ResourceInformationProto {
        key: key.into(),
        value: Some(value),
        units: Some(units.into()),
        ..Default::default()
    };
    let map_only = pb::ResourceProto {
        memory: None,
        virtual_cores: None,
        resource_value_map: vec![
            entry("memory-mb", 2, "Gi"),
            entry("vcores", 5, ""),
            entry("yarn.io/gpu", 1, ""),
        ],
    };
    assert_eq!(Resource::from(&map_only), Resource::new(2048, 5));
    let both = pb::ResourceProto {
        memory: Some(1024),
        virtual_cores: Some(1),
        ..map_only
    };
    assert_eq!(Resource::from(&both), Resource::new(1024, 1));
}

#[test]
fn priorities_sort_most_urgent_first() {
    let mut v = vec![Priority(3), Priority(0), Priority(1)];
    v.sort();
    assert_eq!(v, [Priority(0), Priority(1), Priority(3)]);
    assert_eq!(
        Priority::from(&pb::PriorityProto::from(Priority(7))),
        Priority(7)
    );
}

#[test]
fn exit_statuses_classify() {
    let cases = [
        (0, ContainerExit::Success, false),
        (-1000, ContainerExit::Invalid, false),
        (-100, ContainerExit::Aborted, true),
        (-101, ContainerExit::DisksFailed, true),
        (-102, ContainerExit::Preempted, true),
        (
            -103,
            ContainerExit::MemoryExceeded { physical: false },
            false,
        ),
        (
            -104,
            ContainerExit::MemoryExceeded { physical: true },
            false,
        ),
        (-105, ContainerExit::KilledByAppMaster, false),
        (-106, ContainerExit::KilledByResourceManager, true),
        (-107, ContainerExit::KilledAfterAppCompletion, true),
        (-108, ContainerExit::KilledByContainerScheduler, true),
        (-109, ContainerExit::KilledForExcessLogs, false),
        (1, ContainerExit::ExitCode(1), false),
        (137, ContainerExit::ExitCode(137), false),
    ];
    for (status, exit, by_cluster) in cases {
        assert_eq!(ContainerExit::from_status(status), exit, "{status}");
        assert_eq!(exit.status(), status);
        assert_eq!(exit.is_caused_by_cluster(), by_cluster, "{status}");
    }
    assert_eq!(exit_status::PREEMPTED, -102);
    assert_eq!(exit_status::KILLED_BY_APPMASTER, -105);
    assert_eq!(
        ContainerExit::ExitCode(143).to_string(),
        "exit code 143 (SIGTERM)"
    );
    assert_eq!(ContainerExit::Preempted.to_string(), "preempted");
}

fn cid() -> ContainerId {
    ContainerId::new(ApplicationAttemptId::new(ApplicationId::new(1, 2), 1), 3)
}

#[test]
fn container_status_from_proto_uses_yarns_defaults() {
    let p = pb::ContainerStatusProto {
        container_id: Some(cid().into()),
        state: Some(pb::ContainerStateProto::CComplete as i32),
        ..Default::default()
    };
    let s = ContainerStatus::try_from(&p).unwrap();
    assert_eq!(s.state, ContainerState::Complete);
    assert_eq!(s.exit_status, exit_status::INVALID, "the proto default");
    assert_eq!(s.diagnostics, "N/A", "the proto default");
    assert_eq!(s.exit(), ContainerExit::Invalid);
    let back = ContainerStatus::try_from(&pb::ContainerStatusProto::from(&s)).unwrap();
    assert_eq!(back, s);

    let bad = pb::ContainerStatusProto {
        state: Some(9),
        ..p
    };
    assert_eq!(
        ContainerStatus::try_from(&bad).unwrap_err(),
        RecordError::UnknownEnumValue {
            record: "ContainerStatusProto",
            field: "state",
            value: 9
        }
    );
}

#[test]
fn allocated_container_round_trips() {
    let c = Container {
        id: cid(),
        node_id: NodeId::new("n1", 45454),
        node_http_address: "n1:8042".into(),
        resource: Resource::new(1024, 1),
        priority: Priority(1),
        container_token: Some(yarn::credentials::Token::new(
            vec![1],
            vec![2],
            "ContainerToken",
            "10.0.0.1:45454",
        )),
        allocation_request_id: -1,
        execution_type: ExecutionType::Guaranteed,
        version: 0,
    };
    let p = pb::ContainerProto::from(&c);
    let decoded = pb::ContainerProto::decode(p.encode_to_vec().as_slice()).unwrap();
    assert_eq!(Container::try_from(&decoded).unwrap(), c);
    // Absent optional fields take YARN's declared defaults.
    let minimal = pb::ContainerProto {
        id: Some(cid().into()),
        node_id: Some(pb::NodeIdProto::from(NodeId::new("n1", 1))),
        ..Default::default()
    };
    let m = Container::try_from(&minimal).unwrap();
    assert_eq!(
        (m.allocation_request_id, m.version, m.execution_type),
        (-1, 0, ExecutionType::Guaranteed)
    );
}

#[test]
fn application_states_use_yarns_names() {
    for (s, text) in [
        (YarnApplicationState::NewSaving, "NEW_SAVING"),
        (YarnApplicationState::Accepted, "ACCEPTED"),
        (YarnApplicationState::Finished, "FINISHED"),
    ] {
        assert_eq!(s.to_string(), text);
        assert_eq!(text.parse::<YarnApplicationState>().unwrap(), s);
    }
    assert!(
        YarnApplicationState::Killed.is_terminal() && !YarnApplicationState::Running.is_terminal()
    );
    assert_eq!(
        "SUCCEEDED".parse::<FinalApplicationStatus>().unwrap(),
        FinalApplicationStatus::Succeeded
    );
    assert_eq!(
        pb::FinalApplicationStatusProto::from(FinalApplicationStatus::Failed) as i32,
        2
    );
    assert_eq!(
        FinalApplicationStatus::try_from(3).unwrap(),
        FinalApplicationStatus::Killed
    );
    assert!(FinalApplicationStatus::try_from(17).is_err());
    let e = "DONE"
        .parse::<YarnApplicationState>()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown application state \"DONE\"") && e.contains("RUNNING"),
        "{e}"
    );
}
