//! End to end on an in-process mini cluster: an ApplicationMaster written with the crate's RPC client
//! registers, allocates, launches containers through the NodeManagers and finishes, and the cluster
//! behaves as YARN does when the AM gets things wrong.

mod mini_support;

use mini_support::*;
use yarn::ipc::RpcError;
use yarn::mini::MiniYarnConfig;
use yarn::proto::hadoop::yarn as pb;
use yarn::records::exit_status;

fn remote_class(e: RpcError) -> String {
    match e {
        RpcError::Remote { error, .. } => error.class_name,
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

#[tokio::test]
async fn an_am_registers_allocates_runs_a_container_and_finishes() {
    let c = Cluster::start("happy", one_node()).await;
    let app = c.submit_placeholder("happy", false, 1).await;
    let mut am = c.am(&app, 1).await;
    let reg = am.register().await.unwrap();
    assert_eq!(reg.queue(), "default");
    assert_eq!(reg.maximum_capability.as_ref().unwrap().memory(), 8192);
    let a = c.wait_state(&app, "RUNNING").await;
    assert_eq!(a.am_rpc_address.as_deref(), Some("127.0.0.1:4321"));
    assert!(a.tracking_url.unwrap().ends_with(&format!("/proxy/{app}/")));

    // 100 MiB is rounded up to the 1024 MiB minimum allocation.
    let first = am.allocate(vec![ask(1, 100, 1)], vec![]).await.unwrap();
    assert_eq!(first.response_id, Some(1));
    assert!(
        first.allocated_containers.is_empty(),
        "allocation waits for a node heartbeat"
    );
    let got = am.collect(1).await;
    let container = &got[0];
    assert_eq!(container.resource.as_ref().unwrap().memory(), 1024);
    assert_eq!(container.priority.as_ref().unwrap().priority(), 1);
    assert_eq!(am.nm_tokens.len(), 1, "an NMToken for the new node");
    let cid = container_id(container);

    let started = am
        .start(
            container,
            "echo $GREETING from $CONTAINER_ID 1><LOG_DIR>/stdout",
        )
        .await;
    assert_eq!(started.succeeded_requests.len(), 1, "{started:?}");
    let status = am
        .until("the container's completion", |r| status_of(r, cid))
        .await;
    assert_eq!(status.exit_status(), 0);
    let out = std::fs::read_to_string(log_file(&c, cid, "stdout")).unwrap();
    assert_eq!(out, format!("hi from {cid}\n"));

    // Headroom: 8 GiB node, the 1 GiB AM is what is left in use.
    let beat = am.allocate(vec![], vec![]).await.unwrap();
    assert_eq!(beat.limit.as_ref().unwrap().memory(), 7168);
    assert_eq!(beat.num_cluster_nodes(), 1);

    // A container still running when the AM unregisters is ended by the RM.
    am.allocate(vec![ask(2, 1024, 1)], vec![]).await.unwrap();
    let lingering = am.collect(1).await;
    let lingering_id = container_id(&lingering[0]);
    am.start(&lingering[0], "echo $$ > <LOG_DIR>/pid; exec sleep 300")
        .await;
    let pid = eventually("the lingering container's pid", || async {
        std::fs::read_to_string(log_file(&c, lingering_id, "pid"))
            .ok()?
            .trim()
            .parse::<i32>()
            .ok()
    })
    .await;
    let containers = c
        .rest
        .attempt_containers(&app, &am.attempt.to_string())
        .await
        .unwrap();
    let ids: Vec<&str> = containers.iter().map(|x| x.container_id.as_str()).collect();
    assert!(ids.contains(&lingering_id.to_string().as_str()), "{ids:?}");

    let fin = am
        .finish(pb::FinalApplicationStatusProto::AppSucceeded, "done")
        .await
        .unwrap();
    assert_eq!(fin.is_unregistered, Some(true));
    let a = c.wait_state(&app, "FINISHED").await;
    assert_eq!(a.final_status, "SUCCEEDED");
    assert_eq!(a.diagnostics, "done");
    eventually("the lingering container's process to end", || async move {
        // SAFETY: signal 0 only checks whether the process exists.
        (unsafe { libc::kill(pid, 0) } != 0).then_some(())
    })
    .await;
    let lingering_exit = c
        .journal()
        .iter()
        .find(|e| {
            e["event"] == "container_completed"
                && e["container"] == lingering_id.to_string().as_str()
        })
        .map(|e| e["exit_status"].as_i64().unwrap());
    assert_eq!(
        lingering_exit,
        Some(exit_status::KILLED_AFTER_APP_COMPLETION as i64)
    );

    let j = c.journal();
    let events: Vec<&str> = j.iter().map(|e| e["event"].as_str().unwrap()).collect();
    for e in [
        "app_state",
        "attempt_state",
        "container_allocated",
        "container_launched",
        "container_completed",
    ] {
        assert!(events.contains(&e), "journal lacks {e}: {events:?}");
    }
    let states: Vec<&str> = j
        .iter()
        .filter(|e| e["event"] == "app_state")
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["NEW", "SUBMITTED", "ACCEPTED", "RUNNING", "FINISHED"]
    );

    // The finished application's local files go, as on a real NodeManager; its logs stay.
    let work = c.mini.addresses().work_dir.clone();
    let app_dirs = move || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&work)
            .unwrap()
            .flatten()
            .filter_map(|nm| std::fs::read_dir(nm.path().join("local/usercache")).ok())
            .flat_map(|users| users.flatten())
            .map(|user| user.path().join("appcache").join(&app))
            .filter(|dir| dir.exists())
            .collect()
    };
    eventually("the application's local files to be deleted", || {
        let left = app_dirs();
        async move { left.is_empty().then_some(()) }
    })
    .await;
    assert!(
        log_file(&c, cid, "stdout").exists(),
        "container logs are kept"
    );
    c.mini.shutdown().await;
}

