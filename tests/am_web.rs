//! The ApplicationMaster's REST API against a fake cluster view: Flink's shapes for `/overview`,
//! `/taskmanagers` and `/jobmanager/config`, `/events` filters and their errors, Flink-style
//! error bodies, and `DELETE /cluster` guarded by the application's secret.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use spindle::config::Configuration;
use spindle::jobmanager::bridge::TaskManagerInfo;
use spindle::resource_manager::events::{Event, EventQuery, Reason};
use spindle::resource_manager::types::{JobId, Resources, WorkerId};
use spindle::rpc::Secret;
use spindle::web::{self, BoxFuture, ClusterView, WebState, auth::request_token};
use tokio::sync::mpsc;

const MIB: u64 = 1 << 20;

struct FakeCluster {
    task_managers: Option<Vec<TaskManagerInfo>>,
    queries: Mutex<Vec<EventQuery>>,
}

impl ClusterView for FakeCluster {
    fn task_managers(&self) -> BoxFuture<'_, Option<Vec<TaskManagerInfo>>> {
        Box::pin(async move { self.task_managers.clone() })
    }
    fn events(&self, query: EventQuery) -> BoxFuture<'_, Option<Vec<Event>>> {
        self.queries.lock().unwrap().push(query);
        Box::pin(async move { self.task_managers.as_ref().map(|_| Vec::new()) })
    }
}

fn tm(id: &str, slots: u32, free_slots: u32, free_memory_mib: u64) -> TaskManagerInfo {
    TaskManagerInfo {
        id: id.into(),
        path: "tcp://10.0.0.7:50000".into(),
        slots,
        free_slots,
        total: Resources {
            cpu_millis: 2000,
            task_heap: 384 * MIB,
            task_off_heap: 0,
            managed: 512 * MIB,
            network: 128 * MIB,
        },
        free: Resources::new(1000, free_memory_mib * MIB),
        last_heartbeat_ms: 1_700_000_000_123,
    }
}

struct Api {
    base: String,
    http: reqwest::Client,
    cluster: Arc<FakeCluster>,
    shutdowns: mpsc::Receiver<()>,
    secret: Secret,
}

