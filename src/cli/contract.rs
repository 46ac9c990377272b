//! What the client (`spindle yarn-session`) hands to the ApplicationMaster (`spindle jobmanager`),
//! in one place so both sides use the same names.
//!
//! - The per-application secret travels only in the AM container's credentials (the token file YARN
//!   writes at `$HADOOP_TOKEN_FILE_LOCATION`), as the secret [`SECRET_ALIAS`]: never in the
//!   environment, a command line or a log.
//! - The Flink configuration (the user's `-D` overrides and flags folded in) is staged as the file
//!   [`CONF_FILE_NAME`] in the AM's working directory: flat `key: value` lines ([`render_flat_yaml`],
//!   [`parse_flat_yaml`]).
//! - The staged binary, configuration and shipped files are announced to the AM in its environment
//!   ([`ENV_STAGED_BINARY`], [`ENV_STAGED_CONF`], [`ENV_STAGED_SHIP`]) so it can give TaskExecutors
//!   the very same local resources (same URI, size and timestamp).
//! - [`ENV_STAGING_DIR`] and [`ENV_WEBHDFS_ADDRESSES`] tell the AM what to delete when it shuts down.
//! - [`ENV_RM_SCHEDULER_ADDRESSES`]: YARN gives an AM no variable naming the scheduler address.
//! - Shutting the session down: `DELETE` [`SHUTDOWN_PATH`] on the AM's REST API (the app report's
//!   `amRPCAddress`) with an [`AUTHORIZATION_SCHEME`] `Authorization` header made by
//!   [`authorization`] and checked by [`verify_authorization`]; the secret itself never crosses the
//!   network.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use yarn::rest::types::LocalResourceInfo;

/// Alias of the per-application secret in the AM container's credentials.
pub const SECRET_ALIAS: &str = "spindle.secret";
/// Length of the per-application secret, bytes.
pub const SECRET_LEN: usize = 32;
/// Link name of the staged spindle binary in every container's working directory.
pub const BINARY_LINK_NAME: &str = "spindle";
/// Link name of the staged Flink configuration in every container's working directory.
pub const CONF_FILE_NAME: &str = "spindle-conf.yaml";
/// The staged binary, as [`StagedFile::to_env_value`].
pub const ENV_STAGED_BINARY: &str = "SPINDLE_STAGED_BINARY";
/// The staged configuration, as [`StagedFile::to_env_value`].
pub const ENV_STAGED_CONF: &str = "SPINDLE_STAGED_CONF";
/// The shipped files (`-t`), as [`ship_env_value`]; absent when nothing is shipped.
pub const ENV_STAGED_SHIP: &str = "SPINDLE_STAGED_SHIP";
/// The HDFS folder holding the staged files (`/user/<user>/.spindle/<appId>`); the AM deletes it
/// when the application ends.
pub const ENV_STAGING_DIR: &str = "SPINDLE_STAGING_DIR";
/// The NameNode web addresses (comma-separated `http://host:port`) to reach the staging folder.
pub const ENV_WEBHDFS_ADDRESSES: &str = "SPINDLE_WEBHDFS_ADDRESSES";
/// The ResourceManager scheduler addresses (comma-separated `host:port`, several with HA).
pub const ENV_RM_SCHEDULER_ADDRESSES: &str = "SPINDLE_RM_SCHEDULER_ADDRESSES";
/// The ResourceManager web addresses (comma-separated `http://host:port`).
pub const ENV_RM_WEB_ADDRESSES: &str = "SPINDLE_RM_WEB_ADDRESSES";
/// The path of the AM's REST API that shuts the session down (as Flink's `DELETE /cluster`).
pub const SHUTDOWN_PATH: &str = "/cluster";
/// The scheme of the `Authorization` header of state-changing requests to the AM.
pub const AUTHORIZATION_SCHEME: &str = "Spindle-HMAC-SHA256";

/// A file staged in HDFS, described as a YARN local resource needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedFile {
    /// Where NodeManagers fetch it, e.g. `hdfs://nn:8020/user/alice/.spindle/<appId>/spindle`.
    pub uri: String,
    /// Length, bytes (exactly as the NameNode reports it).
    pub size: i64,
    /// Modification time, ms (exactly as the NameNode reports it).
    pub timestamp: i64,
}

impl StagedFile {
    /// `uri|size|timestamp`.
    pub fn to_env_value(&self) -> String {
        format!("{}|{}|{}", self.uri, self.size, self.timestamp)
    }

