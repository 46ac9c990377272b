//! The mini cluster's REST surfaces as clients see them: the RM's `/ws/v1/cluster` JSON with Hadoop's
//! names and error shapes, and the WebHDFS subset that `hdfs://` local resources come from.

mod mini_support;

use mini_support::*;
use serde_json::Value;
use yarn::mini::MiniYarnConfig;

async fn get(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn cluster_views_have_hadoops_json_shapes() {
    let c = Cluster::start(
        "shapes",
        MiniYarnConfig {
            nodes: 2,
            ..Default::default()
        },
    )
    .await;
    let base = c.mini.addresses().rest_url.clone();

    let (s, info) = get(&format!("{base}/info")).await;
    assert_eq!(s, 200);
    assert_eq!(info["clusterInfo"]["state"], "STARTED");
    assert_eq!(info["clusterInfo"]["haState"], "ACTIVE");
    let (_, metrics) = get(&format!("{base}/metrics")).await;
    let m = &metrics["clusterMetrics"];
    assert_eq!(m["totalMB"], 16384);
    assert_eq!(m["totalVirtualCores"], 16);
    assert_eq!(m["activeNodes"], 2);
    let (_, nodes) = get(&format!("{base}/nodes")).await;
    let list = nodes["nodes"]["node"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["state"], "RUNNING");
    assert_eq!(list[0]["availMemoryMB"], 8192);
    assert!(
        list[0]["nodeHTTPAddress"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    let id = list[0]["id"].as_str().unwrap();
    let (s, one) = get(&format!("{base}/nodes/{id}")).await;
    assert_eq!((s, one["node"]["id"].as_str()), (200, Some(id)));
    let (_, sched) = get(&format!("{base}/scheduler")).await;
    let info = &sched["scheduler"]["schedulerInfo"];
    assert_eq!(info["type"], "capacityScheduler");
    assert_eq!(info["queues"]["queue"][0]["queueName"], "default");
    let (_, apps) = get(&format!("{base}/apps")).await;
    assert_eq!(
        apps,
        serde_json::json!({"apps": null}),
        "an empty list is null, as Jersey writes it"
    );

    // Errors are RemoteException JSON with YARN's codes.
    let (s, e) = get(&format!("{base}/apps/application_1_0001")).await;
    assert_eq!(s, 404);
    assert_eq!(e["RemoteException"]["exception"], "NotFoundException");
    let (s, e) = get(&format!("{base}/apps/not-an-id")).await;
    assert_eq!(s, 400);
    assert_eq!(e["RemoteException"]["exception"], "BadRequestException");
    let ui = reqwest::get(format!("http://{}/cluster", c.mini.addresses().webapp))
        .await
        .unwrap();
    assert_eq!(
        ui.status(),
        200,
        "the UI page clients probe to find the active RM"
    );
    c.mini.shutdown().await;
}

#[tokio::test]
async fn submissions_are_checked_and_listed_with_filters() {
    let c = Cluster::start(
        "submit",
        MiniYarnConfig {
            nodes: 1,
            max_am_fraction: 1.0,
            ..Default::default()
        },
    )
    .await;
    let base = c.mini.addresses().rest_url.clone();
    let http = reqwest::Client::new();
    let new: Value = http
        .post(format!("{base}/apps/new-application?user.name=bob"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = new["application-id"].as_str().unwrap().to_string();
    assert_eq!(new["maximum-resource-capability"]["memory"], 8192);
    let body = |queue: &str, memory: i64| {
        serde_json::json!({
            "application-id": id, "application-name": "n", "queue": queue,
            "resource": {"memory": memory, "vCores": 1},
            "am-container-spec": {"commands": {"command": "exec sleep 300"}},
        })
    };
    let r = http
        .post(format!("{base}/apps?user.name=bob"))
        .json(&body("nope", 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "an unknown queue is rejected");
    let e: Value = r.json().await.unwrap();
    assert!(
        e["RemoteException"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown queue: nope"),
        "{e}"
    );
    let r = http
        .post(format!("{base}/apps?user.name=bob"))
        .json(&body("default", 100_000))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        400,
        "an AM above the maximum allocation is rejected"
    );
    let r = http
        .post(format!("{base}/apps?user.name=bob"))
        .json(&body("default", 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with(&format!("/ws/v1/cluster/apps/{id}"))
    );

    let a = c.wait_state(&id, "ACCEPTED").await;
    assert_eq!((a.user.as_str(), a.queue.as_str()), ("bob", "default"));
    let (_, listed) = get(&format!(
        "{base}/apps?states=accepted,running&user=bob&queue=default"
    ))
    .await;
    assert_eq!(listed["apps"]["app"].as_array().unwrap().len(), 1);
    let (_, none) = get(&format!("{base}/apps?user=carol")).await;
    assert_eq!(none["apps"], Value::Null);
    let (_, st) = get(&format!("{base}/apps/{id}/state")).await;
    assert!(
        st["state"] == "ACCEPTED" || st["state"] == "RUNNING",
        "{st}"
    );
    let r = http
        .put(format!("{base}/apps/{id}/state?user.name=bob"))
        .json(&serde_json::json!({"state": "RUNNING"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "only KILLED is a target state");
    let r = http
        .put(format!("{base}/apps/{id}/state?user.name=bob"))
        .json(&serde_json::json!({"state": "KILLED"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let a = c.wait_state(&id, "KILLED").await;
    assert_eq!(a.final_status, "KILLED");
    let (_, attempts) = get(&format!("{base}/apps/{id}/appattempts")).await;
    // Without user.name the caller is the static web user, as on an insecure RM.
    let anon: Value = http
        .post(format!("{base}/apps/new-application"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let anon_id = anon["application-id"].as_str().unwrap().to_string();
    let mut anon_body = body("default", 1024);
    anon_body["application-id"] = anon_id.clone().into();
    let r = http
        .post(format!("{base}/apps"))
        .json(&anon_body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(c.rest.app(&anon_id).await.unwrap().user, "dr.who");
    assert_eq!(
        attempts["appAttempts"]["appAttempt"][0]["appAttemptState"],
        "KILLED"
    );
    c.mini.shutdown().await;
}

#[tokio::test]
async fn webhdfs_stages_files_that_containers_localize_from_hdfs() {
    let c = Cluster::start(
        "webhdfs",
        MiniYarnConfig {
            nodes: 1,
            ..Default::default()
        },
    )
    .await;
    let nn = format!("http://{}/webhdfs/v1", c.mini.addresses().webhdfs);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .put(format!("{nn}/user/alice/app?op=MKDIRS&user.name=alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"boolean": true})
    );
    // CREATE is two steps: a redirect without data, then the bytes to the Location.
    let r = http
        .put(format!(
            "{nn}/user/alice/app/run.sh?op=CREATE&overwrite=true&user.name=alice"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 307);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let r = http
        .put(&location)
        .body("echo localized from hdfs > $LOG_DIRS/out")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (_, st) = get(&format!("{nn}/user/alice/app/run.sh?op=GETFILESTATUS")).await;
    let fs = &st["FileStatus"];
    assert_eq!(fs["type"], "FILE");
    let (length, mtime) = (
        fs["length"].as_i64().unwrap(),
        fs["modificationTime"].as_i64().unwrap(),
    );
    let (_, list) = get(&format!("{nn}/user/alice/app?op=LISTSTATUS")).await;
    assert_eq!(
        list["FileStatuses"]["FileStatus"][0]["pathSuffix"],
        "run.sh"
    );
    let (s, missing) = get(&format!("{nn}/user/alice/nothing?op=GETFILESTATUS")).await;
    assert_eq!(
        (s, missing["RemoteException"]["exception"].as_str()),
        (404, Some("FileNotFoundException"))
    );
    let opened = reqwest::get(format!("{nn}/user/alice/app/run.sh?op=OPEN"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(opened.starts_with("echo localized"));

    let uri = format!("{}/user/alice/app/run.sh", c.mini.addresses().default_fs);
    let app = c
        .submit("hdfs", "bash run.sh", false, 1, |ctx| {
            ctx.am_container_spec.local_resources = [(
                "run.sh",
                yarn::rest::types::LocalResourceInfo {
                    resource: uri.clone(),
                    kind: "FILE".into(),
                    visibility: "APPLICATION".into(),
                    size: length,
                    timestamp: mtime,
                    pattern: None,
                },
            )]
            .into_iter()
            .collect();
        })
        .await;
    let report = c.wait_state(&app, "FAILED").await; // it never registers
    // The AM's logs are also served by its NodeManager, at the report's amContainerLogs URL.
    let logs = report.am_container_logs.expect("amContainerLogs");
    let served = reqwest::get(format!("{logs}/out"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(served, "localized from hdfs\n");
    let listing = reqwest::get(&logs).await.unwrap().text().await.unwrap();
    assert!(listing.lines().any(|l| l == "prelaunch.err"), "{listing}");
    let am = c
        .journal()
        .iter()
        .find(|e| e["event"] == "container_completed" && e["app"] == app.as_str())
        .map(|e| e["container"].as_str().unwrap().to_string())
        .unwrap();
    let out = std::fs::read_to_string(log_file(&c, am.parse().unwrap(), "out")).unwrap();
    assert_eq!(out, "localized from hdfs\n");

    let r = http
        .delete(format!("{nn}/user/alice?op=DELETE&recursive=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"boolean": true})
    );
    let (s, _) = get(&format!("{nn}/user/alice?op=GETFILESTATUS")).await;
    assert_eq!(s, 404);
    c.mini.shutdown().await;
}

#[tokio::test]
async fn webhdfs_renames_and_sets_replication_and_permission_as_staging_clients_expect() {
    let c = Cluster::start(
        "webhdfs-staging-ops",
        MiniYarnConfig {
            nodes: 1,
            ..Default::default()
        },
    )
    .await;
    let nn = format!("http://{}/webhdfs/v1", c.mini.addresses().webhdfs);
    let http = reqwest::Client::new();
    let put = |url: String| http.put(url).send();
    put(format!("{nn}/s/a.jar?op=CREATE&data=true&user.name=bob"))
        .await
        .unwrap();
    let r = put(format!("{nn}/s/a.jar?op=SETREPLICATION&replication=1"))
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["boolean"], true);
    let r = put(format!("{nn}/s/none.jar?op=SETREPLICATION&replication=1"))
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["boolean"], false);
    let r = put(format!("{nn}/s/a.jar?op=SETPERMISSION&permission=640"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, st) = get(&format!("{nn}/s/a.jar?op=GETFILESTATUS")).await;
    assert_eq!(st["FileStatus"]["permission"], "640");
    let r = put(format!("{nn}/s/none.jar?op=SETPERMISSION&permission=640"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let r = put(format!("{nn}/s/a.jar?op=RENAME&destination=/s/b.jar"))
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["boolean"], true);
    let (s, _) = get(&format!("{nn}/s/b.jar?op=GETFILESTATUS")).await;
    assert_eq!(s, 200);
    // A missing source, or an escaping destination, renames nothing.
    let r = put(format!("{nn}/s/a.jar?op=RENAME&destination=/s/c.jar"))
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["boolean"], false);
    let r = put(format!("{nn}/s/b.jar?op=RENAME&destination=/../x.jar"))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    c.mini.shutdown().await;
}
