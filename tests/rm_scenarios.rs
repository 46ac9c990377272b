//! Flink's resource-management scenarios (reference §5.1–§5.6), one named test each, run in the
//! deterministic simulation: simulated driver, TaskExecutors and JobMasters on a virtual clock.
//! Flink's own test names are given beside each scenario.

use std::collections::BTreeMap;

use spindle::config::Configuration;
use spindle::resource_manager::ResourceManagerConfig;
use spindle::resource_manager::events::{EventQuery, Reason};
use spindle::resource_manager::simulation::Simulation;
use spindle::resource_manager::types::{
    JobId, JobStatus, ResourceProfile, Resources, Timestamp, WorkerId,
};

const SEC: u64 = 1_000;
const MIN: u64 = 60 * SEC;

/// Two slots per TaskManager unless the pairs say otherwise.
fn config(pairs: &[(&str, &str)]) -> ResourceManagerConfig {
    let mut conf = Configuration::from_pairs([("taskmanager.numberOfTaskSlots", "2")]);
    for (k, v) in pairs {
        conf.set(*k, *v);
    }
    ResourceManagerConfig::from_configuration(&conf).expect("valid test configuration")
}

fn sim(pairs: &[(&str, &str)]) -> Simulation {
    Simulation::new(config(pairs), 4)
}

fn slots(n: u32) -> BTreeMap<ResourceProfile, u32> {
    BTreeMap::from([(ResourceProfile::Unknown, n)])
}

fn count(sim: &Simulation, name: &str, reason: Option<Reason>) -> usize {
    sim.core
        .events(&EventQuery {
            name: Some(name.into()),
            reason,
            ..Default::default()
        })
        .len()
}

fn assert_safe(sim: &Simulation) {
    assert!(
        sim.violations.is_empty(),
        "violations: {:?}",
        sim.violations
    );
    sim.core
        .slot_manager()
        .check_invariants()
        .expect("SlotManager invariants");
}

const A: JobId = JobId(0xa);
const B: JobId = JobId(0xb);

/// Flink: DefaultResourceAllocationStrategyTest.testFulfillRequirementWithRegisteredResources,
/// AbstractFineGrainedSlotManagerITCase.testResourceCanBeAllocatedForDifferentJobWithDeclarationAfterSlotFree.
#[test]
fn fulfil_from_registered_task_managers() {
    let mut sim = sim(&[]);
    sim.submit_job(A, slots(4));
    sim.run_for(20 * SEC);
    assert!(sim.all_jobs_fulfilled());
    let asked = sim.counters.asked;
    assert_eq!(asked, 2);
    let listed = sim.core.task_executors();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|t| t.address.starts_with("te-container_sim_"))
    );
    sim.finish_job(A, JobStatus::Finished);
    sim.submit_job(B, slots(3));
    sim.run_for(5 * SEC);
    assert!(sim.all_jobs_fulfilled());
    assert_eq!(
        sim.counters.asked, asked,
        "the registered TaskManagers serve the new job"
    );
    // Any-matching fills one TaskManager before the next.
    let mut per_worker: Vec<usize> = sim.workers.values().map(|w| w.slots.len()).collect();
    per_worker.sort();
    assert_eq!(per_worker, vec![1, 2]);
    assert_safe(&sim);
}

/// Flink: DefaultResourceAllocationStrategyTest.testFulfillRequirementWithRegisteredResourcesEvenly.
#[test]
fn fulfil_from_registered_task_managers_evenly() {
    let mut sim = sim(&[("taskmanager.load-balance.mode", "SLOTS")]);
    sim.submit_job(A, slots(4));
    sim.run_for(20 * SEC);
    sim.finish_job(A, JobStatus::Finished);
    sim.submit_job(B, slots(2));
    sim.run_for(5 * SEC);
    let per_worker: Vec<usize> = sim.workers.values().map(|w| w.slots.len()).collect();
    assert_eq!(
        per_worker,
        vec![1, 1],
        "slots spread over the least utilised TaskManagers"
    );
    assert_safe(&sim);
}

