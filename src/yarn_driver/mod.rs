//! YARN as a [`ResourceManagerDriver`]: the ResourceManager's "one more worker of this spec" becomes
//! a container ask, granted containers become TaskExecutors, completed containers become worker
//! terminations with a cause.
//!
//! The rules are the ones Flink's YarnResourceManagerDriver learned the hard way (YARN-1902,
//! FLINK-10848, FLINK-13184, FLINK-19324): one YARN priority per worker spec, from 1 upward, and
//! granted containers matched back to their spec by priority, never by size; the matched ask
//! withdrawn in the same step as the allocation (the `yarn` crate's [`AmRmClient`] does it while
//! sorting the allocate response); containers nobody asked for released at once and never
//! launched; the fast heartbeat (`yarn.heartbeat.container-request-interval`) only while asks are
//! pending, `yarn.heartbeat.interval` otherwise; and container launches (NodeManager calls) beside
//! the loop, reporting back as messages.
//!
//! One task, the allocate loop, owns the [`AmRmClient`]; the ResourceManager actor's calls reach
//! it over a channel and never wait for I/O.

mod allocate_loop;
pub mod exit;
pub mod launch;

use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use yarn::amrm::{AmRmClient, Registration};
use yarn::nm::NmClient;

use crate::config::{ConfigError, ConfigOption, Configuration};
use crate::resource_manager::driver::{ApplicationStatus, DriverEventSink, ResourceManagerDriver};
use crate::resource_manager::types::{WorkerId, WorkerSpec};

pub use exit::termination_cause;
pub use launch::{StagedFile, StagedFileError, TaskExecutorLaunch};

/// `yarn.heartbeat.interval` (deprecated `yarn.heartbeat-delay`): seconds between allocate calls
/// while no container is asked for.
pub const HEARTBEAT_INTERVAL: ConfigOption<u32> = ConfigOption {
    key: "yarn.heartbeat.interval",
    fallback_keys: &["yarn.heartbeat-delay"],
    default: Some(5),
};

/// `yarn.heartbeat.container-request-interval`: time between allocate calls while containers are
/// asked for and not yet granted (a plain number is milliseconds). Lower means faster allocation
/// but, with YARN's absolute asks, more surplus containers.
pub const CONTAINER_REQUEST_HEARTBEAT_INTERVAL: ConfigOption<Duration> = ConfigOption {
    key: "yarn.heartbeat.container-request-interval",
    fallback_keys: &[],
    default: Some(Duration::from_millis(500)),
};

/// How the allocate loop paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YarnDriverConfig {
    /// Between allocate calls while asks are pending.
    pub request_heartbeat: Duration,
    /// Between allocate calls otherwise.
    pub heartbeat: Duration,
}

impl YarnDriverConfig {
    /// Reads `yarn.heartbeat.container-request-interval` and `yarn.heartbeat.interval`.
    pub fn from_configuration(conf: &Configuration) -> Result<Self, ConfigError> {
        let seconds = conf.get(&HEARTBEAT_INTERVAL)?;
        if seconds == 0 {
            return Err(ConfigError {
                key: HEARTBEAT_INTERVAL.key.to_owned(),
                value: "0".to_owned(),
                problem: "the heartbeat needs at least one second".to_owned(),
            });
        }
        let request_heartbeat = conf.get(&CONTAINER_REQUEST_HEARTBEAT_INTERVAL)?;
        if request_heartbeat.is_zero() {
            return Err(ConfigError {
                key: CONTAINER_REQUEST_HEARTBEAT_INTERVAL.key.to_owned(),
                value: "0".to_owned(),
                problem: "give a positive interval such as 500 ms".to_owned(),
            });
        }
        Ok(Self {
            request_heartbeat,
            heartbeat: Duration::from_secs(u64::from(seconds)),
        })
    }
}

