//! The mini cluster's ResourceManager: one actor that owns applications, attempts, containers, nodes
//! and the scheduler.
//!
//! Everything that changes cluster state runs here, one message at a time: REST submissions and
//! kills, the ApplicationMasterProtocol calls (register, allocate, finish), NodeManager heartbeats
//! (completed containers in, allocations out), and fault injection. Container launches and stops
//! are sent to the NodeManager actors and come back as messages. The semantics are YARN's: asks as
//! absolute totals, containers allocated on node heartbeats and handed out on the AM's next
//! allocate, responseId checks, NMTokens for nodes new to the attempt, completed statuses with
//! YARN's exit codes, AM restarts up to max-app-attempts with containers kept across attempts when
//! asked, and the app and attempt states the REST API reports.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::credentials::{Credentials, Token, TokenFileFormat};
use crate::proto::hadoop::yarn as pb;
use crate::records::{
    ApplicationAttemptId, ApplicationId, ContainerId, FinalApplicationStatus, NodeId, Resource,
    YarnApplicationState, exit_status,
};
use crate::rest::types as rt;

use super::journal::{Event, Journal, now_ms};
use super::localize::LocalResource;
use super::nm::{Completed, LaunchRequest, NmHandle};
use super::scheduler::{
    Allocation, Ask, ContainerKey, ContainerKind, NodeKey, Res, SchedError, Scheduler,
};
use super::tokens::{ContainerGrant, Secrets};

/// A YARN exception for an RPC caller: Java class name and message.
#[derive(Clone, Debug, PartialEq)]
pub struct YarnError {
    /// Fully qualified Java class name.
    pub class: &'static str,
    /// The message.
    pub message: String,
}

impl YarnError {
    fn new(class: &'static str, message: impl Into<String>) -> Self {
        YarnError {
            class,
            message: message.into(),
        }
    }
}

const INVALID_AM_REQUEST: &str =
    "org.apache.hadoop.yarn.exceptions.InvalidApplicationMasterRequestException";
const AM_NOT_REGISTERED: &str =
    "org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException";
const ATTEMPT_NOT_FOUND: &str =
    "org.apache.hadoop.yarn.exceptions.ApplicationAttemptNotFoundException";
const INVALID_RESOURCE_REQUEST: &str =
    "org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException";
const INVALID_CONTAINER_RELEASE: &str =
    "org.apache.hadoop.yarn.exceptions.InvalidContainerReleaseException";
const APP_NOT_FOUND: &str = "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException";
const YARN_EXCEPTION: &str = "org.apache.hadoop.yarn.exceptions.YarnException";
const IO_EXCEPTION: &str = "java.io.IOException";

/// A REST failure: HTTP status and the RemoteException it reports.
#[derive(Clone, Debug, PartialEq)]
pub struct RestFailure {
    /// HTTP status code.
    pub status: u16,
    /// Simple class name (`NotFoundException`, ...).
    pub exception: &'static str,
    /// Fully qualified class name.
    pub java_class: &'static str,
    /// The message.
    pub message: String,
}

impl RestFailure {
    /// 404 NotFoundException.
    pub fn not_found(message: impl Into<String>) -> Self {
        RestFailure {
            status: 404,
            exception: "NotFoundException",
            java_class: "org.apache.hadoop.yarn.webapp.NotFoundException",
            message: message.into(),
        }
    }

    /// 400 BadRequestException.
    pub fn bad_request(message: impl Into<String>) -> Self {
        RestFailure {
            status: 400,
            exception: "BadRequestException",
            java_class: "org.apache.hadoop.yarn.webapp.BadRequestException",
            message: message.into(),
        }
    }
}

/// How the ResourceManager is set up.
#[derive(Clone, Debug)]
pub struct RmConf {
    /// The cluster timestamp in every id.
    pub cluster_timestamp: i64,
    /// `yarn.resourcemanager.am.max-attempts`.
    pub max_attempts: u32,
    /// The RM web address (`host:port`), for tracking URLs.
    pub webapp_address: String,
    /// How long an unregistered AM may keep running before it is killed.
    pub am_finish_grace: Duration,
    /// `yarn.am.liveness-monitor.expiry-interval-ms`: an AM silent that long fails its attempt.
    pub am_expiry: Duration,
}

type Call = Box<dyn FnOnce(&mut Rm) + Send>;

/// A handle to the ResourceManager actor.
#[derive(Clone)]
pub struct RmHandle {
    tx: mpsc::UnboundedSender<Call>,
}

impl RmHandle {
    /// Runs `f` on the actor and returns its result (`None` once the RM has stopped).
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Rm) -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Box::new(move |rm| {
                let _ = tx.send(f(rm));
            }))
            .ok()?;
        rx.await.ok()
    }

    /// Runs `f` on the actor without waiting.
    pub fn send(&self, f: impl FnOnce(&mut Rm) + Send + 'static) {
        let _ = self.tx.send(Box::new(f));
    }
}

/// The attempt states YARN reports (`RMAppAttemptState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptState {
    /// Waiting for its AM container.
    Scheduled,
    /// The AM container is allocated.
    Allocated,
    /// The AM container was launched.
    Launched,
    /// The AM registered.
    Running,
    /// The AM unregistered; its container is ending.
    Finishing,
    /// Done after unregistering.
    Finished,
    /// The AM ended without unregistering.
    Failed,
    /// Killed.
    Killed,
}

impl AttemptState {
    fn as_str(self) -> &'static str {
        match self {
            AttemptState::Scheduled => "SCHEDULED",
            AttemptState::Allocated => "ALLOCATED",
            AttemptState::Launched => "LAUNCHED",
            AttemptState::Running => "RUNNING",
            AttemptState::Finishing => "FINISHING",
            AttemptState::Finished => "FINISHED",
            AttemptState::Failed => "FAILED",
            AttemptState::Killed => "KILLED",
        }
    }
}

/// How the AM container is launched (from the submission).
#[derive(Clone, Debug)]
pub struct AmSpec {
    /// Commands.
    pub commands: Vec<String>,
    /// Environment.
    pub environment: Vec<(String, String)>,
    /// Local resources.
    pub local_resources: Vec<(String, LocalResource)>,
    /// Submitted credentials (the AMRMToken is added per attempt).
    pub credentials: Credentials,
    /// The AM container's resource.
    pub resource: Res,
}

/// What a submission carries, already validated.
#[derive(Clone, Debug)]
pub struct Submission {
    /// The id from new-application.
    pub id: ApplicationId,
    /// Application name.
    pub name: String,
    /// Queue.
    pub queue: String,
    /// Submitting user.
    pub user: String,
    /// Application type.
    pub app_type: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Priority.
    pub priority: i32,
    /// 0 = the RM's maximum.
    pub max_attempts: i32,
    /// Keep containers across attempts.
    pub keep_containers: bool,
    /// The AM container.
    pub am: AmSpec,
}

struct Attempt {
    id: ApplicationAttemptId,
    state: AttemptState,
    am_container: Option<ContainerId>,
    am_node: Option<NodeKey>,
    start_time: i64,
    finish_time: i64,
    registered: bool,
    last_response: Option<pb::AllocateResponseProto>,
    new_allocated: Vec<ContainerId>,
    completed: Vec<pb::ContainerStatusProto>,
    updated_nodes: Vec<pb::NodeReportProto>,
    nm_token_nodes: BTreeSet<NodeKey>,
    preempt: Vec<ContainerId>,
    last_seen: std::time::Instant,
    diagnostics: String,
    /// Set when the AM stopped heartbeating: why the attempt fails.
    expired: Option<String>,
}

struct App {
    key: u32,
    sub: Submission,
    state: YarnApplicationState,
    final_status: FinalApplicationStatus,
    diagnostics: String,
    submit_time: i64,
    launch_time: i64,
    finish_time: i64,
    attempts: Vec<Attempt>,
    max_attempts: u32,
    failed_attempts: u32,
    original_tracking_url: Option<String>,
    am_rpc: Option<String>,
    progress: f32,
}

impl App {
    fn current(&self) -> Option<&Attempt> {
        self.attempts.last()
    }

    fn current_mut(&mut self) -> Option<&mut Attempt> {
        self.attempts.last_mut()
    }
}

struct ContainerRec {
    key: ContainerKey,
    node: NodeKey,
    resource: Res,
    priority: i32,
    allocation_request_id: i64,
    kind: ContainerKind,
    complete: bool,
    exit_status: i32,
    started: i64,
    finished: i64,
}

struct NodeRec {
    id: NodeId,
    http_address: String,
    nm: NmHandle,
    lost: bool,
    last_heartbeat: i64,
}

/// The ResourceManager's state (owned by its actor task).
pub struct Rm {
    conf: RmConf,
    started_on: i64,
    sched: Scheduler,
    nodes: BTreeMap<NodeKey, NodeRec>,
    apps: BTreeMap<u32, App>,
    containers: HashMap<ContainerId, ContainerRec>,
    secrets: std::sync::Arc<Secrets>,
    journal: Journal,
    next_app: u32,
    me: RmHandle,
    apps_completed: u32,
    apps_failed: u32,
    apps_killed: u32,
}

