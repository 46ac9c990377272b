//! A WebHDFS client (`/webhdfs/v1`), for staging an application's files where NodeManagers can fetch
//! them.
//!
//! Submitting to YARN means putting the binary and configuration in HDFS first: YARN's localizer
//! downloads each `LocalResource` and checks its exact size and modification time. WebHDFS lets us do
//! that over plain HTTP with simple auth (`user.name`). Writes and reads are two steps: the NameNode
//! answers `307 Temporary Redirect` naming a DataNode, and the data goes to (or comes from) that
//! DataNode. Redirects are followed by hand so that a `PUT` body is never sent to the NameNode and
//! every step's error is reported as what it is. With NameNode HA the client is given every
//! NameNode's web address and uses whichever is active.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::rest::types::LocalResourceInfo;
use crate::rest::{body_excerpt, error_chain, remote_exception};

/// Default time allowed to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed for a whole request (uploads of large binaries take a while).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// An error from [`WebHdfsClient`].
#[derive(Debug, thiserror::Error)]
pub enum WebHdfsError {
    /// `FileNotFoundException`.
    #[error("{op} {path}: no such file or directory in HDFS ({message})")]
    NotFound {
        /// The WebHDFS operation (`GETFILESTATUS`, `OPEN`...).
        op: &'static str,
        /// The HDFS path.
        path: String,
        /// The NameNode's message.
        message: String,
    },
    /// `FileAlreadyExistsException` (a CREATE without overwrite).
    #[error(
        "{op} {path}: the file already exists in HDFS ({message}); overwrite it or choose another path"
    )]
    AlreadyExists {
        /// The WebHDFS operation.
        op: &'static str,
        /// The HDFS path.
        path: String,
        /// The NameNode's message.
        message: String,
    },
    /// `AccessControlException` or `SecurityException`.
    #[error("{op} {path}: permission denied as {who} ({message})")]
    AccessDenied {
        /// The WebHDFS operation.
        op: &'static str,
        /// The HDFS path.
        path: String,
        /// Who we were: `user alice`, or the NameNode's static web user when no user was given.
        who: String,
        /// The NameNode's message.
        message: String,
    },
    /// Any other error answer from the NameNode or a DataNode.
    #[error(
        "{op} {path} failed: {}{message} (HTTP {status})",
        if exception.is_empty() { String::new() } else { format!("{exception}: ") }
    )]
    Remote {
        /// The WebHDFS operation.
        op: &'static str,
        /// The HDFS path.
        path: String,
        /// HTTP status.
        status: StatusCode,
        /// Exception simple class name, empty when the body was not a `RemoteException`.
        exception: String,
        /// Fully qualified exception class name.
        java_class_name: String,
        /// The message, or the start of the body.
        message: String,
    },
    /// The NameNode (or the DataNode it redirected to) could not be connected to.
    #[error(
        "{op} {path}: could not connect to {url} ({reason}); is the NameNode running there? check \
         dfs.namenode.http-address (WebHDFS listens on port 9870 by default; 50070 before Hadoop 3) \
         and that dfs.webhdfs.enabled is true"
    )]
    Unreachable {
        /// The WebHDFS operation.
        op: &'static str,
        /// The HDFS path.
        path: String,
        /// The URL that could not be reached.
        url: String,
        /// The connection error.
        reason: String,
    },
    /// The DataNode the NameNode redirected to could not be connected to.
    #[error(
        "{op} {path}: could not connect to the DataNode at {url} that the NameNode redirected to \
         ({reason}); DataNodes must be reachable from this machine under the host name the NameNode \
         knows them by (dfs.datanode.http.address, port 9864 by default)"
    )]
    DataNodeUnreachable {
        /// The WebHDFS operation.
        op: &'static str,
        /// The HDFS path.
        path: String,
        /// The DataNode URL that could not be reached.
        url: String,
        /// The connection error.
        reason: String,
    },
    /// A request failed after connecting (timeout, reset...).
    #[error("{op} {path} at {url} failed: {reason}")]
    Transport {
        /// The WebHDFS operation.
        op: &'static str,
        /// The HDFS path.
        path: String,
        /// The URL asked.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// The answer was not what WebHDFS writes.
    #[error("{op} {path}: unexpected answer from {url}: {reason}")]
    Unexpected {
        /// The WebHDFS operation.
        op: &'static str,
        /// The HDFS path.
        path: String,
        /// The URL asked.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The caller's address or path is not usable.
    #[error("{0}")]
    Invalid(String),
    /// Reading the local file to upload failed.
    #[error("cannot read {path}: {source}")]
    LocalFile {
        /// The local path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// `{"FileStatus":{...}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileStatusResponse {
    /// The status.
    #[serde(rename = "FileStatus")]
    pub file_status: FileStatus,
}

/// `{"FileStatuses":{"FileStatus":[...]}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileStatusesResponse {
    /// The statuses.
    #[serde(rename = "FileStatuses")]
    pub file_statuses: FileStatuses,
}

/// `{"FileStatus":[...]}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileStatuses {
    /// One per directory entry.
    #[serde(
        rename = "FileStatus",
        default,
        deserialize_with = "crate::rest::jaxb::one_or_many"
    )]
    pub file_status: Vec<FileStatus>,
}

