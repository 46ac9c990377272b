//! The mini cluster's file system: a WebHDFS subset backed by a local folder.
//!
//! Clients stage files the way they would on a real cluster (MKDIRS, the two-step CREATE, then
//! GETFILESTATUS for the size and modification time a local resource must carry), and NodeManagers
//! localize `hdfs://` resources from the same folder. Served: MKDIRS, CREATE (307 to a `data=true`
//! URL on the same server, or `{"Location":...}` with `noredirect=true`), OPEN (also redirected),
//! GETFILESTATUS, LISTSTATUS, DELETE, GETHOMEDIRECTORY. Errors are WebHDFS `RemoteException` JSON.

use std::collections::HashMap;
use std::path::{Component, Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::localize::mtime_ms;

/// What the WebHDFS server needs to know.
#[derive(Clone, Debug)]
pub struct HdfsState {
    /// The folder holding the file system's root.
    pub root: PathBuf,
    /// `host:port` of this HTTP server (for redirects).
    pub http_address: String,
    /// `host:port` of the `hdfs://` URI (fs.defaultFS).
    pub fs_authority: String,
}

fn error(status: StatusCode, exception: &str, java: &str, message: String) -> Response {
    (
        status,
        Json(json!({"RemoteException": {"exception": exception, "javaClassName": java, "message": message}})),
    )
        .into_response()
}

fn not_found(path: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "FileNotFoundException",
        "java.io.FileNotFoundException",
        format!("File does not exist: {path}"),
    )
}

fn bad(message: String) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "IllegalArgumentException",
        "java.lang.IllegalArgumentException",
        message,
    )
}

fn io_error(e: std::io::Error) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "IOException",
        "java.io.IOException",
        e.to_string(),
    )
}

/// The largest file one CREATE may carry (staged binaries and jars are tens of MB; axum's default is
/// 2 MB).
const MAX_CREATE_BYTES: usize = 1 << 30;

/// The WebHDFS routes.
pub fn router(state: Arc<HdfsState>) -> axum::Router {
    axum::Router::new()
        .route("/webhdfs/v1", axum::routing::any(root_op))
        .route("/webhdfs/v1/", axum::routing::any(root_op))
        .route("/webhdfs/v1/{*path}", axum::routing::any(op))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_CREATE_BYTES))
        .with_state(state)
}

async fn root_op(
    st: State<Arc<HdfsState>>,
    method: Method,
    q: Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    blocking(st, method, String::new(), q, body).await
}

async fn op(
    st: State<Arc<HdfsState>>,
    method: Method,
    Path(path): Path<String>,
    q: Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    blocking(st, method, path, q, body).await
}

/// File-system work (a CREATE may write up to [`MAX_CREATE_BYTES`]) runs on the blocking pool,
/// not on the threads that serve the cluster's RPC and REST.
async fn blocking(
    st: State<Arc<HdfsState>>,
    method: Method,
    path: String,
    q: Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    tokio::task::spawn_blocking(move || handle(st, method, path, q, body))
        .await
        .unwrap_or_else(|e| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "IOException",
                "java.io.IOException",
                format!("the file operation failed: {e}"),
            )
        })
}

