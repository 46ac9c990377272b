//! The ResourceManager REST client against a scripted RM speaking Hadoop 3.x's JSON: paths, methods,
//! `user.name`, bodies, the odd shapes Jersey writes, errors, and HA failover.

mod rest_fake;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rest_fake::{Reply, refused_address, serve};
use serde_json::json;
use yarn::rest::types::{
    ApplicationSubmissionContext, ApplicationTags, Commands, ContainerLaunchContextInfo,
    LocalResourceInfo, ResourceInfo, SchedulerInfo,
};
use yarn::rest::{AppsQuery, Entries, KillOutcome, RestError, RmClient};

const CLUSTER_INFO: &str = r#"{"clusterInfo":{"id":1700000000000,"startedOn":1700000000000,
 "state":"STARTED","haState":"ACTIVE",
 "rmStateStoreName":"org.apache.hadoop.yarn.server.resourcemanager.recovery.NullRMStateStore",
 "resourceManagerVersion":"3.4.1","resourceManagerBuildVersion":"3.4.1 from 4d7825309348 by mthakur source checksum 7c2ec7b0c4",
 "resourceManagerVersionBuiltOn":"2024-10-09T14:57Z","hadoopVersion":"3.4.1",
 "hadoopBuildVersion":"3.4.1 from 4d7825309348 by mthakur source checksum 7e7c8a7f2e",
 "hadoopVersionBuiltOn":"2024-10-09T14:31Z","haZooKeeperConnectionState":"ResourceManager HA is not enabled."}}"#;

const METRICS: &str = r#"{"clusterMetrics":{"appsSubmitted":3,"appsCompleted":1,"appsPending":0,
 "appsRunning":2,"appsFailed":0,"appsKilled":0,"reservedMB":0,"availableMB":14336,"allocatedMB":2048,
 "pendingMB":0,"reservedVirtualCores":0,"availableVirtualCores":14,"allocatedVirtualCores":2,
 "pendingVirtualCores":0,"containersAllocated":2,"containersReserved":0,"containersPending":0,
 "totalMB":16384,"totalVirtualCores":16,"utilizedMBPercent":12,"utilizedVirtualCoresPercent":12,
 "rmSchedulerBusyPercent":-1,"totalNodes":2,"lostNodes":0,"unhealthyNodes":0,"decommissioningNodes":0,
 "decommissionedNodes":0,"rebootedNodes":0,"activeNodes":2,"shutdownNodes":0,
 "containerAssignedPerSecond":0,"totalUsedResourcesAcrossPartition":{"memory":2048,"vCores":2},
 "crossPartitionMetricsAvailable":true}}"#;

const NODES: &str = r#"{"nodes":{"node":[
 {"rack":"/default-rack","state":"RUNNING","id":"worker1:45454","nodeHostName":"worker1",
  "nodeHTTPAddress":"worker1:8042","lastHealthUpdate":1700000100000,"version":"3.4.1","healthReport":"",
  "numContainers":2,"usedMemoryMB":2048,"availMemoryMB":6144,"usedVirtualCores":2,"availableVirtualCores":6,
  "numRunningOpportContainers":0,"usedMemoryOpportGB":0,"usedVirtualCoresOpport":0,"numQueuedContainers":0,
  "nodeLabels":["gpu"],
  "resourceUtilization":{"nodePhysicalMemoryMB":3000,"nodeVirtualMemoryMB":3000,"nodeCPUUsage":0.25,
   "aggregatedContainersPhysicalMemoryMB":1500,"aggregatedContainersVirtualMemoryMB":1600,"containersCPUUsage":0.125},
  "usedResource":{"memory":2048,"vCores":2},"availableResource":{"memory":6144,"vCores":6},
  "totalResource":{"memory":8192,"vCores":8,"resourceInformations":{"resourceInformation":[
   {"maximumAllocation":9223372036854775807,"minimumAllocation":0,"name":"memory-mb","resourceType":"COUNTABLE","units":"Mi","value":8192},
   {"maximumAllocation":9223372036854775807,"minimumAllocation":0,"name":"vcores","resourceType":"COUNTABLE","units":"","value":8}]}}},
 {"rack":"/default-rack","state":"RUNNING","id":"worker2:45454","nodeHostName":"worker2",
  "nodeHTTPAddress":"worker2:8042","lastHealthUpdate":1700000100000,"version":"3.4.1","healthReport":"",
  "numContainers":0,"usedMemoryMB":0,"availMemoryMB":8192,"usedVirtualCores":0,"availableVirtualCores":8}]}}"#;

