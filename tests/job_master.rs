//! JobMaster scenarios in virtual time: slot sharing, blocking regions, restarts, lost
//! TaskExecutors, cancel, requirement declarations and surplus offers, plus a property test over
//! random DAGs.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use proptest::prelude::*;
use spindle::job_master::simulation::{SimConfig, Simulation, TaskOutcome};
use spindle::job_master::{
    Command, ExecutionState, JobMasterConfig, JobMasterCore, JobOverview, RestartStrategy,
    SlotOffer,
};
use spindle::jobspec::JobSpec;
use spindle::resource_manager::types::{
    AllocationId, JobId, JobStatus, ResourceProfile, Resources, Timestamp, WorkerId,
};
use spindle::rpc::messages::{TaskDeployment, TaskState};

const JOB: JobId = JobId(0xabc);

fn jm(yaml: &str, restart: RestartStrategy) -> JobMasterCore {
    let spec = JobSpec::parse(yaml).unwrap();
    JobMasterCore::new(
        JOB,
        &spec,
        JobMasterConfig {
            restart_strategy: restart,
            declare_interval: Duration::from_millis(20),
            slot_request_timeout: Duration::from_secs(60),
        },
        Timestamp(0),
    )
}

fn fixed(attempts: u32) -> RestartStrategy {
    RestartStrategy::FixedDelay {
        attempts,
        delay: Duration::from_millis(100),
    }
}

fn sim(
    yaml: &str,
    restart: RestartStrategy,
    behaviour: impl FnMut(&TaskDeployment) -> TaskOutcome + 'static,
) -> Simulation {
    Simulation::new(jm(yaml, restart), SimConfig::default(), Box::new(behaviour))
}

const ABC: &str = "
name: abc
vertices:
  - {name: A, parallelism: 4, command: [run]}
  - {name: B, parallelism: 4, command: [run]}
  - {name: C, parallelism: 3, command: [run]}
edges:
  - {from: A, to: B, distribution: forward}
  - {from: B, to: C}
";

#[test]
fn slot_sharing_abc_takes_four_slots_three_with_abc_one_with_ab() {
    let mut s = sim(ABC, fixed(0), |_| TaskOutcome::finish_after(1000));
    assert_eq!(s.run(60_000), JobStatus::Finished);
    assert_eq!(s.log.declarations[0].1, 4, "{:?}", s.log.declarations);
    assert_eq!(s.log.accepted, 4);
    let mut by_slot: BTreeMap<AllocationId, BTreeSet<String>> = BTreeMap::new();
    for d in &s.log.deployments {
        by_slot
            .entry(d.allocation)
            .or_default()
            .insert(d.vertex.clone());
    }
    let mut shapes: Vec<String> = by_slot
        .values()
        .map(|v| v.iter().cloned().collect::<Vec<_>>().join(""))
        .collect();
    shapes.sort();
    assert_eq!(shapes, vec!["AB", "ABC", "ABC", "ABC"]);
    assert!(s.log.violations.is_empty(), "{:?}", s.log.violations);
    assert!(s.unfinished_or_duplicated().is_empty());
    // All freed at the end, and the last declaration is zero.
    assert_eq!(s.log.freed, 4);
    assert_eq!(s.log.declarations.last().unwrap().1, 0);
}

const BLOCKING: &str = "
name: two-stages
vertices:
  - {name: produce, parallelism: 3, command: [p]}
  - {name: consume, parallelism: 2, command: [c]}
edges:
  - {from: produce, to: consume, exchange: blocking}
";

#[test]
fn blocking_edge_deploys_the_consumer_only_after_every_producer_finished() {
    let mut s = sim(BLOCKING, fixed(0), |t| {
        TaskOutcome::finish_after(100 * (1 + u64::from(t.subtask_index)))
    });
    assert_eq!(s.run(60_000), JobStatus::Finished);
    let last_producer_end = s
        .log
        .task_ends
        .iter()
        .filter(|e| e.vertex == "produce")
        .map(|e| e.at)
        .max()
        .unwrap();
    let consumer_deploys: Vec<u64> = s
        .log
        .deployments
        .iter()
        .filter(|d| d.vertex == "consume")
        .map(|d| d.at)
        .collect();
    assert_eq!(consumer_deploys.len(), 2);
    assert!(consumer_deploys.iter().all(|&t| t >= last_producer_end));
    // Requirements: 3 for the producers, falling as they finish, then 2 for the consumers.
    let totals: Vec<u32> = s.log.declarations.iter().map(|d| d.1).collect();
    assert_eq!(totals.first(), Some(&3));
    assert!(totals.contains(&2), "{totals:?}");
    assert_eq!(totals.last(), Some(&0));
}