/// Flink: testFulfillRequirementWithPendingResources,
/// testRequirementDeclarationWithPendingResource.
#[test]
fn fulfil_from_pending_task_managers() {
    let mut sim = sim(&[]);
    sim.behaviour.auto_allocate = false;
    sim.submit_job(A, slots(3));
    sim.run_for(SEC);
    assert_eq!(
        sim.driver_asks(),
        2,
        "3 slots need 2 TaskManagers of 2 slots"
    );
    sim.declare(A, slots(4));
    sim.run_for(SEC);
    assert_eq!(
        sim.driver_asks(),
        2,
        "the 4th slot fits on a pending TaskManager"
    );
    assert_eq!(sim.core.slot_manager().stats().pending_task_managers, 2);
    sim.grant(2, 0);
    sim.run_for(10 * SEC);
    assert!(sim.all_jobs_fulfilled());
    assert_eq!(sim.core.slot_manager().stats().pending_task_managers, 0);
    assert_eq!(count(&sim, "task_manager_registered", None), 2);
    assert_safe(&sim);
}

/// Flink: testUnfulfillableRequirement, testWorkerOnlyAllocatedIfRequestedSlotCouldBeFulfilled,
/// testNotificationAboutNotEnoughResources.
#[test]
fn unfulfillable_requirement_is_reported_and_starts_no_worker() {
    let mut sim = sim(&[]);
    let huge = ResourceProfile::Fixed(Resources::new(64_000, 1 << 40));
    sim.submit_job(A, BTreeMap::from([(huge, 1)]));
    sim.run_for(10 * SEC);
    assert_eq!(sim.counters.asked, 0);
    assert!(sim.jobs[&A].not_enough_notifications >= 1);
    assert!(
        count(
            &sim,
            "requirement_unfulfillable",
            Some(Reason::ProfileTooLarge)
        ) >= 1
    );
    assert_safe(&sim);
}

/// Flink: testMaxTotalResourceExceededAllocateResource, testMaxSlotLimitAllocateWorker.
#[test]
fn max_slots_cap_new_workers_and_report_the_rest() {
    let mut sim = sim(&[("slotmanager.number-of-slots.max", "4")]);
    sim.submit_job(A, slots(6));
    sim.run_for(30 * SEC);
    assert_eq!(sim.counters.asked, 2, "4 slots at most, 2 per TaskManager");
    assert_eq!(sim.slots_of(A), 4);
    assert!(sim.jobs[&A].not_enough_notifications >= 1);
    assert!(
        count(
            &sim,
            "requirement_unfulfillable",
            Some(Reason::MaxResourcesExceeded)
        ) >= 1
    );
    assert_safe(&sim);
}

/// Flink: testMaxTotalResourceExceededRegisterResource (registration REJECTED).
#[test]
fn max_total_resources_refuse_registration() {
    let mut sim = sim(&[("slotmanager.number-of-slots.max", "2")]);
    let spec = sim.core.config().slot_manager.default_worker;
    // The container comes up larger than asked, so it matches no pending TaskManager.
    let bigger = spec.total.times(2);
    sim.behaviour.registered_resources = Some((bigger, spec.default_slot()));
    sim.submit_job(A, slots(2));
    sim.run_for(10 * SEC);
    assert!(sim.counters.registrations_refused >= 1);
    assert!(
        count(
            &sim,
            "registration_refused",
            Some(Reason::MaxResourcesExceeded)
        ) >= 1
    );
    assert!(count(&sim, "worker_released", Some(Reason::MaxResourcesExceeded)) >= 1);
    assert_eq!(sim.core.slot_manager().stats().registered_task_managers, 0);
    assert_safe(&sim);
}

/// Flink: testMinRequiredResourceLimitInFulfillRequirements, testMinResourceLimitInReconcile.
#[test]
fn min_slots_are_started_and_kept() {
    let mut sim = sim(&[("slotmanager.number-of-slots.min", "4")]);
    sim.run_for(20 * SEC);
    assert_eq!(
        sim.counters.asked, 2,
        "4 slots minimum = 2 TaskManagers, with no job at all"
    );
    assert_eq!(sim.core.slot_manager().stats().registered_task_managers, 2);
    sim.submit_job(A, slots(2));
    sim.run_for(10 * SEC);
    sim.finish_job(A, JobStatus::Finished);
    sim.run_for(5 * MIN);
    assert_eq!(
        sim.core.slot_manager().stats().registered_task_managers,
        2,
        "idle but kept for the minimum"
    );
    assert_eq!(sim.counters.released, 0);
    assert_safe(&sim);
}

