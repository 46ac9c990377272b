//! Localization: bringing a container's local resources into its work dir, with YARN's checks.
//!
//! A NodeManager copies each resource into a cache dir and links it into the container's work dir
//! under its key; a key may name subfolders (`lib/x.jar`, `plugins/p/y.jar`), which are created. It
//! refuses a resource whose source changed since the client described it: the modification time
//! must equal the launch context's timestamp exactly (Hadoop's FSDownload "changed on src
//! filesystem"), which catches a staging file overwritten between upload and launch. Sources are
//! `file://` paths (what JVM clients with `fs.defaultFS=file:///` register) and the mini cluster's
//! own `hdfs://` and `webhdfs://` file system, which is a local folder (the one its WebHDFS serves).
//! On one machine the "copy" of a FILE is a hard link when source and cache share a file system
//! (staged files are written once, never in place), else a copy. ARCHIVEs (zip, jar, tar, tar.gz,
//! tgz) are unpacked into a folder named after the key, in process.

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
    if let Some(rest) = uri.strip_prefix("webhdfs://") {
        // Hadoop's WebHdfsFileSystem names files by the NameNode's web address; the folder is the same.
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        let Some(root) = hdfs else {
            return Err(LocalizeError(format!(
                "{uri}: this cluster has no file system; use a file:// URI"
            )));
        };
        return source_path(&format!("hdfs://{}{path}", root.authority), Some(root));
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
        "{uri}: unsupported scheme; the mini cluster localizes file://, hdfs:// and webhdfs:// resources"
    )))
}

/// Modification time of `path` in ms since the epoch, as Hadoop file systems report it.
pub fn mtime_ms(path: &Path) -> std::io::Result<i64> {
    let m = std::fs::metadata(path)?.modified()?;
    Ok(m.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64))
}