fn local(root: &FsPath, path: &str) -> Option<PathBuf> {
    let rel = PathBuf::from(path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(root.join(rel))
}

fn status_json(p: &FsPath, suffix: &str, user: &str) -> std::io::Result<serde_json::Value> {
    let m = std::fs::metadata(p)?;
    use std::os::unix::fs::PermissionsExt;
    let dir = m.is_dir();
    Ok(json!({
        "accessTime": if dir { 0 } else { mtime_ms(p)? },
        "blockSize": if dir { 0 } else { 134217728 },
        "childrenNum": if dir { std::fs::read_dir(p)?.count() } else { 0 },
        "fileId": 16386,
        "group": "supergroup",
        "length": if dir { 0 } else { m.len() },
        "modificationTime": mtime_ms(p)?,
        "owner": user,
        "pathSuffix": suffix,
        "permission": format!("{:o}", m.permissions().mode() & 0o777),
        "replication": if dir { 0 } else { 1 },
        "storagePolicy": 0,
        "type": if dir { "DIRECTORY" } else { "FILE" },
    }))
}

fn handle(
    State(st): State<Arc<HdfsState>>,
    method: Method,
    path: String,
    Query(q): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    let hdfs_path = format!("/{}", path.trim_start_matches('/'));
    let Some(file) = local(&st.root, &hdfs_path) else {
        return bad(format!(
            "Invalid path {hdfs_path}: '.' and '..' are not allowed"
        ));
    };
    let op = q
        .get("op")
        .map(|s| s.to_ascii_uppercase())
        .unwrap_or_default();
    let user = q
        .get("user.name")
        .cloned()
        .unwrap_or_else(|| "dr.who".into());
    let data = q.get("data").is_some_and(|d| d == "true");
    let redirect = |st: &HdfsState| {
        let mut params: Vec<String> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "noredirect")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        params.sort();
        params.push("data=true".into());
        format!(
            "http://{}/webhdfs/v1{}?{}",
            st.http_address,
            hdfs_path,
            params.join("&")
        )
    };
    let redirect_response = |location: String| {
        if q.get("noredirect").is_some_and(|v| v == "true") {
            return Json(json!({ "Location": location })).into_response();
        }
        let mut r = StatusCode::TEMPORARY_REDIRECT.into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r
    };
    match (method.as_str(), op.as_str()) {
        ("PUT", "MKDIRS") => match std::fs::create_dir_all(&file) {
            Ok(()) => Json(json!({"boolean": true})).into_response(),
            Err(e) => io_error(e),
        },
        ("PUT", "CREATE") if !data => {
            let overwrite = q.get("overwrite").is_none_or(|v| v != "false");
            if !overwrite && file.exists() {
                return error(
                    StatusCode::FORBIDDEN,
                    "FileAlreadyExistsException",
                    "org.apache.hadoop.fs.FileAlreadyExistsException",
                    format!("{hdfs_path} for client 127.0.0.1 already exists"),
                );
            }
            redirect_response(redirect(&st))
        }
        ("PUT", "CREATE") => {
            if let Some(parent) = file.parent()
                && let Err(e) = std::fs::create_dir_all(parent)
            {
                return io_error(e);
            }
            if let Err(e) = std::fs::write(&file, &body) {
                return io_error(e);
            }
            if let Some(p) = q
                .get("permission")
                .and_then(|p| u32::from_str_radix(p, 8).ok())
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(p));
            }
            let mut r = StatusCode::CREATED.into_response();
            if let Ok(v) =
                HeaderValue::from_str(&format!("hdfs://{}{}", st.fs_authority, hdfs_path))
            {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        ("GET", "OPEN") if !data => {
            if !file.is_file() {
                return not_found(&hdfs_path);
            }
            redirect_response(redirect(&st))
        }
        ("GET", "OPEN") => {
            let Ok(bytes) = std::fs::read(&file) else {
                return not_found(&hdfs_path);
            };
            let offset = q
                .get("offset")
                .and_then(|o| o.parse::<usize>().ok())
                .unwrap_or(0)
                .min(bytes.len());
            let end = q
                .get("length")
                .and_then(|l| l.parse::<usize>().ok())
                .map_or(bytes.len(), |l| (offset + l).min(bytes.len()));
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            (headers, bytes[offset..end].to_vec()).into_response()
        }
        ("GET", "GETFILESTATUS") => match status_json(&file, "", &user) {
            Ok(s) => Json(json!({ "FileStatus": s })).into_response(),
            Err(_) => not_found(&hdfs_path),
        },
        ("GET", "LISTSTATUS") => {
            if file.is_file() {
                return match status_json(&file, "", &user) {
                    Ok(s) => Json(json!({"FileStatuses": {"FileStatus": [s]}})).into_response(),
                    Err(e) => io_error(e),
                };
            }
            let Ok(dir) = std::fs::read_dir(&file) else {
                return not_found(&hdfs_path);
            };
            let mut names: Vec<String> = dir
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            let list: Vec<serde_json::Value> = names
                .iter()
                .filter_map(|n| status_json(&file.join(n), n, &user).ok())
                .collect();
            Json(json!({"FileStatuses": {"FileStatus": list}})).into_response()
        }
        ("GET", "GETHOMEDIRECTORY") => {
            Json(json!({ "Path": format!("/user/{user}") })).into_response()
        }
        ("DELETE", "DELETE") => {
            let recursive = q.get("recursive").is_some_and(|r| r == "true");
            let result = if file.is_dir() {
                if recursive {
                    std::fs::remove_dir_all(&file)
                } else {
                    std::fs::remove_dir(&file)
                }
            } else if file.exists() {
                std::fs::remove_file(&file)
            } else {
                return Json(json!({"boolean": false})).into_response();
            };
            match result {
                Ok(()) => Json(json!({"boolean": true})).into_response(),
                Err(e) if file.is_dir() && !recursive => error(
                    StatusCode::FORBIDDEN,
                    "PathIsNotEmptyDirectoryException",
                    "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException",
                    format!("`{hdfs_path} is non empty': Directory is not empty ({e})"),
                ),
                Err(e) => io_error(e),
            }
        }
        // What Hadoop's FileSystem clients call while staging (copyFromLocalFile, Spark's
        // setReplication and setPermission, a rename into place).
        ("PUT", "SETREPLICATION") => Json(json!({"boolean": file.is_file()})).into_response(),
        ("PUT", "SETPERMISSION") => {
            use std::os::unix::fs::PermissionsExt;
            let Some(mode) = q
                .get("permission")
                .and_then(|p| u32::from_str_radix(p, 8).ok())
                .filter(|m| *m <= 0o7777)
            else {
                return bad("SETPERMISSION needs an octal permission".into());
            };
            match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)) {
                Ok(()) => StatusCode::OK.into_response(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => not_found(&hdfs_path),
                Err(e) => io_error(e),
            }
        }
        ("PUT", "SETOWNER") | ("PUT", "SETTIMES") => {
            if file.exists() {
                StatusCode::OK.into_response()
            } else {
                not_found(&hdfs_path)
            }
        }
        ("PUT", "RENAME") => {
            let Some(to) = q
                .get("destination")
                .and_then(|d| local(&st.root, &format!("/{}", d.trim_start_matches('/'))))
            else {
                return bad("RENAME needs a destination without '.' or '..'".into());
            };
            // HDFS's rename answers false (not an error) when the source is missing or the
            // destination exists; into an existing folder, the source keeps its name.
            let to = if to.is_dir() {
                match file.file_name() {
                    Some(n) => to.join(n),
                    None => return Json(json!({"boolean": false})).into_response(),
                }
            } else {
                to
            };
            let ok = file.exists()
                && !to.exists()
                && to.parent().is_some_and(|p| p.is_dir())
                && std::fs::rename(&file, &to).is_ok();
            Json(json!({"boolean": ok})).into_response()
        }
        (_, "") => bad(
            "op is required: ?op=MKDIRS|CREATE|OPEN|GETFILESTATUS|LISTSTATUS|DELETE|RENAME|\
             SETREPLICATION|SETPERMISSION"
                .into(),
        ),
        (m, o) => error(
            StatusCode::BAD_REQUEST,
            "UnsupportedOperationException",
            "java.lang.UnsupportedOperationException",
            format!("{m} op={o} is not supported by the mini cluster's WebHDFS"),
        ),
    }
}
