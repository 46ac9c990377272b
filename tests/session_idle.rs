//! Idle TaskManager release in a session, in process: the AM's `Session` on a scripted YARN with
//! real TaskExecutors. A job's requirement rises (6 slots: 3 TaskManagers of 2 slots) and falls
//! (the job ends); with `slotmanager.number-of-slots.min: 2` and
//! `resourcemanager.taskmanager-timeout: 2 s`, the two TaskManagers the minimum does not need are
//! released after the idle timeout (their containers given back to YARN, which reports them
//! completed), the one the minimum needs stays, and nothing new is asked for.
//!
//! It runs in process so that the YARN side is scripted: which containers are granted, and their
//! completion reports. The job is a real one, run by the session's dispatcher.

mod am_fake_yarn;

use std::time::Duration;

use am_fake_yarn::{FakeYarn, task_executor};
use serde_json::Value;
use spindle::config::Configuration;
use spindle::jobmanager::Session;
use spindle::rpc::Secret;
use spindle::web::auth::request_token;
use yarn::records::Resource;

const SECRET: &[u8] = b"a-session-secret-of-32-bytes-idl";

async fn overview_until(
    http: &reqwest::Client,
    base: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..1500 {
        if let Ok(r) = http.get(format!("{base}/overview")).send().await
            && let Ok(v) = r.json::<Value>().await
        {
            if done(&v) {
                return v;
            }
            last = v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the overview never got there: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taskmanagers_the_minimum_does_not_need_are_released_after_the_idle_timeout() {
    let fake = FakeYarn::start(Resource::new(8192, 8)).await;
    let conf = Configuration::from_pairs([
        ("taskmanager.numberOfTaskSlots", "2"),
        ("slotmanager.number-of-slots.min", "2"),
        ("resourcemanager.taskmanager-timeout", "2 s"),
        ("yarn.heartbeat.container-request-interval", "20"),
        ("yarn.heartbeat.interval", "1"),
        ("heartbeat.interval", "100"),
    ]);
    let mut session = Session::start(fake.session_params(conf, SECRET))
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", session.rest_address.port());
    let http = reqwest::Client::new();
    let logs = tempfile::tempdir().unwrap();

    // The minimum: one TaskManager of 2 slots.
    fake.wait_for("one container asked for", |s| s.last_ask(1) == Some(1))
        .await;
    let first = fake.grant(1, 1, Resource::new(1728, 2));
    fake.wait_for("it started", |s| s.started.len() == 1).await;

    // The requirement rises: a job needs 6 slots, two more TaskManagers.
    let spec = spindle::jobspec::JobSpec::parse(
        "name: six\nvertices:\n  - {name: s, parallelism: 6, command: [sleep, '120']}\n",
    )
    .unwrap();
    let job = session.dispatcher().submit(spec).await.unwrap();
    fake.wait_for("two more containers asked for", |s| {
        s.last_ask(1) == Some(2)
    })
    .await;
    let more = fake.grant(1, 2, Resource::new(1728, 2));
    fake.wait_for("all three started", |s| s.started.len() == 3)
        .await;
    let started = fake.state.lock().unwrap().started.clone();
    for (id, context) in &started {
        tokio::spawn(spindle::task_executor::run(task_executor(
            id,
            context,
            logs.path(),
        )));
    }
    let overview = overview_until(&http, &base, |v| {
        v["taskmanagers"] == 3 && v["slots-available"] == 0
    })
    .await;
    assert_eq!(overview["slots-total"], 6);

    // The requirement falls: the job ends (cancelled), every slot is free; after the idle
    // timeout two TaskManagers go and the minimum's one stays.
    session.dispatcher().cancel(job).await.unwrap().unwrap();
    let overview = overview_until(&http, &base, |v| v["taskmanagers"] == 1).await;
    assert_eq!(overview["slots-total"], 2, "{overview}");
    assert_eq!(overview["slots-available"], 2, "{overview}");

    let events: Value = http
        .get(format!("{base}/events?reason=idle"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let unwanted: Vec<String> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "task_manager_unwanted")
        .map(|e| e["worker"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(unwanted.len(), 2, "{events}");
    let all: Vec<String> = first.iter().chain(&more).cloned().collect();
    for w in &unwanted {
        assert!(all.contains(w), "{w} is one of {all:?}");
    }

    // Both containers are given back to YARN (stopped at their NodeManager or released).
    fake.wait_for("the idle containers given back", |s| {
        let back: Vec<String> = s.stopped.iter().cloned().chain(s.released()).collect();
        unwanted.iter().all(|w| back.contains(w))
    })
    .await;
    let kept: Vec<&String> = all.iter().filter(|c| !unwanted.contains(c)).collect();
    assert_eq!(kept.len(), 1);
    {
        let s = fake.state.lock().unwrap();
        let back: Vec<String> = s.stopped.iter().cloned().chain(s.released()).collect();
        assert!(!back.contains(kept[0]), "the minimum's TaskManager stays");
    }
    // YARN reports them completed (killed on the AM's request, released); no new ask follows.
    fake.complete(
        &unwanted[0],
        -105,
        "Container killed by the ApplicationMaster.",
    );
    fake.complete(&unwanted[1], -100, "Container released by application");
    let (seen, asks) = {
        let s = fake.state.lock().unwrap();
        (s.allocates.len(), s.ask_history(1))
    };
    assert_eq!(asks, [1, 2], "one ask for the minimum, one for the job");
    fake.wait_for("two more allocate calls", |s| s.allocates.len() >= seen + 2)
        .await;
    assert_eq!(fake.state.lock().unwrap().ask_history(1), asks);
    let overview = overview_until(&http, &base, |v| v["taskmanagers"] == 1).await;
    assert_eq!(overview["slots-total"], 2);

    let secret = Secret::new(SECRET.to_vec()).unwrap();
    let accepted = http
        .delete(format!("{base}/cluster"))
        .bearer_auth(request_token(&secret, "DELETE", "/cluster"))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    assert_eq!(session.wait().await, Ok(()));
}
