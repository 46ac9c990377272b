//! Localization: bringing a container's local resources into its work dir, with YARN's checks.
//!
//! A NodeManager copies each resource into a cache dir and links it into the container's work dir
//! under its key. It refuses a resource whose source changed since the client described it: the
//! modification time must equal the launch context's timestamp exactly (Hadoop's FSDownload
//! "changed on src filesystem"), which catches a staging file overwritten between upload and launch.
//! Sources are `file://` paths and the mini cluster's own `hdfs://` file system, which is a local
//! folder (the one its WebHDFS serves). ARCHIVEs are unpacked with `tar` (tar, tar.gz, tgz) or
//! `unzip` (zip, jar).

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// One local resource of a launch context, with its source as a URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalResource {
    /// The source URI (`file:///...` or `hdfs://host:port/...`).
    pub uri: String,
    /// FILE, ARCHIVE or PATTERN.
    pub kind: String,
    /// The size the client saw.
    pub size: i64,
    /// The modification time (ms) the client saw.
    pub timestamp: i64,
}

/// Where `hdfs://` sources live on this machine.
#[derive(Clone, Debug)]
pub struct HdfsRoot {
    /// `host:port` of the mini cluster's file system (fs.defaultFS's authority).
    pub authority: String,
    /// The folder that holds its files.
    pub dir: PathBuf,
}

/// Why a resource could not be localized (the message is the container's diagnostics).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LocalizeError(pub String);

/// Maps a source URI to a path on this machine.
pub fn source_path(uri: &str, hdfs: Option<&HdfsRoot>) -> Result<PathBuf, LocalizeError> {
    if let Some(rest) = uri.strip_prefix("file://") {
        // file:///abs/path, or file://host/abs/path with an empty or local host.
        let path = match rest.find('/') {
            Some(i) => &rest[i..],
            None => return Err(LocalizeError(format!("{uri}: no path in the URI"))),
        };
        return Ok(PathBuf::from(path));
    }
    if let Some(path) = uri.strip_prefix("file:") {
        return Ok(PathBuf::from(path));
    }
    if let Some(rest) = uri.strip_prefix("hdfs://") {
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let Some(root) = hdfs else {
            return Err(LocalizeError(format!(
                "{uri}: this cluster has no hdfs:// file system; use a file:// URI"
            )));
        };
        if !authority.is_empty() && authority != root.authority {
            return Err(LocalizeError(format!(
                "{uri}: only this cluster's file system (hdfs://{}) can be localized from",
                root.authority
            )));
        }
        let rel = path.trim_start_matches('/');
        if rel.split('/').any(|c| c == "..") {
            return Err(LocalizeError(format!(
                "{uri}: '..' is not allowed in paths"
            )));
        }
        return Ok(root.dir.join(rel));
    }
    Err(LocalizeError(format!(
        "{uri}: unsupported scheme; the mini cluster localizes file:// and hdfs:// resources"
    )))
}

/// Modification time of `path` in ms since the epoch, as Hadoop file systems report it.
pub fn mtime_ms(path: &Path) -> std::io::Result<i64> {
    let m = std::fs::metadata(path)?.modified()?;
    Ok(m.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64))
}

/// Copies `res` into `cache_dir` and links it as `work_dir/<key>`.
pub fn localize(
    key: &str,
    res: &LocalResource,
    hdfs: Option<&HdfsRoot>,
    cache_dir: &Path,
    work_dir: &Path,
) -> Result<(), LocalizeError> {
    if key.is_empty() || key.contains('/') || key == "." || key == ".." {
        return Err(LocalizeError(format!(
            "invalid local resource name {key:?}: it must be a plain file name"
        )));
    }
    let src = source_path(&res.uri, hdfs)?;
    let meta = std::fs::metadata(&src)
        .map_err(|e| LocalizeError(format!("File {} does not exist: {e}", res.uri)))?;
    let mtime = mtime_ms(&src).map_err(|e| LocalizeError(format!("{}: {e}", res.uri)))?;
    if mtime != res.timestamp {
        return Err(LocalizeError(format!(
            "Resource {} changed on src filesystem - expected: \"{}\", was: \"{}\"",
            res.uri, res.timestamp, mtime
        )));
    }
    let io = |e: std::io::Error| LocalizeError(format!("localizing {}: {e}", res.uri));
    std::fs::create_dir_all(cache_dir).map_err(io)?;
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| key.to_string());
    let target = if res.kind == "ARCHIVE" {
        let dir = cache_dir.join(&name);
        std::fs::create_dir_all(&dir).map_err(io)?;
        unpack(&src, &name, &dir)?;
        dir
    } else if meta.is_dir() {
        let dir = cache_dir.join(&name);
        copy_dir(&src, &dir).map_err(io)?;
        dir
    } else {
        let file = cache_dir.join(&name);
        std::fs::copy(&src, &file).map_err(io)?;
        file
    };
    std::fs::create_dir_all(work_dir).map_err(io)?;
    std::os::unix::fs::symlink(&target, work_dir.join(key)).map_err(io)
}

