//! mini-yarn's ApplicationClientProtocol over Hadoop RPC: each call a Java YarnClient makes, against
//! the same ResourceManager the REST API serves (one RM, two front doors).

mod mini_support;

use mini_support::*;
use yarn::ipc::{Auth, Client, ClientConfig, RpcError};
use yarn::mini::MiniYarnConfig;
use yarn::mini::client_rpc::CLIENT_PROTOCOL;
use yarn::proto::hadoop::yarn as pb;
use yarn::records::ApplicationId;

fn client(c: &Cluster, user: &str) -> Client {
    Client::new(ClientConfig::new(
        &c.mini.addresses().resource_manager,
        CLIENT_PROTOCOL,
        Auth::Simple { user: user.into() },
    ))
}

fn remote(e: RpcError) -> (String, String) {
    match e {
        RpcError::Remote { error, .. } => (error.class_name, error.message),
        other => panic!("expected a remote exception, got {other}"),
    }
}

fn one_node() -> MiniYarnConfig {
    MiniYarnConfig {
        nodes: 1,
        max_am_fraction: 1.0,
        ..Default::default()
    }
}

async fn new_app(rm: &Client) -> (pb::ApplicationIdProto, pb::GetNewApplicationResponseProto) {
    let r: pb::GetNewApplicationResponseProto = rm
        .call("getNewApplication", &pb::GetNewApplicationRequestProto {})
        .await
        .unwrap();
    (r.application_id.unwrap(), r)
}

