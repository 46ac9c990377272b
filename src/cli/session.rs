//! Deploying, watching, querying and stopping a session cluster through the ResourceManager's REST
//! API and WebHDFS: the steps of Flink's `YarnClusterDescriptor.deploySessionCluster`, without a JVM.
//!
//! Every step takes an [`Environment`] (where YARN and HDFS are, who the user is, which binary to
//! stage) so tests can point it at fake servers; progress goes to a `Write` the caller chooses.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use yarn::rest::types::{
    AppInfo, ApplicationSubmissionContext, Commands, ContainerLaunchContextInfo, CredentialsInfo,
    LocalResourceInfo, ResourceInfo,
};
use yarn::rest::{Entries, FINAL_APP_STATES, RmClient};
use yarn::webhdfs::{CreateOptions, WebHdfsClient};

use super::args::YarnSessionArgs;
use super::checks::{self, ClusterSpec};
use super::contract::{self, Secret, StagedFile};
use super::properties::SessionProperties;
use crate::config::{self, ConfigValue, Configuration, MemorySize};

/// Default ApplicationMaster memory when neither `-jm` nor `jobmanager.memory.process.size` is set.
/// spindle's AM needs about 32 MB; YARN rounds the ask up to its minimum allocation anyway.
pub const DEFAULT_JOBMANAGER_MB: u64 = 256;
/// Default application type (`-at`).
pub const DEFAULT_APPLICATION_TYPE: &str = "spindle";
/// Default application name (`-nm`).
pub const DEFAULT_APPLICATION_NAME: &str = "spindle session cluster";
/// How long `--stop` waits for the application to end after asking the AM, before killing it.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// Where the cluster is and what to stage.
#[derive(Clone, Debug)]
pub struct Environment {
    /// ResourceManager web addresses (`http://rm:8088`; several with HA).
    pub rm_web: Vec<String>,
    /// NameNode web addresses (`http://nn:9870`).
    pub webhdfs: Vec<String>,
    /// `fs.defaultFS` when it is an `hdfs://` URI (staged files are named under it).
    pub default_fs: Option<String>,
    /// The submitting user (simple auth).
    pub user: String,
    /// The spindle binary to stage.
    pub binary: PathBuf,
    /// The session properties file.
    pub properties_path: PathBuf,
    /// How often application reports are polled.
    pub poll_interval: Duration,
}

impl Environment {
    /// From a Hadoop configuration (`$HADOOP_CONF_DIR`): the addresses, with this process's binary.
    pub fn from_hadoop_conf(conf: &yarn::conf::Configuration, user: &str) -> Result<Self, String> {
        let (scheme, rms) = conf.rm_webapp_addresses().map_err(|e| e.to_string())?;
        // Only deploying needs HDFS: without a NameNode address, -q and --stop still work.
        let webhdfs = conf
            .namenode_http_addresses()
            .map(|(scheme, nns)| nns.iter().map(|a| format!("{scheme}://{a}")).collect())
            .unwrap_or_default();
        let fs = conf.default_fs().map_err(|e| e.to_string())?;
        let binary = std::env::current_exe()
            .map_err(|e| format!("cannot find the spindle binary to stage: {e}"))?;
        Ok(Environment {
            rm_web: rms
                .iter()
                .map(|a| format!("{scheme}://{}", a.address))
                .collect(),
            webhdfs,
            default_fs: fs.starts_with("hdfs://").then_some(fs),
            user: user.to_owned(),
            binary,
            properties_path: super::properties::properties_path(user),
            poll_interval: Duration::from_millis(250),
        })
    }

    fn rm(&self) -> Result<RmClient, String> {
        RmClient::new(&self.rm_web, Some(&self.user)).map_err(|e| e.to_string())
    }

    fn hdfs(&self) -> Result<WebHdfsClient, String> {
        if self.webhdfs.is_empty() {
            return Err(
                "no NameNode web address in the Hadoop configuration: spindle stages its \
                        files through WebHDFS; set fs.defaultFS (core-site.xml) to the cluster's \
                        hdfs:// URI, or dfs.namenode.http-address (hdfs-site.xml)"
                    .to_owned(),
            );
        }
        WebHdfsClient::for_namenodes(&self.webhdfs, Some(&self.user)).map_err(|e| e.to_string())
    }

    /// `/user/<user>/.spindle/<appId>`.
    pub fn staging_dir(&self, app_id: &str) -> String {
        format!("/user/{}/.spindle/{app_id}", self.user)
    }
}

