//! Flink-style resource management, independent of any deployment: the ResourceManager core
//! (registrations, heartbeats, requirements), the fine-grained SlotManager, the worker lifecycle,
//! the [`driver::ResourceManagerDriver`] seam (YARN is one implementation, elsewhere), the gateway
//! traits to TaskExecutors and JobMasters, the decision log, a tokio actor around the core, and a
//! deterministic simulation.
//!
//! Layering: [`core::ResourceManagerCore`] → [`slot_manager::SlotManager`] (which slots, how many
//! workers) → [`workers::Workers`] (asks and releases) → driver commands. The core, SlotManager and
//! worker lifecycle are synchronous state machines driven by events and the time passed in; the
//! [`actor`] runs them on one tokio task and the [`simulation`] on a virtual clock.

pub mod actor;
pub mod commands;
pub mod core;
pub mod driver;
pub mod events;
pub mod gateways;
mod job_tracker;
pub mod simulation;
pub mod slot_manager;
pub mod types;
pub mod workers;

use std::time::Duration;

use crate::config::{self, ConfigError, Configuration, MemorySize};
use slot_manager::SlotManagerConfig;
use types::{ContainerResource, Resources, WorkerSpec};
use workers::WorkerConfig;

pub use actor::{ResourceManagerHandle, spawn};
pub use core::ResourceManagerCore;
pub use driver::{DriverEvent, ResourceManagerDriver};
pub use events::{Event, EventKind, EventQuery, Reason};

/// Everything the ResourceManager is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceManagerConfig {
    /// The SlotManager's settings, including the default worker spec.
    pub slot_manager: SlotManagerConfig,
    /// The worker lifecycle's settings.
    pub workers: WorkerConfig,
    /// `heartbeat.interval`.
    pub heartbeat_interval: Duration,
    /// `heartbeat.timeout`.
    pub heartbeat_timeout: Duration,
    /// How many decisions the log keeps.
    pub event_log_capacity: usize,
}

/// The default decision log size.
pub const DEFAULT_EVENT_LOG_CAPACITY: usize = 10_000;

impl ResourceManagerConfig {
    /// Reads the Flink keys: the worker spec from `taskmanager.numberOfTaskSlots`, CPU and the
    /// memory model (`taskmanager.memory.*`), limits from `slotmanager.*`, timeouts from
    /// `resourcemanager.*`, `heartbeat.*` and `pekko.ask.timeout`.
    pub fn from_configuration(conf: &Configuration) -> Result<Self, ConfigError> {
        let default_worker = default_worker_spec(conf)?;
        let slot = default_worker.default_slot();
        let max_slots = u64::from(conf.get(&config::MAX_SLOTS)?);
        let min_slots = u64::from(conf.get(&config::MIN_SLOTS)?);
        let cpu_millis = |cores: f64| (cores * 1000.0).round() as u64;
        let max_cpu_millis = conf
            .get_optional(&config::MAX_TOTAL_CPU)?
            .map_or(slot.cpu_millis.saturating_mul(max_slots), cpu_millis);
        let max_memory = conf
            .get_optional(&config::MAX_TOTAL_MEMORY)?
            .map_or(slot.memory().saturating_mul(max_slots), MemorySize::bytes);
        let min_cpu_millis = conf
            .get_optional(&config::MIN_TOTAL_CPU)?
            .map_or(slot.cpu_millis.saturating_mul(min_slots), cpu_millis);
        let min_memory = conf
            .get_optional(&config::MIN_TOTAL_MEMORY)?
            .map_or(slot.memory().saturating_mul(min_slots), MemorySize::bytes);
        if min_cpu_millis > max_cpu_millis || min_memory > max_memory {
            return Err(ConfigError {
                key: config::MIN_SLOTS.key.to_owned(),
                value: min_slots.to_string(),
                problem: "the minimum resources exceed the maximum; lower the slotmanager min-* settings or raise the max-* ones".to_owned(),
            });
        }
        Ok(Self {
            slot_manager: SlotManagerConfig {
                default_worker,
                load_balance: config::load_balance_mode(conf)?,
                max_cpu_millis,
                max_memory,
                min_cpu_millis,
                min_memory,
                redundant_task_managers: conf.get(&config::REDUNDANT_TASK_MANAGER_NUM)?,
                task_manager_timeout: conf.get(&config::TASK_MANAGER_TIMEOUT)?,
                requirement_check_delay: conf.get(&config::REQUIREMENT_CHECK_DELAY)?,
                slot_request_timeout: conf.get(&config::ASK_TIMEOUT)?,
            },
            workers: WorkerConfig {
                registration_timeout: conf.get(&config::TASK_MANAGER_REGISTRATION_TIMEOUT)?,
                max_start_failure_rate: conf.get(&config::START_WORKER_MAX_FAILURE_RATE)?,
                start_retry_interval: conf.get(&config::START_WORKER_RETRY_INTERVAL)?,
                previous_worker_recovery_timeout: conf
                    .get(&config::PREVIOUS_WORKER_RECOVERY_TIMEOUT)?,
            },
            heartbeat_interval: conf.get(&config::HEARTBEAT_INTERVAL)?,
            heartbeat_timeout: conf.get(&config::HEARTBEAT_TIMEOUT)?,
            event_log_capacity: DEFAULT_EVENT_LOG_CAPACITY,
        })
    }
}

