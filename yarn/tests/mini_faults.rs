//! The mini cluster when things go wrong: AM restarts, lost nodes, preemption, extra containers,
//! kills, localization failures, the AM resource limit, and shutdown.

mod mini_support;

use mini_support::*;
use yarn::mini::MiniYarnConfig;
use yarn::proto::hadoop::yarn as pb;
use yarn::records::exit_status;

#[tokio::test]
async fn an_am_that_exits_without_unregistering_gets_a_second_attempt_with_its_containers() {
    let c = Cluster::start(
        "restart",
        MiniYarnConfig {
            nodes: 1,
            max_am_fraction: 1.0,
            ..Default::default()
        },
    )
    .await;
    let app = c.submit_placeholder("restart", true, 2).await;
    let mut am = c.am(&app, 1).await;
    am.register().await.unwrap();
    am.allocate(vec![ask(1, 1024, 1)], vec![]).await.unwrap();
    let got = am.collect(1).await;
    let worker = container_id(&got[0]);
    am.start(&got[0], "exec sleep 300").await;
    eventually("the worker to be launched", || async {
        c.journal()
            .iter()
            .any(|e| {
                e["event"] == "container_launched" && e["container"] == worker.to_string().as_str()
            })
            .then_some(())
    })
    .await;

    // The AM process dies (as if killed from outside YARN).
    let status = c
        .post(&format!("/mini/v1/containers/{}/kill", am.am_container))
        .await;
    assert_eq!(status, 204);
    let am2 = c.am(&app, 2).await;
    let reg = am2.register().await.unwrap();
    let previous: Vec<_> = reg
        .containers_from_previous_attempts
        .iter()
        .map(container_id)
        .collect();
    assert_eq!(previous, vec![worker], "the live worker comes back");
    assert_eq!(reg.nm_tokens_from_previous_attempts.len(), 1);

    let attempts = c.rest.app_attempts(&app).await.unwrap();
    let states: Vec<&str> = attempts
        .iter()
        .map(|a| a.app_attempt_state.as_str())
        .collect();
    assert_eq!(states, ["FAILED", "RUNNING"]);
    let app_report = c.rest.app(&app).await.unwrap();
    assert_eq!(app_report.state, "RUNNING");
    assert!(
        app_report.diagnostics.contains("exitCode: 137"),
        "{}",
        app_report.diagnostics
    );

    // The first attempt's AMRMToken no longer works.
    let stale = am.allocate(vec![], vec![]).await.unwrap_err();
    assert!(
        stale
            .to_string()
            .contains("ApplicationAttemptNotFoundException"),
        "{stale}"
    );

    am2.finish(pb::FinalApplicationStatusProto::AppSucceeded, "")
        .await
        .unwrap();
    let a = c.wait_state(&app, "FINISHED").await;
    assert_eq!(a.final_status, "SUCCEEDED");
    c.mini.shutdown().await;
}

#[tokio::test]
async fn an_am_that_keeps_failing_fails_the_application_after_max_attempts() {
    let c = Cluster::start(
        "maxattempts",
        MiniYarnConfig {
            nodes: 1,
            ..Default::default()
        },
    )
    .await;
    let app = c
        .submit("fails", "echo broken >&2; exit 3", false, 0, |_| {})
        .await;
    let a = c.wait_state(&app, "FAILED").await;
    assert_eq!(a.final_status, "FAILED");
    assert!(
        a.diagnostics.contains("failed 2 times"),
        "{}",
        a.diagnostics
    );
    assert!(a.diagnostics.contains("exitCode: 3"), "{}", a.diagnostics);
    assert!(
        a.diagnostics.contains("broken"),
        "stderr is quoted: {}",
        a.diagnostics
    );
    let attempts = c.rest.app_attempts(&app).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert!(attempts.iter().all(|t| t.app_attempt_state == "FAILED"));
    c.mini.shutdown().await;
}

