//! The SlotManager with fine-grained resources, as Flink's FineGrainedSlotManager with the default
//! allocation strategy: it matches the jobs' declared requirements against the registered
//! TaskManagers (carving dynamic slots out of their free resources), plans pending TaskManagers for
//! the rest, keeps redundant and minimum resources, releases idle TaskManagers and declares how many
//! workers of which spec it needs.
//!
//! It is a plain synchronous state machine: every method takes the current time and appends the
//! calls to make to a command list, timers are deadlines the owner polls. Registered TaskManagers
//! with free resources sit in an ordered index (by free memory, or by utilisation when spreading
//! evenly), idle ones in an ordered set by idle time, and only jobs with missing resources are
//! visited by a requirement check, so no decision scans all TaskManagers or all jobs.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use super::commands::{Command, JobMasterCommand, TaskExecutorCommand};
use super::events::{DecisionLog, EventKind, Reason};
use super::job_tracker::JobTracker;
use super::types::{
    AllocationId, DetMap, InstanceId, JobId, ResourceProfile, Resources, SlotReport, Timestamp,
    WorkerId, WorkerSpec,
};
use crate::config::LoadBalanceMode;

/// The SlotManager's settings (see [`super::ResourceManagerConfig`] for the Flink keys).
#[derive(Debug, Clone, PartialEq)]
pub struct SlotManagerConfig {
    /// The spec of new workers; pending TaskManagers have its total and slots.
    pub default_worker: WorkerSpec,
    /// Placement on registered TaskManagers.
    pub load_balance: LoadBalanceMode,
    /// Cap on CPU (milli-cores) over registered and pending TaskManagers.
    pub max_cpu_millis: u64,
    /// Cap on slot memory (bytes) over registered and pending TaskManagers.
    pub max_memory: u64,
    /// Floor on CPU kept or started (best effort).
    pub min_cpu_millis: u64,
    /// Floor on slot memory kept or started (best effort).
    pub min_memory: u64,
    /// Default-worker TaskManagers' worth of free resources to keep.
    pub redundant_task_managers: u32,
    /// Idle time after which a TaskManager is released; also the reconcile period.
    pub task_manager_timeout: Duration,
    /// Debounce of the requirement check.
    pub requirement_check_delay: Duration,
    /// How long a TaskExecutor may take to answer a slot request.
    pub slot_request_timeout: Duration,
}

/// The outcome of a TaskManager registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskManagerRegistration {
    /// Registered under this instance.
    Accepted(InstanceId),
    /// Refused: registering it would exceed the maximum total resources.
    Rejected,
}

/// What the SlotManager needs of one worker spec: `needed` workers (registered and not unwanted,
/// plus pending), and the registered ones to release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDeclaration {
    /// The worker spec.
    pub spec: WorkerSpec,
    /// How many workers of the spec are needed.
    pub needed: u32,
    /// Registered workers of the spec that should be released (idle past the timeout).
    pub unwanted: Vec<WorkerId>,
}

/// Counters for an overview (and for tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SlotManagerStats {
    /// Registered TaskManagers.
    pub registered_task_managers: u32,
    /// Pending TaskManagers (workers to come).
    pub pending_task_managers: u32,
    /// Allocated or requested slots.
    pub allocated_slots: u32,
    /// Jobs with requirements not yet fulfilled.
    pub jobs_with_missing_resources: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    /// Requested from the TaskExecutor, no answer yet; times out at the deadline.
    Pending(Timestamp),
    /// Confirmed by the TaskExecutor or reported by it.
    Allocated,
}

#[derive(Debug, Clone)]
struct Slot {
    job: JobId,
    resources: Resources,
    state: SlotState,
}

/// A TaskManager's slots: a handful, so a vector beats a hash map in time and space.
#[derive(Debug, Default)]
struct SlotTable(Vec<(AllocationId, Slot)>);

impl SlotTable {
    fn position(&self, allocation: &AllocationId) -> Option<usize> {
        self.0.iter().position(|(a, _)| a == allocation)
    }
    fn get(&self, allocation: &AllocationId) -> Option<&Slot> {
        self.position(allocation).map(|i| &self.0[i].1)
    }
    fn get_mut(&mut self, allocation: &AllocationId) -> Option<&mut Slot> {
        self.position(allocation).map(|i| &mut self.0[i].1)
    }
    fn insert(&mut self, allocation: AllocationId, slot: Slot) {
        match self.position(&allocation) {
            Some(i) => self.0[i].1 = slot,
            None => self.0.push((allocation, slot)),
        }
    }
    fn remove(&mut self, allocation: &AllocationId) -> Option<Slot> {
        self.position(allocation).map(|i| self.0.swap_remove(i).1)
    }
    fn iter(&self) -> impl Iterator<Item = (&AllocationId, &Slot)> {
        self.0.iter().map(|(a, s)| (a, s))
    }
    fn keys(&self) -> impl Iterator<Item = &AllocationId> {
        self.0.iter().map(|(a, _)| a)
    }
    fn values(&self) -> impl Iterator<Item = &Slot> {
        self.0.iter().map(|(_, s)| s)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug)]
struct TaskManager {
    worker: WorkerId,
    spec: WorkerSpec,
    total: Resources,
    default_slot: Resources,
    free: Resources,
    slots: SlotTable,
    idle_since: Option<Timestamp>,
    unwanted: bool,
    index_key: Option<u64>,
    /// What this TaskManager currently contributes to the registered free and total sums.
    counted: (Resources, Resources),
}

#[derive(Debug)]
struct PendingTaskManager {
    free: Resources,
    allocations: Vec<(JobId, ResourceProfile)>,
}