/// The default worker: Flink's TaskManager memory model applied to `taskmanager.memory.process.size`
/// (JVM overhead and metaspace off the top; framework heap and off-heap, task off-heap, network
/// and managed memory; task heap is the rest), CPU from `taskmanager.cpu.cores`, else
/// `yarn.containers.vcores`, else the slot count.
pub fn default_worker_spec(conf: &Configuration) -> Result<WorkerSpec, ConfigError> {
    let slots = conf.get(&config::NUMBER_OF_TASK_SLOTS)?;
    if slots == 0 {
        return Err(ConfigError {
            key: config::NUMBER_OF_TASK_SLOTS.key.to_owned(),
            value: "0".to_owned(),
            problem: "a TaskManager needs at least one slot".to_owned(),
        });
    }
    let process = conf.get(&config::TASK_MANAGER_PROCESS_SIZE)?.bytes();
    let fraction_of = |base: u64, fraction: f64, min: u64, max: u64| {
        ((base as f64 * fraction) as u64).clamp(min, max.max(min))
    };
    let overhead = fraction_of(
        process,
        conf.get(&config::TASK_MANAGER_OVERHEAD_FRACTION)?,
        conf.get(&config::TASK_MANAGER_OVERHEAD_MIN)?.bytes(),
        conf.get(&config::TASK_MANAGER_OVERHEAD_MAX)?.bytes(),
    );
    let metaspace = conf.get(&config::TASK_MANAGER_METASPACE)?.bytes();
    let too_small = |what: &str| ConfigError {
        key: config::TASK_MANAGER_PROCESS_SIZE.key.to_owned(),
        value: conf
            .raw(config::TASK_MANAGER_PROCESS_SIZE.key)
            .unwrap_or("1728m")
            .to_owned(),
        problem: format!("too small: nothing left for {what}; give the TaskManager more memory"),
    };
    let flink = process
        .checked_sub(overhead + metaspace)
        .ok_or_else(|| too_small("Flink memory"))?;
    let network = fraction_of(
        flink,
        conf.get(&config::TASK_MANAGER_NETWORK_FRACTION)?,
        conf.get(&config::TASK_MANAGER_NETWORK_MIN)?.bytes(),
        conf.get(&config::TASK_MANAGER_NETWORK_MAX)?.bytes(),
    );
    let managed = (flink as f64 * conf.get(&config::TASK_MANAGER_MANAGED_FRACTION)?) as u64;
    let task_off_heap = conf.get(&config::TASK_MANAGER_TASK_OFF_HEAP)?.bytes();
    let fixed = conf.get(&config::TASK_MANAGER_FRAMEWORK_HEAP)?.bytes()
        + conf.get(&config::TASK_MANAGER_FRAMEWORK_OFF_HEAP)?.bytes()
        + task_off_heap
        + network
        + managed;
    let task_heap = flink
        .checked_sub(fixed)
        .filter(|h| *h > 0)
        .ok_or_else(|| too_small("task heap"))?;
    let cpu = match conf.get_optional(&config::TASK_MANAGER_CPU_CORES)? {
        Some(cores) if cores > 0.0 => cores,
        _ => match conf.get_optional(&config::YARN_CONTAINERS_VCORES)? {
            Some(v) if v > 0 => f64::from(v),
            _ => f64::from(slots),
        },
    };
    Ok(WorkerSpec {
        total: Resources {
            cpu_millis: (cpu * 1000.0).round() as u64,
            task_heap,
            task_off_heap,
            managed,
            network,
        },
        num_slots: slots,
        container: ContainerResource {
            memory_mb: process >> 20,
            vcores: cpu.ceil().max(1.0) as u32,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn default_worker_follows_flinks_memory_model() {
        let spec = default_worker_spec(&Configuration::new()).unwrap();
        assert_eq!(spec.total.task_heap, 384 * MIB);
        assert_eq!(spec.total.managed, 512 * MIB);
        assert_eq!(spec.total.network, 128 * MIB);
        assert_eq!(spec.total.cpu_millis, 1000);
        assert_eq!(spec.num_slots, 1);
        assert_eq!(
            spec.container,
            ContainerResource {
                memory_mb: 1728,
                vcores: 1
            }
        );
    }

    #[test]
    fn slots_and_cpu_from_flink_keys() {
        let conf = Configuration::from_pairs([
            ("taskmanager.numberOfTaskSlots", "4"),
            ("taskmanager.cpu.cores", "2.5"),
            ("taskmanager.memory.process.size", "4g"),
        ]);
        let spec = default_worker_spec(&conf).unwrap();
        assert_eq!(spec.num_slots, 4);
        assert_eq!(spec.total.cpu_millis, 2500);
        assert_eq!(spec.container.vcores, 3);
        assert_eq!(spec.default_slot().cpu_millis, 625);
        let conf = Configuration::from_pairs([
            ("taskmanager.numberOfTaskSlots", "3"),
            ("yarn.containers.vcores", "2"),
        ]);
        assert_eq!(default_worker_spec(&conf).unwrap().total.cpu_millis, 2000);
        let conf = Configuration::from_pairs([("taskmanager.memory.process.size", "300m")]);
        assert!(
            default_worker_spec(&conf)
                .unwrap_err()
                .problem
                .contains("too small")
        );
    }

    #[test]
    fn limits_derive_from_slot_counts_and_min_above_max_is_refused() {
        let conf = Configuration::from_pairs([
            ("taskmanager.numberOfTaskSlots", "2"),
            ("slotmanager.number-of-slots.max", "6"),
            ("slotmanager.number-of-slots.min", "2"),
        ]);
        let rm = ResourceManagerConfig::from_configuration(&conf).unwrap();
        let slot = rm.slot_manager.default_worker.default_slot();
        assert_eq!(rm.slot_manager.max_cpu_millis, slot.cpu_millis * 6);
        assert_eq!(rm.slot_manager.min_memory, slot.memory() * 2);
        let conf = Configuration::from_pairs([
            ("slotmanager.number-of-slots.max", "1"),
            ("slotmanager.number-of-slots.min", "2"),
        ]);
        assert!(ResourceManagerConfig::from_configuration(&conf).is_err());
    }
}
