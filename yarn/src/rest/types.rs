//! The ResourceManager's REST records, as JSON, with Hadoop 3.x's names and shapes.
//!
//! These are the records the RM's web services (`/ws/v1/cluster/...`) write and read: the client in
//! this module reads them, and the embedded mini cluster writes them, so both ends agree with real
//! YARN by construction. Reading is tolerant of what Jersey produces (`{"apps":null}` for an empty
//! list, a bare object for a one-element list, numbers as strings, unknown fields); writing produces
//! Hadoop's own shape. Ids stay strings here (`application_1700000000000_0001`), exactly as on the
//! wire; parsing them into typed ids is the caller's business.

use serde::{Deserialize, Serialize};

use super::jaxb::{
    Entries, Long, bare_if_single, boolean, num, one_or_many, opt_bool, opt_num, string,
};

/// Declares a Jersey list response `{"<outer>":{"<inner>":[...]}}`, written as `{"<outer>":null}`
/// when empty (as the ResourceManager does), with conversions from and to a `Vec`.
macro_rules! jaxb_list {
    ($(#[$doc:meta])* $resp:ident, $outer:literal, $list:ident, $inner:literal, $item:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        pub struct $resp {
            #[doc = concat!("`", $outer, "`: `null` when there is none.")]
            #[serde(rename = $outer, default)]
            pub list: Option<$list>,
        }

        #[doc = concat!("The `{\"", $inner, "\":[...]}` object inside [`", stringify!($resp), "`].")]
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        pub struct $list {
            #[doc = concat!("`", $inner, "`: the items.")]
            #[serde(rename = $inner, default, deserialize_with = "one_or_many")]
            pub items: Vec<$item>,
        }

        impl From<Vec<$item>> for $resp {
            fn from(items: Vec<$item>) -> Self {
                $resp {
                    list: (!items.is_empty()).then_some($list { items }),
                }
            }
        }

        impl $resp {
            /// The items, empty when the list was `null` or absent.
            pub fn into_vec(self) -> Vec<$item> {
                self.list.map(|l| l.items).unwrap_or_default()
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Cluster information and metrics
// ---------------------------------------------------------------------------------------------

/// `GET /ws/v1/cluster/info` → `{"clusterInfo":{...}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterInfoResponse {
    /// The record.
    #[serde(rename = "clusterInfo")]
    pub cluster_info: ClusterInfo,
}

/// The ResourceManager's identity, versions and HA state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterInfo {
    /// Cluster id: the RM's start time in ms.
    #[serde(deserialize_with = "num")]
    pub id: i64,
    /// When the RM started, ms since the epoch.
    #[serde(deserialize_with = "num")]
    pub started_on: i64,
    /// Service state: NOTINITED, INITED, STARTED, STOPPED.
    #[serde(deserialize_with = "string")]
    pub state: String,
    /// HA state: INITIALIZING, ACTIVE, STANDBY, STOPPED.
    #[serde(deserialize_with = "string")]
    pub ha_state: String,
    /// Class name of the RM state store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rm_state_store_name: Option<String>,
    /// ResourceManager version, e.g. `3.4.1`.
    #[serde(deserialize_with = "string")]
    pub resource_manager_version: String,
    /// ResourceManager build version.
    #[serde(deserialize_with = "string")]
    pub resource_manager_build_version: String,
    /// When the ResourceManager was built.
    #[serde(deserialize_with = "string")]
    pub resource_manager_version_built_on: String,
    /// Hadoop common version.
    #[serde(deserialize_with = "string")]
    pub hadoop_version: String,
    /// Hadoop common build version.
    #[serde(deserialize_with = "string")]
    pub hadoop_build_version: String,
    /// When Hadoop common was built.
    #[serde(deserialize_with = "string")]
    pub hadoop_version_built_on: String,
    /// ZooKeeper connection state of the HA elector, when HA is on.
    #[serde(
        rename = "haZooKeeperConnectionState",
        skip_serializing_if = "Option::is_none"
    )]
    pub ha_zoo_keeper_connection_state: Option<String>,
}

/// `GET /ws/v1/cluster/metrics` → `{"clusterMetrics":{...}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterMetricsResponse {
    /// The record.
    #[serde(rename = "clusterMetrics")]
    pub cluster_metrics: ClusterMetrics,
}

