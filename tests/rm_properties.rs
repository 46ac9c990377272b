//! Property tests of the ResourceManager over random event sequences in the simulation: jobs
//! arriving, changing and ending, workers dying or hanging, surplus deliveries, start failures.
//!
//! Checked on every step by the simulation: no slot is given under an allocation already in use,
//! no slot is requested on a released or unregistered worker, no TaskExecutor holds more than its
//! resources. Checked here: never more workers requested than the jobs' demand plus redundancy
//! and minimum; every satisfiable requirement is eventually fulfilled; after the jobs finish the
//! system goes quiet (no asks, no pending TaskManagers, no idle workers beyond the spares).

use std::collections::BTreeMap;

use proptest::prelude::*;
use spindle::config::Configuration;
use spindle::resource_manager::ResourceManagerConfig;
use spindle::resource_manager::simulation::Simulation;
use spindle::resource_manager::types::{JobId, JobStatus, ResourceProfile};

#[derive(Debug, Clone)]
enum Op {
    Submit { job: u8, slots: u8 },
    Change { job: u8, slots: u8 },
    Finish { job: u8, terminal: bool },
    FreeSlots { job: u8, n: u8 },
    Kill { worker: u16 },
    Hang { worker: u16 },
    Advance { ms: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..6, 1u8..12).prop_map(|(job, slots)| Op::Submit { job, slots }),
        2 => (0u8..6, 0u8..12).prop_map(|(job, slots)| Op::Change { job, slots }),
        1 => (0u8..6, any::<bool>()).prop_map(|(job, terminal)| Op::Finish { job, terminal }),
        1 => (0u8..6, 1u8..4).prop_map(|(job, n)| Op::FreeSlots { job, n }),
        1 => any::<u16>().prop_map(|worker| Op::Kill { worker }),
        1 => any::<u16>().prop_map(|worker| Op::Hang { worker }),
        4 => (1u32..90_000).prop_map(|ms| Op::Advance { ms }),
    ]
}

#[derive(Debug, Clone)]
struct World {
    seed: u64,
    slots_per_tm: u32,
    redundant: u32,
    min_slots: u32,
    surplus: u32,
    failure_percent: u32,
    ops: Vec<Op>,
}

fn world() -> impl Strategy<Value = World> {
    (
        any::<u64>(),
        1u32..5,
        0u32..3,
        0u32..5,
        0u32..3,
        0u32..30,
        prop::collection::vec(op(), 1..60),
    )
        .prop_map(
            |(seed, slots_per_tm, redundant, min_slots, surplus, failure_percent, ops)| World {
                seed,
                slots_per_tm,
                redundant,
                min_slots,
                surplus,
                failure_percent,
                ops,
            },
        )
}

fn slots(n: u8) -> BTreeMap<ResourceProfile, u32> {
    BTreeMap::from([(ResourceProfile::Unknown, u32::from(n))])
}

const MIN: u64 = 60_000;