#[tokio::test]
async fn a_stale_total_resent_gets_more_containers_than_needed() {
    let c = Cluster::start("stale", one_node()).await;
    let app = c.submit_placeholder("stale", false, 1).await;
    let mut am = c.am(&app, 1).await;
    am.register().await.unwrap();
    am.allocate(vec![ask(1, 1024, 2)], vec![]).await.unwrap();
    let first = am.collect(2).await;
    assert_eq!(first.len(), 2);
    // The AM re-sends the total it has already been served, as a client that does not remove
    // matched requests does: the RM allocates it again.
    am.allocate(vec![ask(1, 1024, 2)], vec![]).await.unwrap();
    let again = am.collect(2).await;
    assert_eq!(again.len(), 2, "two surplus containers");
    let allocated = c
        .journal()
        .iter()
        .filter(|e| e["event"] == "container_allocated")
        .count();
    assert_eq!(allocated, 5, "the AM container and four task containers");
    // Releasing the surplus completes them with ABORTED.
    let surplus: Vec<_> = again.iter().map(container_id).collect();
    let answer = am
        .allocate(vec![ask(1, 1024, 0)], surplus.clone())
        .await
        .unwrap();
    assert!(
        answer.completed_container_statuses.is_empty(),
        "releases complete in a later response"
    );
    let mut seen = Vec::new();
    am.until("the released containers' statuses", |r| {
        seen.extend(surplus.iter().filter_map(|s| status_of(r, *s)));
        (seen.len() == surplus.len()).then_some(())
    })
    .await;
    assert!(
        seen.iter()
            .all(|st| st.exit_status() == exit_status::ABORTED),
        "{seen:?}"
    );
    c.mini.shutdown().await;
}

