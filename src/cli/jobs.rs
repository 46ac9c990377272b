//! `spindle run`, `spindle list` and `spindle cancel`: jobs on YARN, in a per-job cluster or in
//! the running session, through the ApplicationMaster's REST API ([`crate::web`]).
//!
//! A job spec is read, given the default parallelism (`-p`, else `parallelism.default`, else 1)
//! and checked before anything is submitted. In per-job mode (`-m yarn-cluster` or
//! `-t yarn-per-job`) a cluster is deployed with the spec staged beside the configuration; its
//! ApplicationMaster runs the job and unregisters with the job's outcome. Otherwise the spec is
//! posted to the session named by the properties file (or `-yid`). An attached run prints task
//! progress as it happens and exits 0 only when the job finished; Ctrl-C cancels the job.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde_json::Value;

use super::args::{CancelArgs, ListArgs, RunArgs, YarnSessionArgs};
use super::contract::Secret;
use super::properties::SessionProperties;
use super::session::{self, Environment};
use crate::config::Configuration;
use crate::job_master::{ExecutionState, JobDetails, JobOverview};
use crate::jobspec::JobSpec;
use crate::resource_manager::ResourceManagerConfig;
use crate::resource_manager::types::JobStatus;

/// How often an attached run polls the job.
const POLL: Duration = Duration::from_millis(200);
/// Above this many subtasks, progress is printed per vertex rather than per subtask.
const PER_SUBTASK_PROGRESS_LIMIT: usize = 64;

/// The ApplicationMaster's REST API, with the application's secret when we have it.
pub struct AmClient {
    base: String,
    secret: Option<Secret>,
    http: reqwest::Client,
}

/// A call to the ApplicationMaster failed: it could not be reached, or it answered an error.
#[derive(Debug)]
pub enum AmError {
    /// No answer (the ApplicationMaster is gone or not reachable).
    Unreachable(String),
    /// An error answer: status and message.
    Refused(u16, String),
}

impl std::fmt::Display for AmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AmError::Unreachable(e) => write!(f, "cannot reach the ApplicationMaster: {e}"),
            AmError::Refused(status, message) => {
                write!(f, "the ApplicationMaster answered HTTP {status}: {message}")
            }
        }
    }
}

/// The text of a Flink-style error body (`{"errors": [...]}`), else the body.
fn error_text(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v["errors"].as_array().map(|errors| {
                errors
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\n  ")
            })
        })
        .unwrap_or_else(|| body.trim().to_owned())
}

impl AmClient {
    /// A client of the AM at `base` (`http://host:port`).
    pub fn new(base: &str, secret: Option<Secret>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(AmClient {
            base: base.trim_end_matches('/').to_owned(),
            secret,
            http,
        })
    }

