//! The REST records on their own: Hadoop's documented JSON reads into them (with the odd shapes
//! Jersey and Jettison produce), and what they write is the shape the ResourceManager writes, so the
//! embedded mini cluster can serve them to any YARN client.

use serde_json::{Value, json};
use yarn::rest::types::{
    AppInfo, AppResponse, AppState, ApplicationSubmissionContext, AppsResponse, Commands,
    CredentialsInfo, NewApplication, NodeInfo, NodesResponse, RemoteExceptionResponse,
    ResourceInfo, SchedulerInfo, SchedulerResponse,
};

/// The submission body as Hadoop's documentation writes it (numbers as strings, a bare command).
const DOCUMENTED_SUBMISSION: &str = r#"{
  "application-id":"application_1404203615263_0001",
  "application-name":"test",
  "am-container-spec":{
    "local-resources":{"entry":[{"key":"AppMaster.jar","value":{
      "resource":"hdfs://hdfs-namenode:9000/user/testuser/DistributedShell/demo-app/AppMaster.jar",
      "type":"FILE","visibility":"APPLICATION","size":"43004","timestamp":"1405452071209"}}]},
    "commands":{"command":"{{JAVA_HOME}}/bin/java -Xmx10m org.apache.hadoop.yarn.applications.distributedshell.ApplicationMaster --container_memory 10 --container_vcores 1 --num_containers 1 --priority 0 1><LOG_DIR>/AppMaster.stdout 2><LOG_DIR>/AppMaster.stderr"},
    "environment":{"entry":[{"key":"DISTRIBUTEDSHELLSCRIPTTIMESTAMP","value":"1405459400754"},
      {"key":"CLASSPATH","value":"{{CLASSPATH}}<CPS>./*<CPS>{{HADOOP_CONF_DIR}}"},
      {"key":"DISTRIBUTEDSHELLSCRIPTLEN","value":"6"},
      {"key":"DISTRIBUTEDSHELLSCRIPTLOCATION","value":"hdfs://hdfs-namenode:9000/user/testuser/demo-app/shellCommands"}]}
  },
  "unmanaged-AM":"false",
  "max-app-attempts":"2",
  "resource":{"memory":"1024","vCores":"1"},
  "application-type":"YARN",
  "keep-containers-across-application-attempts":"false",
  "log-aggregation-context":{"log-include-pattern":"file1","log-exclude-pattern":"file2",
    "rolled-log-include-pattern":"file3","rolled-log-exclude-pattern":"file4",
    "log-aggregation-policy-class-name":"org.apache.hadoop.yarn.server.nodemanager.containermanager.logaggregation.AllContainerLogAggregationPolicy",
    "log-aggregation-policy-parameters":""},
  "attempt-failures-validity-interval":"3600000",
  "reservation-id":"reservation_1454114874_1",
  "am-black-listing-requests":{"am-black-listing-enabled":"true","disable-failure-threshold":"0.01"}
}"#;

#[test]
fn reads_the_documented_submission_body() {
    let ctx: ApplicationSubmissionContext = serde_json::from_str(DOCUMENTED_SUBMISSION).unwrap();
    assert_eq!(ctx.application_id, "application_1404203615263_0001");
    assert_eq!(ctx.max_app_attempts, Some(2));
    assert_eq!(ctx.resource, ResourceInfo::new(1024, 1));
    assert!(!ctx.unmanaged_am);
    assert_eq!(ctx.queue, None);
    assert_eq!(ctx.attempt_failures_validity_interval, Some(3_600_000));
    let jar = ctx
        .am_container_spec
        .local_resources
        .get("AppMaster.jar")
        .unwrap();
    assert_eq!((jar.size, jar.timestamp), (43004, 1_405_452_071_209));
    assert_eq!(
        (jar.kind.as_str(), jar.visibility.as_str()),
        ("FILE", "APPLICATION")
    );
    assert_eq!(ctx.am_container_spec.commands.command.len(), 1);
    assert!(ctx.am_container_spec.commands.command[0].ends_with("2><LOG_DIR>/AppMaster.stderr"));
    assert_eq!(
        ctx.am_container_spec
            .environment
            .get("DISTRIBUTEDSHELLSCRIPTLEN")
            .map(String::as_str),
        Some("6")
    );
    let blacklisting = ctx.am_black_listing_requests.as_ref().unwrap();
    assert!(blacklisting.enabled);
    assert_eq!(blacklisting.disable_failure_threshold, 0.01);
    assert_eq!(
        ctx.log_aggregation_context
            .unwrap()
            .rolled_log_include_pattern
            .as_deref(),
        Some("file3")
    );
}