/// Cluster-wide application, resource and node counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterMetrics {
    /// Applications submitted.
    #[serde(deserialize_with = "num")]
    pub apps_submitted: i32,
    /// Applications completed.
    #[serde(deserialize_with = "num")]
    pub apps_completed: i32,
    /// Applications pending.
    #[serde(deserialize_with = "num")]
    pub apps_pending: i32,
    /// Applications running.
    #[serde(deserialize_with = "num")]
    pub apps_running: i32,
    /// Applications failed.
    #[serde(deserialize_with = "num")]
    pub apps_failed: i32,
    /// Applications killed.
    #[serde(deserialize_with = "num")]
    pub apps_killed: i32,
    /// Memory reserved, MB.
    #[serde(rename = "reservedMB", deserialize_with = "num")]
    pub reserved_mb: i64,
    /// Memory available, MB.
    #[serde(rename = "availableMB", deserialize_with = "num")]
    pub available_mb: i64,
    /// Memory allocated, MB.
    #[serde(rename = "allocatedMB", deserialize_with = "num")]
    pub allocated_mb: i64,
    /// Memory asked for and not yet allocated, MB.
    #[serde(rename = "pendingMB", deserialize_with = "num")]
    pub pending_mb: i64,
    /// Virtual cores reserved.
    #[serde(deserialize_with = "num")]
    pub reserved_virtual_cores: i64,
    /// Virtual cores available.
    #[serde(deserialize_with = "num")]
    pub available_virtual_cores: i64,
    /// Virtual cores allocated.
    #[serde(deserialize_with = "num")]
    pub allocated_virtual_cores: i64,
    /// Virtual cores asked for and not yet allocated.
    #[serde(deserialize_with = "num")]
    pub pending_virtual_cores: i64,
    /// Containers allocated.
    #[serde(deserialize_with = "num")]
    pub containers_allocated: i32,
    /// Containers reserved.
    #[serde(deserialize_with = "num")]
    pub containers_reserved: i32,
    /// Containers pending.
    #[serde(deserialize_with = "num")]
    pub containers_pending: i32,
    /// Total memory, MB.
    #[serde(rename = "totalMB", deserialize_with = "num")]
    pub total_mb: i64,
    /// Total virtual cores.
    #[serde(deserialize_with = "num")]
    pub total_virtual_cores: i64,
    /// Node managers registered (active + decommissioning + unhealthy...).
    #[serde(deserialize_with = "num")]
    pub total_nodes: i32,
    /// Lost node managers.
    #[serde(deserialize_with = "num")]
    pub lost_nodes: i32,
    /// Unhealthy node managers.
    #[serde(deserialize_with = "num")]
    pub unhealthy_nodes: i32,
    /// Node managers being decommissioned.
    #[serde(deserialize_with = "num")]
    pub decommissioning_nodes: i32,
    /// Decommissioned node managers.
    #[serde(deserialize_with = "num")]
    pub decommissioned_nodes: i32,
    /// Rebooted node managers.
    #[serde(deserialize_with = "num")]
    pub rebooted_nodes: i32,
    /// Active node managers.
    #[serde(deserialize_with = "num")]
    pub active_nodes: i32,
    /// Node managers shut down.
    #[serde(deserialize_with = "num")]
    pub shutdown_nodes: i32,
}

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

/// A resource vector as the RM's web services write it: `{"memory":MB,"vCores":n,...}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceInfo {
    /// Memory, MB.
    #[serde(deserialize_with = "num")]
    pub memory: i64,
    /// Virtual cores.
    #[serde(rename = "vCores", deserialize_with = "num")]
    pub v_cores: i32,
    /// Every resource type, memory and vcores included (3.x).
    #[serde(
        rename = "resourceInformations",
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_informations: Option<ResourceInformations>,
}

impl ResourceInfo {
    /// A memory/vcores resource.
    pub fn new(memory: i64, v_cores: i32) -> Self {
        ResourceInfo {
            memory,
            v_cores,
            resource_informations: None,
        }
    }
}

/// `{"resourceInformation":[...]}` inside a [`ResourceInfo`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceInformations {
    /// The resource types.
    #[serde(
        rename = "resourceInformation",
        default,
        deserialize_with = "one_or_many"
    )]
    pub resource_information: Vec<ResourceInformation>,
}

/// One resource type's amount (`memory-mb`, `vcores`, `yarn.io/gpu`...).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ResourceInformation {
    /// Resource name, e.g. `memory-mb`.
    #[serde(deserialize_with = "string")]
    pub name: String,
    /// `COUNTABLE`.
    #[serde(deserialize_with = "string")]
    pub resource_type: String,
    /// Units, e.g. `Mi` (empty for vcores).
    #[serde(deserialize_with = "string")]
    pub units: String,
    /// Amount.
    #[serde(deserialize_with = "num")]
    pub value: i64,
    /// Minimum allocation.
    #[serde(deserialize_with = "num")]
    pub minimum_allocation: i64,
    /// Maximum allocation.
    #[serde(deserialize_with = "num")]
    pub maximum_allocation: i64,
}

/// A node's measured utilisation (`resourceUtilization`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceUtilizationInfo {
    /// Physical memory used on the node, MB.
    #[serde(rename = "nodePhysicalMemoryMB", deserialize_with = "num")]
    pub node_physical_memory_mb: i64,
    /// Virtual memory used on the node, MB.
    #[serde(rename = "nodeVirtualMemoryMB", deserialize_with = "num")]
    pub node_virtual_memory_mb: i64,
    /// CPU used on the node (fraction of all cores).
    #[serde(rename = "nodeCPUUsage", deserialize_with = "num")]
    pub node_cpu_usage: f64,
    /// Physical memory used by containers, MB.
    #[serde(
        rename = "aggregatedContainersPhysicalMemoryMB",
        deserialize_with = "num"
    )]
    pub aggregated_containers_physical_memory_mb: i64,
    /// Virtual memory used by containers, MB.
    #[serde(
        rename = "aggregatedContainersVirtualMemoryMB",
        deserialize_with = "num"
    )]
    pub aggregated_containers_virtual_memory_mb: i64,
    /// CPU used by containers.
    #[serde(rename = "containersCPUUsage", deserialize_with = "num")]
    pub containers_cpu_usage: f64,
}

