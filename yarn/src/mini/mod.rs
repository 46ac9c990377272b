//! mini-yarn: an embedded one-machine YARN (a ResourceManager and NodeManagers on loopback) that
//! speaks YARN's own protocols, so that an ApplicationMaster that works here works on a real cluster
//! and one that misbehaves fails here as it would there.
//!
//! [`MiniYarn::start`] brings up, in this process:
//! - the ResourceManager actor ([`rm`]) with its scheduler ([`scheduler`]) and its two front doors
//!   for clients, the REST API with fault-injection endpoints ([`rest`]) and ApplicationClientProtocol
//!   over Hadoop RPC ([`client_rpc`]), plus the ApplicationMasterProtocol server ([`rpc`]);
//! - N NodeManager actors ([`nm`]), each with a ContainerManagementProtocol server, running containers
//!   as real processes ([`process`]) after localizing their resources ([`localize`]);
//! - a WebHDFS subset over a local folder ([`hdfs`]) that `hdfs://` resources are localized from;
//! - an optional journal of everything that happened ([`journal`]).
//!
//! [`MiniYarn::write_conf`] writes `core-site.xml`, `hdfs-site.xml` and `yarn-site.xml` so that any
//! Hadoop client can use the folder as `HADOOP_CONF_DIR`; [`run`] is the `spindle mini-yarn` command.
//!
//! In a test:
//!
//! ```no_run
//! # async fn demo() -> Result<(), yarn::mini::MiniError> {
//! use yarn::mini::{MiniYarn, MiniYarnConfig};
//! let mini = MiniYarn::start(MiniYarnConfig { nodes: 1, ..Default::default() }).await?;
//! let a = mini.addresses();
//! // a.rest_url (RM REST), a.scheduler (AM protocol), a.webhdfs, a.default_fs, a.conf_dir, a.nodes
//! # let _ = a;
//! mini.shutdown().await; // stops every container; dropping the cluster also kills them
//! # Ok(()) }
//! ```

pub mod client_rpc;
pub mod hdfs;
pub mod journal;
pub mod localize;
pub mod nm;
pub mod process;
pub mod rest;
pub mod rm;
pub mod rpc;
pub mod scheduler;
pub mod tokens;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinHandle;

use crate::ipc::{CallContext, Handler, HandlerFuture, RemoteException, Server};
use crate::records::NodeId;

use scheduler::{QueueConf, Res, Scheduler, SchedulerConf};

/// How to run the mini cluster. `Default` fits a laptop: 2 nodes × 8 GiB × 8 vcores, 100 ms
/// heartbeats, YARN's scheduler defaults.
#[derive(Clone, Debug)]
pub struct MiniYarnConfig {
    /// Where `core-site.xml` / `yarn-site.xml` go (`None`: `<work dir>/conf`).
    pub conf_dir: Option<PathBuf>,
    /// Where node dirs, container work and log dirs and the file system live (`None`: a fresh
    /// temporary folder, removed at shutdown).
    pub work_dir: Option<PathBuf>,
    /// Number of NodeManagers.
    pub nodes: usize,
    /// Memory of each node, MiB.
    pub node_memory_mb: i64,
    /// Vcores of each node.
    pub node_vcores: i32,
    /// `yarn.scheduler.minimum-allocation-mb`.
    pub min_allocation_mb: i64,
    /// `yarn.scheduler.maximum-allocation-mb`.
    pub max_allocation_mb: i64,
    /// `yarn.scheduler.minimum-allocation-vcores`.
    pub min_allocation_vcores: i32,
    /// `yarn.scheduler.maximum-allocation-vcores`.
    pub max_allocation_vcores: i32,
    /// NodeManager heartbeat interval, ms.
    pub nm_heartbeat_ms: u64,
    /// Unrequested containers given to every application once its asks are met.
    pub extra_containers: u32,
    /// JSON-lines journal file.
    pub journal: Option<PathBuf>,
    /// Queues (name, capacity percent); every one may grow to the whole cluster.
    pub queues: Vec<(String, f64)>,
    /// `yarn.scheduler.capacity.maximum-am-resource-percent`, as a fraction.
    pub max_am_fraction: f64,
    /// `yarn.resourcemanager.am.max-attempts`.
    pub max_attempts: u32,
    /// Whether containers are killed (−104) when their process tree exceeds their memory.
    pub pmem_check: bool,
    /// Delay between SIGTERM and SIGKILL when stopping a container, ms.
    pub sigkill_delay_ms: u64,
    /// An AM that does not call allocate for this long fails its attempt, ms.
    pub am_expiry_ms: u64,
    /// How long an unregistered AM may keep running, ms.
    pub am_finish_grace_ms: u64,
    /// `hadoop.rpc.protection` of the scheduler and NodeManager ports, in order of preference.
    pub rpc_protection: Vec<crate::sasl::Qop>,
    /// A folder with Hadoop's client jars (hadoop-client-api and -runtime): when set,
    /// `yarn.application.classpath` is `$HADOOP_CONF_DIR,<folder>/*`, so that JVM applications that
    /// rely on the cluster's Hadoop classpath (Flink's containers) find Hadoop's classes.
    pub hadoop_client_jars: Option<PathBuf>,
}

