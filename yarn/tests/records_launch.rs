//! Resource URLs and launch contexts: URI splitting as YARN does it, round trips, redaction.

use yarn::credentials::{Credentials, Token, TokenFileFormat};
use yarn::proto::hadoop::yarn as pb;
use yarn::records::{
    LaunchContext, LocalResource, LocalResourceType, LocalResourceVisibility, ResourceUrl,
};

#[test]
fn urls_split_like_yarns_url_record() {
    let u = ResourceUrl::parse("file:///tmp/a%20b/x.tgz?q=1#frag").unwrap();
    assert_eq!(
        (
            u.scheme.as_str(),
            u.host.as_deref(),
            u.port,
            u.file.as_str()
        ),
        ("file", None, -1, "/tmp/a b/x.tgz")
    );
    let u = ResourceUrl::parse("file:/tmp/x").unwrap();
    assert_eq!((u.host.as_deref(), u.file.as_str()), (None, "/tmp/x"));
    assert_eq!(u.to_uri(), "file:/tmp/x");
    let u = ResourceUrl::parse("hdfs://user:pw@nn:8020/p").unwrap();
    assert_eq!(
        (u.user_info.as_deref(), u.host.as_deref(), u.port),
        (Some("user:pw"), Some("nn"), 8020)
    );
    assert_eq!(u.to_uri(), "hdfs://user:pw@nn:8020/p");
    let u = ResourceUrl::parse("s3a://bucket/key").unwrap();
    assert_eq!(
        (u.host.as_deref(), u.port, u.file.as_str()),
        (Some("bucket"), -1, "/key")
    );
    let u = ResourceUrl::parse("hdfs://[::1]:8020/p").unwrap();
    assert_eq!((u.host.as_deref(), u.port), (Some("[::1]"), 8020));
    assert_eq!(ResourceUrl::parse("hdfs://[::1]/p").unwrap().port, -1);
    for bad in [
        "/no/scheme",
        "1x://h/p",
        "hdfs://h:port/p",
        "hdfs://:1/p",
        "file:/bad%zz",
        "hdfs://[::1/p",
    ] {
        let e = ResourceUrl::parse(bad).unwrap_err().to_string();
        assert!(e.contains("invalid resource URI"), "{bad}: {e}");
    }
}

#[test]
fn launch_context_round_trips_and_hides_credentials() {
    let mut creds = Credentials::new();
    creds.add_token(
        "",
        Token::new(vec![1], b"TOPSECRET".to_vec(), "YARN_AM_RM_TOKEN", ""),
    );
    let mut ctx = LaunchContext {
        commands: vec!["./run".into()],
        view_acl: Some("alice".into()),
        ..Default::default()
    };
    ctx.environment.insert("A".into(), "1".into());
    ctx.service_data
        .insert("mapreduce_shuffle".into(), vec![0, 1]);
    ctx.local_resources.insert(
        "conf".into(),
        LocalResource {
            url: ResourceUrl::parse("hdfs://nn:8020/conf.zip").unwrap(),
            size: 10,
            timestamp: 20,
            kind: LocalResourceType::Archive,
            visibility: LocalResourceVisibility::Private,
            pattern: None,
        },
    );
    ctx.set_credentials(&creds, TokenFileFormat::Writable);
    let p = pb::ContainerLaunchContextProto::from(&ctx);
    assert_eq!(
        p.application_acls[0].access_type,
        Some(pb::ApplicationAccessTypeProto::AppaccessViewApp as i32)
    );
    let back = LaunchContext::try_from(&p).unwrap();
    assert_eq!(back, ctx);
    assert_eq!(back.credentials().unwrap(), creds);
    let dbg = format!("{ctx:?}");
    assert!(
        !dbg.contains("TOPSECRET") && !dbg.contains(&format!("{:?}", b"TOPSECRET")),
        "{dbg}"
    );
    assert!(dbg.contains("bytes of credentials"), "{dbg}");

    let bad = pb::ContainerLaunchContextProto {
        local_resources: vec![pb::StringLocalResourceMapProto {
            key: Some("x".into()),
            value: None,
        }],
        ..Default::default()
    };
    assert!(
        LaunchContext::try_from(&bad)
            .unwrap_err()
            .to_string()
            .contains("StringLocalResourceMapProto has no value")
    );
}
