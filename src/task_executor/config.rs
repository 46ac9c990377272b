//! What a TaskExecutor needs to know to start, and where each piece comes from.
//!
//! In a YARN container most of it is in the environment the NodeManager sets: `CONTAINER_ID` (the
//! TaskExecutor's resource id), `NM_HOST` (its host), `LOG_DIRS` (where task output goes, so YARN's
//! log aggregation collects it) and `HADOOP_TOKEN_FILE_LOCATION` (the container's credentials, which
//! hold the application's secret). The ApplicationMaster's address and the slot layout come from the
//! command line ([`TaskManagerOptions`]). The secret is never taken from the environment or argv: the
//! caller passes a loader that reads it from the credentials file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::rpc::{MAX_FRAME_LEN, ResourceId, Resources, Secret};

/// Alias of the application's secret in the container's credentials (a Hadoop token file).
pub const SECRET_ALIAS: &str = "spindle.secret";

/// Command-line options of `spindle taskmanager`.
#[derive(Clone, Debug, PartialEq, clap::Args)]
pub struct TaskManagerOptions {
    /// The ApplicationMaster's TaskExecutor endpoint, `host:port`.
    #[arg(long = "am-address")]
    pub am_address: String,
    /// Number of task slots (Flink's `taskmanager.numberOfTaskSlots`).
    #[arg(long, default_value_t = 1)]
    pub slots: u32,
    /// CPU cores of the whole TaskExecutor, shared evenly by its slots.
    #[arg(long = "cpu-cores", default_value_t = 1.0)]
    pub cpu_cores: f64,
    /// Task memory of the whole TaskExecutor in MiB (counted as task heap), shared evenly by its slots.
    #[arg(long = "memory-mb", default_value_t = 1024)]
    pub memory_mb: u64,
    /// Resource id to register with, instead of `CONTAINER_ID` (for running outside YARN).
    #[arg(long = "resource-id")]
    pub resource_id: Option<String>,
    /// Host name to report, instead of `NM_HOST`.
    #[arg(long)]
    pub host: Option<String>,
    /// Directory for task output, instead of the first of `LOG_DIRS`.
    #[arg(long = "log-dir")]
    pub log_dir: Option<PathBuf>,
}

/// How registration attempts are spaced (Flink's `cluster.registration.*`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegistrationBackoff {
    /// First retry delay; doubled after each failed attempt (`initial-timeout`, 100 ms).
    pub initial: Duration,
    /// Largest retry delay (`max-timeout`, 30 s).
    pub max: Duration,
    /// Delay after the ApplicationMaster refused the registration (`refused-registration-delay`, 30 s).
    pub refused_delay: Duration,
}

impl Default for RegistrationBackoff {
    fn default() -> Self {
        RegistrationBackoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
            refused_delay: Duration::from_secs(30),
        }
    }
}

/// Everything a TaskExecutor runs with. Build it with [`TaskExecutorConfig::from_environment`] in a
/// container, or fill the fields directly.
#[derive(Clone, Debug)]
pub struct TaskExecutorConfig {
    pub am_address: String,
    pub resource_id: ResourceId,
    pub host: String,
    pub number_of_slots: u32,
    /// The slot resources of the whole TaskExecutor; each static slot has an equal share.
    pub total_resources: Resources,
    /// Directory for the tasks' stdout and stderr files.
    pub log_dir: PathBuf,
    pub secret: Secret,
    pub registration_backoff: RegistrationBackoff,
    /// Give up if the first registration does not succeed within this time
    /// (Flink's `taskmanager.registration.timeout`, 5 min).
    pub registration_timeout: Duration,
    /// Time between SIGTERM and SIGKILL when canceling a task (Flink's `task.cancellation.interval`, 30 s).
    pub cancel_grace_period: Duration,
    /// How many bytes of a failed task's stderr go into its failure report.
    pub stderr_tail_bytes: usize,
    pub max_frame_len: usize,
    pub handshake_timeout: Duration,
}

/// Why a TaskExecutor configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set: spindle taskmanager runs in a YARN container; outside YARN pass {1}")]
    MissingEnv(&'static str, &'static str),
    #[error(
        "HADOOP_TOKEN_FILE_LOCATION is not set: the TaskExecutor takes the application's secret from \
         the container's credentials file, which YARN provides"
    )]
    NoCredentials,
    #[error("cannot read the application secret `{alias}` from {path}: {reason}")]
    Secret {
        alias: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("--slots must be at least 1")]
    NoSlots,
    #[error("--cpu-cores and --memory-mb must be positive")]
    NoResources,
}

