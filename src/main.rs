//! The one spindle binary: CLI, ApplicationMaster, TaskExecutor and embedded mini cluster.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use spindle::jobmanager::JobManagerOptions;
use spindle::task_executor::config::{SECRET_ALIAS, TaskExecutorConfig, TaskManagerOptions};

#[derive(Parser)]
#[command(
    name = "spindle",
    version,
    about = "Flink-style resource management on Apache Hadoop YARN"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Starts a session cluster on YARN (or attaches to, queries or stops one), with Flink's flags.
    YarnSession(spindle::cli::args::YarnSessionArgs),
    /// Runs an embedded one-machine YARN (ResourceManager, NodeManagers, WebHDFS) until SIGINT/SIGTERM.
    MiniYarn(MiniYarnArgs),
    /// The ApplicationMaster of a session (started by YARN in the AM container).
    Jobmanager(JobManagerOptions),
    /// A TaskExecutor (started by the ApplicationMaster in a worker container).
    Taskmanager(TaskManagerOptions),
}

/// Logs to stderr (YARN collects it with the container's logs), filtered by `RUST_LOG`.
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .try_init();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

#[derive(clap::Args)]
struct MiniYarnArgs {
    /// Where core-site.xml, hdfs-site.xml and yarn-site.xml are written (use it as HADOOP_CONF_DIR).
    #[arg(long)]
    conf_dir: PathBuf,
    /// Work folder for node dirs, container logs and the file system (default: a temporary one).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Number of NodeManagers.
    #[arg(long, default_value_t = 2)]
    nodes: usize,
    /// Memory per node, MiB.
    #[arg(long, default_value_t = 8192)]
    node_memory_mb: i64,
    /// Vcores per node.
    #[arg(long, default_value_t = 8)]
    node_vcores: i32,
    /// yarn.scheduler.minimum-allocation-mb (asks are rounded up to a multiple of it).
    #[arg(long, default_value_t = 1024)]
    min_allocation_mb: i64,
    /// yarn.scheduler.maximum-allocation-mb (larger asks fail).
    #[arg(long, default_value_t = 8192)]
    max_allocation_mb: i64,
    /// NodeManager heartbeat interval, ms (containers are allocated on heartbeats).
    #[arg(long, default_value_t = 100)]
    nm_heartbeat_ms: u64,
    /// Unrequested containers handed to every application once its asks are met.
    #[arg(long, default_value_t = 0)]
    extra_containers: u32,
    /// JSON-lines journal of app, attempt, container and node events.
    #[arg(long)]
    journal: Option<PathBuf>,
    /// Queues as name:capacity-percent, comma-separated.
    #[arg(long, default_value = "default:100")]
    queues: String,
    /// yarn.scheduler.capacity.maximum-am-resource-percent, as a fraction.
    #[arg(long, default_value_t = 0.1)]
    max_am_resource_percent: f64,
    /// yarn.resourcemanager.am.max-attempts.
    #[arg(long, default_value_t = 2)]
    max_attempts: u32,
    /// Do not kill containers whose process tree exceeds their memory.
    #[arg(long)]
    no_pmem_check: bool,
}

fn queues(spec: &str) -> Result<Vec<(String, f64)>, String> {
    spec.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|q| {
            let (name, cap) = q.split_once(':').unwrap_or((q, "100"));
            let cap: f64 = cap
                .trim()
                .parse()
                .map_err(|_| format!("queue {q:?}: capacity must be a number (name:percent)"))?;
            Ok((name.trim().to_string(), cap))
        })
        .collect()
}

fn main() -> std::process::ExitCode {
    let argv = spindle::cli::args::rewrite_flink_short_flags(std::env::args_os());
    let cli = Cli::parse_from(argv);
    match cli.command {
        Command::YarnSession(args) => spindle::cli::run_yarn_session(args),
        Command::Jobmanager(options) => {
            init_logging();
            runtime().block_on(spindle::jobmanager::run(options))
        }
        Command::Taskmanager(options) => {
            init_logging();
            let config = TaskExecutorConfig::from_environment(
                options,
                |k| std::env::var(k).ok(),
                |path| {
                    let credentials = yarn::credentials::Credentials::read_file(path)
                        .map_err(|e| e.to_string())?;
                    let bytes = credentials
                        .secret(SECRET_ALIAS)
                        .ok_or_else(|| format!("no secret under the alias {SECRET_ALIAS}"))?;
                    spindle::rpc::Secret::new(bytes.to_vec()).map_err(|e| e.to_string())
                },
            );
            match config {
                Ok(config) => match runtime().block_on(spindle::task_executor::run(config)) {
                    Ok(()) => std::process::ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("spindle taskmanager: {e}");
                        std::process::ExitCode::FAILURE
                    }
                },
                Err(e) => {
                    eprintln!("spindle taskmanager: {e}");
                    std::process::ExitCode::from(2)
                }
            }
        }
        Command::MiniYarn(a) => {
            let queues = match queues(&a.queues) {
                Ok(q) => q,
                Err(e) => {
                    eprintln!("spindle mini-yarn: {e}");
                    return std::process::ExitCode::from(2);
                }
            };
            let cfg = yarn::mini::MiniYarnConfig {
                conf_dir: Some(a.conf_dir),
                work_dir: a.work_dir,
                nodes: a.nodes,
                node_memory_mb: a.node_memory_mb,
                node_vcores: a.node_vcores,
                min_allocation_mb: a.min_allocation_mb,
                max_allocation_mb: a.max_allocation_mb,
                nm_heartbeat_ms: a.nm_heartbeat_ms,
                extra_containers: a.extra_containers,
                journal: a.journal,
                queues,
                max_am_fraction: a.max_am_resource_percent,
                max_attempts: a.max_attempts,
                pmem_check: !a.no_pmem_check,
                ..Default::default()
            };
            let rt = tokio::runtime::Runtime::new().expect("starting the tokio runtime");
            match rt.block_on(yarn::mini::run(cfg)) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("spindle mini-yarn: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }
}
