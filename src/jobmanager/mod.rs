//! `spindle jobmanager`: the ApplicationMaster of a spindle session on YARN.
//!
//! It reads what YARN and the client gave its container (the container environment, the
//! AMRMToken and the application's secret from the credentials file, the configuration file and
//! the staged files named in [`contract`]), listens for TaskExecutors ([`crate::rpc`]) and for
//! REST calls ([`crate::web`]) on ephemeral ports, registers with the YARN ResourceManager (host =
//! `NM_HOST`, RPC port = the REST port, tracking URL = the REST API), and runs the
//! ResourceManager actor with the YARN driver. The [`bridge`] connects TaskExecutors to it.
//!
//! A session starts with no TaskManager: the ResourceManager asks for workers when slots are
//! needed, keeps `slotmanager.number-of-slots.min` slots up, and releases idle TaskManagers after
//! `resourcemanager.taskmanager-timeout`. On SIGTERM (YARN's kill), SIGINT or an authorized
//! `DELETE /cluster` it releases every worker and unregisters SUCCEEDED; after a fatal driver
//! error (YARN asked it to shut down, the ResourceManager became unreachable) it unregisters
//! FAILED with the cause.

pub mod bridge;
pub mod contract;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use tokio::sync::mpsc;
use yarn::amrm::{AmRmClient, protection_levels};
use yarn::conf::RmService;
use yarn::credentials::Token;
use yarn::nm::NmClient;
use yarn::records::ContainerEnv;
use yarn::sasl::Qop;

use crate::config::Configuration;
use crate::dispatcher::{self, DispatcherConfig, DispatcherHandle, JobResult};
use crate::job_master::JobMasterConfig;
use crate::jobspec::JobSpec;
use crate::resource_manager::driver::ApplicationStatus;
use crate::resource_manager::events::{Event, EventQuery};
use crate::resource_manager::types::JobStatus;
use crate::resource_manager::{self, ResourceManagerConfig, ResourceManagerCore};
use crate::rpc::{Secret, ServerConfig, TaskExecutorServer};
use crate::web::{self, BoxFuture, ClusterView, WebState};
use crate::yarn_driver::{
    DriverMonitor, StagedFile, TaskExecutorLaunch, YarnDriver, YarnDriverConfig,
};
use bridge::{BridgeConfig, BridgeHandle, TaskManagerInfo};
use contract::{ENV_CONF_FILE, ENV_STAGED_BINARY, ENV_STAGED_CONF, SECRET_ALIAS};

/// `containerized.taskmanager.env.<NAME>`: environment variables of TaskExecutor containers.
const TASK_MANAGER_ENV_PREFIX: &str = "containerized.taskmanager.env.";

/// How long a per-job ApplicationMaster keeps its REST API up after unregistering, waiting for
/// a client to read the job's end.
const JOB_END_LINGER: std::time::Duration = std::time::Duration::from_secs(3);

/// Command-line options of `spindle jobmanager` (everything else comes from the container).
#[derive(Debug, Clone, clap::Args)]
pub struct JobManagerOptions {
    /// The configuration file, instead of `SPINDLE_CONF_FILE` or ./spindle-conf.yaml.
    #[arg(long = "conf")]
    pub conf: Option<PathBuf>,
}

/// Runs the ApplicationMaster until the session stops; the exit code says how it ended.
pub async fn run(options: JobManagerOptions) -> ExitCode {
    match run_inner(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spindle jobmanager: {e}");
            ExitCode::FAILURE
        }
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn staged(name: &str) -> Result<StagedFile, String> {
    let value = env_var(name).ok_or_else(|| {
        format!("{name} is not set: the client names the staged files in the ApplicationMaster's environment")
    })?;
    StagedFile::parse(&value).map_err(|e| format!("{name}: {e}"))
}

/// Reads the Flink configuration file: the named one must exist; without a name, a missing
/// `./spindle-conf.yaml` means Flink's defaults.
pub fn load_configuration(named: Option<&Path>) -> Result<Configuration, String> {
    let (path, required) = match named {
        Some(p) => (p.to_path_buf(), true),
        None => match env_var(ENV_CONF_FILE) {
            Some(p) => (PathBuf::from(p), true),
            None => (PathBuf::from(contract::CONF_LINK), false),
        },
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            contract::parse_conf_file(&text).map_err(|e| format!("{}: {e}", path.display()))
        }
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(path = %path.display(), "no configuration file; using Flink's defaults");
            Ok(Configuration::new())
        }
        Err(e) => Err(format!(
            "cannot read the configuration file {}: {e}",
            path.display()
        )),
    }
}

