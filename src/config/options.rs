//! The Flink option keys spindle honours for slots, workers, the SlotManager, the ResourceManager and
//! heartbeats, with Flink's defaults (2.0 development line) and deprecated fallback keys.

use std::time::Duration;

use super::{ConfigError, ConfigOption, Configuration, LoadBalanceMode, MemorySize};

const fn opt<T>(key: &'static str, default: T) -> ConfigOption<T> {
    ConfigOption {
        key,
        fallback_keys: &[],
        default: Some(default),
    }
}

/// `taskmanager.numberOfTaskSlots`: slots per TaskManager.
pub const NUMBER_OF_TASK_SLOTS: ConfigOption<u32> = opt("taskmanager.numberOfTaskSlots", 1);
/// `taskmanager.cpu.cores`: CPU of a TaskManager; unset means `yarn.containers.vcores`, then slots.
pub const TASK_MANAGER_CPU_CORES: ConfigOption<f64> = ConfigOption {
    key: "taskmanager.cpu.cores",
    fallback_keys: &[],
    default: None,
};
/// `yarn.containers.vcores`: vcores per TaskManager container; -1 (unset here) means slots.
pub const YARN_CONTAINERS_VCORES: ConfigOption<u32> = ConfigOption {
    key: "yarn.containers.vcores",
    fallback_keys: &[],
    default: None,
};
/// `taskmanager.memory.process.size`: the TaskManager process (and container) memory.
pub const TASK_MANAGER_PROCESS_SIZE: ConfigOption<MemorySize> = opt(
    "taskmanager.memory.process.size",
    MemorySize::mebibytes(1728),
);
/// `taskmanager.memory.framework.heap.size`.
pub const TASK_MANAGER_FRAMEWORK_HEAP: ConfigOption<MemorySize> = opt(
    "taskmanager.memory.framework.heap.size",
    MemorySize::mebibytes(128),
);
/// `taskmanager.memory.framework.off-heap.size`.
pub const TASK_MANAGER_FRAMEWORK_OFF_HEAP: ConfigOption<MemorySize> = opt(
    "taskmanager.memory.framework.off-heap.size",
    MemorySize::mebibytes(128),
);
/// `taskmanager.memory.task.off-heap.size`.
pub const TASK_MANAGER_TASK_OFF_HEAP: ConfigOption<MemorySize> =
    opt("taskmanager.memory.task.off-heap.size", MemorySize(0));
/// `taskmanager.memory.managed.fraction`.
pub const TASK_MANAGER_MANAGED_FRACTION: ConfigOption<f64> =
    opt("taskmanager.memory.managed.fraction", 0.4);
/// `taskmanager.memory.network.fraction`.
pub const TASK_MANAGER_NETWORK_FRACTION: ConfigOption<f64> =
    opt("taskmanager.memory.network.fraction", 0.1);
/// `taskmanager.memory.network.min`.
pub const TASK_MANAGER_NETWORK_MIN: ConfigOption<MemorySize> =
    opt("taskmanager.memory.network.min", MemorySize::mebibytes(64));
/// `taskmanager.memory.network.max`.
pub const TASK_MANAGER_NETWORK_MAX: ConfigOption<MemorySize> = opt(
    "taskmanager.memory.network.max",
    MemorySize(i64::MAX as u64),
);
/// `taskmanager.memory.jvm-metaspace.size`.
pub const TASK_MANAGER_METASPACE: ConfigOption<MemorySize> = opt(
    "taskmanager.memory.jvm-metaspace.size",
    MemorySize::mebibytes(256),
);
/// `taskmanager.memory.jvm-overhead.min`.
pub const TASK_MANAGER_OVERHEAD_MIN: ConfigOption<MemorySize> = opt(
    "taskmanager.memory.jvm-overhead.min",
    MemorySize::mebibytes(192),
);
/// `taskmanager.memory.jvm-overhead.max`.
pub const TASK_MANAGER_OVERHEAD_MAX: ConfigOption<MemorySize> = opt(
    "taskmanager.memory.jvm-overhead.max",
    MemorySize::mebibytes(1024),
);
/// `taskmanager.memory.jvm-overhead.fraction`.
pub const TASK_MANAGER_OVERHEAD_FRACTION: ConfigOption<f64> =
    opt("taskmanager.memory.jvm-overhead.fraction", 0.1);

/// `resourcemanager.taskmanager-timeout`: idle TaskManager release, and the reconcile period.
pub const TASK_MANAGER_TIMEOUT: ConfigOption<Duration> = ConfigOption {
    key: "resourcemanager.taskmanager-timeout",
    fallback_keys: &["slotmanager.taskmanager-timeout"],
    default: Some(Duration::from_secs(30)),
};
/// `resourcemanager.taskmanager-registration.timeout`: counted from container allocation.
pub const TASK_MANAGER_REGISTRATION_TIMEOUT: ConfigOption<Duration> = ConfigOption {
    key: "resourcemanager.taskmanager-registration.timeout",
    fallback_keys: &["taskmanager.registration.timeout"],
    default: Some(Duration::from_secs(300)),
};
/// `resourcemanager.start-worker.max-failure-rate`: start failures per minute before pausing.
pub const START_WORKER_MAX_FAILURE_RATE: ConfigOption<f64> =
    opt("resourcemanager.start-worker.max-failure-rate", 10.0);
