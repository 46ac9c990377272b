//! The vocabulary shared by the SlotManager, the worker lifecycle, the driver seam and the gateways:
//! identifiers, resource quantities and profiles, worker specs and slot reports.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A hash map whose iteration order depends only on its history, never on a random seed, so that a
/// simulation replays exactly. Keys are ids the ResourceManager or the deployment chose, so a
/// fast multiplicative hash suffices.
pub(crate) type DetMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A fast, unseeded hasher for ids (the multiply-rotate scheme of Firefox's and rustc's FxHash).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IdHasher(u64);

impl IdHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }
    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    #[inline]
    fn write_u128(&mut self, n: u128) {
        self.add(n as u64);
        self.add((n >> 64) as u64);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Milliseconds on the ResourceManager's clock (virtual in the simulation, tokio's in production).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// This instant plus a duration (saturating).
    pub fn after(self, d: std::time::Duration) -> Timestamp {
        Timestamp(
            self.0
                .saturating_add(d.as_millis().min(u64::MAX as u128) as u64),
        )
    }
}

/// A job, as Flink's 16-byte JobID (printed as 32 hex digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobId(pub u128);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A slot allocation, chosen by the ResourceManager when it asks a TaskExecutor for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AllocationId(pub u64);

/// One registration of a TaskExecutor; a re-registration gets a new one, so stale messages are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstanceId(pub u64);

/// A worker (one TaskExecutor process, e.g. one YARN container; its id is the container id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerId(pub Arc<str>);

impl Serialize for WorkerId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for WorkerId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(WorkerId::new)
    }
}

impl WorkerId {
    /// A worker id from its textual form.
    pub fn new(id: impl AsRef<str>) -> Self {
        Self(Arc::from(id.as_ref()))
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Resource quantities of a TaskManager or a slot: CPU in thousandths of a core and the four memory
/// pools a slot may use (bytes). Framework and JVM memory are not slot resources.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Resources {
    /// CPU in milli-cores.
    pub cpu_millis: u64,
    /// Task heap memory in bytes.
    pub task_heap: u64,
    /// Task off-heap memory in bytes.
    pub task_off_heap: u64,
    /// Managed memory in bytes.
    pub managed: u64,
    /// Network memory in bytes.
    pub network: u64,
}

impl Resources {
    /// Nothing.
    pub const ZERO: Resources = Resources {
        cpu_millis: 0,
        task_heap: 0,
        task_off_heap: 0,
        managed: 0,
        network: 0,
    };

    /// CPU and a single memory figure (as task heap), for tests and simple profiles.
    pub const fn new(cpu_millis: u64, memory: u64) -> Self {
        Resources {
            cpu_millis,
            task_heap: memory,
            task_off_heap: 0,
            managed: 0,
            network: 0,
        }
    }

    /// Total slot memory: task heap + task off-heap + managed + network.
    pub fn memory(&self) -> u64 {
        self.task_heap + self.task_off_heap + self.managed + self.network
    }

    /// Every quantity of `self` is at least that of `other`.
    pub fn fits(&self, other: &Resources) -> bool {
        self.cpu_millis >= other.cpu_millis
            && self.task_heap >= other.task_heap
            && self.task_off_heap >= other.task_off_heap
            && self.managed >= other.managed
            && self.network >= other.network
    }

