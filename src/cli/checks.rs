//! The checks made before anything is submitted, as Flink's `YarnClusterDescriptor` makes them:
//! vcores against the largest node, memory against the maximum allocation, the queue against the
//! scheduler's queue tree, and a warning when a container is larger than any node's free room.
//!
//! Pure functions over the ResourceManager's answers, so each check is tested on its own.

use yarn::rest::types::{CapacityQueueInfo, FairQueueInfo, NodeInfo, ResourceInfo, SchedulerInfo};

/// The containers a session will ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    /// ApplicationMaster (JobManager) memory, MB.
    pub jobmanager_mb: u64,
    /// ApplicationMaster vcores (`yarn.appmaster.vcores`).
    pub appmaster_vcores: u32,
    /// TaskManager memory, MB.
    pub taskmanager_mb: u64,
    /// TaskManager vcores (`yarn.containers.vcores`, else the slots).
    pub taskmanager_vcores: u32,
    /// Slots per TaskManager.
    pub slots: u32,
}

/// A node's total vcores and memory: `totalResource` when the RM reports it, else used + available.
fn capability(node: &NodeInfo) -> (i64, i64) {
    match &node.total_resource {
        Some(t) if t.v_cores > 0 || t.memory > 0 => (i64::from(t.v_cores), t.memory),
        _ => (
            node.used_virtual_cores + node.available_virtual_cores,
            node.used_memory_mb + node.avail_memory_mb,
        ),
    }
}

/// vcores: neither the AM's nor a TaskManager's vcores may exceed the largest RUNNING node's.
pub fn check_vcores(spec: &ClusterSpec, nodes: &[NodeInfo]) -> Result<(), String> {
    let running: Vec<&NodeInfo> = nodes.iter().filter(|n| n.state == "RUNNING").collect();
    if running.is_empty() {
        return Err(
            "the YARN cluster has no RUNNING NodeManager; start NodeManagers (or check \
                    `spindle yarn-session -q`) and try again"
                .to_owned(),
        );
    }
    let max_vcores = running.iter().map(|n| capability(n).0).max().unwrap_or(0);
    if i64::from(spec.appmaster_vcores) > max_vcores {
        return Err(format!(
            "the ApplicationMaster asks for {} virtual cores but the largest node of the YARN cluster \
             has {max_vcores}; lower yarn.appmaster.vcores (-Dyarn.appmaster.vcores=1)",
            spec.appmaster_vcores
        ));
    }
    if i64::from(spec.taskmanager_vcores) > max_vcores {
        return Err(format!(
            "the number of virtual cores per TaskManager ({}) exceeds the largest node of the YARN \
             cluster ({max_vcores} virtual cores); the virtual cores default to the slots per \
             TaskManager (-s {}): lower -s, or set -Dyarn.containers.vcores=<n> to at most {max_vcores}",
            spec.taskmanager_vcores, spec.slots
        ));
    }
    Ok(())
}

/// Memory: neither container may exceed the maximum allocation the new-application answer gave.
pub fn check_memory(spec: &ClusterSpec, max: &ResourceInfo) -> Result<(), String> {
    let fits = |what: &str, flag: &str, key: &str, mb: u64| {
        if max.memory > 0 && mb > max.memory as u64 {
            Err(format!(
                "the cluster does not have the requested resources for the {what}: maximum memory \
                 per container is {} MB, requested {mb} MB; lower {flag} (or {key}) to at most {} MB, \
                 or raise yarn.scheduler.maximum-allocation-mb and yarn.nodemanager.resource.memory-mb",
                max.memory, max.memory
            ))
        } else {
            Ok(())
        }
    };
    fits(
        "JobManager",
        "-jm",
        "jobmanager.memory.process.size",
        spec.jobmanager_mb,
    )?;
    fits(
        "TaskManagers",
        "-tm",
        "taskmanager.memory.process.size",
        spec.taskmanager_mb,
    )
}