/// The Flink configuration of the session: `-D` properties, then the flags (which win).
pub fn session_configuration(args: &YarnSessionArgs) -> Configuration {
    let mut conf = Configuration::from_pairs(args.dynamic.iter().cloned());
    if let Some(s) = args.slots {
        conf.set(config::NUMBER_OF_TASK_SLOTS.key, s.to_string());
    }
    if let Some(mb) = args.task_manager_memory_mb {
        conf.set(config::TASK_MANAGER_PROCESS_SIZE.key, format!("{mb}m"));
    }
    if let Some(mb) = args.job_manager_memory_mb {
        conf.set("jobmanager.memory.process.size", format!("{mb}m"));
    }
    let strings = [
        ("yarn.application.queue", &args.queue),
        ("yarn.application.name", &args.name),
        ("yarn.application.type", &args.application_type),
    ];
    for (key, value) in strings {
        if let Some(v) = value {
            conf.set(key, v.clone());
        }
    }
    conf
}

fn memory_mb(conf: &Configuration, key: &str, default_mb: u64) -> Result<u64, String> {
    match conf.raw(key) {
        None => Ok(default_mb),
        Some(raw) => MemorySize::parse(raw)
            .map(|m| m.bytes().div_ceil(1 << 20))
            .map_err(|p| format!("invalid value {raw:?} for '{key}': {p}")),
    }
}

fn whole(conf: &Configuration, key: &str, default: i64) -> Result<i64, String> {
    conf.raw(key).map_or(Ok(default), |raw| {
        raw.trim()
            .parse()
            .map_err(|_| format!("invalid value {raw:?} for '{key}': expected a whole number"))
    })
}

/// The containers the configuration asks for.
pub fn cluster_spec(conf: &Configuration) -> Result<ClusterSpec, String> {
    let slots = conf
        .get(&config::NUMBER_OF_TASK_SLOTS)
        .map_err(|e| e.to_string())?;
    if slots == 0 {
        return Err("taskmanager.numberOfTaskSlots (-s) must be at least 1".to_owned());
    }
    let tm = conf
        .get(&config::TASK_MANAGER_PROCESS_SIZE)
        .map_err(|e| e.to_string())?;
    // The ApplicationMaster derives its TaskManagers' memory pools from the same configuration;
    // a size it cannot split is refused here, before anything is staged or submitted.
    crate::resource_manager::default_worker_spec(conf).map_err(|e| e.to_string())?;
    // Flink's -1 (and any value below 1) means "as many as slots".
    let vcores = whole(conf, config::YARN_CONTAINERS_VCORES.key, -1)?;
    let am_vcores = whole(conf, "yarn.appmaster.vcores", 1)?;
    if am_vcores < 1 {
        return Err("yarn.appmaster.vcores must be at least 1".to_owned());
    }
    Ok(ClusterSpec {
        jobmanager_mb: memory_mb(
            conf,
            "jobmanager.memory.process.size",
            DEFAULT_JOBMANAGER_MB,
        )?,
        appmaster_vcores: am_vcores.try_into().unwrap_or(u32::MAX),
        taskmanager_mb: tm.bytes().div_ceil(1 << 20),
        taskmanager_vcores: if vcores > 0 {
            vcores.try_into().unwrap_or(u32::MAX)
        } else {
            slots
        },
        slots,
    })
}

/// What was staged for an application.
#[derive(Clone, Debug, PartialEq)]
pub struct Staged {
    /// The HDFS folder.
    pub dir: String,
    /// The spindle binary.
    pub binary: StagedFile,
    /// The configuration file.
    pub conf: StagedFile,
    /// Shipped files by link name (relative path in the container's working directory).
    pub ship: Vec<(String, StagedFile)>,
    /// Per-job mode: the job spec the AM runs.
    pub job: Option<StagedFile>,
}