#[tokio::test]
async fn a_lost_node_takes_its_containers_with_it() {
    // Nodes of 1 GiB: the AM fills one, the worker must land on the other.
    let c = Cluster::start(
        "lost",
        MiniYarnConfig {
            nodes: 2,
            node_memory_mb: 1024,
            max_am_fraction: 1.0,
            ..Default::default()
        },
    )
    .await;
    let app = c.submit_placeholder("lost", false, 1).await;
    let mut am = c.am(&app, 1).await;
    am.register().await.unwrap();
    am.allocate(vec![ask(1, 1024, 1)], vec![]).await.unwrap();
    let got = am.collect(1).await;
    let worker = container_id(&got[0]);
    let node = got[0].node_id.clone().unwrap();
    let node_id = format!("{}:{}", node.host(), node.port());
    am.start(&got[0], "exec sleep 300").await;
    eventually("the worker's process", || async {
        c.journal()
            .iter()
            .any(|e| {
                e["event"] == "container_launched" && e["container"] == worker.to_string().as_str()
            })
            .then_some(())
    })
    .await;

    assert_eq!(c.post(&format!("/mini/v1/nodes/{node_id}/lose")).await, 204);
    let (status, lost) = am
        .until("the lost container and node", |r| {
            let st = status_of(r, worker)?;
            Some((st, r.updated_nodes.clone()))
        })
        .await;
    assert_eq!(status.exit_status(), exit_status::ABORTED);
    assert_eq!(lost[0].node_state(), pb::NodeStateProto::NsLost);
    let nodes = c.rest.nodes(&[]).await.unwrap();
    assert_eq!(nodes.len(), 1, "the lost node leaves the list");
    assert!(nodes.iter().all(|n| n.id != node_id));
    let metrics = c.rest.metrics().await.unwrap();
    assert_eq!((metrics.active_nodes, metrics.lost_nodes), (1, 1));
    assert!(
        c.journal()
            .iter()
            .any(|e| e["event"] == "node_lost" && e["node"] == node_id.as_str())
    );
    c.mini.shutdown().await;
}

#[tokio::test]
async fn preemption_warns_the_am_then_ends_the_container() {
    let c = Cluster::start(
        "preempt",
        MiniYarnConfig {
            nodes: 1,
            max_am_fraction: 1.0,
            ..Default::default()
        },
    )
    .await;
    let app = c.submit_placeholder("preempt", false, 1).await;
    let mut am = c.am(&app, 1).await;
    am.register().await.unwrap();
    am.allocate(vec![ask(1, 1024, 1)], vec![]).await.unwrap();
    let got = am.collect(1).await;
    let victim = container_id(&got[0]);
    am.start(&got[0], "exec sleep 300").await;
    assert_eq!(
        c.post(&format!("/mini/v1/containers/{victim}/preempt"))
            .await,
        204
    );
    let msg = am.allocate(vec![], vec![]).await.unwrap();
    let strict = msg
        .preempt
        .clone()
        .expect("a PreemptionMessage")
        .strict_contract
        .unwrap();
    assert_eq!(
        yarn::records::ContainerId::try_from(strict.container[0].id.as_ref().unwrap()).unwrap(),
        victim
    );
    assert!(
        status_of(&msg, victim).is_none(),
        "the warning comes before the end"
    );
    let st = am
        .until("the preempted container's status", |r| status_of(r, victim))
        .await;
    assert_eq!(st.exit_status(), exit_status::PREEMPTED);
    c.mini.shutdown().await;
}

