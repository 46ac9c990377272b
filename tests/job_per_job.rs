//! Per-job clusters on the real binary and mini-yarn: `spindle run -m yarn-cluster` deploys an
//! ApplicationMaster that runs the one job and unregisters with its outcome.
//!
//! - seed 004: `-ys 2 -p 4` while mini-yarn hands out 2 extra containers → exactly 2
//!   TaskExecutors, the extras released and never launched, never more than AM + 2 running, the
//!   application FINISHED/SUCCEEDED and the CLI exiting 0;
//! - a task that fails once is restarted and the job succeeds;
//! - a TaskExecutor container killed in the middle of the job is replaced and the job succeeds;
//! - a task that keeps failing ends the job FAILED: the task's error in the CLI's output and
//!   finalStatus FAILED in YARN;
//! - a bad spec, or one asking for more than a TaskManager has, is refused before anything is
//!   submitted.

mod session_common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use session_common::{Mini, containers, get, most_running, poll, poll_journal};

fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

fn write_spec(mini: &Mini, name: &str, text: &str) -> String {
    let path = mini.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The applications the RM knows.
async fn apps(mini: &Mini, http: &reqwest::Client) -> Vec<Value> {
    get(http, &format!("{}/apps", mini.rest_url))
        .await
        .and_then(|v| v["apps"]["app"].as_array().cloned())
        .unwrap_or_default()
}

/// A `spindle` command running in the background, its stdout read line by line as it comes.
struct Running {
    child: std::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    reader: std::thread::JoinHandle<()>,
    printed: String,
}

impl Running {
    fn start(mini: &Mini, subcommand: &str, args: &[&str]) -> Running {
        let mut child = mini.spawn(subcommand, args);
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Running {
            child,
            lines,
            reader,
            printed: String::new(),
        }
    }

    /// Reads lines until what was printed satisfies `done` (for at most two minutes).
    async fn until(&mut self, done: impl Fn(&str) -> bool) {
        while !done(&self.printed) {
            let line = tokio::time::timeout(Duration::from_secs(120), self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("still waiting after two minutes: {}", self.printed))
                .unwrap_or_else(|| panic!("the command ended early: {}", self.printed));
            self.printed.push_str(&line);
            self.printed.push('\n');
        }
    }

    /// Waits for the command's end: its output (stdout already read) and everything it printed.
    async fn finish(mut self) -> (std::process::Output, String) {
        let child = self.child;
        let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        self.reader.join().unwrap();
        while let Ok(line) = self.lines.try_recv() {
            self.printed.push_str(&line);
            self.printed.push('\n');
        }
        (output, self.printed)
    }
}

fn app_of(stdout: &str) -> String {
    stdout
        .split_whitespace()
        .find(|w| w.starts_with("application_"))
        .map(|w| w.trim_end_matches([')', ',', '.']).to_owned())
        .unwrap_or_else(|| panic!("no application id in {stdout}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_004_runs_on_exactly_two_taskexecutors_and_succeeds() {
    let mini = Mini::start(&["--extra-containers", "2"]);
    let http = reqwest::Client::new();
    let out = mini.cli(
        "run",
        &[
            "-m",
            "yarn-cluster",
            "-ys",
            "2",
            "-p",
            "4",
            "-yn",
            "2",
            &example("wordcount.yaml"),
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("-yn is ignored"), "{stdout}");
    assert!(stdout.contains("(wordcount) FINISHED"), "{stdout}");
    assert!(
        stdout.contains("is FINISHED with final status SUCCEEDED"),
        "{stdout}"
    );
    let app = app_of(&stdout);
    let report = poll(&http, &format!("{}/apps/{app}", mini.rest_url), |v| {
        v["app"]["state"] == "FINISHED"
    })
    .await;
    assert_eq!(report["app"]["finalStatus"], "SUCCEEDED", "{report}");

    let journal = poll_journal(&mini, |j| {
        containers(j, &app, "container_completed").len()
            >= containers(j, &app, "container_allocated").len()
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
        launched.len(),
        3,
        "the AM and 2 TaskExecutors: {journal:#?}"
    );
    let extra: BTreeSet<String> = allocated
        .iter()
        .filter(|c| !launched.contains(*c))
        .cloned()
        .collect();
    assert_eq!(extra.len(), 2, "two extra containers: {journal:#?}");
    assert!(
        extra.is_subset(&released),
        "the extra containers were released: {journal:#?}"
    );
    assert_eq!(most_running(&journal, &app), 3, "{journal:#?}");

    // The job's result went through the key-value store: `total` printed the sum of the counts.
    let total: u64 = (0..4u64).map(|i| 20_000 * (i + 1)).sum();
    let logs: String = launched
        .iter()
        .map(|c| session_common::container_log(&mini, &app, c))
        .collect();
    assert!(
        logs.contains(&format!("total words: {total}")),
        "the total in a task's stdout: {logs}"
    );
    // The staging folder is gone.
    assert!(!mini.staging(&app).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_failing_once_is_restarted_and_the_job_succeeds() {
    let mini = Mini::start(&[]);
    let out = mini.cli(
        "run",
        &[
            "-t",
            "yarn-per-job",
            "-ys",
            "2",
            &example("flaky-pipeline.yaml"),
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("work (2/2) attempt #0 FAILED"), "{stdout}");
    assert!(
        stdout.contains("work (2/2) attempt #1 FINISHED"),
        "{stdout}"
    );
    assert!(stdout.contains("FINISHED after"), "{stdout}");
    assert!(stdout.contains("1 restart(s)"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_that_keeps_failing_fails_the_job_and_the_application() {
    let mini = Mini::start(&[]);
    let http = reqwest::Client::new();
    let spec = write_spec(
        &mini,
        "always-fails.yaml",
        "name: always-fails\nvertices:\n  - name: broken\n    parallelism: 1\n    command: [sh, -c, 'echo \"disk on fire in subtask $SPINDLE_SUBTASK_INDEX\" >&2; exit 3']\n",
    );
    let out = mini.cli(
        "run",
        &[
            "-m",
            "yarn-cluster",
            "-yD",
            "restart-strategy.type=fixed-delay",
            "-yDrestart-strategy.fixed-delay.attempts=2",
            "-yD",
            "restart-strategy.fixed-delay.delay=100 ms",
            &spec,
        ],
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("attempt #2 FAILED"), "{stdout}");
    let all = format!("{stdout}\n{stderr}");
    assert!(all.contains("disk on fire in subtask 0"), "{all}");
    assert!(all.contains("exited with code 3"), "{all}");
    assert!(stderr.contains("final status FAILED"), "{stderr}");
    let app = app_of(&stdout);
    let report = poll(&http, &format!("{}/apps/{app}", mini.rest_url), |v| {
        v["app"]["state"] == "FINISHED"
    })
    .await;
    assert_eq!(report["app"]["finalStatus"], "FAILED", "{report}");
    let diagnostics = report["app"]["diagnostics"].as_str().unwrap_or_default();
    assert!(diagnostics.contains("disk on fire"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_taskexecutor_is_replaced_and_the_job_succeeds() {
    let mini = Mini::start(&[]);
    let http = reqwest::Client::new();
    // The first attempts wait long enough to be killed.
    let spec = write_spec(
        &mini,
        "steady.yaml",
        "name: steady\nvertices:\n  - name: work\n    parallelism: 2\n    command: [sh, -c, 'if [ \"$SPINDLE_ATTEMPT\" = 0 ]; then sleep 60; else sleep 1; fi']\n",
    );
    let mut run = Running::start(&mini, "run", &["-m", "yarn-cluster", "-ys", "2", &spec]);
    run.until(|p| p.matches("attempt #0 RUNNING").count() == 2)
        .await;
    let app = app_of(
        run.printed
            .lines()
            .find(|l| l.contains("Submitting application master"))
            .unwrap(),
    );
    let journal = mini.journal();
    let task_executors: Vec<String> = containers(&journal, &app, "container_launched")
        .into_iter()
        .filter(|c| !c.ends_with("_000001"))
        .collect();
    assert_eq!(task_executors.len(), 1, "{journal:#?}");
    // Kill the TaskExecutor container's processes (the TaskExecutor and its tasks).
    for pid in session_common::container_processes(&task_executors[0]) {
        // SAFETY: kill(2) on a process of the container under test.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let (status, printed) = run.finish().await;
    assert!(
        status.status.success(),
        "{printed}\n{}",
        text(&status.stderr)
    );
    assert!(printed.contains("attempt #1 FINISHED"), "{printed}");
    let report = poll(&http, &format!("{}/apps/{app}", mini.rest_url), |v| {
        v["app"]["state"] == "FINISHED"
    })
    .await;
    assert_eq!(report["app"]["finalStatus"], "SUCCEEDED", "{report}");
    let launched = containers(&mini.journal(), &app, "container_launched");
    assert_eq!(
        launched.iter().filter(|c| !c.ends_with("_000001")).count(),
        2,
        "a replacement TaskExecutor: {launched:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_cancels_an_attached_per_job_run_and_the_application_ends_killed() {
    let mini = Mini::start(&[]);
    let http = reqwest::Client::new();
    let spec = write_spec(
        &mini,
        "forever.yaml",
        "name: forever\nvertices:\n  - {name: wait, parallelism: 1, command: [sleep, '90']}\n",
    );
    let mut run = Running::start(&mini, "run", &["-m", "yarn-cluster", &spec]);
    run.until(|p| p.contains("attempt #0 RUNNING")).await;
    let app = app_of(
        run.printed
            .lines()
            .find(|l| l.contains("Submitting application master"))
            .unwrap(),
    );
    // SAFETY: kill(2) on the child this test started.
    unsafe { libc::kill(run.child.id() as i32, libc::SIGINT) };
    let (output, printed) = run.finish().await;
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{printed}\n{stderr}");
    assert!(printed.contains("Cancelling job"), "{printed}\n{stderr}");
    assert!(
        printed.contains("(forever) CANCELED"),
        "{printed}\n{stderr}"
    );
    let report = poll(&http, &format!("{}/apps/{app}", mini.rest_url), |v| {
        v["app"]["state"] == "FINISHED"
    })
    .await;
    assert_eq!(report["app"]["finalStatus"], "KILLED", "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_specs_are_refused_before_anything_is_submitted() {
    let mini = Mini::start(&[]);
    let http = reqwest::Client::new();
    let malformed = write_spec(
        &mini,
        "malformed.yaml",
        "name: m\nvertices:\n  - name: a\n    parallelism: 2\n    command: [x\n",
    );
    let cycle = write_spec(
        &mini,
        "cycle.yaml",
        "name: c\nvertices:\n  - {name: a, parallelism: 1, command: [x]}\n  - {name: b, parallelism: 1, command: [x]}\nedges:\n  - {from: a, to: b}\n  - {from: b, to: a}\n",
    );
    let huge = write_spec(
        &mini,
        "huge.yaml",
        "name: h\nvertices:\n  - name: greedy\n    parallelism: 1\n    resources: {cpu: 1, memory_mb: 900000}\n    command: [x]\n",
    );
    for (spec, expected) in [
        (malformed.as_str(), "line "),
        (cycle.as_str(), "cycle"),
        (huge.as_str(), "more than a worker offers"),
        ("/nonexistent/job.yaml", "cannot read the job spec"),
    ] {
        let out = mini.cli("run", &["-m", "yarn-cluster", spec]);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{spec}: {}", text(&out.stdout));
        assert!(stderr.contains(expected), "{spec}: {stderr}");
    }
    let out = mini.cli("run", &["-m", "yarn-cluster", "-t", "yarn-session", &cycle]);
    assert!(!out.status.success());
    assert!(apps(&mini, &http).await.is_empty(), "nothing was submitted");
}