async fn api(task_managers: Option<Vec<TaskManagerInfo>>) -> Api {
    let cluster = Arc::new(FakeCluster {
        task_managers,
        queries: Mutex::new(Vec::new()),
    });
    let (tx, shutdowns) = mpsc::channel(1);
    let secret = Secret::new(b"rest-secret".to_vec()).unwrap();
    let conf = Configuration::from_pairs([
        ("taskmanager.numberOfTaskSlots", "2"),
        ("s3.secret-key", "abc"),
        ("fs.azure.account.key.x.blob.core.windows.net", "k"),
        ("my.api.TOKEN", "t"),
    ]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    web::serve(
        listener,
        Arc::new(WebState {
            cluster: cluster.clone(),
            // No dispatcher runs behind this API: job calls answer that the cluster stopped.
            jobs: spindle::dispatcher::channel().0,
            job_end_seen: Default::default(),
            config: web::redacted_entries(&conf),
            secret: secret.clone(),
            shutdown: tx,
        }),
    );
    Api {
        base,
        http: reqwest::Client::new(),
        cluster,
        shutdowns,
        secret,
    }
}

impl Api {
    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

#[tokio::test]
async fn overview_and_taskmanagers_in_flinks_shapes() {
    let api = api(Some(vec![
        tm("container_1_0001_01_000002", 2, 1, 512),
        tm("container_1_0001_01_000003", 2, 2, 1024),
    ]))
    .await;
    let (status, overview) = api.get("/overview").await;
    assert_eq!(status, 200);
    assert_eq!(overview["taskmanagers"], 2);
    assert_eq!(overview["slots-total"], 4);
    assert_eq!(overview["slots-available"], 3);
    for key in [
        "jobs-running",
        "jobs-finished",
        "jobs-cancelled",
        "jobs-failed",
    ] {
        assert_eq!(overview[key], 0, "{key}");
    }
    assert_eq!(overview["flink-version"], env!("CARGO_PKG_VERSION"));

    let (_, tms) = api.get("/taskmanagers").await;
    let first = &tms["taskmanagers"][0];
    assert_eq!(first["id"], "container_1_0001_01_000002");
    assert_eq!(first["slotsNumber"], 2);
    assert_eq!(first["freeSlots"], 1);
    assert_eq!(first["timeSinceLastHeartbeat"], 1_700_000_000_123u64);
    assert_eq!(
        first["totalResource"],
        json!({"cpuCores": 2.0, "taskHeapMemory": 384, "taskOffHeapMemory": 0,
               "managedMemory": 512, "networkMemory": 128, "extendedResources": {}})
    );
    assert_eq!(first["freeResource"]["taskHeapMemory"], 512);
    assert_eq!(first["freeResource"]["cpuCores"], 1.0);
}

#[tokio::test]
async fn config_is_listed_with_secrets_redacted() {
    let api = api(Some(vec![])).await;
    let (_, config) = api.get("/jobmanager/config").await;
    let value = |key: &str| {
        config
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == key)
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(value("taskmanager.numberOfTaskSlots"), "2");
    assert_eq!(value("s3.secret-key"), "******");
    assert_eq!(
        value("fs.azure.account.key.x.blob.core.windows.net"),
        "******"
    );
    assert_eq!(value("my.api.TOKEN"), "******");
}

#[tokio::test]
async fn events_filters_reach_the_log_and_bad_ones_are_explained() {
    let api = api(Some(vec![])).await;
    let job = format!("{:032x}", 42u128);
    let (status, body) = api
        .get(&format!(
            "/events?since=5&name=worker_requested&reason=no_longer_needed&worker=c1&job={job}&limit=3"
        ))
        .await;
    assert_eq!((status, body), (200, json!({"events": []})));
    assert_eq!(
        api.cluster.queries.lock().unwrap()[0],
        EventQuery {
            since: Some(5),
            name: Some("worker_requested".into()),
            reason: Some(Reason::NoLongerNeeded),
            job: Some(JobId(42)),
            worker: Some(WorkerId::new("c1")),
            limit: Some(3),
        }
    );
    let (status, body) = api.get("/events?reason=bored").await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("unknown reason")
    );
    let (status, body) = api.get("/events?job=42").await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("32 hex digits")
    );
    let (status, _) = api.get("/events?limit=many").await;
    assert_eq!(status, 400);
    let (status, body) = api.get("/jobs/overview/extra").await;
    assert_eq!(status, 404);
    assert_eq!(body, json!({"errors": ["Not found: /jobs/overview/extra"]}));
}

#[tokio::test]
async fn a_stopped_resource_manager_answers_503() {
    let api = api(None).await;
    for path in ["/overview", "/taskmanagers", "/events"] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 503, "{path}");
        assert!(body["errors"][0].as_str().unwrap().contains("stopped"));
    }
}

#[tokio::test]
async fn delete_cluster_needs_the_secret() {
    let mut api = api(Some(vec![])).await;
    let url = format!("{}/cluster", api.base);
    let other = Secret::new(b"guess".to_vec()).unwrap();
    for auth in [
        None,
        Some("Bearer nothex".to_owned()),
        Some(format!(
            "Bearer {}",
            request_token(&other, "DELETE", "/cluster")
        )),
        Some(format!(
            "Bearer {}",
            request_token(&api.secret, "DELETE", "/jobs")
        )),
        Some(request_token(&api.secret, "DELETE", "/cluster")),
    ] {
        let mut request = api.http.delete(&url);
        if let Some(auth) = &auth {
            request = request.header("Authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{auth:?}");
        let body: Value = response.json().await.unwrap();
        assert!(body["errors"][0].as_str().unwrap().contains("secret"));
    }
    assert!(api.shutdowns.try_recv().is_err(), "nothing was stopped");
    let response = api
        .http
        .delete(&url)
        .bearer_auth(request_token(&api.secret, "DELETE", "/cluster"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(api.shutdowns.recv().await, Some(()));
    let (status, _) = api.get("/cluster").await;
    assert_eq!(status, 405, "GET does not stop anything");
}
