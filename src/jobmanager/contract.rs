//! What the client (`spindle yarn-session`) hands the ApplicationMaster, in one place: the
//! environment variables of the AM container, the configuration file's name and format, and where
//! the application's secret lives.
//!
//! - `SPINDLE_STAGED_BINARY=uri|size|timestamp`: the spindle binary the client uploaded; every
//!   TaskExecutor container localizes it as `./spindle` (see [`StagedFile`]).
//! - `SPINDLE_STAGED_CONF=uri|size|timestamp`: the staged configuration; every TaskExecutor
//!   container localizes it as `./spindle-conf.yaml`.
//! - `SPINDLE_CONF_FILE=path` (optional): the AM's configuration file; by default
//!   `spindle-conf.yaml` in the working directory, where the client localizes the staged one.
//! - The secret: in the AM container's credentials (`HADOOP_TOKEN_FILE_LOCATION`, which YARN fills
//!   from the submission's tokens and adds the AMRMToken to) under the alias `spindle.secret`, the
//!   same alias the TaskExecutors read. Never in the environment or on a command line. The CLI
//!   authenticates `DELETE /cluster` with it (see [`crate::web::auth`]).
//!
//! - `SPINDLE_JOB_FILE=spindle-job.json` (per-job mode only): the job the AM runs, localized from
//!   the staging folder; the application ends with the job.
//!
//! The configuration file is a flat YAML map of Flink keys (`taskmanager.numberOfTaskSlots: 2`),
//! the client's `-D` overrides already folded in; [`parse_conf_file`] reads it and
//! [`render_conf_file`] writes it.

use std::fmt;

use crate::config::Configuration;
pub use crate::yarn_driver::launch::{CONF_LINK, SECRET_ALIAS, StagedFile};

/// The staged spindle binary, `uri|size|timestamp`.
pub const ENV_STAGED_BINARY: &str = "SPINDLE_STAGED_BINARY";
/// The staged configuration file, `uri|size|timestamp`.
pub const ENV_STAGED_CONF: &str = "SPINDLE_STAGED_CONF";
/// The AM's configuration file (default: [`CONF_LINK`] in the working directory).
pub const ENV_CONF_FILE: &str = "SPINDLE_CONF_FILE";
/// The shipped files (`-t`), as [`ship_env_value`]; absent when nothing is shipped. The AM
/// localizes them in every TaskExecutor container under their link names.
pub const ENV_STAGED_SHIP: &str = "SPINDLE_STAGED_SHIP";
/// The HDFS folder holding the staged files (`/user/<user>/.spindle/<appId>`); the
/// ApplicationMaster deletes it when the application ends.
pub const ENV_STAGING_DIR: &str = "SPINDLE_STAGING_DIR";
/// The NameNode web addresses (comma-separated `http://host:port`) that reach the staging folder.
pub const ENV_WEBHDFS_ADDRESSES: &str = "SPINDLE_WEBHDFS_ADDRESSES";

/// Per-job mode: the job spec file (JSON, parallelism resolved) the AM runs, relative to its
/// working directory; the client stages it as [`JOB_LINK`]. Absent for a session.
pub const ENV_JOB_FILE: &str = "SPINDLE_JOB_FILE";
/// The name the per-job spec is localized under in the AM's working directory.
pub const JOB_LINK: &str = "spindle-job.json";

/// A configuration file line that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct ConfFileError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong and what to write instead.
    pub problem: String,
}

/// Reads a flat YAML map of Flink keys: `key: value` lines, `#` comments, blank lines; values may
/// be single- or double-quoted. A later duplicate key wins, as a later `-D` does.
pub fn parse_conf_file(text: &str) -> Result<Configuration, ConfFileError> {
    let mut conf = Configuration::new();
    for (i, raw) in text.lines().enumerate() {
        let err = |problem: &str| ConfFileError {
            line: i + 1,
            problem: problem.to_owned(),
        };
        let trimmed = raw.trim_end();
        if trimmed.trim_start().is_empty() || trimmed.trim_start().starts_with('#') {
            continue;
        }
        if trimmed.starts_with([' ', '\t']) {
            return Err(err(
                "nested YAML is not supported; write each key flat, e.g. `taskmanager.memory.process.size: 2g`",
            ));
        }
        let Some((key, value)) = trimmed
            .split_once(": ")
            .or_else(|| trimmed.strip_suffix(':').map(|k| (k, "")))
        else {
            return Err(err("expected `key: value`"));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(err("the key is empty"));
        }
        conf.set(key, unquote(value.trim()).map_err(|p| err(&p))?);
    }
    Ok(conf)
}

