//! Jobs in a session on the real binary and mini-yarn: `spindle run` posts the spec to the
//! session's ApplicationMaster, `spindle list` and `spindle cancel` work on its jobs, and the REST
//! API shows where each subtask ran.
//!
//! - slot sharing: A(4) → B(4) → C(3) in one group takes 4 slots — three hold A, B and C, one
//!   holds A and B;
//! - a blocking edge: the consumer region starts only after the producer region has finished;
//! - two jobs at once: `list` shows both; `cancel` ends one CANCELED while the other finishes;
//! - the job endpoints refuse changes without the application's secret, and a job's key-value
//!   store refuses any token but its own job's.

mod session_common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

use session_common::{Mini, get, poll};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: &Output) -> String {
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    stdout
}

fn write_spec(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn job_id(stdout: &str) -> String {
    session_common::line_after(stdout, "Job has been submitted with JobID ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no job id in {stdout}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn slot_sharing_and_a_blocking_edge_in_a_session() {
    let mini = Mini::start(&[]);
    let http = reqwest::Client::new();
    let (app, web) = mini.deploy(&["-d", "-s", "2"]);
    let marks = mini.dir.path().join("marks");
    std::fs::create_dir_all(&marks).unwrap();

    // Slot sharing: three pipelined vertices in one group.
    let shared = write_spec(
        mini.dir.path(),
        "shared.yaml",
        "name: shared\nvertices:\n  - {name: A, parallelism: 4, command: [sleep, '1']}\n  - {name: B, parallelism: 4, command: [sleep, '1']}\n  - {name: C, parallelism: 3, command: [sleep, '1']}\nedges:\n  - {from: A, to: B, distribution: forward}\n  - {from: B, to: C}\n",
    );
    let stdout = ok(&mini.cli("run", &[&shared]));
    let job = job_id(&stdout);
    assert!(stdout.contains("(shared) FINISHED"), "{stdout}");
    let details = get(&http, &format!("{web}/jobs/{job}")).await.unwrap();
    let mut slots: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in details["vertices"].as_array().unwrap() {
        for s in v["subtasks"].as_array().unwrap() {
            slots
                .entry(s["allocation-id"].as_str().unwrap().to_owned())
                .or_default()
                .insert(v["name"].as_str().unwrap().to_owned());
        }
    }
    let mut holdings: Vec<String> = slots
        .values()
        .map(|vs| vs.iter().cloned().collect::<Vec<_>>().join(""))
        .collect();
    holdings.sort();
    assert_eq!(holdings, ["AB", "ABC", "ABC", "ABC"], "{details:#}");
    // Two TaskManagers of two slots served the four shared slots.
    let overview = get(&http, &format!("{web}/overview")).await.unwrap();
    assert_eq!(overview["taskmanagers"], 2, "{overview}");
    assert_eq!(overview["jobs-finished"], 1, "{overview}");

    // A blocking edge: every consumer starts after every producer has ended.
    let blocking = write_spec(
        mini.dir.path(),
        "blocking.yaml",
        &format!(
            "name: blocking\nvertices:\n  - name: produce\n    parallelism: 3\n    env: {{MARKS: {m}}}\n    command: [sh, -c, 'sleep 1; touch \"$MARKS/produced-$SPINDLE_SUBTASK_INDEX\"']\n  - name: consume\n    parallelism: 2\n    env: {{MARKS: {m}}}\n    command: [sh, -c, 'ls \"$MARKS\" | grep -c produced > \"$MARKS/consumer-$SPINDLE_SUBTASK_INDEX-saw\"']\nedges:\n  - {{from: produce, to: consume, exchange: blocking}}\n",
            m = marks.display()
        ),
    );
    let stdout = ok(&mini.cli("run", &[&blocking]));
    assert!(stdout.contains("(blocking) FINISHED"), "{stdout}");
    for i in 0..2 {
        let saw = std::fs::read_to_string(marks.join(format!("consumer-{i}-saw"))).unwrap();
        assert_eq!(
            saw.trim(),
            "3",
            "consumer {i} started before all producers ended"
        );
    }

    // Tasks meet through the job's key-value store: one waits for what the other publishes.
    let rendezvous = write_spec(
        mini.dir.path(),
        "rendezvous.yaml",
        "name: rendezvous\nvertices:\n  - name: meet\n    parallelism: 2\n    command:\n      - sh\n      - -c\n      - |\n        set -e\n        if [ \"$SPINDLE_SUBTASK_INDEX\" = 0 ]; then sleep 1; spindle kv put meet/address \"host-$SPINDLE_JOB_ID\"; exit 0; fi\n        got=$(spindle kv wait meet/address --timeout 60)\n        [ \"$got\" = \"host-$SPINDLE_JOB_ID\" ]\n        ! spindle kv get meet/never\n",
    );
    let stdout = ok(&mini.cli("run", &[&rendezvous]));
    assert!(stdout.contains("(rendezvous) FINISHED"), "{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");

    session_common::stop(&mini, &http, &app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_jobs_at_once_list_and_cancel() {
    let mini = Mini::start(&[]);
    let http = reqwest::Client::new();
    let (app, web) = mini.deploy(&["-d", "-s", "2"]);
    let long = write_spec(
        mini.dir.path(),
        "long.yaml",
        "name: long\nvertices:\n  - {name: sleeper, parallelism: 2, command: [sleep, '120']}\n",
    );
    let short = write_spec(
        mini.dir.path(),
        "short.yaml",
        "name: short\nvertices:\n  - {name: nap, command: [sleep, '3']}\n",
    );
    let long_job = job_id(&ok(&mini.cli("run", &["-d", &long])));
    let short_job = job_id(&ok(&mini.cli("run", &["-d", "-p", "2", &short])));
    // Both run.
    poll(&http, &format!("{web}/jobs/overview"), |v| {
        v["jobs"]
            .as_array()
            .is_some_and(|jobs| jobs.iter().filter(|j| j["tasks"]["RUNNING"] == 2).count() == 2)
    })
    .await;
    // The key-value store needs the job's own token.
    let secret = read_secret(&mini);
    let r = http
        .get(format!("{web}/jobs/{long_job}/kv/some/key"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let other_token = job_token(&secret, &short_job);
    let r = http
        .put(format!("{web}/jobs/{long_job}/kv/some/key"))
        .bearer_auth(&other_token)
        .body("v")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "another job's token opens nothing");
    let own = job_token(&secret, &long_job);
    let r = http
        .put(format!("{web}/jobs/{long_job}/kv/some/key"))
        .bearer_auth(&own)
        .body("forty-two")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = http
        .get(format!("{web}/jobs/{long_job}/kv/some/key"))
        .bearer_auth(&own)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "forty-two");
    let r = http
        .get(format!("{web}/jobs/{long_job}/kv/missing?wait=200"))
        .bearer_auth(&own)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let listed = ok(&mini.cli("list", &[]));
    assert!(
        listed.contains(&format!("{long_job} : long (RUNNING")),
        "{listed}"
    );
    assert!(
        listed.contains(&format!("{short_job} : short (RUNNING")),
        "{listed}"
    );

    let cancelled = ok(&mini.cli("cancel", &[&long_job]));
    assert!(
        cancelled.contains(&format!("Job {long_job} is CANCELED")),
        "{cancelled}"
    );
    let short_done = poll(&http, &format!("{web}/jobs/{short_job}"), |v| {
        v["state"] == "FINISHED"
    })
    .await;
    assert_eq!(short_done["state"], "FINISHED", "{short_done}");
    let all = ok(&mini.cli("list", &["-a"]));
    assert!(all.contains("No running jobs."), "{all}");
    assert!(
        all.contains(&format!("{long_job} : long (CANCELED")),
        "{all}"
    );
    assert!(
        all.contains(&format!("{short_job} : short (FINISHED")),
        "{all}"
    );

    // Cancelling again, or a job that does not exist, is refused with the reason.
    let again = mini.cli("cancel", &[&long_job]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already ended"),
        "{}",
        text(&again.stderr)
    );
    let bogus = mini.cli("cancel", &["not-a-job"]);
    assert!(text(&bogus.stderr).contains("32 hex digits"));

    // Changes need the secret.
    let r = http
        .post(format!("{web}/jobs"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .patch(format!("{web}/jobs/{short_job}?mode=cancel"))
        .bearer_auth("00")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A signed submission cannot be replayed with another body, nor with a stale date.
    let secret = read_secret(&mini);
    let now = spindle::web::auth::unix_now();
    let token = spindle::web::auth::signed_request_token(&secret, "POST", "/jobs", b"{}", now);
    for (body, date) in [("{\"name\": \"x\"}", now), ("{}", now - 3600)] {
        let r = http
            .post(format!("{web}/jobs"))
            .bearer_auth(&token)
            .header(spindle::web::auth::DATE_HEADER, date.to_string())
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{body} at {date}");
    }
    // An ended job's store is gone.
    let r = http
        .put(format!("{web}/jobs/{long_job}/kv/late"))
        .bearer_auth(job_token(&secret, &long_job))
        .body("v")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);

    // A job the session cannot hold is refused with the reason, and nothing runs.
    let greedy = write_spec(
        mini.dir.path(),
        "greedy.yaml",
        "name: greedy\nvertices:\n  - {name: g, command: [x], resources: {cpu: 64, memory_mb: 100}}\n",
    );
    let refused = mini.cli("run", &[&greedy]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("more than a worker offers"),
        "{}",
        text(&refused.stderr)
    );
    let jobs = get(&http, &format!("{web}/jobs/overview")).await.unwrap();
    assert_eq!(jobs["jobs"].as_array().unwrap().len(), 2, "{jobs}");

    session_common::stop(&mini, &http, &app).await;
}

/// The session's secret, from the properties file the CLI wrote.
fn read_secret(mini: &Mini) -> spindle::rpc::Secret {
    let path = spindle::cli::properties::properties_path(session_common::USER);
    let path = mini.dir.path().join(path.file_name().expect("a file name"));
    spindle::cli::properties::SessionProperties::read(&path)
        .unwrap()
        .expect("the session's properties")
        .secret
}

fn job_token(secret: &spindle::rpc::Secret, job: &str) -> String {
    let id = spindle::dispatcher::parse_job_id(job).unwrap();
    spindle::web::auth::job_token(secret, &id)
}