/// Flink: testRedundantResourceShouldBeFulfilled / Reserved, testRequestRedundantTaskManager.
#[test]
fn redundant_task_managers_are_kept_free() {
    let mut sim = sim(&[("slotmanager.redundant-taskmanager-num", "1")]);
    sim.submit_job(A, slots(2));
    sim.run_for(20 * SEC);
    assert_eq!(
        sim.counters.asked, 2,
        "one TaskManager for the job, one spare"
    );
    assert!(count(&sim, "pending_task_manager_added", Some(Reason::Redundancy)) >= 1);
    sim.finish_job(A, JobStatus::Finished);
    sim.run_for(5 * MIN);
    assert_eq!(
        sim.core.slot_manager().stats().registered_task_managers,
        1,
        "the spare stays"
    );
    assert_eq!(sim.alive_workers().len(), 1);
    assert_safe(&sim);
}

/// Flink: testIdleTaskManagerShouldBeReleased, testTimeoutForUnusedTaskManager.
#[test]
fn idle_task_manager_released_after_timeout() {
    let mut sim = sim(&[]);
    sim.submit_job(A, slots(2));
    sim.run_for(20 * SEC);
    let worker = sim.alive_workers()[0].clone();
    sim.finish_job(A, JobStatus::Finished);
    let freed_at = sim.now();
    sim.run_for(29 * SEC);
    assert_eq!(
        sim.alive_workers().len(),
        1,
        "not before resourcemanager.taskmanager-timeout"
    );
    sim.run_for(2 * SEC);
    assert!(sim.alive_workers().is_empty());
    let released = sim.core.events(&EventQuery {
        name: Some("worker_released".into()),
        worker: Some(worker),
        ..Default::default()
    });
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].reason, Reason::Idle);
    assert!(released[0].at.0 >= freed_at.0 + 30 * SEC);
    assert_safe(&sim);
}

/// Flink: testWorkerRegistrationTimeout, testWorkerRegistrationTimeoutNotCountingAllocationTime.
#[test]
fn registration_timeout_counted_from_allocation() {
    let mut sim = sim(&[]);
    sim.behaviour.auto_allocate = false;
    sim.behaviour.workers_register = false;
    sim.submit_job(A, slots(2));
    sim.run_for(10 * MIN);
    assert_eq!(
        count(&sim, "worker_released", None),
        0,
        "waiting for an allocation is not a registration timeout"
    );
    sim.grant(1, 0);
    let allocated_at = sim.now();
    sim.run_for(5 * MIN - SEC);
    assert_eq!(count(&sim, "worker_released", None), 0);
    sim.run_for(2 * SEC);
    let released = sim.core.events(&EventQuery {
        reason: Some(Reason::RegistrationTimeout),
        ..Default::default()
    });
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].at.0, allocated_at.0 + 5 * MIN);
    assert_eq!(sim.driver_asks(), 1, "a replacement is asked for");
    assert_safe(&sim);
}

/// Flink: testStartWorkerIntervalOnWorkerTerminationExceedFailureRate.
#[test]
fn start_failure_rate_pauses_requests() {
    let mut sim = sim(&[
        ("resourcemanager.start-worker.max-failure-rate", "3"),
        ("resourcemanager.start-worker.retry-interval", "20 s"),
    ]);
    sim.behaviour.start_failure_probability = 1.0;
    sim.behaviour.allocation_delay = (10, 10);
    sim.behaviour.start_delay = (10, 10);
    sim.behaviour.registration_delay = (10, 10);
    sim.submit_job(A, slots(2));
    sim.run_for(2 * SEC);
    let paused = sim.core.events(&EventQuery {
        name: Some("start_paused".into()),
        ..Default::default()
    });
    assert!(
        !paused.is_empty(),
        "3 failures within a minute pause the requests"
    );
    let paused_at = paused[0].at;
    let asks_during_pause = sim
        .core
        .events(&EventQuery {
            name: Some("worker_asked".into()),
            ..Default::default()
        })
        .iter()
        .filter(|e| e.at > paused_at && e.at.0 < paused_at.0 + 20 * SEC)
        .count();
    sim.run_until(Timestamp(paused_at.0 + 20 * SEC - 1));
    assert_eq!(asks_during_pause, 0);
    let before = sim.counters.asked;
    sim.behaviour.start_failure_probability = 0.0;
    sim.run_for(10 * SEC);
    assert!(
        sim.counters.asked > before,
        "asking resumes after the retry interval"
    );
    assert!(sim.all_jobs_fulfilled());
    assert_safe(&sim);
}

