//! The ContainerLaunchContext of a TaskExecutor: what a NodeManager needs to start
//! `spindle taskmanager` in an allocated container.
//!
//! The files are the ones the client staged for the application (the spindle binary and the
//! configuration), localized under fixed link names; the command line carries the
//! ApplicationMaster's address and the worker's slot layout; the per-application secret travels
//! only in the container's credentials (a Hadoop token file with the secret under
//! [`SECRET_ALIAS`]), never in the environment or on the command line, because both are visible to
//! every user of the node (`ps`, the NodeManager's web pages).

use std::collections::BTreeMap;
use std::fmt;

use yarn::credentials::{Credentials, TokenFileFormat};
use yarn::proto::hadoop::yarn::ContainerLaunchContextProto;
use yarn::records::{
    LaunchContext, LocalResource, LocalResourceType, LocalResourceVisibility, ResourceUrl,
};

use crate::resource_manager::types::WorkerSpec;
use crate::rpc::Secret;
pub use crate::task_executor::config::SECRET_ALIAS;

/// The link name of the spindle binary in a container's working directory.
pub const BINARY_LINK: &str = "spindle";
/// The link name of the staged configuration in a container's working directory.
pub const CONF_LINK: &str = "spindle-conf.yaml";

/// A file the client uploaded for the application, as YARN must be told of it: its URI, exact size
/// and modification time (a NodeManager refuses to localize a file whose size or time changed).
/// Its text form, used in the ApplicationMaster's environment, is `uri|size|timestamp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedFile {
    /// Where it is, e.g. `hdfs://nn:8020/user/alice/.spindle/application_1_0001/spindle`.
    pub uri: String,
    /// Size in bytes.
    pub size: i64,
    /// Modification time in milliseconds since the epoch, as the file system reports it.
    pub timestamp: i64,
}

/// A staged-file description that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid staged file {input:?}: {problem}; expected uri|size|timestamp")]
pub struct StagedFileError {
    input: String,
    problem: String,
}

impl StagedFile {
    /// Parses `uri|size|timestamp`.
    pub fn parse(input: &str) -> Result<StagedFile, StagedFileError> {
        let err = |problem: &str| StagedFileError {
            input: input.to_owned(),
            problem: problem.to_owned(),
        };
        let mut parts = input.rsplitn(3, '|');
        let (Some(timestamp), Some(size), Some(uri)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(err("it has fewer than three |-separated parts"));
        };
        let size = size
            .parse::<i64>()
            .ok()
            .filter(|s| *s >= 0)
            .ok_or_else(|| err("the size is not a number of bytes"))?;
        let timestamp = timestamp
            .parse::<i64>()
            .map_err(|_| err("the timestamp is not a number of milliseconds"))?;
        ResourceUrl::parse(uri).map_err(|e| err(&e.to_string()))?;
        Ok(StagedFile {
            uri: uri.to_owned(),
            size,
            timestamp,
        })
    }

    fn local_resource(&self) -> LocalResource {
        LocalResource {
            url: ResourceUrl::parse(&self.uri).expect("checked when parsed"),
            size: self.size,
            timestamp: self.timestamp,
            kind: LocalResourceType::File,
            visibility: LocalResourceVisibility::Application,
            pattern: None,
        }
    }
}

impl fmt::Display for StagedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}|{}", self.uri, self.size, self.timestamp)
    }
}

/// Everything every TaskExecutor container of the application shares.
#[derive(Clone)]
pub struct TaskExecutorLaunch {
    /// The staged spindle binary.
    pub binary: StagedFile,
    /// The staged configuration.
    pub conf: StagedFile,
    /// The ApplicationMaster's TaskExecutor endpoint, `host:port`.
    pub am_address: String,
    /// The application's secret.
    pub secret: Secret,
    /// Extra environment (Flink's `containerized.taskmanager.env.*`).
    pub environment: BTreeMap<String, String>,
    /// Files the client shipped (`-t`), by their link names in the container's working directory.
    pub ship: Vec<(String, StagedFile)>,
}

impl fmt::Debug for TaskExecutorLaunch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskExecutorLaunch")
            .field("binary", &self.binary)
            .field("conf", &self.conf)
            .field("am_address", &self.am_address)
            .field("environment", &self.environment)
            .field("ship", &self.ship)
            .finish_non_exhaustive()
    }
}

impl TaskExecutorLaunch {
    /// The launch context of a TaskExecutor of `spec`. Its slot memory (the four memory pools of
    /// the spec) is passed as `--memory-mb`, rounded up to whole MiB so that every slot the
    /// ResourceManager carves out of the spec fits; its CPU as `--cpu-cores`.
    pub fn context(&self, spec: &WorkerSpec) -> ContainerLaunchContextProto {
        let memory_mb = spec.total.memory().div_ceil(1 << 20).max(1);
        let cpu = spec.total.cpu_millis.max(1);
        let command = format!(
            "./{BINARY_LINK} taskmanager --am-address {} --slots {} --memory-mb {memory_mb} \
             --cpu-cores {}.{:03} 1><LOG_DIR>/taskmanager.out 2><LOG_DIR>/taskmanager.err",
            self.am_address,
            spec.num_slots,
            cpu / 1000,
            cpu % 1000,
        );
        let mut credentials = Credentials::new();
        credentials.add_secret(SECRET_ALIAS, self.secret.expose().to_vec());
        let mut context = LaunchContext {
            local_resources: self
                .ship
                .iter()
                .map(|(link, file)| (link.clone(), file.local_resource()))
                .chain([
                    (BINARY_LINK.to_owned(), self.binary.local_resource()),
                    (CONF_LINK.to_owned(), self.conf.local_resource()),
                ])
                .collect(),
            environment: self.environment.clone(),
            commands: vec![command],
            ..Default::default()
        };
        context.set_credentials(&credentials, TokenFileFormat::Writable);
        (&context).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_file_round_trips_and_refuses_garbage() {
        let text = "hdfs://nn:8020/user/a/.spindle/application_1_0001/spindle|1234|1700000000000";
        let file = StagedFile::parse(text).unwrap();
        assert_eq!(file.size, 1234);
        assert_eq!(file.timestamp, 1_700_000_000_000);
        assert_eq!(file.to_string(), text);
        for bad in [
            "",
            "hdfs://nn/x|12",
            "hdfs://nn/x|-1|5",
            "hdfs://nn/x|12|soon",
            "no-scheme|1|2",
        ] {
            let e = StagedFile::parse(bad).unwrap_err();
            assert!(e.to_string().contains("uri|size|timestamp"), "{e}");
        }
    }
}