#[test]
fn requirements_go_down_as_regions_finish() {
    // Two independent regions: a short one (4 subtasks) and a long one (1 subtask).
    let yaml = "
name: j
vertices:
  - {name: short, parallelism: 4, slot_sharing_group: s, command: [x]}
  - {name: long, parallelism: 1, slot_sharing_group: l, command: [x]}
";
    let mut s = sim(yaml, fixed(0), |t| {
        TaskOutcome::finish_after(if t.vertex_name == "short" { 100 } else { 5000 })
    });
    assert_eq!(s.run(60_000), JobStatus::Finished);
    let totals: Vec<u32> = s.log.declarations.iter().map(|d| d.1).collect();
    assert_eq!(totals, vec![5, 1, 0]);
    // The short region's slots were given back long before the job ended.
    let (end, ..) = s.log.terminated.clone().unwrap();
    let second = s.log.declarations[1].0;
    assert!(second < end - 4000, "{second} vs {end}");
}

#[test]
fn a_task_failing_once_is_restarted_and_the_job_finishes() {
    let mut s = sim(ABC, fixed(1), |t| {
        if t.vertex_name == "B" && t.subtask_index == 2 && t.attempt_number == 0 {
            TaskOutcome::fail_after(50, "exit code 1")
        } else {
            TaskOutcome::finish_after(200)
        }
    });
    assert_eq!(s.run(60_000), JobStatus::Finished);
    // One pipelined region: every subtask was redeployed as attempt 1.
    let attempts: BTreeSet<(String, u32)> = s
        .log
        .deployments
        .iter()
        .filter(|d| d.attempt == 1)
        .map(|d| (d.vertex.clone(), d.subtask))
        .collect();
    assert_eq!(attempts.len(), 11);
    assert!(s.log.deployments.iter().all(|d| d.attempt <= 1));
    assert!(
        s.unfinished_or_duplicated().is_empty(),
        "{:?}",
        s.unfinished_or_duplicated()
    );
    // The restart reused the held slots.
    assert_eq!(s.log.accepted, 4);
    let details = s.jm.details(Timestamp(s.now()));
    assert_eq!(details.restarts, 1);
    let b2 = &details.vertices[1].subtasks[2];
    assert_eq!((b2.status, b2.attempt), (ExecutionState::Finished, 1));
    assert!(b2.failure.as_deref().unwrap().contains("exit code 1"));
}

#[test]
fn region_failover_restarts_only_the_failed_region() {
    let mut s = sim(BLOCKING, fixed(1), |t| {
        if t.vertex_name == "consume" && t.subtask_index == 0 && t.attempt_number == 0 {
            TaskOutcome::fail_after(10, "boom")
        } else {
            TaskOutcome::finish_after(100)
        }
    });
    assert_eq!(s.run(60_000), JobStatus::Finished);
    assert!(
        s.log
            .deployments
            .iter()
            .filter(|d| d.vertex == "produce")
            .all(|d| d.attempt == 0)
    );
    assert_eq!(
        s.log
            .deployments
            .iter()
            .filter(|d| d.vertex == "consume" && d.attempt == 1)
            .count(),
        2
    );
}