/// `resourcemanager.start-worker.retry-interval`: the pause once the rate is exceeded.
pub const START_WORKER_RETRY_INTERVAL: ConfigOption<Duration> = opt(
    "resourcemanager.start-worker.retry-interval",
    Duration::from_secs(3),
);
/// `resourcemanager.previous-worker.recovery.timeout`: wait for previous-attempt workers (0 = no wait).
pub const PREVIOUS_WORKER_RECOVERY_TIMEOUT: ConfigOption<Duration> = opt(
    "resourcemanager.previous-worker.recovery.timeout",
    Duration::ZERO,
);
/// `slotmanager.number-of-slots.max`: cap on total slots ("infinite" = Integer.MAX_VALUE).
pub const MAX_SLOTS: ConfigOption<u32> = opt("slotmanager.number-of-slots.max", i32::MAX as u32);
/// `slotmanager.number-of-slots.min`: slots kept or started at least (best effort).
pub const MIN_SLOTS: ConfigOption<u32> = opt("slotmanager.number-of-slots.min", 0);
/// `slotmanager.max-total-resource.cpu`: explicit CPU cap; default derived from max slots.
pub const MAX_TOTAL_CPU: ConfigOption<f64> = ConfigOption {
    key: "slotmanager.max-total-resource.cpu",
    fallback_keys: &[],
    default: None,
};
/// `slotmanager.max-total-resource.memory`: explicit memory cap; default derived from max slots.
pub const MAX_TOTAL_MEMORY: ConfigOption<MemorySize> = ConfigOption {
    key: "slotmanager.max-total-resource.memory",
    fallback_keys: &[],
    default: None,
};
/// `slotmanager.min-total-resource.cpu`: explicit CPU floor; default derived from min slots.
pub const MIN_TOTAL_CPU: ConfigOption<f64> = ConfigOption {
    key: "slotmanager.min-total-resource.cpu",
    fallback_keys: &[],
    default: None,
};
/// `slotmanager.min-total-resource.memory`: explicit memory floor; default derived from min slots.
pub const MIN_TOTAL_MEMORY: ConfigOption<MemorySize> = ConfigOption {
    key: "slotmanager.min-total-resource.memory",
    fallback_keys: &[],
    default: None,
};
/// `slotmanager.redundant-taskmanager-num`: spare TaskManagers kept for fast failover.
pub const REDUNDANT_TASK_MANAGER_NUM: ConfigOption<u32> =
    opt("slotmanager.redundant-taskmanager-num", 0);
/// `slotmanager.requirement-check.delay`: debounce of the requirement check.
pub const REQUIREMENT_CHECK_DELAY: ConfigOption<Duration> = opt(
    "slotmanager.requirement-check.delay",
    Duration::from_millis(50),
);
/// `slotmanager.declare-needed-resource.delay`: debounce of worker declarations. Accepted for
/// compatibility; spindle declares workers right after each (already debounced) requirement check.
pub const DECLARE_NEEDED_RESOURCE_DELAY: ConfigOption<Duration> = opt(
    "slotmanager.declare-needed-resource.delay",
    Duration::from_millis(50),
);
/// `taskmanager.load-balance.mode`: NONE or SLOTS (see [`load_balance_mode`] for the old key).
pub const LOAD_BALANCE_MODE: ConfigOption<LoadBalanceMode> =
    opt("taskmanager.load-balance.mode", LoadBalanceMode::None);
/// `cluster.evenly-spread-out-slots`: the pre-1.19 form of `taskmanager.load-balance.mode: SLOTS`.
pub const EVENLY_SPREAD_OUT_SLOTS: ConfigOption<bool> =
    opt("cluster.evenly-spread-out-slots", false);
/// `slot.request.timeout`: how long a job's requirement may stay unfulfilled.
pub const SLOT_REQUEST_TIMEOUT: ConfigOption<Duration> =
    opt("slot.request.timeout", Duration::from_secs(300));
/// `pekko.ask.timeout` (old `akka.ask.timeout`): the RPC timeout, e.g. of a slot request to a TaskExecutor.
pub const ASK_TIMEOUT: ConfigOption<Duration> = ConfigOption {
    key: "pekko.ask.timeout",
    fallback_keys: &["akka.ask.timeout"],
    default: Some(Duration::from_secs(10)),
};
/// `heartbeat.interval`.
pub const HEARTBEAT_INTERVAL: ConfigOption<Duration> =
    opt("heartbeat.interval", Duration::from_secs(10));
/// `heartbeat.timeout`.
pub const HEARTBEAT_TIMEOUT: ConfigOption<Duration> =
    opt("heartbeat.timeout", Duration::from_secs(50));

/// The effective load-balance mode: `taskmanager.load-balance.mode` if set, else the deprecated
/// `cluster.evenly-spread-out-slots` (true means SLOTS).
pub fn load_balance_mode(conf: &Configuration) -> Result<LoadBalanceMode, ConfigError> {
    if conf.raw(LOAD_BALANCE_MODE.key).is_some() {
        return conf.get(&LOAD_BALANCE_MODE);
    }
    Ok(if conf.get(&EVENLY_SPREAD_OUT_SLOTS)? {
        LoadBalanceMode::Slots
    } else {
        LoadBalanceMode::None
    })
}