// ---------------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------------

jaxb_list!(
    /// `GET /ws/v1/cluster/nodes` → `{"nodes":{"node":[...]}}` (`{"nodes":null}` when empty).
    NodesResponse, "nodes", NodeList, "node", NodeInfo
);

/// `GET /ws/v1/cluster/nodes/{nodeid}` → `{"node":{...}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeResponse {
    /// The record.
    pub node: NodeInfo,
}

/// One NodeManager as the ResourceManager sees it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeInfo {
    /// Rack, e.g. `/default-rack`.
    #[serde(deserialize_with = "string")]
    pub rack: String,
    /// NEW, RUNNING, UNHEALTHY, DECOMMISSIONING, DECOMMISSIONED, LOST, REBOOTED, SHUTDOWN.
    #[serde(deserialize_with = "string")]
    pub state: String,
    /// Node id, `host:port` of the NM's RPC server.
    #[serde(deserialize_with = "string")]
    pub id: String,
    /// Host name.
    #[serde(deserialize_with = "string")]
    pub node_host_name: String,
    /// `host:port` of the NM's web server.
    #[serde(rename = "nodeHTTPAddress", deserialize_with = "string")]
    pub node_http_address: String,
    /// Last health report, ms since the epoch.
    #[serde(deserialize_with = "num")]
    pub last_health_update: i64,
    /// NodeManager version.
    #[serde(deserialize_with = "string")]
    pub version: String,
    /// Health report text.
    #[serde(deserialize_with = "string")]
    pub health_report: String,
    /// Containers running on the node.
    #[serde(deserialize_with = "num")]
    pub num_containers: i32,
    /// Memory used, MB.
    #[serde(rename = "usedMemoryMB", deserialize_with = "num")]
    pub used_memory_mb: i64,
    /// Memory available, MB.
    #[serde(rename = "availMemoryMB", deserialize_with = "num")]
    pub avail_memory_mb: i64,
    /// Virtual cores used.
    #[serde(deserialize_with = "num")]
    pub used_virtual_cores: i64,
    /// Virtual cores available.
    #[serde(deserialize_with = "num")]
    pub available_virtual_cores: i64,
    /// Node labels.
    #[serde(
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub node_labels: Vec<String>,
    /// Measured utilisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_utilization: Option<ResourceUtilizationInfo>,
    /// Resources used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_resource: Option<ResourceInfo>,
    /// Resources available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_resource: Option<ResourceInfo>,
    /// The node's total capability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_resource: Option<ResourceInfo>,
}

// ---------------------------------------------------------------------------------------------
// Scheduler and queues
// ---------------------------------------------------------------------------------------------

/// `GET /ws/v1/cluster/scheduler` → `{"scheduler":{"schedulerInfo":{"type":...}}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchedulerResponse {
    /// The wrapper.
    pub scheduler: SchedulerWrapper,
}

/// `{"schedulerInfo":{...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchedulerWrapper {
    /// The scheduler's description.
    #[serde(rename = "schedulerInfo")]
    pub scheduler_info: SchedulerInfo,
}

/// The scheduler, by its `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SchedulerInfo {
    /// `capacityScheduler`: the root queue and its tree.
    #[serde(rename = "capacityScheduler")]
    Capacity(CapacitySchedulerInfo),
    /// `fifoScheduler`: one queue.
    #[serde(rename = "fifoScheduler")]
    Fifo(FifoSchedulerInfo),
    /// `fairScheduler`: the root queue and its tree.
    #[serde(rename = "fairScheduler")]
    Fair(FairSchedulerInfo),
    /// Any other scheduler (its fields are not read).
    #[serde(other)]
    Other,
}

/// The CapacityScheduler's root queue (`type: capacityScheduler`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CapacitySchedulerInfo {
    /// Configured capacity, percent of the parent (100 for root).
    #[serde(deserialize_with = "num")]
    pub capacity: f64,
    /// Used capacity, percent.
    #[serde(deserialize_with = "num")]
    pub used_capacity: f64,
    /// Maximum capacity, percent.
    #[serde(deserialize_with = "num")]
    pub max_capacity: f64,
    /// `root`.
    #[serde(deserialize_with = "string")]
    pub queue_name: String,
    /// The top-level queues (`null` when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queues: Option<CapacityQueues>,
}

/// `{"queue":[...]}`: child queues.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CapacityQueues {
    /// The child queues.
    #[serde(default, deserialize_with = "one_or_many")]
    pub queue: Vec<CapacityQueueInfo>,
}