impl TaskExecutorConfig {
    /// Builds the configuration from the command line and the container environment (looked up
    /// through `env`, e.g. `|k| std::env::var(k).ok()`). `load_secret` reads the secret stored under
    /// [`SECRET_ALIAS`] from the credentials file at the given path (`HADOOP_TOKEN_FILE_LOCATION`).
    pub fn from_environment(
        options: TaskManagerOptions,
        env: impl Fn(&str) -> Option<String>,
        load_secret: impl FnOnce(&Path) -> Result<Secret, String>,
    ) -> Result<Self, ConfigError> {
        if options.slots == 0 {
            return Err(ConfigError::NoSlots);
        }
        if options.cpu_cores.is_nan() || options.cpu_cores <= 0.0 || options.memory_mb == 0 {
            return Err(ConfigError::NoResources);
        }
        let resource_id = match options.resource_id {
            Some(id) => id,
            None => env("CONTAINER_ID")
                .ok_or(ConfigError::MissingEnv("CONTAINER_ID", "--resource-id"))?,
        };
        let host = match options.host {
            Some(host) => host,
            None => env("NM_HOST").ok_or(ConfigError::MissingEnv("NM_HOST", "--host"))?,
        };
        let log_dir = options
            .log_dir
            .or_else(|| {
                env("LOG_DIRS")
                    .and_then(|dirs| dirs.split(',').find(|d| !d.is_empty()).map(PathBuf::from))
            })
            .unwrap_or_else(|| {
                std::env::temp_dir().join(format!("spindle-taskmanager-{resource_id}"))
            });
        let token_file =
            PathBuf::from(env("HADOOP_TOKEN_FILE_LOCATION").ok_or(ConfigError::NoCredentials)?);
        let secret = load_secret(&token_file).map_err(|reason| ConfigError::Secret {
            alias: SECRET_ALIAS,
            path: token_file.clone(),
            reason,
        })?;
        Ok(TaskExecutorConfig::new(
            options.am_address,
            ResourceId(resource_id),
            host,
            options.slots,
            Resources::new(
                (options.cpu_cores * 1000.0).round() as u64,
                options.memory_mb.saturating_mul(1 << 20),
            ),
            log_dir,
            secret,
        ))
    }

    /// A configuration with Flink's default timings, for the given identity and layout.
    pub fn new(
        am_address: impl Into<String>,
        resource_id: ResourceId,
        host: impl Into<String>,
        number_of_slots: u32,
        total_resources: Resources,
        log_dir: PathBuf,
        secret: Secret,
    ) -> Self {
        TaskExecutorConfig {
            am_address: am_address.into(),
            resource_id,
            host: host.into(),
            number_of_slots,
            total_resources,
            log_dir,
            secret,
            registration_backoff: RegistrationBackoff::default(),
            registration_timeout: Duration::from_secs(300),
            cancel_grace_period: Duration::from_secs(30),
            stderr_tail_bytes: 4096,
            max_frame_len: MAX_FRAME_LEN,
            handshake_timeout: Duration::from_secs(10),
        }
    }

    /// Each static slot's share of the total resources.
    pub fn default_slot_resources(&self) -> Resources {
        self.total_resources.divided_by(self.number_of_slots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn options() -> TaskManagerOptions {
        TaskManagerOptions {
            am_address: "am:1234".into(),
            slots: 2,
            cpu_cores: 2.0,
            memory_mb: 2048,
            resource_id: None,
            host: None,
            log_dir: None,
        }
    }

    #[test]
    fn options_parse_from_the_command_line() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            options: TaskManagerOptions,
        }
        let cli = <Cli as clap::Parser>::try_parse_from([
            "taskmanager",
            "--am-address",
            "am.example.com:4567",
            "--slots",
            "4",
            "--cpu-cores",
            "2.5",
        ])
        .unwrap();
        assert_eq!(cli.options.am_address, "am.example.com:4567");
        assert_eq!((cli.options.slots, cli.options.cpu_cores), (4, 2.5));
        assert_eq!(cli.options.memory_mb, 1024);
        assert!(<Cli as clap::Parser>::try_parse_from(["taskmanager"]).is_err());
    }

    #[test]
    fn reads_the_container_environment() {
        let env: HashMap<&str, &str> = [
            ("CONTAINER_ID", "container_1_0001_01_000002"),
            ("NM_HOST", "node1"),
            ("LOG_DIRS", "/logs/a,/logs/b"),
            ("HADOOP_TOKEN_FILE_LOCATION", "/c/container_tokens"),
        ]
        .into();
        let mut seen = None;
        let config = TaskExecutorConfig::from_environment(
            options(),
            |k| env.get(k).map(|v| v.to_string()),
            |path| {
                seen = Some(path.to_path_buf());
                Secret::new(b"x".to_vec()).map_err(|e| e.to_string())
            },
        )
        .unwrap();
        assert_eq!(seen.unwrap(), PathBuf::from("/c/container_tokens"));
        assert_eq!(config.resource_id.0, "container_1_0001_01_000002");
        assert_eq!(config.host, "node1");
        assert_eq!(config.log_dir, PathBuf::from("/logs/a"));
        assert_eq!(
            config.default_slot_resources(),
            Resources::new(1000, 1024 << 20)
        );
    }

    #[test]
    fn refuses_to_start_without_credentials() {
        let env: HashMap<&str, &str> = [("CONTAINER_ID", "c"), ("NM_HOST", "h")].into();
        let err = TaskExecutorConfig::from_environment(
            options(),
            |k| env.get(k).map(|v| v.to_string()),
            |_| unreachable!("no token file to read"),
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::NoCredentials), "{err}");
        let env: HashMap<&str, &str> = [
            ("CONTAINER_ID", "c"),
            ("NM_HOST", "h"),
            ("HADOOP_TOKEN_FILE_LOCATION", "/c/tokens"),
        ]
        .into();
        let err = TaskExecutorConfig::from_environment(
            options(),
            |k| env.get(k).map(|v| v.to_string()),
            |_| Err("no secret key with that alias".to_string()),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("spindle.secret") && text.contains("/c/tokens"),
            "{text}"
        );
    }
}