#[tokio::test]
async fn the_rm_checks_response_ids_registration_and_ask_sizes() {
    let c = Cluster::start("checks", one_node()).await;
    let app = c.submit_placeholder("checks", false, 1).await;
    let mut am = c.am(&app, 1).await;
    let early = am.allocate(vec![], vec![]).await.unwrap_err();
    assert_eq!(
        remote_class(early),
        "org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException"
    );
    am.register().await.unwrap();
    let again = am.register().await.unwrap_err();
    assert_eq!(
        remote_class(again),
        "org.apache.hadoop.yarn.exceptions.InvalidApplicationMasterRequestException"
    );
    let r1 = am.allocate(vec![], vec![]).await.unwrap();
    let r2 = am.allocate(vec![], vec![]).await.unwrap();
    assert_eq!((r1.response_id(), r2.response_id()), (1, 2));
    // A request one behind (its answer was lost) gets the last response again, unchanged.
    am.response_id = 1;
    let dup = am.allocate(vec![], vec![]).await.unwrap();
    assert_eq!(dup, r2);
    // Any other id is refused.
    am.response_id = 7;
    let bad = am.allocate(vec![], vec![]).await.unwrap_err();
    assert_eq!(
        remote_class(bad),
        "org.apache.hadoop.yarn.exceptions.InvalidApplicationMasterRequestException"
    );
    am.response_id = 2;
    let too_big = am
        .allocate(vec![ask(1, 9000, 1)], vec![])
        .await
        .unwrap_err();
    match too_big {
        RpcError::Remote { error, .. } => {
            assert_eq!(
                error.class_name,
                "org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException"
            );
            assert!(
                error.message.contains("maximum allowed allocation"),
                "{}",
                error.message
            );
        }
        other => panic!("{other}"),
    }
    // The refused request left the response id where it was.
    assert_eq!(am.allocate(vec![], vec![]).await.unwrap().response_id(), 3);
    c.mini.shutdown().await;
}