impl Default for MiniYarnConfig {
    fn default() -> Self {
        MiniYarnConfig {
            conf_dir: None,
            work_dir: None,
            nodes: 2,
            node_memory_mb: 8192,
            node_vcores: 8,
            min_allocation_mb: 1024,
            max_allocation_mb: 8192,
            min_allocation_vcores: 1,
            max_allocation_vcores: 4,
            nm_heartbeat_ms: 100,
            extra_containers: 0,
            journal: None,
            queues: vec![("default".into(), 100.0)],
            max_am_fraction: 0.1,
            max_attempts: 2,
            pmem_check: true,
            sigkill_delay_ms: 250,
            am_expiry_ms: 600_000,
            am_finish_grace_ms: 10_000,
            rpc_protection: vec![crate::sasl::Qop::Auth],
            hadoop_client_jars: None,
        }
    }
}

/// Why the mini cluster could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum MiniError {
    /// A configuration value makes no sense.
    #[error("invalid mini-yarn configuration: {0}")]
    Config(String),
    /// Binding a port, creating a folder, writing a file.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> MiniError {
    let what = what.into();
    move |source| MiniError::Io { what, source }
}

/// One NodeManager's addresses.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NodeAddress {
    /// Node id (`host:port` of its ContainerManagementProtocol server).
    pub id: String,
    /// Its web address (`host:port`).
    pub http: String,
}

/// Where the mini cluster listens (the JSON of the ready line).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MiniAddresses {
    /// `yarn.resourcemanager.address`: the ApplicationClientProtocol server (SIMPLE auth).
    pub resource_manager: String,
    /// `yarn.resourcemanager.scheduler.address`: the ApplicationMasterProtocol server.
    pub scheduler: String,
    /// `yarn.resourcemanager.webapp.address`.
    pub webapp: String,
    /// The RM REST base URL, `http://<webapp>/ws/v1/cluster`.
    pub rest_url: String,
    /// WebHDFS (`dfs.namenode.http-address`).
    pub webhdfs: String,
    /// `fs.defaultFS`.
    pub default_fs: String,
    /// The NodeManagers.
    pub nodes: Vec<NodeAddress>,
    /// The configuration folder (HADOOP_CONF_DIR).
    pub conf_dir: PathBuf,
    /// The work folder.
    pub work_dir: PathBuf,
}

/// A running mini cluster. Call [`MiniYarn::shutdown`] to stop it and every container it started.
pub struct MiniYarn {
    addresses: MiniAddresses,
    rm: rm::RmHandle,
    rpc_servers: Vec<Server>,
    tasks: Vec<JoinHandle<()>>,
    groups: process::ProcessGroups,
    remove_work_dir: bool,
}

impl Drop for MiniYarn {
    /// A cluster dropped without [`MiniYarn::shutdown`] still leaves no container process behind.
    fn drop(&mut self) {
        self.groups.kill_all();
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Forwards ContainerManagementProtocol calls to a NodeManager created after its server was bound.
struct LateCm(Arc<OnceLock<rpc::CmService>>);

impl Handler for LateCm {
    fn call<'a>(
        &'a self,
        ctx: &'a CallContext,
        method: &'a str,
        request: &'a [u8],
    ) -> HandlerFuture<'a> {
        match self.0.get() {
            Some(cm) => cm.call(ctx, method, request),
            None => Box::pin(async {
                Err(RemoteException::new(
                    "org.apache.hadoop.yarn.exceptions.YarnException",
                    "the NodeManager is starting",
                ))
            }),
        }
    }
}