/// Flink: testStartWorkerIntervalOnRequestWorkerFailure / testStartNewWorkerFailedRequesting.
#[test]
fn request_failure_counts_as_start_failure_and_is_retried() {
    use spindle::resource_manager::DriverEvent;
    let mut sim = sim(&[]);
    sim.behaviour.auto_allocate = false;
    sim.submit_job(A, slots(2));
    sim.run_for(SEC);
    assert_eq!(sim.driver_asks(), 1);
    let spec = sim.core.config().slot_manager.default_worker;
    sim.core.on_driver_event(
        DriverEvent::WorkerRequestFailed {
            spec,
            cause: "too large".into(),
        },
        sim.now(),
    );
    assert_eq!(count(&sim, "start_failure", None), 1);
    assert_eq!(sim.core.workers().outstanding_asks(), 1, "asked again");
}

/// Flink: ActiveResourceManagerTest.testWorkerTerminatedBeforeRegister.
#[test]
fn worker_terminated_before_registration_is_replaced() {
    let mut sim = sim(&[]);
    sim.behaviour.auto_allocate = false;
    sim.behaviour.workers_register = false;
    sim.submit_job(A, slots(2));
    sim.run_for(SEC);
    sim.grant(1, 0);
    sim.run_for(SEC);
    let worker = sim.alive_workers()[0].clone();
    sim.terminate_worker(&worker, "container exited with code 1");
    assert_eq!(count(&sim, "start_failure", None), 1);
    assert_eq!(sim.driver_asks(), 1, "replaced: the job still needs it");
    assert_safe(&sim);
}

/// Flink: ActiveResourceManagerTest.testWorkerTerminatedAfterRegister.
#[test]
fn worker_terminated_after_registration_is_replaced_while_needed() {
    let mut sim = sim(&[]);
    sim.submit_job(A, slots(2));
    sim.run_for(20 * SEC);
    assert!(sim.all_jobs_fulfilled());
    let worker = sim.alive_workers()[0].clone();
    sim.terminate_worker(&worker, "container preempted");
    assert_eq!(
        count(&sim, "start_failure", None),
        0,
        "a registered worker's end is no start failure"
    );
    assert!(sim.jobs[&A].task_managers_lost >= 1);
    sim.run_for(20 * SEC);
    assert_eq!(sim.counters.asked, 2, "one replacement");
    assert!(sim.all_jobs_fulfilled());
    assert_safe(&sim);
}

/// Flink: ActiveResourceManagerTest.testWorkerTerminatedNoLongerRequired.
#[test]
fn worker_terminated_no_longer_required_is_not_replaced() {
    let mut sim = sim(&[]);
    sim.submit_job(A, slots(2));
    sim.run_for(20 * SEC);
    sim.finish_job(A, JobStatus::Finished);
    sim.run_for(SEC);
    let worker = sim.alive_workers()[0].clone();
    sim.terminate_worker(&worker, "node lost");
    sim.run_for(MIN);
    assert_eq!(sim.counters.asked, 1, "no replacement");
    assert_eq!(sim.driver_asks(), 0);
    assert_safe(&sim);
}

/// Flink: ActiveResourceManagerTest.testMoreThanDeclaredResource (release order: asks first).
#[test]
fn more_workers_than_declared_cancel_asks_first() {
    let mut sim = sim(&[]);
    sim.behaviour.auto_allocate = false;
    sim.submit_job(A, slots(8));
    sim.run_for(SEC);
    assert_eq!(sim.driver_asks(), 4);
    sim.grant(2, 0);
    sim.run_for(10 * SEC);
    assert_eq!(sim.slots_of(A), 4);
    sim.declare(A, slots(4));
    sim.run_for(SEC);
    assert_eq!(sim.driver_asks(), 0, "the two ungranted asks are withdrawn");
    assert_eq!(
        count(&sim, "ask_cancelled", Some(Reason::NoLongerNeeded)),
        2
    );
    assert_eq!(sim.counters.released, 0, "no registered worker is released");
    assert_safe(&sim);
}

