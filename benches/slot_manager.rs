//! SlotManager scale benchmark: a full allocation of 100,000 slot requirements onto 10,000
//! registered TaskManagers from scratch, then the cost of one job's requirement changing by one
//! slot in that steady state, and the SlotManager's memory per TaskManager (live heap bytes,
//! counted by a wrapping allocator). Prints one line per size; `cargo bench --bench slot_manager`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use spindle::config::LoadBalanceMode;
use spindle::resource_manager::commands::{Command, TaskExecutorCommand};
use spindle::resource_manager::events::{DecisionLog, EventKind, Reason};
use spindle::resource_manager::slot_manager::{
    Ctx, SlotManager, SlotManagerConfig, TaskManagerRegistration,
};
use spindle::resource_manager::types::{
    ContainerResource, JobId, ResourceProfile, Resources, SlotReport, Timestamp, WorkerId,
    WorkerSpec,
};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SLOTS_PER_TM: u32 = 10;
const SLOTS_PER_JOB: u32 = 100;

fn config(mode: LoadBalanceMode) -> SlotManagerConfig {
    let spec = WorkerSpec {
        total: Resources::new(
            u64::from(SLOTS_PER_TM) * 1000,
            u64::from(SLOTS_PER_TM) << 30,
        ),
        num_slots: SLOTS_PER_TM,
        container: ContainerResource {
            memory_mb: 12 * 1024,
            vcores: SLOTS_PER_TM,
        },
    };
    SlotManagerConfig {
        default_worker: spec,
        load_balance: mode,
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

struct Figures {
    full_allocation_ms: f64,
    incremental_change_us: f64,
    bytes_per_tm: f64,
}

fn run(tms: u32, mode: LoadBalanceMode) -> Figures {
    let requirements = tms * SLOTS_PER_TM;
    let jobs = requirements / SLOTS_PER_JOB;
    let mut log = DecisionLog::new(10_000);
    // Fill the bounded log first so its growth is not counted as SlotManager memory.
    for _ in 0..10_000 {
        log.record(
            Timestamp(0),
            Reason::Requested,
            EventKind::StartPaused {
                until: Timestamp(0),
            },
        );
    }
    let mut out: Vec<Command> = Vec::new();
    let mut now = Timestamp(1);
    let baseline = LIVE.load(Ordering::Relaxed);
    let mut sm = SlotManager::new(config(mode));
    let spec = sm.config().default_worker;
    let mut instances = Vec::with_capacity(tms as usize);
    for i in 0..tms {
        let mut ctx = Ctx {
            now,
            out: &mut out,
            log: &mut log,
        };
        let worker = WorkerId::new(format!("container_e01_1700000000000_0001_01_{i:06}"));
        match sm.register_task_manager(
            worker,
            spec,
            spec.total,
            spec.default_slot(),
            &SlotReport::default(),
            &mut ctx,
        ) {
            TaskManagerRegistration::Accepted(instance) => instances.push(instance),
            TaskManagerRegistration::Rejected => unreachable!("no maximum configured"),
        }
    }
    {
        let mut ctx = Ctx {
            now,
            out: &mut out,
            log: &mut log,
        };
        sm.check_requirements(&mut ctx);
    }
    out.clear();

    // Full allocation: every job declares, then one requirement check places every slot.
    let started = Instant::now();
    {
        let mut ctx = Ctx {
            now,
            out: &mut out,
            log: &mut log,
        };
        for j in 0..jobs {
            let reqs = BTreeMap::from([(ResourceProfile::Unknown, SLOTS_PER_JOB)]);
            sm.process_requirements(JobId(u128::from(j)), "jobmaster", &reqs, &mut ctx);
        }
        sm.check_requirements(&mut ctx);
    }
    let full_allocation_ms = started.elapsed().as_secs_f64() * 1e3;
    let requested = out
        .iter()
        .filter(|c| matches!(c, Command::TaskExecutor { .. }))
        .count() as u32;
    assert_eq!(requested, requirements, "every requirement placed");
    assert_eq!(sm.stats().pending_task_managers, 0);

    // Steady state: the TaskExecutors confirm every slot.
    let confirmations: Vec<_> = out
        .drain(..)
        .filter_map(|c| match c {
            Command::TaskExecutor {
                command:
                    TaskExecutorCommand::RequestSlot {
                        instance,
                        allocation,
                        ..
                    },
                ..
            } => Some((instance, allocation)),
            _ => None,
        })
        .collect();
    {
        let mut ctx = Ctx {
            now,
            out: &mut out,
            log: &mut log,
        };
        for (instance, allocation) in confirmations {
            sm.slot_request_result(instance, allocation, true, &mut ctx);
        }
    }
    // Past the slot request timeout, the answered requests' deadlines are dropped.
    now = Timestamp(20_000);
    {
        let mut ctx = Ctx {
            now,
            out: &mut out,
            log: &mut log,
        };
        sm.poll(&mut ctx);
    }
    out.clear();
    out.shrink_to_fit();
    let bytes_per_tm = (LIVE.load(Ordering::Relaxed) - baseline) as f64 / f64::from(tms)
        - instances.capacity() as f64 * 8.0 / f64::from(tms);

    // Incremental: one job's requirement goes up by one slot, then back down; each change is
    // declared and checked (a pending TaskManager is planned, then dropped).
    const ROUNDS: u32 = 2_000;
    let job = JobId(u128::from(jobs / 2));
    let started = Instant::now();
    for round in 0..ROUNDS {
        let mut ctx = Ctx {
            now,
            out: &mut out,
            log: &mut log,
        };
        let n = SLOTS_PER_JOB + (round % 2 == 0) as u32;
        sm.process_requirements(
            job,
            "jobmaster",
            &BTreeMap::from([(ResourceProfile::Unknown, n)]),
            &mut ctx,
        );
        sm.check_requirements(&mut ctx);
        out.clear();
    }
    let incremental_change_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS);
    sm.check_invariants()
        .expect("consistent after the benchmark");
    drop(sm);
    Figures {
        full_allocation_ms,
        incremental_change_us,
        bytes_per_tm,
    }
}

fn main() {
    // A warm-up at a small size, then the measured sizes; times are the best of five runs (the
    // machine is shared, and the minimum is the least disturbed figure).
    run(1_000, LoadBalanceMode::None);
    for (tms, mode, label) in [
        (10_000, LoadBalanceMode::None, "slot_manager"),
        (1_000, LoadBalanceMode::None, "slot_manager"),
        (10_000, LoadBalanceMode::Slots, "slot_manager(evenly)"),
    ] {
        let f = (0..5)
            .map(|_| run(tms, mode))
            .reduce(|a, b| Figures {
                full_allocation_ms: a.full_allocation_ms.min(b.full_allocation_ms),
                incremental_change_us: a.incremental_change_us.min(b.incremental_change_us),
                bytes_per_tm: a.bytes_per_tm,
            })
            .expect("five runs");
        println!(
            "{label} tms={tms} slots_per_tm={SLOTS_PER_TM} requirements={} full_allocation_ms={:.1} incremental_change_us={:.1} bytes_per_tm={:.0}",
            tms * SLOTS_PER_TM,
            f.full_allocation_ms,
            f.incremental_change_us,
            f.bytes_per_tm
        );
    }
}