async fn listen(what: &str) -> Result<(tokio::net::TcpListener, String), MiniError> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(io(format!("binding the {what} port")))?;
    let addr = l.local_addr().map_err(io(format!("the {what} port")))?;
    Ok((l, addr.to_string()))
}

fn serve(listener: tokio::net::TcpListener, router: axum::Router) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    })
}

/// A port that is reserved but serves nothing (accepts and closes), for addresses a Hadoop
/// configuration must name though the mini cluster serves them elsewhere.
fn reserve(listener: tokio::net::TcpListener) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            drop(s);
        }
    })
}

/// The NodeManager web server: container logs as the NM's log page serves them.
fn nm_web(root: PathBuf) -> axum::Router {
    use axum::extract::Path as P;
    async fn list(root: PathBuf, cid: String, file: Option<String>) -> axum::response::Response {
        use axum::response::IntoResponse;
        let app = cid
            .parse::<crate::records::ContainerId>()
            .map(|c| c.application_attempt_id.application_id.to_string());
        let Ok(app) = app else {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                format!("invalid container id {cid}"),
            )
                .into_response();
        };
        let dir = root.join("logs").join(app).join(&cid);
        match file {
            Some(f) if !f.contains('/') && f != ".." => match std::fs::read(dir.join(&f)) {
                Ok(b) => b.into_response(),
                Err(_) => (
                    axum::http::StatusCode::NOT_FOUND,
                    format!("no log file {f} for {cid}"),
                )
                    .into_response(),
            },
            Some(_) => (axum::http::StatusCode::BAD_REQUEST, "invalid file name").into_response(),
            None => match std::fs::read_dir(&dir) {
                Ok(d) => {
                    let mut names: Vec<String> = d
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect();
                    names.sort();
                    names.join("\n").into_response()
                }
                Err(_) => (
                    axum::http::StatusCode::NOT_FOUND,
                    format!("no logs for {cid} on this node"),
                )
                    .into_response(),
            },
        }
    }
    let r1 = root.clone();
    axum::Router::new()
        .route(
            "/node/containerlogs/{cid}/{user}",
            axum::routing::get(move |P((cid, _user)): P<(String, String)>| {
                list(r1.clone(), cid, None)
            }),
        )
        .route(
            "/node/containerlogs/{cid}/{user}/{file}",
            axum::routing::get(move |P((cid, _user, file)): P<(String, String, String)>| {
                list(root.clone(), cid, Some(file))
            }),
        )
}