    /// Parses [`StagedFile::to_env_value`]'s form.
    pub fn parse_env_value(value: &str) -> Result<StagedFile, String> {
        let mut parts = value.rsplitn(3, '|');
        let (timestamp, size, uri) = match (parts.next(), parts.next(), parts.next()) {
            (Some(t), Some(s), Some(u)) if !u.is_empty() => (t, s, u),
            _ => return Err(format!("expected uri|size|timestamp, got {value:?}")),
        };
        let number = |what: &str, s: &str| {
            s.parse::<i64>()
                .map_err(|_| format!("{what} {s:?} in {value:?} is not a number"))
        };
        Ok(StagedFile {
            uri: uri.to_owned(),
            size: number("size", size)?,
            timestamp: number("timestamp", timestamp)?,
        })
    }

    /// The `local-resources` value: a FILE visible to the application only.
    pub fn local_resource(&self) -> LocalResourceInfo {
        LocalResourceInfo {
            resource: self.uri.clone(),
            kind: "FILE".to_owned(),
            visibility: "APPLICATION".to_owned(),
            size: self.size,
            timestamp: self.timestamp,
            pattern: None,
        }
    }
}

/// [`ENV_STAGED_SHIP`]'s value: `link|uri|size|timestamp` entries separated by `;`. Link names
/// (relative paths in the container's working directory) must not contain `|` or `;`.
pub fn ship_env_value(files: &[(String, StagedFile)]) -> String {
    files
        .iter()
        .map(|(link, f)| format!("{link}|{}", f.to_env_value()))
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
            Ok((link.to_owned(), StagedFile::parse_env_value(file)?))
        })
        .collect()
}

/// The per-application secret. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(Vec<u8>);

impl SessionSecret {
    /// A new random secret of [`SECRET_LEN`] bytes.
    pub fn generate() -> SessionSecret {
        let mut bytes = vec![0u8; SECRET_LEN];
        rand::fill(&mut bytes[..]);
        SessionSecret(bytes)
    }

    /// A secret from its bytes (read from a token file or the properties file).
    pub fn from_bytes(bytes: Vec<u8>) -> SessionSecret {
        SessionSecret(bytes)
    }

    /// The raw bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionSecret(<{} bytes redacted>)", self.0.len())
    }
}

fn signature(secret: &SessionSecret, method: &str, path: &str, unix_ms: u64) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose()).expect("HMAC takes any key");
    mac.update(format!("{method} {path} {unix_ms}").as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The `Authorization` header value for `method path` at `unix_ms`:
/// `Spindle-HMAC-SHA256 <unix_ms>:<hex HMAC-SHA256(secret, "<METHOD> <path> <unix_ms>")>`.
pub fn authorization(secret: &SessionSecret, method: &str, path: &str, unix_ms: u64) -> String {
    let mac = signature(secret, method, path, unix_ms);
    format!("{AUTHORIZATION_SCHEME} {unix_ms}:{}", hex::encode(mac))
}

/// Checks an [`authorization`] header for `method path`: the MAC must match and its time must be
/// within `max_skew_ms` of `now_ms` (so a recorded header cannot be replayed later).
pub fn verify_authorization(
    secret: &SessionSecret,
    method: &str,
    path: &str,
    header: &str,
    now_ms: u64,
    max_skew_ms: u64,
) -> Result<(), String> {
    let rest = header
        .strip_prefix(AUTHORIZATION_SCHEME)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| format!("expected the {AUTHORIZATION_SCHEME} authorization scheme"))?;
    let (time, mac) = rest.split_once(':').ok_or("expected <unix_ms>:<hex mac>")?;
    let time: u64 = time.parse().map_err(|_| "the time is not a number")?;
    if time.abs_diff(now_ms) > max_skew_ms {
        return Err(format!(
            "the request time is {} ms away from the server's clock (at most {max_skew_ms} ms allowed)",
            time.abs_diff(now_ms)
        ));
    }
    let mac = hex::decode(mac).map_err(|_| "the MAC is not hex")?;
    let mut expected = Hmac::<Sha256>::new_from_slice(secret.expose()).expect("any key");
    expected.update(format!("{method} {path} {time}").as_bytes());
    expected
        .verify_slice(&mac)
        .map_err(|_| "the MAC does not match the application's secret".to_owned())
}

/// Writes Flink configuration entries as flat YAML `key: value` lines; values that YAML would read
/// differently are single-quoted.
pub fn render_flat_yaml<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (key, value) in entries {
        out.push_str(key);
        out.push_str(": ");
        if needs_quotes(value) {
            out.push('\'');
            out.push_str(&value.replace('\'', "''"));
            out.push('\'');
        } else {
            out.push_str(value);
        }
        out.push('\n');
    }
    out
}

