//! The one spindle binary and its roles: the CLI on the user's machine, the ApplicationMaster and the
//! TaskExecutors in YARN containers, and the embedded mini cluster.
//!
//! Each role's arguments and entry point live in its own module; this file only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use spindle::jobmanager::JobManagerOptions;
use spindle::task_executor::config::{SECRET_ALIAS, TaskExecutorConfig, TaskManagerOptions};

mod mini_yarn;

#[derive(Parser, Debug)]
#[command(
    name = "spindle",
    version,
    about = "Flink-style resource management on Apache Hadoop YARN"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Starts a session cluster on YARN (or attaches to, queries or stops one), with Flink's flags.
    YarnSession(spindle::cli::args::YarnSessionArgs),
    /// Runs a job (a job spec file) in a per-job cluster or in the running session.
    Run(spindle::cli::args::RunArgs),
    /// Lists the session's jobs.
    List(spindle::cli::args::ListArgs),
    /// Cancels a job of the session.
    Cancel(spindle::cli::args::CancelArgs),
    /// Reads and writes the job's key-value store (from inside a task).
    Kv(spindle::cli::kv::KvArgs),
    /// The ApplicationMaster of a session (started by YARN in the AM container).
    Jobmanager(JobManagerOptions),
    /// A TaskExecutor (started by the ApplicationMaster in a worker container).
    Taskmanager(TaskManagerOptions),
    /// Runs an embedded one-machine YARN (ResourceManager, NodeManagers, WebHDFS) until SIGINT/SIGTERM.
    MiniYarn(mini_yarn::MiniYarnArgs),
}

/// Logs to stderr (YARN collects it with the container's logs), filtered by `RUST_LOG`; colours
/// only on a terminal.
fn init_logging() {
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
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

fn main() -> ExitCode {
    // Flink's multi-letter short flags (-tm, -jm, -qu, ...) become long ones before clap sees them.
    let argv = spindle::cli::args::rewrite_flink_short_flags(std::env::args_os());
    let cli = Cli::parse_from(argv);
    match cli.command {
        Command::YarnSession(args) => spindle::cli::run_yarn_session(args),
        Command::Run(args) => spindle::cli::run_job(args),
        Command::List(args) => spindle::cli::list_jobs(args),
        Command::Cancel(args) => spindle::cli::cancel_job(args),
        Command::Kv(args) => spindle::cli::kv::run(args),
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
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("spindle taskmanager: {e}");
                        ExitCode::FAILURE
                    }
                },
                Err(e) => {
                    eprintln!("spindle taskmanager: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::MiniYarn(args) => mini_yarn::run(args),
    }
}