#[tokio::test]
async fn stopping_a_container_reports_killed_by_the_am() {
    let c = Cluster::start("stop", one_node()).await;
    let app = c.submit_placeholder("stop", false, 1).await;
    let mut am = c.am(&app, 1).await;
    am.register().await.unwrap();
    am.allocate(vec![ask(1, 1024, 1)], vec![]).await.unwrap();
    let got = am.collect(1).await;
    let cid = container_id(&got[0]);
    am.start(&got[0], "echo up > <LOG_DIR>/up; exec sleep 300")
        .await;
    eventually("the container to run", || async {
        log_file(&c, cid, "up").exists().then_some(())
    })
    .await;
    let nm = am.nm(&got[0]);
    let status: pb::GetContainerStatusesResponseProto = nm
        .call(
            "getContainerStatuses",
            &pb::GetContainerStatusesRequestProto {
                container_id: vec![cid.into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(status.status[0].state(), pb::ContainerStateProto::CRunning);
    let stopped: pb::StopContainersResponseProto = nm
        .call(
            "stopContainers",
            &pb::StopContainersRequestProto {
                container_id: vec![cid.into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(stopped.succeeded_requests.len(), 1);
    let st = am
        .until("the stopped container's status", |r| status_of(r, cid))
        .await;
    assert_eq!(st.exit_status(), exit_status::KILLED_BY_APPMASTER);
    c.mini.shutdown().await;
}

#[tokio::test]
async fn the_nm_refuses_a_container_token_of_another_application() {
    let c = Cluster::start("tokens", one_node()).await;
    let a1 = c.submit_placeholder("one", false, 1).await;
    let a2 = c.submit_placeholder("two", false, 1).await;
    let mut am1 = c.am(&a1, 1).await;
    let mut am2 = c.am(&a2, 1).await;
    am1.register().await.unwrap();
    am2.register().await.unwrap();
    am1.allocate(vec![ask(1, 1024, 1)], vec![]).await.unwrap();
    am2.allocate(vec![ask(1, 1024, 1)], vec![]).await.unwrap();
    let c1 = am1.collect(1).await;
    let c2 = am2.collect(1).await;
    // AM 2 presents its own NMToken with AM 1's container token.
    let nm = am2.nm(&c2[0]);
    let req = pb::StartContainersRequestProto {
        start_container_request: vec![pb::StartContainerRequestProto {
            container_launch_context: Some(pb::ContainerLaunchContextProto {
                command: vec!["true".into()],
                ..Default::default()
            }),
            container_token: c1[0].container_token.clone(),
        }],
    };
    let r: pb::StartContainersResponseProto = nm.call("startContainers", &req).await.unwrap();
    assert!(r.succeeded_requests.is_empty());
    let msg = r.failed_requests[0]
        .exception
        .as_ref()
        .unwrap()
        .message()
        .to_string();
    assert!(
        msg.contains("Unauthorized request to start container"),
        "{msg}"
    );
    // A forged container token is refused too.
    let mut forged = c2[0].container_token.clone().unwrap();
    forged.password[0] ^= 0xff;
    let req = pb::StartContainersRequestProto {
        start_container_request: vec![pb::StartContainerRequestProto {
            container_launch_context: Some(Default::default()),
            container_token: Some(forged),
        }],
    };
    let r: pb::StartContainersResponseProto = nm.call("startContainers", &req).await.unwrap();
    assert_eq!(
        r.failed_requests[0]
            .exception
            .as_ref()
            .unwrap()
            .class_name(),
        "org.apache.hadoop.security.token.SecretManager$InvalidToken"
    );
    c.mini.shutdown().await;
}

#[tokio::test]
async fn submitted_credentials_reach_the_am_beside_its_amrm_token() {
    let c = Cluster::start("creds", one_node()).await;
    let delegation = yarn::credentials::Token::new(
        b"id".to_vec(),
        b"pw".to_vec(),
        yarn::credentials::HDFS_DELEGATION_TOKEN_KIND,
        "127.0.0.1:9000",
    );
    let dir = c.scratch.display().to_string();
    let cmd = format!(
        "cp $HADOOP_TOKEN_FILE_LOCATION {dir}/am.tmp && mv {dir}/am.tmp {dir}/am.creds && exec sleep 300"
    );
    let app = c
        .submit("creds", &cmd, false, 1, |ctx| {
            ctx.am_container_spec.credentials = Some(yarn::rest::types::CredentialsInfo {
                tokens: [("hdfs", delegation.to_url_string())].into_iter().collect(),
                secrets: [("s3.key", "c2VjcmV0".to_string())].into_iter().collect(),
            });
        })
        .await;
    let path = c.scratch.join("am.creds");
    eventually("the AM's token file", || async {
        path.exists().then_some(())
    })
    .await;
    let creds = yarn::credentials::Credentials::read_file(&path).unwrap();
    assert_eq!(creds.token("hdfs"), Some(&delegation));
    assert_eq!(creds.secret("s3.key"), Some(&b"secret"[..]));
    let amrm = creds.amrm_token().expect("the AMRMToken");
    assert_eq!(
        amrm.service, "",
        "the RM leaves the AMRMToken's service empty"
    );
    let attempt = amrm.amrm_identifier().unwrap().application_attempt_id;
    assert_eq!(
        attempt.to_string(),
        format!(
            "appattempt_{}_000001",
            app.trim_start_matches("application_")
        )
    );
    c.mini.shutdown().await;
}

#[tokio::test]
async fn the_am_protocols_work_under_privacy_protection() {
    let c = Cluster::start(
        "privacy",
        MiniYarnConfig {
            rpc_protection: vec![yarn::sasl::Qop::AuthConf],
            ..one_node()
        },
    )
    .await;
    let core = std::fs::read_to_string(c.mini.addresses().conf_dir.join("core-site.xml")).unwrap();
    assert!(core.contains("<value>privacy</value>"), "{core}");
    let app = c.submit_placeholder("privacy", false, 1).await;
    // The clients accept nothing weaker than privacy, so this only works if the ports offer it.
    let mut am = c.am_with(&app, 1, &[yarn::sasl::Qop::AuthConf]).await;
    am.register().await.unwrap();
    am.allocate(vec![ask(1, 1024, 1)], vec![]).await.unwrap();
    let got = am.collect(1).await;
    let cid = container_id(&got[0]);
    let started = am.start(&got[0], "true").await;
    assert_eq!(started.succeeded_requests.len(), 1);
    let st = am.until("the completion", |r| status_of(r, cid)).await;
    assert_eq!(st.exit_status(), 0);
    am.finish(pb::FinalApplicationStatusProto::AppSucceeded, "")
        .await
        .unwrap();
    c.wait_state(&app, "FINISHED").await;
    c.mini.shutdown().await;
}