const CAPACITY_SCHEDULER: &str = r#"{"scheduler":{"schedulerInfo":{"type":"capacityScheduler",
 "capacity":100.0,"usedCapacity":12.5,"maxCapacity":100.0,"queueName":"root","queues":{"queue":[
  {"type":"capacitySchedulerLeafQueueInfo","capacity":70.0,"usedCapacity":17.857143,"maxCapacity":100.0,
   "absoluteCapacity":70.0,"absoluteMaxCapacity":100.0,"absoluteUsedCapacity":12.5,"numApplications":2,
   "queueName":"default","queuePath":"root.default","state":"RUNNING",
   "resourcesUsed":{"memory":2048,"vCores":2},"hideReservationQueues":false,"nodeLabels":["*"],
   "numActiveApplications":2,"numPendingApplications":0,"numContainers":2,"maxApplications":7000,
   "maxApplicationsPerUser":7000,"userLimit":100,"users":null,"userLimitFactor":1.0,
   "AMResourceLimit":{"memory":2048,"vCores":1},"usedAMResource":{"memory":1024,"vCores":1},
   "userAMResourceLimit":{"memory":2048,"vCores":1},"preemptionDisabled":true,"defaultPriority":0},
  {"capacity":30.0,"usedCapacity":0.0,"maxCapacity":50.0,"absoluteCapacity":30.0,
   "absoluteMaxCapacity":50.0,"absoluteUsedCapacity":0.0,"numApplications":0,"queueName":"batch",
   "state":"RUNNING","resourcesUsed":{"memory":0,"vCores":0},"queues":{"queue":
    {"type":"capacitySchedulerLeafQueueInfo","capacity":100.0,"usedCapacity":0.0,"maxCapacity":100.0,
     "absoluteCapacity":30.0,"absoluteMaxCapacity":50.0,"absoluteUsedCapacity":0.0,"numApplications":0,
     "queueName":"nightly","state":"STOPPED","resourcesUsed":{"memory":0,"vCores":0},
     "numActiveApplications":0,"numPendingApplications":0,"numContainers":0,"maxApplications":"3000",
     "maxApplicationsPerUser":3000,"userLimit":100,"userLimitFactor":1.0}}}]},
 "health":{"lastrun":0,"operationsInfo":[]}}}}"#;

const APP_RUNNING: &str = r#"{"id":"application_1700000000000_0001","user":"alice","name":"wordcount",
 "queue":"default","state":"RUNNING","finalStatus":"UNDEFINED","progress":50.0,
 "trackingUI":"ApplicationMaster","trackingUrl":"http://rm:8088/proxy/application_1700000000000_0001/",
 "diagnostics":"","clusterId":1700000000000,"applicationType":"SPINDLE","applicationTags":"team-a,nightly",
 "priority":0,"startedTime":1700000001000,"launchTime":1700000002000,"finishedTime":0,"elapsedTime":60000,
 "amContainerLogs":"http://worker1:8042/node/containerlogs/container_1700000000000_0001_01_000001/alice",
 "amHostHttpAddress":"worker1:8042","amRPCAddress":"worker1:34567",
 "masterNodeId":"worker1:45454","allocatedMB":2048,"allocatedVCores":2,"reservedMB":0,"reservedVCores":0,
 "runningContainers":2,"memorySeconds":120000,"vcoreSeconds":120,"queueUsagePercentage":17.857143,
 "clusterUsagePercentage":12.5,
 "resourceSecondsMap":{"entry":[{"key":"memory-mb","value":"120000"},{"key":"vcores","value":"120"}]},
 "preemptedResourceMB":0,"preemptedResourceVCores":0,"numNonAMContainerPreempted":0,
 "numAMContainerPreempted":0,"preemptedMemorySeconds":0,"preemptedVcoreSeconds":0,
 "preemptedResourceSecondsMap":{},"logAggregationStatus":"DISABLED","unmanagedApplication":false,
 "amNodeLabelExpression":"","timeouts":{"timeout":[{"type":"LIFETIME","expiryTime":"UNLIMITED",
 "remainingTimeInSeconds":-1}]}}"#;

const APP_ACCEPTED: &str = r#"{"id":"application_1700000000000_0002","user":"bob","name":"etl",
 "queue":"default","state":"ACCEPTED","finalStatus":"UNDEFINED","progress":0.0,"trackingUI":"UNASSIGNED",
 "diagnostics":"[Sun Nov 22 03:00:00 +0000 2026] Application is Activated, waiting for resources to be assigned for AM.",
 "clusterId":1700000000000,"applicationType":"SPINDLE","applicationTags":"","priority":0,
 "startedTime":1700000005000,"launchTime":0,"finishedTime":0,"elapsedTime":1000,"allocatedMB":0,
 "allocatedVCores":0,"runningContainers":0,"memorySeconds":0,"vcoreSeconds":0,
 "unmanagedApplication":false}"#;