    async fn answer(response: reqwest::Response) -> Result<String, AmError> {
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| AmError::Unreachable(e.to_string()))?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(AmError::Refused(status.as_u16(), error_text(&body)))
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, AmError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| AmError::Unreachable(e.to_string()))?;
        let body = Self::answer(response).await?;
        serde_json::from_str(&body)
            .map_err(|e| AmError::Refused(200, format!("unexpected answer to {path}: {e}")))
    }

    /// A signed request: the token and the date to send with it.
    fn sign(&self, method: &str, path: &str, body: &[u8]) -> Result<(String, u64), AmError> {
        let date = crate::web::auth::unix_now();
        self.secret
            .as_ref()
            .map(|s| {
                let token = crate::web::auth::signed_request_token(s, method, path, body, date);
                (token, date)
            })
            .ok_or_else(|| {
                AmError::Refused(
                    401,
                    "no secret for this cluster: submit and cancel from the machine (and user) \
                     that started it"
                        .to_owned(),
                )
            })
    }

    /// Submits a spec (JSON); the job id.
    pub async fn submit(&self, spec_json: &str) -> Result<String, AmError> {
        let (token, date) = self.sign("POST", "/jobs", spec_json.as_bytes())?;
        let response = self
            .http
            .post(format!("{}/jobs", self.base))
            .bearer_auth(token)
            .header(crate::web::auth::DATE_HEADER, date.to_string())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(spec_json.to_owned())
            .send()
            .await
            .map_err(|e| AmError::Unreachable(e.to_string()))?;
        let body = Self::answer(response).await?;
        serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["jobid"].as_str().map(str::to_owned))
            .ok_or_else(|| AmError::Refused(202, format!("no job id in the answer: {body}")))
    }

    /// Every job, newest first.
    pub async fn overview(&self) -> Result<Vec<JobOverview>, AmError> {
        #[derive(serde::Deserialize)]
        struct Jobs {
            jobs: Vec<JobOverview>,
        }
        Ok(self.get_json::<Jobs>("/jobs/overview").await?.jobs)
    }

    /// One job.
    pub async fn details(&self, job: &str) -> Result<JobDetails, AmError> {
        self.get_json(&format!("/jobs/{job}")).await
    }

    /// Cancels a job.
    pub async fn cancel(&self, job: &str) -> Result<(), AmError> {
        let path = format!("/jobs/{job}");
        let (token, date) = self.sign("PATCH", &path, b"")?;
        let response = self
            .http
            .patch(format!("{}{path}?mode=cancel", self.base))
            .bearer_auth(token)
            .header(crate::web::auth::DATE_HEADER, date.to_string())
            .send()
            .await
            .map_err(|e| AmError::Unreachable(e.to_string()))?;
        Self::answer(response).await.map(|_| ())
    }
}