/// Flink: ActiveResourceManagerTest.testLessThanDeclareResource / testStartNewWorker.
#[test]
fn fewer_workers_than_declared_asks_for_more() {
    let mut sim = sim(&[]);
    sim.submit_job(A, slots(2));
    sim.run_for(20 * SEC);
    assert_eq!(sim.counters.asked, 1);
    sim.declare(A, slots(6));
    sim.run_for(SEC);
    assert_eq!(
        sim.counters.asked, 3,
        "two more TaskManagers for four more slots"
    );
    sim.run_for(20 * SEC);
    assert!(sim.all_jobs_fulfilled());
    assert_safe(&sim);
}

/// Seed 004: two TaskManagers of two slots needed for parallelism 4, the driver delivers four:
/// exactly two are used, the other two released at once as surplus.
#[test]
fn seed_004_surplus_workers_released_at_once() {
    let mut sim = sim(&[]);
    sim.behaviour.auto_allocate = false;
    sim.submit_job(A, slots(4));
    sim.run_for(SEC);
    assert_eq!(sim.driver_asks(), 2);
    let before = sim.now();
    sim.grant(2, 2);
    let surplus = sim.core.events(&EventQuery {
        reason: Some(Reason::Surplus),
        ..Default::default()
    });
    assert_eq!(surplus.len(), 2);
    assert!(
        surplus
            .iter()
            .all(|e| e.at == before && e.name() == "worker_released"),
        "released at once"
    );
    sim.run_for(20 * SEC);
    assert!(sim.all_jobs_fulfilled());
    assert_eq!(sim.workers_in_use(), 2);
    assert_eq!(sim.alive_workers().len(), 2);
    assert_eq!(sim.counters.allocated, 4);
    assert_eq!(sim.counters.released, 2);
    assert_safe(&sim);
}

/// Flink: ActiveResourceManagerTest.testRegisterUnknownWorker.
#[test]
fn unknown_task_executor_refused() {
    let mut sim = sim(&[]);
    let spec = sim.core.config().slot_manager.default_worker;
    sim.register_stranger("container_stranger_01", spec.total, spec.default_slot());
    sim.run_for(SEC);
    assert_eq!(sim.counters.registrations_refused, 1);
    let refused = sim.core.events(&EventQuery {
        name: Some("registration_refused".into()),
        ..Default::default()
    });
    assert_eq!(refused[0].reason, Reason::UnknownWorker);
    assert_eq!(sim.core.slot_manager().stats().registered_task_managers, 0);
}

/// A released worker may not register again.
#[test]
fn released_worker_registration_refused() {
    let mut sim = sim(&[]);
    sim.submit_job(A, slots(2));
    sim.run_for(20 * SEC);
    sim.finish_job(A, JobStatus::Finished);
    sim.run_for(2 * MIN);
    let released: Vec<WorkerId> = sim.released_workers().into_iter().collect();
    assert_eq!(released.len(), 1);
    let spec = sim.core.config().slot_manager.default_worker;
    sim.register_stranger(&released[0].0, spec.total, spec.default_slot());
    sim.run_for(SEC);
    assert_eq!(sim.counters.registrations_refused, 1);
}

/// Flink: AbstractFineGrainedSlotManagerITCase.testSlotRequestTimeout.
#[test]
fn slot_request_timeout_frees_and_retries() {
    let mut sim = sim(&[]);
    sim.behaviour.answer_slot_requests = false;
    sim.submit_job(A, slots(1));
    sim.run_for(15 * SEC);
    let timeouts = sim.core.events(&EventQuery {
        name: Some("slot_request_failed".into()),
        ..Default::default()
    });
    assert!(!timeouts.is_empty());
    assert_eq!(timeouts[0].reason, Reason::SlotRequestTimeout);
    sim.behaviour.answer_slot_requests = true;
    sim.run_for(30 * SEC);
    assert!(
        sim.all_jobs_fulfilled(),
        "the requirement is requested again and served"
    );
    assert_safe(&sim);
}

/// Flink: testDisconnectJobManagerWithTerminalStatusShouldRemoveJob,
/// testReclaimInactiveSlotsOnClearRequirements.
#[test]
fn job_master_disconnect_terminal_clears_requirements() {
    let mut sim = sim(&[]);
    sim.submit_job(A, slots(4));
    sim.run_for(20 * SEC);
    assert_eq!(sim.slots_of(A), 4);
    // The JobMaster goes without freeing its slots: the RM tells the TaskExecutors to.
    sim.core
        .disconnect_job_master(A, JobStatus::Canceled, sim.now());
    sim.run_for(SEC);
    assert_eq!(sim.slots_of(A), 0, "inactive slots freed");
    assert_eq!(sim.core.slot_manager().acquired_slots(A), 0);
    assert_eq!(
        count(&sim, "requirements_cleared", Some(Reason::JobTerminated)),
        1
    );
    sim.run_for(2 * MIN);
    assert!(sim.is_quiet(0));
    assert_safe(&sim);
}

