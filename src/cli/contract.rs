//! What the client (`spindle yarn-session`) hands the ApplicationMaster (`spindle jobmanager`), as
//! the client sees it. The names the AM reads are defined on its side and used here, so the two
//! cannot drift apart:
//!
//! - the per-application secret ([`Secret`], 32 random bytes) travels only in the AM container's
//!   credentials, as the secret [`SECRET_ALIAS`] (`spindle.secret`): never in the environment, a
//!   command line or a log;
//! - the Flink configuration (`-D` properties with the flags folded in) is staged as [`CONF_LINK`]
//!   (`spindle-conf.yaml`, flat YAML written by [`render_conf_file`]) in the AM's working directory;
//! - [`ENV_STAGED_BINARY`] / [`ENV_STAGED_CONF`] (`uri|size|timestamp`, [`StagedFile`]) name the
//!   staged binary and configuration so the AM gives TaskExecutors the very same local resources;
//! - shutting the session down is `DELETE /cluster` on the AM's REST API (the app report's
//!   `amRPCAddress`) with `Authorization: Bearer <token>` ([`request_token`]).
//!
//! - [`ENV_STAGED_SHIP`] names the shipped files (`-t`), which the AM gives its TaskExecutors too;
//! - [`ENV_STAGING_DIR`] with [`ENV_WEBHDFS_ADDRESSES`] is what the AM deletes when the application
//!   ends (`--stop` deletes it too once the application is final).

pub use crate::jobmanager::contract::{
    ENV_JOB_FILE, ENV_STAGED_BINARY, ENV_STAGED_CONF, ENV_STAGED_SHIP, ENV_STAGING_DIR,
    ENV_WEBHDFS_ADDRESSES, JOB_LINK, parse_ship_env_value, render_conf_file, ship_env_value,
};
pub use crate::rpc::Secret;
pub use crate::web::auth::request_token;
pub use crate::yarn_driver::launch::{BINARY_LINK, CONF_LINK, SECRET_ALIAS, StagedFile};
use yarn::rest::types::LocalResourceInfo;

/// The path of the AM's REST API that shuts the session down (as Flink's `DELETE /cluster`).
pub const SHUTDOWN_PATH: &str = "/cluster";

/// The RM REST `local-resources` value of a staged file: a FILE visible to the application only.
pub fn local_resource(file: &StagedFile) -> LocalResourceInfo {
    LocalResourceInfo {
        resource: file.uri.clone(),
        kind: "FILE".to_owned(),
        visibility: "APPLICATION".to_owned(),
        size: file.size,
        timestamp: file.timestamp,
        pattern: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_resource_carries_size_and_timestamp_exactly() {
        let f = StagedFile {
            uri: "hdfs://nn:8020/x".into(),
            size: 7,
            timestamp: 9,
        };
        let r = local_resource(&f);
        assert_eq!(
            (
                r.resource.as_str(),
                r.size,
                r.timestamp,
                r.kind.as_str(),
                r.visibility.as_str()
            ),
            ("hdfs://nn:8020/x", 7, 9, "FILE", "APPLICATION")
        );
    }
}
