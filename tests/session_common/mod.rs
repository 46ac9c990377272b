//! What the session end-to-end tests share: a `spindle mini-yarn` process started with the flags a
//! test needs (its journal in a file the test reads), `spindle yarn-session` run against it through
//! HADOOP_CONF_DIR, and polling helpers for the AM's REST API, the RM's REST API and the journal.
//! Every wait polls for a condition with a generous bound; nothing asserts on elapsed time.

#![allow(dead_code)] // each test file uses its own subset

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The user the tests submit as.
pub const USER: &str = "e2e-session";

/// A running `spindle mini-yarn`, stopped (with every container it started) when dropped.
pub struct Mini {
    child: Child,
    pub dir: tempfile::TempDir,
    pub conf_dir: PathBuf,
    pub work_dir: PathBuf,
    pub journal: PathBuf,
    /// `http://<webapp>/ws/v1/cluster`.
    pub rest_url: String,
    /// `http://<webapp>`.
    pub web: String,
}

impl Mini {
    /// Starts mini-yarn with `extra` flags after the conf dir, work dir and journal.
    pub fn start(extra: &[&str]) -> Mini {
        let dir = tempfile::tempdir().unwrap();
        let conf_dir = dir.path().join("conf");
        let work_dir = dir.path().join("cluster");
        let journal = dir.path().join("journal.jsonl");
        let mut child = Command::new(env!("CARGO_BIN_EXE_spindle"))
            .arg("mini-yarn")
            .arg("--conf-dir")
            .arg(&conf_dir)
            .arg("--work-dir")
            .arg(&work_dir)
            .arg("--journal")
            .arg(&journal)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("mini-yarn's ready line {line:?}: {e}"));
        let rest_url = ready["rest_url"].as_str().unwrap().to_owned();
        let web = format!("http://{}", ready["webapp"].as_str().unwrap());
        Mini {
            child,
            dir,
            conf_dir,
            work_dir,
            journal,
            rest_url,
            web,
        }
    }

    /// `spindle yarn-session ARGS` against this cluster.
    pub fn session(&self, args: &[&str]) -> Output {
        self.cli("yarn-session", args)
    }

    /// `spindle SUBCOMMAND ARGS` against this cluster, to its end.
    pub fn cli(&self, subcommand: &str, args: &[&str]) -> Output {
        self.command(subcommand, args).output().unwrap()
    }

    /// `spindle SUBCOMMAND ARGS` against this cluster, started with its stdout and stderr piped.
    pub fn spawn(&self, subcommand: &str, args: &[&str]) -> Child {
        self.command(subcommand, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn command(&self, subcommand: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_spindle"));
        command
            .arg(subcommand)
            .args(args)
            .env("HADOOP_CONF_DIR", &self.conf_dir)
            .env_remove("YARN_CONF_DIR")
            .env_remove("HADOOP_HOME")
            .env_remove("HADOOP_USER_NAME")
            .env("USER", USER)
            .env("TMPDIR", self.dir.path())
            .env("SPINDLE_PROPERTIES_DIR", self.dir.path());
        command
    }

    /// Deploys a detached session with `args`; returns (application id, AM web address).
    pub fn deploy(&self, args: &[&str]) -> (String, String) {
        let out = self.session(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let web = line_after(&stdout, "JobManager Web Interface: ")
            .expect("the AM's address is printed")
            .to_owned();
        let app = line_after(&stdout, "--stop -id ")
            .expect("how to stop it is printed")
            .to_owned();
        (app, web)
    }

    /// The journal's lines so far.
    pub fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.journal)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The staging folder of `app` in the mini cluster's file system.
    pub fn staging(&self, app: &str) -> PathBuf {
        self.work_dir
            .join(format!("hdfs/user/{USER}/.spindle/{app}"))
    }
}

impl Drop for Mini {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) on the child this struct started.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// The rest of the first line of `text` containing `prefix`, after it.
pub fn line_after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.split(prefix).nth(1))
        .map(str::trim)
}

/// GET `url` as JSON (None on any failure).
pub async fn get(http: &reqwest::Client, url: &str) -> Option<Value> {
    http.get(url).send().await.ok()?.json().await.ok()
}

/// Polls `GET url` until `done` holds (up to about two minutes); returns the last answer.
pub async fn poll(http: &reqwest::Client, url: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..1200 {
        if let Some(v) = get(http, url).await {
            if done(&v) {
                return v;
            }
            last = v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

/// Polls the journal until `done` holds (up to about two minutes); returns it.
pub async fn poll_journal(mini: &Mini, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut lines = mini.journal();
    for _ in 0..1200 {
        if done(&lines) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        lines = mini.journal();
    }
    lines
}

/// Container ids of `app` in journal events named `event`, in order.
pub fn containers(journal: &[Value], app: &str, event: &str) -> Vec<String> {
    journal
        .iter()
        .filter(|e| e["event"] == event && e["app"] == app)
        .map(|e| e["container"].as_str().unwrap().to_owned())
        .collect()
}

/// The most containers of `app` running at once, replaying the journal.
pub fn most_running(journal: &[Value], app: &str) -> usize {
    let mut running = std::collections::BTreeSet::new();
    let mut most = 0;
    for e in journal.iter().filter(|e| e["app"] == app) {
        let c = e["container"].as_str().unwrap_or_default().to_owned();
        match e["event"].as_str() {
            Some("container_launched") => {
                running.insert(c);
            }
            Some("container_completed") => {
                running.remove(&c);
            }
            _ => {}
        }
        most = most.max(running.len());
    }
    most
}

/// The AM container of `app`'s first attempt.
pub fn am_container(journal: &[Value], app: &str) -> String {
    containers(journal, app, "container_launched")
        .into_iter()
        .find(|c| c.ends_with("_01_000001"))
        .expect("the AM container was launched")
}

/// Everything `container` of `app` wrote into its log folder, on whichever node it ran.
pub fn container_log(mini: &Mini, app: &str, container: &str) -> String {
    let mut text = String::new();
    for node in std::fs::read_dir(&mini.work_dir).unwrap().flatten() {
        let dir = node.path().join("logs").join(app).join(container);
        for file in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            text.push_str(&std::fs::read_to_string(file.path()).unwrap_or_default());
        }
    }
    text
}

/// Pids of live processes whose environment names `container` as their CONTAINER_ID.
pub fn container_processes(container: &str) -> Vec<i32> {
    let wanted = format!("CONTAINER_ID={container}");
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|s| {
                s.rsplit(')')
                    .next()
                    .map(|r| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if !zombie
            && environ
                .split(|b| *b == 0)
                .any(|var| var == wanted.as_bytes())
        {
            pids.push(pid);
        }
    }
    pids
}

/// `spindle yarn-session --stop` and the application's final report from the RM.
pub async fn stop(mini: &Mini, http: &reqwest::Client, app: &str) -> Value {
    let stopped = mini.session(&["--stop", "-id", app]);
    let stdout = String::from_utf8_lossy(&stopped.stdout).into_owned();
    assert!(
        stopped.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    assert!(
        stdout.contains(&format!("{app} is FINISHED with final status SUCCEEDED")),
        "{stdout}"
    );
    poll(http, &format!("{}/apps/{app}", mini.rest_url), |v| {
        v["app"]["state"] == "FINISHED"
    })
    .await
}
