//! `spindle mini-yarn`: the embedded one-machine YARN, its flags and its entry point.

use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `spindle mini-yarn`.
#[derive(clap::Args, Debug)]
pub struct MiniYarnArgs {
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
    /// hadoop.rpc.protection of the RPC ports: authentication, integrity, privacy (comma-separated).
    #[arg(long, default_value = "authentication")]
    rpc_protection: String,
    /// A folder holding Hadoop's client jars (hadoop-client-api, hadoop-client-runtime): written into
    /// yarn.application.classpath as `$HADOOP_CONF_DIR,<folder>/*` for JVM applications such as Flink.
    /// Default: `hadoop/` of the peers cache (scripts/fetch-peers.sh) when it exists.
    #[arg(long)]
    hadoop_client_jars: Option<PathBuf>,
}

/// The peers cache's Hadoop client jars (`$SPINDLE_PEERS_HOME`, else `~/.cache/spindle-peers`), if
/// scripts/fetch-peers.sh has laid them out.
fn default_hadoop_client_jars() -> Option<PathBuf> {
    let home = std::env::var_os("SPINDLE_PEERS_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|c| c.join("spindle-peers"))
        })?;
    let dir = home.join("hadoop");
    dir.join("hadoop-client-api-3.5.0.jar")
        .is_file()
        .then_some(dir)
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

/// Runs the mini cluster until SIGINT or SIGTERM.
pub fn run(a: MiniYarnArgs) -> ExitCode {
    let queues = match queues(&a.queues) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("spindle mini-yarn: {e}");
            return ExitCode::from(2);
        }
    };
    let rpc_protection = match yarn::sasl::Qop::parse_protection(&a.rpc_protection) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("spindle mini-yarn: --rpc-protection: {e}");
            return ExitCode::from(2);
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
        rpc_protection,
        hadoop_client_jars: a.hadoop_client_jars.or_else(default_hadoop_client_jars),
        ..Default::default()
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("spindle mini-yarn: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(yarn::mini::run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spindle mini-yarn: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::queues;

    #[test]
    fn queues_parse_as_name_and_capacity() {
        assert_eq!(
            queues("default:70, batch:30").unwrap(),
            vec![("default".to_string(), 70.0), ("batch".to_string(), 30.0)]
        );
        assert_eq!(queues("solo").unwrap(), vec![("solo".to_string(), 100.0)]);
        assert!(
            queues("a:lots")
                .unwrap_err()
                .contains("capacity must be a number")
        );
    }
}