fn run(world: &World) -> Result<(), TestCaseError> {
    let conf = Configuration::from_pairs([
        (
            "taskmanager.numberOfTaskSlots",
            world.slots_per_tm.to_string(),
        ),
        (
            "slotmanager.redundant-taskmanager-num",
            world.redundant.to_string(),
        ),
        (
            "slotmanager.number-of-slots.min",
            world.min_slots.to_string(),
        ),
        // Fast start-failure pauses keep the runs short.
        (
            "resourcemanager.start-worker.retry-interval",
            "2 s".to_owned(),
        ),
    ]);
    let config = ResourceManagerConfig::from_configuration(&conf).unwrap();
    let mut sim = Simulation::new(config, world.seed);
    sim.behaviour.surplus_per_allocation = world.surplus;
    sim.behaviour.start_failure_probability = f64::from(world.failure_percent) / 100.0;
    let job = |j: u8| JobId(u128::from(j) + 1);
    for op in &world.ops {
        match *op {
            Op::Submit { job: j, slots: n } => sim.submit_job(job(j), slots(n)),
            Op::Change { job: j, slots: n } => {
                if sim.jobs.get(&job(j)).is_some_and(|s| s.alive) {
                    sim.declare(job(j), slots(n));
                }
            }
            Op::Finish { job: j, terminal } => {
                let status = if terminal {
                    JobStatus::Finished
                } else {
                    JobStatus::Suspended
                };
                sim.finish_job(job(j), status);
            }
            Op::FreeSlots { job: j, n } => sim.free_job_slots(job(j), usize::from(n)),
            Op::Kill { worker } => {
                let alive: Vec<_> = sim.alive_workers().into_iter().cloned().collect();
                if !alive.is_empty() {
                    let w = alive[usize::from(worker) % alive.len()].clone();
                    sim.terminate_worker(&w, "killed by the test");
                }
            }
            Op::Hang { worker } => {
                let alive: Vec<_> = sim.alive_workers().into_iter().cloned().collect();
                if !alive.is_empty() {
                    let w = alive[usize::from(worker) % alive.len()].clone();
                    sim.workers.get_mut(&w).unwrap().responsive = false;
                }
            }
            Op::Advance { ms } => sim.run_for(u64::from(ms)),
        }
        prop_assert!(
            sim.violations.is_empty(),
            "violations: {:?}",
            sim.violations
        );
        sim.core
            .slot_manager()
            .check_invariants()
            .map_err(TestCaseError::fail)?;
    }

    // Faults stop; jobs whose JobMaster went away come back and re-declare what they still need.
    sim.behaviour.start_failure_probability = 0.0;
    sim.behaviour.surplus_per_allocation = 0;
    let returning: Vec<(JobId, BTreeMap<ResourceProfile, u32>)> = sim
        .jobs
        .iter()
        .filter(|(_, j)| !j.alive && !j.requirements.is_empty())
        .map(|(id, j)| (*id, j.requirements.clone()))
        .collect();
    for (id, requirements) in returning {
        sim.submit_job(id, requirements);
    }
    sim.run_for(10 * MIN);
    prop_assert!(
        sim.violations.is_empty(),
        "violations: {:?}",
        sim.violations
    );
    prop_assert!(
        sim.all_jobs_fulfilled(),
        "unfulfilled: {:?}",
        sim.core.overview()
    );

    let spares_tms = world.redundant + world.min_slots.div_ceil(world.slots_per_tm);
    prop_assert!(
        sim.peak_excess_requested <= i64::from(spares_tms),
        "requested {} workers beyond demand, allowed {spares_tms}",
        sim.peak_excess_requested
    );

    let jobs: Vec<JobId> = sim.jobs.keys().copied().collect();
    for id in jobs {
        sim.finish_job(id, JobStatus::Finished);
    }
    sim.run_for(5 * MIN);
    prop_assert!(
        sim.is_quiet(spares_tms),
        "not quiet: {:?}, alive {}",
        sim.core.overview(),
        sim.alive_workers().len()
    );
    prop_assert!(
        sim.violations.is_empty(),
        "violations: {:?}",
        sim.violations
    );
    Ok(())
}

/// Fine-grained profiles (smaller, equal and larger than a default slot) under a slot maximum:
/// safety holds on every step, nothing is left asked or pending at the end, and no more
/// TaskManagers than the maximum allows are ever registered.
fn run_fine_grained(seed: u64, max_slots: u32, jobs: &[(u8, u8, u8)]) -> Result<(), TestCaseError> {
    let conf = Configuration::from_pairs([
        ("taskmanager.numberOfTaskSlots", "4"),
        ("slotmanager.number-of-slots.max", &max_slots.to_string()),
    ]);
    let config = ResourceManagerConfig::from_configuration(&conf).unwrap();
    let slot = config.slot_manager.default_worker.default_slot();
    let max_tms = max_slots / 4;
    let mut sim = Simulation::new(config, seed);
    for (i, &(kind, n, wait_s)) in jobs.iter().enumerate() {
        let profile = match kind % 4 {
            0 => ResourceProfile::Unknown,
            1 => ResourceProfile::Fixed(slot.divided_by(2)),
            2 => ResourceProfile::Fixed(slot),
            _ => ResourceProfile::Fixed(slot.times(2)),
        };
        sim.submit_job(
            JobId(i as u128 + 1),
            BTreeMap::from([(profile, u32::from(n))]),
        );
        sim.run_for(u64::from(wait_s) * 1000);
        prop_assert!(
            sim.violations.is_empty(),
            "violations: {:?}",
            sim.violations
        );
        sim.core
            .slot_manager()
            .check_invariants()
            .map_err(TestCaseError::fail)?;
        prop_assert!(sim.core.slot_manager().stats().registered_task_managers <= max_tms);
    }
    sim.run_for(5 * MIN);
    prop_assert!(sim.core.slot_manager().stats().registered_task_managers <= max_tms);
    for i in 0..jobs.len() {
        sim.finish_job(JobId(i as u128 + 1), JobStatus::Canceled);
    }
    sim.run_for(5 * MIN);
    prop_assert!(sim.is_quiet(0), "not quiet: {:?}", sim.core.overview());
    prop_assert!(
        sim.violations.is_empty(),
        "violations: {:?}",
        sim.violations
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn resource_manager_invariants_hold_over_random_histories(w in world()) {
        run(&w)?;
    }

    #[test]
    fn fine_grained_profiles_under_a_maximum_stay_safe(
        seed in any::<u64>(),
        max_slots in 4u32..40,
        jobs in prop::collection::vec((any::<u8>(), 1u8..10, 0u8..40), 1..12),
    ) {
        run_fine_grained(seed, max_slots, &jobs)?;
    }
}