const NOT_FOUND: &str = r#"{"RemoteException":{"exception":"NotFoundException",
 "message":"java.lang.Exception: app with id: application_1700000000000_0042 not found",
 "javaClassName":"org.apache.hadoop.yarn.webapp.NotFoundException"}}"#;

fn client(url: &str) -> RmClient {
    RmClient::new(&[url], Some("alice")).unwrap()
}

#[tokio::test]
async fn reads_cluster_info_metrics_nodes_and_node() {
    let rm = serve(|req| match req.path.as_str() {
        "/ws/v1/cluster/info" => Reply::json(200, CLUSTER_INFO),
        "/ws/v1/cluster/metrics" => Reply::json(200, METRICS),
        "/ws/v1/cluster/nodes" => Reply::json(200, NODES),
        "/ws/v1/cluster/nodes/worker2:45454" => Reply::json(
            200,
            r#"{"node":{"rack":"/default-rack","state":"LOST","id":"worker2:45454",
                "nodeHostName":"worker2","nodeHTTPAddress":"","numContainers":0}}"#,
        ),
        _ => Reply::json(404, NOT_FOUND),
    })
    .await;
    let rm_client = client(&rm.url);

    let info = rm_client.cluster_info().await.unwrap();
    assert_eq!(info.id, 1_700_000_000_000);
    assert_eq!(info.ha_state, "ACTIVE");
    assert_eq!(info.resource_manager_version, "3.4.1");

    let metrics = rm_client.metrics().await.unwrap();
    assert_eq!((metrics.apps_running, metrics.total_mb), (2, 16384));
    assert_eq!(
        (metrics.active_nodes, metrics.available_virtual_cores),
        (2, 14)
    );

    let nodes = rm_client.nodes(&["RUNNING", "UNHEALTHY"]).await.unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0].id, "worker1:45454");
    assert_eq!(nodes[0].node_http_address, "worker1:8042");
    assert_eq!(
        (nodes[0].used_memory_mb, nodes[0].avail_memory_mb),
        (2048, 6144)
    );
    assert_eq!(nodes[0].node_labels, vec!["gpu".to_owned()]);
    let total = nodes[0].total_resource.as_ref().unwrap();
    assert_eq!((total.memory, total.v_cores), (8192, 8));
    let infos = &total
        .resource_informations
        .as_ref()
        .unwrap()
        .resource_information;
    assert_eq!(infos[0].maximum_allocation, i64::MAX);
    assert_eq!(
        nodes[0]
            .resource_utilization
            .as_ref()
            .unwrap()
            .node_cpu_usage,
        0.25
    );
    assert!(nodes[1].total_resource.is_none());

    let node = rm_client.node("worker2:45454").await.unwrap();
    assert_eq!(node.state, "LOST");

    let requests = rm.requests();
    let paths: Vec<_> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/ws/v1/cluster/info",
            "/ws/v1/cluster/metrics",
            "/ws/v1/cluster/nodes",
            "/ws/v1/cluster/nodes/worker2:45454"
        ]
    );
    for r in &requests {
        assert_eq!(r.method, "GET");
        assert_eq!(r.param("user.name"), Some("alice"), "{r:?}");
        assert_eq!(r.accept.as_deref(), Some("application/json"));
    }
    assert_eq!(requests[2].param("states"), Some("RUNNING,UNHEALTHY"));
    assert_eq!(requests[0].param("states"), None);
}

#[tokio::test]
async fn reads_the_capacity_scheduler_queue_tree() {
    let rm = serve(|_| Reply::json(200, CAPACITY_SCHEDULER)).await;
    let SchedulerInfo::Capacity(root) = client(&rm.url).scheduler().await.unwrap() else {
        panic!("expected the capacity scheduler");
    };
    assert_eq!(root.queue_name, "root");
    assert_eq!(root.used_capacity, 12.5);
    let top = &root.queues.as_ref().unwrap().queue;
    assert_eq!(top.len(), 2);
    let default = &top[0];
    assert_eq!(
        default.kind.as_deref(),
        Some("capacitySchedulerLeafQueueInfo")
    );
    assert_eq!(default.queue_path.as_deref(), Some("root.default"));
    assert_eq!(default.capacity, 70.0);
    assert_eq!(default.max_applications, Some(7000));
    assert_eq!(default.am_resource_limit.as_ref().unwrap().memory, 2048);
    assert!(default.children().is_empty());
    let batch = &top[1];
    assert_eq!(batch.max_capacity, 50.0);
    assert_eq!(batch.max_applications, None);
    // A single child is written as a bare object, and a number as a string.
    let nightly = &batch.children()[0];
    assert_eq!(nightly.queue_name, "nightly");
    assert_eq!(nightly.state, "STOPPED");
    assert_eq!(nightly.max_applications, Some(3000));
    assert_eq!(rm.requests()[0].path, "/ws/v1/cluster/scheduler");
}