fn context(id: pb::ApplicationIdProto, command: &str) -> pb::ApplicationSubmissionContextProto {
    pb::ApplicationSubmissionContextProto {
        application_id: Some(id),
        application_name: Some("over-rpc".into()),
        queue: Some("default".into()),
        application_type: Some("Apache Flink".into()),
        application_tags: vec!["peer".into()],
        max_app_attempts: Some(1),
        resource: Some(pb::ResourceProto {
            memory: Some(1024),
            virtual_cores: Some(1),
            ..Default::default()
        }),
        am_container_spec: Some(pb::ContainerLaunchContextProto {
            command: vec![command.into()],
            // An insecure Spark client sends an empty token file: version 0, no tokens, no secrets.
            tokens: Some(b"HDTS\x00\x00\x00".to_vec()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn report(rm: &Client, id: &pb::ApplicationIdProto) -> pb::ApplicationReportProto {
    let r: pb::GetApplicationReportResponseProto = rm
        .call(
            "getApplicationReport",
            &pb::GetApplicationReportRequestProto {
                application_id: Some(*id),
            },
        )
        .await
        .unwrap();
    r.application_report.unwrap()
}

async fn wait_for(
    rm: &Client,
    id: &pb::ApplicationIdProto,
    state: pb::YarnApplicationStateProto,
) -> pb::ApplicationReportProto {
    eventually(&format!("state {state:?}"), || async {
        let r = report(rm, id).await;
        (r.yarn_application_state() == state).then_some(r)
    })
    .await
}

#[tokio::test]
async fn a_client_submits_watches_and_the_rest_api_sees_the_same_application() {
    let c = Cluster::start("client-rpc-submit", one_node()).await;
    let rm = client(&c, "carol");
    let (id, new) = new_app(&rm).await;
    assert_eq!(new.maximum_capability.unwrap().memory(), 8192);
    let app = ApplicationId::try_from(&id).unwrap().to_string();
    // The AM container publishes its token file for the test to play the AM (see mini_support).
    let dir = c.scratch.display();
    let placeholder = format!(
        "cp $HADOOP_TOKEN_FILE_LOCATION {dir}/$CONTAINER_ID.tmp && mv {dir}/$CONTAINER_ID.tmp \
         {dir}/$CONTAINER_ID.tokens && exec sleep 600"
    );
    let _: pb::SubmitApplicationResponseProto = rm
        .call(
            "submitApplication",
            &pb::SubmitApplicationRequestProto {
                application_submission_context: Some(context(id, &placeholder)),
            },
        )
        .await
        .unwrap();
    // A retried submission of the same id is accepted and changes nothing.
    let _: pb::SubmitApplicationResponseProto = rm
        .call(
            "submitApplication",
            &pb::SubmitApplicationRequestProto {
                application_submission_context: Some(context(id, "exec sleep 600")),
            },
        )
        .await
        .unwrap();

    let r = report(&rm, &id).await;
    assert_eq!(
        r.user(),
        "carol",
        "SIMPLE auth: the connection's user submits"
    );
    assert_eq!(r.name(), "over-rpc");
    assert_eq!(r.application_type(), "Apache Flink");
    assert_eq!(r.application_tags, vec!["peer".to_string()]);
    assert_eq!(
        r.final_application_status(),
        pb::FinalApplicationStatusProto::AppUndefined
    );
    assert_eq!(r.host(), "N/A", "no AM has registered");
    assert_eq!(r.rpc_port(), -1);
    assert!(r.current_application_attempt_id.is_some());

    // The same application through the REST door.
    let rest = c.rest.app(&app).await.unwrap();
    assert_eq!(rest.user, "carol");
    assert_eq!(rest.application_type, "Apache Flink");

    // An AM registers (as the placeholder's token lets the test do): the report carries its address.
    let am = c.am(&app, 1).await;
    am.register().await.unwrap();
    let r = wait_for(&rm, &id, pb::YarnApplicationStateProto::Running).await;
    assert_eq!((r.host(), r.rpc_port()), ("127.0.0.1", 4321));
    assert_eq!(r.original_tracking_url(), "http://127.0.0.1:4322/");

    let attempt: pb::GetApplicationAttemptReportResponseProto = rm
        .call(
            "getApplicationAttemptReport",
            &pb::GetApplicationAttemptReportRequestProto {
                application_attempt_id: r.current_application_attempt_id,
            },
        )
        .await
        .unwrap();
    let attempt = attempt.application_attempt_report.unwrap();
    assert_eq!(
        attempt.yarn_application_attempt_state(),
        pb::YarnApplicationAttemptStateProto::AppAttemptRunning
    );
    assert!(attempt.am_container_id.is_some());

    // Finished applications stay queryable, with the final status the AM reported.
    am.finish(pb::FinalApplicationStatusProto::AppSucceeded, "done")
        .await
        .unwrap();
    let r = wait_for(&rm, &id, pb::YarnApplicationStateProto::Finished).await;
    assert_eq!(
        r.final_application_status(),
        pb::FinalApplicationStatusProto::AppSucceeded
    );
    assert_eq!(r.progress(), 1.0);
    assert!(r.finish_time() >= r.start_time());

    // The journal has one submission, from this door.
    let submitted = c
        .journal()
        .iter()
        .filter(|e| {
            e["event"] == "app_state" && e["state"] == "SUBMITTED" && e["app"] == app.as_str()
        })
        .count();
    assert_eq!(submitted, 1);
    c.mini.shutdown().await;
}

#[tokio::test]
async fn unknown_applications_are_application_not_found() {
    let c = Cluster::start("client-rpc-unknown", one_node()).await;
    let rm = client(&c, "carol");
    let (id, _) = new_app(&rm).await;
    // Issued but never submitted: the RM does not know it.
    let e = rm
        .call::<_, pb::GetApplicationReportResponseProto>(
            "getApplicationReport",
            &pb::GetApplicationReportRequestProto {
                application_id: Some(id),
            },
        )
        .await
        .unwrap_err();
    let (class, message) = remote(e);
    assert_eq!(
        class,
        "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException"
    );
    assert!(message.contains("doesn't exist in RM"), "{message}");

    let e = rm
        .call::<_, pb::KillApplicationResponseProto>(
            "forceKillApplication",
            &pb::KillApplicationRequestProto {
                application_id: Some(id),
                diagnostics: None,
            },
        )
        .await
        .unwrap_err();
    let (class, message) = remote(e);
    assert_eq!(
        class,
        "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException"
    );
    assert!(
        message.contains("Trying to kill an absent application"),
        "{message}"
    );

    let e = rm
        .call::<_, pb::GetApplicationAttemptReportResponseProto>(
            "getApplicationAttemptReport",
            &pb::GetApplicationAttemptReportRequestProto {
                application_attempt_id: Some(pb::ApplicationAttemptIdProto {
                    application_id: Some(id),
                    attempt_id: Some(1),
                }),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        remote(e).0,
        "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException"
    );

    // A submission with an id this RM never issued is refused.
    let mut bogus = id;
    bogus.id = Some(999);
    let e = rm
        .call::<_, pb::SubmitApplicationResponseProto>(
            "submitApplication",
            &pb::SubmitApplicationRequestProto {
                application_submission_context: Some(context(bogus, "true")),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        remote(e).0,
        "org.apache.hadoop.yarn.exceptions.YarnException"
    );

    // Methods the mini cluster does not serve are Hadoop's "unknown method".
    let e = rm
        .call::<_, pb::GetClusterMetricsResponseProto>(
            "getDelegationToken",
            &pb::GetClusterMetricsRequestProto {},
        )
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::Remote { .. }), "{e}");
    c.mini.shutdown().await;
}

#[tokio::test]
async fn kill_completes_before_the_answer_and_ends_every_container() {
    let c = Cluster::start("client-rpc-kill", one_node()).await;
    let rm = client(&c, "dave");
    let (id, _) = new_app(&rm).await;
    let app = ApplicationId::try_from(&id).unwrap().to_string();
    let _: pb::SubmitApplicationResponseProto = rm
        .call(
            "submitApplication",
            &pb::SubmitApplicationRequestProto {
                application_submission_context: Some(context(id, "exec sleep 600")),
            },
        )
        .await
        .unwrap();
    eventually("the AM container running", || async {
        let j = c.journal();
        j.iter()
            .any(|e| e["event"] == "container_launched" && e["app"] == app.as_str())
            .then_some(())
    })
    .await;
    let k: pb::KillApplicationResponseProto = rm
        .call(
            "forceKillApplication",
            &pb::KillApplicationRequestProto {
                application_id: Some(id),
                diagnostics: Some("stop it".into()),
            },
        )
        .await
        .unwrap();
    assert!(
        k.is_kill_completed(),
        "the kill completes before the answer"
    );
    let r = report(&rm, &id).await;
    assert_eq!(
        r.yarn_application_state(),
        pb::YarnApplicationStateProto::Killed
    );
    assert_eq!(
        r.final_application_status(),
        pb::FinalApplicationStatusProto::AppKilled
    );
    assert!(r.diagnostics().contains("stop it"), "{}", r.diagnostics());
    // Killing a killed application again completes at once.
    let k: pb::KillApplicationResponseProto = rm
        .call(
            "forceKillApplication",
            &pb::KillApplicationRequestProto {
                application_id: Some(id),
                diagnostics: None,
            },
        )
        .await
        .unwrap();
    assert!(k.is_kill_completed());
    eventually("the AM container completed", || async {
        c.journal()
            .iter()
            .any(|e| e["event"] == "container_completed" && e["app"] == app.as_str())
            .then_some(())
    })
    .await;
    c.mini.shutdown().await;
}

#[tokio::test]
async fn cluster_nodes_metrics_queues_and_application_lists() {
    let c = Cluster::start(
        "client-rpc-cluster",
        MiniYarnConfig {
            nodes: 2,
            queues: vec![("default".into(), 70.0), ("batch".into(), 30.0)],
            max_am_fraction: 1.0,
            ..Default::default()
        },
    )
    .await;
    let rm = client(&c, "erin");

    let nodes: pb::GetClusterNodesResponseProto = rm
        .call(
            "getClusterNodes",
            &pb::GetClusterNodesRequestProto {
                node_states: vec![pb::NodeStateProto::NsRunning as i32],
            },
        )
        .await
        .unwrap();
    assert_eq!(nodes.node_reports.len(), 2);
    for n in &nodes.node_reports {
        assert_eq!(n.node_state(), pb::NodeStateProto::NsRunning);
        let cap = n.capability.as_ref().unwrap();
        assert_eq!((cap.memory(), cap.virtual_cores()), (8192, 8));
        assert!(n.node_id.is_some() && n.http_address.is_some());
    }
    let lost: pb::GetClusterNodesResponseProto = rm
        .call(
            "getClusterNodes",
            &pb::GetClusterNodesRequestProto {
                node_states: vec![pb::NodeStateProto::NsLost as i32],
            },
        )
        .await
        .unwrap();
    assert!(lost.node_reports.is_empty());

    let m: pb::GetClusterMetricsResponseProto = rm
        .call("getClusterMetrics", &pb::GetClusterMetricsRequestProto {})
        .await
        .unwrap();
    let m = m.cluster_metrics.unwrap();
    assert_eq!((m.num_node_managers(), m.num_active_nms()), (2, 2));

    // Flink's getAllQueues: root, its children, recursively.
    let q: pb::GetQueueInfoResponseProto = rm
        .call(
            "getQueueInfo",
            &pb::GetQueueInfoRequestProto {
                queue_name: Some("root".into()),
                include_applications: Some(false),
                include_child_queues: Some(true),
                recursive: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let root = q.queue_info.unwrap();
    assert_eq!(root.queue_name(), "root");
    let children: Vec<(&str, f32)> = root
        .child_queues
        .iter()
        .map(|q| (q.queue_name(), q.capacity()))
        .collect();
    assert_eq!(children, vec![("default", 0.7), ("batch", 0.3)]);
    let e = rm
        .call::<_, pb::GetQueueInfoResponseProto>(
            "getQueueInfo",
            &pb::GetQueueInfoRequestProto {
                queue_name: Some("nope".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    let (class, message) = remote(e);
    assert_eq!(class, "java.io.IOException");
    assert!(message.contains("Unknown queue: nope"), "{message}");

    // Two applications, one per queue: getApplications filters as YARN does.
    let mut ids = Vec::new();
    for queue in ["default", "batch"] {
        let (id, _) = new_app(&rm).await;
        let mut ctx = context(id, "exec sleep 600");
        ctx.queue = Some(queue.into());
        let _: pb::SubmitApplicationResponseProto = rm
            .call(
                "submitApplication",
                &pb::SubmitApplicationRequestProto {
                    application_submission_context: Some(ctx),
                },
            )
            .await
            .unwrap();
        ids.push(id);
    }
    let all: pb::GetApplicationsResponseProto = rm
        .call(
            "getApplications",
            &pb::GetApplicationsRequestProto::default(),
        )
        .await
        .unwrap();
    assert_eq!(all.applications.len(), 2);
    let batch: pb::GetApplicationsResponseProto = rm
        .call(
            "getApplications",
            &pb::GetApplicationsRequestProto {
                queues: vec!["batch".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(batch.applications.len(), 1);
    assert_eq!(batch.applications[0].application_id, Some(ids[1]));
    let flink: pb::GetApplicationsResponseProto = rm
        .call(
            "getApplications",
            &pb::GetApplicationsRequestProto {
                application_types: vec!["apache flink".into()],
                application_states: vec![pb::YarnApplicationStateProto::Finished as i32],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(flink.applications.is_empty(), "none has finished");
    let limited: pb::GetApplicationsResponseProto = rm
        .call(
            "getApplications",
            &pb::GetApplicationsRequestProto {
                users: vec!["erin".into()],
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(limited.applications.len(), 1);
    c.mini.shutdown().await;
}