fn unquote(value: &str) -> Result<String, String> {
    if let Some(inner) = value.strip_prefix('"') {
        let inner = inner
            .strip_suffix('"')
            .ok_or("a double-quoted value is not closed")?;
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(c @ ('"' | '\\')) => out.push(c),
                    _ => return Err("unknown escape in a double-quoted value".to_owned()),
                }
            } else {
                out.push(c);
            }
        }
        return Ok(out);
    }
    if let Some(inner) = value.strip_prefix('\'') {
        let inner = inner
            .strip_suffix('\'')
            .ok_or("a single-quoted value is not closed")?;
        return Ok(inner.replace("''", "'"));
    }
    // A plain scalar ends where a comment begins.
    Ok(match value.find(" #") {
        Some(i) => value[..i].trim_end().to_owned(),
        None => value.to_owned(),
    })
}

/// Writes a configuration in the format [`parse_conf_file`] reads.
pub fn render_conf_file(conf: &Configuration) -> String {
    struct Quoted<'a>(&'a str);
    impl fmt::Display for Quoted<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let v = self.0;
            let plain = !v.is_empty()
                && v.trim() == v
                && !v.starts_with(['"', '\'', '#'])
                && !v.contains(" #")
                && !v.contains(['\n', '\t']);
            if plain {
                return f.write_str(v);
            }
            f.write_str("\"")?;
            for c in v.chars() {
                match c {
                    '"' => f.write_str("\\\"")?,
                    '\\' => f.write_str("\\\\")?,
                    '\n' => f.write_str("\\n")?,
                    '\t' => f.write_str("\\t")?,
                    c => write!(f, "{c}")?,
                }
            }
            f.write_str("\"")
        }
    }
    conf.iter()
        .map(|(k, v)| format!("{k}: {}\n", Quoted(v)))
        .collect()
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
    fn flat_yaml_with_comments_and_quotes() {
        let conf = parse_conf_file(
            "# a session\ntaskmanager.numberOfTaskSlots: 2\n\nslotmanager.number-of-slots.min: 4 # spare\n\
             yarn.application.name: 'it''s mine'\nenv.java.opts: \"-Da=\\\"b\\\"\"\nempty:\n",
        )
        .unwrap();
        assert_eq!(conf.raw("taskmanager.numberOfTaskSlots"), Some("2"));
        assert_eq!(conf.raw("slotmanager.number-of-slots.min"), Some("4"));
        assert_eq!(conf.raw("yarn.application.name"), Some("it's mine"));
        assert_eq!(conf.raw("env.java.opts"), Some("-Da=\"b\""));
        assert_eq!(conf.raw("empty"), Some(""));
    }

    #[test]
    fn bad_lines_say_where_and_what() {
        let e = parse_conf_file("a: 1\ntaskmanager:\n  numberOfTaskSlots: 2\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.problem.contains("flat"), "{e}");
        assert_eq!(parse_conf_file("just words").unwrap_err().line, 1);
        assert!(parse_conf_file("a: \"open").is_err());
    }

    #[test]
    fn render_round_trips() {
        let conf = Configuration::from_pairs([
            ("a.b", "plain value"),
            ("c", " padded "),
            ("d", "has # hash"),
            ("e", "quote\"and\\slash\nnewline"),
            ("f", ""),
            ("g", "'single'"),
        ]);
        assert_eq!(parse_conf_file(&render_conf_file(&conf)).unwrap(), conf);
    }
}