#[tokio::test]
async fn reads_the_fifo_scheduler_with_nan() {
    let rm = serve(|_| {
        Reply::json(
            200,
            r#"{"scheduler":{"schedulerInfo":{"type":"fifoScheduler","capacity":1.0,"usedCapacity":"NaN",
              "qstate":"RUNNING","minQueueMemoryCapacity":1024,"maxQueueMemoryCapacity":8192,"numNodes":0,
              "usedNodeCapacity":0,"availNodeCapacity":0,"totalNodeCapacity":0,"numContainers":0}}}"#,
        )
    })
    .await;
    let SchedulerInfo::Fifo(fifo) = client(&rm.url).scheduler().await.unwrap() else {
        panic!("expected the fifo scheduler");
    };
    assert!(fifo.used_capacity.is_nan());
    assert_eq!(fifo.qstate, "RUNNING");
    assert_eq!(fifo.max_queue_memory_capacity, 8192);
}

#[tokio::test]
async fn reads_app_reports_in_every_list_shape() {
    let bodies = [
        r#"{"apps":null}"#.to_owned(),
        r#"{"apps":{}}"#.to_owned(),
        format!(r#"{{"apps":{{"app":{APP_RUNNING}}}}}"#),
        format!(r#"{{"apps":{{"app":[{APP_RUNNING},{APP_ACCEPTED}]}}}}"#),
    ];
    let calls = AtomicUsize::new(0);
    let rm = serve(move |_| {
        let i = calls.fetch_add(1, Ordering::SeqCst);
        Reply::json(200, &bodies[i])
    })
    .await;
    let rm_client = client(&rm.url);
    let all = AppsQuery::default();
    assert!(rm_client.apps(&all).await.unwrap().is_empty());
    assert!(rm_client.apps(&all).await.unwrap().is_empty());
    let one = rm_client.apps(&all).await.unwrap();
    assert_eq!(one.len(), 1);
    let app = &one[0];
    assert_eq!(app.id, "application_1700000000000_0001");
    assert_eq!(
        (app.state.as_str(), app.final_status.as_str()),
        ("RUNNING", "UNDEFINED")
    );
    assert_eq!(app.progress, 50.0);
    assert_eq!(app.tracking_ui, "ApplicationMaster");
    assert_eq!(
        app.tracking_url.as_deref(),
        Some("http://rm:8088/proxy/application_1700000000000_0001/")
    );
    assert_eq!(app.am_rpc_address.as_deref(), Some("worker1:34567"));
    assert_eq!(app.am_host_http_address.as_deref(), Some("worker1:8042"));
    assert_eq!((app.allocated_mb, app.allocated_v_cores), (2048, 2));
    assert_eq!(app.launch_time, 1_700_000_002_000);
    let secs = app.resource_seconds_map.as_ref().unwrap();
    assert_eq!(secs.get("memory-mb").map(|l| l.0), Some(120_000));
    assert_eq!(
        app.timeouts.as_ref().unwrap().timeout[0].remaining_time_in_seconds,
        -1
    );
    let two = rm_client.apps(&all).await.unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(two[1].tracking_url, None);
    assert_eq!(two[1].tracking_ui, "UNASSIGNED");
    assert!(two[1].diagnostics.contains("waiting for resources"));
}

#[tokio::test]
async fn sends_app_list_filters() {
    let rm = serve(|_| Reply::json(200, r#"{"apps":null}"#)).await;
    let query = AppsQuery {
        states: vec!["RUNNING".into(), "ACCEPTED".into()],
        queue: Some("default".into()),
        user: Some("bob".into()),
        application_types: vec!["SPINDLE".into()],
        limit: Some(10),
        ..AppsQuery::default()
    };
    client(&rm.url).apps(&query).await.unwrap();
    let req = &rm.requests()[0];
    assert_eq!(req.path, "/ws/v1/cluster/apps");
    assert_eq!(req.param("states"), Some("RUNNING,ACCEPTED"));
    assert_eq!(req.param("queue"), Some("default"));
    assert_eq!(req.param("user"), Some("bob"));
    assert_eq!(req.param("applicationTypes"), Some("SPINDLE"));
    assert_eq!(req.param("limit"), Some("10"));
    assert_eq!(req.param("user.name"), Some("alice"));
    assert_eq!(req.param("finalStatus"), None);
}

#[tokio::test]
async fn reads_one_app_its_attempts_and_containers() {
    let rm = serve(|req| match req.path.as_str() {
        "/ws/v1/cluster/apps/application_1700000000000_0001" => {
            Reply::json(200, &format!(r#"{{"app":{APP_RUNNING}}}"#))
        }
        "/ws/v1/cluster/apps/application_1700000000000_0001/appattempts" => Reply::json(
            200,
            r#"{"appAttempts":{"appAttempt":[{"id":1,"startTime":1700000001500,"finishedTime":0,
              "containerId":"container_1700000000000_0001_01_000001","nodeHttpAddress":"worker1:8042",
              "nodeId":"worker1:45454","logsLink":"http://worker1:8042/node/containerlogs/container_1700000000000_0001_01_000001/alice",
              "blacklistedNodes":"","nodesBlacklistedBySystem":"",
              "appAttemptId":"appattempt_1700000000000_0001_000001","appAttemptState":"RUNNING"}]}}"#,
        ),
        "/ws/v1/cluster/apps/application_1700000000000_0001/appattempts/appattempt_1700000000000_0001_000001/containers" => {
            Reply::json(
                200,
                r#"{"containers":{"container":{"containerId":"container_1700000000000_0001_01_000002",
                  "allocatedMB":"1024","allocatedVCores":"1","assignedNodeId":"worker2:45454","priority":"1",
                  "startedTime":"1700000003000","finishedTime":"0","elapsedTime":"57000",
                  "logUrl":"http://worker2:8042/node/containerlogs/container_1700000000000_0001_01_000002/alice",
                  "containerExitStatus":"0","containerState":"RUNNING","nodeHttpAddress":"http://worker2:8042",
                  "nodeId":"worker2:45454","allocatedResources":{"entry":[{"key":"memory-mb","value":"1024"},
                  {"key":"vcores","value":"1"}]}}}}"#,
            )
        }
        _ => Reply::json(404, NOT_FOUND),
    })
    .await;
    let rm_client = client(&rm.url);
    let app = rm_client
        .app("application_1700000000000_0001")
        .await
        .unwrap();
    assert_eq!(app.user, "alice");
    let attempts = rm_client
        .app_attempts("application_1700000000000_0001")
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].id, 1);
    assert_eq!(attempts[0].app_attempt_state, "RUNNING");
    assert_eq!(
        attempts[0].container_id.as_deref(),
        Some("container_1700000000000_0001_01_000001")
    );
    let containers = rm_client
        .attempt_containers(
            "application_1700000000000_0001",
            "appattempt_1700000000000_0001_000001",
        )
        .await
        .unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(
        (c.allocated_mb, c.allocated_v_cores, c.priority),
        (1024, 1, 1)
    );
    assert_eq!(c.elapsed_time, 57_000);
    assert_eq!(c.container_state, "RUNNING");
    assert_eq!(
        c.allocated_resources
            .as_ref()
            .unwrap()
            .get("vcores")
            .map(|l| l.0),
        Some(1)
    );

    let err = rm_client
        .app("application_1700000000000_0042")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.exception(), Some("NotFoundException"));
    assert_eq!(
        err.to_string(),
        "the ResourceManager refused the report of application_1700000000000_0042: NotFoundException: \
         java.lang.Exception: app with id: application_1700000000000_0042 not found (HTTP 404 Not Found)"
    );
}

