//! YARN id strings both ways, against strings printed by Hadoop 3.5.0's own records, and their protobuf forms.

use prost::Message;
use yarn::proto::hadoop::yarn as pb;
use yarn::records::{ApplicationAttemptId, ApplicationId, ContainerId, NodeId, RecordError};

fn attempt() -> ApplicationAttemptId {
    ApplicationAttemptId::new(ApplicationId::new(1410901177871, 1), 1)
}

#[test]
fn application_and_attempt_ids_match_hadoop_strings() {
    let a = attempt();
    assert_eq!(
        a.application_id.to_string(),
        "application_1410901177871_0001"
    );
    assert_eq!(a.to_string(), "appattempt_1410901177871_0001_000001");
    assert_eq!(
        "application_1410901177871_0001"
            .parse::<ApplicationId>()
            .unwrap(),
        a.application_id
    );
    assert_eq!(
        "appattempt_1410901177871_0001_000001"
            .parse::<ApplicationAttemptId>()
            .unwrap(),
        a
    );
    // Fewer digits than the padding parse too, and numbers wider than the padding print in full.
    assert_eq!(
        "application_1_1"
            .parse::<ApplicationId>()
            .unwrap()
            .to_string(),
        "application_1_0001"
    );
    assert_eq!(
        ApplicationId::new(7, 123456).to_string(),
        "application_7_123456"
    );
}

#[test]
fn container_ids_match_hadoop_strings_with_and_without_epoch() {
    let cases = [
        (
            ContainerId::new(attempt(), 5),
            "container_1410901177871_0001_01_000005",
        ),
        (
            ContainerId::new(attempt(), (17 << 40) | 5),
            "container_e17_1410901177871_0001_01_000005",
        ),
        (
            ContainerId::new(attempt(), (3 << 40) | 1234567),
            "container_e03_1410901177871_0001_01_1234567",
        ),
        (
            ContainerId::new(
                ApplicationAttemptId::new(ApplicationId::new(7, 12345), 123),
                (1000 << 40) | 12345678901,
            ),
            "container_e1000_7_12345_123_12345678901",
        ),
    ];
    for (id, text) in cases {
        assert_eq!(id.to_string(), text);
        assert_eq!(text.parse::<ContainerId>().unwrap(), id, "{text}");
    }
    // Hadoop parses this one to the 64-bit number 3298536117895.
    let c: ContainerId = "container_e03_1410901177871_0001_01_1234567"
        .parse()
        .unwrap();
    assert_eq!(c.id, 3298536117895);
    assert_eq!((c.epoch(), c.sequence()), (3, 1234567));
    assert_eq!(ContainerId::with_epoch(attempt(), 3, 1234567), c);
    assert_eq!(c.application_id(), attempt().application_id);
}

#[test]
fn bad_id_strings_are_rejected_with_the_expected_shape() {
    for bad in [
        "",
        "container_1_2_3_4_5",
        "container_1_2_3",
        "container_e_1_2_3_4",
        "container_ex1_1_2_3_4",
        "container_1_2_3_-4",
        "container_1_2_3_+4",
        "container_1_2_3_1099511627776",
        "containr_1_2_3_4",
        "application_1",
        "application_1_2_3",
        "application_x_1",
        "application_1_99999999999",
        "appattempt_1_2",
    ] {
        let c = bad.parse::<ContainerId>();
        let a = bad.parse::<ApplicationId>();
        assert!(c.is_err() || a.is_err(), "{bad:?} parsed");
        if bad.starts_with("container") {
            let e = c.unwrap_err().to_string();
            assert!(e.contains("invalid container id"), "{e}");
            assert!(e.contains("expected container_[e<epoch>_]"), "{e}");
        }
    }
    assert!("appattempt_1_2".parse::<ApplicationAttemptId>().is_err());
    let e = "application_x_1"
        .parse::<ApplicationId>()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cluster timestamp \"x\" is not a decimal number"),
        "{e}"
    );
}

#[test]
fn node_ids_are_host_colon_port() {
    let n: NodeId = "worker-3.example.com:45454".parse().unwrap();
    assert_eq!(n, NodeId::new("worker-3.example.com", 45454));
    assert_eq!(n.to_string(), "worker-3.example.com:45454");
    for bad in ["worker", "worker:", ":1", "a:b:1", "worker:x"] {
        assert!(bad.parse::<NodeId>().is_err(), "{bad:?} parsed");
    }
}

#[test]
fn ids_round_trip_through_protobuf() {
    let c = ContainerId::new(attempt(), (17 << 40) | 5);
    let p = pb::ContainerIdProto::from(c);
    assert!(
        p.app_id.is_none(),
        "the legacy app_id field stays unset, as Java writes it"
    );
    let bytes = p.encode_to_vec();
    let back = pb::ContainerIdProto::decode(bytes.as_slice()).unwrap();
    assert_eq!(ContainerId::try_from(&back).unwrap(), c);

    let n = NodeId::new("h", 8041);
    assert_eq!(NodeId::try_from(&pb::NodeIdProto::from(&n)).unwrap(), n);

    let missing = pb::ContainerIdProto {
        id: Some(1),
        ..Default::default()
    };
    assert_eq!(
        ContainerId::try_from(&missing).unwrap_err(),
        RecordError::MissingField {
            record: "ContainerIdProto",
            field: "app_attempt_id"
        }
    );
}