fn needs_quotes(value: &str) -> bool {
    value.is_empty()
        || value.trim() != value
        || value.contains(": ")
        || value.contains(" #")
        || value.contains('\n')
        || value.starts_with([
            '\'', '"', '#', '&', '*', '!', '|', '>', '%', '@', '`', '{', '[', '-',
        ])
}

/// Reads flat YAML `key: value` lines (comments and blank lines skipped; values plain, 'single' or
/// "double" quoted without escapes other than `''`), in file order.
pub fn parse_flat_yaml(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (key, value) = trimmed
            .split_once(':')
            .ok_or_else(|| format!("line {}: expected `key: value`, got {trimmed:?}", n + 1))?;
        let value = value.trim();
        let value = if let Some(v) = value.strip_prefix('\'') {
            v.strip_suffix('\'')
                .ok_or_else(|| format!("line {}: unterminated single quote", n + 1))?
                .replace("''", "'")
        } else if let Some(v) = value.strip_prefix('"') {
            v.strip_suffix('"')
                .ok_or_else(|| format!("line {}: unterminated double quote", n + 1))?
                .to_owned()
        } else {
            value
                .split_once(" #")
                .map_or(value, |(v, _)| v.trim_end())
                .to_owned()
        };
        entries.push((key.trim().to_owned(), value));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_file_round_trips_through_its_env_value() {
        let f = StagedFile {
            uri: "hdfs://nn:8020/user/a/.spindle/application_1_0001/spindle".into(),
            size: 12345,
            timestamp: 1_700_000_000_123,
        };
        assert_eq!(
            f.to_env_value(),
            "hdfs://nn:8020/user/a/.spindle/application_1_0001/spindle|12345|1700000000123"
        );
        assert_eq!(StagedFile::parse_env_value(&f.to_env_value()).unwrap(), f);
        assert!(StagedFile::parse_env_value("hdfs://x|12").is_err());
        assert!(StagedFile::parse_env_value("hdfs://x|a|1").is_err());
        let ship = vec![("lib/a.txt".to_owned(), f.clone()), ("b".to_owned(), f)];
        assert_eq!(parse_ship_env_value(&ship_env_value(&ship)).unwrap(), ship);
    }

    #[test]
    fn authorization_verifies_and_rejects_a_wrong_secret_path_or_old_time() {
        let secret = SessionSecret::generate();
        let header = authorization(&secret, "DELETE", SHUTDOWN_PATH, 1_000_000);
        assert!(header.starts_with("Spindle-HMAC-SHA256 1000000:"));
        verify_authorization(&secret, "DELETE", "/cluster", &header, 1_000_500, 60_000).unwrap();
        let other = SessionSecret::generate();
        assert!(
            verify_authorization(&other, "DELETE", "/cluster", &header, 1_000_000, 60_000).is_err()
        );
        assert!(
            verify_authorization(&secret, "DELETE", "/jobs", &header, 1_000_000, 60_000).is_err()
        );
        assert!(
            verify_authorization(&secret, "DELETE", "/cluster", &header, 2_000_000, 60_000)
                .is_err()
        );
        assert!(
            verify_authorization(&secret, "DELETE", "/cluster", "Bearer x", 1_000_000, 60_000)
                .is_err()
        );
    }

    #[test]
    fn secret_debug_is_redacted() {
        let secret = SessionSecret::from_bytes(vec![0xab; 32]);
        let shown = format!("{secret:?}");
        assert!(!shown.contains("ab") && !shown.contains("171"), "{shown}");
    }

    #[test]
    fn flat_yaml_round_trips_awkward_values() {
        let entries = [
            ("taskmanager.numberOfTaskSlots", "2"),
            ("a.b", "x: y"),
            ("c", " padded "),
            ("d", "it's"),
            ("e", ""),
            ("f", "-1"),
            ("g", "v #not a comment"),
        ];
        let text = render_flat_yaml(entries.iter().copied());
        let parsed = parse_flat_yaml(&text).unwrap();
        let expected: Vec<(String, String)> = entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(parsed, expected, "{text}");
        assert_eq!(
            parse_flat_yaml("# c\n\nk: v # comment\n").unwrap(),
            vec![("k".to_owned(), "v".to_owned())]
        );
        assert!(parse_flat_yaml("no colon here").is_err());
    }
}