fn submission(app_id: &str) -> ApplicationSubmissionContext {
    ApplicationSubmissionContext {
        application_id: app_id.to_owned(),
        application_name: "wordcount".to_owned(),
        queue: Some("default".to_owned()),
        priority: Some(0),
        am_container_spec: ContainerLaunchContextInfo {
            local_resources: [(
                "spindle",
                LocalResourceInfo {
                    resource:
                        "hdfs://nn:8020/user/alice/.spindle/application_1700000000000_0003/spindle"
                            .to_owned(),
                    kind: "FILE".to_owned(),
                    visibility: "APPLICATION".to_owned(),
                    size: 43004,
                    timestamp: 1_405_452_071_209,
                    pattern: None,
                },
            )]
            .into_iter()
            .collect(),
            environment: [("SPINDLE_MODE", "session".to_owned())]
                .into_iter()
                .collect(),
            commands: Commands {
                command: vec!["./spindle am 1><LOG_DIR>/am.out 2><LOG_DIR>/am.err".to_owned()],
            },
            ..ContainerLaunchContextInfo::default()
        },
        max_app_attempts: Some(2),
        resource: ResourceInfo::new(1024, 1),
        application_type: "SPINDLE".to_owned(),
        keep_containers_across_application_attempts: true,
        application_tags: Some(ApplicationTags {
            tag: vec!["team-a".to_owned()],
        }),
        attempt_failures_validity_interval: Some(600_000),
        ..ApplicationSubmissionContext::default()
    }
}