/// The fine-grained SlotManager.
#[derive(Debug)]
pub struct SlotManager {
    config: SlotManagerConfig,
    task_managers: DetMap<InstanceId, TaskManager>,
    by_worker: DetMap<WorkerId, InstanceId>,
    /// Registered, wanted TaskManagers with free resources, by placement key.
    free_index: BTreeSet<(u64, InstanceId)>,
    /// Registered, wanted, slot-less TaskManagers by the time they became idle.
    idle: BTreeSet<(Timestamp, InstanceId)>,
    /// Default-slot memory sizes of registered TaskManagers (lower bound of an Unknown slot's size).
    default_slot_memory: BTreeMap<u64, u32>,
    registered_total: Resources,
    registered_free: Resources,
    registered_by_spec: BTreeMap<WorkerSpec, u32>,
    unwanted: BTreeMap<InstanceId, (WorkerSpec, WorkerId)>,
    pending: BTreeMap<u64, PendingTaskManager>,
    pending_index: BTreeSet<(u64, u64)>,
    allocations: DetMap<AllocationId, InstanceId>,
    /// Slot requests by deadline. Deadlines are now + a fixed timeout, so they arrive in order;
    /// answered requests are skipped when their deadline comes instead of being searched for.
    request_deadlines: VecDeque<(Timestamp, AllocationId)>,
    jobs: JobTracker,
    check_at: Option<Timestamp>,
    next_reconcile: Timestamp,
    last_reconcile: Option<Timestamp>,
    next_instance: u64,
    next_allocation: u64,
    next_pending: u64,
}

/// What a method may touch besides the SlotManager: the clock, the command list and the log.
pub struct Ctx<'a> {
    /// Now.
    pub now: Timestamp,
    /// Calls to make.
    pub out: &'a mut Vec<Command>,
    /// Decision log.
    pub log: &'a mut DecisionLog,
}

impl Ctx<'_> {
    fn record(&mut self, reason: Reason, kind: EventKind) {
        self.log.record(self.now, reason, kind);
    }
}

