//! The worker lifecycle, as Flink's ActiveResourceManager: the SlotManager declares how many
//! workers of each spec it needs; this reconciles that against the asks not yet granted and the
//! workers allocated, starting and registered, asking the driver for more or releasing surplus in
//! the order unwanted idle → asks not yet granted → starting → registered. It also applies the
//! registration timeout (from allocation), the start-failure rate limit, and the recovery of
//! workers from a previous application attempt.
//!
//! Synchronous and I/O-free like the SlotManager; the owner passes the time and executes the
//! driver commands it appends.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use super::commands::{Command, DriverCommand};
use super::events::{EventKind, Reason};
use super::slot_manager::{Ctx, ResourceDeclaration};
use super::types::{Timestamp, WorkerId, WorkerSpec};

/// The worker lifecycle's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    /// `resourcemanager.taskmanager-registration.timeout`.
    pub registration_timeout: Duration,
    /// `resourcemanager.start-worker.max-failure-rate` (failures per minute).
    pub max_start_failure_rate: f64,
    /// `resourcemanager.start-worker.retry-interval`.
    pub start_retry_interval: Duration,
    /// `resourcemanager.previous-worker.recovery.timeout`.
    pub previous_worker_recovery_timeout: Duration,
}

/// Where a worker is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum WorkerPhase {
    /// The deployment allocated it; its process is being started.
    Allocated,
    /// Its process runs; its TaskExecutor has not registered yet.
    Started,
    /// Its TaskExecutor registered.
    Registered,
}

#[derive(Debug, Clone)]
struct Worker {
    /// Unknown for a worker recovered from a previous attempt until it registers.
    spec: Option<WorkerSpec>,
    phase: WorkerPhase,
    previous_attempt: bool,
    registration_deadline: Option<Timestamp>,
}

#[derive(Debug, Default)]
struct SpecState {
    needed: u32,
    /// Asks not yet granted, oldest first (when asked).
    asks: VecDeque<Timestamp>,
    /// Workers of this spec (allocated, starting or registered).
    workers: u32,
}

/// The outcome of a worker termination reported by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// Not a worker we know (already released, or a duplicate report): ignored.
    Unknown,
    /// A worker that had not registered yet (a start failure).
    BeforeRegistration,
    /// A registered worker.
    AfterRegistration,
}

/// The worker lifecycle.
#[derive(Debug)]
pub struct Workers {
    config: WorkerConfig,
    specs: BTreeMap<WorkerSpec, SpecState>,
    workers: BTreeMap<WorkerId, Worker>,
    registration_deadlines: BTreeSet<(Timestamp, WorkerId)>,
    start_failures: VecDeque<Timestamp>,
    cool_down_until: Option<Timestamp>,
    recovery_deadline: Option<Timestamp>,
    released_registered: Vec<WorkerId>,
}

const FAILURE_WINDOW: Duration = Duration::from_secs(60);

impl Workers {
    /// No workers, nothing needed.
    pub fn new(config: WorkerConfig) -> Self {
        Self {
            config,
            specs: BTreeMap::new(),
            workers: BTreeMap::new(),
            registration_deadlines: BTreeSet::new(),
            start_failures: VecDeque::new(),
            cool_down_until: None,
            recovery_deadline: None,
            released_registered: Vec::new(),
        }
    }

    /// Whether registrations from this worker are accepted (we requested or recovered it).
    pub fn is_known(&self, worker: &WorkerId) -> bool {
        self.workers.contains_key(worker)
    }

    /// The spec a worker was requested with.
    pub fn spec_of(&self, worker: &WorkerId) -> Option<WorkerSpec> {
        self.workers.get(worker).and_then(|w| w.spec)
    }

    /// Where a worker is in its life.
    pub fn phase_of(&self, worker: &WorkerId) -> Option<WorkerPhase> {
        self.workers.get(worker).map(|w| w.phase)
    }

    /// Asks not yet granted, over all specs.
    pub fn outstanding_asks(&self) -> u32 {
        self.specs.values().map(|s| s.asks.len() as u32).sum()
    }