/// What a file or directory is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FileType {
    /// A regular file.
    #[default]
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
}

/// A file's status, as WebHDFS reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FileStatus {
    /// Last access, ms since the epoch.
    #[serde(deserialize_with = "crate::rest::jaxb::num")]
    pub access_time: i64,
    /// Block size, bytes (0 for directories).
    #[serde(deserialize_with = "crate::rest::jaxb::num")]
    pub block_size: i64,
    /// Entries in a directory.
    #[serde(deserialize_with = "crate::rest::jaxb::num")]
    pub children_num: i32,
    /// Inode id.
    #[serde(deserialize_with = "crate::rest::jaxb::num")]
    pub file_id: i64,
    /// Group.
    #[serde(deserialize_with = "crate::rest::jaxb::string")]
    pub group: String,
    /// Length, bytes.
    #[serde(deserialize_with = "crate::rest::jaxb::num")]
    pub length: i64,
    /// Modification time, ms since the epoch: what a LocalResource's timestamp must equal.
    #[serde(deserialize_with = "crate::rest::jaxb::num")]
    pub modification_time: i64,
    /// Owner.
    #[serde(deserialize_with = "crate::rest::jaxb::string")]
    pub owner: String,
    /// The name within its directory (empty for GETFILESTATUS).
    #[serde(deserialize_with = "crate::rest::jaxb::string")]
    pub path_suffix: String,
    /// Permission, octal (`644`, `1777`).
    #[serde(deserialize_with = "crate::rest::jaxb::string")]
    pub permission: String,
    /// Replication (0 for directories).
    #[serde(deserialize_with = "crate::rest::jaxb::num")]
    pub replication: i32,
    /// FILE, DIRECTORY or SYMLINK.
    #[serde(rename = "type")]
    pub kind: FileType,
    /// Link target of a symlink.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symlink: Option<String>,
}

impl FileStatus {
    /// The permission bits, parsed from the octal string.
    pub fn permission_bits(&self) -> Option<u32> {
        u32::from_str_radix(&self.permission, 8).ok()
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == FileType::Directory
    }
}

/// `{"boolean":true}`.
#[derive(Deserialize)]
struct BooleanResponse {
    #[serde(rename = "boolean")]
    value: bool,
}

/// `{"Location":"..."}`: CREATE's first step with `noredirect=true` (and some gateways).
#[derive(Deserialize)]
struct LocationResponse {
    #[serde(rename = "Location")]
    location: String,
}

/// Options of [`WebHdfsClient::create`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CreateOptions {
    /// Replace an existing file (otherwise its existence is an error).
    pub overwrite: bool,
    /// Permission bits (e.g. `0o644`); the NameNode's default (644) when `None`.
    pub permission: Option<u32>,
    /// Replication; the cluster default when `None`.
    pub replication: Option<u16>,
    /// Block size in bytes; the cluster default when `None`.
    pub block_size: Option<u64>,
}

/// A file uploaded to HDFS, described as a YARN `LocalResource` needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedFile {
    /// The URI the NodeManagers fetch, e.g. `hdfs://nn:8020/user/alice/.spindle/app/spindle`.
    pub uri: String,
    /// Length, bytes.
    pub size: i64,
    /// Modification time, ms.
    pub timestamp: i64,
}