impl MiniYarn {
    /// Starts the cluster; it runs until [`MiniYarn::shutdown`] (or the runtime ends).
    pub async fn start(cfg: MiniYarnConfig) -> Result<MiniYarn, MiniError> {
        if cfg.nodes == 0 {
            return Err(MiniError::Config("--nodes must be at least 1".into()));
        }
        if cfg.min_allocation_mb <= 0 || cfg.max_allocation_mb < cfg.min_allocation_mb {
            return Err(MiniError::Config(format!(
                "allocation limits must satisfy 0 < min ({}) <= max ({}) MiB",
                cfg.min_allocation_mb, cfg.max_allocation_mb
            )));
        }
        if cfg.rpc_protection.is_empty() {
            return Err(MiniError::Config(
                "rpc protection needs at least one of authentication, integrity, privacy".into(),
            ));
        }
        if cfg.queues.is_empty() {
            return Err(MiniError::Config("at least one queue is needed".into()));
        }
        let (work_dir, remove_work_dir) = match &cfg.work_dir {
            Some(d) => (d.clone(), false),
            None => {
                let d = std::env::temp_dir().join(format!(
                    "spindle-mini-yarn-{}-{}",
                    std::process::id(),
                    journal::now_ms()
                ));
                (d, true)
            }
        };
        std::fs::create_dir_all(&work_dir)
            .map_err(io(format!("creating {}", work_dir.display())))?;
        let work_dir = work_dir
            .canonicalize()
            .map_err(io(format!("resolving {}", work_dir.display())))?;
        let conf_dir = cfg
            .conf_dir
            .clone()
            .unwrap_or_else(|| work_dir.join("conf"));
        std::fs::create_dir_all(&conf_dir)
            .map_err(io(format!("creating {}", conf_dir.display())))?;
        let conf_dir = conf_dir
            .canonicalize()
            .map_err(io(format!("resolving {}", conf_dir.display())))?;
        let fs_root = work_dir.join("hdfs");
        std::fs::create_dir_all(&fs_root).map_err(io("creating the file system folder"))?;
        let journal = journal::Journal::open(cfg.journal.as_deref())
            .map_err(io(format!("opening the journal {:?}", cfg.journal)))?;

        let mut tasks = Vec::new();
        let (web_listener, webapp) = listen("RM web").await?;
        let (nn_listener, nn_rpc) = listen("NameNode RPC").await?;
        let (hdfs_listener, webhdfs) = listen("WebHDFS").await?;
        tasks.push(reserve(nn_listener));

        let secrets = Arc::new(tokens::Secrets::generate());
        let sched = Scheduler::new(SchedulerConf {
            min_allocation: Res::new(cfg.min_allocation_mb, cfg.min_allocation_vcores),
            max_allocation: Res::new(cfg.max_allocation_mb, cfg.max_allocation_vcores),
            queues: cfg
                .queues
                .iter()
                .map(|(name, cap)| QueueConf {
                    name: name.clone(),
                    capacity_percent: *cap,
                    max_capacity_percent: 100.0,
                })
                .collect(),
            max_am_fraction: cfg.max_am_fraction,
            extra_containers_per_app: cfg.extra_containers,
        });
        let rm = rm::spawn(
            rm::RmConf {
                cluster_timestamp: journal::now_ms(),
                max_attempts: cfg.max_attempts.max(1),
                webapp_address: webapp.clone(),
                am_finish_grace: Duration::from_millis(cfg.am_finish_grace_ms),
                am_expiry: Duration::from_millis(cfg.am_expiry_ms),
            },
            sched,
            secrets.clone(),
            journal,
        );

        let scheduler_server = Server::builder()
            .protocol(
                rpc::AM_PROTOCOL,
                Arc::new(rpc::AmService {
                    rm: rm.clone(),
                    secrets: secrets.clone(),
                }),
            )
            .token_auth(Arc::new(rpc::AmrmVerifier(secrets.clone())))
            .protection(&cfg.rpc_protection)
            .bind("127.0.0.1:0")
            .await
            .map_err(io("binding the scheduler port"))?;
        let scheduler_address = scheduler_server.local_addr().to_string();
        // The client port of an insecure ResourceManager: SIMPLE authentication.
        let client_server = Server::builder()
            .protocol(
                client_rpc::CLIENT_PROTOCOL,
                client_rpc::ClientService::new(rm.clone()),
            )
            .simple_auth(true)
            .bind("127.0.0.1:0")
            .await
            .map_err(io("binding the RM client port"))?;
        let resource_manager = client_server.local_addr().to_string();
        let mut rpc_servers = vec![scheduler_server, client_server];

        let mut environment: Vec<(String, String)> = std::env::vars().collect();
        environment.retain(|(k, _)| k != "HADOOP_CONF_DIR" && k != "YARN_CONF_DIR");
        // A NodeManager always has JAVA_HOME (hadoop-env.sh requires it) and whitelists it into
        // containers; without one in this process's environment, the `java` on PATH decides.
        if !environment
            .iter()
            .any(|(k, v)| k == "JAVA_HOME" && !v.is_empty())
            && let Some(home) = java_home_from_path()
        {
            environment.retain(|(k, _)| k != "JAVA_HOME");
            environment.push(("JAVA_HOME".into(), home));
        }
        environment.push(("HADOOP_CONF_DIR".into(), conf_dir.to_string_lossy().into()));
        environment.push(("YARN_CONF_DIR".into(), conf_dir.to_string_lossy().into()));
        let groups = process::ProcessGroups::default();
        let nm_conf = Arc::new(nm::NmConf {
            root: work_dir.clone(),
            heartbeat: Duration::from_millis(cfg.nm_heartbeat_ms.max(1)),
            sigkill_delay: Duration::from_millis(cfg.sigkill_delay_ms),
            pmem_check: cfg.pmem_check,
            monitor_interval: Duration::from_millis(500),
            environment,
            hdfs: Some(localize::HdfsRoot {
                authority: nn_rpc.clone(),
                dir: fs_root.clone(),
            }),
            groups: groups.clone(),
        });
        let mut nodes = Vec::new();
        for i in 0..cfg.nodes {
            let slot = Arc::new(OnceLock::new());
            let server = Server::builder()
                .protocol(rpc::CM_PROTOCOL, Arc::new(LateCm(slot.clone())))
                .token_auth(Arc::new(rpc::NmVerifier(secrets.clone())))
                .protection(&cfg.rpc_protection)
                .bind("127.0.0.1:0")
                .await
                .map_err(io("binding a NodeManager port"))?;
            let addr = server.local_addr();
            let node_id = NodeId::new(addr.ip().to_string(), addr.port() as i32);
            let (http_listener, http) = listen("NodeManager web").await?;
            let http_port = http_listener.local_addr().map(|a| a.port()).unwrap_or(0);
            tasks.push(serve(
                http_listener,
                nm_web(work_dir.join(format!("nm-{i}"))),
            ));
            let handle = nm::spawn(i, node_id.clone(), http_port, nm_conf.clone(), rm.clone());
            let _ = slot.set(rpc::CmService {
                nm: handle.clone(),
                node: node_id.clone(),
                secrets: secrets.clone(),
            });
            let capacity = Res::new(cfg.node_memory_mb, cfg.node_vcores);
            let (id2, http2, h2) = (node_id.clone(), http.clone(), handle.clone());
            rm.call(move |rm| rm.add_node(i, id2, http2, capacity, h2))
                .await
                .ok_or_else(|| {
                    MiniError::Config("the ResourceManager stopped while starting".into())
                })?;
            nodes.push(NodeAddress {
                id: node_id.to_string(),
                http,
            });
            rpc_servers.push(server);
        }

        tasks.push(serve(web_listener, rest::router(rm.clone())));
        tasks.push(serve(
            hdfs_listener,
            hdfs::router(Arc::new(hdfs::HdfsState {
                root: fs_root,
                http_address: webhdfs.clone(),
                fs_authority: nn_rpc.clone(),
            })),
        ));
        let addresses = MiniAddresses {
            resource_manager,
            scheduler: scheduler_address,
            rest_url: format!("http://{webapp}/ws/v1/cluster"),
            webapp,
            webhdfs,
            default_fs: format!("hdfs://{nn_rpc}"),
            nodes,
            conf_dir,
            work_dir,
        };
        let mini = MiniYarn {
            addresses,
            rm,
            rpc_servers,
            tasks,
            groups,
            remove_work_dir,
        };
        mini.write_conf(&mini.addresses.conf_dir, &cfg)?;
        Ok(mini)
    }