/// One CapacityScheduler queue, parent or leaf; leaves carry `"type":"capacitySchedulerLeafQueueInfo"`
/// and the leaf-only fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CapacityQueueInfo {
    /// `capacitySchedulerLeafQueueInfo` for leaf queues, absent for parents.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Configured capacity, percent of the parent.
    #[serde(deserialize_with = "num")]
    pub capacity: f64,
    /// Used capacity, percent of this queue's capacity.
    #[serde(deserialize_with = "num")]
    pub used_capacity: f64,
    /// Maximum capacity, percent of the parent.
    #[serde(deserialize_with = "num")]
    pub max_capacity: f64,
    /// Capacity, percent of the cluster.
    #[serde(deserialize_with = "num")]
    pub absolute_capacity: f64,
    /// Maximum capacity, percent of the cluster.
    #[serde(deserialize_with = "num")]
    pub absolute_max_capacity: f64,
    /// Used capacity, percent of the cluster.
    #[serde(deserialize_with = "num")]
    pub absolute_used_capacity: f64,
    /// Applications in the queue.
    #[serde(deserialize_with = "num")]
    pub num_applications: i32,
    /// Short queue name.
    #[serde(deserialize_with = "string")]
    pub queue_name: String,
    /// Full queue path, e.g. `root.a` (3.x).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_path: Option<String>,
    /// RUNNING, STOPPED, DRAINING.
    #[serde(deserialize_with = "string")]
    pub state: String,
    /// Resources in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources_used: Option<ResourceInfo>,
    /// Child queues; absent for a leaf.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queues: Option<CapacityQueues>,
    /// Leaf: applications active.
    #[serde(deserialize_with = "opt_num", skip_serializing_if = "Option::is_none")]
    pub num_active_applications: Option<i32>,
    /// Leaf: applications pending.
    #[serde(deserialize_with = "opt_num", skip_serializing_if = "Option::is_none")]
    pub num_pending_applications: Option<i32>,
    /// Leaf: containers running.
    #[serde(deserialize_with = "opt_num", skip_serializing_if = "Option::is_none")]
    pub num_containers: Option<i32>,
    /// Leaf: maximum applications.
    #[serde(deserialize_with = "opt_num", skip_serializing_if = "Option::is_none")]
    pub max_applications: Option<i32>,
    /// Leaf: maximum applications per user.
    #[serde(deserialize_with = "opt_num", skip_serializing_if = "Option::is_none")]
    pub max_applications_per_user: Option<i32>,
    /// Leaf: minimum user limit, percent.
    #[serde(deserialize_with = "opt_num", skip_serializing_if = "Option::is_none")]
    pub user_limit: Option<f64>,
    /// Leaf: user limit factor.
    #[serde(deserialize_with = "opt_num", skip_serializing_if = "Option::is_none")]
    pub user_limit_factor: Option<f64>,
    /// Leaf: the most AM resource the queue may use.
    #[serde(rename = "AMResourceLimit", skip_serializing_if = "Option::is_none")]
    pub am_resource_limit: Option<ResourceInfo>,
    /// Leaf: AM resource in use.
    #[serde(rename = "usedAMResource", skip_serializing_if = "Option::is_none")]
    pub used_am_resource: Option<ResourceInfo>,
    /// Leaf: the default application priority.
    #[serde(deserialize_with = "opt_num", skip_serializing_if = "Option::is_none")]
    pub default_priority: Option<i32>,
}

impl CapacityQueueInfo {
    /// The child queues (empty for a leaf).
    pub fn children(&self) -> &[CapacityQueueInfo] {
        self.queues.as_ref().map_or(&[], |q| &q.queue)
    }
}

/// The FifoScheduler's single queue (`type: fifoScheduler`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FifoSchedulerInfo {
    /// Capacity (1.0).
    #[serde(deserialize_with = "num")]
    pub capacity: f64,
    /// Used capacity; Hadoop writes `"NaN"` on an empty cluster.
    #[serde(deserialize_with = "num")]
    pub used_capacity: f64,
    /// Queue state (RUNNING).
    #[serde(deserialize_with = "string")]
    pub qstate: String,
    /// Minimum allocation, MB.
    #[serde(deserialize_with = "num")]
    pub min_queue_memory_capacity: i64,
    /// Maximum allocation, MB.
    #[serde(deserialize_with = "num")]
    pub max_queue_memory_capacity: i64,
    /// Nodes.
    #[serde(deserialize_with = "num")]
    pub num_nodes: i32,
    /// Memory used on nodes, MB.
    #[serde(deserialize_with = "num")]
    pub used_node_capacity: i64,
    /// Memory available on nodes, MB.
    #[serde(deserialize_with = "num")]
    pub avail_node_capacity: i64,
    /// Total node memory, MB.
    #[serde(deserialize_with = "num")]
    pub total_node_capacity: i64,
    /// Containers running.
    #[serde(deserialize_with = "num")]
    pub num_containers: i32,
}