impl UploadedFile {
    /// The `local-resources` entry value for this file: `kind` FILE/ARCHIVE/PATTERN, `visibility`
    /// PUBLIC/PRIVATE/APPLICATION.
    pub fn local_resource(&self, kind: &str, visibility: &str) -> LocalResourceInfo {
        LocalResourceInfo {
            resource: self.uri.clone(),
            kind: kind.to_owned(),
            visibility: visibility.to_owned(),
            size: self.size,
            timestamp: self.timestamp,
            pattern: None,
        }
    }
}

/// A WebHDFS client for one NameNode, or an HA pair (or more) of which one is active.
#[derive(Debug, Clone)]
pub struct WebHdfsClient {
    http: reqwest::Client,
    namenodes: Vec<Url>,
    /// Index in `namenodes` of the one that answered last; tried first next time.
    active: Arc<AtomicUsize>,
    user: Option<String>,
}

impl WebHdfsClient {
    /// A client for the NameNode's web address (`http://nn:9870`), acting as `user` with simple auth
    /// (the NameNode's static web user, usually `dr.who`, when `None`).
    pub fn new(url: &str, user: Option<&str>) -> Result<Self, WebHdfsError> {
        Self::with_timeouts(
            &[url],
            user,
            DEFAULT_CONNECT_TIMEOUT,
            DEFAULT_REQUEST_TIMEOUT,
        )
    }

    /// A client for HA NameNodes (`dfs.namenode.http-address.<ns>.<nn>` of each): requests go to the
    /// active one, moving on when a NameNode is unreachable or answers `StandbyException`.
    pub fn for_namenodes<S: AsRef<str>>(
        urls: &[S],
        user: Option<&str>,
    ) -> Result<Self, WebHdfsError> {
        Self::with_timeouts(urls, user, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT)
    }