#[tokio::test]
async fn extra_containers_arrive_unrequested_once_asks_are_met() {
    let c = Cluster::start(
        "extra",
        MiniYarnConfig {
            nodes: 1,
            max_am_fraction: 1.0,
            ..Default::default()
        },
    )
    .await;
    let app = c.submit_placeholder("extra", false, 1).await;
    assert_eq!(
        c.post(&format!("/mini/v1/apps/{app}/extra-containers?count=2"))
            .await,
        204
    );
    let mut am = c.am(&app, 1).await;
    am.register().await.unwrap();
    am.allocate(vec![ask(1, 1024, 1)], vec![]).await.unwrap();
    let got = am.collect(3).await;
    assert_eq!(got.len(), 3, "one asked for and two extra");
    c.mini.shutdown().await;
}

#[tokio::test]
async fn the_second_application_waits_in_accepted_while_the_am_share_is_used() {
    // One 8 GiB node, 10% for AMs: the first 1 GiB AM runs, the second waits.
    let c = Cluster::start(
        "amshare",
        MiniYarnConfig {
            nodes: 1,
            ..Default::default()
        },
    )
    .await;
    let first = c.submit_placeholder("first", false, 1).await;
    let second = c.submit_placeholder("second", false, 1).await;
    let am1 = c.am(&first, 1).await;
    am1.register().await.unwrap();
    c.wait_state(&first, "RUNNING").await;
    // Heartbeats go by; the second AM is still not placed.
    eventually("the second application to be pending", || async {
        let m = c.rest.metrics().await.unwrap();
        (m.apps_pending == 1).then_some(())
    })
    .await;
    // Let many NodeManager heartbeats (20 ms each) go by.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let a2 = c.rest.app(&second).await.unwrap();
    assert_eq!(a2.state, "ACCEPTED");
    let t2 = c.rest.app_attempts(&second).await.unwrap();
    assert_eq!(t2[0].app_attempt_state, "SCHEDULED");
    assert!(t2[0].container_id.is_none());
    // The first finishes; the second's AM starts.
    am1.finish(pb::FinalApplicationStatusProto::AppSucceeded, "")
        .await
        .unwrap();
    let am2 = c.am(&second, 1).await;
    am2.register().await.unwrap();
    c.wait_state(&second, "RUNNING").await;
    c.mini.shutdown().await;
}