#[test]
fn a_task_failing_always_fails_the_job_after_the_configured_attempts() {
    let mut s = sim(ABC, fixed(3), |t| {
        if t.vertex_name == "C" && t.subtask_index == 1 {
            TaskOutcome::fail_after(30, "disk full")
        } else {
            TaskOutcome::finish_after(10_000)
        }
    });
    assert_eq!(s.run(600_000), JobStatus::Failed);
    let max_attempt = s.log.deployments.iter().map(|d| d.attempt).max().unwrap();
    assert_eq!(max_attempt, 3);
    let (_, status, error) = s.log.terminated.clone().unwrap();
    assert_eq!(status, JobStatus::Failed);
    let error = error.unwrap();
    assert!(
        error.contains("C (2/3) attempt #3") && error.contains("disk full"),
        "{error}"
    );
    assert_eq!(s.jm.error(), Some(error.as_str()));
    // Everything else was cancelled and every slot given back.
    assert!(s.log.cancels >= 10);
    assert!(s.jm.slot_pool().is_empty());
    assert_eq!(s.log.declarations.last().unwrap().1, 0);
}

#[test]
fn restart_strategy_none_fails_on_the_first_failure() {
    let mut s = sim(BLOCKING, RestartStrategy::None, |_| {
        TaskOutcome::fail_after(5, "nope")
    });
    assert_eq!(s.run(60_000), JobStatus::Failed);
    assert!(s.log.deployments.iter().all(|d| d.attempt == 0));
}

#[test]
fn a_lost_task_executor_mid_job_restarts_its_tasks_and_the_job_finishes() {
    let mut s = sim(ABC, fixed(1), |_| TaskOutcome::finish_after(2000));
    // Workers come up at 500 ms; te-1 holds two of the four slots.
    s.kill_worker_at(1500, "te-1");
    assert_eq!(s.run(60_000), JobStatus::Finished);
    assert_eq!(s.log.workers_started, 3, "a replacement worker was started");
    assert!(s.log.deployments.iter().any(|d| d.attempt == 1));
    assert!(
        s.log
            .deployments
            .iter()
            .filter(|d| d.attempt == 1)
            .all(|d| d.worker.to_string() != "te-1")
    );
    assert!(
        s.unfinished_or_duplicated().is_empty(),
        "{:?}",
        s.unfinished_or_duplicated()
    );
    assert!(s.log.violations.is_empty(), "{:?}", s.log.violations);
    assert_eq!(s.jm.details(Timestamp(s.now())).restarts, 1);
}

#[test]
fn cancel_cancels_every_task_and_frees_every_slot() {
    let mut s = sim(ABC, fixed(1), |_| TaskOutcome::finish_after(100_000));
    s.cancel_at(3000);
    assert_eq!(s.run(600_000), JobStatus::Canceled);
    assert_eq!(s.log.cancels, 11);
    let cancelled = s
        .log
        .task_ends
        .iter()
        .filter(|e| e.state == TaskState::Canceled)
        .count();
    assert_eq!(cancelled, 11);
    assert_eq!(s.log.freed, 4);
    assert!(s.jm.slot_pool().is_empty());
    assert_eq!(s.log.declarations.last().unwrap().1, 0);
    let details = s.jm.details(Timestamp(s.now()));
    assert!(
        details
            .vertices
            .iter()
            .all(|v| v.status == ExecutionState::Canceled)
    );
}

#[test]
fn offered_slots_beyond_need_are_rejected() {
    let mut s = Simulation::new(
        jm(ABC, fixed(0)),
        SimConfig {
            surplus_offers: 2,
            slots_per_worker: 3,
            ..SimConfig::default()
        },
        Box::new(|_| TaskOutcome::finish_after(100)),
    );
    assert_eq!(s.run(60_000), JobStatus::Finished);
    assert_eq!(s.log.accepted, 4);
    assert_eq!(s.log.rejected, 2);
}

