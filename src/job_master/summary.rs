//! The per-job summary a REST API serves, in the shape of Flink's `/jobs/{id}` (job id, name,
//! state, times, vertices with status and parallelism), with each vertex's subtasks (their state,
//! attempt, slot and TaskExecutor) as `/jobs/{id}/vertices/{vid}` lists them, and the job's
//! entry in `/jobs/overview`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::core::ExecutionState;
use crate::resource_manager::types::JobStatus;

/// One job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct JobDetails {
    /// The job id (32 hex digits).
    pub jid: String,
    /// The job's name.
    pub name: String,
    /// The job's status.
    pub state: JobStatus,
    /// When the JobMaster was created (ms on its clock).
    pub start_time: u64,
    /// When the job reached a terminal state.
    pub end_time: Option<u64>,
    /// Milliseconds from start to end (or to now).
    pub duration: u64,
    /// The time of this summary.
    pub now: u64,
    /// Why the job failed.
    pub failure: Option<String>,
    /// Restarts granted by the restart strategy.
    pub restarts: u32,
    /// The vertices in spec order.
    pub vertices: Vec<VertexDetails>,
}

/// One vertex.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct VertexDetails {
    /// The vertex index.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Its parallelism.
    pub parallelism: u32,
    /// Its slot sharing group.
    pub slot_sharing_group: String,
    /// Its aggregate status (Flink's rule: any failed → FAILED, all finished → FINISHED, ...).
    pub status: ExecutionState,
    /// Subtasks per state.
    pub tasks: BTreeMap<String, u32>,
    /// Its subtasks.
    pub subtasks: Vec<SubtaskDetails>,
}

/// One subtask (its current attempt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SubtaskDetails {
    /// Its index.
    pub subtask: u32,
    /// Its state.
    pub status: ExecutionState,
    /// Its attempt number (0 first).
    pub attempt: u32,
    /// The allocation it was last deployed into.
    pub allocation_id: Option<String>,
    /// The TaskExecutor it was last deployed to.
    pub taskmanager_id: Option<String>,
    /// Its latest failure.
    pub failure: Option<String>,
}

impl VertexDetails {
    /// A vertex's details with its aggregate status and counts computed from its subtasks.
    pub fn new(
        id: u32,
        name: String,
        parallelism: u32,
        slot_sharing_group: String,
        subtasks: Vec<SubtaskDetails>,
    ) -> Self {
        let mut tasks = BTreeMap::new();
        for s in &subtasks {
            let key = serde_json::to_value(s.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            *tasks.entry(key).or_insert(0) += 1;
        }
        let any = |st: ExecutionState| subtasks.iter().any(|s| s.status == st);
        use ExecutionState::*;
        let status = if any(Failed) {
            Failed
        } else if any(Canceling) {
            Canceling
        } else if any(Canceled) {
            Canceled
        } else if subtasks.iter().all(|s| s.status == Finished) {
            Finished
        } else if any(Running) {
            Running
        } else if any(Deploying) {
            Deploying
        } else if any(Scheduled) {
            Scheduled
        } else {
            Created
        };
        VertexDetails {
            id,
            name,
            parallelism,
            slot_sharing_group,
            status,
            tasks,
            subtasks,
        }
    }
}

/// A job's entry in Flink's `/jobs/overview`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct JobOverview {
    /// The job id (32 hex digits).
    pub jid: String,
    /// The job's name.
    pub name: String,
    /// The job's status.
    pub state: JobStatus,
    /// When the JobMaster was created.
    pub start_time: u64,
    /// When the job reached a terminal state.
    pub end_time: Option<u64>,
    /// Milliseconds from start to end (or to now).
    pub duration: u64,
    /// Subtasks per state, over all vertices.
    pub tasks: BTreeMap<String, u32>,
}

impl From<&JobDetails> for JobOverview {
    fn from(d: &JobDetails) -> Self {
        let mut tasks = BTreeMap::new();
        for v in &d.vertices {
            for (state, n) in &v.tasks {
                *tasks.entry(state.clone()).or_insert(0) += n;
            }
        }
        JobOverview {
            jid: d.jid.clone(),
            name: d.name.clone(),
            state: d.state,
            start_time: d.start_time,
            end_time: d.end_time,
            duration: d.duration,
            tasks,
        }
    }
}
