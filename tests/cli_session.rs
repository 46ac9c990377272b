//! `spindle yarn-session` against a fake ResourceManager, NameNode and ApplicationMaster served by
//! axum with YARN's JSON (`yarn::rest::types`): what is checked before submitting (and that nothing
//! is submitted when a check fails), what the submission carries, the properties file, and `--stop`.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use spindle::cli::args::YarnSessionArgs;
use spindle::cli::contract::{self, StagedFile};
use spindle::cli::properties::SessionProperties;
use spindle::cli::session::{self, Environment};
use yarn::rest::types::{
    AppInfo, AppResponse, ApplicationSubmissionContext, NewApplication, NodeInfo, NodesResponse,
    ResourceInfo,
};

const APP_ID: &str = "application_1700000000000_0001";

#[derive(Default)]
struct Fake {
    addr: String,
    max_memory: i64,
    node_vcores: i32,
    /// Every request as `METHOD path?op`.
    log: Vec<String>,
    submitted: Vec<Value>,
    /// HDFS path → (bytes, modification time).
    files: BTreeMap<String, (Vec<u8>, i64)>,
    next_mtime: i64,
    /// Report polls seen since submission (the app is ACCEPTED for the first, then RUNNING).
    polls: usize,
    state: String,
    final_status: String,
    /// `Authorization` headers the AM accepted.
    am_shutdowns: Vec<String>,
    /// What `apps/{id}` reports when the app never runs.
    fail_with: Option<String>,
}

type Shared = Arc<Mutex<Fake>>;

fn app_report(f: &Fake) -> AppInfo {
    AppInfo {
        id: APP_ID.into(),
        queue: "root.default".into(),
        state: f.state.clone(),
        final_status: f.final_status.clone(),
        diagnostics: if f.state == "ACCEPTED" {
            "waiting for AM container to be allocated".into()
        } else {
            String::new()
        },
        am_rpc_address: (f.state == "RUNNING").then(|| f.addr.clone()),
        tracking_url: Some(format!("http://rm:8088/proxy/{APP_ID}/")),
        ..Default::default()
    }
}

fn json_reply(status: StatusCode, v: impl serde::Serialize) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&v).unwrap(),
    )
        .into_response()
}