struct AmCluster {
    bridge: BridgeHandle,
    rm: resource_manager::ResourceManagerHandle,
}

impl ClusterView for AmCluster {
    fn task_managers(&self) -> BoxFuture<'_, Option<Vec<TaskManagerInfo>>> {
        Box::pin(self.bridge.task_managers())
    }
    fn events(&self, query: EventQuery) -> BoxFuture<'_, Option<Vec<Event>>> {
        Box::pin(async move { self.rm.events(query).await.ok() })
    }
}

async fn run_inner(options: JobManagerOptions) -> Result<(), String> {
    let env = ContainerEnv::from_process().map_err(|e| {
        format!("{e} (spindle jobmanager is the ApplicationMaster that `spindle yarn-session` starts in a YARN container)")
    })?;
    let credentials = env
        .credentials()
        .map_err(|e| format!("cannot read the container's credentials: {e}"))?;
    let amrm_token = credentials
        .amrm_token()
        .ok_or("the container's credentials hold no AMRMToken: is this an ApplicationMaster container?")?
        .clone();
    let secret = credentials
        .secret(SECRET_ALIAS)
        .ok_or_else(|| format!("the container's credentials hold no secret `{SECRET_ALIAS}`; the client puts it there at submission"))
        .and_then(|s| Secret::new(s.to_vec()).map_err(|e| e.to_string()))?;
    let conf = load_configuration(options.conf.as_deref())?;
    let yarn_conf = yarn::conf::Configuration::load_from_env()
        .map_err(|e| format!("cannot load the Hadoop configuration: {e}"))?;
    let params = SessionParams {
        host: env.node_id.host.clone(),
        scheduler: yarn_conf
            .rm_address(RmService::Scheduler)
            .map_err(|e| e.to_string())?
            .to_string(),
        protection: protection_levels(&yarn_conf).map_err(|e| e.to_string())?,
        amrm_token,
        secret,
        conf,
        binary: staged(ENV_STAGED_BINARY)?,
        staged_conf: staged(ENV_STAGED_CONF)?,
        ship: match env_var(contract::ENV_STAGED_SHIP) {
            Some(value) => contract::parse_ship_env_value(&value)
                .map_err(|e| format!("{}: {e}", contract::ENV_STAGED_SHIP))?,
            None => Vec::new(),
        },
        job: match env_var(contract::ENV_JOB_FILE) {
            Some(path) => Some(read_job_file(Path::new(&path))?),
            None => None,
        },
    };
    tracing::info!(attempt = %env.application_attempt_id(), "starting the ApplicationMaster");
    let mut session = Session::start(params).await?;
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
    let outcome = tokio::select! {
        _ = sigterm.recv() => session.stop("SIGTERM").await,
        _ = tokio::signal::ctrl_c() => session.stop("SIGINT").await,
        outcome = session.wait() => outcome,
    };
    remove_staging_dir(env.user.as_deref()).await;
    outcome
}

/// Reads the per-job cluster's job spec.
fn read_job_file(path: &Path) -> Result<JobSpec, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the job spec {}: {e}", path.display()))?;
    JobSpec::parse(&text).map_err(|e| format!("the job spec {} is invalid: {e}", path.display()))
}