#[tokio::test]
async fn asks_for_a_new_application_and_submits_it() {
    let rm = serve(|req| match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/ws/v1/cluster/apps/new-application") => Reply::json(
            200,
            r#"{"application-id":"application_1700000000000_0003",
               "maximum-resource-capability":{"memory":"8192","vCores":"4"}}"#,
        ),
        ("POST", "/ws/v1/cluster/apps") => Reply::empty(202).with_header(
            "location",
            "http://rm:8088/ws/v1/cluster/apps/application_1700000000000_0003",
        ),
        _ => Reply::json(404, NOT_FOUND),
    })
    .await;
    let rm_client = client(&rm.url);
    let new = rm_client.new_application().await.unwrap();
    assert_eq!(new.application_id, "application_1700000000000_0003");
    assert_eq!(new.maximum_resource_capability, ResourceInfo::new(8192, 4));

    rm_client
        .submit(&submission(&new.application_id))
        .await
        .unwrap();

    let requests = rm.requests();
    assert!(requests[0].body.is_empty());
    assert_eq!(requests[0].param("user.name"), Some("alice"));
    let submit = &requests[1];
    assert_eq!(submit.param("user.name"), Some("alice"));
    assert_eq!(submit.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        submit.json(),
        json!({
            "application-id": "application_1700000000000_0003",
            "application-name": "wordcount",
            "queue": "default",
            "priority": 0,
            "am-container-spec": {
                "local-resources": {"entry": [{"key": "spindle", "value": {
                    "resource": "hdfs://nn:8020/user/alice/.spindle/application_1700000000000_0003/spindle",
                    "type": "FILE", "visibility": "APPLICATION", "size": 43004, "timestamp": 1405452071209i64
                }}]},
                "environment": {"entry": [{"key": "SPINDLE_MODE", "value": "session"}]},
                "commands": {"command": "./spindle am 1><LOG_DIR>/am.out 2><LOG_DIR>/am.err"}
            },
            "unmanaged-AM": false,
            "max-app-attempts": 2,
            "resource": {"memory": 1024, "vCores": 1},
            "application-type": "SPINDLE",
            "keep-containers-across-application-attempts": true,
            "application-tags": {"tag": ["team-a"]},
            "attempt-failures-validity-interval": 600000
        })
    );
}