/// vcores against the maximum allocation (`yarn.scheduler.maximum-allocation-vcores`, which the
/// new-application answer gives): a larger ask would never be granted.
pub fn check_max_vcores(spec: &ClusterSpec, max: &ResourceInfo) -> Result<(), String> {
    let max_vcores = i64::from(max.v_cores);
    if max_vcores <= 0 {
        return Ok(());
    }
    if i64::from(spec.appmaster_vcores) > max_vcores {
        return Err(format!(
            "the ApplicationMaster asks for {} virtual cores but the YARN cluster grants at most              {max_vcores} per container (yarn.scheduler.maximum-allocation-vcores); lower              yarn.appmaster.vcores",
            spec.appmaster_vcores
        ));
    }
    if i64::from(spec.taskmanager_vcores) > max_vcores {
        return Err(format!(
            "the number of virtual cores per TaskManager ({}) exceeds what the YARN cluster grants              per container ({max_vcores}, yarn.scheduler.maximum-allocation-vcores); the virtual              cores default to the slots per TaskManager (-s {}): lower -s, or set              -Dyarn.containers.vcores=<n> to at most {max_vcores}",
            spec.taskmanager_vcores, spec.slots
        ));
    }
    Ok(())
}

/// Warnings (not errors) when a container is larger than the most free memory on any node: YARN
/// will wait until room is made.
pub fn free_memory_warnings(spec: &ClusterSpec, nodes: &[NodeInfo]) -> Vec<String> {
    let largest_free = nodes
        .iter()
        .filter(|n| n.state == "RUNNING")
        .map(|n| n.avail_memory_mb)
        .max()
        .unwrap_or(0);
    [
        ("JobManager", spec.jobmanager_mb),
        ("TaskManager", spec.taskmanager_mb),
    ]
    .into_iter()
    .filter(|(_, mb)| *mb as i64 > largest_free)
    .map(|(what, mb)| {
        format!(
            "the {what} container ({mb} MB) is larger than the most free memory on any node \
                 ({largest_free} MB); the session will be submitted, but YARN will only start it \
                 when resources are freed"
        )
    })
    .collect()
}

/// The leaf queues an application can be submitted to, by full path (`root.default`), or `None`
/// when the scheduler's type is not known (no check is made then).
pub fn leaf_queues(scheduler: &SchedulerInfo) -> Option<Vec<String>> {
    fn capacity(q: &CapacityQueueInfo, parent: &str, out: &mut Vec<String>) {
        let path = q
            .queue_path
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| format!("{parent}.{}", q.queue_name));
        if q.children().is_empty() {
            out.push(path);
        } else {
            for c in q.children() {
                capacity(c, &path, out);
            }
        }
    }
    fn fair(q: &FairQueueInfo, out: &mut Vec<String>) {
        match &q.child_queues {
            Some(c) if !c.queue.is_empty() => c.queue.iter().for_each(|c| fair(c, out)),
            _ => out.push(q.queue_name.clone()),
        }
    }
    let mut out = Vec::new();
    match scheduler {
        SchedulerInfo::Capacity(root) => {
            let root_name = if root.queue_name.is_empty() {
                "root"
            } else {
                &root.queue_name
            };
            for q in root.queues.iter().flat_map(|q| &q.queue) {
                capacity(q, root_name, &mut out);
            }
        }
        SchedulerInfo::Fair(info) => fair(&info.root_queue, &mut out),
        SchedulerInfo::Fifo(_) => out.push("root.default".to_owned()),
        SchedulerInfo::Other => return None,
    }
    Some(out)
}