fn unpack(src: &Path, name: &str, dir: &Path) -> Result<(), LocalizeError> {
    let lower = name.to_ascii_lowercase();
    let mut cmd = if lower.ends_with(".zip") || lower.ends_with(".jar") {
        let mut c = std::process::Command::new("unzip");
        c.arg("-q").arg(src).arg("-d").arg(dir);
        c
    } else if lower.ends_with(".tar") || lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        let mut c = std::process::Command::new("tar");
        c.arg("-xf").arg(src).arg("-C").arg(dir);
        c
    } else {
        return Err(LocalizeError(format!(
            "cannot unpack archive {name}: use .zip, .jar, .tar, .tar.gz or .tgz"
        )));
    };
    let out = cmd
        .output()
        .map_err(|e| LocalizeError(format!("unpacking {name}: {e}")))?;
    if !out.status.success() {
        return Err(LocalizeError(format!(
            "unpacking {name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn copy_dir(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mini-localize-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_file_is_copied_and_linked_under_its_key() {
        let d = tempdir("ok");
        let src = d.join("app.jar");
        std::fs::write(&src, b"payload").unwrap();
        let res = LocalResource {
            uri: format!("file://{}", src.display()),
            kind: "FILE".into(),
            size: 7,
            timestamp: mtime_ms(&src).unwrap(),
        };
        localize("lib.jar", &res, None, &d.join("cache"), &d.join("work")).unwrap();
        assert_eq!(std::fs::read(d.join("work/lib.jar")).unwrap(), b"payload");
        assert!(
            std::fs::symlink_metadata(d.join("work/lib.jar"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_changed_file_is_refused() {
        let d = tempdir("changed");
        let src = d.join("app.jar");
        std::fs::write(&src, b"payload").unwrap();
        let res = LocalResource {
            uri: format!("file://{}", src.display()),
            kind: "FILE".into(),
            size: 7,
            timestamp: mtime_ms(&src).unwrap() - 1000,
        };
        let err = localize("app.jar", &res, None, &d.join("cache"), &d.join("work")).unwrap_err();
        assert!(err.0.contains("changed on src filesystem"), "{err}");
        assert!(!d.join("work/app.jar").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn hdfs_uris_map_to_the_clusters_folder_only() {
        let root = HdfsRoot {
            authority: "127.0.0.1:9000".into(),
            dir: PathBuf::from("/data/hdfs"),
        };
        assert_eq!(
            source_path("hdfs://127.0.0.1:9000/user/a/x.jar", Some(&root)).unwrap(),
            PathBuf::from("/data/hdfs/user/a/x.jar")
        );
        assert_eq!(
            source_path("hdfs:///user/a/x.jar", Some(&root)).unwrap(),
            PathBuf::from("/data/hdfs/user/a/x.jar")
        );
        assert!(source_path("hdfs://other:8020/x", Some(&root)).is_err());
        assert!(source_path("hdfs://127.0.0.1:9000/../etc/passwd", Some(&root)).is_err());
        assert!(source_path("s3a://bucket/x", Some(&root)).is_err());
        assert_eq!(
            source_path("file:/tmp/x", None).unwrap(),
            PathBuf::from("/tmp/x")
        );
    }

    #[test]
    fn a_tar_archive_is_unpacked() {
        let d = tempdir("tar");
        std::fs::create_dir_all(d.join("content")).unwrap();
        std::fs::write(d.join("content/inside.txt"), b"x").unwrap();
        let ok = std::process::Command::new("tar")
            .arg("-cf")
            .arg(d.join("a.tar"))
            .arg("-C")
            .arg(d.join("content"))
            .arg("inside.txt")
            .status()
            .unwrap();
        assert!(ok.success());
        let src = d.join("a.tar");
        let res = LocalResource {
            uri: format!("file://{}", src.display()),
            kind: "ARCHIVE".into(),
            size: 0,
            timestamp: mtime_ms(&src).unwrap(),
        };
        localize("dist", &res, None, &d.join("cache"), &d.join("work")).unwrap();
        assert_eq!(std::fs::read(d.join("work/dist/inside.txt")).unwrap(), b"x");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
