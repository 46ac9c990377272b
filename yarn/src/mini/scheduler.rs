//! The mini cluster's scheduler: a deterministic state machine with YARN's allocation semantics.
//!
//! It owns node capacities, queues, each application's ask table and its live containers, and nothing
//! else: no clock, no I/O, no ids beyond small integers. The ResourceManager actor drives it (a
//! NodeManager heartbeat → [`Scheduler::node_heartbeat`], an AM's allocate → [`Scheduler::update_asks`])
//! and turns what it returns into protocol records. Keeping it pure is what lets the tests below pin
//! down each behaviour an AM can trip over on a real cluster:
//!
//! - asks are absolute totals keyed by (priority, allocation request id, capability, resource name); a
//!   new ask replaces the stored total, and each allocation decrements it on the RM side, so an AM that
//!   re-sends a total it has already been served gets that many containers again;
//! - capabilities are normalized: memory rounded up to a multiple of the minimum allocation, vcores
//!   raised to the minimum; an ask above the maximum allocation is refused
//!   (`InvalidResourceRequestException` on the wire);
//! - containers are only allocated on a NodeManager heartbeat, on that node, while it has room;
//! - an application must name a configured queue; AM containers of a queue may use at most
//!   `max_am_percent` of the queue's share (the first AM always starts, as in YARN), so a second
//!   application waits in ACCEPTED;
//! - headroom is what the queue may still use, bounded by what the cluster has free;
//! - "extra containers": K unrequested containers handed out once an application's asks are met,
//!   the race a stale ask produces on a real cluster.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Memory and vcores, the two resource types the mini cluster schedules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Res {
    /// Memory in MiB.
    pub memory_mb: i64,
    /// Virtual cores.
    pub vcores: i32,
}

impl Res {
    /// A resource of `memory_mb` MiB and `vcores` vcores.
    pub const fn new(memory_mb: i64, vcores: i32) -> Self {
        Res { memory_mb, vcores }
    }

    fn fits_in(self, room: Res) -> bool {
        self.memory_mb <= room.memory_mb && self.vcores <= room.vcores
    }

    fn plus(self, o: Res) -> Res {
        Res::new(self.memory_mb + o.memory_mb, self.vcores + o.vcores)
    }

    fn minus(self, o: Res) -> Res {
        Res::new(self.memory_mb - o.memory_mb, self.vcores - o.vcores)
    }

    fn min(self, o: Res) -> Res {
        Res::new(self.memory_mb.min(o.memory_mb), self.vcores.min(o.vcores))
    }

    fn clamp_zero(self) -> Res {
        Res::new(self.memory_mb.max(0), self.vcores.max(0))
    }

    fn scaled(self, f: f64) -> Res {
        Res::new(
            (self.memory_mb as f64 * f).floor() as i64,
            (self.vcores as f64 * f).floor() as i32,
        )
    }
}

impl fmt::Display for Res {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // YARN's Resource.toString form, which its error messages quote.
        write!(f, "<memory:{}, vCores:{}>", self.memory_mb, self.vcores)
    }
}

/// The name YARN gives the "anywhere" ask.
pub const ANY: &str = "*";
/// The rack every mini cluster node is on.
pub const DEFAULT_RACK: &str = "/default-rack";

/// A queue and its guaranteed share of the cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueConf {
    /// Leaf queue name (`default`, ...).
    pub name: String,
    /// Guaranteed share of the cluster, in percent.
    pub capacity_percent: f64,
    /// Most of the cluster the queue may use when others are idle, in percent.
    pub max_capacity_percent: f64,
}

/// What the scheduler is configured with.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerConf {
    /// `yarn.scheduler.minimum-allocation-mb` / `-vcores`.
    pub min_allocation: Res,
    /// `yarn.scheduler.maximum-allocation-mb` / `-vcores`.
    pub max_allocation: Res,
    /// The queues; applications naming any other queue are rejected.
    pub queues: Vec<QueueConf>,
    /// `yarn.scheduler.capacity.maximum-am-resource-percent`, as a fraction (YARN's default is 0.1).
    pub max_am_fraction: f64,
    /// Unrequested containers handed to every application once its asks are met (0 = off).
    pub extra_containers_per_app: u32,
}

impl Default for SchedulerConf {
    fn default() -> Self {
        SchedulerConf {
            min_allocation: Res::new(1024, 1),
            max_allocation: Res::new(8192, 4),
            queues: vec![QueueConf {
                name: "default".into(),
                capacity_percent: 100.0,
                max_capacity_percent: 100.0,
            }],
            max_am_fraction: 0.1,
            extra_containers_per_app: 0,
        }
    }
}

