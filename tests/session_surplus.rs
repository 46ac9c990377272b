//! Surplus containers on the real binary: mini-yarn hands every application 2 containers it did
//! not ask for; the session (`-s 2 -Dslotmanager.number-of-slots.min=4`) still runs exactly 2
//! TaskExecutors with 4 slots, and the journal shows the 2 extra containers released at once and
//! never launched, with never more than the AM and 2 TaskExecutor containers running.

mod session_common;

use std::collections::BTreeSet;

use session_common::{Mini, containers, poll, poll_journal};

#[tokio::test(flavor = "multi_thread")]
async fn extra_containers_are_released_unlaunched_and_the_session_keeps_two_taskexecutors() {
    let mini = Mini::start(&["--extra-containers", "2"]);
    let (app, web) = mini.deploy(&["-d", "-s", "2", "-Dslotmanager.number-of-slots.min=4"]);
    let http = reqwest::Client::new();

    let overview = poll(&http, &format!("{web}/overview"), |v| {
        v["taskmanagers"] == 2 && v["slots-total"] == 4
    })
    .await;
    assert_eq!(overview["taskmanagers"], 2, "{overview}");
    assert_eq!(overview["slots-total"], 4, "{overview}");

    // AM + 2 TaskExecutors + 2 extra allocated; the extras end released (-100, ABORTED).
    let journal = poll_journal(&mini, |j| {
        let allocated = containers(j, &app, "container_allocated");
        let completed = containers(j, &app, "container_completed");
        allocated.len() >= 5 && completed.len() >= 2
    })
    .await;
    let allocated = containers(&journal, &app, "container_allocated");
    let launched: BTreeSet<String> = containers(&journal, &app, "container_launched")
        .into_iter()
        .collect();
    let released: BTreeSet<String> = containers(&journal, &app, "container_released")
        .into_iter()
        .collect();
    assert_eq!(
        allocated.len(),
        5,
        "AM, 2 TaskExecutors, 2 extra: {journal:#?}"
    );
    assert_eq!(
        launched.len(),
        3,
        "only the AM and 2 TaskExecutors launched"
    );
    let unlaunched: BTreeSet<String> = allocated
        .iter()
        .filter(|c| !launched.contains(*c))
        .cloned()
        .collect();
    assert_eq!(unlaunched.len(), 2, "{journal:#?}");
    assert_eq!(
        released, unlaunched,
        "exactly the extra containers released"
    );
    for c in &unlaunched {
        let completed = journal
            .iter()
            .find(|e| e["event"] == "container_completed" && e["container"] == c.as_str())
            .unwrap_or_else(|| panic!("{c} completed: {journal:#?}"));
        assert_eq!(completed["exit_status"], -100, "{completed}");
    }

    // Replaying the journal: never more than 3 of the application's containers running at once.
    assert_eq!(
        session_common::most_running(&journal, &app),
        3,
        "{journal:#?}"
    );

    // The AM says why in its log, and the decision log names each as released as surplus.
    let am = session_common::am_container(&journal, &app);
    let log = session_common::container_log(&mini, &app, &am);
    assert_eq!(
        log.matches("returned a surplus container without launching it")
            .count(),
        2,
        "{log}"
    );
    let events = session_common::get(&http, &format!("{web}/events"))
        .await
        .unwrap();
    let surplus: BTreeSet<String> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "worker_released" && e["reason"] == "surplus")
        .map(|e| e["worker"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(surplus, unlaunched, "{events:#}");

    session_common::stop(&mini, &http, &app).await;
}