/// The FairScheduler (`type: fairScheduler`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FairSchedulerInfo {
    /// The root queue.
    pub root_queue: FairQueueInfo,
}

/// One FairScheduler queue.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FairQueueInfo {
    /// Full queue name, e.g. `root.default`.
    #[serde(deserialize_with = "string")]
    pub queue_name: String,
    /// fair, fifo or drf.
    #[serde(deserialize_with = "string")]
    pub scheduling_policy: String,
    /// Maximum running applications.
    #[serde(deserialize_with = "num")]
    pub max_apps: i32,
    /// Minimum resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_resources: Option<ResourceInfo>,
    /// Maximum resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_resources: Option<ResourceInfo>,
    /// Resources used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_resources: Option<ResourceInfo>,
    /// Fair share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fair_resources: Option<ResourceInfo>,
    /// Child queues, `{"queue":[...]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_queues: Option<FairQueues>,
}

/// `{"queue":[...]}`: a FairScheduler queue's children.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FairQueues {
    /// The child queues.
    #[serde(default, deserialize_with = "one_or_many")]
    pub queue: Vec<FairQueueInfo>,
}

// ---------------------------------------------------------------------------------------------
// Applications
// ---------------------------------------------------------------------------------------------

jaxb_list!(
    /// `GET /ws/v1/cluster/apps` → `{"apps":{"app":[...]}}` (`{"apps":null}` when empty).
    AppsResponse, "apps", AppList, "app", AppInfo
);

/// `GET /ws/v1/cluster/apps/{appid}` → `{"app":{...}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AppResponse {
    /// The report.
    pub app: AppInfo,
}

/// An application report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AppInfo {
    /// Application id, `application_<clusterTimestamp>_<seq>`.
    #[serde(deserialize_with = "string")]
    pub id: String,
    /// The submitting user.
    #[serde(deserialize_with = "string")]
    pub user: String,
    /// Application name.
    #[serde(deserialize_with = "string")]
    pub name: String,
    /// Queue.
    #[serde(deserialize_with = "string")]
    pub queue: String,
    /// NEW, NEW_SAVING, SUBMITTED, ACCEPTED, RUNNING, FINISHED, FAILED, KILLED.
    #[serde(deserialize_with = "string")]
    pub state: String,
    /// UNDEFINED, SUCCEEDED, FAILED, KILLED, ENDED.
    #[serde(deserialize_with = "string")]
    pub final_status: String,
    /// Progress, percent (0-100).
    #[serde(deserialize_with = "num")]
    pub progress: f64,
    /// `UNASSIGNED`, `ApplicationMaster` or `History`.
    #[serde(rename = "trackingUI", deserialize_with = "string")]
    pub tracking_ui: String,
    /// The proxied tracking URL, once the AM has registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
    /// Diagnostics.
    #[serde(deserialize_with = "string")]
    pub diagnostics: String,
    /// The RM's cluster timestamp.
    #[serde(deserialize_with = "num")]
    pub cluster_id: i64,
    /// Application type.
    #[serde(deserialize_with = "string")]
    pub application_type: String,
    /// Tags, comma-separated.
    #[serde(deserialize_with = "string")]
    pub application_tags: String,
    /// Priority.
    #[serde(deserialize_with = "num")]
    pub priority: i32,
    /// Submission time, ms since the epoch.
    #[serde(deserialize_with = "num")]
    pub started_time: i64,
    /// When the first AM container launched, ms (0 if not yet).
    #[serde(deserialize_with = "num")]
    pub launch_time: i64,
    /// Finish time, ms (0 if running).
    #[serde(deserialize_with = "num")]
    pub finished_time: i64,
    /// Elapsed, ms.
    #[serde(deserialize_with = "num")]
    pub elapsed_time: i64,
    /// URL of the AM container's logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub am_container_logs: Option<String>,
    /// `host:port` of the AM node's web server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub am_host_http_address: Option<String>,
    /// `host:port` the AM registered for RPC.
    #[serde(rename = "amRPCAddress", skip_serializing_if = "Option::is_none")]
    pub am_rpc_address: Option<String>,
    /// Node id of the AM container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_node_id: Option<String>,
    /// Memory allocated, MB (−1 once finished).
    #[serde(rename = "allocatedMB", deserialize_with = "num")]
    pub allocated_mb: i64,
    /// Virtual cores allocated (−1 once finished).
    #[serde(rename = "allocatedVCores", deserialize_with = "num")]
    pub allocated_v_cores: i64,
    /// Memory reserved, MB.
    #[serde(rename = "reservedMB", deserialize_with = "num")]
    pub reserved_mb: i64,
    /// Virtual cores reserved.
    #[serde(rename = "reservedVCores", deserialize_with = "num")]
    pub reserved_v_cores: i64,
    /// Containers running (−1 once finished).
    #[serde(deserialize_with = "num")]
    pub running_containers: i32,
    /// MB·s used.
    #[serde(deserialize_with = "num")]
    pub memory_seconds: i64,
    /// vcore·s used.
    #[serde(deserialize_with = "num")]
    pub vcore_seconds: i64,
    /// Share of the queue, percent.
    #[serde(deserialize_with = "num")]
    pub queue_usage_percentage: f64,
    /// Share of the cluster, percent.
    #[serde(deserialize_with = "num")]
    pub cluster_usage_percentage: f64,
    /// Resource·seconds by resource name (values are written as strings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_seconds_map: Option<Entries<Long>>,
    /// Memory preempted, MB.
    #[serde(rename = "preemptedResourceMB", deserialize_with = "num")]
    pub preempted_resource_mb: i64,
    /// Virtual cores preempted.
    #[serde(rename = "preemptedResourceVCores", deserialize_with = "num")]
    pub preempted_resource_v_cores: i64,
    /// Non-AM containers preempted.
    #[serde(rename = "numNonAMContainerPreempted", deserialize_with = "num")]
    pub num_non_am_container_preempted: i32,
    /// AM containers preempted.
    #[serde(rename = "numAMContainerPreempted", deserialize_with = "num")]
    pub num_am_container_preempted: i32,
    /// Log aggregation: DISABLED, NOT_START, RUNNING, RUNNING_WITH_FAILURE, SUCCEEDED, FAILED, TIME_OUT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_aggregation_status: Option<String>,
    /// Whether the AM is unmanaged.
    #[serde(deserialize_with = "boolean")]
    pub unmanaged_application: bool,
    /// Node label expression of the application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_node_label_expression: Option<String>,
    /// Node label expression of the AM container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub am_node_label_expression: Option<String>,
    /// Lifetime timeouts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<AppTimeouts>,
}