/// An application as the scheduler knows it (the RM's sequence number).
pub type AppKey = u32;
/// A node as the scheduler knows it (its index in the cluster).
pub type NodeKey = usize;

/// A container as the scheduler knows it: application, attempt, per-application sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerKey {
    /// Application sequence number.
    pub app: AppKey,
    /// Attempt number (1-based) the container was allocated to.
    pub attempt: u32,
    /// Sequence number within the application (the AM container of attempt 1 is 1).
    pub seq: u64,
}

/// One entry of an AM's ask, as sent in `AllocateRequestProto.ask`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ask {
    /// Priority (smaller = more important).
    pub priority: i32,
    /// `*`, a rack, or a host name.
    pub resource_name: String,
    /// Requested capability before normalization.
    pub capability: Res,
    /// The total still wanted at this key (absolute, not incremental).
    pub num_containers: i32,
    /// Whether the scheduler may fall back from this location to a wider one.
    pub relax_locality: bool,
    /// `allocation_request_id` (−1 when unset).
    pub allocation_request_id: i64,
}

/// The key of an ask group: one capability per priority and allocation request id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct GroupKey {
    priority: i32,
    allocation_request_id: i64,
    capability: Res,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Outstanding {
    num: i32,
    relax_locality: bool,
}

/// Why the scheduler refused a request.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SchedError {
    /// An ask outside [0, maximum allocation] (YARN's `InvalidResourceRequestException`).
    #[error("{0}")]
    InvalidResourceRequest(String),
    /// The submission named a queue that does not exist.
    #[error(
        "Application {app} submitted to a non-existent queue: {queue}. Known queues: {known}; \
         submit to one of them"
    )]
    UnknownQueue {
        /// The application's sequence number.
        app: AppKey,
        /// The queue it named.
        queue: String,
        /// The configured queues.
        known: String,
    },
    /// The AM container asked for more than the maximum allocation.
    #[error("{0}")]
    InvalidAmResource(String),
}

/// Whether an allocation is an attempt's AM container or a container the AM asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerKind {
    /// The attempt's ApplicationMaster container.
    Am,
    /// A container allocated against the AM's asks (or an extra one).
    Task,
}

/// A container the scheduler placed on a node.
#[derive(Clone, Debug, PartialEq)]
pub struct Allocation {
    /// Its id.
    pub container: ContainerKey,
    /// The node it lives on.
    pub node: NodeKey,
    /// Its normalized resource.
    pub resource: Res,
    /// The priority of the ask it satisfies (0 for AM containers).
    pub priority: i32,
    /// The allocation request id of the ask it satisfies (−1 when unset).
    pub allocation_request_id: i64,
    /// AM or task container.
    pub kind: ContainerKind,
}

struct Node {
    host: String,
    capacity: Res,
    used: Res,
}

struct App {
    queue: usize,
    attempt: u32,
    am_resource: Res,
    /// Waiting for its AM container (ACCEPTED, attempt SCHEDULED).
    am_pending: bool,
    /// Has (or had, for this attempt) an AM container; counts against the AM share.
    am_active: bool,
    next_seq: u64,
    asks: BTreeMap<GroupKey, BTreeMap<String, Outstanding>>,
    extra_pending: u32,
    extra_global_given: bool,
    last_shape: Option<GroupKey>,
    used: Res,
    order: u64,
}

impl App {
    fn asks_met(&self) -> bool {
        self.asks
            .values()
            .all(|g| g.get(ANY).is_none_or(|o| o.num <= 0))
    }
}

struct Live {
    node: NodeKey,
    resource: Res,
    kind: ContainerKind,
}

/// The scheduler: nodes, queues, applications, live containers.
pub struct Scheduler {
    conf: SchedulerConf,
    nodes: BTreeMap<NodeKey, Node>,
    apps: BTreeMap<AppKey, App>,
    live: BTreeMap<ContainerKey, Live>,
    next_order: u64,
}

impl Scheduler {
    /// A scheduler with no nodes and no applications.
    pub fn new(conf: SchedulerConf) -> Self {
        Scheduler {
            conf,
            nodes: BTreeMap::new(),
            apps: BTreeMap::new(),
            live: BTreeMap::new(),
            next_order: 0,
        }
    }

    /// The configuration it runs with.
    pub fn conf(&self) -> &SchedulerConf {
        &self.conf
    }