    /// Field-wise sum.
    pub fn plus(&self, o: &Resources) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis + o.cpu_millis,
            task_heap: self.task_heap + o.task_heap,
            task_off_heap: self.task_off_heap + o.task_off_heap,
            managed: self.managed + o.managed,
            network: self.network + o.network,
        }
    }

    /// Field-wise difference, floored at zero.
    pub fn minus(&self, o: &Resources) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis.saturating_sub(o.cpu_millis),
            task_heap: self.task_heap.saturating_sub(o.task_heap),
            task_off_heap: self.task_off_heap.saturating_sub(o.task_off_heap),
            managed: self.managed.saturating_sub(o.managed),
            network: self.network.saturating_sub(o.network),
        }
    }

    /// Field-wise multiple.
    pub fn times(&self, n: u64) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis.saturating_mul(n),
            task_heap: self.task_heap.saturating_mul(n),
            task_off_heap: self.task_off_heap.saturating_mul(n),
            managed: self.managed.saturating_mul(n),
            network: self.network.saturating_mul(n),
        }
    }

    /// Field-wise quotient (the default slot of a TaskManager is its total divided by its slots).
    pub fn divided_by(&self, n: u32) -> Resources {
        let n = u64::from(n.max(1));
        Resources {
            cpu_millis: self.cpu_millis / n,
            task_heap: self.task_heap / n,
            task_off_heap: self.task_off_heap / n,
            managed: self.managed / n,
            network: self.network / n,
        }
    }

    /// Nothing left that any slot could use.
    pub fn is_empty(&self) -> bool {
        self.cpu_millis == 0 || self.memory() == 0
    }
}

/// What a job asks for per slot: a fixed amount, or `Unknown` (the TaskManager's default slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ResourceProfile {
    /// Whatever a default slot of the chosen TaskManager provides (jobs without fine-grained resources).
    Unknown,
    /// Exactly these resources, carved out of a TaskManager as a dynamic slot.
    Fixed(Resources),
}

impl ResourceProfile {
    /// The resources this profile takes on a TaskManager whose default slot is `default_slot`.
    pub fn effective(&self, default_slot: &Resources) -> Resources {
        match self {
            ResourceProfile::Unknown => *default_slot,
            ResourceProfile::Fixed(r) => *r,
        }
    }

    /// Whether a slot of `acquired` resources serves this requirement (Unknown takes any slot).
    pub fn is_matched_by(&self, acquired: &Resources) -> bool {
        match self {
            ResourceProfile::Unknown => true,
            ResourceProfile::Fixed(r) => acquired.fits(r),
        }
    }
}

/// The size of a worker's container as the deployment sees it (YARN: memory MB and vcores).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ContainerResource {
    /// Process memory in MiB (`taskmanager.memory.process.size`).
    pub memory_mb: u64,
    /// Virtual cores.
    pub vcores: u32,
}

/// What a worker is: its TaskManager's slot resources and slot count, and the container it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WorkerSpec {
    /// Total slot resources of the TaskManager.
    pub total: Resources,
    /// Number of slots (`taskmanager.numberOfTaskSlots`); the default slot is total / slots.
    pub num_slots: u32,
    /// The container the deployment must provide.
    pub container: ContainerResource,
}

impl WorkerSpec {
    /// The default slot profile of a TaskManager of this spec.
    pub fn default_slot(&self) -> Resources {
        self.total.divided_by(self.num_slots)
    }
}

/// One allocated slot as a TaskExecutor reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocatedSlot {
    /// The allocation the slot serves.
    pub allocation: AllocationId,
    /// The job owning it.
    pub job: JobId,
    /// The slot's resources.
    pub resources: Resources,
}

/// A TaskExecutor's view of its slots (dynamic slots: only allocated ones are listed); it wins over
/// the ResourceManager's belief.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotReport {
    /// Allocated slots.
    pub allocated: Vec<AllocatedSlot>,
}

/// Flink's job status as a JobMaster reports it on disconnect (`RUNNING`, `FINISHED`, ... in JSON,
/// as Flink's REST API writes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Created, not yet running.
    Created,
    /// Initializing.
    Initializing,
    /// Running.
    Running,
    /// Failing, will restart or fail.
    Failing,
    /// Failed for good.
    Failed,
    /// Being cancelled.
    Cancelling,
    /// Cancelled.
    Canceled,
    /// Finished.
    Finished,
    /// Restarting.
    Restarting,
    /// Suspended (e.g. leadership lost): another JobMaster may take over.
    Suspended,
    /// Reconciling after a JobManager failover.
    Reconciling,
}

impl JobStatus {
    /// Failed, cancelled or finished: the job will never run again, so its requirements are cleared.
    pub fn is_globally_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Failed | JobStatus::Canceled | JobStatus::Finished
        )
    }
}