#[test]
fn writes_the_submission_in_hadoops_shape_and_reads_it_back() {
    let mut ctx: ApplicationSubmissionContext =
        serde_json::from_str(DOCUMENTED_SUBMISSION).unwrap();
    ctx.am_container_spec.commands = Commands {
        command: vec!["./am".to_owned(), "--flag".to_owned()],
    };
    ctx.cancel_tokens_when_complete = Some(false);
    let written = serde_json::to_value(&ctx).unwrap();
    assert_eq!(
        written["am-container-spec"]["commands"],
        json!({"command": ["./am", "--flag"]})
    );
    assert_eq!(written["resource"], json!({"memory": 1024, "vCores": 1}));
    assert_eq!(written["unmanaged-AM"], json!(false));
    assert_eq!(written["cancel-tokens-when-complete"], json!(false));
    assert_eq!(
        written["am-black-listing-requests"],
        json!({"am-black-listing-enabled": true, "disable-failure-threshold": 0.01})
    );
    assert_eq!(
        written["am-container-spec"]["local-resources"]["entry"][0]["value"]["size"],
        json!(43004)
    );
    // Absent optional parts are left out, as JAXB leaves out nulls.
    assert!(written.get("queue").is_none());
    assert!(written.get("priority").is_none());
    assert!(written["am-container-spec"].get("credentials").is_none());
    let back: ApplicationSubmissionContext = serde_json::from_value(written).unwrap();
    assert_eq!(back, ctx);
}

#[test]
fn credentials_never_show_in_debug_output() {
    let json = r#"{"tokens":{"entry":{"key":"RMDelegationToken","value":"SECRET-TOKEN-BYTES"}},
                   "secrets":{"entry":[{"key":"spindle.secret","value":"c2VjcmV0LXZhbHVl"}]}}"#;
    let creds: CredentialsInfo = serde_json::from_str(json).unwrap();
    assert_eq!(
        creds.tokens.get("RMDelegationToken").map(String::as_str),
        Some("SECRET-TOKEN-BYTES")
    );
    let debug = format!("{creds:?}");
    assert!(debug.contains("RMDelegationToken"), "{debug}");
    assert!(debug.contains("spindle.secret"), "{debug}");
    assert!(!debug.contains("SECRET-TOKEN-BYTES"), "{debug}");
    assert!(!debug.contains("c2VjcmV0LXZhbHVl"), "{debug}");

    let mut ctx = ApplicationSubmissionContext::default();
    ctx.am_container_spec.credentials = Some(creds);
    let debug = format!("{ctx:?}");
    assert!(!debug.contains("SECRET-TOKEN-BYTES"), "{debug}");
    // The JSON itself carries them, in the RM's shape.
    let written = serde_json::to_value(&ctx).unwrap();
    assert_eq!(
        written["am-container-spec"]["credentials"]["tokens"],
        json!({"entry": [{"key": "RMDelegationToken", "value": "SECRET-TOKEN-BYTES"}]})
    );
}

#[test]
fn empty_lists_are_written_as_null_like_the_resourcemanager() {
    assert_eq!(
        serde_json::to_value(AppsResponse::from(Vec::new())).unwrap(),
        json!({"apps": null})
    );
    assert_eq!(
        serde_json::to_value(NodesResponse::from(Vec::new())).unwrap(),
        json!({"nodes": null})
    );
    let node = NodeInfo {
        id: "host:45454".to_owned(),
        state: "RUNNING".to_owned(),
        node_http_address: "host:8042".to_owned(),
        total_resource: Some(ResourceInfo::new(8192, 8)),
        ..NodeInfo::default()
    };
    let written = serde_json::to_value(NodesResponse::from(vec![node.clone()])).unwrap();
    assert_eq!(
        written["nodes"]["node"][0]["nodeHTTPAddress"],
        json!("host:8042")
    );
    assert_eq!(
        written["nodes"]["node"][0]["totalResource"],
        json!({"memory": 8192, "vCores": 8})
    );
    let back: NodesResponse = serde_json::from_value(written).unwrap();
    assert_eq!(back.into_vec(), vec![node]);
}

#[test]
fn app_reports_use_hadoops_field_names() {
    let app = AppInfo {
        id: "application_1700000000000_0001".to_owned(),
        state: "RUNNING".to_owned(),
        final_status: "UNDEFINED".to_owned(),
        tracking_ui: "ApplicationMaster".to_owned(),
        tracking_url: Some("http://rm:8088/proxy/application_1700000000000_0001/".to_owned()),
        am_rpc_address: Some("host:4000".to_owned()),
        allocated_mb: 2048,
        allocated_v_cores: 2,
        num_am_container_preempted: 0,
        ..AppInfo::default()
    };
    let written = serde_json::to_value(AppResponse { app: app.clone() }).unwrap();
    let obj = written["app"].as_object().unwrap();
    for key in [
        "id",
        "finalStatus",
        "trackingUI",
        "trackingUrl",
        "amRPCAddress",
        "allocatedMB",
        "allocatedVCores",
        "runningContainers",
        "numAMContainerPreempted",
        "numNonAMContainerPreempted",
        "preemptedResourceMB",
        "launchTime",
        "unmanagedApplication",
    ] {
        assert!(obj.contains_key(key), "missing {key} in {written}");
    }
    assert!(
        !obj.contains_key("amContainerLogs"),
        "nulls are left out: {written}"
    );
    let back: AppResponse = serde_json::from_value(written).unwrap();
    assert_eq!(back.app, app);
}