async fn handle(State(fake): State<Shared>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query: BTreeMap<String, String> = req.uri().query().map(url_pairs).unwrap_or_default();
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Bytes = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap();
    let mut f = fake.lock().unwrap();
    let op = query.get("op").cloned().unwrap_or_default();
    f.log.push(format!(
        "{method} {path}{}",
        if op.is_empty() {
            String::new()
        } else {
            format!("?{op}")
        }
    ));

    if let Some(hdfs_path) = path.strip_prefix("/webhdfs/v1") {
        let hdfs_path = hdfs_path.to_owned();
        return match (method, op.as_str()) {
            (Method::PUT, "MKDIRS") => json_reply(StatusCode::OK, json!({"boolean": true})),
            (Method::PUT, "CREATE") if query.contains_key("datanode") => {
                f.next_mtime += 1111;
                let mtime = f.next_mtime;
                f.files.insert(hdfs_path, (body.to_vec(), mtime));
                StatusCode::CREATED.into_response()
            }
            (Method::PUT, "CREATE") => {
                let location = format!(
                    "http://{}/webhdfs/v1{hdfs_path}?op=CREATE&datanode=1",
                    f.addr
                );
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, location)],
                )
                    .into_response()
            }
            (Method::GET, "GETFILESTATUS") => match f.files.get(&hdfs_path) {
                Some((data, mtime)) => json_reply(
                    StatusCode::OK,
                    json!({"FileStatus": {"length": data.len(), "modificationTime": mtime,
                        "type": "FILE", "permission": "644", "owner": "alice", "group": "g",
                        "pathSuffix": "", "replication": 1, "blockSize": 134217728, "accessTime": 0}}),
                ),
                None => json_reply(
                    StatusCode::NOT_FOUND,
                    json!({"RemoteException": {"exception": "FileNotFoundException",
                        "javaClassName": "java.io.FileNotFoundException", "message": "no file"}}),
                ),
            },
            (Method::DELETE, "DELETE") => {
                let prefix = format!("{hdfs_path}/");
                let before = f.files.len();
                f.files
                    .retain(|p, _| !p.starts_with(&prefix) && *p != hdfs_path);
                json_reply(StatusCode::OK, json!({"boolean": f.files.len() != before}))
            }
            _ => StatusCode::BAD_REQUEST.into_response(),
        };
    }
    match (method, path.as_str()) {
        (Method::GET, "/ws/v1/cluster/info") => json_reply(
            StatusCode::OK,
            json!({"clusterInfo": {"id": 1700000000000i64, "state": "STARTED", "haState": "ACTIVE"}}),
        ),
        (Method::GET, "/ws/v1/cluster/nodes") => {
            let node = |id: &str, avail: i64| NodeInfo {
                id: id.into(),
                state: "RUNNING".into(),
                avail_memory_mb: avail,
                available_virtual_cores: i64::from(f.node_vcores),
                total_resource: Some(ResourceInfo::new(8192, f.node_vcores)),
                ..Default::default()
            };
            json_reply(
                StatusCode::OK,
                NodesResponse::from(vec![node("nm1:8041", 8192), node("nm2:8041", 3000)]),
            )
        }
        (Method::GET, "/ws/v1/cluster/scheduler") => json_reply(
            StatusCode::OK,
            json!({"scheduler": {"schedulerInfo": {"type": "capacityScheduler", "queueName": "root",
                "queues": {"queue": [{"queueName": "default", "queuePath": "root.default"},
                                      {"queueName": "batch", "queuePath": "root.batch"}]}}}}),
        ),
        (Method::POST, "/ws/v1/cluster/apps/new-application") => json_reply(
            StatusCode::OK,
            NewApplication {
                application_id: APP_ID.into(),
                maximum_resource_capability: ResourceInfo::new(f.max_memory, 4),
            },
        ),
        (Method::POST, "/ws/v1/cluster/apps") => {
            f.submitted.push(serde_json::from_slice(&body).unwrap());
            f.state = "ACCEPTED".into();
            f.final_status = "UNDEFINED".into();
            StatusCode::ACCEPTED.into_response()
        }
        (Method::GET, p) if p == format!("/ws/v1/cluster/apps/{APP_ID}") => {
            f.polls += 1;
            if f.state == "ACCEPTED" && f.polls > 1 {
                match f.fail_with.clone() {
                    Some(diag) => {
                        f.state = "FAILED".into();
                        f.final_status = "FAILED".into();
                        let mut r = app_report(&f);
                        r.diagnostics = diag;
                        return json_reply(StatusCode::OK, AppResponse { app: r });
                    }
                    None => f.state = "RUNNING".into(),
                }
            }
            json_reply(
                StatusCode::OK,
                AppResponse {
                    app: app_report(&f),
                },
            )
        }
        (Method::PUT, p) if p == format!("/ws/v1/cluster/apps/{APP_ID}/state") => {
            f.state = "KILLED".into();
            f.final_status = "KILLED".into();
            json_reply(StatusCode::OK, json!({"state": "KILLED"}))
        }
        // The ApplicationMaster's REST API (amRPCAddress points here).
        (Method::DELETE, "/cluster") => {
            f.am_shutdowns.push(auth.unwrap_or_default());
            f.state = "FINISHED".into();
            f.final_status = "SUCCEEDED".into();
            StatusCode::ACCEPTED.into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn url_pairs(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

struct Harness {
    fake: Shared,
    env: Environment,
    _dir: tempfile::TempDir,
    binary_bytes: Vec<u8>,
    dir: PathBuf,
}

async fn harness() -> Harness {
    let fake: Shared = Arc::new(Mutex::new(Fake {
        max_memory: 8192,
        node_vcores: 4,
        next_mtime: 1_700_000_000_000,
        ..Default::default()
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    fake.lock().unwrap().addr = addr.clone();
    let app = Router::new().fallback(handle).with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("spindle-binary");
    let binary_bytes: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&binary, &binary_bytes).unwrap();
    let env = Environment {
        rm_web: vec![format!("http://{addr}")],
        webhdfs: vec![format!("http://{addr}")],
        default_fs: Some("hdfs://nn:8020".into()),
        user: "alice".into(),
        binary,
        properties_path: dir.path().join(".spindle-properties-alice"),
        poll_interval: Duration::from_millis(5),
    };
    Harness {
        fake,
        env,
        dir: dir.path().to_owned(),
        _dir: dir,
        binary_bytes,
    }
}

impl Harness {
    fn nothing_submitted_or_staged(&self) {
        let f = self.fake.lock().unwrap();
        assert!(f.submitted.is_empty(), "submitted: {:?}", f.submitted);
        assert!(
            !f.log
                .iter()
                .any(|l| l.contains("/webhdfs/") || l == "POST /ws/v1/cluster/apps"),
            "{:?}",
            f.log
        );
    }
}

fn args(f: impl FnOnce(&mut YarnSessionArgs)) -> YarnSessionArgs {
    let mut a = YarnSessionArgs {
        detached: true,
        ..Default::default()
    };
    f(&mut a);
    a
}

#[tokio::test]
async fn deploy_stages_and_submits_what_the_application_master_needs() {
    let h = harness().await;
    let ship = h.dir.join("extra");
    std::fs::create_dir_all(ship.join("sub")).unwrap();
    std::fs::write(ship.join("a.txt"), b"hello").unwrap();
    std::fs::write(ship.join("sub/b.txt"), b"world!").unwrap();
    let a = args(|a| {
        a.slots = Some(2);
        a.queue = Some("batch".into());
        a.dynamic = vec![("slotmanager.number-of-slots.min".into(), "4".into())];
        a.ship = vec![ship.clone()];
    });
    let mut out = Vec::new();
    let deployed = session::deploy(&a, &h.env, &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    let f = h.fake.lock().unwrap();
    assert_eq!(deployed.application_id, APP_ID);
    assert_eq!(deployed.am_address, Some(format!("http://{}", f.addr)));

    // Progress on each change, then the AM's address and how to stop a detached session.
    assert!(out.contains("current state ACCEPTED in queue root.default (waiting for AM container to be allocated)"), "{out}");
    assert!(out.contains("current state RUNNING"), "{out}");
    assert!(
        out.contains(&format!("JobManager Web Interface: http://{}", f.addr)),
        "{out}"
    );
    assert!(
        out.contains(&format!("spindle yarn-session --stop -id {APP_ID}")),
        "{out}"
    );
    assert!(!out.contains("WARNING"), "{out}");

    assert_eq!(f.submitted.len(), 1);
    let submitted = &f.submitted[0];
    let ctx: ApplicationSubmissionContext = serde_json::from_value(submitted.clone()).unwrap();
    assert_eq!(ctx.application_id, APP_ID);
    assert_eq!(ctx.application_type, "spindle");
    assert_eq!(ctx.application_name, "spindle session cluster");
    assert_eq!(ctx.queue.as_deref(), Some("batch"));
    assert_eq!(ctx.max_app_attempts, Some(1));
    assert_eq!((ctx.resource.memory, ctx.resource.v_cores), (256, 1));
    let spec = &ctx.am_container_spec;
    assert_eq!(
        spec.commands.command,
        vec!["./spindle jobmanager 1><LOG_DIR>/jobmanager.out 2><LOG_DIR>/jobmanager.err"]
    );

    // Local resources carry exactly the size and timestamp the NameNode reported.
    let dir = format!("/user/alice/.spindle/{APP_ID}");
    let check = |link: &str, hdfs: &str| {
        let r = spec
            .local_resources
            .get(link)
            .unwrap_or_else(|| panic!("no {link}"));
        let (data, mtime) = &f.files[hdfs];
        assert_eq!(r.resource, format!("hdfs://nn:8020{hdfs}"));
        assert_eq!((r.size, r.timestamp), (data.len() as i64, *mtime), "{link}");
        assert_eq!(
            (r.kind.as_str(), r.visibility.as_str()),
            ("FILE", "APPLICATION")
        );
    };
    check("spindle", &format!("{dir}/spindle"));
    check("spindle-conf.yaml", &format!("{dir}/spindle-conf.yaml"));
    check("extra/a.txt", &format!("{dir}/extra/a.txt"));
    check("extra/sub/b.txt", &format!("{dir}/extra/sub/b.txt"));
    assert_eq!(spec.local_resources.entry.len(), 4);
    assert_eq!(f.files[&format!("{dir}/spindle")].0, h.binary_bytes);

    // The staged configuration holds the -D properties with the flags folded in.
    let conf_text =
        String::from_utf8(f.files[&format!("{dir}/spindle-conf.yaml")].0.clone()).unwrap();
    // Read as the ApplicationMaster reads it.
    let conf = spindle::jobmanager::contract::parse_conf_file(&conf_text).unwrap();
    assert_eq!(conf.raw("taskmanager.numberOfTaskSlots"), Some("2"));
    assert_eq!(conf.raw("slotmanager.number-of-slots.min"), Some("4"));
    assert_eq!(conf.raw("yarn.application.queue"), Some("batch"));

    // The environment names the staged files the AM hands on to TaskExecutors.
    let env = &spec.environment;
    let staged = StagedFile::parse(env.get(contract::ENV_STAGED_BINARY).unwrap()).unwrap();
    assert_eq!(
        contract::local_resource(&staged),
        *spec.local_resources.get("spindle").unwrap()
    );
    let conf_res = StagedFile::parse(env.get(contract::ENV_STAGED_CONF).unwrap()).unwrap();
    assert_eq!(
        contract::local_resource(&conf_res),
        *spec.local_resources.get("spindle-conf.yaml").unwrap()
    );
    let ship_env =
        contract::parse_ship_env_value(env.get(contract::ENV_STAGED_SHIP).unwrap()).unwrap();
    assert_eq!(
        ship_env.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
        ["extra/a.txt", "extra/sub/b.txt"]
    );
    assert_eq!(env.get(contract::ENV_STAGING_DIR).unwrap(), &dir);

    // The secret is in the credentials, and nowhere else in the submission.
    let b64 = spec
        .credentials
        .as_ref()
        .unwrap()
        .secrets
        .get(contract::SECRET_ALIAS)
        .unwrap();
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64)
        .unwrap();
    assert_eq!(secret.len(), 32);
    let props = SessionProperties::read(&h.env.properties_path)
        .unwrap()
        .unwrap();
    assert_eq!(props.secret.expose(), &secret[..]);
    assert_eq!(props.application_id, APP_ID);
    assert_eq!(props.am_address, deployed.am_address);
    let text = submitted.to_string();
    assert_eq!(
        text.matches(b64.as_str()).count(),
        1,
        "the secret appears once, in credentials"
    );
    assert!(!text.contains(&hex::encode(&secret)));
    assert!(!out.contains(b64.as_str()) && !out.contains(&hex::encode(&secret)));
    let mode = std::fs::metadata(&h.env.properties_path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test]
async fn unknown_queue_is_refused_before_anything_is_submitted() {
    let h = harness().await;
    let e = session::deploy(
        &args(|a| a.queue = Some("nosuch".into())),
        &h.env,
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(
        e.contains("'nosuch' does not exist") && e.contains("root.default, root.batch"),
        "{e}"
    );
    h.nothing_submitted_or_staged();
}

#[tokio::test]
async fn taskmanager_memory_above_the_maximum_allocation_is_refused_before_submitting() {
    let h = harness().await;
    h.fake.lock().unwrap().max_memory = 4096;
    let e = session::deploy(
        &args(|a| a.task_manager_memory_mb = Some(6144)),
        &h.env,
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(
        e.contains("-tm") && e.contains("4096 MB") && e.contains("6144 MB"),
        "{e}"
    );
    h.nothing_submitted_or_staged();
    let e = session::deploy(
        &args(|a| a.job_manager_memory_mb = Some(5000)),
        &h.env,
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(e.contains("-jm"), "{e}");
    h.nothing_submitted_or_staged();
}

#[tokio::test]
async fn slots_above_the_largest_nodes_vcores_are_refused_before_submitting() {
    let h = harness().await;
    let e = session::deploy(&args(|a| a.slots = Some(5)), &h.env, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        e.contains("virtual cores per TaskManager (5)") && e.contains("4 virtual cores"),
        "{e}"
    );
    h.nothing_submitted_or_staged();
    // Lowering the vcores explicitly lets the same slots through the check.
    let a = args(|a| {
        a.slots = Some(5);
        a.dynamic = vec![("yarn.containers.vcores".into(), "2".into())];
    });
    session::deploy(&a, &h.env, &mut Vec::new()).await.unwrap();
}

#[tokio::test]
async fn unreachable_resource_manager_is_named_with_its_config_key() {
    let h = harness().await;
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let mut env = h.env.clone();
    env.rm_web = vec![format!("http://127.0.0.1:{port}")];
    let e = session::deploy(&args(|_| {}), &env, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        e.contains(&format!("127.0.0.1:{port}"))
            && e.contains("yarn.resourcemanager.webapp.address"),
        "{e}"
    );
    h.nothing_submitted_or_staged();
}

#[tokio::test]
async fn missing_ship_file_is_refused_before_contacting_yarn() {
    let h = harness().await;
    let e = session::deploy(
        &args(|a| a.ship = vec!["/no/such/file".into()]),
        &h.env,
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(e.contains("ship file /no/such/file does not exist"), "{e}");
    assert!(h.fake.lock().unwrap().log.is_empty());
}

#[tokio::test]
async fn an_application_that_fails_to_start_reports_yarns_diagnostics_and_is_cleaned_up() {
    let h = harness().await;
    h.fake.lock().unwrap().fail_with = Some("AM container exited with exitCode: 127".into());
    let e = session::deploy(&args(|_| {}), &h.env, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        e.contains("FAILED")
            && e.contains("exitCode: 127")
            && e.contains("yarn logs -applicationId"),
        "{e}"
    );
    assert!(
        h.fake.lock().unwrap().files.is_empty(),
        "staging folder removed"
    );
    assert!(!h.env.properties_path.exists());
}

#[tokio::test]
async fn stop_asks_the_application_master_with_a_signed_request_then_cleans_up() {
    let h = harness().await;
    session::deploy(&args(|_| {}), &h.env, &mut Vec::new())
        .await
        .unwrap();
    let secret = SessionProperties::read(&h.env.properties_path)
        .unwrap()
        .unwrap()
        .secret;
    let mut out = Vec::new();
    let report = session::stop(None, &h.env, &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        (report.state.as_str(), report.final_status.as_str()),
        ("FINISHED", "SUCCEEDED")
    );
    let f = h.fake.lock().unwrap();
    assert_eq!(f.am_shutdowns.len(), 1);
    // The header the ApplicationMaster's REST API accepts for this application's secret.
    assert!(spindle::web::auth::authorizes(
        &secret,
        "DELETE",
        "/cluster",
        Some(&f.am_shutdowns[0])
    ));
    assert!(
        !f.log
            .iter()
            .any(|l| l.starts_with("PUT /ws/v1/cluster/apps")),
        "not killed: {:?}",
        f.log
    );
    assert!(
        f.files.is_empty(),
        "staging folder removed: {:?}",
        f.files.keys()
    );
    assert!(out.contains("Removed the staging folder"), "{out}");
    assert!(!h.env.properties_path.exists());
}

#[tokio::test]
async fn stop_without_the_secret_kills_through_the_resource_manager() {
    let h = harness().await;
    session::deploy(&args(|_| {}), &h.env, &mut Vec::new())
        .await
        .unwrap();
    std::fs::remove_file(&h.env.properties_path).unwrap();
    let report = session::stop(Some(APP_ID), &h.env, &mut Vec::new())
        .await
        .unwrap();
    assert_eq!(report.state, "KILLED");
    {
        let f = h.fake.lock().unwrap();
        assert!(f.am_shutdowns.is_empty());
        assert!(
            f.log
                .contains(&format!("PUT /ws/v1/cluster/apps/{APP_ID}/state"))
        );
        assert!(f.files.is_empty());
    }
    let e = session::stop(None, &h.env, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(e.contains("-id"), "{e}");
}

#[tokio::test]
async fn query_prints_nodes_totals_and_queues() {
    let h = harness().await;
    let mut out = Vec::new();
    session::query(&h.env, &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("NodeManagers in the cluster: 2"), "{out}");
    assert!(
        out.contains("nm1:8041") && out.contains("nm2:8041"),
        "{out}"
    );
    assert!(
        out.contains("Summary: totalMemory 16384 MB totalCores 8; free 11192 MB"),
        "{out}"
    );
    assert!(out.contains("Queues: root.default, root.batch"), "{out}");
}

/// The real binary, configured through HADOOP_CONF_DIR, with Flink's multi-letter flags.
#[tokio::test]
async fn the_binary_refuses_tm_above_the_maximum_with_flink_flags() {
    let h = harness().await;
    h.fake.lock().unwrap().max_memory = 2048;
    let addr = h.fake.lock().unwrap().addr.clone();
    let conf = h.dir.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    let site = |props: &[(&str, &str)]| {
        let body: String = props
            .iter()
            .map(|(k, v)| format!("<property><name>{k}</name><value>{v}</value></property>"))
            .collect();
        format!("<?xml version=\"1.0\"?><configuration>{body}</configuration>")
    };
    std::fs::write(
        conf.join("yarn-site.xml"),
        site(&[("yarn.resourcemanager.webapp.address", &addr)]),
    )
    .unwrap();
    std::fs::write(
        conf.join("core-site.xml"),
        site(&[("fs.defaultFS", "hdfs://nn:8020")]),
    )
    .unwrap();
    std::fs::write(
        conf.join("hdfs-site.xml"),
        site(&[("dfs.namenode.http-address", &addr)]),
    )
    .unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_spindle"))
        .args([
            "yarn-session",
            "-d",
            "-s",
            "1",
            "-tm",
            "3g",
            "-jm",
            "512m",
            "-nm",
            "x",
            "-Da=b",
        ])
        .env("HADOOP_CONF_DIR", &conf)
        .env("USER", "alice")
        .env("SPINDLE_PROPERTIES_DIR", &h.dir)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("requested 3072 MB") && stderr.contains("-tm"),
        "{stderr}"
    );
    h.nothing_submitted_or_staged();
}

#[tokio::test]
async fn without_a_namenode_address_deploying_says_what_to_set_and_query_still_works() {
    let h = harness().await;
    let mut env = h.env.clone();
    env.webhdfs.clear();
    let e = session::deploy(&args(|_| {}), &env, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(e.contains("fs.defaultFS") && e.contains("WebHDFS"), "{e}");
    assert!(h.fake.lock().unwrap().log.is_empty());
    session::query(&env, &mut Vec::new()).await.unwrap();
}

#[tokio::test]
async fn attaching_names_the_am_and_refuses_an_ended_application() {
    let h = harness().await;
    session::deploy(&args(|_| {}), &h.env, &mut Vec::new())
        .await
        .unwrap();
    let mut out = Vec::new();
    session::attach(&h.env, APP_ID, &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("JobManager Web Interface: http://"), "{out}");
    session::stop(None, &h.env, &mut Vec::new()).await.unwrap();
    let e = session::attach(&h.env, APP_ID, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        e.contains("does not run anymore") && e.contains("FINISHED"),
        "{e}"
    );
}