/// The queue exists as a leaf: named by its full path, with `root.` left out, or by its leaf name.
pub fn check_queue(queue: &str, scheduler: &SchedulerInfo) -> Result<(), String> {
    let Some(leaves) = leaf_queues(scheduler) else {
        return Ok(());
    };
    let wanted = queue.trim();
    let found = leaves.iter().any(|leaf| {
        leaf == wanted
            || leaf.strip_prefix("root.") == Some(wanted)
            || leaf.rsplit('.').next() == Some(wanted)
    });
    if found {
        Ok(())
    } else {
        Err(format!(
            "the queue '{wanted}' does not exist in the YARN cluster; choose one of: {} (-qu <queue>)",
            leaves.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(state: &str, vcores: i32, mem: i64, avail: i64) -> NodeInfo {
        NodeInfo {
            state: state.into(),
            total_resource: Some(ResourceInfo::new(mem, vcores)),
            avail_memory_mb: avail,
            ..Default::default()
        }
    }

    fn spec(slots: u32, tm: u64, jm: u64) -> ClusterSpec {
        ClusterSpec {
            jobmanager_mb: jm,
            appmaster_vcores: 1,
            taskmanager_mb: tm,
            taskmanager_vcores: slots,
            slots,
        }
    }

    #[test]
    fn vcores_above_the_largest_running_node_are_refused() {
        let nodes = [node("RUNNING", 4, 8192, 8192), node("LOST", 64, 8192, 8192)];
        check_vcores(&spec(4, 1024, 1024), &nodes).unwrap();
        let e = check_vcores(&spec(5, 1024, 1024), &nodes).unwrap_err();
        assert!(
            e.contains("(5)")
                && e.contains("4 virtual cores")
                && e.contains("yarn.containers.vcores"),
            "{e}"
        );
        let mut am = spec(1, 1024, 1024);
        am.appmaster_vcores = 8;
        assert!(
            check_vcores(&am, &nodes)
                .unwrap_err()
                .contains("yarn.appmaster.vcores")
        );
        assert!(
            check_vcores(&spec(1, 1, 1), &[])
                .unwrap_err()
                .contains("no RUNNING")
        );
    }

    #[test]
    fn vcores_fall_back_to_used_plus_available() {
        let n = NodeInfo {
            state: "RUNNING".into(),
            used_virtual_cores: 2,
            available_virtual_cores: 6,
            ..Default::default()
        };
        check_vcores(&spec(8, 1, 1), std::slice::from_ref(&n)).unwrap();
        assert!(check_vcores(&spec(9, 1, 1), &[n]).is_err());
    }

    #[test]
    fn memory_above_the_maximum_allocation_is_refused_naming_the_flag() {
        let max = ResourceInfo::new(4096, 4);
        check_memory(&spec(1, 4096, 4096), &max).unwrap();
        check_max_vcores(&spec(4, 1024, 1024), &max).unwrap();
        let e = check_max_vcores(&spec(5, 1024, 1024), &max).unwrap_err();
        assert!(
            e.contains("maximum-allocation-vcores") && e.contains("-Dyarn.containers.vcores"),
            "{e}"
        );
        let e = check_memory(&spec(1, 4097, 1024), &max).unwrap_err();
        assert!(
            e.contains("-tm") && e.contains("4096 MB") && e.contains("4097 MB"),
            "{e}"
        );
        let e = check_memory(&spec(1, 1024, 5000), &max).unwrap_err();
        assert!(e.contains("-jm") && e.contains("JobManager"), "{e}");
    }

    #[test]
    fn larger_than_free_memory_only_warns() {
        let nodes = [
            node("RUNNING", 4, 8192, 1000),
            node("RUNNING", 4, 8192, 2000),
        ];
        assert!(free_memory_warnings(&spec(1, 2000, 256), &nodes).is_empty());
        let w = free_memory_warnings(&spec(1, 2001, 256), &nodes);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("TaskManager container (2001 MB)") && w[0].contains("2000 MB"));
    }

    fn capacity_tree() -> SchedulerInfo {
        serde_json::from_value(serde_json::json!({
            "type": "capacityScheduler", "queueName": "root", "capacity": 100.0,
            "queues": {"queue": [
                {"queueName": "default", "queuePath": "root.default"},
                {"queueName": "eng", "queues": {"queue": [
                    {"queueName": "batch"}, {"queueName": "stream", "queuePath": "root.eng.stream"}
                ]}}
            ]}
        }))
        .unwrap()
    }

    #[test]
    fn queues_match_plain_or_root_prefixed_and_unknown_ones_list_the_choices() {
        let s = capacity_tree();
        assert_eq!(
            leaf_queues(&s).unwrap(),
            vec!["root.default", "root.eng.batch", "root.eng.stream"]
        );
        for ok in [
            "default",
            "root.default",
            "batch",
            "eng.batch",
            "root.eng.stream",
        ] {
            check_queue(ok, &s).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let e = check_queue("nosuch", &s).unwrap_err();
        assert!(
            e.contains("'nosuch'") && e.contains("root.default, root.eng.batch, root.eng.stream"),
            "{e}"
        );
        assert!(
            check_queue("eng", &s).is_err(),
            "a parent queue takes no applications"
        );
    }

    #[test]
    fn fair_and_fifo_queues() {
        let fair: SchedulerInfo = serde_json::from_value(serde_json::json!({
            "type": "fairScheduler",
            "rootQueue": {"queueName": "root", "childQueues": {"queue": [
                {"queueName": "root.default"}, {"queueName": "root.users"}
            ]}}
        }))
        .unwrap();
        check_queue("users", &fair).unwrap();
        check_queue("root.default", &fair).unwrap();
        assert!(check_queue("other", &fair).is_err());
        let fifo: SchedulerInfo =
            serde_json::from_value(serde_json::json!({"type": "fifoScheduler"})).unwrap();
        check_queue("default", &fifo).unwrap();
        assert!(check_queue("x", &fifo).is_err());
    }
}