    /// Workers allocated, starting or registered.
    pub fn worker_count(&self) -> u32 {
        self.workers.len() as u32
    }

    /// Whether declarations may be served: previous-attempt workers have registered or their
    /// recovery timeout has passed.
    pub fn ready_to_serve(&self) -> bool {
        self.recovery_deadline.is_none()
    }

    /// Registered workers released since the last call; the owner disconnects their TaskExecutors.
    pub fn take_released_registered(&mut self) -> Vec<WorkerId> {
        std::mem::take(&mut self.released_registered)
    }

    fn total(&self, spec: &WorkerSpec) -> u32 {
        self.specs
            .get(spec)
            .map_or(0, |s| s.asks.len() as u32 + s.workers)
    }

    fn remove_worker(&mut self, worker: &WorkerId) -> Option<Worker> {
        let w = self.workers.remove(worker)?;
        if let Some(deadline) = w.registration_deadline {
            self.registration_deadlines
                .remove(&(deadline, worker.clone()));
        }
        if let Some(s) = w.spec.and_then(|spec| self.specs.get_mut(&spec)) {
            s.workers -= 1;
        }
        Some(w)
    }

    /// Applies the SlotManager's declarations: unwanted workers are released, then each spec is
    /// reconciled (specs absent from the declarations need no worker).
    pub fn declare(&mut self, declarations: &[ResourceDeclaration], ctx: &mut Ctx) {
        let declared: BTreeSet<WorkerSpec> = declarations.iter().map(|d| d.spec).collect();
        for d in declarations {
            for worker in &d.unwanted {
                self.release(worker, Reason::Idle, ctx);
            }
            self.specs.entry(d.spec).or_default().needed = d.needed;
        }
        for (spec, state) in self.specs.iter_mut() {
            if !declared.contains(spec) {
                state.needed = 0;
            }
        }
        self.reconcile(ctx);
    }

    /// Compares each spec's total (asks + workers) with its need, and asks or releases.
    pub fn reconcile(&mut self, ctx: &mut Ctx) {
        let specs: Vec<WorkerSpec> = self.specs.keys().copied().collect();
        for spec in specs {
            let needed = self.specs[&spec].needed;
            let total = self.total(&spec);
            if total > needed {
                self.release_surplus(spec, total - needed, ctx);
            } else if total < needed {
                if self.cool_down_until.is_some_and(|t| t > ctx.now) {
                    continue;
                }
                for _ in total..needed {
                    let state = self.specs.get_mut(&spec).expect("listed");
                    state.asks.push_back(ctx.now);
                    let outstanding_asks = state.asks.len() as u32;
                    ctx.out
                        .push(Command::Driver(DriverCommand::RequestWorker { spec }));
                    ctx.log.record(
                        ctx.now,
                        Reason::Needed,
                        EventKind::WorkerAsked {
                            spec,
                            outstanding_asks,
                        },
                    );
                }
            }
        }
        self.specs
            .retain(|_, s| s.needed > 0 || !s.asks.is_empty() || s.workers > 0);
    }

    fn release_surplus(&mut self, spec: WorkerSpec, mut surplus: u32, ctx: &mut Ctx) {
        // Asks not yet granted, newest first.
        let state = self.specs.get_mut(&spec).expect("listed");
        while surplus > 0 && state.asks.pop_back().is_some() {
            surplus -= 1;
            let outstanding_asks = state.asks.len() as u32;
            ctx.out
                .push(Command::Driver(DriverCommand::CancelRequest { spec }));
            ctx.log.record(
                ctx.now,
                Reason::NoLongerNeeded,
                EventKind::AskCancelled {
                    spec,
                    outstanding_asks,
                },
            );
        }
        // Then starting workers of this attempt, then registered ones.
        for phase_wanted in [false, true] {
            if surplus == 0 {
                break;
            }
            let victims: Vec<WorkerId> = self
                .workers
                .iter()
                .rev()
                .filter(|(_, w)| {
                    let registered = w.phase == WorkerPhase::Registered;
                    // Unregistered previous-attempt workers wait for their registration timeout.
                    w.spec == Some(spec)
                        && registered == phase_wanted
                        && (registered || !w.previous_attempt)
                })
                .map(|(id, _)| id.clone())
                .take(surplus as usize)
                .collect();
            for worker in victims {
                surplus -= 1;
                self.release(&worker, Reason::NoLongerNeeded, ctx);
            }
        }
    }