/// Starts the ResourceManager actor.
pub fn spawn(
    conf: RmConf,
    sched: Scheduler,
    secrets: std::sync::Arc<Secrets>,
    journal: Journal,
) -> RmHandle {
    let (tx, mut rx) = mpsc::unbounded_channel::<Call>();
    let me = RmHandle { tx };
    let expiry = conf.am_expiry;
    let mut rm = Rm {
        conf,
        started_on: now_ms(),
        sched,
        nodes: BTreeMap::new(),
        apps: BTreeMap::new(),
        containers: HashMap::new(),
        secrets,
        journal,
        next_app: 1,
        me: me.clone(),
        apps_completed: 0,
        apps_failed: 0,
        apps_killed: 0,
    };
    tokio::spawn(async move {
        let mut liveness = tokio::time::interval((expiry / 4).max(Duration::from_millis(50)));
        liveness.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                call = rx.recv() => match call {
                    Some(call) => call(&mut rm),
                    None => break,
                },
                _ = liveness.tick() => rm.expire_silent_ams(),
            }
        }
    });
    me
}

fn is_terminal(s: YarnApplicationState) -> bool {
    s.is_terminal()
}

impl Rm {
    fn container_id(&self, k: ContainerKey) -> ContainerId {
        ContainerId::new(self.attempt_id(k.app, k.attempt), k.seq as i64)
    }

    fn app_id(&self, app: u32) -> ApplicationId {
        ApplicationId::new(self.conf.cluster_timestamp, app as i32)
    }

    fn attempt_id(&self, app: u32, attempt: u32) -> ApplicationAttemptId {
        ApplicationAttemptId::new(self.app_id(app), attempt as i32)
    }

    fn app_key(&self, id: ApplicationId) -> Option<u32> {
        (id.cluster_timestamp == self.conf.cluster_timestamp && id.id > 0)
            .then_some(id.id as u32)
            .filter(|k| self.apps.contains_key(k))
    }

    /// The secrets tokens are checked with.
    pub fn secrets(&self) -> std::sync::Arc<Secrets> {
        self.secrets.clone()
    }

    // -----------------------------------------------------------------------------------------
    // Nodes
    // -----------------------------------------------------------------------------------------

    /// Registers a NodeManager.
    pub fn add_node(
        &mut self,
        key: NodeKey,
        id: NodeId,
        http_address: String,
        capacity: Res,
        nm: NmHandle,
    ) {
        self.sched.add_node(key, &id.host.clone(), capacity);
        self.nodes.insert(
            key,
            NodeRec {
                id,
                http_address,
                nm,
                lost: false,
                last_heartbeat: now_ms(),
            },
        );
    }

    /// A NodeManager heartbeat: completed containers in, allocations on this node out.
    pub fn node_heartbeat(&mut self, node: NodeKey, completed: Vec<Completed>) {
        match self.nodes.get_mut(&node) {
            Some(n) if !n.lost => n.last_heartbeat = now_ms(),
            _ => return,
        }
        for c in completed {
            self.container_completed(c.container, c.exit_status, &c.diagnostics);
        }
        let allocations = self.sched.node_heartbeat(node);
        for a in allocations {
            self.allocated(a);
        }
    }

    fn allocated(&mut self, a: Allocation) {
        let id = self.container_id(a.container);
        let node = &self.nodes[&a.node];
        self.journal.write(Event {
            app: Some(self.app_id(a.container.app).to_string()),
            attempt: Some(id.application_attempt_id.to_string()),
            container: Some(id.to_string()),
            node: Some(node.id.to_string()),
            ..Event::new("container_allocated")
        });
        self.containers.insert(
            id,
            ContainerRec {
                key: a.container,
                node: a.node,
                resource: a.resource,
                priority: a.priority,
                allocation_request_id: a.allocation_request_id,
                kind: a.kind,
                complete: false,
                exit_status: exit_status::INVALID,
                started: now_ms(),
                finished: 0,
            },
        );
        let Some(app) = self.apps.get_mut(&a.container.app) else {
            return;
        };
        let Some(attempt) = app.attempts.last_mut() else {
            return;
        };
        match a.kind {
            ContainerKind::Am => {
                attempt.am_container = Some(id);
                attempt.am_node = Some(a.node);
                self.set_attempt_state(a.container.app, AttemptState::Allocated);
                self.launch_am(a.container.app, id, a.node);
            }
            ContainerKind::Task => attempt.new_allocated.push(id),
        }
    }

    fn launch_am(&mut self, app: u32, id: ContainerId, node: NodeKey) {
        let a = &self.apps[&app];
        let mut creds = a.sub.am.credentials.clone();
        let amrm = self.secrets.amrm_token(id.application_attempt_id);
        creds.add_token(amrm.service.clone(), amrm);
        let req = LaunchRequest {
            container: id,
            user: a.sub.user.clone(),
            commands: a.sub.am.commands.clone(),
            environment: a.sub.am.environment.clone(),
            extra_environment: vec![
                (
                    "APPLICATION_WEB_PROXY_BASE".into(),
                    format!("/proxy/{}", self.app_id(app)),
                ),
                ("APP_SUBMIT_TIME_ENV".into(), a.submit_time.to_string()),
                ("MAX_APP_ATTEMPTS".into(), a.max_attempts.to_string()),
            ],
            local_resources: a.sub.am.local_resources.clone(),
            tokens: creds.to_bytes(TokenFileFormat::Writable),
            resource: Resource::new(a.sub.am.resource.memory_mb, a.sub.am.resource.vcores),
        };
        let nm = self.nodes[&node].nm.clone();
        let me = self.me.clone();
        tokio::spawn(async move {
            let result = nm.call(move |nm| nm.start(req)).await;
            if let Some(Err(e)) = result {
                me.send(move |rm| rm.container_completed(id, exit_status::INVALID, &e));
            }
        });
    }

    /// A NodeManager started a container's process.
    pub fn container_launched(&mut self, id: ContainerId) {
        let Some(rec) = self.containers.get(&id) else {
            return;
        };
        let node = self.nodes.get(&rec.node).map(|n| n.id.to_string());
        let kind = rec.kind;
        self.journal.write(Event {
            app: Some(id.application_attempt_id.application_id.to_string()),
            attempt: Some(id.application_attempt_id.to_string()),
            container: Some(id.to_string()),
            node,
            ..Event::new("container_launched")
        });
        if kind == ContainerKind::Am {
            let app = id.application_attempt_id.application_id.id as u32;
            let is_current = self
                .apps
                .get(&app)
                .and_then(|a| a.current())
                .is_some_and(|t| t.am_container == Some(id) && t.state == AttemptState::Allocated);
            if is_current {
                if let Some(a) = self.apps.get_mut(&app)
                    && a.launch_time == 0
                {
                    a.launch_time = now_ms();
                }
                self.set_attempt_state(app, AttemptState::Launched);
            }
        }
    }

    /// A container ended (reported by its NM, or decided by the RM). Ignored when already complete.
    pub fn container_completed(&mut self, id: ContainerId, status: i32, diagnostics: &str) {
        let Some(rec) = self.containers.get_mut(&id) else {
            return;
        };
        if rec.complete {
            return;
        }
        rec.complete = true;
        rec.exit_status = status;
        rec.finished = now_ms();
        let (kind, key, resource) = (rec.kind, rec.key, rec.resource);
        self.sched.container_finished(key);
        self.journal.write(Event {
            app: Some(id.application_attempt_id.application_id.to_string()),
            attempt: Some(id.application_attempt_id.to_string()),
            container: Some(id.to_string()),
            exit_status: Some(status),
            reason: (!diagnostics.is_empty()).then(|| diagnostics.to_string()),
            ..Event::new("container_completed")
        });
        let app = key.app;
        match kind {
            ContainerKind::Am => self.am_container_completed(app, id, status, diagnostics),
            ContainerKind::Task => {
                if let Some(attempt) = self.apps.get_mut(&app).and_then(|a| a.current_mut())
                    && !matches!(
                        attempt.state,
                        AttemptState::Finished | AttemptState::Failed | AttemptState::Killed
                    )
                {
                    attempt.new_allocated.retain(|c| *c != id);
                    attempt.completed.push(pb::ContainerStatusProto {
                        container_id: Some(id.into()),
                        state: Some(pb::ContainerStateProto::CComplete as i32),
                        diagnostics: Some(diagnostics.to_string()),
                        exit_status: Some(status),
                        capability: Some(Resource::new(resource.memory_mb, resource.vcores).into()),
                        ..Default::default()
                    });
                }
            }
        }
    }

    fn am_container_completed(
        &mut self,
        app: u32,
        id: ContainerId,
        status: i32,
        diagnostics: &str,
    ) {
        let Some(a) = self.apps.get(&app) else { return };
        let Some(attempt) = a.current() else { return };
        if attempt.am_container != Some(id) {
            return;
        }
        match attempt.state {
            AttemptState::Finishing => {
                self.set_attempt_state(app, AttemptState::Finished);
                self.end_app_in_scheduler(app);
            }
            AttemptState::Finished | AttemptState::Killed | AttemptState::Failed => {}
            _ if attempt.expired.is_some() => {
                let diag = attempt.expired.clone().unwrap_or_default();
                self.fail_attempt(app, exit_status::INVALID, diag);
            }
            _ => {
                let attempt_id = attempt.id;
                let diag = format!(
                    "AM Container for {attempt_id} exited with  exitCode: {status}\n\
                     Failing this attempt.Diagnostics: {diagnostics}"
                );
                self.fail_attempt(app, status, diag);
            }
        }
    }

