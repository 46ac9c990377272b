//! A NodeManager of the mini cluster: an actor that owns one node's containers.
//!
//! It starts containers (localization and process launch run beside the actor and come back as
//! messages), stops them (SIGTERM to the process group, SIGKILL after a delay), answers status
//! queries, and heartbeats to the ResourceManager on a timer, carrying the statuses of containers that
//! completed since the last heartbeat — which is also when the RM allocates on this node, as in YARN.
//! The ContainerManagementProtocol server (`cms`) checks tokens and then calls in here.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::proto::hadoop::yarn as pb;
use crate::records::{ApplicationId, ContainerId, ContainerState, NodeId, Resource, exit_status};

use super::localize::{self, HdfsRoot, LocalResource};
use super::process::{self, LaunchSpec, ProcessExit};
use super::rm::RmHandle;
use super::scheduler::NodeKey;

/// What a container is started from (the launch context, plus what the NM knows of it); `Debug`
/// leaves out the credentials.
#[derive(Clone)]
pub struct LaunchRequest {
    /// The container.
    pub container: ContainerId,
    /// The submitting user.
    pub user: String,
    /// Commands, joined with spaces.
    pub commands: Vec<String>,
    /// Environment, in order.
    pub environment: Vec<(String, String)>,
    /// Variables the RM adds for AM containers.
    pub extra_environment: Vec<(String, String)>,
    /// Resources to localize, by link name.
    pub local_resources: Vec<(String, LocalResource)>,
    /// The credentials file content.
    pub tokens: Vec<u8>,
    /// The container's size (its memory is the process tree's limit).
    pub resource: Resource,
}

impl std::fmt::Debug for LaunchRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaunchRequest")
            .field("container", &self.container)
            .field("user", &self.user)
            .field("commands", &self.commands)
            .field("environment", &self.environment)
            .field("local_resources", &self.local_resources)
            .field(
                "tokens",
                &format_args!("<{} bytes redacted>", self.tokens.len()),
            )
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

/// How NodeManagers are set up (shared by all of them).
#[derive(Clone, Debug)]
pub struct NmConf {
    /// The cluster's work folder; node `i` keeps its dirs under `nm-<i>/`.
    pub root: PathBuf,
    /// Heartbeat interval (`yarn.resourcemanager.nodemanagers.heartbeat-interval-ms`).
    pub heartbeat: Duration,
    /// Delay between SIGTERM and SIGKILL (`yarn.nodemanager.sleep-delay-before-sigkill.ms`).
    pub sigkill_delay: Duration,
    /// Whether the process tree's memory is checked (`yarn.nodemanager.pmem-check-enabled`).
    pub pmem_check: bool,
    /// How often the memory is checked.
    pub monitor_interval: Duration,
    /// The environment containers may inherit whitelisted variables from.
    pub environment: Vec<(String, String)>,
    /// The cluster's `hdfs://` file system, for localization.
    pub hdfs: Option<HdfsRoot>,
    /// The process groups of running containers (shared by all NodeManagers of a cluster).
    pub groups: process::ProcessGroups,
}

/// A container that completed, as reported to the RM on a heartbeat.
#[derive(Clone, Debug, PartialEq)]
pub struct Completed {
    /// The container.
    pub container: ContainerId,
    /// YARN's exit status.
    pub exit_status: i32,
    /// Diagnostics.
    pub diagnostics: String,
}

type Call = Box<dyn FnOnce(&mut Nm) + Send>;

/// A handle to a NodeManager actor.
#[derive(Clone)]
pub struct NmHandle {
    tx: mpsc::UnboundedSender<Call>,
}

impl NmHandle {
    /// Runs `f` on the actor and returns its result (`None` once the NM has stopped).
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Nm) -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Box::new(move |nm| {
                let _ = tx.send(f(nm));
            }))
            .ok()?;
        rx.await.ok()
    }

    /// Runs `f` on the actor without waiting.
    pub fn send(&self, f: impl FnOnce(&mut Nm) + Send + 'static) {
        let _ = self.tx.send(Box::new(f));
    }
}