#[test]
fn reads_values_written_as_strings_by_jettison() {
    let app: AppResponse = serde_json::from_str(
        r#"{"app":{"id":"application_1_0001","progress":"12.5","allocatedMB":"-1",
            "unmanagedApplication":"true","priority":"0","startedTime":"1700000001000"}}"#,
    )
    .unwrap();
    assert_eq!(app.app.progress, 12.5);
    assert_eq!(app.app.allocated_mb, -1);
    assert!(app.app.unmanaged_application);
    let new: NewApplication = serde_json::from_str(
        r#"{"application-id":"application_1409421698529_0012",
            "maximum-resource-capability":{"memory":"8192","vCores":"32"}}"#,
    )
    .unwrap();
    assert_eq!(new.maximum_resource_capability, ResourceInfo::new(8192, 32));
}

#[test]
fn bad_values_are_errors_not_panics() {
    for bad in [
        r#"{"app":{"allocatedMB":"lots"}}"#,
        r#"{"app":{"unmanagedApplication":"maybe"}}"#,
        r#"{"app":[1,2]}"#,
        r#"{"app":"#,
    ] {
        assert!(serde_json::from_str::<AppResponse>(bad).is_err(), "{bad}");
    }
}

#[test]
fn scheduler_type_tags_round_trip_and_unknown_schedulers_are_tolerated() {
    let fifo: SchedulerResponse = serde_json::from_str(
        r#"{"scheduler":{"schedulerInfo":{"type":"fifoScheduler","capacity":1.0,"usedCapacity":0.5,
            "qstate":"RUNNING","numNodes":1}}}"#,
    )
    .unwrap();
    let written = serde_json::to_value(&fifo).unwrap();
    assert_eq!(
        written["scheduler"]["schedulerInfo"]["type"],
        json!("fifoScheduler")
    );
    assert_eq!(
        written["scheduler"]["schedulerInfo"]["qstate"],
        json!("RUNNING")
    );
    let other: SchedulerResponse = serde_json::from_str(
        r#"{"scheduler":{"schedulerInfo":{"type":"someFutureScheduler","x":1}}}"#,
    )
    .unwrap();
    assert_eq!(other.scheduler.scheduler_info, SchedulerInfo::Other);
}

#[test]
fn fair_scheduler_tree_is_read() {
    let fair: SchedulerResponse = serde_json::from_str(
        r#"{"scheduler":{"schedulerInfo":{"type":"fairScheduler","rootQueue":{"maxApps":2147483647,
            "minResources":{"memory":0,"vCores":0},"maxResources":{"memory":8192,"vCores":8},
            "usedResources":{"memory":0,"vCores":0},"fairResources":{"memory":8192,"vCores":8},
            "queueName":"root","schedulingPolicy":"fair","childQueues":{"queue":[
              {"type":"fairSchedulerLeafQueueInfo","maxApps":2147483647,"queueName":"root.default",
               "schedulingPolicy":"fair","numPendingApps":0,"numActiveApps":0}]}}}}}"#,
    )
    .unwrap();
    let SchedulerInfo::Fair(fair) = fair.scheduler.scheduler_info else {
        panic!("expected the fair scheduler");
    };
    assert_eq!(fair.root_queue.queue_name, "root");
    let children = &fair.root_queue.child_queues.as_ref().unwrap().queue;
    assert_eq!(children[0].queue_name, "root.default");
}

#[test]
fn app_state_and_remote_exception_shapes() {
    assert_eq!(
        serde_json::to_value(AppState {
            state: "KILLED".to_owned(),
            diagnostics: None
        })
        .unwrap(),
        json!({"state": "KILLED"})
    );
    let e = RemoteExceptionResponse::new(
        "NotFoundException",
        "org.apache.hadoop.yarn.webapp.NotFoundException",
        "app not found",
    );
    let v: Value = serde_json::to_value(&e).unwrap();
    assert_eq!(
        v,
        json!({"RemoteException": {"exception": "NotFoundException", "message": "app not found",
            "javaClassName": "org.apache.hadoop.yarn.webapp.NotFoundException"}})
    );
}
