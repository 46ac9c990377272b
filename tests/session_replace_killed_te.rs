//! A TaskExecutor container killed through mini-yarn's fault injection is replaced: the AM sees
//! the container end, asks for a new one, its TaskExecutor registers, and the session is back to
//! 2 TaskManagers with 4 slots; the decision log shows the termination and the new ask.

mod session_common;

use serde_json::Value;
use session_common::{Mini, am_container, containers, get, poll, poll_journal};

fn ids(tms: &Value) -> Vec<String> {
    tms["taskmanagers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| t["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_taskexecutor_container_is_replaced() {
    let mini = Mini::start(&[]);
    let (app, web) = mini.deploy(&["-d", "-s", "2", "-Dslotmanager.number-of-slots.min=4"]);
    let http = reqwest::Client::new();
    let overview = poll(&http, &format!("{web}/overview"), |v| {
        v["taskmanagers"] == 2
    })
    .await;
    assert_eq!(overview["taskmanagers"], 2, "{overview}");
    let before = ids(&get(&http, &format!("{web}/taskmanagers")).await.unwrap());
    let journal = mini.journal();
    let am = am_container(&journal, &app);
    let launched = containers(&journal, &app, "container_launched");
    assert_eq!(launched.len(), 3, "{journal:#?}");
    let victim = launched.iter().find(|c| **c != am).unwrap().clone();
    assert!(
        before.contains(&victim),
        "{before:?} registered as {victim}"
    );

    let killed = http
        .post(format!("{}/mini/v1/containers/{victim}/kill", mini.web))
        .send()
        .await
        .unwrap();
    assert_eq!(killed.status(), 204);

    // A fourth container of the application launches and its TaskExecutor registers.
    let journal = poll_journal(&mini, |j| {
        containers(j, &app, "container_launched").len() >= 4
    })
    .await;
    let launched = containers(&journal, &app, "container_launched");
    assert_eq!(launched.len(), 4, "{journal:#?}");
    let replacement = launched[3].clone();
    let completed = journal
        .iter()
        .find(|e| e["event"] == "container_completed" && e["container"] == victim.as_str())
        .expect("the killed container completed");
    assert_ne!(completed["exit_status"], 0, "{completed}");

    let tms = poll(&http, &format!("{web}/taskmanagers"), |v| {
        let ids = ids(v);
        ids.len() == 2 && ids.contains(&replacement)
    })
    .await;
    let now = ids(&tms);
    assert!(now.contains(&replacement), "{tms}");
    assert!(!now.contains(&victim), "{tms}");
    let overview = get(&http, &format!("{web}/overview")).await.unwrap();
    assert_eq!(overview["taskmanagers"], 2, "{overview}");
    assert_eq!(overview["slots-total"], 4, "{overview}");

    // The decision log: the victim's TaskManager removed (its connection dropped with the
    // process), then a pending TaskManager for the minimum and a new ask because it is needed.
    let events = get(&http, &format!("{web}/events")).await.unwrap();
    let events = events["events"].as_array().unwrap().clone();
    let terminated = events
        .iter()
        .position(|e| {
            (e["event"] == "task_manager_removed" || e["event"] == "worker_terminated")
                && e["worker"] == victim.as_str()
        })
        .unwrap_or_else(|| panic!("no termination of {victim}: {events:#?}"));
    assert!(
        events[terminated]["reason"] == "disconnected"
            || events[terminated]["reason"] == "terminated",
        "the removal says the TaskExecutor went away: {:#}",
        events[terminated]
    );
    assert!(
        events[terminated + 1..]
            .iter()
            .any(|e| e["event"] == "pending_task_manager_added" && e["reason"] == "minimum"),
        "no pending TaskManager for the minimum: {events:#?}"
    );
    assert!(
        events[terminated + 1..]
            .iter()
            .any(|e| e["event"] == "worker_asked" && e["reason"] == "needed"),
        "no new ask after the termination: {events:#?}"
    );
    assert!(
        events[terminated + 1..].iter().any(|e| e["event"] == "task_manager_registered"
            && e["worker"] == replacement.as_str()),
        "{events:#?}"
    );

    session_common::stop(&mini, &http, &app).await;
}