#[test]
fn core_accepts_repeated_offers_and_rejects_unneeded_or_too_small_ones() {
    let yaml = "
name: fine
vertices:
  - {name: a, parallelism: 1, command: [x], resources: {cpu: 1, memory_mb: 512}}
";
    let mut core = jm(yaml, fixed(0));
    core.start(Timestamp(0));
    core.poll(Timestamp(20));
    let commands = core.take_commands();
    let need = Resources::new(1000, 512 << 20);
    assert_eq!(
        commands,
        vec![Command::DeclareRequirements {
            requirements: BTreeMap::from([(ResourceProfile::Fixed(need), 1)])
        }]
    );
    let w = WorkerId::new("te-1");
    let small = SlotOffer {
        allocation: AllocationId(1),
        resources: Resources::new(500, 512 << 20),
    };
    let good = SlotOffer {
        allocation: AllocationId(2),
        resources: need,
    };
    let extra = SlotOffer {
        allocation: AllocationId(3),
        resources: need,
    };
    let accepted = core.offer_slots(&w, &[small, good, extra], Timestamp(30));
    assert_eq!(accepted, vec![AllocationId(2)]);
    assert_eq!(
        core.offer_slots(&w, &[good], Timestamp(31)),
        vec![AllocationId(2)]
    );
    let deploys: Vec<_> = core
        .take_commands()
        .into_iter()
        .filter(|c| matches!(c, Command::Deploy { .. }))
        .collect();
    assert_eq!(deploys.len(), 1, "a repeated offer deploys nothing twice");
    let Command::Deploy { task, .. } = &deploys[0] else {
        unreachable!()
    };
    assert_eq!(task.job_id.0, format!("{:032x}", JOB.0));
    assert_eq!(task.allocation_id.0, "2");
    assert_eq!(
        (task.subtask_index, task.parallelism, task.attempt_number),
        (0, 1, 0)
    );
    assert_eq!(task.argv, vec!["x".to_owned()]);
    // A stale or foreign attempt id changes nothing.
    let mut stale = task.execution_attempt_id.clone();
    stale.0.push('9');
    core.update_task_state(&stale, TaskState::Finished, None, Timestamp(40));
    assert_eq!(core.status(), JobStatus::Running);
    core.update_task_state(
        &task.execution_attempt_id,
        TaskState::Finished,
        None,
        Timestamp(41),
    );
    assert_eq!(core.status(), JobStatus::Finished);
}

#[test]
fn slots_that_never_come_fail_the_job_after_the_slot_request_timeout() {
    let mut s = Simulation::new(
        jm(BLOCKING, fixed(1)),
        SimConfig {
            // Workers take far longer to start than slot.request.timeout (60 s).
            worker_start_ms: 10_000_000,
            ..SimConfig::default()
        },
        Box::new(|_| TaskOutcome::finish_after(10)),
    );
    assert_eq!(s.run(1_000_000), JobStatus::Failed);
    let (at, _, error) = s.log.terminated.clone().unwrap();
    // First timeout at 60 s, restart after 100 ms, second timeout 60 s later: no restart left.
    assert_eq!(at, 120_000);
    assert!(error.unwrap().contains("slot.request.timeout (60000 ms)"));
    assert!(s.log.deployments.is_empty());
    assert_eq!(s.log.declarations.last().unwrap().1, 0);
}

#[test]
fn not_enough_resources_fails_the_waiting_subtasks() {
    let mut core = jm(BLOCKING, RestartStrategy::None);
    core.start(Timestamp(0));
    core.not_enough_resources(0, Timestamp(30));
    assert_eq!(core.status(), JobStatus::Failed);
    assert!(
        core.error()
            .unwrap()
            .contains("NoResourceAvailableException")
    );
}

#[test]
fn wire_offers_convert_with_decimal_allocation_ids() {
    let wire = spindle::rpc::messages::SlotOffer {
        allocation_id: "42".into(),
        slot_index: 3,
        resources: spindle::rpc::messages::Resources::new(500, 1 << 20),
    };
    assert_eq!(
        SlotOffer::from_rpc(&wire),
        Some(SlotOffer {
            allocation: AllocationId(42),
            resources: Resources::new(500, 1 << 20)
        })
    );
    let garbage = spindle::rpc::messages::SlotOffer {
        allocation_id: "x42".into(),
        ..wire
    };
    assert_eq!(SlotOffer::from_rpc(&garbage), None);
}

#[test]
fn the_summary_has_flinks_job_shape() {
    let mut s = sim(ABC, fixed(0), |_| TaskOutcome::finish_after(100));
    s.run(60_000);
    let json = serde_json::to_value(s.jm.details(Timestamp(s.now()))).unwrap();
    assert_eq!(json["state"], "FINISHED");
    assert_eq!(json["jid"], format!("{:032x}", JOB.0));
    let a = &json["vertices"][0];
    assert_eq!(a["name"], "A");
    assert_eq!(a["parallelism"], 4);
    assert_eq!(a["status"], "FINISHED");
    assert_eq!(a["tasks"]["FINISHED"], 4);
    let sub = &a["subtasks"][3];
    assert_eq!(sub["subtask"], 3);
    assert_eq!(sub["attempt"], 0);
    assert!(sub["taskmanager-id"].as_str().unwrap().starts_with("te-"));
    assert!(sub["allocation-id"].is_string());
    let overview =
        serde_json::to_value(JobOverview::from(&s.jm.details(Timestamp(s.now())))).unwrap();
    assert_eq!(overview["tasks"]["FINISHED"], 11);
    assert_eq!(overview["name"], "abc");
    assert!(overview["end-time"].is_u64());
}