/// Every file to ship, by link name: a file as its name, a folder's files under the folder's name.
pub fn ship_list(paths: &[PathBuf]) -> Result<Vec<(String, PathBuf)>, String> {
    fn walk(dir: &Path, link: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read the ship folder {}: {e}", dir.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("cannot read the ship folder {}: {e}", dir.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            let child = format!("{link}/{name}");
            if path.is_dir() {
                walk(&path, &child, out)?;
            } else {
                out.push((child, path));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(format!(
                "ship file {} does not exist; check the -t/--ship path",
                p.display()
            ));
        }
        let name = p
            .canonicalize()
            .ok()
            .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
            .ok_or_else(|| format!("cannot ship {}: it has no file name", p.display()))?;
        if p.is_dir() {
            walk(p, &name, &mut out)?;
        } else {
            out.push((name, p.clone()));
        }
    }
    for (link, _) in &out {
        if link.contains(['|', ';', ','])
            || [contract::BINARY_LINK, contract::CONF_LINK].contains(&link.as_str())
        {
            return Err(format!(
                "cannot ship {link:?}: shipped names must not contain '|', ';' or ',' nor be \
                 {:?} or {:?}; rename it",
                contract::BINARY_LINK,
                contract::CONF_LINK
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some((dup, _)) = out.iter().find(|(l, _)| !seen.insert(l.clone())) {
        return Err(format!(
            "two shipped paths would both land at {dup:?}; ship them under different names"
        ));
    }
    Ok(out)
}

async fn stage(
    env: &Environment,
    hdfs: &WebHdfsClient,
    app_id: &str,
    conf_text: &str,
    ship: &[(String, PathBuf)],
    job_text: Option<&str>,
) -> Result<Staged, String> {
    let dir = env.staging_dir(app_id);
    hdfs.mkdirs(&dir, Some(0o700))
        .await
        .map_err(|e| format!("cannot create the staging folder: {e}"))?;
    let options = CreateOptions {
        overwrite: true,
        ..Default::default()
    };
    let fs = env.default_fs.as_deref();
    // Executables (the binary, executable shipped files) keep an owner-executable mode, which the
    // staging folder's 0700 keeps private anyway.
    let upload = |local: PathBuf, link: String| {
        let remote = format!("{dir}/{link}");
        let executable =
            std::fs::metadata(&local).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
        let options = CreateOptions {
            permission: executable.then_some(0o700),
            ..options.clone()
        };
        async move {
            hdfs.upload_local_resource(&local, &remote, fs, &options)
                .await
                .map(|u| StagedFile {
                    uri: u.uri,
                    size: u.size,
                    timestamp: u.timestamp,
                })
                .map_err(|e| format!("cannot stage {}: {e}", local.display()))
        }
    };
    let binary = upload(env.binary.clone(), contract::BINARY_LINK.to_owned()).await?;
    // A text written from memory, named like the binary's URI (which WebHDFS resolved).
    let create_text = |link: &'static str, text: &str, what: &'static str| {
        let remote = format!("{dir}/{link}");
        let uri = match fs {
            Some(fs) => format!("{}{remote}", fs.trim_end_matches('/')),
            None => format!(
                "{}{link}",
                binary
                    .uri
                    .strip_suffix(contract::BINARY_LINK)
                    .unwrap_or(&binary.uri),
            ),
        };
        let bytes = text.as_bytes().to_vec();
        let options = options.clone();
        async move {
            hdfs.create(&remote, bytes, &options)
                .await
                .map_err(|e| format!("cannot stage the {what}: {e}"))?;
            let status = hdfs
                .file_status(&remote)
                .await
                .map_err(|e| format!("cannot stage the {what}: {e}"))?;
            Ok::<_, String>(StagedFile {
                uri,
                size: status.length,
                timestamp: status.modification_time,
            })
        }
    };
    let conf = create_text(contract::CONF_LINK, conf_text, "configuration").await?;
    let job = match job_text {
        Some(text) => Some(create_text(contract::JOB_LINK, text, "job spec").await?),
        None => None,
    };
    let mut shipped = Vec::new();
    for (link, local) in ship {
        shipped.push((link.clone(), upload(local.clone(), link.clone()).await?));
    }
    Ok(Staged {
        dir,
        binary,
        conf,
        ship: shipped,
        job,
    })
}

/// The submission context of the session's ApplicationMaster.
pub fn submission_context(
    app_id: &str,
    conf: &Configuration,
    spec: &ClusterSpec,
    staged: &Staged,
    secret: &Secret,
    env: &Environment,
) -> Result<ApplicationSubmissionContext, String> {
    let mut resources: Vec<(String, LocalResourceInfo)> = vec![
        (
            contract::BINARY_LINK.to_owned(),
            contract::local_resource(&staged.binary),
        ),
        (
            contract::CONF_LINK.to_owned(),
            contract::local_resource(&staged.conf),
        ),
    ];
    resources.extend(
        staged
            .ship
            .iter()
            .map(|(l, f)| (l.clone(), contract::local_resource(f))),
    );
    let mut environment: Vec<(String, String)> = vec![
        (
            contract::ENV_STAGED_BINARY.into(),
            staged.binary.to_string(),
        ),
        (contract::ENV_STAGED_CONF.into(), staged.conf.to_string()),
        (contract::ENV_STAGING_DIR.into(), staged.dir.clone()),
        (
            contract::ENV_WEBHDFS_ADDRESSES.into(),
            env.webhdfs.join(","),
        ),
    ];
    if let Some(job) = &staged.job {
        resources.push((contract::JOB_LINK.to_owned(), contract::local_resource(job)));
        environment.push((contract::ENV_JOB_FILE.into(), contract::JOB_LINK.into()));
    }
    if !staged.ship.is_empty() {
        environment.push((
            contract::ENV_STAGED_SHIP.into(),
            contract::ship_env_value(&staged.ship),
        ));
    }
    if let Ok(filter) = std::env::var("RUST_LOG") {
        environment.push(("RUST_LOG".into(), filter));
    }
    // Flink's containerized.master.env.<NAME>: extra environment for the AM.
    for (key, value) in conf.iter() {
        if let Some(name) = key.strip_prefix("containerized.master.env.") {
            environment.push((name.to_owned(), value.to_owned()));
        }
    }
    let attempts = whole(conf, "yarn.application-attempts", 1)?;
    if attempts < 1 {
        return Err("yarn.application-attempts must be at least 1".to_owned());
    }
    // With more than one attempt a restarted AM takes over the running TaskExecutors (they find it
    // again through the app report), so YARN must keep their containers, as Flink does with HA.
    let restartable = attempts > 1;
    let validity = whole(
        conf,
        "yarn.application-attempt-failures-validity-interval",
        10_000,
    )?;
    let priority = whole(conf, "yarn.application.priority", -1)?;
    let secret_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret.expose());
    Ok(ApplicationSubmissionContext {
        application_id: app_id.to_owned(),
        application_name: conf
            .raw("yarn.application.name")
            .unwrap_or(DEFAULT_APPLICATION_NAME)
            .to_owned(),
        queue: conf.raw("yarn.application.queue").map(str::to_owned),
        priority: (priority >= 0).then(|| priority.try_into().unwrap_or(i32::MAX)),
        am_container_spec: ContainerLaunchContextInfo {
            local_resources: resources.into_iter().collect(),
            environment: environment.into_iter().collect(),
            commands: Commands {
                command: vec![format!(
                    "./{} jobmanager 1><LOG_DIR>/jobmanager.out 2><LOG_DIR>/jobmanager.err",
                    contract::BINARY_LINK
                )],
            },
            credentials: Some(CredentialsInfo {
                tokens: Entries::default(),
                secrets: [(contract::SECRET_ALIAS, secret_b64)].into_iter().collect(),
            }),
            ..Default::default()
        },
        max_app_attempts: Some(attempts.try_into().unwrap_or(1)),
        resource: ResourceInfo::new(
            spec.jobmanager_mb.try_into().unwrap_or(i64::MAX),
            spec.appmaster_vcores.try_into().unwrap_or(i32::MAX),
        ),
        application_type: conf
            .raw("yarn.application.type")
            .unwrap_or(DEFAULT_APPLICATION_TYPE)
            .to_owned(),
        keep_containers_across_application_attempts: restartable,
        attempt_failures_validity_interval: restartable.then_some(validity),
        ..Default::default()
    })
}

/// A deployed cluster.
#[derive(Clone, Debug)]
pub struct Deployed {
    /// The application id.
    pub application_id: String,
    /// The AM's web (REST) address, `http://host:port`.
    pub am_address: Option<String>,
    /// The application's secret.
    pub secret: Secret,
}

/// Checks, stages, submits and waits until the session runs (or fails).
pub async fn deploy(
    args: &YarnSessionArgs,
    env: &Environment,
    out: &mut dyn Write,
) -> Result<Deployed, String> {
    deploy_cluster(args, env, None, out).await
}

/// Checks, stages, submits and waits until the cluster runs (or fails). With `job` (the spec as
/// JSON) it is a per-job cluster: the AM runs that job and ends with it, and no session
/// properties file is written.
pub async fn deploy_cluster(
    args: &YarnSessionArgs,
    env: &Environment,
    job: Option<&str>,
    out: &mut dyn Write,
) -> Result<Deployed, String> {
    let conf = session_configuration(args);
    let spec = cluster_spec(&conf)?;
    let ship = ship_list(&args.ship)?;
    if !env.binary.is_file() {
        return Err(format!(
            "the spindle binary {} is not a file",
            env.binary.display()
        ));
    }
    let hdfs = env.hdfs()?;
    let rm = env.rm()?;
    rm.cluster_info().await.map_err(|e| e.to_string())?;
    let nodes = rm.nodes(&[]).await.map_err(|e| e.to_string())?;
    checks::check_vcores(&spec, &nodes)?;
    if let Some(queue) = conf.raw("yarn.application.queue") {
        let scheduler = rm.scheduler().await.map_err(|e| e.to_string())?;
        checks::check_queue(queue, &scheduler)?;
    }
    let new_app = rm.new_application().await.map_err(|e| e.to_string())?;
    checks::check_memory(&spec, &new_app.maximum_resource_capability)?;
    checks::check_max_vcores(&spec, &new_app.maximum_resource_capability)?;
    for warning in checks::free_memory_warnings(&spec, &nodes) {
        let _ = writeln!(out, "WARNING: {warning}");
    }
    let app_id = new_app.application_id;
    let _ = writeln!(
        out,
        "Cluster specification: JobManager {} MB, TaskManagers {} MB with {} slots and {} vcores",
        spec.jobmanager_mb, spec.taskmanager_mb, spec.slots, spec.taskmanager_vcores
    );

    let conf_text = contract::render_conf_file(&conf);
    let staged = match stage(env, &hdfs, &app_id, &conf_text, &ship, job).await {
        Ok(s) => s,
        Err(e) => {
            let _ = hdfs.delete(&env.staging_dir(&app_id), true).await;
            return Err(e);
        }
    };
    let secret = Secret::generate();
    let context = submission_context(&app_id, &conf, &spec, &staged, &secret, env)?;
    let _ = writeln!(out, "Submitting application master {app_id}");
    if let Err(e) = rm.submit(&context).await {
        let _ = hdfs.delete(&staged.dir, true).await;
        return Err(e.to_string());
    }
    let mut props = SessionProperties {
        application_id: app_id.clone(),
        rm_web_addresses: env.rm_web.join(","),
        am_address: None,
        staging_dir: staged.dir.clone(),
        webhdfs_addresses: env.webhdfs.join(","),
        dynamic_properties: args.dynamic.clone(),
        secret,
    };
    let per_job = job.is_some();
    if !per_job {
        props.write(&env.properties_path)?;
    }
    let _ = writeln!(out, "Waiting for the cluster to be allocated");
    let waited = tokio::select! {
        r = wait_until_running(&rm, &app_id, env.poll_interval, out) => r,
        _ = tokio::signal::ctrl_c() => {
            let _ = rm.kill(&app_id, Some("deployment interrupted by the user")).await;
            Err(format!("interrupted: the application {app_id} was killed"))
        }
    };
    let report = match waited {
        Ok(r) => r,
        Err(e) => {
            let _ = hdfs.delete(&staged.dir, true).await;
            SessionProperties::remove_if_for(&env.properties_path, &app_id);
            return Err(e);
        }
    };
    let am_address = am_web_address(&report);
    props.am_address = am_address.clone();
    if !per_job {
        props.write(&env.properties_path)?;
    }
    let _ = writeln!(out, "YARN application has been deployed successfully.");
    if let Some(a) = &am_address {
        let _ = writeln!(out, "JobManager Web Interface: {a}");
    }
    if let Some(t) = report.tracking_url.as_deref().filter(|t| !t.is_empty()) {
        let _ = writeln!(out, "Tracking URL: {t}");
    }
    if args.detached && !per_job {
        let _ = writeln!(
            out,
            "The session runs detached. Stop it with: spindle yarn-session --stop -id {app_id}"
        );
    }
    Ok(Deployed {
        application_id: app_id,
        am_address,
        secret: props.secret,
    })
}

/// The AM's REST address: it registers the host and port of its REST API as its RPC address.
pub fn am_web_address(report: &AppInfo) -> Option<String> {
    report
        .am_rpc_address
        .as_deref()
        .filter(|a| {
            !a.is_empty() && !a.starts_with("N/A") && !a.ends_with(":-1") && !a.ends_with(":0")
        })
        .map(|a| format!("http://{a}"))
}

/// Polls the report until RUNNING, printing state, queue and diagnostics whenever they change; a
/// final state is an error carrying YARN's diagnostics.
async fn wait_until_running(
    rm: &RmClient,
    app_id: &str,
    poll: Duration,
    out: &mut dyn Write,
) -> Result<AppInfo, String> {
    const SLOW_NOTICE: Duration = Duration::from_secs(60);
    let started = tokio::time::Instant::now();
    let mut next_notice = SLOW_NOTICE;
    let mut last = None;
    loop {
        let report = rm.app(app_id).await.map_err(|e| e.to_string())?;
        if started.elapsed() >= next_notice {
            let _ = writeln!(
                out,
                "Deployment took more than {} seconds; check that the cluster has the requested \
                 resources free (spindle yarn-session -q) and that queue {} can start it",
                next_notice.as_secs(),
                report.queue
            );
            next_notice += SLOW_NOTICE;
        }
        let now = (
            report.state.clone(),
            report.queue.clone(),
            report.diagnostics.clone(),
        );
        if last.as_ref() != Some(&now) {
            let diag = if report.diagnostics.is_empty() {
                String::new()
            } else {
                format!(" ({})", report.diagnostics.trim())
            };
            let _ = writeln!(
                out,
                "Deploying cluster, current state {} in queue {}{diag}",
                report.state, report.queue
            );
            last = Some(now);
        }
        if report.state == "RUNNING" {
            return Ok(report);
        }
        if FINAL_APP_STATES.contains(&report.state.as_str()) {
            return Err(format!(
                "the YARN application {app_id} ended {} ({}) before it ran: {}; see \
                 `yarn logs -applicationId {app_id}` for the ApplicationMaster's logs",
                report.state,
                report.final_status,
                report.diagnostics.trim()
            ));
        }
        tokio::time::sleep(poll).await;
    }
}

/// Checks that `app_id` still runs before attaching to it, and prints where its AM is.
pub async fn attach(env: &Environment, app_id: &str, out: &mut dyn Write) -> Result<(), String> {
    let report = env.rm()?.app(app_id).await.map_err(|e| e.to_string())?;
    if FINAL_APP_STATES.contains(&report.state.as_str()) {
        return Err(format!(
            "the YARN application {app_id} does not run anymore ({} with final status {}); start a \
             new session",
            report.state, report.final_status
        ));
    }
    let _ = writeln!(out, "Attached to {app_id} ({})", report.state);
    if let Some(a) = am_web_address(&report) {
        let _ = writeln!(out, "JobManager Web Interface: {a}");
    }
    Ok(())
}

/// Watches a running session, printing state changes until it ends.
pub async fn watch(
    env: &Environment,
    app_id: &str,
    out: &mut dyn Write,
) -> Result<AppInfo, String> {
    let rm = env.rm()?;
    let mut last = String::new();
    loop {
        let report = rm.app(app_id).await.map_err(|e| e.to_string())?;
        if report.state != last {
            let _ = writeln!(out, "Application {app_id} is {}", report.state);
            last = report.state.clone();
        }
        if FINAL_APP_STATES.contains(&report.state.as_str()) {
            return Ok(report);
        }
        tokio::time::sleep(env.poll_interval).await;
    }
}

/// `-q`: the RUNNING nodes, the totals and the queues.
pub async fn query(env: &Environment, out: &mut dyn Write) -> Result<(), String> {
    let rm = env.rm()?;
    let nodes = rm.nodes(&[]).await.map_err(|e| e.to_string())?;
    let running: Vec<_> = nodes.iter().filter(|n| n.state == "RUNNING").collect();
    let _ = writeln!(out, "NodeManagers in the cluster: {}", running.len());
    let _ = writeln!(
        out,
        "{:<32} {:>12} {:>12} {:>8} {:>8} {:>10}  health",
        "node", "memory MB", "free MB", "vcores", "free", "containers"
    );
    let (mut mem, mut cores, mut free_mem, mut free_cores) = (0i64, 0i64, 0i64, 0i64);
    for n in &running {
        let (v, m) = match &n.total_resource {
            Some(t) if t.memory > 0 => (i64::from(t.v_cores), t.memory),
            _ => (
                n.used_virtual_cores + n.available_virtual_cores,
                n.used_memory_mb + n.avail_memory_mb,
            ),
        };
        mem += m;
        cores += v;
        free_mem += n.avail_memory_mb;
        free_cores += n.available_virtual_cores;
        let _ = writeln!(
            out,
            "{:<32} {:>12} {:>12} {:>8} {:>8} {:>10}  {}",
            n.id,
            m,
            n.avail_memory_mb,
            v,
            n.available_virtual_cores,
            n.num_containers,
            n.health_report
        );
    }
    let _ = writeln!(
        out,
        "Summary: totalMemory {mem} MB totalCores {cores}; free {free_mem} MB and {free_cores} vcores"
    );
    if let Ok(scheduler) = rm.scheduler().await
        && let Some(queues) = checks::leaf_queues(&scheduler)
    {
        let _ = writeln!(out, "Queues: {}", queues.join(", "));
    }
    Ok(())
}

/// `--stop`: asks the AM to shut down (with the secret from the properties file), else kills the
/// application through the RM; waits for the final state, then removes the staging folder and the
/// properties file.
pub async fn stop(
    app_id: Option<&str>,
    env: &Environment,
    out: &mut dyn Write,
) -> Result<AppInfo, String> {
    let (app_id, props) = SessionProperties::named_session(
        &env.properties_path,
        app_id,
        "no session to stop: give its application id with -id, or start one first",
    )?;
    let rm = env.rm()?;
    let mut report = rm.app(&app_id).await.map_err(|e| e.to_string())?;
    if !FINAL_APP_STATES.contains(&report.state.as_str()) {
        let asked_am = match (&props, am_web_address(&report)) {
            (Some(p), Some(am)) => ask_am_to_shut_down(&am, &p.secret, out).await,
            _ => false,
        };
        if asked_am {
            report = wait_final(&rm, &app_id, env.poll_interval, Some(STOP_GRACE)).await?;
        }
        if !FINAL_APP_STATES.contains(&report.state.as_str()) {
            let _ = writeln!(out, "Killing {app_id} through the ResourceManager");
            rm.kill(&app_id, Some("stopped by spindle yarn-session --stop"))
                .await
                .map_err(|e| e.to_string())?;
            report = wait_final(&rm, &app_id, env.poll_interval, None).await?;
        }
    }
    let _ = writeln!(
        out,
        "Application {app_id} is {} with final status {}",
        report.state, report.final_status
    );
    remove_staging(env, &app_id, out).await;
    SessionProperties::remove_if_for(&env.properties_path, &app_id);
    Ok(report)
}

/// The application's report.
pub async fn app_report(env: &Environment, app_id: &str) -> Result<AppInfo, String> {
    env.rm()?.app(app_id).await.map_err(|e| e.to_string())
}

/// Waits until the application is in a final state.
pub async fn wait_for_final(env: &Environment, app_id: &str) -> Result<AppInfo, String> {
    wait_final(&env.rm()?, app_id, env.poll_interval, None).await
}

/// Deletes the application's staging folder (the AM deletes it too; this covers an AM that was
/// killed), reporting only a failure.
pub async fn remove_staging(env: &Environment, app_id: &str, out: &mut dyn Write) {
    let dir = env.staging_dir(app_id);
    let deleted = match env.hdfs() {
        Ok(hdfs) => hdfs.delete(&dir, true).await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match deleted {
        Ok(true) => {
            let _ = writeln!(out, "Removed the staging folder {dir}");
        }
        Ok(false) => {}
        Err(e) => {
            let _ = writeln!(
                out,
                "WARNING: could not remove the staging folder {dir}: {e}"
            );
        }
    }
}

/// `DELETE /cluster` on the AM with the signed authorization; whether the AM accepted.
async fn ask_am_to_shut_down(am: &str, secret: &Secret, out: &mut dyn Write) -> bool {
    let url = format!("{am}{}", contract::SHUTDOWN_PATH);
    let token = contract::request_token(secret, "DELETE", contract::SHUTDOWN_PATH);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build();
    let answer = match client {
        Ok(c) => c.delete(&url).bearer_auth(token).send().await,
        Err(e) => {
            let _ = writeln!(out, "cannot build an HTTP client: {e}");
            return false;
        }
    };
    match answer {
        Ok(r) if r.status().is_success() => {
            let _ = writeln!(
                out,
                "Asked the ApplicationMaster at {am} to shut the session down"
            );
            true
        }
        Ok(r) => {
            let _ = writeln!(
                out,
                "The ApplicationMaster at {am} refused to shut down (HTTP {})",
                r.status()
            );
            false
        }
        Err(e) => {
            let _ = writeln!(out, "Cannot reach the ApplicationMaster at {am}: {e}");
            false
        }
    }
}

async fn wait_final(
    rm: &RmClient,
    app_id: &str,
    poll: Duration,
    limit: Option<Duration>,
) -> Result<AppInfo, String> {
    let started = tokio::time::Instant::now();
    loop {
        let report = rm.app(app_id).await.map_err(|e| e.to_string())?;
        if FINAL_APP_STATES.contains(&report.state.as_str())
            || limit.is_some_and(|l| started.elapsed() >= l)
        {
            return Ok(report);
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged() -> Staged {
        let file = |name: &str| StagedFile {
            uri: format!("hdfs://nn:8020/user/a/.spindle/app/{name}"),
            size: 10,
            timestamp: 20,
        };
        Staged {
            dir: "/user/a/.spindle/app".into(),
            binary: file("spindle"),
            conf: file("spindle-conf.yaml"),
            ship: Vec::new(),
            job: None,
        }
    }

    fn env() -> Environment {
        Environment {
            rm_web: vec!["http://rm:8088".into()],
            webhdfs: vec!["http://nn:9870".into()],
            default_fs: Some("hdfs://nn:8020".into()),
            user: "a".into(),
            binary: PathBuf::from("/bin/true"),
            properties_path: PathBuf::from("/nonexistent"),
            poll_interval: Duration::from_millis(1),
        }
    }

    fn context(pairs: &[(&str, &str)]) -> Result<ApplicationSubmissionContext, String> {
        let conf = Configuration::from_pairs(pairs.iter().copied());
        let spec = cluster_spec(&conf)?;
        submission_context(
            "application_1_0001",
            &conf,
            &spec,
            &staged(),
            &Secret::generate(),
            &env(),
        )
    }

    #[test]
    fn one_attempt_by_default_and_kept_containers_when_the_am_may_restart() {
        let c = context(&[]).unwrap();
        assert_eq!(c.max_app_attempts, Some(1));
        assert!(!c.keep_containers_across_application_attempts);
        assert_eq!(c.attempt_failures_validity_interval, None);
        let c = context(&[("yarn.application-attempts", "3")]).unwrap();
        assert_eq!(c.max_app_attempts, Some(3));
        assert!(c.keep_containers_across_application_attempts);
        assert_eq!(c.attempt_failures_validity_interval, Some(10_000));
        assert!(context(&[("yarn.application-attempts", "0")]).is_err());
    }

    #[test]
    fn names_resources_priority_and_am_environment_come_from_the_configuration() {
        let c = context(&[
            ("yarn.application.name", "n"),
            ("yarn.application.type", "Apache Flink"),
            ("yarn.application.priority", "5"),
            ("jobmanager.memory.process.size", "1g"),
            ("yarn.appmaster.vcores", "2"),
            ("containerized.master.env.EXTRA", "x"),
        ])
        .unwrap();
        assert_eq!(
            (c.application_name.as_str(), c.application_type.as_str()),
            ("n", "Apache Flink")
        );
        assert_eq!(c.priority, Some(5));
        assert_eq!((c.resource.memory, c.resource.v_cores), (1024, 2));
        assert_eq!(
            c.am_container_spec
                .environment
                .get("EXTRA")
                .map(String::as_str),
            Some("x")
        );
        let defaults = context(&[]).unwrap();
        assert_eq!(defaults.priority, None);
        assert_eq!(defaults.queue, None);
    }

    #[test]
    fn cluster_spec_defaults_and_bad_values() {
        let spec = cluster_spec(&Configuration::new()).unwrap();
        assert_eq!(
            (
                spec.jobmanager_mb,
                spec.taskmanager_mb,
                spec.slots,
                spec.taskmanager_vcores
            ),
            (DEFAULT_JOBMANAGER_MB, 1728, 1, 1)
        );
        let spec = cluster_spec(&Configuration::from_pairs([
            ("taskmanager.numberOfTaskSlots", "4"),
            ("yarn.containers.vcores", "-1"),
        ]))
        .unwrap();
        assert_eq!(spec.taskmanager_vcores, 4);
        let e = cluster_spec(&Configuration::from_pairs([(
            "taskmanager.numberOfTaskSlots",
            "0",
        )]))
        .unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
        let e = cluster_spec(&Configuration::from_pairs([(
            "jobmanager.memory.process.size",
            "lots",
        )]))
        .unwrap_err();
        assert!(e.contains("jobmanager.memory.process.size"), "{e}");
    }

    #[test]
    fn ship_list_walks_folders_and_refuses_clashing_names() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("lib");
        std::fs::create_dir_all(d.join("inner")).unwrap();
        std::fs::write(d.join("b.txt"), b"b").unwrap();
        std::fs::write(d.join("inner/a.txt"), b"a").unwrap();
        let f = dir.path().join("top.txt");
        std::fs::write(&f, b"t").unwrap();
        let list = ship_list(&[d.clone(), f.clone()]).unwrap();
        let links: Vec<&str> = list.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(links, ["lib/b.txt", "lib/inner/a.txt", "top.txt"]);
        assert!(
            ship_list(&[f.clone(), f])
                .unwrap_err()
                .contains("both land")
        );
        let bad = dir.path().join("spindle-conf.yaml");
        std::fs::write(&bad, b"x").unwrap();
        assert!(ship_list(&[bad]).unwrap_err().contains("rename"));
    }
}
