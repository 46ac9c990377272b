//! The session properties file, as Flink's `.yarn-properties-<user>`: it remembers the last session
//! a user started so that `--stop`, `-id`-less attaches and later commands find it.
//!
//! It lives in `$SPINDLE_PROPERTIES_DIR` (default: the system temp folder) as
//! `.spindle-properties-<user>`, in Java properties syntax. Unlike Flink's world-readable file it
//! holds the session's secret (hex), which `--stop` needs to ask the ApplicationMaster to shut down,
//! so it is written with mode 0600 and refused when others can read it.

use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::contract::Secret;

/// The environment variable naming the folder of the properties file.
pub const PROPERTIES_DIR_ENV: &str = "SPINDLE_PROPERTIES_DIR";

/// What is remembered of a session.
#[derive(Clone)]
pub struct SessionProperties {
    /// `application_<ts>_<n>`.
    pub application_id: String,
    /// The ResourceManager web address(es) used, comma-separated.
    pub rm_web_addresses: String,
    /// The AM's REST address (`http://host:port`), once known.
    pub am_address: Option<String>,
    /// The HDFS staging folder.
    pub staging_dir: String,
    /// The NameNode web address(es), comma-separated.
    pub webhdfs_addresses: String,
    /// The `-D` properties the session was started with (`k=v@@k=v`, as Flink writes them).
    pub dynamic_properties: Vec<(String, String)>,
    /// The per-application secret.
    pub secret: Secret,
}

impl fmt::Debug for SessionProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionProperties")
            .field("application_id", &self.application_id)
            .field("rm_web_addresses", &self.rm_web_addresses)
            .field("am_address", &self.am_address)
            .field("staging_dir", &self.staging_dir)
            .field("webhdfs_addresses", &self.webhdfs_addresses)
            .field("dynamic_properties", &self.dynamic_properties)
            .field("secret", &self.secret)
            .finish()
    }
}

/// Where the properties file of `user` is: `$SPINDLE_PROPERTIES_DIR` or the temp folder.
pub fn properties_path(user: &str) -> PathBuf {
    let dir = std::env::var_os(PROPERTIES_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    dir.join(format!(".spindle-properties-{user}"))
}

/// Escapes a value as a Java properties file does (backslash, line breaks, leading space).
fn escape(value: &str) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' ' if i == 0 => out.push_str("\\ "),
            c => out.push(c),
        }
    }
    out
}

fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl SessionProperties {
    /// The file's text.
    fn render(&self) -> String {
        let dynamic = self
            .dynamic_properties
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("@@");
        let mut lines = vec![
            "# spindle session properties (holds the session's secret: keep it private)".to_owned(),
            format!("applicationID={}", escape(&self.application_id)),
            format!("rmWebAddresses={}", escape(&self.rm_web_addresses)),
            format!("stagingDir={}", escape(&self.staging_dir)),
            format!("webhdfsAddresses={}", escape(&self.webhdfs_addresses)),
            format!("dynamicPropertiesString={}", escape(&dynamic)),
            format!("secret={}", hex::encode(self.secret.expose())),
        ];
        if let Some(am) = &self.am_address {
            lines.push(format!("amAddress={}", escape(am)));
        }
        lines.join("\n") + "\n"
    }

    /// Writes the file at `path` with mode 0600 (replacing an older one atomically).
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let result = (|| {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            // The mode above only applies to a new file.
            f.set_permissions(fs::Permissions::from_mode(0o600))?;
            f.write_all(self.render().as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, path)
        })();
        result.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            format!(
                "cannot write the session properties file {}: {e}; set {PROPERTIES_DIR_ENV} to a writable folder",
                path.display()
            )
        })
    }

    /// Reads the file at `path`; `Ok(None)` when there is none.
    pub fn read(path: &Path) -> Result<Option<SessionProperties>, String> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mode = fs::metadata(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "the session properties file {} is readable by others (mode {:o}) and holds the \
                 session's secret; run `chmod 600 {}` (and consider the secret exposed)",
                path.display(),
                mode & 0o777,
                path.display()
            ));
        }
        let mut get = std::collections::HashMap::new();
        for line in text.lines() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                get.insert(k.trim().to_owned(), unescape(v));
            }
        }
        let broken = |what: &str| {
            format!(
                "the session properties file {} has no valid {what}; delete the file and name the \
                 session with -id",
                path.display()
            )
        };
        let application_id = get
            .remove("applicationID")
            .filter(|id| id.starts_with("application_"))
            .ok_or_else(|| broken("applicationID"))?;
        let secret = get
            .remove("secret")
            .and_then(|s| hex::decode(s.trim()).ok())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| broken("secret"))?;
        let dynamic_properties = get
            .remove("dynamicPropertiesString")
            .unwrap_or_default()
            .split("@@")
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(Some(SessionProperties {
            application_id,
            rm_web_addresses: get.remove("rmWebAddresses").unwrap_or_default(),
            am_address: get.remove("amAddress").filter(|a| !a.is_empty()),
            staging_dir: get.remove("stagingDir").unwrap_or_default(),
            webhdfs_addresses: get.remove("webhdfsAddresses").unwrap_or_default(),
            dynamic_properties,
            secret: Secret::new(secret).map_err(|_| broken("secret"))?,
        }))
    }

    /// The session a command is about: `app_id` when given, else the one the file at `path`
    /// names (`none` explains what to do when there is neither); with the file's properties when
    /// they are that session's.
    pub fn named_session(
        path: &Path,
        app_id: Option<&str>,
        none: &str,
    ) -> Result<(String, Option<SessionProperties>), String> {
        let props = SessionProperties::read(path)?;
        let app_id = match (app_id, &props) {
            (Some(id), _) => id.to_owned(),
            (None, Some(p)) => p.application_id.clone(),
            (None, None) => {
                return Err(format!("{none} (no properties file at {})", path.display()));
            }
        };
        let props = props.filter(|p| p.application_id == app_id);
        Ok((app_id, props))
    }

    /// Deletes the file at `path` if it names `application_id` (a newer session's file is kept).
    pub fn remove_if_for(path: &Path, application_id: &str) {
        if let Ok(Some(p)) = SessionProperties::read(path)
            && p.application_id == application_id
        {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SessionProperties {
        SessionProperties {
            application_id: "application_1700000000000_0007".into(),
            rm_web_addresses: "http://rm1:8088,http://rm2:8088".into(),
            am_address: Some("http://nm3:41234".into()),
            staging_dir: "/user/alice/.spindle/application_1700000000000_0007".into(),
            webhdfs_addresses: "http://nn:9870".into(),
            dynamic_properties: vec![("a.b".into(), "1".into()), ("c".into(), "x y".into())],
            secret: Secret::new(vec![7; 32]).unwrap(),
        }
    }

    #[test]
    fn written_with_mode_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".spindle-properties-alice");
        // An older file with loose permissions is replaced by a private one.
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        sample().write(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = SessionProperties::read(&path).unwrap().unwrap();
        assert_eq!(format!("{back:?}"), format!("{:?}", sample()));
        assert_eq!(back.secret.expose(), sample().secret.expose());
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("applicationID=application_1700000000000_0007\n"),
            "{text}"
        );
        assert!(
            text.contains("dynamicPropertiesString=a.b=1@@c=x y\n"),
            "{text}"
        );
    }

    #[test]
    fn readable_by_others_or_without_app_id_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        sample().write(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let e = SessionProperties::read(&path).unwrap_err();
        assert!(e.contains("chmod 600"), "{e}");
        fs::write(&path, "secret=00\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let e = SessionProperties::read(&path).unwrap_err();
        assert!(e.contains("applicationID") && e.contains("-id"), "{e}");
        assert!(
            SessionProperties::read(&dir.path().join("none"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", sample());
        assert!(!shown.contains("0707"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn removal_keeps_another_sessions_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        sample().write(&path).unwrap();
        SessionProperties::remove_if_for(&path, "application_1_0001");
        assert!(path.exists());
        SessionProperties::remove_if_for(&path, "application_1700000000000_0007");
        assert!(!path.exists());
    }
}