impl SlotManager {
    /// An empty SlotManager; its first reconcile runs at once (time 0), as Flink's.
    pub fn new(config: SlotManagerConfig) -> Self {
        Self {
            config,
            task_managers: DetMap::default(),
            by_worker: DetMap::default(),
            free_index: BTreeSet::new(),
            idle: BTreeSet::new(),
            default_slot_memory: BTreeMap::new(),
            registered_total: Resources::ZERO,
            registered_free: Resources::ZERO,
            registered_by_spec: BTreeMap::new(),
            unwanted: BTreeMap::new(),
            pending: BTreeMap::new(),
            pending_index: BTreeSet::new(),
            allocations: DetMap::default(),
            request_deadlines: VecDeque::new(),
            jobs: JobTracker::default(),
            check_at: None,
            next_reconcile: Timestamp(0),
            last_reconcile: None,
            next_instance: 1,
            next_allocation: 1,
            next_pending: 1,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SlotManagerConfig {
        &self.config
    }

    // ----------------------------------------------------------------------------------------
    // Requirements

    /// Sets a job's requirements (absolute: the newest declaration replaces the previous one).
    pub fn process_requirements(
        &mut self,
        job: JobId,
        job_master_address: &str,
        requirements: &BTreeMap<ResourceProfile, u32>,
        ctx: &mut Ctx,
    ) {
        let slots = requirements.values().sum();
        self.jobs
            .set_requirements(job, job_master_address, requirements);
        ctx.record(
            Reason::Requested,
            EventKind::RequirementsDeclared { job, slots },
        );
        self.schedule_check(ctx.now);
    }

    /// Clears a job's requirements for good (its JobMaster reached a terminal state): the
    /// TaskManagers holding its slots are told to free the inactive ones.
    pub fn clear_requirements(&mut self, job: JobId, ctx: &mut Ctx) {
        let mut holders: BTreeSet<InstanceId> = BTreeSet::new();
        for allocation in self.jobs.allocations_of(job) {
            if let Some(instance) = self.allocations.get(&allocation) {
                holders.insert(*instance);
            }
        }
        for instance in holders {
            let worker = self.task_managers[&instance].worker.clone();
            ctx.out.push(Command::TaskExecutor {
                worker,
                command: TaskExecutorCommand::FreeInactiveSlots { job },
            });
        }
        self.jobs.set_requirements(job, "", &BTreeMap::new());
        self.jobs.forget_if_empty(job);
        ctx.record(
            Reason::JobTerminated,
            EventKind::RequirementsCleared { job },
        );
        self.schedule_check(ctx.now);
    }

    /// Whether a requirement check is scheduled (the declarations may be stale until it runs).
    pub fn check_scheduled(&self) -> bool {
        self.check_at.is_some()
    }

    fn schedule_check(&mut self, now: Timestamp) {
        if self.check_at.is_none() {
            self.check_at = Some(now.after(self.config.requirement_check_delay));
        }
    }

    /// Runs the requirement check now (normally it runs debounced from [`Self::poll`]).
    pub fn check_requirements(&mut self, ctx: &mut Ctx) {
        self.check_at = None;
        // Pending allocations are recomputed from scratch by every check.
        self.pending_index.clear();
        for (id, p) in self.pending.iter_mut() {
            p.free = self.config.default_worker.total;
            p.allocations.clear();
            self.pending_index.insert((p.free.memory(), *id));
        }
        let mut unfulfillable: BTreeMap<JobId, (u32, Reason)> = BTreeMap::new();
        let jobs = self.jobs.jobs_with_missing();
        let total_missing: u32 = jobs.iter().map(|j| self.missing_slots(*j)).sum();
        ctx.out.reserve(total_missing as usize);
        for job in jobs {
            for (profile, missing) in self.jobs.missing(job) {
                let mut left = missing;
                while left > 0 {
                    if let Some(instance) = self.find_registered(&profile) {
                        // Filling one TaskManager: as many slots as fit; spreading: one at a time.
                        let batch = match self.config.load_balance {
                            LoadBalanceMode::None => left,
                            LoadBalanceMode::Slots => 1,
                        };
                        left -= self.allocate(instance, job, profile, batch, ctx);
                    } else if self.place_on_pending(job, profile) {
                        left -= 1;
                    } else if let Err(reason) = self.place_on_new_pending(job, profile, ctx) {
                        let entry = unfulfillable.entry(job).or_insert((0, reason));
                        entry.0 += left;
                        break;
                    } else {
                        left -= 1;
                    }
                }
            }
        }
        self.top_up(ctx);
        self.release_unused_pending(ctx);
        for (job, (missing, reason)) in unfulfillable {
            let acquired = self.jobs.acquired_count(job);
            ctx.record(reason, EventKind::RequirementUnfulfillable { job, missing });
            ctx.out.push(Command::JobMaster {
                job,
                command: JobMasterCommand::NotEnoughResources { acquired },
            });
        }
    }

    fn find_registered(&self, profile: &ResourceProfile) -> Option<InstanceId> {
        let fits = |id: &InstanceId| {
            let tm = &self.task_managers[id];
            tm.free.fits(&profile.effective(&tm.default_slot))
        };
        match self.config.load_balance {
            LoadBalanceMode::None => {
                // Best fit by free memory: fills one TaskManager before the next.
                let lower = match profile {
                    ResourceProfile::Unknown => {
                        self.default_slot_memory.keys().next().copied().unwrap_or(0)
                    }
                    ResourceProfile::Fixed(r) => r.memory(),
                };
                self.free_index
                    .range((lower, InstanceId(0))..)
                    .map(|(_, id)| *id)
                    .find(fits)
            }
            LoadBalanceMode::Slots => self.free_index.iter().map(|(_, id)| *id).find(fits),
        }
    }

    fn index_key(&self, tm: &TaskManager) -> u64 {
        match self.config.load_balance {
            LoadBalanceMode::None => tm.free.memory(),
            LoadBalanceMode::Slots => {
                let used = tm.total.minus(&tm.free);
                let ratio =
                    |u: u64, t: u64| u.saturating_mul(1_000_000).checked_div(t).unwrap_or(0);
                ratio(used.cpu_millis, tm.total.cpu_millis)
                    .max(ratio(used.memory(), tm.total.memory()))
            }
        }
    }

    /// Re-files a TaskManager in the free and idle indexes after a change.
    fn reindex(&mut self, instance: InstanceId, now: Timestamp) {
        let Some(tm) = self.task_managers.get(&instance) else {
            return;
        };
        let key = (!tm.unwanted && !tm.free.is_empty()).then(|| self.index_key(tm));
        let (old_key, old_idle) = (tm.index_key, tm.idle_since);
        let idle_now = if tm.unwanted || !tm.slots.is_empty() {
            None
        } else {
            Some(old_idle.unwrap_or(now))
        };
        if let Some(k) = old_key {
            self.free_index.remove(&(k, instance));
        }
        if let Some(k) = key {
            self.free_index.insert((k, instance));
        }
        if old_idle != idle_now {
            if let Some(t) = old_idle {
                self.idle.remove(&(t, instance));
            }
            if let Some(t) = idle_now {
                self.idle.insert((t, instance));
            }
        }
        let tm = self
            .task_managers
            .get_mut(&instance)
            .expect("checked above");
        tm.index_key = key;
        tm.idle_since = idle_now;
        let counted = if tm.unwanted {
            (Resources::ZERO, Resources::ZERO)
        } else {
            (tm.free, tm.total)
        };
        let (old_free, old_total) = std::mem::replace(&mut tm.counted, counted);
        self.registered_free = self.registered_free.minus(&old_free).plus(&counted.0);
        self.registered_total = self.registered_total.minus(&old_total).plus(&counted.1);
    }

    /// Requests up to `count` slots of `profile` for `job` on one TaskManager, as many as fit
    /// (at least one: the caller found it fitting). Returns how many.
    fn allocate(
        &mut self,
        instance: InstanceId,
        job: JobId,
        profile: ResourceProfile,
        count: u32,
        ctx: &mut Ctx,
    ) -> u32 {
        let mut done = 0;
        while done < count && self.allocate_one(instance, job, profile, ctx) {
            done += 1;
        }
        self.reindex(instance, ctx.now);
        done
    }

    /// Requests one slot if it fits; the caller re-indexes the TaskManager.
    fn allocate_one(
        &mut self,
        instance: InstanceId,
        job: JobId,
        profile: ResourceProfile,
        ctx: &mut Ctx,
    ) -> bool {
        let deadline = ctx.now.after(self.config.slot_request_timeout);
        let tm = self
            .task_managers
            .get_mut(&instance)
            .expect("allocate on a registered TaskManager");
        let resources = profile.effective(&tm.default_slot);
        if !tm.free.fits(&resources) {
            return false;
        }
        let allocation = AllocationId(self.next_allocation);
        self.next_allocation += 1;
        tm.free = tm.free.minus(&resources);
        tm.slots.insert(
            allocation,
            Slot {
                job,
                resources,
                state: SlotState::Pending(deadline),
            },
        );
        let worker = tm.worker.clone();
        self.allocations.insert(allocation, instance);
        self.request_deadlines.push_back((deadline, allocation));
        self.jobs.acquire(job, allocation, resources, Some(profile));
        let job_master_address = self.jobs.target_address(job);
        ctx.record(
            Reason::Requirement,
            EventKind::SlotRequested {
                job,
                worker: worker.clone(),
                allocation,
            },
        );
        ctx.out.push(Command::TaskExecutor {
            worker,
            command: TaskExecutorCommand::RequestSlot {
                instance,
                allocation,
                job,
                resources,
                job_master_address,
            },
        });
        true
    }

    fn place_on_pending(&mut self, job: JobId, profile: ResourceProfile) -> bool {
        let need = profile.effective(&self.config.default_worker.default_slot());
        let found = self
            .pending_index
            .range((need.memory(), 0)..)
            .map(|(_, id)| *id)
            .find(|id| self.pending[id].free.fits(&need));
        let Some(id) = found else { return false };
        let p = self.pending.get_mut(&id).expect("indexed");
        self.pending_index.remove(&(p.free.memory(), id));
        p.free = p.free.minus(&need);
        p.allocations.push((job, profile));
        self.pending_index.insert((p.free.memory(), id));
        true
    }

    fn pending_total(&self) -> Resources {
        self.config
            .default_worker
            .total
            .times(self.pending.len() as u64)
    }

    /// Whether one more default worker stays within the maximum total resources.
    fn within_max(&self, extra: &Resources) -> bool {
        let total = self
            .registered_total
            .plus(&self.pending_total())
            .plus(extra);
        total.cpu_millis <= self.config.max_cpu_millis && total.memory() <= self.config.max_memory
    }

    fn add_pending(&mut self, reason: Reason, ctx: &mut Ctx) -> u64 {
        let id = self.next_pending;
        self.next_pending += 1;
        let free = self.config.default_worker.total;
        self.pending.insert(
            id,
            PendingTaskManager {
                free,
                allocations: Vec::new(),
            },
        );
        self.pending_index.insert((free.memory(), id));
        ctx.record(
            reason,
            EventKind::PendingTaskManagerAdded {
                pending: self.pending.len() as u32,
            },
        );
        id
    }

    /// Plans a new pending TaskManager for the requirement, or says why none can serve it.
    fn place_on_new_pending(
        &mut self,
        job: JobId,
        profile: ResourceProfile,
        ctx: &mut Ctx,
    ) -> Result<(), Reason> {
        let worker = self.config.default_worker;
        if !worker
            .total
            .fits(&profile.effective(&worker.default_slot()))
        {
            return Err(Reason::ProfileTooLarge);
        }
        if !self.within_max(&worker.total) {
            return Err(Reason::MaxResourcesExceeded);
        }
        self.add_pending(Reason::Requirement, ctx);
        assert!(
            self.place_on_pending(job, profile),
            "a fresh default TaskManager fits the profile"
        );
        Ok(())
    }

    /// Redundancy and minimums hold with `free` resources available out of `total`.
    fn spares_satisfied(&self, free: &Resources, total: &Resources) -> bool {
        let redundant = self
            .config
            .default_worker
            .total
            .times(u64::from(self.config.redundant_task_managers));
        free.cpu_millis >= redundant.cpu_millis
            && free.memory() >= redundant.memory()
            && total.cpu_millis >= self.config.min_cpu_millis
            && total.memory() >= self.config.min_memory
    }

    fn pending_free(&self) -> Resources {
        self.pending
            .values()
            .fold(Resources::ZERO, |acc, p| acc.plus(&p.free))
    }

    /// Adds pending TaskManagers until redundancy and minimums hold (within the maximum).
    fn top_up(&mut self, ctx: &mut Ctx) {
        let mut free = self.registered_free.plus(&self.pending_free());
        let mut total = self.registered_total.plus(&self.pending_total());
        let worker = self.config.default_worker.total;
        while !self.spares_satisfied(&free, &total) && self.within_max(&worker) {
            let reason = if total.cpu_millis < self.config.min_cpu_millis
                || total.memory() < self.config.min_memory
            {
                Reason::Minimum
            } else {
                Reason::Redundancy
            };
            self.add_pending(reason, ctx);
            free = free.plus(&worker);
            total = total.plus(&worker);
        }
    }

    /// Drops pending TaskManagers without allocations that redundancy and minimums do not need.
    fn release_unused_pending(&mut self, ctx: &mut Ctx) {
        let (mut free, mut total) = (self.registered_free, self.registered_total);
        let mut unused = Vec::new();
        for (id, p) in &self.pending {
            if p.allocations.is_empty() {
                unused.push(*id);
            } else {
                free = free.plus(&p.free);
                total = total.plus(&self.config.default_worker.total);
            }
        }
        for id in unused {
            if self.spares_satisfied(&free, &total) {
                let p = self.pending.remove(&id).expect("listed");
                self.pending_index.remove(&(p.free.memory(), id));
                ctx.record(
                    Reason::NoLongerNeeded,
                    EventKind::PendingTaskManagerRemoved {
                        pending: self.pending.len() as u32,
                    },
                );
            } else {
                free = free.plus(&self.pending[&id].free);
                total = total.plus(&self.config.default_worker.total);
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // TaskManagers

    /// Registers a TaskManager with its first slot report. A TaskManager with no allocated slots
    /// and the default worker's shape takes the place of a pending TaskManager (preferring one with
    /// allocations, which are requested at once); any other is refused if it would exceed the
    /// maximum total resources.
    pub fn register_task_manager(
        &mut self,
        worker: WorkerId,
        spec: WorkerSpec,
        total: Resources,
        default_slot: Resources,
        report: &SlotReport,
        ctx: &mut Ctx,
    ) -> TaskManagerRegistration {
        let default = self.config.default_worker;
        let matches_pending = report.allocated.is_empty()
            && total == default.total
            && default_slot == default.default_slot();
        let matched = if matches_pending {
            let with_allocations = self
                .pending
                .iter()
                .find(|(_, p)| !p.allocations.is_empty())
                .map(|(id, _)| *id);
            with_allocations.or_else(|| self.pending.keys().next().copied())
        } else {
            None
        };
        let matched = matched.map(|id| {
            let p = self.pending.remove(&id).expect("found");
            self.pending_index.remove(&(p.free.memory(), id));
            p
        });
        if matched.is_none() && !self.within_max(&total) {
            ctx.record(
                Reason::MaxResourcesExceeded,
                EventKind::RegistrationRefused { worker },
            );
            return TaskManagerRegistration::Rejected;
        }
        let instance = InstanceId(self.next_instance);
        self.next_instance += 1;
        self.task_managers.insert(
            instance,
            TaskManager {
                worker: worker.clone(),
                spec,
                total,
                default_slot,
                free: total,
                slots: SlotTable::default(),
                idle_since: None,
                unwanted: false,
                index_key: None,
                counted: (Resources::ZERO, Resources::ZERO),
            },
        );
        self.by_worker.insert(worker.clone(), instance);
        *self
            .default_slot_memory
            .entry(default_slot.memory())
            .or_default() += 1;
        *self.registered_by_spec.entry(spec).or_default() += 1;
        self.reindex(instance, ctx.now);
        ctx.record(
            Reason::Requested,
            EventKind::TaskManagerRegistered {
                worker,
                matched_pending: matched.is_some(),
            },
        );
        self.report_slot_status(instance, report, ctx);
        match matched {
            Some(p) if !p.allocations.is_empty() => {
                for (job, profile) in p.allocations {
                    let still_missing = self
                        .jobs
                        .missing(job)
                        .iter()
                        .any(|(q, n)| *q == profile && *n > 0);
                    let fits = self.task_managers[&instance]
                        .free
                        .fits(&profile.effective(&default_slot));
                    if still_missing && fits {
                        self.allocate(instance, job, profile, 1, ctx);
                    }
                }
            }
            _ => self.schedule_check(ctx.now),
        }
        TaskManagerRegistration::Accepted(instance)
    }

    /// Removes a TaskManager; its slots are lost for their jobs. Returns how many slots it held.
    pub fn unregister_task_manager(
        &mut self,
        instance: InstanceId,
        reason: Reason,
        ctx: &mut Ctx,
    ) -> u32 {
        let Some(mut tm) = self.task_managers.remove(&instance) else {
            return 0;
        };
        if let Some(k) = tm.index_key {
            self.free_index.remove(&(k, instance));
        }
        if let Some(t) = tm.idle_since {
            self.idle.remove(&(t, instance));
        }
        self.by_worker.remove(&tm.worker);
        if let Some(n) = self.default_slot_memory.get_mut(&tm.default_slot.memory()) {
            *n -= 1;
            if *n == 0 {
                self.default_slot_memory.remove(&tm.default_slot.memory());
            }
        }
        if let Some(n) = self.registered_by_spec.get_mut(&tm.spec) {
            *n -= 1;
            if *n == 0 {
                self.registered_by_spec.remove(&tm.spec);
            }
        }
        self.unwanted.remove(&instance);
        self.registered_free = self.registered_free.minus(&tm.counted.0);
        self.registered_total = self.registered_total.minus(&tm.counted.1);
        let slots: Vec<(AllocationId, Slot)> = std::mem::take(&mut tm.slots).0;
        let lost = slots.len() as u32;
        for (allocation, slot) in slots {
            self.allocations.remove(&allocation);
            self.jobs.lose(slot.job, allocation);
        }
        ctx.record(
            reason,
            EventKind::TaskManagerRemoved {
                worker: tm.worker,
                slots_lost: lost,
            },
        );
        if lost > 0 {
            self.schedule_check(ctx.now);
        }
        lost
    }

    /// The instance a worker is registered under.
    pub fn instance_of(&self, worker: &WorkerId) -> Option<InstanceId> {
        self.by_worker.get(worker).copied()
    }

    /// Reconciles a TaskManager's slot report with local belief; the report wins. Confirmed
    /// requests become allocated, allocated slots missing from the report are freed, unknown
    /// reported slots are adopted (after a failover). Returns whether anything diverged.
    pub fn report_slot_status(
        &mut self,
        instance: InstanceId,
        report: &SlotReport,
        ctx: &mut Ctx,
    ) -> bool {
        let Some(tm) = self.task_managers.get_mut(&instance) else {
            return false;
        };
        let reported: BTreeSet<AllocationId> =
            report.allocated.iter().map(|s| s.allocation).collect();
        let mut to_free: Vec<AllocationId> = tm
            .slots
            .iter()
            .filter(|(a, s)| s.state == SlotState::Allocated && !reported.contains(a))
            .map(|(a, _)| *a)
            .collect();
        to_free.sort_unstable();
        let mut confirmed = Vec::new();
        let mut adopt = Vec::new();
        for s in &report.allocated {
            match tm.slots.get_mut(&s.allocation) {
                Some(slot) => {
                    if let SlotState::Pending(_) = slot.state {
                        slot.state = SlotState::Allocated;
                        confirmed.push((s.allocation, slot.job));
                    }
                }
                None if !self.allocations.contains_key(&s.allocation) => adopt.push(*s),
                None => {}
            }
        }
        let worker = tm.worker.clone();
        let diverged = !to_free.is_empty() || !adopt.is_empty();
        for (allocation, job) in confirmed {
            ctx.record(
                Reason::SlotReport,
                EventKind::SlotAllocated {
                    job,
                    worker: worker.clone(),
                    allocation,
                },
            );
        }
        for allocation in to_free {
            self.free_allocation(allocation, Reason::SlotReport, ctx);
        }
        for s in adopt {
            let tm = self.task_managers.get_mut(&instance).expect("present");
            tm.free = tm.free.minus(&s.resources);
            tm.slots.insert(
                s.allocation,
                Slot {
                    job: s.job,
                    resources: s.resources,
                    state: SlotState::Allocated,
                },
            );
            self.allocations.insert(s.allocation, instance);
            self.next_allocation = self.next_allocation.max(s.allocation.0 + 1);
            self.jobs.acquire(s.job, s.allocation, s.resources, None);
            self.reindex(instance, ctx.now);
            ctx.record(
                Reason::SlotReport,
                EventKind::SlotAdopted {
                    job: s.job,
                    worker: worker.clone(),
                    allocation: s.allocation,
                },
            );
        }
        if diverged {
            self.schedule_check(ctx.now);
        }
        diverged
    }

    /// The TaskExecutor answered a slot request. A late or unknown answer is ignored.
    pub fn slot_request_result(
        &mut self,
        instance: InstanceId,
        allocation: AllocationId,
        ok: bool,
        ctx: &mut Ctx,
    ) {
        if self.allocations.get(&allocation) != Some(&instance) {
            return;
        }
        let tm = self
            .task_managers
            .get_mut(&instance)
            .expect("allocation on a registered TaskManager");
        let slot = tm
            .slots
            .get_mut(&allocation)
            .expect("allocation on its TaskManager");
        let SlotState::Pending(_) = slot.state else {
            return;
        };
        let (job, worker) = (slot.job, tm.worker.clone());
        if ok {
            slot.state = SlotState::Allocated;
            ctx.record(
                Reason::Requested,
                EventKind::SlotAllocated {
                    job,
                    worker,
                    allocation,
                },
            );
        } else {
            ctx.record(
                Reason::SlotRequestRefused,
                EventKind::SlotRequestFailed {
                    job,
                    worker,
                    allocation,
                },
            );
            self.free_allocation(allocation, Reason::SlotRequestRefused, ctx);
        }
    }

    /// A TaskExecutor freed a slot (`notifySlotAvailable`); it is valid only for the current instance.
    pub fn free_slot(&mut self, instance: InstanceId, allocation: AllocationId, ctx: &mut Ctx) {
        if self.allocations.get(&allocation) == Some(&instance) {
            self.free_allocation(allocation, Reason::Requested, ctx);
        }
    }

    fn free_allocation(&mut self, allocation: AllocationId, reason: Reason, ctx: &mut Ctx) {
        let Some(instance) = self.allocations.remove(&allocation) else {
            return;
        };
        let tm = self
            .task_managers
            .get_mut(&instance)
            .expect("allocation on a registered TaskManager");
        let slot = tm
            .slots
            .remove(&allocation)
            .expect("allocation on its TaskManager");
        tm.free = tm.free.plus(&slot.resources).min_fields(&tm.total);
        let worker = tm.worker.clone();
        self.reindex(instance, ctx.now);
        self.jobs.lose(slot.job, allocation);
        ctx.record(
            reason,
            EventKind::SlotFreed {
                job: slot.job,
                worker,
                allocation,
            },
        );
        self.schedule_check(ctx.now);
    }

    // ----------------------------------------------------------------------------------------
    // Idle release, declarations, timers

    /// Flink's reconcile: TaskManagers idle past the timeout are marked unwanted, and unused
    /// pending ones dropped, as long as redundancy and minimums hold without them; otherwise
    /// pending TaskManagers are added to restore them.
    pub fn reconcile(&mut self, ctx: &mut Ctx) {
        self.next_reconcile = ctx.now.after(self.config.task_manager_timeout);
        self.last_reconcile = Some(ctx.now);
        let timeout_ms = self.config.task_manager_timeout.as_millis() as u64;
        let horizon = Timestamp(ctx.now.0.saturating_sub(timeout_ms));
        let idle: Vec<InstanceId> = self
            .idle
            .range(..=(horizon, InstanceId(u64::MAX)))
            .map(|(_, id)| *id)
            .collect();
        let (mut free, mut total) = (self.registered_free, self.registered_total);
        for id in &idle {
            let tm = &self.task_managers[id];
            free = free.minus(&tm.free);
            total = total.minus(&tm.total);
        }
        if !self.spares_satisfied(&free, &total) {
            for p in self.pending.values().filter(|p| !p.allocations.is_empty()) {
                free = free.plus(&p.free);
                total = total.plus(&self.config.default_worker.total);
            }
        }
        for id in idle {
            let tm = &self.task_managers[&id];
            if self.spares_satisfied(&free, &total) {
                self.mark_unwanted(id, ctx);
            } else {
                free = free.plus(&tm.free);
                total = total.plus(&tm.total);
            }
        }
        self.release_unused_pending(ctx);
        self.top_up(ctx);
    }

    fn mark_unwanted(&mut self, instance: InstanceId, ctx: &mut Ctx) {
        let tm = self.task_managers.get_mut(&instance).expect("registered");
        tm.unwanted = true;
        let (spec, worker) = (tm.spec, tm.worker.clone());
        self.unwanted.insert(instance, (spec, worker.clone()));
        self.reindex(instance, ctx.now);
        ctx.record(Reason::Idle, EventKind::TaskManagerUnwanted { worker });
    }

    /// What the SlotManager needs, per worker spec (specs with only unwanted workers included).
    pub fn declarations(&self) -> Vec<ResourceDeclaration> {
        fn entry(
            by_spec: &mut BTreeMap<WorkerSpec, ResourceDeclaration>,
            spec: WorkerSpec,
        ) -> &mut ResourceDeclaration {
            by_spec.entry(spec).or_insert_with(|| ResourceDeclaration {
                spec,
                needed: 0,
                unwanted: Vec::new(),
            })
        }
        let mut by_spec: BTreeMap<WorkerSpec, ResourceDeclaration> = BTreeMap::new();
        for (spec, n) in &self.registered_by_spec {
            entry(&mut by_spec, *spec).needed += n;
        }
        for (spec, worker) in self.unwanted.values() {
            let d = entry(&mut by_spec, *spec);
            d.needed -= 1;
            d.unwanted.push(worker.clone());
        }
        if !self.pending.is_empty() {
            entry(&mut by_spec, self.config.default_worker).needed += self.pending.len() as u32;
        }
        by_spec.into_values().collect()
    }

    /// When the next TaskManager's idle timeout expires that the last reconcile has not seen.
    fn next_idle_expiry(&self) -> Option<Timestamp> {
        let timeout = self.config.task_manager_timeout;
        let timeout_ms = timeout.as_millis() as u64;
        let seen_until = match self.last_reconcile {
            Some(t) => Timestamp(t.0.saturating_sub(timeout_ms) + 1),
            None => Timestamp(0),
        };
        self.idle
            .range((seen_until, InstanceId(0))..)
            .next()
            .map(|(t, _)| t.after(timeout))
    }

    /// The earliest time [`Self::poll`] has work to do.
    pub fn next_deadline(&self) -> Timestamp {
        [
            self.check_at,
            Some(self.next_reconcile),
            self.next_idle_expiry(),
            self.request_deadlines.front().map(|(t, _)| *t),
        ]
        .into_iter()
        .flatten()
        .min()
        .expect("the reconcile is always scheduled")
    }

    /// Runs what is due: timed-out slot requests fail, the debounced check runs, and the reconcile
    /// runs on its period or when a TaskManager's idle timeout expires.
    pub fn poll(&mut self, ctx: &mut Ctx) {
        while let Some(&(deadline, allocation)) = self.request_deadlines.front() {
            if deadline > ctx.now {
                break;
            }
            self.request_deadlines.pop_front();
            if let Some(instance) = self.allocations.get(&allocation) {
                let tm = &self.task_managers[instance];
                let slot = tm
                    .slots
                    .get(&allocation)
                    .expect("allocation on its TaskManager");
                if slot.state != SlotState::Pending(deadline) {
                    continue;
                }
                let (job, worker) = (slot.job, tm.worker.clone());
                ctx.record(
                    Reason::SlotRequestTimeout,
                    EventKind::SlotRequestFailed {
                        job,
                        worker,
                        allocation,
                    },
                );
                self.free_allocation(allocation, Reason::SlotRequestTimeout, ctx);
            }
        }
        if self.check_at.is_some_and(|t| t <= ctx.now) {
            self.check_requirements(ctx);
        }
        let idle_due = self.next_idle_expiry().is_some_and(|t| t <= ctx.now);
        if self.next_reconcile <= ctx.now || idle_due {
            self.reconcile(ctx);
        }
    }

    /// Counters.
    pub fn stats(&self) -> SlotManagerStats {
        SlotManagerStats {
            registered_task_managers: self.task_managers.len() as u32,
            pending_task_managers: self.pending.len() as u32,
            allocated_slots: self.allocations.len() as u32,
            jobs_with_missing_resources: self.jobs.jobs_with_missing().len() as u32,
        }
    }

    /// Slots held by a job (requested or allocated).
    pub fn acquired_slots(&self, job: JobId) -> u32 {
        self.jobs.acquired_count(job)
    }

    /// Slots a job still misses (not counting those planned on pending TaskManagers).
    pub fn missing_slots(&self, job: JobId) -> u32 {
        self.jobs.missing(job).iter().map(|(_, n)| n).sum()
    }

    /// Slots held plus slots missing, over all jobs: what the jobs demand.
    pub fn demanded_slots(&self) -> u32 {
        self.jobs.demanded_slots()
    }

    /// The worker holding an allocation.
    pub fn worker_of_allocation(&self, allocation: AllocationId) -> Option<&WorkerId> {
        self.allocations
            .get(&allocation)
            .map(|i| &self.task_managers[i].worker)
    }

    /// Checks the internal invariants (for tests): every TaskManager's slots fit its total and its
    /// free resources equal total minus slots; indexes agree with the TaskManagers.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (id, tm) in &self.task_managers {
            let used = tm
                .slots
                .values()
                .fold(Resources::ZERO, |acc, s| acc.plus(&s.resources));
            if !tm.total.fits(&used) {
                return Err(format!(
                    "{} holds more than its total: {used:?} > {:?}",
                    tm.worker, tm.total
                ));
            }
            if tm.free != tm.total.minus(&used) {
                return Err(format!("{} free {:?} != total - used", tm.worker, tm.free));
            }
            for a in tm.slots.keys() {
                if self.allocations.get(a) != Some(id) {
                    return Err(format!("allocation {a:?} on {} not indexed", tm.worker));
                }
            }
        }
        if self.allocations.len()
            != self
                .task_managers
                .values()
                .map(|t| t.slots.len())
                .sum::<usize>()
        {
            return Err("allocation index out of sync".into());
        }
        Ok(())
    }
}

trait MinFields {
    fn min_fields(&self, cap: &Resources) -> Resources;
}

impl MinFields for Resources {
    fn min_fields(&self, cap: &Resources) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis.min(cap.cpu_millis),
            task_heap: self.task_heap.min(cap.task_heap),
            task_off_heap: self.task_off_heap.min(cap.task_off_heap),
            managed: self.managed.min(cap.managed),
            network: self.network.min(cap.network),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource_manager::types::{AllocatedSlot, ContainerResource};

    const GIB: u64 = 1 << 30;

    fn config() -> SlotManagerConfig {
        SlotManagerConfig {
            default_worker: WorkerSpec {
                total: Resources::new(2000, 2 * GIB),
                num_slots: 2,
                container: ContainerResource {
                    memory_mb: 4096,
                    vcores: 2,
                },
            },
            load_balance: LoadBalanceMode::None,
            max_cpu_millis: u64::MAX,
            max_memory: u64::MAX,
            min_cpu_millis: 0,
            min_memory: 0,
            redundant_task_managers: 0,
            task_manager_timeout: Duration::from_secs(30),
            requirement_check_delay: Duration::from_millis(50),
            slot_request_timeout: Duration::from_secs(10),
        }
    }

    struct Harness {
        sm: SlotManager,
        out: Vec<Command>,
        log: DecisionLog,
    }

    impl Harness {
        fn new() -> Self {
            Self {
                sm: SlotManager::new(config()),
                out: Vec::new(),
                log: DecisionLog::new(1000),
            }
        }
        fn at<R>(&mut self, now: u64, f: impl FnOnce(&mut SlotManager, &mut Ctx) -> R) -> R {
            let mut ctx = Ctx {
                now: Timestamp(now),
                out: &mut self.out,
                log: &mut self.log,
            };
            f(&mut self.sm, &mut ctx)
        }
        fn register(&mut self, now: u64, name: &str, report: SlotReport) -> InstanceId {
            let spec = self.sm.config().default_worker;
            let outcome = self.at(now, |sm, ctx| {
                sm.register_task_manager(
                    WorkerId::new(name),
                    spec,
                    spec.total,
                    spec.default_slot(),
                    &report,
                    ctx,
                )
            });
            match outcome {
                TaskManagerRegistration::Accepted(i) => i,
                TaskManagerRegistration::Rejected => panic!("rejected"),
            }
        }
        fn slot_requests(&mut self) -> Vec<(WorkerId, AllocationId)> {
            self.out
                .drain(..)
                .filter_map(|c| match c {
                    Command::TaskExecutor {
                        worker,
                        command: TaskExecutorCommand::RequestSlot { allocation, .. },
                    } => Some((worker, allocation)),
                    _ => None,
                })
                .collect()
        }
    }

    fn unknown(n: u32) -> BTreeMap<ResourceProfile, u32> {
        BTreeMap::from([(ResourceProfile::Unknown, n)])
    }

    #[test]
    fn unwanted_task_manager_gets_no_slot() {
        let mut h = Harness::new();
        h.register(0, "tm-1", SlotReport::default());
        h.at(0, |sm, ctx| sm.reconcile(ctx));
        h.at(30_000, |sm, ctx| sm.reconcile(ctx));
        let declarations = h.sm.declarations();
        assert_eq!(declarations[0].needed, 0);
        assert_eq!(declarations[0].unwanted, vec![WorkerId::new("tm-1")]);
        h.at(30_001, |sm, ctx| {
            sm.process_requirements(JobId(1), "jm", &unknown(1), ctx)
        });
        h.at(30_051, |sm, ctx| sm.poll(ctx));
        assert!(
            h.slot_requests().is_empty(),
            "no slot on a TaskManager being released"
        );
        assert_eq!(h.sm.stats().pending_task_managers, 1);
    }

    #[test]
    fn slot_report_promotes_frees_and_adopts() {
        let mut h = Harness::new();
        let i = h.register(0, "tm-1", SlotReport::default());
        h.at(1, |sm, ctx| {
            sm.process_requirements(JobId(1), "jm", &unknown(2), ctx)
        });
        h.at(60, |sm, ctx| sm.check_requirements(ctx));
        let requested = h.slot_requests();
        assert_eq!(requested.len(), 2);
        let slot = Resources::new(1000, GIB);
        let reported = |a: AllocationId| AllocatedSlot {
            allocation: a,
            job: JobId(1),
            resources: slot,
        };
        // The first request is confirmed by the report, the second stays pending (not freed).
        let report = SlotReport {
            allocated: vec![reported(requested[0].1)],
        };
        assert!(!h.at(70, |sm, ctx| sm.report_slot_status(i, &report, ctx)));
        assert_eq!(h.sm.acquired_slots(JobId(1)), 2);
        // Now the report lists a slot this SlotManager never requested and drops the confirmed one.
        h.at(80, |sm, ctx| {
            sm.slot_request_result(i, requested[1].1, true, ctx)
        });
        let stranger = AllocatedSlot {
            allocation: AllocationId(999),
            job: JobId(2),
            resources: slot,
        };
        let report = SlotReport {
            allocated: vec![reported(requested[1].1), stranger],
        };
        assert!(h.at(90, |sm, ctx| sm.report_slot_status(i, &report, ctx)));
        assert_eq!(
            h.sm.acquired_slots(JobId(1)),
            1,
            "the dropped slot is freed"
        );
        assert_eq!(
            h.sm.acquired_slots(JobId(2)),
            1,
            "the unknown slot is adopted"
        );
        assert_eq!(
            h.sm.worker_of_allocation(AllocationId(999)),
            Some(&WorkerId::new("tm-1"))
        );
        h.sm.check_invariants().unwrap();
    }

    #[test]
    fn late_answer_after_timeout_is_ignored_and_the_slot_requested_again() {
        let mut h = Harness::new();
        let i = h.register(0, "tm-1", SlotReport::default());
        h.at(1, |sm, ctx| {
            sm.process_requirements(JobId(1), "jm", &unknown(1), ctx)
        });
        h.at(51, |sm, ctx| sm.poll(ctx));
        let first = h.slot_requests()[0].1;
        h.at(10_051, |sm, ctx| sm.poll(ctx));
        assert_eq!(h.sm.acquired_slots(JobId(1)), 0, "timed out");
        h.at(10_060, |sm, ctx| {
            sm.slot_request_result(i, first, true, ctx)
        });
        assert_eq!(
            h.sm.acquired_slots(JobId(1)),
            0,
            "a late answer changes nothing"
        );
        h.at(10_101, |sm, ctx| sm.poll(ctx));
        let again = h.slot_requests();
        assert_eq!(again.len(), 1);
        assert_ne!(again[0].1, first);
        h.sm.check_invariants().unwrap();
    }
}