struct Container {
    app: ApplicationId,
    state: ContainerState,
    pid: Option<i32>,
    kill: Option<(i32, String)>,
    report: bool,
    exit_status: i32,
    diagnostics: String,
    resource: Resource,
    log_dir: PathBuf,
}

/// The NodeManager's state (owned by its actor task).
pub struct Nm {
    node: NodeKey,
    id: NodeId,
    http_port: u16,
    conf: Arc<NmConf>,
    rm: RmHandle,
    me: NmHandle,
    containers: BTreeMap<ContainerId, Container>,
    stopped_before_start: HashSet<ContainerId>,
    completed: Vec<Completed>,
    /// Applications the RM has ended whose local files go once their containers here are done.
    finished_apps: HashSet<ApplicationId>,
    lost: bool,
    shutting_down: bool,
}

/// Starts a NodeManager actor for node `node` with RPC address `id`.
pub fn spawn(
    node: NodeKey,
    id: NodeId,
    http_port: u16,
    conf: Arc<NmConf>,
    rm: RmHandle,
) -> NmHandle {
    let (tx, mut rx) = mpsc::unbounded_channel::<Call>();
    let me = NmHandle { tx };
    let mut nm = Nm {
        node,
        id,
        http_port,
        conf: conf.clone(),
        rm,
        me: me.clone(),
        containers: BTreeMap::new(),
        stopped_before_start: HashSet::new(),
        completed: Vec::new(),
        finished_apps: HashSet::new(),
        lost: false,
        shutting_down: false,
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(conf.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                call = rx.recv() => match call {
                    Some(call) => call(&mut nm),
                    None => break,
                },
                _ = tick.tick(), if !nm.lost && !nm.shutting_down => nm.heartbeat(),
            }
        }
    });
    me
}

impl Nm {
    /// This node's RPC address.
    pub fn node_id(&self) -> &NodeId {
        &self.id
    }

    fn heartbeat(&mut self) {
        let completed = std::mem::take(&mut self.completed);
        let node = self.node;
        self.rm.send(move |rm| rm.node_heartbeat(node, completed));
    }

