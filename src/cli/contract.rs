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
//! Defined here, read by nobody but the client yet: [`ENV_STAGED_SHIP`] (the shipped files, for
//! TaskExecutors), and [`ENV_STAGING_DIR`] with [`ENV_WEBHDFS_ADDRESSES`] (what to delete when the
//! application ends; `--stop` deletes it itself once the application is final).

pub use crate::jobmanager::contract::{
    ENV_STAGED_BINARY, ENV_STAGED_CONF, ENV_STAGING_DIR, ENV_WEBHDFS_ADDRESSES, render_conf_file,
};
pub use crate::rpc::Secret;
pub use crate::web::auth::request_token;
pub use crate::yarn_driver::launch::{BINARY_LINK, CONF_LINK, SECRET_ALIAS, StagedFile};
use yarn::rest::types::LocalResourceInfo;

/// The shipped files (`-t`), as [`ship_env_value`]; absent when nothing is shipped.
pub const ENV_STAGED_SHIP: &str = "SPINDLE_STAGED_SHIP";
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

/// [`ENV_STAGED_SHIP`]'s value: `link|uri|size|timestamp` entries separated by `;`. Link names
/// (relative paths in the container's working directory) must not contain `|` or `;`.
pub fn ship_env_value(files: &[(String, StagedFile)]) -> String {
    files
        .iter()
        .map(|(link, f)| format!("{link}|{f}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// Parses [`ship_env_value`]'s form into link names and files.
pub fn parse_ship_env_value(value: &str) -> Result<Vec<(String, StagedFile)>, String> {
    value
        .split(';')
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (link, file) = entry
                .split_once('|')
                .ok_or_else(|| format!("expected link|uri|size|timestamp, got {entry:?}"))?;
            let file = StagedFile::parse(file).map_err(|e| e.to_string())?;
            Ok((link.to_owned(), file))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_round_trip_through_their_env_value() {
        let f = StagedFile {
            uri: "hdfs://nn:8020/user/a/.spindle/application_1_0001/lib/a.txt".into(),
            size: 12345,
            timestamp: 1_700_000_000_123,
        };
        let ship = vec![("lib/a.txt".to_owned(), f.clone()), ("b".to_owned(), f)];
        let value = ship_env_value(&ship);
        assert_eq!(
            value.split(';').next().unwrap(),
            "lib/a.txt|hdfs://nn:8020/user/a/.spindle/application_1_0001/lib/a.txt|12345|1700000000123"
        );
        assert_eq!(parse_ship_env_value(&value).unwrap(), ship);
        assert!(parse_ship_env_value("no-separator").is_err());
        assert!(parse_ship_env_value("a|hdfs://x|big|1").is_err());
    }

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
