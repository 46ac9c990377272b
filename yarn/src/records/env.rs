//! What a NodeManager tells a container through its environment: its own container id (from which an
//! ApplicationMaster learns its attempt and application), the node, its directories and the token file.

use std::path::PathBuf;

use crate::credentials::{Credentials, CredentialsError};
use crate::records::{ApplicationAttemptId, ContainerId, IdParseError, NodeId};

/// Names of the environment variables YARN sets in containers.
pub mod vars {
    /// The container's id string.
    pub const CONTAINER_ID: &str = "CONTAINER_ID";
    /// The NodeManager's RPC host.
    pub const NM_HOST: &str = "NM_HOST";
    /// The NodeManager's RPC port.
    pub const NM_PORT: &str = "NM_PORT";
    /// The NodeManager's web port.
    pub const NM_HTTP_PORT: &str = "NM_HTTP_PORT";
    /// Comma list of the application's local directories on this node.
    pub const LOCAL_DIRS: &str = "LOCAL_DIRS";
    /// Comma list of the container's log directories.
    pub const LOG_DIRS: &str = "LOG_DIRS";
    /// The submitting user.
    pub const USER: &str = "USER";
    /// The container's working directory.
    pub const PWD: &str = "PWD";
    /// The credentials file.
    pub const HADOOP_TOKEN_FILE_LOCATION: &str = "HADOOP_TOKEN_FILE_LOCATION";
    /// `/proxy/<appId>`, set for AM containers only.
    pub const APPLICATION_WEB_PROXY_BASE: &str = "APPLICATION_WEB_PROXY_BASE";
    /// The application's submission time (ms), set for AM containers only.
    pub const APP_SUBMIT_TIME_ENV: &str = "APP_SUBMIT_TIME_ENV";
}

/// The container environment is missing something or holds something unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContainerEnvError {
    /// A variable every YARN container has is absent.
    #[error("{0} is not set; is this process running in a YARN container?")]
    Missing(&'static str),
    /// A variable's value does not parse.
    #[error("{name}={value:?}: {reason}")]
    Bad {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: String,
    },
}

/// The environment a NodeManager gives a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEnv {
    /// This container.
    pub container_id: ContainerId,
    /// The NodeManager it runs on (`NM_HOST:NM_PORT`).
    pub node_id: NodeId,
    /// The NodeManager's web port.
    pub nm_http_port: Option<u16>,
    /// The application's local directories on this node.
    pub local_dirs: Vec<PathBuf>,
    /// The container's log directories.
    pub log_dirs: Vec<PathBuf>,
    /// The submitting user.
    pub user: Option<String>,
    /// The working directory.
    pub working_dir: Option<PathBuf>,
    /// The credentials file.
    pub token_file: Option<PathBuf>,
    /// The web proxy path (AM containers).
    pub web_proxy_base: Option<String>,
    /// Submission time in ms (AM containers).
    pub app_submit_time_ms: Option<i64>,
}

impl ContainerEnv {
    /// Reads the variables through `get` (for tests and embedding); see [`ContainerEnv::from_process`].
    pub fn from_vars(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<ContainerEnv, ContainerEnvError> {
        let get = |name: &str| get(name).filter(|v| !v.is_empty());
        let required = |name: &'static str| get(name).ok_or(ContainerEnvError::Missing(name));
        let bad = |name: &'static str, value: &str, reason: String| ContainerEnvError::Bad {
            name,
            value: value.to_owned(),
            reason,
        };
        let id = required(vars::CONTAINER_ID)?;
        let container_id = id
            .parse()
            .map_err(|e: IdParseError| bad(vars::CONTAINER_ID, &id, e.to_string()))?;
        let host = required(vars::NM_HOST)?;
        let port = required(vars::NM_PORT)?;
        let port = port
            .parse::<u16>()
            .map_err(|_| bad(vars::NM_PORT, &port, "not a port number".into()))?;
        let nm_http_port = match get(vars::NM_HTTP_PORT) {
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| bad(vars::NM_HTTP_PORT, &p, "not a port number".into()))?,
            ),
            None => None,
        };
        let app_submit_time_ms = match get(vars::APP_SUBMIT_TIME_ENV) {
            Some(t) => Some(t.parse::<i64>().map_err(|_| {
                bad(
                    vars::APP_SUBMIT_TIME_ENV,
                    &t,
                    "not a number of milliseconds".into(),
                )
            })?),
            None => None,
        };
        let dirs = |name: &str| -> Vec<PathBuf> {
            get(name)
                .map(|v| {
                    v.split(',')
                        .filter(|s| !s.is_empty())
                        .map(PathBuf::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(ContainerEnv {
            container_id,
            node_id: NodeId::new(host, i32::from(port)),
            nm_http_port,
            local_dirs: dirs(vars::LOCAL_DIRS),
            log_dirs: dirs(vars::LOG_DIRS),
            user: get(vars::USER),
            working_dir: get(vars::PWD).map(PathBuf::from),
            token_file: get(vars::HADOOP_TOKEN_FILE_LOCATION).map(PathBuf::from),
            web_proxy_base: get(vars::APPLICATION_WEB_PROXY_BASE),
            app_submit_time_ms,
        })
    }

    /// Reads this process's environment.
    pub fn from_process() -> Result<ContainerEnv, ContainerEnvError> {
        ContainerEnv::from_vars(|name| std::env::var(name).ok())
    }

    /// The attempt this container belongs to (for an AM: its own attempt).
    pub fn application_attempt_id(&self) -> ApplicationAttemptId {
        self.container_id.application_attempt_id
    }

    /// The credentials in the token file (empty when the environment names none).
    pub fn credentials(&self) -> Result<Credentials, CredentialsError> {
        match &self.token_file {
            Some(path) => Credentials::read_file(path),
            None => Ok(Credentials::new()),
        }
    }
}