/// Flink: testDisconnectJobManagerWithNonTerminalStatusShouldNotRemoveJob.
#[test]
fn job_master_disconnect_non_terminal_keeps_requirements() {
    let mut sim = sim(&[]);
    sim.submit_job(A, slots(4));
    sim.run_for(20 * SEC);
    sim.core
        .disconnect_job_master(A, JobStatus::Suspended, sim.now());
    sim.run_for(2 * MIN);
    assert_eq!(
        sim.core.slot_manager().acquired_slots(A),
        4,
        "slots kept for a new leader"
    );
    assert_eq!(sim.core.slot_manager().missing_slots(A), 0);
    assert_eq!(sim.alive_workers().len(), 2);
    // A new leader takes over and re-declares: nothing new is asked.
    sim.submit_job(A, slots(4));
    sim.run_for(10 * SEC);
    assert_eq!(sim.counters.asked, 2);
    assert_safe(&sim);
}

/// Flink: ResourceManagerTest.testHeartbeatTimeoutWithTaskExecutor.
#[test]
fn task_executor_heartbeat_timeout_disconnects_and_replaces() {
    let mut sim = sim(&[]);
    sim.submit_job(A, slots(2));
    sim.run_for(20 * SEC);
    let worker = sim.alive_workers()[0].clone();
    sim.workers.get_mut(&worker).unwrap().responsive = false;
    sim.run_for(70 * SEC);
    let lost = sim.core.events(&EventQuery {
        reason: Some(Reason::HeartbeatTimeout),
        worker: Some(worker.clone()),
        ..Default::default()
    });
    assert!(lost.iter().any(|e| e.name() == "worker_released"));
    assert!(!sim.workers[&worker].alive);
    assert!(sim.jobs[&A].task_managers_lost >= 1);
    sim.run_for(20 * SEC);
    assert!(sim.all_jobs_fulfilled(), "a replacement serves the job");
    assert_safe(&sim);
}

/// Flink: ResourceManagerTest.testHeartbeatTimeoutWithJobMaster (requirements retained).
#[test]
fn job_master_heartbeat_timeout_keeps_requirements() {
    let mut sim = sim(&[]);
    sim.submit_job(A, slots(2));
    sim.run_for(20 * SEC);
    sim.crash_job_master(A);
    sim.run_for(70 * SEC);
    assert_eq!(
        count(
            &sim,
            "job_master_disconnected",
            Some(Reason::HeartbeatTimeout)
        ),
        1
    );
    assert_eq!(sim.core.overview().job_masters, 0);
    assert_eq!(sim.core.slot_manager().acquired_slots(A), 2);
    assert_safe(&sim);
}

/// Flink: FineGrainedSlotManagerTest.testRequirementCheckOnlyTriggeredOnce.
#[test]
fn requirement_check_debounced() {
    let mut sim = sim(&[]);
    sim.behaviour.auto_allocate = false;
    sim.submit_job(A, slots(2));
    sim.run_for(10);
    sim.declare(A, slots(4));
    sim.run_for(10);
    sim.declare(A, slots(6));
    sim.run_for(SEC);
    assert_eq!(
        sim.counters.asked, 3,
        "one check for the burst: 6 slots, 3 TaskManagers"
    );
    assert_eq!(count(&sim, "pending_task_manager_added", None), 3);
    assert_eq!(count(&sim, "pending_task_manager_removed", None), 0);
}

/// Flink: DefaultSlotStatusSyncerTest.testSlotStatusProcessing (the report wins).
#[test]
fn slot_report_wins_over_local_belief() {
    let mut sim = sim(&[]);
    sim.submit_job(A, slots(2));
    sim.run_for(20 * SEC);
    let worker = sim.alive_workers()[0].clone();
    // The TaskExecutor lost a slot without telling: the next heartbeat frees it, and it is
    // requested again because the job still needs it.
    let w = sim.workers.get_mut(&worker).unwrap();
    let lost = *w.slots.keys().next().unwrap();
    w.slots.remove(&lost);
    sim.run_for(15 * SEC);
    let freed = sim.core.events(&EventQuery {
        name: Some("slot_freed".into()),
        reason: Some(Reason::SlotReport),
        ..Default::default()
    });
    assert_eq!(freed.len(), 1);
    assert!(sim.all_jobs_fulfilled());
    assert_safe(&sim);
}