    /// Adds a node with `capacity` on `host`.
    pub fn add_node(&mut self, node: NodeKey, host: &str, capacity: Res) {
        self.nodes.insert(
            node,
            Node {
                host: host.to_string(),
                capacity,
                used: Res::default(),
            },
        );
    }

    /// Removes a node (lost); returns the containers that were on it, now gone.
    pub fn remove_node(&mut self, node: NodeKey) -> Vec<ContainerKey> {
        self.nodes.remove(&node);
        let gone: Vec<ContainerKey> = self
            .live
            .iter()
            .filter(|(_, l)| l.node == node)
            .map(|(k, _)| *k)
            .collect();
        for c in &gone {
            self.container_finished(*c);
        }
        gone
    }

    /// The nodes' (capacity, used) in key order.
    pub fn node_usage(&self, node: NodeKey) -> Option<(Res, Res)> {
        self.nodes.get(&node).map(|n| (n.capacity, n.used))
    }

    /// The number of live containers on `node`.
    pub fn node_containers(&self, node: NodeKey) -> usize {
        self.live.values().filter(|l| l.node == node).count()
    }

    /// Total capacity of the cluster.
    pub fn cluster_capacity(&self) -> Res {
        self.nodes
            .values()
            .fold(Res::default(), |a, n| a.plus(n.capacity))
    }

    /// Resources in use across the cluster.
    pub fn cluster_used(&self) -> Res {
        self.nodes
            .values()
            .fold(Res::default(), |a, n| a.plus(n.used))
    }

    /// Normalizes a capability as YARN does: memory rounded up to a multiple of the minimum
    /// allocation (and at least the minimum), vcores at least the minimum.
    pub fn normalize(&self, r: Res) -> Res {
        let step = self.conf.min_allocation.memory_mb.max(1);
        let mem = r.memory_mb.max(self.conf.min_allocation.memory_mb);
        let mem = (mem + step - 1) / step * step;
        Res::new(mem, r.vcores.max(self.conf.min_allocation.vcores))
    }

    fn validate(&self, r: Res) -> Result<(), String> {
        let max = self.conf.max_allocation;
        if r.memory_mb < 0 || r.vcores < 0 {
            return Err(format!(
                "Invalid resource request! Cannot allocate containers as requested resource is less \
                 than 0! Requested resource={r}"
            ));
        }
        let kind = if r.memory_mb > max.memory_mb {
            "memory-mb"
        } else if r.vcores > max.vcores {
            "vcores"
        } else {
            return Ok(());
        };
        Err(format!(
            "Invalid resource request! Cannot allocate containers as requested resource is greater \
             than maximum allowed allocation. Requested resource type=[{kind}], Requested \
             resource={r}, maximum allowed allocation={max}, please note that maximum allowed \
             allocation is only applicable to the configured resource types; lower the request or \
             raise yarn.scheduler.maximum-allocation-mb/-vcores"
        ))
    }

    /// The index of a configured queue.
    pub fn queue_index(&self, name: &str) -> Option<usize> {
        self.conf.queues.iter().position(|q| q.name == name)
    }