/// A random DAG: vertex i may consume from any earlier vertex.
fn dag() -> impl Strategy<Value = String> {
    (2usize..7)
        .prop_flat_map(|n| {
            (
                proptest::collection::vec((1u32..5, 0u8..2), n),
                proptest::collection::vec(
                    (0usize..n, 0usize..n, any::<bool>(), any::<bool>()),
                    0..10,
                ),
            )
        })
        .prop_map(|(vertices, edges)| {
            let mut yaml = String::from("name: random\nvertices:\n");
            for (i, (p, g)) in vertices.iter().enumerate() {
                yaml += &format!(
                    "  - {{name: v{i}, parallelism: {p}, slot_sharing_group: g{g}, command: [x]}}\n"
                );
            }
            yaml += "edges:\n";
            let mut seen = BTreeSet::new();
            for (a, b, forward, blocking) in edges {
                let (from, to) = (a.min(b), a.max(b));
                if from == to || !seen.insert((from, to)) {
                    continue;
                }
                let forward = forward && vertices[from].0 == vertices[to].0;
                yaml += &format!(
                    "  - {{from: v{from}, to: v{to}, distribution: {}, exchange: {}}}\n",
                    if forward { "forward" } else { "all_to_all" },
                    if blocking { "blocking" } else { "pipelined" }
                );
            }
            yaml.replace(
                "edges:\n",
                if seen.is_empty() {
                    "edges: []\n"
                } else {
                    "edges:\n"
                },
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn any_valid_dag_finishes_every_task_exactly_once_per_attempt(
        yaml in dag(),
        durations in proptest::collection::vec(1u64..500, 64),
        fail_first in proptest::option::of(0usize..64),
        kill_at in proptest::option::of(500u64..3000),
    ) {
        let mut counter = 0usize;
        let mut s = sim(&yaml, fixed(2), move |t| {
            counter += 1;
            let d = durations[counter % durations.len()];
            if t.attempt_number == 0 && Some(counter) == fail_first {
                TaskOutcome::fail_after(d, "injected")
            } else {
                TaskOutcome::finish_after(d)
            }
        });
        if let Some(at) = kill_at {
            s.kill_worker_at(at, "te-1");
        }
        // At most two failure events (an injected failure and a lost worker): fixed(2) suffices.
        prop_assert_eq!(s.run(10_000_000), JobStatus::Finished, "{}", yaml);
        prop_assert!(s.unfinished_or_duplicated().is_empty(), "{:?}", s.unfinished_or_duplicated());
        prop_assert!(s.log.violations.is_empty(), "{:?}", s.log.violations);
        prop_assert!(s.jm.slot_pool().is_empty());
        prop_assert_eq!(s.log.declarations.last().map(|d| d.1), Some(0));
        // Blocking edges: no consumer attempt deployed before its producers' final attempts ended.
        let spec = JobSpec::parse(&yaml).unwrap();
        let graph = s.jm.graph();
        for e in spec.edges.iter() {
            let (from, to) = (&e.from, &e.to);
            let fr = graph.vertices.iter().find(|v| &v.name == from).unwrap().region;
            let tr = graph.vertices.iter().find(|v| &v.name == to).unwrap().region;
            if fr == tr { continue; }
            let first_consumer = s.log.deployments.iter().filter(|d| &d.vertex == to).map(|d| d.at).min().unwrap();
            let producer_done = s.log.task_ends.iter().filter(|t| &t.vertex == from && t.state == TaskState::Finished).map(|t| t.at).min().unwrap();
            prop_assert!(first_consumer >= producer_done);
        }
    }
}