    /// Fails the current attempt; starts another one or fails the application.
    fn fail_attempt(&mut self, app: u32, status: i32, diag: String) {
        let counts = !matches!(
            status,
            exit_status::ABORTED
                | exit_status::PREEMPTED
                | exit_status::DISKS_FAILED
                | exit_status::KILLED_BY_RESOURCEMANAGER
        );
        let Some(a) = self.apps.get_mut(&app) else {
            return;
        };
        if counts {
            a.failed_attempts += 1;
        }
        if let Some(t) = a.current_mut() {
            t.diagnostics = diag.clone();
        }
        let retry = a.failed_attempts < a.max_attempts;
        let keep = a.sub.keep_containers;
        let failed_attempts = a.failed_attempts;
        self.set_attempt_state(app, AttemptState::Failed);
        self.sched.am_finished(app);
        if retry {
            if !keep {
                self.kill_app_containers(
                    app,
                    exit_status::ABORTED,
                    "Container of a completed attempt",
                    false,
                );
            }
            let next = self.apps[&app].attempts.len() as u32 + 1;
            self.sched.new_attempt(app, next);
            self.new_attempt(app, next);
            if let Some(a) = self.apps.get_mut(&app) {
                a.diagnostics = diag;
            }
            self.set_app_state(app, YarnApplicationState::Accepted);
        } else {
            let app_id = self.app_id(app);
            let a = self.apps.get_mut(&app).expect("known app");
            a.diagnostics = format!(
                "Application {app_id} failed {failed_attempts} times due to {diag}. Failing the application."
            );
            a.final_status = FinalApplicationStatus::Failed;
            self.kill_app_containers(
                app,
                exit_status::ABORTED,
                "Container of a failed application",
                false,
            );
            self.set_app_state(app, YarnApplicationState::Failed);
            self.end_app_in_scheduler(app);
        }
    }

    /// Removes the application from the scheduler; whatever of it still runs is ended.
    fn end_app_in_scheduler(&mut self, app: u32) {
        let live: Vec<ContainerId> = self
            .sched
            .remove_app(app)
            .into_iter()
            .map(|k| self.container_id(k))
            .collect();
        for id in live {
            self.end_container(
                id,
                exit_status::KILLED_AFTER_APP_COMPLETION,
                "Container killed after the application completed",
            );
        }
    }