    /// Admits an application into `queue`; its first attempt waits for an AM container of
    /// `am_resource`.
    pub fn add_app(
        &mut self,
        app: AppKey,
        queue: &str,
        am_resource: Res,
    ) -> Result<(), SchedError> {
        let Some(q) = self.queue_index(queue) else {
            return Err(SchedError::UnknownQueue {
                app,
                queue: queue.to_string(),
                known: self
                    .conf
                    .queues
                    .iter()
                    .map(|q| q.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        self.validate(am_resource)
            .map_err(SchedError::InvalidAmResource)?;
        let order = self.next_order;
        self.next_order += 1;
        self.apps.insert(
            app,
            App {
                queue: q,
                attempt: 1,
                am_resource: self.normalize(am_resource),
                am_pending: true,
                am_active: false,
                next_seq: 1,
                asks: BTreeMap::new(),
                extra_pending: 0,
                extra_global_given: false,
                last_shape: None,
                used: Res::default(),
                order,
            },
        );
        Ok(())
    }

    /// Starts attempt `attempt` of `app`: forgets the asks of the previous attempt and waits for a
    /// new AM container. Containers of the previous attempt stay live (the RM decides whether to keep
    /// them).
    pub fn new_attempt(&mut self, app: AppKey, attempt: u32) {
        if let Some(a) = self.apps.get_mut(&app) {
            a.attempt = attempt;
            a.am_pending = true;
            a.am_active = false;
            a.asks.clear();
            a.last_shape = None;
        }
    }

    /// Marks the attempt's AM as gone (its share is free for other applications).
    pub fn am_finished(&mut self, app: AppKey) {
        if let Some(a) = self.apps.get_mut(&app) {
            a.am_active = false;
            a.am_pending = false;
            a.asks.clear();
        }
    }

    /// Removes an application; returns its live containers (the caller ends them).
    pub fn remove_app(&mut self, app: AppKey) -> Vec<ContainerKey> {
        let live = self.app_containers(app);
        for c in &live {
            self.container_finished(*c);
        }
        self.apps.remove(&app);
        live
    }

    /// The live containers of `app`, in id order.
    pub fn app_containers(&self, app: AppKey) -> Vec<ContainerKey> {
        self.live.keys().filter(|k| k.app == app).copied().collect()
    }

    /// The node and resource of a live container.
    pub fn container(&self, c: ContainerKey) -> Option<(NodeKey, Res, ContainerKind)> {
        self.live.get(&c).map(|l| (l.node, l.resource, l.kind))
    }

    /// Resources used by `app`'s live containers.
    pub fn app_used(&self, app: AppKey) -> Res {
        self.apps.get(&app).map(|a| a.used).unwrap_or_default()
    }

    /// Replaces the app's ask totals with `asks` (each entry replaces the total at its key; absent
    /// keys keep their totals, as in YARN). Nothing is stored when any entry is invalid.
    pub fn update_asks(&mut self, app: AppKey, asks: &[Ask]) -> Result<(), SchedError> {
        for a in asks {
            self.validate(a.capability)
                .map_err(SchedError::InvalidResourceRequest)?;
        }
        let normalized: Vec<(GroupKey, &Ask)> = asks
            .iter()
            .map(|a| {
                let key = GroupKey {
                    priority: a.priority,
                    allocation_request_id: a.allocation_request_id,
                    capability: self.normalize(a.capability),
                };
                (key, a)
            })
            .collect();
        let Some(state) = self.apps.get_mut(&app) else {
            return Ok(());
        };
        for (key, a) in normalized {
            let group = state.asks.entry(key).or_default();
            group.insert(
                a.resource_name.clone(),
                Outstanding {
                    num: a.num_containers.max(0),
                    relax_locality: a.relax_locality,
                },
            );
            if a.resource_name == ANY && a.num_containers > 0 {
                state.last_shape = Some(key);
            }
        }
        Ok(())
    }

    /// The outstanding total at the `*` ask of (priority, allocation id, capability).
    pub fn outstanding(
        &self,
        app: AppKey,
        priority: i32,
        allocation_request_id: i64,
        capability: Res,
    ) -> i32 {
        let key = GroupKey {
            priority,
            allocation_request_id,
            capability: self.normalize(capability),
        };
        self.apps
            .get(&app)
            .and_then(|a| a.asks.get(&key))
            .and_then(|g| g.get(ANY))
            .map_or(0, |o| o.num)
    }

    /// Grants `app` `count` unrequested containers once its asks are met.
    pub fn add_extra_containers(&mut self, app: AppKey, count: u32) {
        if let Some(a) = self.apps.get_mut(&app) {
            a.extra_pending += count;
        }
    }

    /// A container ended (released, exited, killed): its resources are free again.
    pub fn container_finished(&mut self, c: ContainerKey) -> bool {
        let Some(l) = self.live.remove(&c) else {
            return false;
        };
        if let Some(n) = self.nodes.get_mut(&l.node) {
            n.used = n.used.minus(l.resource);
        }
        if let Some(a) = self.apps.get_mut(&c.app) {
            a.used = a.used.minus(l.resource);
        }
        true
    }

    fn queue_resources(&self, q: usize) -> (Res, Res) {
        let cluster = self.cluster_capacity();
        let conf = &self.conf.queues[q];
        (
            cluster.scaled(conf.capacity_percent / 100.0),
            cluster.scaled(conf.max_capacity_percent / 100.0),
        )
    }

    fn queue_used(&self, q: usize) -> Res {
        self.apps
            .values()
            .filter(|a| a.queue == q)
            .fold(Res::default(), |acc, a| acc.plus(a.used))
    }

    /// What the application could still get: its queue's maximum minus the queue's use, bounded by
    /// the free resources of the cluster (the `limit` of an allocate response).
    pub fn headroom(&self, app: AppKey) -> Res {
        let Some(a) = self.apps.get(&app) else {
            return Res::default();
        };
        let (_, max) = self.queue_resources(a.queue);
        let queue_room = max.minus(self.queue_used(a.queue));
        let free = self.cluster_capacity().minus(self.cluster_used());
        queue_room.min(free).clamp_zero()
    }

    /// Whether another AM of `am` may start in queue `q` (YARN's AM resource limit; the first AM of
    /// a queue always may).
    fn am_fits_share(&self, q: usize, am: Res) -> bool {
        let active: Vec<&App> = self
            .apps
            .values()
            .filter(|a| a.queue == q && a.am_active)
            .collect();
        if active.is_empty() {
            return true;
        }
        let used = active
            .iter()
            .fold(Res::default(), |acc, a| acc.plus(a.am_resource));
        let (guaranteed, _) = self.queue_resources(q);
        let limit = guaranteed.scaled(self.conf.max_am_fraction);
        used.plus(am).memory_mb <= limit.memory_mb.max(self.conf.min_allocation.memory_mb)
    }

    /// Whether `app` still waits for its AM container.
    pub fn am_pending(&self, app: AppKey) -> bool {
        self.apps.get(&app).is_some_and(|a| a.am_pending)
    }

    fn place(
        &mut self,
        app: AppKey,
        node: NodeKey,
        resource: Res,
        kind: ContainerKind,
    ) -> ContainerKey {
        let a = self.apps.get_mut(&app).expect("placing for a known app");
        let key = ContainerKey {
            app,
            attempt: a.attempt,
            seq: a.next_seq,
        };
        a.next_seq += 1;
        a.used = a.used.plus(resource);
        let n = self.nodes.get_mut(&node).expect("placing on a known node");
        n.used = n.used.plus(resource);
        self.live.insert(
            key,
            Live {
                node,
                resource,
                kind,
            },
        );
        key
    }

    fn room(&self, node: NodeKey) -> Res {
        self.nodes
            .get(&node)
            .map(|n| n.capacity.minus(n.used))
            .unwrap_or_default()
    }

    /// A NodeManager heartbeat: places as many containers on `node` as its free room allows —
    /// pending AM containers first (within the AM share), then each application's asks in
    /// submission order and priority order, then extra containers of applications whose asks are
    /// met.
    pub fn node_heartbeat(&mut self, node: NodeKey) -> Vec<Allocation> {
        let mut out = Vec::new();
        let Some(host) = self.nodes.get(&node).map(|n| n.host.clone()) else {
            return out;
        };
        let mut order: Vec<(u64, AppKey)> = self.apps.iter().map(|(k, a)| (a.order, *k)).collect();
        order.sort();

        for &(_, app) in &order {
            let a = &self.apps[&app];
            if !a.am_pending {
                continue;
            }
            let (q, am) = (a.queue, a.am_resource);
            if !am.fits_in(self.room(node)) || !self.am_fits_share(q, am) {
                continue;
            }
            let c = self.place(app, node, am, ContainerKind::Am);
            let a = self.apps.get_mut(&app).expect("known app");
            a.am_pending = false;
            a.am_active = true;
            out.push(Allocation {
                container: c,
                node,
                resource: am,
                priority: 0,
                allocation_request_id: -1,
                kind: ContainerKind::Am,
            });
        }

        for &(_, app) in &order {
            if !self.apps[&app].am_active {
                continue;
            }
            let keys: Vec<GroupKey> = self.apps[&app].asks.keys().copied().collect();
            for key in keys {
                loop {
                    let (q, group) = {
                        let a = &self.apps[&app];
                        (a.queue, &a.asks[&key])
                    };
                    let Some(any) = group.get(ANY).copied() else {
                        break;
                    };
                    if any.num <= 0 {
                        break;
                    }
                    let local = group.get(&host).copied();
                    let rack = group.get(DEFAULT_RACK).copied();
                    // Node-local always; elsewhere on the (single) rack only when the rack or
                    // the `*` ask relaxes locality (AMRMClient's strict node asks relax neither).
                    let node_ok = local.is_some_and(|o| o.num > 0)
                        || any.relax_locality
                        || rack.is_some_and(|r| r.num > 0 && r.relax_locality);
                    if !node_ok || !self.queue_allows(q, key.capability) {
                        break;
                    }
                    if !key.capability.fits_in(self.room(node)) {
                        break;
                    }
                    let c = self.place(app, node, key.capability, ContainerKind::Task);
                    let g = self
                        .apps
                        .get_mut(&app)
                        .and_then(|a| a.asks.get_mut(&key))
                        .expect("known ask");
                    for name in [ANY, DEFAULT_RACK, host.as_str()] {
                        if let Some(o) = g.get_mut(name) {
                            o.num = (o.num - 1).max(0);
                        }
                    }
                    out.push(Allocation {
                        container: c,
                        node,
                        resource: key.capability,
                        priority: key.priority,
                        allocation_request_id: key.allocation_request_id,
                        kind: ContainerKind::Task,
                    });
                }
            }
            self.allocate_extra(app, node, &mut out);
        }
        out
    }

    fn queue_allows(&self, q: usize, r: Res) -> bool {
        let (_, max) = self.queue_resources(q);
        self.queue_used(q).plus(r).fits_in(max)
    }

    fn allocate_extra(&mut self, app: AppKey, node: NodeKey, out: &mut Vec<Allocation>) {
        let global = self.conf.extra_containers_per_app;
        let a = self.apps.get_mut(&app).expect("known app");
        let Some(shape) = a.last_shape else { return };
        if !a.asks_met() {
            return;
        }
        if global > 0 && !a.extra_global_given {
            a.extra_global_given = true;
            a.extra_pending += global;
        }
        while self.apps[&app].extra_pending > 0 {
            let q = self.apps[&app].queue;
            if !shape.capability.fits_in(self.room(node)) || !self.queue_allows(q, shape.capability)
            {
                break;
            }
            let c = self.place(app, node, shape.capability, ContainerKind::Task);
            self.apps.get_mut(&app).expect("known app").extra_pending -= 1;
            out.push(Allocation {
                container: c,
                node,
                resource: shape.capability,
                priority: shape.priority,
                allocation_request_id: shape.allocation_request_id,
                kind: ContainerKind::Task,
            });
        }
    }

    /// Per-application view for the RM's reports: (queue name, used).
    pub fn app_queue(&self, app: AppKey) -> Option<&str> {
        self.apps
            .get(&app)
            .map(|a| self.conf.queues[a.queue].name.as_str())
    }

    /// Each queue's (configuration, used resources).
    pub fn queues(&self) -> Vec<(QueueConf, Res)> {
        self.conf
            .queues
            .iter()
            .enumerate()
            .map(|(i, q)| (q.clone(), self.queue_used(i)))
            .collect()
    }

    /// Number of live containers.
    pub fn live_containers(&self) -> usize {
        self.live.len()
    }

    /// Number of containers still asked for across all applications.
    pub fn pending_containers(&self) -> i64 {
        self.apps
            .values()
            .flat_map(|a| a.asks.values())
            .filter_map(|g| g.get(ANY))
            .map(|o| o.num.max(0) as i64)
            .sum()
    }

    /// The hosts of the nodes, by key (for NodeManager lookups).
    pub fn node_host(&self, node: NodeKey) -> Option<&str> {
        self.nodes.get(&node).map(|n| n.host.as_str())
    }

    /// Applications of the queue that have an AM (for the scheduler REST view).
    pub fn active_apps(&self) -> HashMap<AppKey, bool> {
        self.apps.iter().map(|(k, a)| (*k, a.am_active)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(priority: i32, mem: i64, num: i32) -> Ask {
        Ask {
            priority,
            resource_name: ANY.into(),
            capability: Res::new(mem, 1),
            num_containers: num,
            relax_locality: true,
            allocation_request_id: -1,
        }
    }

    /// One 8 GiB / 8 vcore node, an app in `default` whose AM (1 GiB) is already placed.
    fn running_app() -> Scheduler {
        let mut s = Scheduler::new(SchedulerConf {
            max_am_fraction: 1.0,
            ..SchedulerConf::default()
        });
        s.add_node(0, "localhost", Res::new(8192, 8));
        s.add_app(1, "default", Res::new(1024, 1)).unwrap();
        let am = s.node_heartbeat(0);
        assert_eq!(am.len(), 1);
        assert_eq!(am[0].kind, ContainerKind::Am);
        assert_eq!(am[0].container.seq, 1);
        s
    }

    #[test]
    fn containers_are_allocated_on_heartbeats_only() {
        let mut s = running_app();
        s.update_asks(1, &[ask(1, 1024, 2)]).unwrap();
        assert_eq!(
            s.app_containers(1).len(),
            1,
            "no allocation before a heartbeat"
        );
        let got = s.node_heartbeat(0);
        assert_eq!(got.len(), 2);
        assert!(
            got.iter()
                .all(|a| a.kind == ContainerKind::Task && a.priority == 1)
        );
        assert_eq!(
            s.outstanding(1, 1, -1, Res::new(1024, 1)),
            0,
            "RM-side decrement"
        );
        assert!(s.node_heartbeat(0).is_empty());
    }

    #[test]
    fn a_stale_total_resent_over_allocates() {
        let mut s = running_app();
        s.update_asks(1, &[ask(1, 1024, 2)]).unwrap();
        assert_eq!(s.node_heartbeat(0).len(), 2);
        // The AM did not withdraw its served ask and sends the same total again.
        s.update_asks(1, &[ask(1, 1024, 2)]).unwrap();
        assert_eq!(
            s.node_heartbeat(0).len(),
            2,
            "two more containers than needed"
        );
        assert_eq!(s.app_containers(1).len(), 5);
        // Withdrawing (total 0) stops it.
        s.update_asks(1, &[ask(1, 1024, 0)]).unwrap();
        s.update_asks(1, &[ask(1, 1024, 0)]).unwrap();
        assert!(s.node_heartbeat(0).is_empty());
    }

    #[test]
    fn a_smaller_total_replaces_a_larger_one() {
        let mut s = running_app();
        s.update_asks(1, &[ask(1, 1024, 5)]).unwrap();
        s.update_asks(1, &[ask(1, 1024, 1)]).unwrap();
        assert_eq!(
            s.node_heartbeat(0).len(),
            1,
            "totals replace, they do not add up"
        );
    }

    #[test]
    fn memory_is_rounded_up_to_the_minimum_allocation() {
        let mut s = running_app();
        s.update_asks(1, &[ask(1, 1500, 1), ask(2, 100, 1)])
            .unwrap();
        let got = s.node_heartbeat(0);
        let mems: Vec<i64> = got.iter().map(|a| a.resource.memory_mb).collect();
        assert_eq!(mems, vec![2048, 1024]);
        assert_eq!(s.normalize(Res::new(0, 0)), Res::new(1024, 1));
        assert_eq!(s.normalize(Res::new(2049, 3)), Res::new(3072, 3));
        // The ask is stored under its normalized capability.
        assert_eq!(s.outstanding(1, 1, -1, Res::new(1025, 1)), 0);
    }

    #[test]
    fn an_ask_above_the_maximum_is_refused_and_nothing_is_stored() {
        let mut s = running_app();
        let err = s
            .update_asks(1, &[ask(1, 1024, 1), ask(2, 9000, 1)])
            .unwrap_err();
        match err {
            SchedError::InvalidResourceRequest(m) => {
                assert!(m.contains("greater than maximum allowed allocation"), "{m}");
                assert!(m.contains("<memory:9000, vCores:1>"), "{m}");
                assert!(m.contains("memory-mb"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        let mut too_many_cores = ask(1, 1024, 1);
        too_many_cores.capability.vcores = 5;
        assert!(matches!(
            s.update_asks(1, &[too_many_cores]),
            Err(SchedError::InvalidResourceRequest(m)) if m.contains("vcores")
        ));
        assert!(
            s.node_heartbeat(0).is_empty(),
            "a refused request stores nothing"
        );
        assert!(matches!(
            s.update_asks(1, &[ask(1, -1, 1)]),
            Err(SchedError::InvalidResourceRequest(_))
        ));
    }

    #[test]
    fn an_unknown_queue_is_rejected() {
        let mut s = Scheduler::new(SchedulerConf::default());
        let err = s.add_app(1, "nope", Res::new(1024, 1)).unwrap_err();
        assert!(matches!(&err, SchedError::UnknownQueue { queue, .. } if queue == "nope"));
        assert!(err.to_string().contains("Known queues: default"));
        assert!(s.app_queue(1).is_none());
    }

    #[test]
    fn am_share_exhausted_keeps_the_second_application_waiting() {
        // 10% of one 8 GiB node is 819 MiB: the first AM starts anyway, the second must wait.
        let mut s = Scheduler::new(SchedulerConf::default());
        s.add_node(0, "localhost", Res::new(8192, 8));
        s.add_app(1, "default", Res::new(1024, 1)).unwrap();
        s.add_app(2, "default", Res::new(1024, 1)).unwrap();
        let got = s.node_heartbeat(0);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].container.app, 1);
        assert!(s.am_pending(2));
        assert!(
            s.node_heartbeat(0).is_empty(),
            "still waiting while app 1 runs"
        );
        // App 1 ends: app 2's AM starts on the next heartbeat.
        s.remove_app(1);
        let got = s.node_heartbeat(0);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].container.app, got[0].kind), (2, ContainerKind::Am));
    }

    #[test]
    fn capacity_limits_allocation_per_node() {
        let mut s = running_app();
        s.update_asks(1, &[ask(1, 4096, 3)]).unwrap();
        assert_eq!(
            s.node_heartbeat(0).len(),
            1,
            "7 GiB left: one 4 GiB container"
        );
        assert_eq!(s.outstanding(1, 1, -1, Res::new(4096, 1)), 2);
        s.add_node(1, "other", Res::new(8192, 8));
        assert_eq!(s.node_heartbeat(1).len(), 2);
    }

    #[test]
    fn headroom_is_the_free_part_of_the_queue() {
        let mut s = running_app();
        assert_eq!(s.headroom(1), Res::new(7168, 7));
        s.update_asks(1, &[ask(1, 2048, 1)]).unwrap();
        s.node_heartbeat(0);
        assert_eq!(s.headroom(1), Res::new(5120, 6));
    }

    #[test]
    fn releasing_frees_resources() {
        let mut s = running_app();
        s.update_asks(1, &[ask(1, 7168, 1)]).unwrap();
        let c = s.node_heartbeat(0)[0].container;
        assert_eq!(s.headroom(1), Res::new(0, 6));
        assert!(s.container_finished(c));
        assert!(!s.container_finished(c));
        assert_eq!(s.headroom(1), Res::new(7168, 7));
    }

    #[test]
    fn extra_containers_arrive_once_asks_are_met() {
        let mut s = running_app();
        s.add_extra_containers(1, 2);
        assert!(
            s.node_heartbeat(0).is_empty(),
            "no shape known before an ask"
        );
        s.update_asks(1, &[ask(3, 1024, 1)]).unwrap();
        let got = s.node_heartbeat(0);
        assert_eq!(got.len(), 3, "one asked for, two extra");
        assert!(got.iter().all(|a| a.priority == 3));
        assert!(s.node_heartbeat(0).is_empty(), "extras are handed out once");
    }

    #[test]
    fn extra_containers_per_app_from_the_configuration() {
        let mut s = Scheduler::new(SchedulerConf {
            extra_containers_per_app: 1,
            max_am_fraction: 1.0,
            ..SchedulerConf::default()
        });
        s.add_node(0, "localhost", Res::new(8192, 8));
        s.add_app(1, "default", Res::new(1024, 1)).unwrap();
        s.node_heartbeat(0);
        s.update_asks(1, &[ask(1, 1024, 2)]).unwrap();
        assert_eq!(s.node_heartbeat(0).len(), 3);
        s.update_asks(1, &[ask(1, 1024, 1)]).unwrap();
        assert_eq!(
            s.node_heartbeat(0).len(),
            1,
            "the configured extra comes once per app"
        );
    }

    #[test]
    fn node_local_asks_are_decremented_with_the_any_ask() {
        let mut s = running_app();
        let mut local = ask(1, 1024, 1);
        local.resource_name = "localhost".into();
        let mut rack = ask(1, 1024, 1);
        rack.resource_name = DEFAULT_RACK.into();
        s.update_asks(1, &[local, rack, ask(1, 1024, 1)]).unwrap();
        assert_eq!(s.node_heartbeat(0).len(), 1);
        assert_eq!(s.outstanding(1, 1, -1, Res::new(1024, 1)), 0);
    }

    #[test]
    fn strict_locality_waits_for_the_named_node() {
        let mut s = running_app();
        s.add_node(1, "other", Res::new(8192, 8));
        let mut local = ask(1, 1024, 1);
        local.resource_name = "other".into();
        let mut rack = ask(1, 1024, 1);
        rack.resource_name = DEFAULT_RACK.into();
        rack.relax_locality = false;
        let mut any = ask(1, 1024, 1);
        any.relax_locality = false;
        s.update_asks(1, &[local, rack, any]).unwrap();
        assert!(s.node_heartbeat(0).is_empty(), "not on the wrong node");
        assert_eq!(s.node_heartbeat(1).len(), 1);
    }

    #[test]
    fn a_lost_node_takes_its_containers() {
        let mut s = running_app();
        s.update_asks(1, &[ask(1, 1024, 2)]).unwrap();
        s.node_heartbeat(0);
        let gone = s.remove_node(0);
        assert_eq!(gone.len(), 3);
        assert!(s.app_containers(1).is_empty());
        assert_eq!(s.cluster_capacity(), Res::default());
    }

    #[test]
    fn a_new_attempt_forgets_asks_and_waits_for_an_am() {
        let mut s = running_app();
        s.update_asks(1, &[ask(1, 1024, 1)]).unwrap();
        s.node_heartbeat(0);
        s.update_asks(1, &[ask(1, 1024, 4)]).unwrap();
        s.new_attempt(1, 2);
        let got = s.node_heartbeat(0);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, ContainerKind::Am);
        assert_eq!((got[0].container.attempt, got[0].container.seq), (2, 3));
    }
}