/// Reads and checks a spec file. Vertices without a parallelism get `-p`, else
/// `parallelism.default` from `conf`; when neither is given they get 1 if `resolve` (a per-job
/// cluster), and are left to the session's own `parallelism.default` otherwise.
pub fn load_spec(
    path: &std::path::Path,
    parallelism: Option<u32>,
    conf: &Configuration,
    resolve: bool,
) -> Result<JobSpec, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the job spec {}: {e}", path.display()))?;
    let mut spec = JobSpec::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let key = &crate::config::job_options::PARALLELISM_DEFAULT;
    let default = match parallelism {
        Some(p) => Some(p),
        None if resolve || conf.raw(key.key).is_some() => {
            Some(conf.get(key).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    if let Some(default) = default {
        spec.apply_default_parallelism(default)
            .map_err(|e| format!("{} with parallelism {default}: {e}", path.display()))?;
    }
    Ok(spec)
}

/// The per-job cluster's flags as `yarn-session` flags.
fn cluster_args(args: &RunArgs, spec: &JobSpec) -> YarnSessionArgs {
    YarnSessionArgs {
        slots: args.slots,
        task_manager_memory_mb: args.task_manager_memory_mb,
        job_manager_memory_mb: args.job_manager_memory_mb,
        queue: args.queue.clone(),
        name: Some(args.name.clone().unwrap_or_else(|| spec.name.clone())),
        application_type: args.application_type.clone(),
        detached: args.detached,
        dynamic: args
            .dynamic
            .iter()
            .chain(&args.yarn_dynamic)
            .cloned()
            .collect(),
        ship: args.ship.clone(),
        ..YarnSessionArgs::default()
    }
}

/// Whether the flags ask for a per-job cluster.
pub fn per_job_mode(args: &RunArgs) -> Result<bool, String> {
    let by_m = match args.jobmanager.as_deref() {
        None => false,
        Some("yarn-cluster") => true,
        Some(other) => {
            return Err(format!(
                "-m {other}: spindle runs jobs on YARN; use -m yarn-cluster for a per-job \
                 cluster, or leave -m out to use the session"
            ));
        }
    };
    let by_t = match args.target.as_deref() {
        None => None,
        Some("yarn-per-job") => Some(true),
        Some("yarn-session") => Some(false),
        Some(other) => {
            return Err(format!(
                "-t {other}: the targets are yarn-per-job and yarn-session"
            ));
        }
    };
    match (by_m, by_t) {
        (true, Some(false)) => {
            Err("-m yarn-cluster and -t yarn-session contradict each other".to_owned())
        }
        (m, t) => Ok(m || t.unwrap_or(false)),
    }
}

/// `spindle run`: the exit code is 0 when the job finished (or, detached, was submitted).
pub async fn run(
    args: &RunArgs,
    env_for: impl AsyncFnOnce(bool) -> Result<Environment, String>,
    out: &mut dyn Write,
) -> Result<(), String> {
    let per_job = per_job_mode(args)?;
    let conf = Configuration::from_pairs(args.dynamic.iter().chain(&args.yarn_dynamic).cloned());
    let spec = load_spec(&args.spec, args.parallelism, &conf, per_job)?;
    if args.containers.is_some() {
        let _ = writeln!(
            out,
            "NOTICE: -yn is ignored: TaskManagers are started as the job's slots require"
        );
    }
    let spec_json = serde_json::to_string(&spec).map_err(|e| e.to_string())?;
    if per_job {
        let cluster = cluster_args(args, &spec);
        let conf = session::session_configuration(&cluster);
        let worker = ResourceManagerConfig::from_configuration(&conf)
            .map_err(|e| e.to_string())?
            .slot_manager
            .default_worker;
        spec.check_resources(&worker.total)
            .map_err(|e| format!("{}: {e}", args.spec.display()))?;
        let env = env_for(true).await?;
        run_per_job(args, &cluster, &env, &spec, &spec_json, out).await
    } else {
        let env = env_for(false).await?;
        run_in_session(args, &env, &spec_json, out).await
    }
}

async fn run_per_job(
    args: &RunArgs,
    cluster: &YarnSessionArgs,
    env: &Environment,
    spec: &JobSpec,
    spec_json: &str,
    out: &mut dyn Write,
) -> Result<(), String> {
    let deployed = session::deploy_cluster(cluster, env, Some(spec_json), out).await?;
    let app_id = deployed.application_id.clone();
    let Some(am_address) = deployed.am_address.clone() else {
        return Err(format!(
            "the per-job cluster {app_id} runs but did not register its REST address"
        ));
    };
    let am = AmClient::new(&am_address, Some(deployed.secret.clone()))?;
    // The AM submitted the job itself; find its id.
    let mut job_id = None;
    for _ in 0..150 {
        match am.overview().await {
            Ok(jobs) if !jobs.is_empty() => {
                job_id = Some(jobs[0].jid.clone());
                break;
            }
            Ok(_) => {}
            Err(AmError::Unreachable(_)) => break,
            Err(e) => return Err(e.to_string()),
        }
        tokio::time::sleep(POLL).await;
    }
    if let Some(id) = &job_id {
        let _ = writeln!(
            out,
            "Job has been submitted with JobID {id} ({}, in YARN application {app_id})",
            spec.name
        );
    }
    if args.detached {
        let _ = writeln!(
            out,
            "The per-job cluster runs detached and ends with the job; follow it with \
             `yarn application -status {app_id}` or at {am_address}"
        );
        return Ok(());
    }
    let last = match &job_id {
        Some(id) => watch_job(&am, id, out).await?,
        None => None,
    };
    // The ApplicationMaster unregisters with the job's outcome.
    let report = session::wait_for_final(env, &app_id).await?;
    let _ = writeln!(
        out,
        "Application {app_id} is {} with final status {}",
        report.state, report.final_status
    );
    session::remove_staging(env, &app_id, out).await;
    match report.final_status.as_str() {
        "SUCCEEDED" => Ok(()),
        status => {
            let cause = last
                .as_ref()
                .and_then(|o| o.failure.clone())
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| report.diagnostics.trim().to_owned());
            Err(format!(
                "the job did not finish (YARN final status {status}): {cause}"
            ))
        }
    }
}

async fn run_in_session(
    args: &RunArgs,
    env: &Environment,
    spec_json: &str,
    out: &mut dyn Write,
) -> Result<(), String> {
    let am = session_am(env, args.application_id.as_deref(), true).await?;
    let job = am.submit(spec_json).await.map_err(|e| match e {
        AmError::Refused(400, message) => format!("the session refused the job:\n  {message}"),
        e => e.to_string(),
    })?;
    let _ = writeln!(out, "Job has been submitted with JobID {job}");
    if args.detached {
        return Ok(());
    }
    match watch_job(&am, &job, out).await? {
        Some(d) if d.state == JobStatus::Finished => Ok(()),
        Some(d) => Err(format!(
            "job {job} ended {}{}",
            d.state.as_str(),
            d.failure.map(|f| format!(": {f}")).unwrap_or_default()
        )),
        None => Err(format!(
            "lost the session's ApplicationMaster while job {job} ran"
        )),
    }
}

/// The session's ApplicationMaster: the one named by `-yid` or the properties file, with the
/// secret from the properties file (needed to submit and cancel).
pub async fn session_am(
    env: &Environment,
    app_id: Option<&str>,
    need_secret: bool,
) -> Result<AmClient, String> {
    let (app_id, props) = SessionProperties::named_session(
        &env.properties_path,
        app_id,
        "no session: start one with `spindle yarn-session -d`, name one with -yid, or run a \
         per-job cluster with -m yarn-cluster",
    )?;
    if need_secret && props.is_none() {
        return Err(format!(
            "no secret for the session {app_id}: the properties file {} belongs to another \
             session or is missing; submit and cancel from the machine (and user) that started \
             the session",
            env.properties_path.display()
        ));
    }
    let report = session::app_report(env, &app_id).await?;
    if yarn::rest::FINAL_APP_STATES.contains(&report.state.as_str()) {
        return Err(format!(
            "the session {app_id} does not run anymore ({}, final status {})",
            report.state, report.final_status
        ));
    }
    let address = session::am_web_address(&report)
        .or_else(|| props.as_ref().and_then(|p| p.am_address.clone()))
        .ok_or_else(|| format!("the session {app_id} has not registered its REST address yet"))?;
    AmClient::new(&address, props.map(|p| p.secret))
}

/// Follows a job until it ends, printing progress; its last overview, or `None` when the
/// ApplicationMaster went away before the job was seen. Ctrl-C cancels the job (a second one
/// stops watching). Progress comes from `/jobs/overview` (counts only); a small job's subtasks
/// are printed one by one from `/jobs/{id}`.
pub async fn watch_job(
    am: &AmClient,
    job: &str,
    out: &mut dyn Write,
) -> Result<Option<JobOverview>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    // One listener for the whole watch: a SIGINT between two polls is not lost.
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| format!("cannot watch Ctrl-C: {e}"))?;
    let mut progress = Progress::default();
    let mut cancel_asked = false;
    let mut last: Option<JobOverview> = None;
    let mut misses = 0;
    loop {
        let polled = tokio::select! {
            _ = interrupt.recv() => {
                on_interrupt(am, job, &mut cancel_asked, out).await?;
                continue;
            }
            polled = poll_job(am, job) => polled,
        };
        match polled {
            Ok((o, details)) => {
                misses = 0;
                progress.print(&o, details.as_ref(), out);
                if o.state.is_globally_terminal() {
                    let _ = writeln!(
                        out,
                        "Job {job} ({}) {} after {:.1} s{}",
                        o.name,
                        o.state.as_str(),
                        o.duration as f64 / 1000.0,
                        if o.restarts > 0 {
                            format!(" and {} restart(s)", o.restarts)
                        } else {
                            String::new()
                        }
                    );
                    if let Some(f) = &o.failure {
                        let _ = writeln!(out, "Cause: {f}");
                    }
                    return Ok(Some(o));
                }
                last = Some(o);
            }
            Err(AmError::Unreachable(e)) => {
                misses += 1;
                if misses >= 5 {
                    let _ = writeln!(out, "The ApplicationMaster is gone ({e})");
                    return Ok(last);
                }
            }
            Err(e) => return Err(e.to_string()),
        }
        tokio::select! {
            _ = interrupt.recv() => on_interrupt(am, job, &mut cancel_asked, out).await?,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// The job's overview, and its details when it is small enough to print subtask by subtask.
async fn poll_job(am: &AmClient, job: &str) -> Result<(JobOverview, Option<JobDetails>), AmError> {
    let o = am
        .overview()
        .await?
        .into_iter()
        .find(|j| j.jid == job)
        .ok_or_else(|| AmError::Refused(404, format!("the cluster has no job {job}")))?;
    let small = o.tasks.values().sum::<u32>() as usize <= PER_SUBTASK_PROGRESS_LIMIT;
    if !small {
        return Ok((o, None));
    }
    // The details are the newer read: the job's state is taken from them too, so an end they
    // show is not missed (a per-job ApplicationMaster leaves once a client has read the end).
    match am.details(job).await {
        Ok(d) => Ok((JobOverview::from(&d), Some(d))),
        Err(_) => Ok((o, None)),
    }
}

/// Ctrl-C while watching: the first cancels the job, the second stops watching.
async fn on_interrupt(
    am: &AmClient,
    job: &str,
    cancel_asked: &mut bool,
    out: &mut dyn Write,
) -> Result<(), String> {
    if *cancel_asked {
        return Err(format!(
            "stopped watching job {job}; it may still run (spindle cancel {job})"
        ));
    }
    *cancel_asked = true;
    let _ = writeln!(out, "Cancelling job {job} (Ctrl-C again to stop watching)");
    if let Err(e) = am.cancel(job).await {
        let _ = writeln!(out, "Could not cancel: {e}");
    }
    Ok(())
}

/// What has been printed about a job, so that only changes are printed.
#[derive(Default)]
struct Progress {
    state: Option<JobStatus>,
    counts: BTreeMap<String, u32>,
    subtasks: BTreeMap<(u32, u32), (ExecutionState, u32)>,
}

impl Progress {
    fn print(&mut self, o: &JobOverview, details: Option<&JobDetails>, out: &mut dyn Write) {
        if self.state != Some(o.state) {
            let _ = writeln!(out, "Job {} is {}", o.jid, o.state.as_str());
            self.state = Some(o.state);
        }
        let Some(d) = details else {
            if self.counts != o.tasks {
                let counts: Vec<String> = o.tasks.iter().map(|(s, n)| format!("{n} {s}")).collect();
                let _ = writeln!(out, "  tasks: {}", counts.join(", "));
                self.counts = o.tasks.clone();
            }
            return;
        };
        for v in &d.vertices {
            for s in &v.subtasks {
                let now = (s.status, s.attempt);
                if self.subtasks.insert((v.id, s.subtask), now) == Some(now)
                    || s.status == ExecutionState::Created
                {
                    continue;
                }
                let place = match (&s.taskmanager_id, s.status) {
                    (Some(tm), ExecutionState::Deploying | ExecutionState::Running) => {
                        format!(" on {tm}")
                    }
                    _ => String::new(),
                };
                let failure = match (&s.failure, s.status) {
                    (Some(f), ExecutionState::Failed) => format!(": {f}"),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "  {} ({}/{}) attempt #{} {}{place}{failure}",
                    v.name,
                    s.subtask + 1,
                    v.parallelism,
                    s.attempt,
                    s.status.as_str()
                );
            }
        }
    }
}

/// `spindle list`.
pub async fn list(args: &ListArgs, env: &Environment, out: &mut dyn Write) -> Result<(), String> {
    let am = session_am(env, args.application_id.as_deref(), false).await?;
    let jobs = am.overview().await.map_err(|e| e.to_string())?;
    let (running, ended): (Vec<&JobOverview>, Vec<&JobOverview>) =
        jobs.iter().partition(|j| !j.state.is_globally_terminal());
    let line = |j: &JobOverview| {
        let tasks: Vec<String> = j.tasks.iter().map(|(s, n)| format!("{n} {s}")).collect();
        format!(
            "{} : {} ({}; {}; {:.1} s)",
            j.jid,
            j.name,
            j.state.as_str(),
            tasks.join(", "),
            j.duration as f64 / 1000.0
        )
    };
    let _ = writeln!(
        out,
        "------------------ Running/Restarting Jobs -------------------"
    );
    if running.is_empty() {
        let _ = writeln!(out, "No running jobs.");
    }
    for j in &running {
        let _ = writeln!(out, "{}", line(j));
    }
    let _ = writeln!(
        out,
        "--------------------------------------------------------------"
    );
    if args.all {
        let _ = writeln!(
            out,
            "---------------------- Terminated Jobs -----------------------"
        );
        if ended.is_empty() {
            let _ = writeln!(out, "No terminated jobs.");
        }
        for j in &ended {
            let _ = writeln!(out, "{}", line(j));
        }
        let _ = writeln!(
            out,
            "--------------------------------------------------------------"
        );
    }
    Ok(())
}

/// `spindle cancel`: asks the session to cancel the job and waits (up to a minute) until it has.
pub async fn cancel(
    args: &CancelArgs,
    env: &Environment,
    out: &mut dyn Write,
) -> Result<(), String> {
    if crate::dispatcher::parse_job_id(&args.job).is_none() {
        return Err(format!(
            "{:?} is not a job id: job ids are 32 hex digits, as `spindle list` shows them",
            args.job
        ));
    }
    let am = session_am(env, args.application_id.as_deref(), true).await?;
    am.cancel(&args.job).await.map_err(|e| e.to_string())?;
    let _ = writeln!(out, "Cancelling job {}.", args.job);
    for _ in 0..300 {
        match am.details(&args.job).await {
            Ok(d) if d.state.is_globally_terminal() => {
                let _ = writeln!(out, "Job {} is {}.", args.job, d.state.as_str());
                return Ok(());
            }
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
        tokio::time::sleep(POLL).await;
    }
    Err(format!(
        "job {} has not confirmed its cancellation within a minute",
        args.job
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn args(m: Option<&str>, t: Option<&str>) -> RunArgs {
        RunArgs {
            spec: PathBuf::from("x.yaml"),
            jobmanager: m.map(str::to_owned),
            target: t.map(str::to_owned),
            ..RunArgs::default()
        }
    }

    #[test]
    fn per_job_mode_follows_m_and_t() {
        assert!(!per_job_mode(&args(None, None)).unwrap());
        assert!(per_job_mode(&args(Some("yarn-cluster"), None)).unwrap());
        assert!(per_job_mode(&args(None, Some("yarn-per-job"))).unwrap());
        assert!(!per_job_mode(&args(None, Some("yarn-session"))).unwrap());
        assert!(per_job_mode(&args(Some("yarn-cluster"), Some("yarn-session"))).is_err());
        let e = per_job_mode(&args(Some("localhost:8081"), None)).unwrap_err();
        assert!(e.contains("yarn-cluster"), "{e}");
        let e = per_job_mode(&args(None, Some("kubernetes-session"))).unwrap_err();
        assert!(e.contains("yarn-per-job"), "{e}");
    }

    #[test]
    fn default_parallelism_comes_from_p_then_the_configuration_then_the_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.yaml");
        std::fs::write(
            &path,
            "name: j\nvertices:\n  - {name: a, command: [x]}\n  - {name: b, parallelism: 2, command: [x]}\n",
        )
        .unwrap();
        let p = |spec: &JobSpec| -> Vec<u32> {
            spec.vertices.iter().map(|v| v.parallelism()).collect()
        };
        let none = Configuration::new();
        assert_eq!(p(&load_spec(&path, Some(4), &none, true).unwrap()), [4, 2]);
        assert_eq!(p(&load_spec(&path, None, &none, true).unwrap()), [1, 2]);
        let conf = Configuration::from_pairs([("parallelism.default", "3")]);
        assert_eq!(p(&load_spec(&path, None, &conf, true).unwrap()), [3, 2]);
        assert_eq!(p(&load_spec(&path, None, &conf, false).unwrap()), [3, 2]);
        // Left to the session when nothing says otherwise.
        let open = load_spec(&path, None, &none, false).unwrap();
        assert_eq!(open.vertices[0].parallelism, None);
        let bad = Configuration::from_pairs([("parallelism.default", "many")]);
        assert!(load_spec(&path, None, &bad, false).is_err());
        let e = load_spec(&dir.path().join("missing.yaml"), None, &none, true).unwrap_err();
        assert!(e.contains("cannot read the job spec"), "{e}");
    }
}