    /// Ends every live container of `app` (on its NM too) with `status`.
    fn kill_app_containers(&mut self, app: u32, status: i32, diag: &str, include_am: bool) {
        let live: Vec<ContainerId> = self
            .containers
            .iter()
            .filter(|(_, r)| {
                r.key.app == app && !r.complete && (include_am || r.kind != ContainerKind::Am)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in live {
            self.end_container(id, status, diag);
        }
    }

    /// Ends a live container: the RM accounts for it now, its NM stops the process.
    fn end_container(&mut self, id: ContainerId, status: i32, diag: &str) {
        let Some(node) = self.containers.get(&id).map(|r| r.node) else {
            return;
        };
        if let Some(n) = self.nodes.get(&node) {
            let d = diag.to_string();
            n.nm.send(move |nm| {
                nm.stop(id, status, &d, false);
            });
        }
        self.container_completed(id, status, diag);
    }

    fn set_attempt_state(&mut self, app: u32, state: AttemptState) {
        let Some(t) = self.apps.get_mut(&app).and_then(|a| a.current_mut()) else {
            return;
        };
        if t.state == state {
            return;
        }
        t.state = state;
        if matches!(
            state,
            AttemptState::Finished | AttemptState::Failed | AttemptState::Killed
        ) {
            t.finish_time = now_ms();
        }
        let id = t.id;
        self.journal.write(Event {
            app: Some(id.application_id.to_string()),
            attempt: Some(id.to_string()),
            state: Some(state.as_str().into()),
            ..Event::new("attempt_state")
        });
    }

    fn set_app_state(&mut self, app: u32, state: YarnApplicationState) {
        let Some(a) = self.apps.get_mut(&app) else {
            return;
        };
        if a.state == state {
            return;
        }
        a.state = state;
        if is_terminal(state) {
            a.finish_time = now_ms();
            match state {
                YarnApplicationState::Finished => self.apps_completed += 1,
                YarnApplicationState::Failed => self.apps_failed += 1,
                _ => self.apps_killed += 1,
            }
        }
        let reason = is_terminal(state)
            .then(|| a.diagnostics.clone())
            .filter(|d| !d.is_empty());
        let id = self.app_id(app);
        if is_terminal(state) {
            for n in self.nodes.values() {
                n.nm.send(move |nm| nm.application_finished(id));
            }
        }
        self.journal.write(Event {
            app: Some(id.to_string()),
            state: Some(state.as_str().into()),
            reason,
            ..Event::new("app_state")
        });
    }

    fn new_attempt(&mut self, app: u32, number: u32) {
        let id = self.attempt_id(app, number);
        let a = self.apps.get_mut(&app).expect("known app");
        a.attempts.push(Attempt {
            id,
            state: AttemptState::Scheduled,
            am_container: None,
            am_node: None,
            start_time: now_ms(),
            finish_time: 0,
            registered: false,
            last_response: None,
            new_allocated: Vec::new(),
            completed: Vec::new(),
            updated_nodes: Vec::new(),
            nm_token_nodes: BTreeSet::new(),
            preempt: Vec::new(),
            last_seen: std::time::Instant::now(),
            diagnostics: String::new(),
            expired: None,
        });
        self.journal.write(Event {
            app: Some(id.application_id.to_string()),
            attempt: Some(id.to_string()),
            state: Some(AttemptState::Scheduled.as_str().into()),
            ..Event::new("attempt_state")
        });
    }

    // -----------------------------------------------------------------------------------------
    // Applications (REST)
    // -----------------------------------------------------------------------------------------

    /// new-application: reserves the next id.
    pub fn new_application(&mut self) -> (ApplicationId, Res) {
        let id = self.app_id(self.next_app);
        self.next_app += 1;
        (id, self.sched.conf().max_allocation)
    }

    /// Submits an application: NEW → SUBMITTED → ACCEPTED, its first attempt waiting for an AM
    /// container.
    pub fn submit(&mut self, sub: Submission) -> Result<(), RestFailure> {
        let id = sub.id;
        if id.cluster_timestamp != self.conf.cluster_timestamp
            || id.id <= 0
            || id.id as u32 >= self.next_app
        {
            return Err(RestFailure::bad_request(format!(
                "{id} was not issued by this ResourceManager; get an id from \
                 POST /ws/v1/cluster/apps/new-application"
            )));
        }
        let key = id.id as u32;
        if self.apps.contains_key(&key) {
            return Err(RestFailure::bad_request(format!(
                "Application with id {id} is already present! Cannot add a duplicate!"
            )));
        }
        self.sched
            .add_app(key, &sub.queue, sub.am.resource)
            .map_err(|e| match e {
                SchedError::UnknownQueue { queue, known, .. } => RestFailure::bad_request(format!(
                    "Application {id} submitted by user {} to unknown queue: {queue}; \
                     known queues: {known}",
                    sub.user
                )),
                other => RestFailure::bad_request(other.to_string()),
            })?;
        let global = self.conf.max_attempts;
        let max_attempts = if sub.max_attempts <= 0 || sub.max_attempts as u32 > global {
            global
        } else {
            sub.max_attempts as u32
        };
        self.apps.insert(
            key,
            App {
                key,
                sub,
                state: YarnApplicationState::New,
                final_status: FinalApplicationStatus::Undefined,
                diagnostics: String::new(),
                submit_time: now_ms(),
                launch_time: 0,
                finish_time: 0,
                attempts: Vec::new(),
                max_attempts,
                failed_attempts: 0,
                original_tracking_url: None,
                am_rpc: None,
                progress: 0.0,
            },
        );
        self.journal.write(Event {
            app: Some(id.to_string()),
            state: Some("NEW".into()),
            ..Event::new("app_state")
        });
        self.set_app_state(key, YarnApplicationState::Submitted);
        self.new_attempt(key, 1);
        self.set_app_state(key, YarnApplicationState::Accepted);
        Ok(())
    }

    /// Kills an application (REST `PUT .../state` KILLED): every container ends.
    pub fn kill(
        &mut self,
        id: ApplicationId,
        diagnostics: Option<String>,
    ) -> Result<String, RestFailure> {
        let key = self
            .app_key(id)
            .ok_or_else(|| RestFailure::not_found(format!("app with id: {id} not found")))?;
        let state = self.apps[&key].state;
        if is_terminal(state) {
            return Ok(state.as_str().into());
        }
        let a = self.apps.get_mut(&key).expect("known app");
        a.final_status = FinalApplicationStatus::Killed;
        a.diagnostics = diagnostics.unwrap_or_else(|| "Application killed by user.".into());
        // States first: the AM container ending below must not look like an AM failure.
        self.set_attempt_state(key, AttemptState::Killed);
        self.set_app_state(key, YarnApplicationState::Killed);
        self.kill_app_containers(
            key,
            exit_status::KILLED_BY_RESOURCEMANAGER,
            "Container killed by the ResourceManager",
            true,
        );
        self.end_app_in_scheduler(key);
        Ok(YarnApplicationState::Killed.as_str().into())
    }

    // -----------------------------------------------------------------------------------------
    // ApplicationMasterProtocol
    // -----------------------------------------------------------------------------------------

    fn attempt_for(&self, id: ApplicationAttemptId) -> Result<u32, YarnError> {
        let not_found = || {
            YarnError::new(
                ATTEMPT_NOT_FOUND,
                format!(
                    "Application attempt {id} doesn't exist in ApplicationMasterService cache."
                ),
            )
        };
        let key = self.app_key(id.application_id).ok_or_else(not_found)?;
        let a = &self.apps[&key];
        match a.current() {
            Some(t) if t.id == id => Ok(key),
            _ => Err(not_found()),
        }
    }

    /// registerApplicationMaster.
    pub fn register(
        &mut self,
        id: ApplicationAttemptId,
        req: pb::RegisterApplicationMasterRequestProto,
    ) -> Result<pb::RegisterApplicationMasterResponseProto, YarnError> {
        let key = self.attempt_for(id)?;
        let a = &self.apps[&key];
        let t = a.current().expect("current attempt");
        if t.registered {
            return Err(YarnError::new(
                INVALID_AM_REQUEST,
                format!(
                    "Application Master is already registered : {}",
                    id.application_id
                ),
            ));
        }
        if matches!(
            t.state,
            AttemptState::Finished | AttemptState::Failed | AttemptState::Killed
        ) {
            return Err(YarnError::new(
                INVALID_AM_REQUEST,
                format!("Application attempt {id} has already ended"),
            ));
        }
        let user = a.sub.user.clone();
        let queue = a.sub.queue.clone();
        let keep = a.sub.keep_containers;
        // Containers of earlier attempts that are still alive (work-preserving AM restart).
        let previous: Vec<ContainerId> = if keep {
            let mut v: Vec<ContainerId> = self
                .containers
                .iter()
                .filter(|(cid, r)| {
                    r.key.app == key
                        && !r.complete
                        && r.kind == ContainerKind::Task
                        && cid.application_attempt_id != id
                })
                .map(|(cid, _)| *cid)
                .collect();
            v.sort();
            v
        } else {
            Vec::new()
        };
        let previous_protos: Vec<pb::ContainerProto> = previous
            .iter()
            .map(|c| self.container_proto(*c, &user))
            .collect();
        let mut nodes = BTreeSet::new();
        for c in &previous {
            nodes.insert(self.containers[c].node);
        }
        let nm_tokens: Vec<pb::NmTokenProto> = nodes
            .iter()
            .map(|n| self.nm_token_proto(id, *n, &user))
            .collect();
        let host = req.host.clone().unwrap_or_default();
        let port = req.rpc_port.unwrap_or(-1);
        let a = self.apps.get_mut(&key).expect("known app");
        if a.launch_time == 0 {
            // The AM can register before its NM's launch report has been handled.
            a.launch_time = now_ms();
        }
        a.am_rpc = Some(format!("{host}:{port}"));
        a.original_tracking_url = req.tracking_url.clone().filter(|u| !u.trim().is_empty());
        let t = a.current_mut().expect("current attempt");
        t.registered = true;
        t.last_seen = std::time::Instant::now();
        t.nm_token_nodes.extend(nodes);
        t.last_response = Some(pb::AllocateResponseProto {
            response_id: Some(0),
            ..Default::default()
        });
        self.set_attempt_state(key, AttemptState::Running);
        self.set_app_state(key, YarnApplicationState::Running);
        let max = self.sched.conf().max_allocation;
        Ok(pb::RegisterApplicationMasterResponseProto {
            maximum_capability: Some(Resource::new(max.memory_mb, max.vcores).into()),
            application_acls: vec![
                pb::ApplicationAclMapProto {
                    access_type: Some(pb::ApplicationAccessTypeProto::AppaccessViewApp as i32),
                    acl: Some(" ".into()),
                },
                pb::ApplicationAclMapProto {
                    access_type: Some(pb::ApplicationAccessTypeProto::AppaccessModifyApp as i32),
                    acl: Some(" ".into()),
                },
            ],
            containers_from_previous_attempts: previous_protos,
            queue: Some(queue),
            nm_tokens_from_previous_attempts: nm_tokens,
            scheduler_resource_types: vec![
                pb::SchedulerResourceTypes::Memory as i32,
                pb::SchedulerResourceTypes::Cpu as i32,
            ],
            ..Default::default()
        })
    }

    fn container_proto(&self, id: ContainerId, user: &str) -> pb::ContainerProto {
        let rec = &self.containers[&id];
        let node = &self.nodes[&rec.node];
        let resource = Resource::new(rec.resource.memory_mb, rec.resource.vcores);
        let token = self.secrets.container_token(&ContainerGrant {
            container: id,
            node: &node.id,
            user,
            resource,
            priority: rec.priority,
            rm_identifier: self.conf.cluster_timestamp,
            now_ms: now_ms(),
            am: rec.kind == ContainerKind::Am,
            allocation_request_id: rec.allocation_request_id,
        });
        pb::ContainerProto {
            id: Some(id.into()),
            node_id: Some((&node.id).into()),
            node_http_address: Some(node.http_address.clone()),
            resource: Some(resource.into()),
            priority: Some(pb::PriorityProto {
                priority: Some(rec.priority),
            }),
            container_token: Some((&token).into()),
            execution_type: Some(pb::ExecutionTypeProto::Guaranteed as i32),
            allocation_request_id: Some(rec.allocation_request_id),
            version: Some(0),
            ..Default::default()
        }
    }

    fn nm_token_proto(
        &self,
        attempt: ApplicationAttemptId,
        node: NodeKey,
        user: &str,
    ) -> pb::NmTokenProto {
        let n = &self.nodes[&node];
        let token: Token = self.secrets.nm_token(attempt, &n.id, user);
        pb::NmTokenProto {
            node_id: Some((&n.id).into()),
            token: Some((&token).into()),
        }
    }

    /// allocate.
    pub fn allocate(
        &mut self,
        id: ApplicationAttemptId,
        req: pb::AllocateRequestProto,
    ) -> Result<pb::AllocateResponseProto, YarnError> {
        let key = self.attempt_for(id)?;
        let a = &self.apps[&key];
        let t = a.current().expect("current attempt");
        if !t.registered {
            return Err(YarnError::new(
                AM_NOT_REGISTERED,
                format!(
                    "AM is not registered for known application attempt: {id} or RM had restarted \
                     after AM registered. AM should re-register."
                ),
            ));
        }
        let last = t.last_response.clone().unwrap_or_default();
        let last_id = last.response_id.unwrap_or(0);
        let rid = req.response_id.unwrap_or(0);
        if rid.wrapping_add(1) & 0x7FFF_FFFF == last_id && rid != last_id {
            return Ok(last);
        }
        if rid != last_id {
            return Err(YarnError::new(
                INVALID_AM_REQUEST,
                format!(
                    "Invalid responseId in AllocateRequest from application attempt: {id}, expect \
                     responseId to be {last_id}, but get {rid}"
                ),
            ));
        }
        if matches!(t.state, AttemptState::Finishing | AttemptState::Finished) {
            // An AM that keeps allocating after unregistering is told to shut down.
            let mut r = last;
            r.a_m_command = Some(pb::AmCommandProto::AmShutdown as i32);
            return Ok(r);
        }
        // Validate every ask before anything changes, as YARN does.
        let asks: Vec<Ask> = req
            .ask
            .iter()
            .map(|r| {
                let cap = r
                    .capability
                    .as_ref()
                    .map(Resource::from)
                    .unwrap_or_default();
                Ask {
                    priority: r.priority.as_ref().and_then(|p| p.priority).unwrap_or(0),
                    resource_name: r.resource_name.clone().unwrap_or_else(|| "*".into()),
                    capability: Res::new(cap.memory_mb, cap.vcores),
                    num_containers: r.num_containers.unwrap_or(0),
                    relax_locality: r.relax_locality.unwrap_or(true),
                    allocation_request_id: r.allocation_request_id.unwrap_or(-1),
                }
            })
            .collect();
        let mut releases = Vec::new();
        for r in &req.release {
            let cid = ContainerId::try_from(r).map_err(|e| {
                YarnError::new(
                    INVALID_CONTAINER_RELEASE,
                    format!("bad container id in release: {e}"),
                )
            })?;
            if cid.application_attempt_id.application_id != id.application_id {
                return Err(YarnError::new(
                    INVALID_CONTAINER_RELEASE,
                    format!(
                        "Cannot release container : {cid} not belonging to this application attempt : {id}"
                    ),
                ));
            }
            releases.push(cid);
        }
        self.sched.update_asks(key, &asks).map_err(|e| match e {
            SchedError::InvalidResourceRequest(m) => YarnError::new(INVALID_RESOURCE_REQUEST, m),
            other => YarnError::new(INVALID_RESOURCE_REQUEST, other.to_string()),
        })?;
        // Statuses of containers that completed before this call; releases below complete in the
        // next response, as the RM processes them after answering.
        let completed = self
            .apps
            .get_mut(&key)
            .and_then(|a| a.current_mut())
            .map(|t| std::mem::take(&mut t.completed))
            .unwrap_or_default();
        for cid in releases {
            let live = self.containers.get(&cid).is_some_and(|r| !r.complete);
            if live {
                self.journal.write(Event {
                    app: Some(id.application_id.to_string()),
                    attempt: Some(id.to_string()),
                    container: Some(cid.to_string()),
                    ..Event::new("container_released")
                });
                self.end_container(
                    cid,
                    exit_status::ABORTED,
                    "Container released by application",
                );
            }
        }
        let user = self.apps[&key].sub.user.clone();
        let a = self.apps.get_mut(&key).expect("known app");
        if let Some(p) = req.progress {
            a.progress = p.clamp(0.0, 1.0);
        }
        if let Some(u) = req.tracking_url.clone().filter(|u| !u.trim().is_empty()) {
            a.original_tracking_url = Some(u);
        }
        let t = a.current_mut().expect("current attempt");
        t.last_seen = std::time::Instant::now();
        let new_ids = std::mem::take(&mut t.new_allocated);
        let updated_nodes = std::mem::take(&mut t.updated_nodes);
        let preempt = std::mem::take(&mut t.preempt);
        let mut token_nodes = Vec::new();
        for c in &new_ids {
            if let Some(rec) = self.containers.get(c)
                && !t.nm_token_nodes.contains(&rec.node)
            {
                t.nm_token_nodes.insert(rec.node);
                token_nodes.push(rec.node);
            }
        }
        let allocated: Vec<pb::ContainerProto> = new_ids
            .iter()
            .filter(|c| self.containers.get(c).is_some_and(|r| !r.complete))
            .map(|c| self.container_proto(*c, &user))
            .collect();
        let nm_tokens = token_nodes
            .iter()
            .map(|n| self.nm_token_proto(id, *n, &user))
            .collect();
        let headroom = self.sched.headroom(key);
        let preempt_msg = (!preempt.is_empty()).then(|| {
            let containers: Vec<pb::PreemptionContainerProto> = preempt
                .iter()
                .map(|c| pb::PreemptionContainerProto {
                    id: Some((*c).into()),
                })
                .collect();
            pb::PreemptionMessageProto {
                strict_contract: Some(pb::StrictPreemptionContractProto {
                    container: containers.clone(),
                }),
                contract: Some(pb::PreemptionContractProto {
                    resource: Vec::new(),
                    container: containers,
                }),
            }
        });
        let response = pb::AllocateResponseProto {
            response_id: Some(last_id.wrapping_add(1) & 0x7FFF_FFFF),
            allocated_containers: allocated,
            completed_container_statuses: completed,
            limit: Some(Resource::new(headroom.memory_mb, headroom.vcores).into()),
            updated_nodes,
            num_cluster_nodes: Some(self.nodes.values().filter(|n| !n.lost).count() as i32),
            preempt: preempt_msg,
            nm_tokens,
            application_priority: Some(pb::PriorityProto {
                priority: Some(self.apps[&key].sub.priority),
            }),
            ..Default::default()
        };
        if let Some(t) = self.apps.get_mut(&key).and_then(|a| a.current_mut()) {
            t.last_response = Some(response.clone());
        }
        // The AM has been told; the preempted containers now go.
        for c in preempt {
            self.end_container(
                c,
                exit_status::PREEMPTED,
                "Container preempted by scheduler",
            );
        }
        Ok(response)
    }

    /// finishApplicationMaster.
    pub fn finish(
        &mut self,
        id: ApplicationAttemptId,
        req: pb::FinishApplicationMasterRequestProto,
    ) -> Result<pb::FinishApplicationMasterResponseProto, YarnError> {
        let key = self.attempt_for(id)?;
        let a = &self.apps[&key];
        let t = a.current().expect("current attempt");
        if !t.registered {
            return Err(YarnError::new(
                AM_NOT_REGISTERED,
                format!(
                    "Application Master is trying to unregister before registering for: {id}; \
                     register first"
                ),
            ));
        }
        if matches!(t.state, AttemptState::Finishing | AttemptState::Finished) {
            return Ok(pb::FinishApplicationMasterResponseProto {
                is_unregistered: Some(true),
            });
        }
        let status = req
            .final_application_status
            .and_then(|s| pb::FinalApplicationStatusProto::try_from(s).ok())
            .unwrap_or(pb::FinalApplicationStatusProto::AppUndefined);
        let final_status = match status {
            pb::FinalApplicationStatusProto::AppSucceeded => FinalApplicationStatus::Succeeded,
            pb::FinalApplicationStatusProto::AppFailed => FinalApplicationStatus::Failed,
            pb::FinalApplicationStatusProto::AppKilled => FinalApplicationStatus::Killed,
            pb::FinalApplicationStatusProto::AppEnded => FinalApplicationStatus::Ended,
            pb::FinalApplicationStatusProto::AppUndefined => FinalApplicationStatus::Undefined,
        };
        let a = self.apps.get_mut(&key).expect("known app");
        a.final_status = final_status;
        a.diagnostics = req.diagnostics.clone().unwrap_or_default();
        if let Some(u) = req.tracking_url.clone().filter(|u| !u.trim().is_empty()) {
            a.original_tracking_url = Some(u);
        }
        a.progress = 1.0;
        self.set_attempt_state(key, AttemptState::Finishing);
        self.sched.am_finished(key);
        self.kill_app_containers(
            key,
            exit_status::KILLED_AFTER_APP_COMPLETION,
            "Container killed because the application unregistered",
            false,
        );
        self.set_app_state(key, YarnApplicationState::Finished);
        // The AM process gets a grace period to exit by itself.
        if let Some(am) = self.apps[&key].current().and_then(|t| t.am_container) {
            let me = self.me.clone();
            let grace = self.conf.am_finish_grace;
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                me.send(move |rm| {
                    rm.end_container(
                        am,
                        exit_status::KILLED_BY_RESOURCEMANAGER,
                        "AM did not exit after unregistering",
                    );
                });
            });
        }
        Ok(pb::FinishApplicationMasterResponseProto {
            is_unregistered: Some(true),
        })
    }