/// `{"timeout":[...]}`: an application's timeouts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AppTimeouts {
    /// The timeouts.
    #[serde(default, deserialize_with = "one_or_many")]
    pub timeout: Vec<AppTimeoutInfo>,
}

/// One application timeout.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AppTimeoutInfo {
    /// `LIFETIME`.
    #[serde(rename = "type", deserialize_with = "string")]
    pub kind: String,
    /// ISO 8601 expiry, or `UNLIMITED`.
    #[serde(deserialize_with = "string")]
    pub expiry_time: String,
    /// Seconds left, −1 when unlimited.
    #[serde(deserialize_with = "num")]
    pub remaining_time_in_seconds: i64,
}

/// `GET|PUT /ws/v1/cluster/apps/{appid}/state`: `{"state":"KILLED"}`, root-unwrapped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppState {
    /// The application state.
    #[serde(deserialize_with = "string")]
    pub state: String,
    /// Diagnostics to record with a kill.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Attempts and containers
// ---------------------------------------------------------------------------------------------

jaxb_list!(
    /// `GET /ws/v1/cluster/apps/{appid}/appattempts` → `{"appAttempts":{"appAttempt":[...]}}`.
    AppAttemptsResponse, "appAttempts", AppAttemptList, "appAttempt", AppAttemptInfo
);

/// One application attempt.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AppAttemptInfo {
    /// Attempt number (1, 2, ...).
    #[serde(deserialize_with = "num")]
    pub id: i32,
    /// Start time, ms.
    #[serde(deserialize_with = "num")]
    pub start_time: i64,
    /// Finish time, ms (0 while running).
    #[serde(deserialize_with = "num")]
    pub finished_time: i64,
    /// The AM container's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// `host:port` of the AM node's web server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_http_address: Option<String>,
    /// The AM node's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// URL of the AM container's logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs_link: Option<String>,
    /// Nodes the AM blacklisted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blacklisted_nodes: Option<String>,
    /// Attempt id, `appattempt_<ts>_<seq>_<attempt>`.
    #[serde(deserialize_with = "string")]
    pub app_attempt_id: String,
    /// NEW, SUBMITTED, SCHEDULED, ALLOCATED, LAUNCHED, FAILED, RUNNING, FINISHING, FINISHED, KILLED, ...
    #[serde(deserialize_with = "string")]
    pub app_attempt_state: String,
}

jaxb_list!(
    /// `GET .../appattempts/{attemptid}/containers` → `{"containers":{"container":[...]}}`.
    ContainersResponse, "containers", ContainerList, "container", ContainerInfo
);

/// One container of an attempt.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerInfo {
    /// Container id.
    #[serde(deserialize_with = "string")]
    pub container_id: String,
    /// Memory, MB.
    #[serde(rename = "allocatedMB", deserialize_with = "num")]
    pub allocated_mb: i64,
    /// Virtual cores.
    #[serde(rename = "allocatedVCores", deserialize_with = "num")]
    pub allocated_v_cores: i64,
    /// Node id it runs on.
    #[serde(deserialize_with = "string")]
    pub assigned_node_id: String,
    /// Priority of the request it satisfied.
    #[serde(deserialize_with = "num")]
    pub priority: i32,
    /// Start time, ms.
    #[serde(deserialize_with = "num")]
    pub started_time: i64,
    /// Finish time, ms.
    #[serde(deserialize_with = "num")]
    pub finished_time: i64,
    /// Elapsed, ms.
    #[serde(deserialize_with = "num")]
    pub elapsed_time: i64,
    /// Diagnostics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics_info: Option<String>,
    /// Logs URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    /// Exit status (0 while running).
    #[serde(deserialize_with = "num")]
    pub container_exit_status: i32,
    /// NEW, RUNNING, COMPLETE.
    #[serde(deserialize_with = "string")]
    pub container_state: String,
    /// `host:port` of the node's web server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_http_address: Option<String>,
    /// Node id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// Resources by name (values are written as strings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocated_resources: Option<Entries<Long>>,
}