    fn dirs(
        &self,
        app: ApplicationId,
        user: &str,
        c: ContainerId,
    ) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
        let base = self.conf.root.join(format!("nm-{}", self.node));
        let user_dir = base.join("local/usercache").join(user);
        let app_dir = user_dir.join("appcache").join(app.to_string());
        let work = app_dir.join(c.to_string());
        let logs = base.join("logs").join(app.to_string()).join(c.to_string());
        (user_dir, app_dir, work, logs)
    }

    /// Starts a container; localization and launch run beside the actor. Fails at once only when the
    /// container is already known here or was stopped before it started.
    pub fn start(&mut self, req: LaunchRequest) -> Result<(), String> {
        let c = req.container;
        if self.lost || self.shutting_down {
            return Err(format!("NodeManager {} is not running", self.id));
        }
        if self.containers.contains_key(&c) || self.stopped_before_start.contains(&c) {
            return Err(format!(
                "Container {c} has already been started or stopped on this node; a container is \
                 started once"
            ));
        }
        let app = c.application_attempt_id.application_id;
        let (user_dir, app_dir, work_dir, log_dir) = self.dirs(app, &req.user, c);
        self.containers.insert(
            c,
            Container {
                app,
                state: ContainerState::New,
                pid: None,
                kill: None,
                report: true,
                exit_status: exit_status::INVALID,
                diagnostics: String::new(),
                resource: req.resource,
                log_dir: log_dir.clone(),
            },
        );
        let spec = LaunchSpec {
            container_id: c.to_string(),
            user: req.user.clone(),
            nm_host: self.id.host.clone(),
            nm_port: self.id.port as u16,
            nm_http_port: self.http_port,
            work_dir: work_dir.clone(),
            log_dir,
            app_local_dir: app_dir.clone(),
            user_local_dir: user_dir,
            commands: req.commands,
            environment: req.environment,
            extra_environment: req.extra_environment,
            tokens: req.tokens,
            memory_limit_mb: self.conf.pmem_check.then_some(req.resource.memory_mb),
            monitor_interval: self.conf.monitor_interval,
            nm_environment: self.conf.environment.clone(),
            groups: self.conf.groups.clone(),
        };
        let hdfs = self.conf.hdfs.clone();
        let resources = req.local_resources;
        let me = self.me.clone();
        tokio::spawn(async move {
            let cache = app_dir.join("filecache").join(c.to_string());
            let work = work_dir.clone();
            let localized = tokio::task::spawn_blocking(move || {
                std::fs::create_dir_all(&work)
                    .map_err(|e| format!("creating {}: {e}", work.display()))?;
                for (key, res) in &resources {
                    localize::localize(key, res, hdfs.as_ref(), &cache, &work).map_err(|e| e.0)?;
                }
                Ok::<(), String>(())
            })
            .await
            .unwrap_or_else(|e| Err(format!("localization stopped: {e}")));
            let launched = match localized {
                Ok(()) => process::launch(&spec)
                    .await
                    .map_err(|e| format!("Exception from container-launch: {e}")),
                Err(e) => Err(e),
            };
            match launched {
                Ok(l) => {
                    let pid = l.pid;
                    me.send(move |nm| nm.on_launched(c, pid));
                    let exit = l.exit.await.unwrap_or(ProcessExit {
                        code: -1,
                        memory_exceeded: None,
                    });
                    me.send(move |nm| nm.on_exit(c, exit));
                }
                Err(e) => me.send(move |nm| nm.on_failed(c, e)),
            }
        });
        Ok(())
    }

    fn on_launched(&mut self, c: ContainerId, pid: i32) {
        let Some(ct) = self.containers.get_mut(&c) else {
            return;
        };
        ct.pid = Some(pid);
        ct.state = ContainerState::Running;
        if ct.kill.is_some() || self.lost || self.shutting_down {
            process::terminate(pid, self.conf.sigkill_delay);
        } else {
            self.rm.send(move |rm| rm.container_launched(c));
        }
    }

    fn on_failed(&mut self, c: ContainerId, diagnostics: String) {
        self.complete(c, exit_status::INVALID, diagnostics);
    }

    fn on_exit(&mut self, c: ContainerId, exit: ProcessExit) {
        let Some(ct) = self.containers.get(&c) else {
            return;
        };
        let (status, diag) = if let Some(d) = exit.memory_exceeded {
            (exit_status::KILLED_EXCEEDED_PMEM, d)
        } else if let Some((s, d)) = ct.kill.clone() {
            (
                s,
                format!(
                    "{d}\nContainer killed on request. Exit code is {}",
                    exit.code
                ),
            )
        } else if exit.code == 0 {
            (0, String::new())
        } else {
            let err = std::fs::read(ct.log_dir.join("prelaunch.err")).unwrap_or_default();
            let tail = String::from_utf8_lossy(&err[err.len().saturating_sub(4096)..]).into_owned();
            (
                exit.code,
                format!(
                    "Exception from container-launch.\nContainer id: {c}\nExit code: {code}\n\
                     Container exited with a non-zero exit code {code}. Error file: prelaunch.err.\n\
                     Last 4096 bytes of prelaunch.err :\n{tail}",
                    code = exit.code
                ),
            )
        };
        self.complete(c, status, diag);
    }

    fn complete(&mut self, c: ContainerId, status: i32, diagnostics: String) {
        let Some(ct) = self.containers.get_mut(&c) else {
            return;
        };
        ct.state = ContainerState::Complete;
        ct.exit_status = status;
        ct.diagnostics = diagnostics.clone();
        ct.pid = None;
        let app = ct.app;
        if ct.report && !self.lost {
            self.completed.push(Completed {
                container: c,
                exit_status: status,
                diagnostics,
            });
        }
        self.clean_up_if_done(app);
    }

    /// The RM ended `app`: once none of its containers runs here, its local files (work dirs,
    /// localized resources, token files) are deleted, as a NodeManager does when an application
    /// finishes. Container logs stay.
    pub fn application_finished(&mut self, app: ApplicationId) {
        self.finished_apps.insert(app);
        self.clean_up_if_done(app);
    }

    fn clean_up_if_done(&mut self, app: ApplicationId) {
        if !self.finished_apps.contains(&app)
            || self
                .containers
                .values()
                .any(|ct| ct.app == app && ct.state != ContainerState::Complete)
        {
            return;
        }
        self.finished_apps.remove(&app);
        let users = self
            .conf
            .root
            .join(format!("nm-{}", self.node))
            .join("local/usercache");
        // Deleting a tree is slow I/O: it runs beside the actor.
        tokio::task::spawn_blocking(move || {
            let Ok(entries) = std::fs::read_dir(&users) else {
                return;
            };
            for user in entries.flatten() {
                let dir = user.path().join("appcache").join(app.to_string());
                if dir.exists()
                    && let Err(e) = std::fs::remove_dir_all(&dir)
                {
                    tracing::warn!("could not delete {}: {e}", dir.display());
                }
            }
        });
    }

    /// Stops a container; it completes with `status` (−105 when the AM asked, ...). `report` false
    /// when the RM has already accounted for its end. Unknown containers may not start later.
    pub fn stop(&mut self, c: ContainerId, status: i32, diagnostics: &str, report: bool) -> bool {
        let Some(ct) = self.containers.get_mut(&c) else {
            self.stopped_before_start.insert(c);
            return false;
        };
        if ct.state == ContainerState::Complete || ct.kill.is_some() {
            return true;
        }
        ct.kill = Some((status, diagnostics.to_string()));
        ct.report = report;
        if let Some(pid) = ct.pid {
            process::terminate(pid, self.conf.sigkill_delay);
        }
        true
    }

    /// Kills a container's processes with SIGKILL, as something outside YARN would (fault injection).
    pub fn kill_hard(&mut self, c: ContainerId) -> bool {
        match self.containers.get(&c).and_then(|ct| ct.pid) {
            Some(pid) => {
                process::signal_group(pid, libc::SIGKILL);
                true
            }
            None => false,
        }
    }

    /// The status of a container this node knows.
    pub fn status(&self, c: ContainerId) -> Option<pb::ContainerStatusProto> {
        let ct = self.containers.get(&c)?;
        Some(pb::ContainerStatusProto {
            container_id: Some(c.into()),
            state: Some(pb::ContainerStateProto::from(ct.state) as i32),
            diagnostics: Some(ct.diagnostics.clone()),
            exit_status: Some(ct.exit_status),
            capability: Some(ct.resource.into()),
            ..Default::default()
        })
    }

    /// The application a container belongs to, if this node knows it.
    pub fn container_app(&self, c: ContainerId) -> Option<ApplicationId> {
        self.containers.get(&c).map(|ct| ct.app)
    }

    /// Ids of the containers whose processes run here.
    pub fn running(&self) -> Vec<ContainerId> {
        self.containers
            .iter()
            .filter(|(_, c)| c.state != ContainerState::Complete)
            .map(|(k, _)| *k)
            .collect()
    }

    /// The node is lost: its processes die at once and it stops heartbeating.
    pub fn lose(&mut self) {
        self.lost = true;
        for ct in self.containers.values_mut() {
            ct.report = false;
            if ct.kill.is_none() {
                ct.kill = Some((
                    exit_status::ABORTED,
                    "Container released on a *lost* node".into(),
                ));
            }
            if let Some(pid) = ct.pid {
                process::signal_group(pid, libc::SIGKILL);
            }
        }
    }

    /// Shutting down: stops every container; returns their process groups so the caller can wait
    /// for them to be gone.
    pub fn shutdown(&mut self) -> Vec<i32> {
        self.shutting_down = true;
        let delay = self.conf.sigkill_delay;
        let mut pids = Vec::new();
        for ct in self.containers.values_mut() {
            ct.report = false;
            if ct.kill.is_none() {
                ct.kill = Some((
                    exit_status::KILLED_BY_RESOURCEMANAGER,
                    "the mini cluster is shutting down".into(),
                ));
            }
            if let Some(pid) = ct.pid {
                process::terminate(pid, delay);
                pids.push(pid);
            }
        }
        pids
    }

    /// Whether containers are still starting (their processes may not exist yet).
    pub fn starting(&self) -> usize {
        self.containers
            .values()
            .filter(|c| c.state == ContainerState::New)
            .count()
    }
}