    /// Where everything listens.
    pub fn addresses(&self) -> &MiniAddresses {
        &self.addresses
    }

    /// The ResourceManager actor (for in-process inspection).
    pub fn rm(&self) -> &rm::RmHandle {
        &self.rm
    }

    /// Writes `core-site.xml`, `hdfs-site.xml` and `yarn-site.xml` into `dir`.
    pub fn write_conf(&self, dir: &Path, cfg: &MiniYarnConfig) -> Result<(), MiniError> {
        let a = &self.addresses;
        let rm_host = a.webapp.split(':').next().unwrap_or("127.0.0.1");
        let core = [
            ("fs.defaultFS", a.default_fs.clone()),
            ("hadoop.security.authentication", "simple".into()),
            (
                "hadoop.rpc.protection",
                cfg.rpc_protection
                    .iter()
                    .map(|q| q.protection_name())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ];
        let hdfs = [
            ("dfs.namenode.http-address", a.webhdfs.clone()),
            (
                "dfs.namenode.rpc-address",
                a.default_fs.trim_start_matches("hdfs://").to_string(),
            ),
            ("dfs.webhdfs.enabled", "true".into()),
            ("dfs.replication", "1".into()),
        ];
        let mut yarn = vec![
            ("yarn.resourcemanager.hostname", rm_host.to_string()),
            ("yarn.resourcemanager.address", a.resource_manager.clone()),
            (
                "yarn.resourcemanager.scheduler.address",
                a.scheduler.clone(),
            ),
            ("yarn.resourcemanager.webapp.address", a.webapp.clone()),
            (
                "yarn.scheduler.minimum-allocation-mb",
                cfg.min_allocation_mb.to_string(),
            ),
            (
                "yarn.scheduler.maximum-allocation-mb",
                cfg.max_allocation_mb.to_string(),
            ),
            (
                "yarn.scheduler.minimum-allocation-vcores",
                cfg.min_allocation_vcores.to_string(),
            ),
            (
                "yarn.scheduler.maximum-allocation-vcores",
                cfg.max_allocation_vcores.to_string(),
            ),
            (
                "yarn.nodemanager.resource.memory-mb",
                cfg.node_memory_mb.to_string(),
            ),
            (
                "yarn.nodemanager.resource.cpu-vcores",
                cfg.node_vcores.to_string(),
            ),
            (
                "yarn.resourcemanager.am.max-attempts",
                cfg.max_attempts.to_string(),
            ),
            (
                "yarn.resourcemanager.nodemanagers.heartbeat-interval-ms",
                cfg.nm_heartbeat_ms.to_string(),
            ),
            (
                "yarn.nodemanager.pmem-check-enabled",
                cfg.pmem_check.to_string(),
            ),
            ("yarn.nodemanager.vmem-check-enabled", "false".into()),
            ("yarn.webapp.enable-rest-app-submissions", "true".into()),
            (
                "yarn.scheduler.capacity.maximum-am-resource-percent",
                cfg.max_am_fraction.to_string(),
            ),
            (
                "yarn.scheduler.capacity.root.queues",
                cfg.queues
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            // A client started before the cluster, or after it stopped, gives up in seconds rather
            // than YARN's default 15 minutes.
            ("yarn.resourcemanager.connect.max-wait.ms", "10000".into()),
            (
                "yarn.resourcemanager.connect.retry-interval.ms",
                "500".into(),
            ),
        ];
        if let Some(jars) = &cfg.hadoop_client_jars {
            yarn.push((
                "yarn.application.classpath",
                format!("$HADOOP_CONF_DIR,{}/*", jars.display()),
            ));
        }
        for (name, props) in [
            ("core-site.xml", &core[..]),
            ("hdfs-site.xml", &hdfs[..]),
            ("yarn-site.xml", &yarn[..]),
        ] {
            let mut xml = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- Written by spindle mini-yarn. -->\n<configuration>\n",
            );
            for (k, v) in props {
                xml.push_str(&format!(
                    "  <property>\n    <name>{k}</name>\n    <value>{}</value>\n  </property>\n",
                    xml_escape(v)
                ));
            }
            xml.push_str("</configuration>\n");
            let path = dir.join(name);
            std::fs::write(&path, xml).map_err(io(format!("writing {}", path.display())))?;
        }
        Ok(())
    }

    /// Stops every container (SIGTERM, then SIGKILL) and waits until their processes are gone,
    /// then stops the servers.
    pub async fn shutdown(mut self) {
        let nms = self.rm.call(|rm| rm.all_nms()).await.unwrap_or_default();
        let mut groups = Vec::new();
        for nm in &nms {
            groups.extend(nm.call(|nm| nm.shutdown()).await.unwrap_or_default());
        }
        // Containers still being localized or launched are stopped as soon as they start; wait
        // until every NodeManager has seen all of its containers end.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let mut busy = 0;
            for nm in &nms {
                busy += nm.call(|nm| nm.running().len()).await.unwrap_or(0);
            }
            if busy == 0 || tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for pgid in groups {
            if process::group_alive(pgid) {
                process::signal_group(pgid, libc::SIGKILL);
            }
        }
        self.rpc_servers.clear();
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if self.remove_work_dir {
            let _ = std::fs::remove_dir_all(&self.addresses.work_dir);
        }
    }
}

/// The JDK folder of the `java` found on PATH (`<home>/bin/java`, symlinks resolved).
fn java_home_from_path() -> Option<String> {
    let path = std::env::var_os("PATH")?;
    let java = std::env::split_paths(&path)
        .map(|d| d.join("java"))
        .find(|p| p.is_file())?;
    let real = java.canonicalize().ok()?;
    let home = real.parent()?.parent()?;
    Some(home.to_string_lossy().into_owned())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `spindle mini-yarn`: starts the cluster, prints one ready line (JSON with the addresses), runs
/// until SIGINT or SIGTERM, then stops every container it started.
pub async fn run(cfg: MiniYarnConfig) -> Result<(), MiniError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(io("installing the SIGTERM handler"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(io("installing the SIGINT handler"))?;
    let mini = MiniYarn::start(cfg).await?;
    let mut ready = serde_json::to_value(mini.addresses()).unwrap_or_default();
    ready["event"] = "ready".into();
    println!("{ready}");
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    mini.shutdown().await;
    Ok(())
}