// ---------------------------------------------------------------------------------------------
// Submission
// ---------------------------------------------------------------------------------------------

/// `POST /ws/v1/cluster/apps/new-application` → root-unwrapped new application id and the largest
/// container the cluster grants.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewApplication {
    /// The new application id.
    #[serde(rename = "application-id", deserialize_with = "string")]
    pub application_id: String,
    /// The largest resource one container may have.
    #[serde(rename = "maximum-resource-capability")]
    pub maximum_resource_capability: ResourceInfo,
}

/// `POST /ws/v1/cluster/apps`: the application submission context, root-unwrapped, with Hadoop's
/// hyphenated names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApplicationSubmissionContext {
    /// From [`NewApplication::application_id`].
    #[serde(rename = "application-id", deserialize_with = "string")]
    pub application_id: String,
    /// Application name.
    #[serde(rename = "application-name", deserialize_with = "string")]
    pub application_name: String,
    /// Queue; the RM's default queue when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Priority; the queue's default when absent.
    #[serde(deserialize_with = "opt_num", skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// How to launch the ApplicationMaster.
    #[serde(rename = "am-container-spec")]
    pub am_container_spec: ContainerLaunchContextInfo,
    /// Whether the AM runs outside YARN.
    #[serde(rename = "unmanaged-AM", deserialize_with = "boolean")]
    pub unmanaged_am: bool,
    /// Whether the RM cancels the delegation tokens when the app completes (default true).
    #[serde(
        rename = "cancel-tokens-when-complete",
        deserialize_with = "opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub cancel_tokens_when_complete: Option<bool>,
    /// Maximum AM attempts; 0 or absent means the RM's global maximum.
    #[serde(
        rename = "max-app-attempts",
        deserialize_with = "opt_num",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_app_attempts: Option<i32>,
    /// The AM container's resource (memory and vCores only).
    pub resource: ResourceInfo,
    /// Application type, e.g. `SPINDLE`.
    #[serde(rename = "application-type", deserialize_with = "string")]
    pub application_type: String,
    /// Whether containers survive an AM restart.
    #[serde(
        rename = "keep-containers-across-application-attempts",
        deserialize_with = "boolean"
    )]
    pub keep_containers_across_application_attempts: bool,
    /// Tags.
    #[serde(rename = "application-tags", skip_serializing_if = "Option::is_none")]
    pub application_tags: Option<ApplicationTags>,
    /// Node label expression for the application's containers.
    #[serde(
        rename = "app-node-label-expression",
        skip_serializing_if = "Option::is_none"
    )]
    pub app_node_label_expression: Option<String>,
    /// Node label expression for the AM container.
    #[serde(
        rename = "am-container-node-label-expression",
        skip_serializing_if = "Option::is_none"
    )]
    pub am_container_node_label_expression: Option<String>,
    /// Log aggregation settings.
    #[serde(
        rename = "log-aggregation-context",
        skip_serializing_if = "Option::is_none"
    )]
    pub log_aggregation_context: Option<LogAggregationContextInfo>,
    /// Window (ms) within which AM failures count towards `max-app-attempts`; −1 counts all.
    #[serde(
        rename = "attempt-failures-validity-interval",
        deserialize_with = "opt_num",
        skip_serializing_if = "Option::is_none"
    )]
    pub attempt_failures_validity_interval: Option<i64>,
    /// Reservation to run in.
    #[serde(rename = "reservation-id", skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<String>,
    /// AM blacklisting (documented by Hadoop; ignored by 3.4's RM).
    #[serde(
        rename = "am-black-listing-requests",
        skip_serializing_if = "Option::is_none"
    )]
    pub am_black_listing_requests: Option<AmBlackListingRequests>,
}

/// `{"tag":[...]}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplicationTags {
    /// The tags.
    #[serde(default, deserialize_with = "one_or_many")]
    pub tag: Vec<String>,
}

/// `am-black-listing-requests`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AmBlackListingRequests {
    /// Whether AM blacklisting is on.
    #[serde(rename = "am-black-listing-enabled", deserialize_with = "boolean")]
    pub enabled: bool,
    /// Fraction of nodes that may be blacklisted.
    #[serde(rename = "disable-failure-threshold", deserialize_with = "num")]
    pub disable_failure_threshold: f64,
}