    /// Releases a worker: the driver stops it; a registered one is also reported through
    /// [`Self::take_released_registered`].
    pub fn release(&mut self, worker: &WorkerId, reason: Reason, ctx: &mut Ctx) {
        let Some(w) = self.remove_worker(worker) else {
            return;
        };
        if w.phase == WorkerPhase::Registered {
            self.released_registered.push(worker.clone());
        }
        ctx.out.push(Command::Driver(DriverCommand::ReleaseWorker {
            worker: worker.clone(),
        }));
        ctx.log.record(
            ctx.now,
            reason,
            EventKind::WorkerReleased {
                worker: worker.clone(),
            },
        );
        self.check_recovery_complete();
    }

    /// The driver allocated a worker of a spec: it takes the oldest ask of that spec; with no ask
    /// outstanding it is surplus and released at once.
    pub fn on_allocated(&mut self, worker: WorkerId, spec: WorkerSpec, ctx: &mut Ctx) {
        if self.workers.contains_key(&worker) {
            return;
        }
        let state = self.specs.get_mut(&spec);
        let granted = state.is_some_and(|s| {
            let granted = s.asks.pop_front().is_some();
            s.workers += u32::from(granted);
            granted
        });
        if !granted {
            ctx.out.push(Command::Driver(DriverCommand::ReleaseWorker {
                worker: worker.clone(),
            }));
            ctx.log.record(
                ctx.now,
                Reason::Surplus,
                EventKind::WorkerReleased { worker },
            );
            return;
        }
        let deadline = ctx.now.after(self.config.registration_timeout);
        self.registration_deadlines
            .insert((deadline, worker.clone()));
        self.workers.insert(
            worker.clone(),
            Worker {
                spec: Some(spec),
                phase: WorkerPhase::Allocated,
                previous_attempt: false,
                registration_deadline: Some(deadline),
            },
        );
        ctx.log.record(
            ctx.now,
            Reason::Needed,
            EventKind::WorkerAllocated { worker },
        );
    }

    /// The driver could not provide a worker of a spec (e.g. too large for the cluster): the ask
    /// is gone and counts as a start failure.
    pub fn on_request_failed(&mut self, spec: WorkerSpec, ctx: &mut Ctx) {
        if let Some(s) = self.specs.get_mut(&spec) {
            s.asks.pop_front();
        }
        self.record_start_failure(None, Reason::RequestFailed, ctx);
    }

    /// The worker's process started.
    pub fn on_started(&mut self, worker: &WorkerId, ctx: &mut Ctx) {
        if let Some(w) = self
            .workers
            .get_mut(worker)
            .filter(|w| w.phase == WorkerPhase::Allocated)
        {
            w.phase = WorkerPhase::Started;
            ctx.log.record(
                ctx.now,
                Reason::Requested,
                EventKind::WorkerStarted {
                    worker: worker.clone(),
                },
            );
        }
    }

    /// The worker's TaskExecutor registered (its spec is learned here for a recovered worker).
    pub fn on_registered(&mut self, worker: &WorkerId, spec: WorkerSpec) {
        let Some(w) = self.workers.get_mut(worker) else {
            return;
        };
        if let Some(deadline) = w.registration_deadline.take() {
            self.registration_deadlines
                .remove(&(deadline, worker.clone()));
        }
        w.phase = WorkerPhase::Registered;
        if w.spec.is_none() {
            w.spec = Some(spec);
            self.specs.entry(spec).or_default().workers += 1;
        }
        self.check_recovery_complete();
    }

