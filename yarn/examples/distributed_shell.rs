//! A complete ApplicationMaster on the `yarn` crate: runs a shell command in N containers.
//!
//! It runs the way a NodeManager runs an AM: the scheduler address comes from
//! `$HADOOP_CONF_DIR/yarn-site.xml`, the AMRMToken from `$HADOOP_TOKEN_FILE_LOCATION`, its attempt
//! from `$CONTAINER_ID`. It registers, asks for N containers, starts the command in each through
//! its NodeManager (beside the allocate loop, results coming back as messages), releases every
//! container it does not need on the next heartbeat, waits for the completions, and finishes
//! SUCCEEDED — or FAILED with diagnostics when a command fails.
//!
//! ```text
//! distributed_shell --containers N --command CMD [--memory-mb M] [--vcores V] [--shapes K]
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::sync::mpsc;
use yarn::amrm::{AmRmClient, ContainerRequest, protection_levels};
use yarn::conf::{Configuration, RmService};
use yarn::credentials::Credentials;
use yarn::nm::NmClient;
use yarn::proto::hadoop::yarn::{
    ContainerLaunchContextProto, ContainerProto, FinalApplicationStatusProto, StringStringMapProto,
};
use yarn::records::{ContainerId, Resource};

#[derive(Parser, Debug)]
#[command(about = "Runs a shell command in N YARN containers (an ApplicationMaster)")]
struct Args {
    /// How many containers run the command.
    #[arg(long)]
    containers: usize,
    /// The shell command each container runs.
    #[arg(long)]
    command: String,
    /// Memory per container, in MB.
    #[arg(long, default_value_t = 128)]
    memory_mb: i64,
    /// Virtual cores per container.
    #[arg(long, default_value_t = 1)]
    vcores: i32,
    /// Priority of the container requests (of the first shape).
    #[arg(long, default_value_t = 1)]
    priority: i32,
    /// Spread the containers over this many container shapes, one priority each (shape k asks
    /// for k × 128 MB more), as an AM with several kinds of worker does.
    #[arg(long, default_value_t = 1)]
    shapes: usize,
    /// Give up when the containers have not all completed after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
}

/// A launch attempt's outcome, sent back to the allocate loop.
struct Launched {
    container: ContainerId,
    result: Result<(), String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("distributed_shell: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<bool, Box<dyn std::error::Error>> {
    let container_id: ContainerId = std::env::var("CONTAINER_ID")
        .map_err(|_| "CONTAINER_ID is not set: run this as a YARN ApplicationMaster")?
        .parse()?;
    let conf = Configuration::load_from_env()?;
    let token_file = std::env::var("HADOOP_TOKEN_FILE_LOCATION")
        .map_err(|_| "HADOOP_TOKEN_FILE_LOCATION is not set: no AMRMToken to authenticate with")?;
    let credentials = Credentials::read_file(&token_file)?;
    let amrm_token = credentials
        .amrm_token()
        .ok_or_else(|| format!("{token_file} holds no AMRMToken (kind YARN_AM_RM_TOKEN)"))?
        .clone();
    let protection = protection_levels(&conf)?;
    let scheduler = conf.rm_address(RmService::Scheduler)?.to_string();
    tracing::info!(attempt = %container_id.application_attempt_id, %scheduler, "starting");

    let mut am = AmRmClient::new(scheduler, amrm_token, protection.clone());
    let host = std::env::var("NM_HOST").unwrap_or_else(|_| "localhost".into());
    let registration = am.register(&host, -1, "").await?;
    tracing::info!(max = %registration.maximum_capability, "registered");

    if args.shapes == 0 {
        return Err("--shapes must be at least 1".into());
    }
    for i in 0..args.containers {
        let shape = (i % args.shapes) as i32;
        let memory_mb = args.memory_mb + 128 * i64::from(shape);
        let request =
            ContainerRequest::new(args.priority + shape, Resource::new(memory_mb, args.vcores));
        am.add_request(&request)?;
    }

    let nm = NmClient::new(protection);
    let (launched_tx, mut launched_rx) = mpsc::unbounded_channel::<Launched>();
    let mut running: BTreeMap<ContainerId, ContainerProto> = BTreeMap::new();
    let mut exit_statuses: BTreeMap<ContainerId, (i32, String)> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
    let mut next_heartbeat = tokio::time::Instant::now();

    while exit_statuses.len() + failures.len() < args.containers {
        tokio::select! {
            _ = tokio::time::sleep_until(next_heartbeat) => {
                let progress = exit_statuses.len() as f32 / args.containers as f32;
                let allocation = am.allocate(progress).await?;
                for (node, token) in allocation.nm_tokens {
                    nm.set_token(node, token);
                }
                for container in allocation.surplus {
                    tracing::info!(id = ?container.id.as_ref().map(ContainerId::try_from), "returned a surplus container");
                }
                for container in allocation.allocated {
                    let id = ContainerId::try_from(container.id.as_ref().ok_or("container without id")?)?;
                    running.insert(id, container.clone());
                    let launch = launch_context(&args.command);
                    let (nm, tx) = (nm.clone(), launched_tx.clone());
                    tokio::spawn(async move {
                        let result = nm.start_container(&container, launch).await.map_err(|e| e.to_string());
                        let _ = tx.send(Launched { container: id, result });
                    });
                }
                for status in allocation.completed {
                    let Some(id) = status.container_id.as_ref().and_then(|c| ContainerId::try_from(c).ok()) else { continue };
                    if running.remove(&id).is_some() {
                        let exit = status.exit_status.unwrap_or(-1000);
                        tracing::info!(container = %id, exit, "completed");
                        exit_statuses.insert(id, (exit, status.diagnostics.unwrap_or_default()));
                    }
                }
                next_heartbeat = tokio::time::Instant::now()
                    + am.heartbeat_interval(Duration::from_millis(200), Duration::from_millis(500));
            }
            Some(launched) = launched_rx.recv() => match launched.result {
                Ok(()) => tracing::info!(container = %launched.container, "started"),
                Err(e) => {
                    tracing::error!(container = %launched.container, "could not start: {e}");
                    running.remove(&launched.container);
                    am.release(launched.container);
                    failures.push(format!("{}: {e}", launched.container));
                }
            },
            _ = tokio::time::sleep_until(deadline) => {
                failures.push(format!("timed out after {} s with {} containers still running", args.timeout_secs, running.len()));
                break;
            }
        }
    }

    for (id, (exit, diagnostics)) in &exit_statuses {
        if *exit != 0 {
            failures.push(format!("{id} exited {exit}: {}", diagnostics.trim()));
        }
    }
    let (status, diagnostics) = if failures.is_empty() {
        (
            FinalApplicationStatusProto::AppSucceeded,
            format!("{} containers ran the command", args.containers),
        )
    } else {
        (FinalApplicationStatusProto::AppFailed, failures.join("; "))
    };
    tracing::info!(?status, %diagnostics, "finishing");
    am.finish(status, &diagnostics, "").await?;
    Ok(failures.is_empty())
}

fn launch_context(command: &str) -> ContainerLaunchContextProto {
    ContainerLaunchContextProto {
        environment: vec![StringStringMapProto {
            key: Some("SPINDLE_EXAMPLE".into()),
            value: Some("distributed_shell".into()),
        }],
        command: vec![format!("{command} 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr")],
        ..Default::default()
    }
}
