//! The session ApplicationMaster end to end, in process: a scripted YARN (RM + NM), the AM's
//! `Session` (ResourceManager, YARN driver, TaskExecutor bridge, REST API), and real TaskExecutors
//! started the way the launch contexts say. A session with 2 slots per TaskManager and
//! `slotmanager.number-of-slots.min: 4` asks for exactly 2 containers, their TaskExecutors
//! register 4 slots, a TaskExecutor YARN did not start is refused, and `DELETE /cluster` with
//! the secret stops every container and unregisters SUCCEEDED.

mod am_fake_yarn;

use std::time::Duration;

use am_fake_yarn::{FakeYarn, task_executor};
use serde_json::Value;
use spindle::config::Configuration;
use spindle::jobmanager::Session;
use spindle::rpc::Secret;
use spindle::web::auth::request_token;
use yarn::proto::hadoop::yarn::FinalApplicationStatusProto;
use yarn::records::Resource;

const SECRET: &[u8] = b"a-session-secret-of-32-bytes-abc";

async fn wait_for_available(http: &reqwest::Client, base: &str, available: u64) -> Value {
    let mut overview = Value::Null;
    for _ in 0..1000 {
        overview = get(http, &format!("{base}/overview")).await;
        if overview["slots-available"] == available {
            return overview;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("slots-available never became {available}: {overview}");
}

async fn get(http: &reqwest::Client, url: &str) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_brings_up_the_minimum_registers_slots_and_stops_cleanly() {
    let fake = FakeYarn::start(Resource::new(8192, 8)).await;
    let conf = Configuration::from_pairs([
        ("taskmanager.numberOfTaskSlots", "2"),
        ("slotmanager.number-of-slots.min", "4"),
        ("yarn.heartbeat.container-request-interval", "20"),
        ("yarn.heartbeat.interval", "1"),
        ("heartbeat.interval", "100"),
        ("security.ssl.truststore-password", "hunter2"),
    ]);
    let mut session = Session::start(fake.session_params(conf, SECRET))
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", session.rest_address.port());
    {
        let state = fake.state.lock().unwrap();
        let registration = &state.registrations[0];
        assert_eq!(registration.host.as_deref(), Some("127.0.0.1"));
        assert_eq!(
            registration.rpc_port,
            Some(i32::from(session.rest_address.port()))
        );
        assert_eq!(
            registration.tracking_url.as_deref(),
            Some(&*format!("{base}/"))
        );
    }

    // The minimum of 4 slots at 2 per TaskManager: exactly two containers.
    fake.wait_for("two containers asked for", |s| s.last_ask(1) == Some(2))
        .await;
    let ids = fake.grant(1, 2, Resource::new(1728, 2));
    fake.wait_for("both containers started", |s| s.started.len() == 2)
        .await;
    assert_eq!(fake.state.lock().unwrap().ask_history(1), [2]);

    let logs = tempfile::tempdir().unwrap();
    let started = fake.state.lock().unwrap().started.clone();
    for (id, context) in &started {
        let config = task_executor(id, context, logs.path());
        tokio::spawn(spindle::task_executor::run(config));
    }

    let http = reqwest::Client::new();
    let mut overview = Value::Null;
    for _ in 0..1000 {
        overview = get(&http, &format!("{base}/overview")).await;
        if overview["taskmanagers"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(overview["taskmanagers"], 2, "{overview}");
    assert_eq!(overview["slots-total"], 4);
    assert_eq!(overview["slots-available"], 4);
    assert_eq!(overview["jobs-running"], 0);

    let tms = get(&http, &format!("{base}/taskmanagers")).await;
    let listed: Vec<&str> = tms["taskmanagers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(listed, expected);
    let first = &tms["taskmanagers"][0];
    assert_eq!(first["slotsNumber"], 2);
    assert_eq!(first["freeSlots"], 2);
    assert_eq!(first["totalResource"]["cpuCores"], 2.0);
    assert_eq!(first["totalResource"], first["freeResource"]);

    // A job of 3 subtasks takes 3 slots: the JobMaster's requirements become slot requests
    // that reach the TaskExecutors, which allocate them (their resources fit what the
    // TaskExecutors were started with), offer them to the job and run its tasks; when the job is
    // cancelled its slots are free again.
    let spec = spindle::jobspec::JobSpec::parse(
        "name: sleepers\nvertices:\n  - {name: s, parallelism: 3, command: [sleep, '60']}\n",
    )
    .unwrap();
    let job = session.dispatcher().submit(spec).await.unwrap();
    let overview = wait_for_available(&http, &base, 1).await;
    assert_eq!(overview["slots-total"], 4);
    assert_eq!(overview["jobs-running"], 1);
    let tms = get(&http, &format!("{base}/taskmanagers")).await;
    let free: u64 = tms["taskmanagers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["freeSlots"].as_u64().unwrap())
        .sum();
    assert_eq!(free, 1);
    let details = get(&http, &format!("{base}/jobs/{job}")).await;
    assert_eq!(details["state"], "RUNNING", "{details}");
    session.dispatcher().cancel(job).await.unwrap().unwrap();
    wait_for_available(&http, &base, 4).await;
    let details = get(&http, &format!("{base}/jobs/{job}")).await;
    assert_eq!(details["state"], "CANCELED", "{details}");

    let config = get(&http, &format!("{base}/jobmanager/config")).await;
    let password = config
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "security.ssl.truststore-password")
        .unwrap();
    assert_eq!(password["value"], "******");

    // A TaskExecutor this session never asked for is refused.
    let (_, context) = &started[0];
    let stranger = task_executor(
        "container_1700000000000_0001_01_000099",
        context,
        logs.path(),
    );
    let refused = tokio::time::timeout(
        Duration::from_secs(30),
        spindle::task_executor::run(stranger),
    )
    .await
    .expect("the stranger is answered");
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("does not recognize"),
        "refused with the ResourceManager's reason"
    );
    let events = get(&http, &format!("{base}/events?reason=unknown_worker")).await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1, "{events}");

    // Stopping needs the secret.
    let denied = http.delete(format!("{base}/cluster")).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let wrong = Secret::new(b"not the secret".to_vec()).unwrap();
    let denied = http
        .delete(format!("{base}/cluster"))
        .bearer_auth(request_token(&wrong, "DELETE", "/cluster"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    let secret = Secret::new(SECRET.to_vec()).unwrap();
    let accepted = http
        .delete(format!("{base}/cluster"))
        .bearer_auth(request_token(&secret, "DELETE", "/cluster"))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    assert_eq!(session.wait().await, Ok(()));

    let state = fake.state.lock().unwrap();
    let mut stopped = state.stopped.clone();
    stopped.sort();
    assert_eq!(stopped, expected, "every container stopped");
    let finished = state.finished.as_ref().unwrap();
    assert_eq!(
        finished.final_application_status,
        Some(FinalApplicationStatusProto::AppSucceeded as i32)
    );
}