/// `log-aggregation-context`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogAggregationContextInfo {
    /// Files to aggregate once the app finishes (regex).
    #[serde(
        rename = "log-include-pattern",
        skip_serializing_if = "Option::is_none"
    )]
    pub log_include_pattern: Option<String>,
    /// Files not to aggregate (regex).
    #[serde(
        rename = "log-exclude-pattern",
        skip_serializing_if = "Option::is_none"
    )]
    pub log_exclude_pattern: Option<String>,
    /// Files to aggregate while running (regex).
    #[serde(
        rename = "rolled-log-include-pattern",
        skip_serializing_if = "Option::is_none"
    )]
    pub rolled_log_include_pattern: Option<String>,
    /// Files not to aggregate while running (regex).
    #[serde(
        rename = "rolled-log-exclude-pattern",
        skip_serializing_if = "Option::is_none"
    )]
    pub rolled_log_exclude_pattern: Option<String>,
    /// Aggregation policy class.
    #[serde(
        rename = "log-aggregation-policy-class-name",
        skip_serializing_if = "Option::is_none"
    )]
    pub log_aggregation_policy_class_name: Option<String>,
    /// Aggregation policy parameters.
    #[serde(
        rename = "log-aggregation-policy-parameters",
        skip_serializing_if = "Option::is_none"
    )]
    pub log_aggregation_policy_parameters: Option<String>,
}

/// `am-container-spec`: the ApplicationMaster's container launch context.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerLaunchContextInfo {
    /// Files to localise, by link name.
    #[serde(rename = "local-resources")]
    pub local_resources: Entries<LocalResourceInfo>,
    /// Environment variables.
    pub environment: Entries<String>,
    /// The command line(s); the NodeManager joins them with spaces.
    pub commands: Commands,
    /// Auxiliary service data, URL-safe base64 by service name.
    #[serde(rename = "service-data", skip_serializing_if = "Option::is_none")]
    pub service_data: Option<Entries<String>>,
    /// Tokens and secrets for the AM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CredentialsInfo>,
    /// `VIEW_APP` / `MODIFY_APP` ACLs.
    #[serde(rename = "application-acls", skip_serializing_if = "Option::is_none")]
    pub application_acls: Option<Entries<String>>,
}

/// `{"command":"..."}` or `{"command":["...", ...]}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Commands {
    /// The commands; one is written as a bare string, as in Hadoop's documented example.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        serialize_with = "bare_if_single"
    )]
    pub command: Vec<String>,
}

/// One local resource: where it is and the size and timestamp the NodeManager will check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LocalResourceInfo {
    /// URI, e.g. `hdfs://nn:8020/user/alice/.spindle/app/spindle`.
    #[serde(deserialize_with = "string")]
    pub resource: String,
    /// FILE, ARCHIVE or PATTERN.
    #[serde(rename = "type", deserialize_with = "string")]
    pub kind: String,
    /// PUBLIC, PRIVATE or APPLICATION.
    #[serde(deserialize_with = "string")]
    pub visibility: String,
    /// Length in bytes; must match the file exactly.
    #[serde(deserialize_with = "num")]
    pub size: i64,
    /// Modification time in ms; must match the file exactly.
    #[serde(deserialize_with = "num")]
    pub timestamp: i64,
    /// For PATTERN: what to extract.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// `credentials`: tokens (`Token.encodeToUrlString` form) and secrets (URL-safe base64), by alias.
///
/// Both are secret material: `Debug` shows only the aliases.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CredentialsInfo {
    /// Tokens by alias (service).
    pub tokens: Entries<String>,
    /// Secret keys by alias.
    pub secrets: Entries<String>,
}

impl std::fmt::Debug for CredentialsInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let aliases =
            |e: &Entries<String>| e.entry.iter().map(|e| e.key.clone()).collect::<Vec<_>>();
        f.debug_struct("CredentialsInfo")
            .field("tokens", &aliases(&self.tokens))
            .field("secrets", &aliases(&self.secrets))
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// `{"RemoteException":{...}}`: how the RM (and WebHDFS) report a failure.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RemoteExceptionResponse {
    /// The exception.
    #[serde(rename = "RemoteException")]
    pub remote_exception: RemoteExceptionData,
}

impl RemoteExceptionResponse {
    /// An error body, e.g. `("NotFoundException", "org.apache.hadoop.yarn.webapp.NotFoundException",
    /// "app with id: ... not found")`.
    pub fn new(exception: &str, java_class_name: &str, message: impl Into<String>) -> Self {
        RemoteExceptionResponse {
            remote_exception: RemoteExceptionData {
                exception: exception.to_owned(),
                message: message.into(),
                java_class_name: java_class_name.to_owned(),
            },
        }
    }
}

/// A Java exception, as a web service reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RemoteExceptionData {
    /// Simple class name, e.g. `BadRequestException`.
    #[serde(deserialize_with = "string")]
    pub exception: String,
    /// The message.
    #[serde(deserialize_with = "string")]
    pub message: String,
    /// Fully qualified class name.
    #[serde(deserialize_with = "string")]
    pub java_class_name: String,
}