    fn expire_silent_ams(&mut self) {
        let expiry = self.conf.am_expiry;
        let expired: Vec<(u32, ApplicationAttemptId)> = self
            .apps
            .values()
            .filter_map(|a| a.current().map(|t| (a.key, t)))
            .filter(|(_, t)| t.state == AttemptState::Running && t.last_seen.elapsed() > expiry)
            .map(|(k, t)| (k, t.id))
            .collect();
        for (app, attempt) in expired {
            let diag = format!("ApplicationMaster for attempt {attempt} timed out");
            let Some(t) = self.apps.get_mut(&app).and_then(|a| a.current_mut()) else {
                continue;
            };
            t.expired = Some(diag.clone());
            match t.am_container {
                // The attempt fails (and counts) when its container is gone.
                Some(am) => {
                    self.end_container(am, exit_status::KILLED_BY_RESOURCEMANAGER, "the AM expired")
                }
                None => self.fail_attempt(app, exit_status::INVALID, diag),
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Fault injection
    // -----------------------------------------------------------------------------------------

    /// Which NM runs a container.
    pub fn container_nm(&self, id: ContainerId) -> Option<NmHandle> {
        let rec = self.containers.get(&id)?;
        self.nodes.get(&rec.node).map(|n| n.nm.clone())
    }

    /// Loses a node: its containers end with −100, it leaves the node list, AMs hear of it.
    pub fn lose_node(&mut self, node_id: &str) -> Result<(), RestFailure> {
        let (key, _) = self
            .nodes
            .iter()
            .find(|(_, n)| n.id.to_string() == node_id && !n.lost)
            .ok_or_else(|| RestFailure::not_found(format!("node {node_id} not found")))?;
        let key = *key;
        let n = self.nodes.get_mut(&key).expect("known node");
        n.lost = true;
        n.nm.send(|nm| nm.lose());
        let report = pb::NodeReportProto {
            node_id: Some((&n.id).into()),
            http_address: Some(n.http_address.clone()),
            rack_name: Some("/default-rack".into()),
            node_state: Some(pb::NodeStateProto::NsLost as i32),
            num_containers: Some(0),
            ..Default::default()
        };
        self.journal.write(Event {
            node: Some(node_id.to_string()),
            state: Some("LOST".into()),
            ..Event::new("node_lost")
        });
        for k in self.sched.remove_node(key) {
            let id = self.container_id(k);
            self.container_completed(
                id,
                exit_status::ABORTED,
                "Container released on a *lost* node",
            );
        }
        for a in self.apps.values_mut() {
            if let Some(t) = a.current_mut()
                && t.registered
                && !matches!(
                    t.state,
                    AttemptState::Finished | AttemptState::Failed | AttemptState::Killed
                )
            {
                t.updated_nodes.push(report.clone());
            }
        }
        Ok(())
    }

    /// Marks a container for preemption: the AM hears first, then it ends with −102.
    pub fn preempt(&mut self, id: ContainerId) -> Result<(), RestFailure> {
        let live = self.containers.get(&id).is_some_and(|r| !r.complete);
        if !live {
            return Err(RestFailure::not_found(format!(
                "container {id} is not running"
            )));
        }
        let app = id.application_attempt_id.application_id.id as u32;
        let Some(t) = self.apps.get_mut(&app).and_then(|a| a.current_mut()) else {
            return Err(RestFailure::not_found(format!(
                "container {id} has no application"
            )));
        };
        if t.registered && t.state == AttemptState::Running {
            t.preempt.push(id);
        } else {
            self.end_container(
                id,
                exit_status::PREEMPTED,
                "Container preempted by scheduler",
            );
        }
        Ok(())
    }

    /// Grants an application `count` unrequested containers once its asks are met.
    pub fn extra_containers(&mut self, id: ApplicationId, count: u32) -> Result<(), RestFailure> {
        let key = self
            .app_key(id)
            .ok_or_else(|| RestFailure::not_found(format!("app with id: {id} not found")))?;
        self.sched.add_extra_containers(key, count);
        Ok(())
    }

    /// Every node's NM (for shutdown).
    pub fn all_nms(&self) -> Vec<NmHandle> {
        self.nodes.values().map(|n| n.nm.clone()).collect()
    }

    // -----------------------------------------------------------------------------------------
    // ApplicationClientProtocol (the RPC front door; the same state the REST API reports)
    // -----------------------------------------------------------------------------------------

    fn not_found(id: ApplicationId) -> YarnError {
        YarnError::new(
            APP_NOT_FOUND,
            format!(
                "Application with id '{id}' doesn't exist in RM. Please check that the job \
                 submission was successful."
            ),
        )
    }

    /// An application's report as `getApplicationReport` answers it.
    fn app_report_proto(&self, a: &App) -> pb::ApplicationReportProto {
        let id = self.app_id(a.key);
        let finished = is_terminal(a.state);
        // Before the AM registers YARN reports host "N/A" and port -1.
        let (host, port) = a
            .am_rpc
            .as_deref()
            .and_then(|r| r.rsplit_once(':'))
            .map(|(h, p)| (h.to_string(), p.parse().unwrap_or(-1)))
            .unwrap_or_else(|| ("N/A".into(), -1));
        let used = self.sched.app_used(a.key);
        let running = self
            .containers
            .values()
            .filter(|r| r.key.app == a.key && !r.complete)
            .count() as i32;
        let state: pb::YarnApplicationStateProto = a.state.into();
        let final_status: pb::FinalApplicationStatusProto = a.final_status.into();
        pb::ApplicationReportProto {
            application_id: Some(id.into()),
            user: Some(a.sub.user.clone()),
            queue: Some(a.sub.queue.clone()),
            name: Some(a.sub.name.clone()),
            host: Some(host),
            rpc_port: Some(port),
            yarn_application_state: Some(state as i32),
            tracking_url: Some(self.tracking_url(a).unwrap_or_else(|| "N/A".into())),
            diagnostics: Some(a.diagnostics.clone()),
            start_time: Some(a.submit_time),
            finish_time: Some(a.finish_time),
            final_application_status: Some(final_status as i32),
            app_resource_usage: Some(pb::ApplicationResourceUsageReportProto {
                num_used_containers: Some(if finished { 0 } else { running }),
                num_reserved_containers: Some(0),
                used_resources: Some(Resource::new(used.memory_mb, used.vcores).into()),
                reserved_resources: Some(Resource::default().into()),
                needed_resources: Some(Resource::new(used.memory_mb, used.vcores).into()),
                ..Default::default()
            }),
            original_tracking_url: Some(
                a.original_tracking_url
                    .clone()
                    .unwrap_or_else(|| "N/A".into()),
            ),
            current_application_attempt_id: a.current().map(|t| t.id.into()),
            progress: Some(if finished { 1.0 } else { a.progress }),
            application_type: Some(a.sub.app_type.clone()),
            application_tags: a.sub.tags.clone(),
            unmanaged_application: Some(false),
            priority: Some(pb::PriorityProto {
                priority: Some(a.sub.priority),
            }),
            launch_time: Some(a.launch_time),
            submit_time: Some(a.submit_time),
            ..Default::default()
        }
    }

    /// `submitApplication`: a second submission of a known id is accepted and ignored, as YARN's
    /// ClientRMService does (a client that lost the answer retries).
    pub fn client_submit(&mut self, sub: Submission) -> Result<(), YarnError> {
        if self.app_key(sub.id).is_some() {
            return Ok(());
        }
        self.submit(sub)
            .map_err(|e| YarnError::new(YARN_EXCEPTION, e.message))
    }

    /// `getApplicationReport`.
    pub fn client_app_report(
        &self,
        id: ApplicationId,
    ) -> Result<pb::ApplicationReportProto, YarnError> {
        let key = self.app_key(id).ok_or_else(|| Self::not_found(id))?;
        Ok(self.app_report_proto(&self.apps[&key]))
    }

    /// `getApplications`, with YARN's filters (types and tags compared without case).
    pub fn client_apps(
        &self,
        req: &pb::GetApplicationsRequestProto,
    ) -> Vec<pb::ApplicationReportProto> {
        let in_range = |t: i64, begin: Option<i64>, end: Option<i64>| {
            begin.is_none_or(|b| t >= b) && end.is_none_or(|e| t <= e)
        };
        let limit = req.limit.filter(|l| *l > 0).unwrap_or(i64::MAX) as usize;
        self.apps
            .values()
            .filter(|a| {
                req.application_types.is_empty()
                    || req
                        .application_types
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(&a.sub.app_type))
            })
            .filter(|a| {
                let s: pb::YarnApplicationStateProto = a.state.into();
                req.application_states.is_empty() || req.application_states.contains(&(s as i32))
            })
            .filter(|a| req.users.is_empty() || req.users.contains(&a.sub.user))
            .filter(|a| req.queues.is_empty() || req.queues.contains(&a.sub.queue))
            .filter(|a| {
                req.application_tags.is_empty()
                    || req
                        .application_tags
                        .iter()
                        .any(|t| a.sub.tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
            })
            .filter(|a| req.name.as_ref().is_none_or(|n| *n == a.sub.name))
            .filter(|a| in_range(a.submit_time, req.start_begin, req.start_end))
            .filter(|a| {
                (req.finish_begin.is_none() && req.finish_end.is_none())
                    || (a.finish_time > 0
                        && in_range(a.finish_time, req.finish_begin, req.finish_end))
            })
            .take(limit)
            .map(|a| self.app_report_proto(a))
            .collect()
    }

    /// `getApplicationAttemptReport`.
    pub fn client_attempt_report(
        &self,
        id: ApplicationAttemptId,
    ) -> Result<pb::ApplicationAttemptReportProto, YarnError> {
        let key = self
            .app_key(id.application_id)
            .ok_or_else(|| Self::not_found(id.application_id))?;
        let a = &self.apps[&key];
        let t = a.attempts.iter().find(|t| t.id == id).ok_or_else(|| {
            YarnError::new(
                ATTEMPT_NOT_FOUND,
                format!("ApplicationAttempt with id '{id}' doesn't exist in RM."),
            )
        })?;
        let state = match t.state {
            AttemptState::Scheduled => pb::YarnApplicationAttemptStateProto::AppAttemptScheduled,
            AttemptState::Allocated => pb::YarnApplicationAttemptStateProto::AppAttemptAllocated,
            AttemptState::Launched => pb::YarnApplicationAttemptStateProto::AppAttemptLaunched,
            AttemptState::Running => pb::YarnApplicationAttemptStateProto::AppAttemptRunning,
            AttemptState::Finishing => pb::YarnApplicationAttemptStateProto::AppAttemptFinishing,
            AttemptState::Finished => pb::YarnApplicationAttemptStateProto::AppAttemptFinished,
            AttemptState::Failed => pb::YarnApplicationAttemptStateProto::AppAttemptFailed,
            AttemptState::Killed => pb::YarnApplicationAttemptStateProto::AppAttemptKilled,
        };
        let current = a.current().is_some_and(|c| c.id == id);
        let (host, port) = a
            .am_rpc
            .as_deref()
            .filter(|_| current && t.registered)
            .and_then(|r| r.rsplit_once(':'))
            .map(|(h, p)| (h.to_string(), p.parse().unwrap_or(-1)))
            .unwrap_or_else(|| ("N/A".into(), -1));
        Ok(pb::ApplicationAttemptReportProto {
            application_attempt_id: Some(id.into()),
            host: Some(host),
            rpc_port: Some(port),
            tracking_url: Some(self.tracking_url(a).unwrap_or_else(|| "N/A".into())),
            diagnostics: Some(t.diagnostics.clone()),
            yarn_application_attempt_state: Some(state as i32),
            am_container_id: t.am_container.map(Into::into),
            original_tracking_url: Some(
                a.original_tracking_url
                    .clone()
                    .unwrap_or_else(|| "N/A".into()),
            ),
            start_time: Some(t.start_time),
            finish_time: Some(t.finish_time),
        })
    }

    /// `forceKillApplication`: the kill completes before the answer (`is_kill_completed`).
    pub fn client_kill(
        &mut self,
        id: ApplicationId,
        diagnostics: Option<String>,
    ) -> Result<pb::KillApplicationResponseProto, YarnError> {
        if self.app_key(id).is_none() {
            return Err(YarnError::new(
                APP_NOT_FOUND,
                format!("Trying to kill an absent application {id}"),
            ));
        }
        let diagnostics = diagnostics
            .filter(|d| !d.trim().is_empty())
            .map(|d| format!("Application killed by user. Diagnostic message: {d}"));
        self.kill(id, diagnostics)
            .map_err(|e| YarnError::new(YARN_EXCEPTION, e.message))?;
        Ok(pb::KillApplicationResponseProto {
            is_kill_completed: Some(true),
        })
    }

    /// `getClusterNodes`: the nodes in `states` (all of them when empty).
    pub fn client_nodes(&self, states: &[i32]) -> Vec<pb::NodeReportProto> {
        self.nodes
            .iter()
            .filter_map(|(k, n)| {
                let state = if n.lost {
                    pb::NodeStateProto::NsLost
                } else {
                    pb::NodeStateProto::NsRunning
                };
                if !states.is_empty() && !states.contains(&(state as i32)) {
                    return None;
                }
                let (cap, used) = self.sched.node_usage(*k).unwrap_or_default();
                Some(pb::NodeReportProto {
                    node_id: Some((&n.id).into()),
                    http_address: Some(n.http_address.clone()),
                    rack_name: Some("/default-rack".into()),
                    used: Some(Resource::new(used.memory_mb, used.vcores).into()),
                    capability: Some(Resource::new(cap.memory_mb, cap.vcores).into()),
                    num_containers: Some(self.sched.node_containers(*k) as i32),
                    node_state: Some(state as i32),
                    health_report: Some(String::new()),
                    last_health_report_time: Some(n.last_heartbeat),
                    ..Default::default()
                })
            })
            .collect()
    }

    /// `getClusterMetrics`.
    pub fn client_metrics(&self) -> pb::YarnClusterMetricsProto {
        let lost = self.nodes.values().filter(|n| n.lost).count() as i32;
        pb::YarnClusterMetricsProto {
            num_node_managers: Some(self.nodes.len() as i32 - lost),
            num_decommissioned_nms: Some(0),
            num_active_nms: Some(self.nodes.len() as i32 - lost),
            num_lost_nms: Some(lost),
            num_unhealthy_nms: Some(0),
            num_rebooted_nms: Some(0),
            num_decommissioning_nms: Some(0),
            num_shutdown_nms: Some(0),
        }
    }

    /// `getQueueInfo`: `root` (with its leaves when asked) or one leaf queue.
    pub fn client_queue(
        &self,
        req: &pb::GetQueueInfoRequestProto,
    ) -> Result<pb::QueueInfoProto, YarnError> {
        let total = self.sched.cluster_capacity();
        let name = req.queue_name.as_deref().unwrap_or("root");
        let name = name.strip_prefix("root.").unwrap_or(name);
        let with_apps = req.include_applications.unwrap_or(false);
        let fraction = |used: i64, of: i64| {
            if of > 0 { used as f32 / of as f32 } else { 0.0 }
        };
        let leaf = |q: &super::scheduler::QueueConf, used: Res| {
            let guaranteed = (total.memory_mb as f64 * q.capacity_percent / 100.0) as i64;
            let apps: Vec<&App> = self
                .apps
                .values()
                .filter(|a| a.sub.queue == q.name)
                .collect();
            pb::QueueInfoProto {
                queue_name: Some(q.name.clone()),
                capacity: Some((q.capacity_percent / 100.0) as f32),
                maximum_capacity: Some((q.max_capacity_percent / 100.0) as f32),
                current_capacity: Some(fraction(used.memory_mb, guaranteed)),
                state: Some(pb::QueueStateProto::QRunning as i32),
                applications: if with_apps {
                    apps.iter().map(|a| self.app_report_proto(a)).collect()
                } else {
                    Vec::new()
                },
                queue_statistics: Some(pb::QueueStatisticsProto {
                    num_apps_submitted: Some(apps.len() as i64),
                    num_apps_running: Some(
                        apps.iter()
                            .filter(|a| a.state == YarnApplicationState::Running)
                            .count() as i64,
                    ),
                    num_apps_pending: Some(
                        apps.iter()
                            .filter(|a| a.state == YarnApplicationState::Accepted)
                            .count() as i64,
                    ),
                    allocated_memory_mb: Some(used.memory_mb),
                    allocated_v_cores: Some(used.vcores as i64),
                    available_memory_mb: Some((total.memory_mb - used.memory_mb).max(0)),
                    available_v_cores: Some((total.vcores - used.vcores).max(0) as i64),
                    ..Default::default()
                }),
                queue_path: Some(format!("root.{}", q.name)),
                scheduler_type: Some("capacityScheduler".into()),
                ..Default::default()
            }
        };
        let queues = self.sched.queues();
        if name == "root" {
            let used = self.sched.cluster_used();
            return Ok(pb::QueueInfoProto {
                queue_name: Some("root".into()),
                capacity: Some(1.0),
                maximum_capacity: Some(1.0),
                current_capacity: Some(fraction(used.memory_mb, total.memory_mb)),
                state: Some(pb::QueueStateProto::QRunning as i32),
                child_queues: if req.include_child_queues.unwrap_or(false) {
                    queues.iter().map(|(q, u)| leaf(q, *u)).collect()
                } else {
                    Vec::new()
                },
                queue_path: Some("root".into()),
                scheduler_type: Some("capacityScheduler".into()),
                ..Default::default()
            });
        }
        queues
            .iter()
            .find(|(q, _)| q.name == name)
            .map(|(q, u)| leaf(q, *u))
            .ok_or_else(|| YarnError::new(IO_EXCEPTION, format!("Unknown queue: {name}")))
    }

    // -----------------------------------------------------------------------------------------
    // Reports (REST)
    // -----------------------------------------------------------------------------------------

    fn tracking_url(&self, a: &App) -> Option<String> {
        match a.state {
            YarnApplicationState::Running | YarnApplicationState::Finished => Some(format!(
                "http://{}/proxy/{}/",
                self.conf.webapp_address,
                self.app_id(a.key)
            )),
            _ => None,
        }
    }

    fn app_info(&self, a: &App) -> rt::AppInfo {
        let id = self.app_id(a.key);
        let finished = is_terminal(a.state);
        let used = self.sched.app_used(a.key);
        let running = self
            .containers
            .values()
            .filter(|r| r.key.app == a.key && !r.complete)
            .count() as i32;
        let am = a.current().and_then(|t| t.am_container.zip(t.am_node));
        let am_node = am.and_then(|(_, n)| self.nodes.get(&n));
        let now = now_ms();
        rt::AppInfo {
            id: id.to_string(),
            user: a.sub.user.clone(),
            name: a.sub.name.clone(),
            queue: a.sub.queue.clone(),
            state: a.state.as_str().into(),
            final_status: a.final_status.as_str().into(),
            progress: if finished {
                100.0
            } else {
                (a.progress * 100.0) as f64
            },
            tracking_ui: match a.state {
                YarnApplicationState::Running => "ApplicationMaster".into(),
                s if is_terminal(s) => "History".into(),
                _ => "UNASSIGNED".into(),
            },
            tracking_url: self.tracking_url(a),
            diagnostics: a.diagnostics.clone(),
            cluster_id: self.conf.cluster_timestamp,
            application_type: a.sub.app_type.clone(),
            application_tags: a.sub.tags.join(","),
            priority: a.sub.priority,
            started_time: a.submit_time,
            launch_time: a.launch_time,
            finished_time: a.finish_time,
            elapsed_time: if finished {
                a.finish_time - a.submit_time
            } else {
                now - a.submit_time
            },
            am_container_logs: am.zip(am_node).map(|((c, _), n)| {
                format!(
                    "http://{}/node/containerlogs/{c}/{}",
                    n.http_address, a.sub.user
                )
            }),
            am_host_http_address: am_node.map(|n| n.http_address.clone()),
            am_rpc_address: a.am_rpc.clone(),
            master_node_id: am_node.map(|n| n.id.to_string()),
            allocated_mb: if finished { -1 } else { used.memory_mb },
            allocated_v_cores: if finished { -1 } else { used.vcores as i64 },
            running_containers: if finished { -1 } else { running },
            log_aggregation_status: Some("DISABLED".into()),
            unmanaged_application: false,
            ..Default::default()
        }
    }

    /// One application's report.
    pub fn app_report(&self, id: ApplicationId) -> Result<rt::AppInfo, RestFailure> {
        let key = self
            .app_key(id)
            .ok_or_else(|| RestFailure::not_found(format!("app with id: {id} not found")))?;
        Ok(self.app_info(&self.apps[&key]))
    }

    /// All application reports matching the filters (states: upper-case names).
    pub fn apps_report(
        &self,
        states: &[String],
        queue: Option<&str>,
        user: Option<&str>,
    ) -> Vec<rt::AppInfo> {
        self.apps
            .values()
            .filter(|a| {
                states.is_empty()
                    || states
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(a.state.as_str()))
            })
            .filter(|a| queue.is_none_or(|q| q == a.sub.queue))
            .filter(|a| user.is_none_or(|u| u == a.sub.user))
            .map(|a| self.app_info(a))
            .collect()
    }

    /// An application's attempts.
    pub fn attempts_report(
        &self,
        id: ApplicationId,
    ) -> Result<Vec<rt::AppAttemptInfo>, RestFailure> {
        let key = self
            .app_key(id)
            .ok_or_else(|| RestFailure::not_found(format!("app with id: {id} not found")))?;
        let a = &self.apps[&key];
        Ok(a.attempts
            .iter()
            .map(|t| {
                let node = t.am_node.and_then(|n| self.nodes.get(&n));
                rt::AppAttemptInfo {
                    id: t.id.attempt_id,
                    start_time: t.start_time,
                    finished_time: t.finish_time,
                    container_id: t.am_container.map(|c| c.to_string()),
                    node_http_address: node.map(|n| n.http_address.clone()),
                    node_id: node.map(|n| n.id.to_string()),
                    logs_link: node.zip(t.am_container).map(|(n, c)| {
                        format!(
                            "http://{}/node/containerlogs/{c}/{}",
                            n.http_address, a.sub.user
                        )
                    }),
                    blacklisted_nodes: Some(String::new()),
                    app_attempt_id: t.id.to_string(),
                    app_attempt_state: t.state.as_str().into(),
                }
            })
            .collect())
    }

    /// The live containers of an attempt.
    pub fn containers_report(
        &self,
        attempt: ApplicationAttemptId,
    ) -> Result<Vec<rt::ContainerInfo>, RestFailure> {
        let key = self.app_key(attempt.application_id).ok_or_else(|| {
            RestFailure::not_found(format!("app with id: {} not found", attempt.application_id))
        })?;
        if !self.apps[&key].attempts.iter().any(|t| t.id == attempt) {
            return Err(RestFailure::not_found(format!(
                "appAttempt with id: {attempt} not found"
            )));
        }
        let mut v: Vec<(&ContainerId, &ContainerRec)> = self
            .containers
            .iter()
            .filter(|(c, r)| c.application_attempt_id == attempt && !r.complete)
            .collect();
        v.sort_by_key(|(c, _)| **c);
        let now = now_ms();
        Ok(v.into_iter()
            .map(|(c, r)| {
                let node = &self.nodes[&r.node];
                rt::ContainerInfo {
                    container_id: c.to_string(),
                    allocated_mb: r.resource.memory_mb,
                    allocated_v_cores: r.resource.vcores as i64,
                    assigned_node_id: node.id.to_string(),
                    priority: r.priority,
                    started_time: r.started,
                    finished_time: r.finished,
                    elapsed_time: now - r.started,
                    log_url: Some(format!(
                        "http://{}/node/containerlogs/{c}/{}",
                        node.http_address, self.apps[&key].sub.user
                    )),
                    container_exit_status: 0,
                    container_state: "RUNNING".into(),
                    node_http_address: Some(format!("http://{}", node.http_address)),
                    node_id: Some(node.id.to_string()),
                    ..Default::default()
                }
            })
            .collect())
    }

    /// The cluster's information record.
    pub fn cluster_info(&self) -> rt::ClusterInfo {
        rt::ClusterInfo {
            id: self.conf.cluster_timestamp,
            started_on: self.started_on,
            state: "STARTED".into(),
            ha_state: "ACTIVE".into(),
            rm_state_store_name: Some(
                "org.apache.hadoop.yarn.server.resourcemanager.recovery.NullRMStateStore".into(),
            ),
            resource_manager_version: format!("spindle-mini-{}", env!("CARGO_PKG_VERSION")),
            resource_manager_build_version: format!("spindle-mini-{}", env!("CARGO_PKG_VERSION")),
            resource_manager_version_built_on: String::new(),
            hadoop_version: "3.4.1".into(),
            hadoop_build_version: format!(
                "3.4.1 (spindle mini-yarn {})",
                env!("CARGO_PKG_VERSION")
            ),
            hadoop_version_built_on: String::new(),
            ha_zoo_keeper_connection_state: Some(
                "Could not find leader elector. Verify both HA and automatic failover are enabled."
                    .into(),
            ),
        }
    }

    /// The cluster's metrics record.
    pub fn cluster_metrics(&self) -> rt::ClusterMetrics {
        let total = self.sched.cluster_capacity();
        let used = self.sched.cluster_used();
        let count =
            |s: YarnApplicationState| self.apps.values().filter(|a| a.state == s).count() as i32;
        rt::ClusterMetrics {
            apps_submitted: self.apps.len() as i32,
            apps_completed: (self.apps_completed + self.apps_failed + self.apps_killed) as i32,
            apps_pending: count(YarnApplicationState::Accepted),
            apps_running: count(YarnApplicationState::Running),
            apps_failed: self.apps_failed as i32,
            apps_killed: self.apps_killed as i32,
            available_mb: total.memory_mb - used.memory_mb,
            allocated_mb: used.memory_mb,
            total_mb: total.memory_mb,
            available_virtual_cores: (total.vcores - used.vcores) as i64,
            allocated_virtual_cores: used.vcores as i64,
            total_virtual_cores: total.vcores as i64,
            containers_allocated: self.sched.live_containers() as i32,
            containers_pending: self.sched.pending_containers() as i32,
            total_nodes: self.nodes.len() as i32,
            active_nodes: self.nodes.values().filter(|n| !n.lost).count() as i32,
            lost_nodes: self.nodes.values().filter(|n| n.lost).count() as i32,
            ..Default::default()
        }
    }

    /// The nodes (lost ones only when `include_lost`).
    pub fn nodes_report(&self, include_lost: bool) -> Vec<rt::NodeInfo> {
        self.nodes
            .iter()
            .filter(|(_, n)| include_lost || !n.lost)
            .map(|(k, n)| {
                let (cap, used) = self.sched.node_usage(*k).unwrap_or_default();
                rt::NodeInfo {
                    rack: "/default-rack".into(),
                    state: if n.lost { "LOST" } else { "RUNNING" }.into(),
                    id: n.id.to_string(),
                    node_host_name: n.id.host.clone(),
                    node_http_address: n.http_address.clone(),
                    last_health_update: n.last_heartbeat,
                    version: "3.4.1".into(),
                    health_report: String::new(),
                    num_containers: self.sched.node_containers(*k) as i32,
                    used_memory_mb: used.memory_mb,
                    avail_memory_mb: cap.memory_mb - used.memory_mb,
                    used_virtual_cores: used.vcores as i64,
                    available_virtual_cores: (cap.vcores - used.vcores) as i64,
                    total_resource: Some(rt::ResourceInfo::new(cap.memory_mb, cap.vcores)),
                    available_resource: Some(rt::ResourceInfo::new(
                        cap.memory_mb - used.memory_mb,
                        cap.vcores - used.vcores,
                    )),
                    used_resource: Some(rt::ResourceInfo::new(used.memory_mb, used.vcores)),
                    ..Default::default()
                }
            })
            .collect()
    }

    /// The capacity scheduler's view.
    pub fn scheduler_report(&self) -> rt::SchedulerInfo {
        let total = self.sched.cluster_capacity();
        let used_total = self.sched.cluster_used();
        let pct = |u: i64, t: i64| {
            if t > 0 {
                (u as f64 * 100.0) / t as f64
            } else {
                0.0
            }
        };
        let queues: Vec<rt::CapacityQueueInfo> = self
            .sched
            .queues()
            .into_iter()
            .map(|(q, used)| {
                let apps: Vec<&App> = self
                    .apps
                    .values()
                    .filter(|a| a.sub.queue == q.name && !is_terminal(a.state))
                    .collect();
                rt::CapacityQueueInfo {
                    queue_name: q.name.clone(),
                    capacity: q.capacity_percent,
                    used_capacity: pct(
                        used.memory_mb,
                        (total.memory_mb as f64 * q.capacity_percent / 100.0) as i64,
                    ),
                    max_capacity: q.max_capacity_percent,
                    absolute_capacity: q.capacity_percent,
                    absolute_max_capacity: q.max_capacity_percent,
                    absolute_used_capacity: pct(used.memory_mb, total.memory_mb),
                    num_applications: apps.len() as i32,
                    state: "RUNNING".into(),
                    resources_used: Some(rt::ResourceInfo::new(used.memory_mb, used.vcores)),
                    kind: Some("capacitySchedulerLeafQueueInfo".into()),
                    queue_path: Some(format!("root.{}", q.name)),
                    num_containers: Some(
                        self.containers
                            .values()
                            .filter(|r| {
                                !r.complete
                                    && self.sched.app_queue(r.key.app) == Some(q.name.as_str())
                            })
                            .count() as i32,
                    ),
                    num_active_applications: Some(
                        apps.iter()
                            .filter(|a| a.state == YarnApplicationState::Running)
                            .count() as i32,
                    ),
                    num_pending_applications: Some(
                        apps.iter()
                            .filter(|a| a.state != YarnApplicationState::Running)
                            .count() as i32,
                    ),
                    max_applications: Some(10000),
                    user_limit: Some(100.0),
                    user_limit_factor: Some(1.0),
                    ..Default::default()
                }
            })
            .collect();
        rt::SchedulerInfo::Capacity(rt::CapacitySchedulerInfo {
            capacity: 100.0,
            used_capacity: pct(used_total.memory_mb, total.memory_mb),
            max_capacity: 100.0,
            queue_name: "root".into(),
            queues: Some(rt::CapacityQueues { queue: queues }),
        })
    }
}