#[tokio::test]
async fn killing_an_application_ends_every_container_and_shutdown_leaves_no_process() {
    let c = Cluster::start(
        "kill",
        MiniYarnConfig {
            nodes: 2,
            max_am_fraction: 1.0,
            ..Default::default()
        },
    )
    .await;
    let app = c.submit_placeholder("kill", false, 1).await;
    let mut am = c.am(&app, 1).await;
    am.register().await.unwrap();
    am.allocate(vec![ask(1, 1024, 2)], vec![]).await.unwrap();
    let got = am.collect(2).await;
    for w in &got {
        am.start(w, "echo $$ > <LOG_DIR>/pid; exec sleep 300").await;
    }
    let pids: Vec<i32> = {
        let mut v = Vec::new();
        for w in &got {
            let cid = container_id(w);
            let pid = eventually("a worker's pid", || async {
                std::fs::read_to_string(log_file(&c, cid, "pid"))
                    .ok()?
                    .trim()
                    .parse::<i32>()
                    .ok()
            })
            .await;
            v.push(pid);
        }
        v
    };
    let state = c
        .rest
        .kill_and_wait(&app, None, std::time::Duration::from_millis(50), PATIENCE)
        .await
        .unwrap();
    assert_eq!(state.state, "KILLED");
    let a = c.rest.app(&app).await.unwrap();
    assert_eq!(a.final_status, "KILLED");
    for pid in &pids {
        let pid = *pid;
        eventually("the worker process to end", || async move {
            // SAFETY: signal 0 only checks whether the process exists.
            (unsafe { libc::kill(pid, 0) } != 0).then_some(())
        })
        .await;
    }

    // A second application left running when the cluster shuts down.
    let app2 = c.submit_placeholder("left-running", false, 1).await;
    let am2 = c.am(&app2, 1).await;
    am2.register().await.unwrap();
    let work = c.mini.addresses().work_dir.clone();
    c.mini.shutdown().await;
    // Nothing started by the cluster is left: no process has its work dir as cwd.
    let left = processes_under(&work);
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

#[tokio::test]
async fn a_cluster_dropped_without_shutdown_leaves_no_process() {
    let c = Cluster::start(
        "drop",
        MiniYarnConfig {
            nodes: 1,
            ..Default::default()
        },
    )
    .await;
    let app = c.submit_placeholder("dropped", false, 1).await;
    c.am(&app, 1).await; // the AM process runs
    let work = c.mini.addresses().work_dir.clone();
    assert!(
        !processes_under(&work).is_empty(),
        "the AM process runs in its work dir"
    );
    drop(c);
    eventually("the container processes to be gone", || {
        let work = work.clone();
        async move { processes_under(&work).is_empty().then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn localization_refuses_a_file_that_changed_since_submission() {
    let c = Cluster::start(
        "localize",
        MiniYarnConfig {
            nodes: 1,
            ..Default::default()
        },
    )
    .await;
    let file = c.scratch.join("payload.txt");
    std::fs::write(&file, b"payload").unwrap();
    let mtime = yarn::mini::localize::mtime_ms(&file).unwrap();
    let resource = |ts: i64| yarn::rest::types::LocalResourceInfo {
        resource: format!("file://{}", file.display()),
        kind: "FILE".into(),
        visibility: "APPLICATION".into(),
        size: 7,
        timestamp: ts,
        pattern: None,
    };
    let good = c
        .submit(
            "good",
            "cat payload.txt > <LOG_DIR>/copy",
            false,
            1,
            |ctx| {
                ctx.am_container_spec.local_resources =
                    [("payload.txt", resource(mtime))].into_iter().collect();
            },
        )
        .await;
    // The AM never registers: it exits 0 without unregistering, which fails the only attempt, but
    // its output shows the file was localized.
    let a = c.wait_state(&good, "FAILED").await;
    assert!(a.diagnostics.contains("exitCode: 0"), "{}", a.diagnostics);
    let changed = c
        .submit("changed", "cat payload.txt", false, 1, |ctx| {
            ctx.am_container_spec.local_resources = [("payload.txt", resource(mtime - 5000))]
                .into_iter()
                .collect();
        })
        .await;
    let a = c.wait_state(&changed, "FAILED").await;
    assert!(
        a.diagnostics.contains("changed on src filesystem"),
        "{}",
        a.diagnostics
    );
    let copy = c
        .journal()
        .iter()
        .find(|e| e["event"] == "container_completed" && e["app"] == good.as_str())
        .map(|e| e["container"].as_str().unwrap().to_string())
        .unwrap();
    let out = std::fs::read_to_string(log_file(&c, copy.parse().unwrap(), "copy")).unwrap();
    assert_eq!(out, "payload");
    c.mini.shutdown().await;
}

#[tokio::test]
async fn an_am_that_stops_heartbeating_expires() {
    let c = Cluster::start(
        "expiry",
        MiniYarnConfig {
            nodes: 1,
            max_attempts: 1,
            am_expiry_ms: 300,
            ..Default::default()
        },
    )
    .await;
    let app = c.submit_placeholder("silent", false, 1).await;
    let am = c.am(&app, 1).await;
    am.register().await.unwrap();
    // The AM process keeps running but never calls allocate.
    let a = c.wait_state(&app, "FAILED").await;
    assert!(a.diagnostics.contains("timed out"), "{}", a.diagnostics);
    let am_exit = c
        .journal()
        .iter()
        .find(|e| {
            e["event"] == "container_completed"
                && e["container"] == am.am_container.to_string().as_str()
        })
        .map(|e| e["exit_status"].as_i64().unwrap());
    assert_eq!(am_exit, Some(exit_status::KILLED_BY_RESOURCEMANAGER as i64));
    c.mini.shutdown().await;
}