    /// [`WebHdfsClient::for_namenodes`] with explicit connect and request timeouts.
    pub fn with_timeouts<S: AsRef<str>>(
        urls: &[S],
        user: Option<&str>,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Result<Self, WebHdfsError> {
        let namenodes = urls
            .iter()
            .map(|u| parse_base(u.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if namenodes.is_empty() {
            return Err(WebHdfsError::Invalid(
                "no NameNode web address given; expected e.g. http://namenode:9870".to_owned(),
            ));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .build()
            .map_err(|e| WebHdfsError::Invalid(format!("cannot build an HTTP client: {e}")))?;
        Ok(WebHdfsClient {
            http,
            namenodes,
            active: Arc::new(AtomicUsize::new(0)),
            user: user.map(str::to_owned),
        })
    }

    /// The web address of the NameNode that answered last (the active one, with HA).
    pub fn url(&self) -> &Url {
        &self.namenodes[self.active.load(Ordering::Relaxed) % self.namenodes.len()]
    }

    /// `MKDIRS`: creates the directory and its parents; `permission` defaults to 755.
    pub async fn mkdirs(&self, path: &str, permission: Option<u32>) -> Result<bool, WebHdfsError> {
        let mut params = Vec::new();
        if let Some(p) = permission {
            params.push(("permission", format!("{p:o}")));
        }
        let answer = self.call(Method::PUT, "MKDIRS", path, &params).await?;
        answer.expect(StatusCode::OK)?;
        Ok(answer.json::<BooleanResponse>()?.value)
    }

    /// `CREATE`: writes `data` as the file at `path`, in WebHDFS's two steps (the NameNode redirects
    /// to a DataNode, which takes the bytes).
    pub async fn create(
        &self,
        path: &str,
        data: impl Into<Bytes>,
        options: &CreateOptions,
    ) -> Result<(), WebHdfsError> {
        let mut params = vec![("overwrite", options.overwrite.to_string())];
        if let Some(p) = options.permission {
            params.push(("permission", format!("{p:o}")));
        }
        if let Some(r) = options.replication {
            params.push(("replication", r.to_string()));
        }
        if let Some(b) = options.block_size {
            params.push(("blocksize", b.to_string()));
        }
        let first = self.call(Method::PUT, "CREATE", path, &params).await?;
        let datanode = self.with_user(first.redirect_target()?);
        let second = self
            .send(Method::PUT, "CREATE", path, datanode, Some(data.into()))
            .await?;
        // 201 Created from a DataNode; some gateways answer 200.
        if second.status == StatusCode::OK {
            return Ok(());
        }
        second.expect(StatusCode::CREATED)
    }

    /// `GETFILESTATUS`.
    pub async fn file_status(&self, path: &str) -> Result<FileStatus, WebHdfsError> {
        let answer = self.call(Method::GET, "GETFILESTATUS", path, &[]).await?;
        answer.expect(StatusCode::OK)?;
        Ok(answer.json::<FileStatusResponse>()?.file_status)
    }

    /// `LISTSTATUS`: the entries of a directory (or the file itself).
    pub async fn list_status(&self, path: &str) -> Result<Vec<FileStatus>, WebHdfsError> {
        let answer = self.call(Method::GET, "LISTSTATUS", path, &[]).await?;
        answer.expect(StatusCode::OK)?;
        Ok(answer
            .json::<FileStatusesResponse>()?
            .file_statuses
            .file_status)
    }

    /// `OPEN`: reads the whole file, following the NameNode's redirect to a DataNode.
    pub async fn open(&self, path: &str) -> Result<Bytes, WebHdfsError> {
        let first = self.call(Method::GET, "OPEN", path, &[]).await?;
        if first.status == StatusCode::OK {
            return Ok(first.body);
        }
        let datanode = self.with_user(first.redirect_target()?);
        let second = self.send(Method::GET, "OPEN", path, datanode, None).await?;
        second.expect(StatusCode::OK)?;
        Ok(second.body)
    }

    /// `DELETE`: whether something was deleted (false when `path` did not exist).
    pub async fn delete(&self, path: &str, recursive: bool) -> Result<bool, WebHdfsError> {
        let params = [("recursive", recursive.to_string())];
        let answer = self.call(Method::DELETE, "DELETE", path, &params).await?;
        answer.expect(StatusCode::OK)?;
        Ok(answer.json::<BooleanResponse>()?.value)
    }

    /// Uploads the local file `local` to `remote` (an absolute HDFS path) and returns what a YARN
    /// `LocalResource` needs: the URI under `default_fs` (the cluster's `fs.defaultFS`, e.g.
    /// `hdfs://nn:8020`; `webhdfs://<this NameNode>` when `None`), and the size and timestamp the
    /// NameNode recorded.
    pub async fn upload_local_resource(
        &self,
        local: &Path,
        remote: &str,
        default_fs: Option<&str>,
        options: &CreateOptions,
    ) -> Result<UploadedFile, WebHdfsError> {
        let data = tokio::fs::read(local)
            .await
            .map_err(|source| WebHdfsError::LocalFile {
                path: local.display().to_string(),
                source,
            })?;
        // Check the URI before uploading; without fs.defaultFS it names the NameNode that took the file.
        let mut uri = resource_uri(default_fs, self.url(), remote)?;
        self.create(remote, data, options).await?;
        let status = self.file_status(remote).await?;
        if default_fs.is_none() {
            uri = resource_uri(None, self.url(), remote)?;
        }
        Ok(UploadedFile {
            uri,
            size: status.length,
            timestamp: status.modification_time,
        })
    }

    /// Sends `op` on `path` to the active NameNode, moving on to the next one when a NameNode is
    /// unreachable or standby.
    async fn call(
        &self,
        method: Method,
        op: &'static str,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<Answer, WebHdfsError> {
        check_path(path)?;
        let first = self.active.load(Ordering::Relaxed);
        let mut last_error = None;
        for i in 0..self.namenodes.len() {
            let index = (first + i) % self.namenodes.len();
            let url = self.op_url(&self.namenodes[index], op, path, params);
            match self.send(method.clone(), op, path, url, None).await {
                Err(e @ WebHdfsError::Unreachable { .. }) => last_error = Some(e),
                Ok(answer) if answer.is_standby() => {
                    tracing::debug!(url = %self.namenodes[index], "NameNode is standby, trying the next");
                    last_error = Some(answer.error());
                }
                Ok(answer) => {
                    self.active.store(index, Ordering::Relaxed);
                    return Ok(answer);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.expect("there is at least one NameNode"))
    }

    async fn send(
        &self,
        method: Method,
        op: &'static str,
        path: &str,
        url: Url,
        body: Option<Bytes>,
    ) -> Result<Answer, WebHdfsError> {
        let mut req = self.http.request(method, url.clone());
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(body);
        }
        let resp = req.send().await.map_err(|e| {
            let connect = e.is_connect();
            let reason = error_chain(&e.without_url());
            if connect && !self.namenodes.iter().any(|n| n.origin() == url.origin()) {
                WebHdfsError::DataNodeUnreachable {
                    op,
                    path: path.to_owned(),
                    url: without_query(&url),
                    reason,
                }
            } else if connect {
                WebHdfsError::Unreachable {
                    op,
                    path: path.to_owned(),
                    url: without_query(&url),
                    reason,
                }
            } else {
                WebHdfsError::Transport {
                    op,
                    path: path.to_owned(),
                    url: without_query(&url),
                    reason,
                }
            }
        })?;
        let status = resp.status();
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let body = resp.bytes().await.map_err(|e| WebHdfsError::Transport {
            op,
            path: path.to_owned(),
            url: without_query(&url),
            reason: error_chain(&e.without_url()),
        })?;
        Ok(Answer {
            op,
            path: path.to_owned(),
            url,
            who: self.who(),
            status,
            location,
            body,
        })
    }

    fn op_url(&self, namenode: &Url, op: &str, path: &str, params: &[(&str, String)]) -> Url {
        let mut url = namenode.clone();
        url.path_segments_mut()
            .expect("a base URL is always http(s)")
            .pop_if_empty()
            .extend(["webhdfs", "v1"])
            .extend(path.split('/').filter(|s| !s.is_empty()));
        if path == "/" {
            url.path_segments_mut().expect("http(s)").push("");
        }
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("op", op);
            for (k, v) in params {
                pairs.append_pair(k, v);
            }
            if let Some(user) = &self.user {
                pairs.append_pair("user.name", user);
            }
        }
        url
    }

    /// The DataNode URL, with our `user.name` if the redirect left it out (a NameNode includes it; a
    /// gateway may not).
    fn with_user(&self, mut url: Url) -> Url {
        if let Some(user) = &self.user {
            if !url.query_pairs().any(|(k, _)| k == "user.name") {
                url.query_pairs_mut().append_pair("user.name", user);
            }
        }
        url
    }

    fn who(&self) -> String {
        match &self.user {
            Some(user) => format!("user {user}"),
            None => "the NameNode's static web user (no user.name given)".to_owned(),
        }
    }
}

/// One answer from a NameNode or DataNode.
struct Answer {
    op: &'static str,
    path: String,
    url: Url,
    who: String,
    status: StatusCode,
    location: Option<String>,
    body: Bytes,
}

impl Answer {
    fn expect(&self, ok: StatusCode) -> Result<(), WebHdfsError> {
        if self.status == ok {
            Ok(())
        } else if self.status.is_success() || self.status.is_redirection() {
            Err(self.unexpected(format!("HTTP {} where {ok} was expected", self.status)))
        } else {
            Err(self.error())
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, WebHdfsError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            self.unexpected(format!("{e}; the body was: {}", body_excerpt(&self.body)))
        })
    }

    /// Where the NameNode sends us: a `Location` header with 307 (or any redirect), or
    /// `{"Location":...}` with 200.
    fn redirect_target(&self) -> Result<Url, WebHdfsError> {
        let location = if self.status.is_redirection() {
            self.location.clone().ok_or_else(|| {
                self.unexpected(format!("HTTP {} without a Location", self.status))
            })?
        } else if self.status == StatusCode::OK {
            self.json::<LocationResponse>()?.location
        } else {
            return Err(self.error());
        };
        self.url.join(&location).map_err(|e| {
            self.unexpected(format!("redirect to an invalid location {location:?}: {e}"))
        })
    }

    /// Whether a NameNode answered that it is standby (`StandbyException`, HTTP 403).
    fn is_standby(&self) -> bool {
        !self.status.is_success()
            && remote_exception(&self.body).is_some_and(|e| e.exception == "StandbyException")
    }

    fn error(&self) -> WebHdfsError {
        let op = self.op;
        let path = self.path.clone();
        let Some(remote) = remote_exception(&self.body) else {
            return WebHdfsError::Remote {
                op,
                path,
                status: self.status,
                exception: String::new(),
                java_class_name: String::new(),
                message: body_excerpt(&self.body),
            };
        };
        let message = remote.message;
        match remote.exception.as_str() {
            "FileNotFoundException" => WebHdfsError::NotFound { op, path, message },
            "FileAlreadyExistsException" => WebHdfsError::AlreadyExists { op, path, message },
            "AccessControlException" | "SecurityException" => WebHdfsError::AccessDenied {
                op,
                path,
                who: self.who.clone(),
                message,
            },
            _ => WebHdfsError::Remote {
                op,
                path,
                status: self.status,
                exception: remote.exception,
                java_class_name: remote.java_class_name,
                message,
            },
        }
    }

    fn unexpected(&self, reason: String) -> WebHdfsError {
        WebHdfsError::Unexpected {
            op: self.op,
            path: self.path.clone(),
            url: without_query(&self.url),
            reason,
        }
    }
}

/// The URI a NodeManager uses to fetch `path`: under `default_fs` when given, else WebHDFS on `base`.
fn resource_uri(default_fs: Option<&str>, base: &Url, path: &str) -> Result<String, WebHdfsError> {
    check_path(path)?;
    match default_fs.map(str::trim).filter(|fs| !fs.is_empty()) {
        Some(fs) => {
            let parsed = Url::parse(fs).map_err(|e| {
                WebHdfsError::Invalid(format!(
                    "fs.defaultFS {fs:?} is not a URI ({e}); expected e.g. hdfs://namenode:8020"
                ))
            })?;
            if parsed.scheme() == "file" {
                return Err(WebHdfsError::Invalid(format!(
                    "fs.defaultFS is {fs:?}, a local file system: NodeManagers cannot fetch files \
                     uploaded to HDFS through it; set fs.defaultFS to the cluster's hdfs:// URI"
                )));
            }
            Ok(format!("{}{path}", fs.trim_end_matches('/')))
        }
        None => {
            let host = base.host_str().unwrap_or("localhost");
            let port = base.port_or_known_default().unwrap_or(9870);
            Ok(format!("webhdfs://{host}:{port}{path}"))
        }
    }
}

/// Checks that `path` is an absolute HDFS path without `.` or `..` components (HDFS rejects those).
fn check_path(path: &str) -> Result<(), WebHdfsError> {
    if !path.starts_with('/') {
        return Err(WebHdfsError::Invalid(format!(
            "HDFS path {path:?} is not absolute; WebHDFS needs a path starting with /"
        )));
    }
    if path.split('/').any(|c| c == "." || c == "..") {
        return Err(WebHdfsError::Invalid(format!(
            "HDFS path {path:?} has a . or .. component, which HDFS does not allow"
        )));
    }
    Ok(())
}

/// A URL without its query (which holds `user.name` and, with security, tokens).
fn without_query(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

fn parse_base(raw: &str) -> Result<Url, WebHdfsError> {
    let invalid = |reason: String| {
        WebHdfsError::Invalid(format!(
            "invalid NameNode web address {raw:?}: {reason}; expected e.g. http://namenode:9870"
        ))
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(invalid("it is empty".to_owned()));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("http://{trimmed}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            "only http:// and https:// are supported".to_owned(),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host".to_owned()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_uris_follow_fs_default_fs() {
        let base = Url::parse("http://nn.example:9870").unwrap();
        assert_eq!(
            resource_uri(Some("hdfs://nn.example:8020/"), &base, "/user/a/x").unwrap(),
            "hdfs://nn.example:8020/user/a/x"
        );
        assert_eq!(
            resource_uri(None, &base, "/user/a/x").unwrap(),
            "webhdfs://nn.example:9870/user/a/x"
        );
        assert!(resource_uri(Some("file:///"), &base, "/x").is_err());
        assert!(resource_uri(Some("hdfs://nn:8020"), &base, "relative").is_err());
        assert!(resource_uri(Some("hdfs://nn:8020"), &base, "/a/../b").is_err());
    }
}