/// Deletes the application's staging folder (named by the client in the environment), as the
/// application has ended. A failure is logged, not fatal: `spindle yarn-session --stop` deletes
/// it too.
async fn remove_staging_dir(user: Option<&str>) {
    let (Some(dir), Some(addresses)) = (
        env_var(contract::ENV_STAGING_DIR),
        env_var(contract::ENV_WEBHDFS_ADDRESSES),
    ) else {
        return;
    };
    let urls: Vec<&str> = addresses.split(',').map(str::trim).collect();
    let deleted = match yarn::webhdfs::WebHdfsClient::for_namenodes(&urls, user) {
        Ok(client) => client.delete(&dir, true).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match deleted {
        Ok(_) => tracing::info!(%dir, "deleted the staging folder"),
        Err(e) => tracing::warn!(%dir, "could not delete the staging folder: {e}"),
    }
}

/// What a session's ApplicationMaster starts from (gathered from the container by
/// [`run`]; given directly in tests).
pub struct SessionParams {
    /// The host to advertise (`NM_HOST`).
    pub host: String,
    /// The YARN scheduler address (`yarn.resourcemanager.scheduler.address`).
    pub scheduler: String,
    /// SASL protection levels accepted (`hadoop.rpc.protection`; empty: any).
    pub protection: Vec<Qop>,
    /// The attempt's AMRMToken.
    pub amrm_token: Token,
    /// The application's secret.
    pub secret: Secret,
    /// The Flink configuration.
    pub conf: Configuration,
    /// The staged spindle binary.
    pub binary: StagedFile,
    /// The staged configuration file.
    pub staged_conf: StagedFile,
    /// The shipped files (`-t`), by link name, for every TaskExecutor container.
    pub ship: Vec<(String, StagedFile)>,
    /// Per-job mode: the one job this cluster runs; the application ends with it.
    pub job: Option<JobSpec>,
}

/// A running session ApplicationMaster.
pub struct Session {
    /// Where the REST API listens.
    pub rest_address: SocketAddr,
    /// Where TaskExecutors connect.
    pub task_executor_address: SocketAddr,
    rm: resource_manager::ResourceManagerHandle,
    monitor: DriverMonitor,
    shutdown: mpsc::Receiver<()>,
    dispatcher: DispatcherHandle,
    /// Per-job mode: where the job's end arrives.
    job_results: Option<mpsc::UnboundedReceiver<JobResult>>,
    job_end_seen: Arc<tokio::sync::Notify>,
    _task_executors: TaskExecutorServer,
}

impl Session {
    /// Listens, registers with YARN and starts the ResourceManager.
    pub async fn start(params: SessionParams) -> Result<Session, String> {
        let SessionParams {
            host,
            scheduler,
            protection,
            amrm_token,
            secret,
            conf,
            binary,
            staged_conf,
            ship,
            job,
        } = params;
        let job_master_config =
            JobMasterConfig::from_configuration(&conf).map_err(|e| e.to_string())?;
        let rm_config =
            ResourceManagerConfig::from_configuration(&conf).map_err(|e| e.to_string())?;
        let driver_config =
            YarnDriverConfig::from_configuration(&conf).map_err(|e| e.to_string())?;

        // Listen first: the registration names the REST port.
        let (server_tx, server_rx) = mpsc::channel(1024);
        let mut server_config = ServerConfig::new(secret.clone());
        server_config.heartbeat_timeout = rm_config.heartbeat_timeout;
        let te_server = TaskExecutorServer::bind("0.0.0.0:0", server_config, server_tx)
            .await
            .map_err(|e| format!("cannot listen for TaskExecutors: {e}"))?;
        let rest = tokio::net::TcpListener::bind("0.0.0.0:0")
            .await
            .map_err(|e| format!("cannot listen for REST calls: {e}"))?;
        let rest_address = rest.local_addr().map_err(|e| e.to_string())?;
        let tracking_url = format!("http://{host}:{}/", rest_address.port());

        let mut am = AmRmClient::new(scheduler.clone(), amrm_token, protection.clone());
        let registration = am
            .register(&host, i32::from(rest_address.port()), &tracking_url)
            .await
            .map_err(|e| {
                format!("cannot register with the YARN ResourceManager at {scheduler}: {e}")
            })?;
        tracing::info!(
            %tracking_url,
            max = %registration.maximum_capability,
            "registered with the YARN ResourceManager"
        );

        let launch = TaskExecutorLaunch {
            binary,
            conf: staged_conf,
            ship,
            am_address: format!("{host}:{}", te_server.local_addr().port()),
            secret: secret.clone(),
            environment: conf
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix(TASK_MANAGER_ENV_PREFIX)
                        .map(|name| (name.to_owned(), v.to_owned()))
                })
                .collect(),
        };
        let bridge_config = BridgeConfig {
            default_worker: rm_config.slot_manager.default_worker,
            heartbeat_interval: rm_config.heartbeat_interval,
            heartbeat_timeout: rm_config.heartbeat_timeout,
        };
        let (driver, monitor) = YarnDriver::new(
            am,
            registration,
            NmClient::new(protection),
            launch,
            driver_config,
        );
        let max_slot = rm_config.slot_manager.default_worker.total;
        let rm = resource_manager::spawn(ResourceManagerCore::new(rm_config), Box::new(driver));
        let (dispatcher, inbox) = dispatcher::channel();
        let bridge = bridge::spawn(rm.clone(), dispatcher.clone(), bridge_config, server_rx);
        let (results_tx, job_results) = match job {
            Some(_) => {
                let (tx, rx) = mpsc::unbounded_channel();
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        dispatcher::spawn(
            inbox,
            &dispatcher,
            DispatcherConfig {
                job_master: job_master_config,
                max_slot,
                kv_url: format!("http://{host}:{}", rest_address.port()),
                secret: secret.clone(),
            },
            rm.clone(),
            bridge.clone(),
            results_tx,
        );

        let (shutdown_tx, shutdown) = mpsc::channel(1);
        let job_end_seen = Arc::new(tokio::sync::Notify::new());
        web::serve(
            rest,
            Arc::new(WebState {
                cluster: Arc::new(AmCluster {
                    bridge,
                    rm: rm.clone(),
                }),
                jobs: dispatcher.clone(),
                job_end_seen: job_end_seen.clone(),
                config: web::redacted_entries(&conf),
                secret,
                shutdown: shutdown_tx,
            }),
        );
        let mut session = Session {
            rest_address,
            task_executor_address: te_server.local_addr(),
            rm,
            monitor,
            shutdown,
            dispatcher,
            job_results,
            job_end_seen,
            _task_executors: te_server,
        };
        if let Some(spec) = job {
            let name = spec.name.clone();
            match session.dispatcher.submit(spec).await {
                Ok(id) => tracing::info!(job = %id, %name, "per-job cluster: the job runs"),
                Err(e) => {
                    let cause = format!("the job {name} was refused: {e}");
                    let _ = session
                        .rm
                        .shutdown(ApplicationStatus::Failed, cause.clone())
                        .await;
                    let _ = (&mut session.monitor.done).await;
                    return Err(cause);
                }
            }
        }
        Ok(session)
    }

    /// The ResourceManager, for the parts of the ApplicationMaster that talk to it directly
    /// (JobMasters).
    pub fn resource_manager(&self) -> &resource_manager::ResourceManagerHandle {
        &self.rm
    }

    /// The dispatcher, which runs the cluster's jobs.
    pub fn dispatcher(&self) -> &DispatcherHandle {
        &self.dispatcher
    }

    /// Runs until `DELETE /cluster` (then stops cleanly), a fatal driver error (already
    /// reported to YARN as FAILED), or — in per-job mode — the job's end (then unregisters with
    /// the job's outcome: SUCCEEDED, FAILED or KILLED).
    pub async fn wait(&mut self) -> Result<(), String> {
        let job_end = async {
            match self.job_results.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(result) = job_end => self.end_with_job(result).await,
            _ = self.shutdown.recv() => self.stop("DELETE /cluster").await,
            outcome = &mut self.monitor.done => match outcome {
                Ok(outcome) => outcome,
                Err(_) => Err("the YARN driver stopped unexpectedly".to_owned()),
            },
        }
    }

    /// Per-job mode: the job has ended; release everything and unregister with its outcome.
    async fn end_with_job(&mut self, result: JobResult) -> Result<(), String> {
        let (status, diagnostics) = match result.status {
            JobStatus::Finished => (
                ApplicationStatus::Succeeded,
                format!("job {} finished", result.job),
            ),
            JobStatus::Canceled => (
                ApplicationStatus::Canceled,
                format!("job {} was cancelled", result.job),
            ),
            other => (
                ApplicationStatus::Failed,
                format!(
                    "job {} ended {other:?}: {}",
                    result.job,
                    result.error.as_deref().unwrap_or("no cause recorded")
                ),
            ),
        };
        tracing::info!(?status, %diagnostics, "per-job cluster: the job has ended");
        let _ = self.rm.shutdown(status, diagnostics).await;
        let outcome = match (&mut self.monitor.done).await {
            Ok(outcome) => outcome,
            Err(_) => Err("the YARN driver stopped before unregistering".to_owned()),
        };
        // Keep answering briefly so an attached client reads the job's end from here.
        let _ = tokio::time::timeout(JOB_END_LINGER, self.job_end_seen.notified()).await;
        outcome
    }

    /// Releases every worker and unregisters SUCCEEDED.
    pub async fn stop(&mut self, why: &str) -> Result<(), String> {
        tracing::info!(cause = why, "stopping the session");
        let _ = self
            .rm
            .shutdown(
                ApplicationStatus::Succeeded,
                format!("session stopped ({why})"),
            )
            .await;
        match (&mut self.monitor.done).await {
            Ok(outcome) => outcome,
            Err(_) => Err("the YARN driver stopped before unregistering".to_owned()),
        }
    }
}