/// Whether `key` is a relative path inside the work dir (no `..`, no empty or absolute parts).
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// Copies `res` into `cache_dir` and links it as `work_dir/<key>`, creating the key's folders.
pub fn localize(
    key: &str,
    res: &LocalResource,
    hdfs: Option<&HdfsRoot>,
    cache_dir: &Path,
    work_dir: &Path,
) -> Result<(), LocalizeError> {
    if !valid_key(key) {
        return Err(LocalizeError(format!(
            "invalid local resource name {key:?}: it must be a relative path inside the container's \
             work dir"
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
    // Each resource gets its own cache slot (as the NM's numbered filecache dirs), so two sources
    // with the same file name do not collide.
    std::fs::create_dir_all(cache_dir).map_err(io)?;
    let slot = (0..)
        .map(|n: u32| cache_dir.join(n.to_string()))
        .find(|d| std::fs::create_dir(d).is_ok())
        .expect("a free cache slot");
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| key.rsplit('/').next().unwrap_or(key).to_string());
    let target = if res.kind == "ARCHIVE" {
        let dir = slot.join(&name);
        std::fs::create_dir_all(&dir).map_err(io)?;
        unpack(&src, &name, &dir)?;
        dir
    } else if meta.is_dir() {
        let dir = slot.join(&name);
        copy_dir(&src, &dir).map_err(io)?;
        dir
    } else {
        let file = slot.join(&name);
        if std::fs::hard_link(&src, &file).is_err() {
            std::fs::copy(&src, &file).map_err(io)?;
        }
        file
    };
    let link = work_dir.join(key);
    if let Some(parent) = link.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::os::unix::fs::symlink(&target, &link).map_err(io)
}

/// Unpacks an archive into `dir` by its name's extension, refusing entries that would land outside.
pub fn unpack(src: &Path, name: &str, dir: &Path) -> Result<(), LocalizeError> {
    let lower = name.to_ascii_lowercase();
    let fail = |e: &dyn std::fmt::Display| LocalizeError(format!("unpacking {name} failed: {e}"));
    let file = std::fs::File::open(src).map_err(|e| fail(&e))?;
    let reader = std::io::BufReader::new(file);
    if lower.ends_with(".zip") || lower.ends_with(".jar") {
        let mut zip = zip::ZipArchive::new(reader).map_err(|e| fail(&e))?;
        // `extract` refuses entries whose names escape the folder.
        zip.extract(dir).map_err(|e| fail(&e))
    } else if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        tar::Archive::new(flate2::read::GzDecoder::new(reader))
            .unpack(dir)
            .map_err(|e| fail(&e))
    } else if lower.ends_with(".tar") {
        // `unpack` skips entries with `..` or absolute paths.
        tar::Archive::new(reader).unpack(dir).map_err(|e| fail(&e))
    } else {
        Err(LocalizeError(format!(
            "cannot unpack archive {name}: use .zip, .jar, .tar, .tar.gz or .tgz"
        )))
    }
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

    fn resource(src: &Path, kind: &str) -> LocalResource {
        LocalResource {
            uri: format!("file://{}", src.display()),
            kind: kind.into(),
            size: std::fs::metadata(src).unwrap().len() as i64,
            timestamp: mtime_ms(src).unwrap(),
        }
    }

    #[test]
    fn a_zip_archive_is_unpacked_into_a_folder_named_after_its_key() {
        use std::io::Write;
        let d = tempdir("zip");
        // As Spark's __spark_conf__.zip: files and a nested folder, deflated and stored.
        let src = d.join("__spark_conf__.zip");
        let mut w = zip::ZipWriter::new(std::fs::File::create(&src).unwrap());
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file("__spark_conf__.properties", deflated).unwrap();
        w.write_all(b"spark.app.name=pi\n").unwrap();
        w.add_directory("__hadoop_conf__/", stored).unwrap();
        w.start_file("__hadoop_conf__/yarn-site.xml", stored)
            .unwrap();
        w.write_all(b"<configuration/>").unwrap();
        w.finish().unwrap();
        localize(
            "__spark_conf__",
            &resource(&src, "ARCHIVE"),
            None,
            &d.join("cache"),
            &d.join("work"),
        )
        .unwrap();
        assert_eq!(
            std::fs::read(d.join("work/__spark_conf__/__spark_conf__.properties")).unwrap(),
            b"spark.app.name=pi\n"
        );
        assert_eq!(
            std::fs::read(d.join("work/__spark_conf__/__hadoop_conf__/yarn-site.xml")).unwrap(),
            b"<configuration/>"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_tar_gz_archive_is_unpacked() {
        let d = tempdir("targz");
        let src = d.join("venv.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&src).unwrap(),
            flate2::Compression::fast(),
        );
        let mut b = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o755);
        h.set_cksum();
        b.append_data(&mut h, "bin/run.sh", &b"hello"[..]).unwrap();
        b.into_inner().unwrap().finish().unwrap();
        localize(
            "env",
            &resource(&src, "ARCHIVE"),
            None,
            &d.join("cache"),
            &d.join("work"),
        )
        .unwrap();
        assert_eq!(
            std::fs::read(d.join("work/env/bin/run.sh")).unwrap(),
            b"hello"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_zip_entry_escaping_the_folder_is_refused() {
        use std::io::Write;
        let d = tempdir("zipslip");
        let src = d.join("evil.zip");
        let mut w = zip::ZipWriter::new(std::fs::File::create(&src).unwrap());
        w.start_file("../outside.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"x").unwrap();
        w.finish().unwrap();
        let r = localize(
            "evil",
            &resource(&src, "ARCHIVE"),
            None,
            &d.join("cache"),
            &d.join("work"),
        );
        assert!(r.is_err(), "{r:?}");
        assert!(!d.join("cache/outside.txt").exists());
        assert!(!d.join("cache/0/outside.txt").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn keys_may_name_subfolders_but_not_leave_the_work_dir() {
        let d = tempdir("subfolders");
        // Flink's keys: lib/<jar> and plugins/<plugin>/<jar>; two sources share a file name.
        std::fs::create_dir_all(d.join("staging/a")).unwrap();
        std::fs::create_dir_all(d.join("staging/b")).unwrap();
        std::fs::write(d.join("staging/a/x.jar"), b"a").unwrap();
        std::fs::write(d.join("staging/b/x.jar"), b"b").unwrap();
        let (cache, work) = (d.join("cache"), d.join("work"));
        let a = resource(&d.join("staging/a/x.jar"), "FILE");
        let b = resource(&d.join("staging/b/x.jar"), "FILE");
        localize("lib/x.jar", &a, None, &cache, &work).unwrap();
        localize("plugins/metrics/x.jar", &b, None, &cache, &work).unwrap();
        assert_eq!(std::fs::read(work.join("lib/x.jar")).unwrap(), b"a");
        assert_eq!(
            std::fs::read(work.join("plugins/metrics/x.jar")).unwrap(),
            b"b"
        );
        for bad in [
            "../x.jar",
            "/etc/x.jar",
            "lib/../../x.jar",
            "lib//x.jar",
            "",
        ] {
            let e = localize(bad, &a, None, &cache, &work).unwrap_err();
            assert!(e.0.contains("invalid local resource name"), "{bad}: {e}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn webhdfs_uris_map_to_the_clusters_folder() {
        let root = HdfsRoot {
            authority: "127.0.0.1:9000".into(),
            dir: PathBuf::from("/data/hdfs"),
        };
        assert_eq!(
            source_path("webhdfs://127.0.0.1:9870/user/a/x.jar", Some(&root)).unwrap(),
            PathBuf::from("/data/hdfs/user/a/x.jar")
        );
        assert!(source_path("webhdfs://127.0.0.1:9870/../x", Some(&root)).is_err());
    }
}