#[tokio::test]
async fn a_refused_submission_says_why() {
    let rm = serve(|_| {
        Reply::json(
            400,
            r#"{"RemoteException":{"exception":"BadRequestException",
               "message":"java.lang.Exception: Invalid resource request, requested resource type=[memory-mb] < 0 or greater than maximum allowed allocation. Requested resource=<memory:65536, vCores:1>, maximum allowed allocation=<memory:8192, vCores:4>",
               "javaClassName":"org.apache.hadoop.yarn.webapp.BadRequestException"}}"#,
        )
    })
    .await;
    let err = client(&rm.url)
        .submit(&submission("application_1700000000000_0003"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "the ResourceManager refused the submission of application_1700000000000_0003: \
             BadRequestException: java.lang.Exception: Invalid resource request"
        ),
        "{text}"
    );
    assert!(text.ends_with("(HTTP 400 Bad Request)"), "{text}");
    match err {
        RestError::Refused {
            java_class_name, ..
        } => assert_eq!(
            java_class_name,
            "org.apache.hadoop.yarn.webapp.BadRequestException"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_error_without_remote_exception_shows_the_body() {
    let rm = serve(|_| Reply {
        status: 500,
        headers: vec![("content-type", "text/html".to_owned())],
        body: b"<html><body>HTTP ERROR 500 javax.servlet.ServletException</body></html>".to_vec(),
    })
    .await;
    let err = client(&rm.url).metrics().await.unwrap_err();
    assert_eq!(err.exception(), None);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert!(
        err.to_string()
            .contains("HTTP ERROR 500 javax.servlet.ServletException"),
        "{err}"
    );
}

#[tokio::test]
async fn an_answer_that_is_not_the_records_json_is_an_error_not_a_panic() {
    let rm = serve(|_| Reply::json(200, r#"{"clusterMetrics":{"appsRunning":"many"}}"#)).await;
    let err = client(&rm.url).metrics().await.unwrap_err();
    assert!(matches!(err, RestError::Unexpected { .. }), "{err:?}");
    assert!(err.to_string().contains("\"many\""), "{err}");
}

#[tokio::test]
async fn kill_puts_killed_and_reports_acceptance() {
    let rm = serve(|req| match req.method.as_str() {
        "PUT" => Reply::json(202, r#"{"state":"RUNNING"}"#).with_header(
            "location",
            "http://rm:8088/ws/v1/cluster/apps/application_1700000000000_0001/state",
        ),
        _ => Reply::json(404, NOT_FOUND),
    })
    .await;
    let outcome = client(&rm.url)
        .kill("application_1700000000000_0001", Some("stopped by alice"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        KillOutcome::Accepted(yarn::rest::types::AppState {
            state: "RUNNING".to_owned(),
            diagnostics: None
        })
    );
    let req = &rm.requests()[0];
    assert_eq!(req.method, "PUT");
    assert_eq!(
        req.path,
        "/ws/v1/cluster/apps/application_1700000000000_0001/state"
    );
    assert_eq!(req.param("user.name"), Some("alice"));
    assert_eq!(
        req.json(),
        json!({"state": "KILLED", "diagnostics": "stopped by alice"})
    );
}

#[tokio::test]
async fn kill_and_wait_polls_until_killed() {
    let polls = AtomicUsize::new(0);
    let rm = serve(move |req| match req.method.as_str() {
        "PUT" => Reply::json(202, r#"{"state":"RUNNING"}"#),
        _ => {
            let state = if polls.fetch_add(1, Ordering::SeqCst) < 2 {
                "RUNNING"
            } else {
                "KILLED"
            };
            Reply::json(200, &format!(r#"{{"state":"{state}"}}"#))
        }
    })
    .await;
    let state = client(&rm.url)
        .kill_and_wait(
            "application_1700000000000_0001",
            None,
            Duration::from_millis(1),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    assert_eq!(state.state, "KILLED");
    let methods: Vec<_> = rm.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["PUT", "GET", "GET", "GET"]);
    assert_eq!(rm.requests()[0].json(), json!({"state": "KILLED"}));
}

#[tokio::test]
async fn killing_a_finished_app_reports_its_final_state() {
    let rm = serve(|_| Reply::json(200, r#"{"state":"FINISHED"}"#)).await;
    let outcome = client(&rm.url)
        .kill("application_1700000000000_0001", None)
        .await
        .unwrap();
    assert!(
        matches!(outcome, KillOutcome::Done(ref s) if s.state == "FINISHED"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn fails_over_to_the_next_rm_when_one_is_down() {
    let down = refused_address().await;
    let rm = serve(|_| Reply::json(200, CLUSTER_INFO)).await;
    let rm_client = RmClient::new(&[down.as_str(), rm.url.as_str()], Some("alice")).unwrap();
    let info = rm_client.cluster_info().await.unwrap();
    assert_eq!(info.ha_state, "ACTIVE");
    assert_eq!(rm_client.active_url().as_str(), format!("{}/", rm.url));
    // The active RM is remembered: the next call goes there first.
    rm_client.metrics().await.unwrap_err();
    assert_eq!(rm.requests().len(), 2);
}

#[tokio::test]
async fn follows_a_standby_redirect_to_the_active_rm() {
    let active = serve(|_| Reply::json(200, METRICS)).await;
    let target = format!("{}/ws/v1/cluster/metrics", active.url);
    let standby = serve(move |_| Reply::empty(307).with_header("location", target.clone())).await;
    // Only the standby is configured: its redirect names the active one.
    let rm_client = client(&standby.url);
    let metrics = rm_client.metrics().await.unwrap();
    assert_eq!(metrics.total_nodes, 2);
    assert_eq!(standby.requests().len(), 1);
    assert_eq!(active.requests().len(), 1);
    assert_eq!(active.requests()[0].param("user.name"), Some("alice"));
}

#[tokio::test]
async fn standby_then_active_in_the_configured_list() {
    let standby =
        serve(|_| Reply::empty(307).with_header("location", "http://elsewhere.invalid:8088/"))
            .await;
    let active = serve(|_| Reply::json(200, r#"{"apps":null}"#)).await;
    let rm_client = RmClient::new(&[&standby.url, &active.url], None).unwrap();
    assert!(
        rm_client
            .apps(&AppsQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    // Without a user, no user.name is sent (the RM's static web user applies).
    assert_eq!(active.requests()[0].param("user.name"), None);
    assert_eq!(active.requests()[0].query, Vec::<(String, String)>::new());
}

#[tokio::test]
async fn connection_refused_says_what_to_check() {
    let down = refused_address().await;
    let err = client(&down).cluster_info().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RestError::Unreachable { .. }), "{err:?}");
    assert!(text.contains(&down), "{text}");
    assert!(
        text.contains("is the ResourceManager running there?"),
        "{text}"
    );
    assert!(
        text.contains("yarn.resourcemanager.webapp.address"),
        "{text}"
    );
}

#[test]
fn rejects_unusable_addresses() {
    for bad in ["", "ftp://rm:8088", "http://"] {
        let err = RmClient::new(&[bad], None).unwrap_err();
        assert!(
            matches!(err, RestError::InvalidUrl { .. }),
            "{bad}: {err:?}"
        );
    }
    assert!(RmClient::new::<&str>(&[], None).is_err());
    let c = RmClient::new(&["rm-host:8088"], None).unwrap();
    assert_eq!(c.urls()[0].as_str(), "http://rm-host:8088/");
}

#[test]
fn entries_build_from_pairs() {
    let env: Entries<String> = [("A", "1".to_owned())].into_iter().collect();
    assert_eq!(env.get("A").map(String::as_str), Some("1"));
}

#[tokio::test]
async fn a_standby_that_knows_no_active_rm_is_skipped() {
    // What a standby RM answers when it cannot name the active one (the 307 has no Location).
    let lost = serve(|_| {
        Reply {
            status: 307,
            headers: vec![("refresh", "3;url=http://rm1:8088/ws/v1/cluster/apps?next.refresh.interval=1".to_owned())],
            body: b"Can not find any active RM. Will retry in next 3 seconds.\nHA Zookeeper Connection State: CONNECTED\n".to_vec(),
        }
    })
    .await;
    let gave_up = serve(|_| Reply {
        status: 200,
        headers: vec![("content-type", "text/plain".to_owned())],
        body: b"There is no active RM right now.\nHA Zookeeper Connection State: CONNECTED\n"
            .to_vec(),
    })
    .await;
    let active = serve(|_| Reply::json(200, r#"{"apps":null}"#)).await;
    let rm_client = RmClient::new(&[&lost.url, &gave_up.url, &active.url], Some("alice")).unwrap();
    assert!(
        rm_client
            .apps(&AppsQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(active.requests().len(), 1);

    // With no active RM at all, the error says so.
    let rm_client = RmClient::new(&[&lost.url, &gave_up.url], Some("alice")).unwrap();
    let err = rm_client.apps(&AppsQuery::default()).await.unwrap_err();
    assert!(matches!(err, RestError::NoActive { .. }), "{err:?}");
    assert!(err.to_string().contains(&gave_up.url), "{err}");
}

#[tokio::test]
async fn refusals_with_a_known_cause_say_what_to_change() {
    let rm = serve(|req| match req.path.as_str() {
        "/ws/v1/cluster/apps" => Reply::json(
            403,
            r#"{"RemoteException":{"exception":"ForbiddenException",
               "message":"java.lang.Exception: App submission via REST is disabled.",
               "javaClassName":"org.apache.hadoop.yarn.webapp.ForbiddenException"}}"#,
        ),
        _ => Reply::json(
            401,
            r#"{"RemoteException":{"exception":"AuthorizationException",
               "message":"Unable to obtain user name, user not authenticated",
               "javaClassName":"org.apache.hadoop.security.authorize.AuthorizationException"}}"#,
        ),
    })
    .await;
    let rm_client = RmClient::new(&[&rm.url], None).unwrap();
    let err = rm_client.new_application().await.unwrap_err();
    assert!(err.to_string().contains("user.name"), "{err}");
    let err = rm_client
        .submit(&submission("application_1700000000000_0003"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().ends_with(
            "(HTTP 403 Forbidden); set yarn.webapp.enable-rest-app-submissions to true in the \
             ResourceManager's yarn-site.xml"
        ),
        "{err}"
    );
}