    /// The worker's process ended. A worker that never registered counts as a start failure.
    /// Replacement is left to the next reconcile, which asks again only if still needed.
    pub fn on_terminated(&mut self, worker: &WorkerId, cause: &str, ctx: &mut Ctx) -> Termination {
        let Some(w) = self.remove_worker(worker) else {
            return Termination::Unknown;
        };
        let registered = w.phase == WorkerPhase::Registered;
        ctx.log.record(
            ctx.now,
            Reason::Terminated,
            EventKind::WorkerTerminated {
                worker: worker.clone(),
                cause: cause.to_owned(),
                registered,
            },
        );
        self.check_recovery_complete();
        if registered {
            Termination::AfterRegistration
        } else {
            self.record_start_failure(Some(worker.clone()), Reason::Terminated, ctx);
            Termination::BeforeRegistration
        }
    }

    /// Workers of a previous attempt came back: they may register (and get a registration timeout);
    /// with a recovery timeout, declarations wait until they registered or the timeout passed.
    pub fn on_recovered(&mut self, workers: Vec<WorkerId>, ctx: &mut Ctx) {
        let count = workers.len() as u32;
        let deadline = ctx.now.after(self.config.registration_timeout);
        for worker in workers {
            self.registration_deadlines
                .insert((deadline, worker.clone()));
            self.workers.insert(
                worker,
                Worker {
                    spec: None,
                    phase: WorkerPhase::Started,
                    previous_attempt: true,
                    registration_deadline: Some(deadline),
                },
            );
        }
        ctx.log.record(
            ctx.now,
            Reason::PreviousAttempt,
            EventKind::WorkersRecovered { count },
        );
        if count > 0 && !self.config.previous_worker_recovery_timeout.is_zero() {
            self.recovery_deadline =
                Some(ctx.now.after(self.config.previous_worker_recovery_timeout));
            ctx.log.record(
                ctx.now,
                Reason::PreviousAttempt,
                EventKind::WaitingForRecoveredWorkers { count },
            );
        }
    }

    fn check_recovery_complete(&mut self) {
        if self.recovery_deadline.is_some()
            && !self
                .workers
                .values()
                .any(|w| w.previous_attempt && w.phase != WorkerPhase::Registered)
        {
            self.recovery_deadline = None;
        }
    }

    fn record_start_failure(&mut self, worker: Option<WorkerId>, reason: Reason, ctx: &mut Ctx) {
        self.start_failures.push_back(ctx.now);
        let horizon = ctx.now.0.saturating_sub(FAILURE_WINDOW.as_millis() as u64);
        while self.start_failures.front().is_some_and(|t| t.0 <= horizon) {
            self.start_failures.pop_front();
        }
        let failures_last_minute = self.start_failures.len() as u32;
        ctx.log.record(
            ctx.now,
            reason,
            EventKind::StartFailure {
                worker,
                failures_last_minute,
            },
        );
        if f64::from(failures_last_minute) >= self.config.max_start_failure_rate {
            let until = ctx.now.after(self.config.start_retry_interval);
            self.cool_down_until = Some(until);
            ctx.log.record(
                ctx.now,
                Reason::StartFailureRateExceeded,
                EventKind::StartPaused { until },
            );
        }
    }

    /// The earliest time [`Self::poll`] has work to do.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        [
            self.registration_deadlines.first().map(|(t, _)| *t),
            self.cool_down_until,
            self.recovery_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs what is due: workers past their registration timeout are released, an ended cool-down
    /// or recovery wait lets the next reconcile (the owner's, after this) ask again.
    pub fn poll(&mut self, ctx: &mut Ctx) {
        while let Some((deadline, worker)) = self.registration_deadlines.first().cloned() {
            if deadline > ctx.now {
                break;
            }
            self.release(&worker, Reason::RegistrationTimeout, ctx);
        }
        if self.cool_down_until.is_some_and(|t| t <= ctx.now) {
            self.cool_down_until = None;
        }
        if self.recovery_deadline.is_some_and(|t| t <= ctx.now) {
            self.recovery_deadline = None;
        }
    }
}