impl Default for YarnDriverConfig {
    fn default() -> Self {
        Self {
            request_heartbeat: Duration::from_millis(500),
            heartbeat: Duration::from_secs(5),
        }
    }
}

/// What the allocate loop last did, for observers (the AM's logs, tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriverStatus {
    /// Allocate calls made so far.
    pub allocate_calls: u64,
    /// The interval chosen after the last allocate call.
    pub interval: Duration,
    /// Containers asked for and not yet granted, over all priorities.
    pub pending_asks: u32,
    /// The YARN priority of each worker spec asked for so far.
    pub priorities: Vec<(WorkerSpec, i32)>,
    /// Containers granted beyond the asks, released without being launched.
    pub surplus_released: u64,
    /// Containers this attempt holds (allocated or recovered, not yet completed or released).
    pub containers: usize,
}

/// How the driver ended: `Ok` after a confirmed unregistration (or a plain stop), `Err` with the
/// reason when the driver failed or could not unregister.
pub type DriverOutcome = Result<(), String>;

/// The AM's view of a running driver once the ResourceManager owns it.
#[derive(Debug)]
pub struct DriverMonitor {
    /// The loop's status after each step.
    pub status: watch::Receiver<DriverStatus>,
    /// Resolves when the loop has ended: unregistered, terminated, or failed fatally.
    pub done: oneshot::Receiver<DriverOutcome>,
}

enum LoopCommand {
    Request(WorkerSpec),
    Cancel(WorkerSpec),
    Release(WorkerId),
    Deregister(ApplicationStatus, String),
    Terminate,
}

/// The YARN [`ResourceManagerDriver`]. Build it with [`YarnDriver::new`] after registering the
/// attempt, hand it to the ResourceManager, keep the [`DriverMonitor`].
pub struct YarnDriver {
    commands: mpsc::UnboundedSender<LoopCommand>,
    pending_start: Option<allocate_loop::Start>,
}

impl YarnDriver {
    /// A driver around a registered [`AmRmClient`] (`registration` is what the register call
    /// returned), the NodeManager client and the TaskExecutor launch template. The loop starts
    /// when the ResourceManager initializes the driver.
    pub fn new(
        am: AmRmClient,
        registration: Registration,
        nm: NmClient,
        launch: TaskExecutorLaunch,
        config: YarnDriverConfig,
    ) -> (YarnDriver, DriverMonitor) {
        let (commands, rx) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(DriverStatus::default());
        let (done_tx, done) = oneshot::channel();
        let start = allocate_loop::Start {
            am,
            registration,
            nm,
            launch,
            config,
            commands: rx,
            status: status_tx,
            done: done_tx,
        };
        (
            YarnDriver {
                commands,
                pending_start: Some(start),
            },
            DriverMonitor { status, done },
        )
    }

    fn send(&self, command: LoopCommand) {
        // After the loop has ended there is nobody left to act; the monitor already says why.
        let _ = self.commands.send(command);
    }
}

impl ResourceManagerDriver for YarnDriver {
    fn initialize(&mut self, events: Box<dyn DriverEventSink>) {
        match self.pending_start.take() {
            Some(start) => {
                tokio::spawn(start.run(events));
            }
            None => tracing::warn!("the YARN driver was initialized twice; ignoring"),
        }
    }

    fn request_worker(&mut self, spec: &WorkerSpec) {
        self.send(LoopCommand::Request(*spec));
    }

    fn cancel_request(&mut self, spec: &WorkerSpec) {
        self.send(LoopCommand::Cancel(*spec));
    }

    fn release_worker(&mut self, worker: &WorkerId) {
        self.send(LoopCommand::Release(worker.clone()));
    }

    fn deregister_application(&mut self, status: ApplicationStatus, diagnostics: &str) {
        self.send(LoopCommand::Deregister(status, diagnostics.to_owned()));
    }

    fn terminate(&mut self) {
        self.send(LoopCommand::Terminate);
    }
}