/// Flink: testTaskManagerRegistrationDeductPendingTaskManager,
/// testSlotAllocationForPendingTaskManagerWillBeRespected.
#[test]
fn registration_takes_a_pending_task_manager_and_its_allocations() {
    let mut sim = sim(&[]);
    sim.behaviour.auto_allocate = false;
    sim.submit_job(A, slots(2));
    sim.run_for(SEC);
    assert_eq!(sim.core.slot_manager().stats().pending_task_managers, 1);
    sim.grant(1, 0);
    sim.run_for(10 * SEC);
    assert_eq!(sim.core.slot_manager().stats().pending_task_managers, 0);
    let registered = sim.core.events(&EventQuery {
        name: Some("task_manager_registered".into()),
        ..Default::default()
    });
    let requested = sim.core.events(&EventQuery {
        name: Some("slot_requested".into()),
        ..Default::default()
    });
    assert_eq!(requested.len(), 2);
    assert!(
        requested.iter().all(|e| e.at == registered[0].at),
        "the pending allocations are requested on registration"
    );
}

/// Flink: testRecoverWorkerFromPreviousAttempt, testResourceManagerRecoveredAfterAllTMRegistered.
#[test]
fn previous_attempt_workers_recovered_before_serving() {
    use spindle::resource_manager::DriverEvent;
    use spindle::resource_manager::core::{
        TaskExecutorRegistration, TaskExecutorRegistrationResponse,
    };
    use spindle::resource_manager::types::SlotReport;
    let mut sim = sim(&[("resourcemanager.previous-worker.recovery.timeout", "1 min")]);
    let old = WorkerId::new("container_e01_0001_01_000002");
    sim.core.on_driver_event(
        DriverEvent::PreviousAttemptWorkersRecovered {
            workers: vec![old.clone()],
        },
        sim.now(),
    );
    sim.submit_job(A, slots(2));
    sim.run_for(SEC);
    assert_eq!(
        sim.counters.asked, 0,
        "declarations wait for the recovered worker"
    );
    let spec = sim.core.config().slot_manager.default_worker;
    let registration = TaskExecutorRegistration {
        worker: old.clone(),
        address: "te-old".into(),
        total: spec.total,
        default_slot: spec.default_slot(),
        slot_report: SlotReport::default(),
    };
    let response = sim.core.register_task_executor(registration, sim.now());
    assert!(matches!(
        response,
        TaskExecutorRegistrationResponse::Success { .. }
    ));
    sim.run_for(SEC);
    assert_eq!(sim.counters.asked, 0, "the recovered worker serves the job");
    assert_eq!(sim.core.slot_manager().acquired_slots(A), 2);
}

/// The same seed replays exactly: identical decision logs.
#[test]
fn simulation_replays_exactly() {
    let run = |seed| {
        let mut sim = Simulation::new(config(&[]), seed);
        sim.behaviour.start_failure_probability = 0.2;
        sim.behaviour.surplus_per_allocation = 1;
        for j in 1..=5u128 {
            sim.submit_job(JobId(j), slots(j as u32 * 3));
        }
        sim.run_for(2 * MIN);
        sim.finish_job(JobId(2), JobStatus::Finished);
        sim.run_for(2 * MIN);
        serde_json::to_string(&sim.core.events(&EventQuery::default())).unwrap()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

/// Thousands of TaskExecutors in virtual time.
#[test]
fn thousands_of_task_executors() {
    let mut sim = Simulation::new(config(&[("taskmanager.numberOfTaskSlots", "4")]), 11);
    for j in 1..=100u128 {
        sim.submit_job(JobId(j), slots(80));
    }
    sim.run_for(MIN);
    assert!(sim.all_jobs_fulfilled());
    assert_eq!(sim.alive_workers().len(), 2000);
    for j in 1..=100u128 {
        sim.finish_job(JobId(j), JobStatus::Finished);
    }
    sim.run_for(2 * MIN);
    assert!(sim.is_quiet(0));
    assert_safe(&sim);
}
