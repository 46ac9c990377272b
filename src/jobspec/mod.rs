//! Job specs: the JobGraph a user submits, as a YAML (or JSON) file, and its validation.
//!
//! A spec names the job, its vertices (parallelism, slot sharing group, optional fine-grained
//! resources, the command each subtask runs and its environment) and the edges between them
//! (distribution and exchange). Everything wrong with a spec is refused before anything is
//! submitted, with the line and column of the offending entry where the text tells it: syntax and
//! type errors come from the parser; the semantic checks (unknown vertices, cycles, parallelism,
//! forward edges, duplicates, empty commands, resources beyond what a worker offers) locate the
//! entry by scanning the source for its key.

mod locate;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::resource_manager::types::{ResourceProfile, Resources};

/// The largest parallelism of a vertex (Flink's upper bound for max parallelism, 2^15).
pub const MAX_PARALLELISM: u32 = 1 << 15;

/// The most subtasks a job may have in total.
pub const MAX_SUBTASKS: u64 = 1_000_000;

/// The sharing group of vertices that name none (Flink's `"default"`).
pub const DEFAULT_SLOT_SHARING_GROUP: &str = "default";

/// A job: its vertices and the edges between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// The job's name (shown in listings).
    pub name: String,
    /// The vertices, in the order given.
    pub vertices: Vec<VertexSpec>,
    /// The edges; none for a job of independent vertices.
    #[serde(default)]
    pub edges: Vec<EdgeSpec>,
    /// Where each vertex and edge starts in the source text (empty for a spec built in code).
    #[serde(skip)]
    pub locations: Locations,
}

/// One vertex: `parallelism` subtasks, each a process running `command`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VertexSpec {
    /// Unique within the job.
    pub name: String,
    /// Number of subtasks (at least 1); when absent, the job's default parallelism (`spindle run
    /// -p`, else `parallelism.default`, else 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u32>,
    /// Vertices of one group share slots: one subtask of each per slot.
    #[serde(default = "default_group")]
    pub slot_sharing_group: String,
    /// Fine-grained resources of one subtask; without them slots are the TaskManagers' default slots.
    #[serde(default)]
    pub resources: Option<VertexResources>,
    /// The argv of each subtask's process.
    pub command: Vec<String>,
    /// Extra environment for each subtask's process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

impl VertexSpec {
    /// The vertex's parallelism (1 when the spec leaves it to a default that was never applied).
    pub fn parallelism(&self) -> u32 {
        self.parallelism.unwrap_or(1)
    }
}

fn default_group() -> String {
    DEFAULT_SLOT_SHARING_GROUP.to_owned()
}

/// What one subtask of a vertex needs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VertexResources {
    /// CPU cores (fractions allowed, e.g. 0.5).
    pub cpu: f64,
    /// Memory in MiB.
    pub memory_mb: u64,
}

impl VertexResources {
    /// As slot resources: CPU in milli-cores, memory as task heap.
    pub fn to_resources(self) -> Resources {
        Resources::new(
            (self.cpu * 1000.0).round() as u64,
            self.memory_mb.saturating_mul(1 << 20),
        )
    }
}

/// How the subtasks of two vertices connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Subtask i feeds subtask i (both vertices have the same parallelism).
    Forward,
    /// Every producer subtask feeds every consumer subtask.
    #[default]
    AllToAll,
}

/// When data crosses the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Exchange {
    /// Streamed while both sides run: both ends belong to one pipelined region.
    #[default]
    Pipelined,
    /// Fully produced before it is consumed: the consumer starts once the producer has finished.
    Blocking,
}

/// An edge from a producer vertex to a consumer vertex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeSpec {
    /// The producer's name.
    pub from: String,
    /// The consumer's name.
    pub to: String,
    /// `forward` or `all_to_all` (the default).
    #[serde(default)]
    pub distribution: Distribution,
    /// `pipelined` (the default) or `blocking`.
    #[serde(default)]
    pub exchange: Exchange,
}

/// A 1-based line and column in the spec's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// Where each vertex and edge of a parsed spec starts, when the scan found it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Locations {
    /// By vertex index.
    pub vertices: Vec<Option<Position>>,
    /// By edge index.
    pub edges: Vec<Option<Position>>,
}

/// One problem with a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Where, if known.
    pub position: Option<Position>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "line {}, column {}: {}", p.line, p.column, self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Everything wrong with a spec, in source order of discovery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InvalidSpec {
    /// At least one error.
    pub errors: Vec<SpecError>,
}

impl fmt::Display for InvalidSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid job spec:")?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl InvalidSpec {
    fn one(position: Option<Position>, message: String) -> Self {
        InvalidSpec {
            errors: vec![SpecError { position, message }],
        }
    }
}

impl JobSpec {
    /// Parses and validates a spec: JSON when the text starts with `{`, YAML otherwise.
    pub fn parse(text: &str) -> Result<JobSpec, InvalidSpec> {
        let mut spec: JobSpec = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| {
                InvalidSpec::one(
                    Some(Position {
                        line: e.line(),
                        column: e.column(),
                    }),
                    e.to_string(),
                )
            })?
        } else {
            serde_norway::from_str(text).map_err(|e| {
                let position = e.location().map(|l| Position {
                    line: l.line(),
                    column: l.column(),
                });
                InvalidSpec::one(position, yaml_message(&e))
            })?
        };
        spec.locations = locate::locate(text, &spec);
        spec.validate()?;
        Ok(spec)
    }

    /// Gives every vertex without a parallelism `parallelism` (Flink's `-p`) and validates again:
    /// a forward edge may now join different parallelisms.
    pub fn apply_default_parallelism(&mut self, parallelism: u32) -> Result<(), InvalidSpec> {
        for v in &mut self.vertices {
            v.parallelism.get_or_insert(parallelism);
        }
        self.validate()
    }

    /// The checks that need no cluster: names, parallelism, commands, edges, acyclicity, and that
    /// a fine-grained sharing group declares resources on every vertex.
    pub fn validate(&self) -> Result<(), InvalidSpec> {
        let mut errors = Vec::new();
        let mut err = |position: Option<Position>, message: String| {
            errors.push(SpecError { position, message })
        };
        if self.name.trim().is_empty() {
            err(None, "the job has no name; set `name:`".to_owned());
        }
        if self.vertices.is_empty() {
            err(
                None,
                "the job has no vertices; list at least one under `vertices:`".to_owned(),
            );
        }
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, v) in self.vertices.iter().enumerate() {
            let at = self.vertex_position(i);
            if v.name.trim().is_empty() {
                err(at, format!("vertex #{} has an empty name", i + 1));
            }
            if index.insert(v.name.as_str(), i).is_some() {
                err(
                    at,
                    format!(
                        "duplicate vertex name '{}'; vertex names must be unique",
                        v.name
                    ),
                );
            }
            if v.parallelism() < 1 {
                err(
                    at,
                    format!(
                        "vertex '{}' has parallelism {}; it must be at least 1",
                        v.name,
                        v.parallelism()
                    ),
                );
            }
            if v.parallelism() > MAX_PARALLELISM {
                err(
                    at,
                    format!(
                        "vertex '{}' has parallelism {}; the most is {MAX_PARALLELISM}",
                        v.name,
                        v.parallelism()
                    ),
                );
            }
            if v.command.first().is_none_or(|c| c.is_empty()) {
                err(
                    at,
                    format!(
                        "vertex '{}' has an empty command; give the argv to run, e.g. [sh, -c, '...']",
                        v.name
                    ),
                );
            }
            if let Some(r) = v.resources
                && (!r.cpu.is_finite() || r.cpu <= 0.0 || r.memory_mb == 0)
            {
                err(
                    at,
                    format!(
                        "vertex '{}' asks for cpu {} and memory_mb {}; both must be above 0",
                        v.name, r.cpu, r.memory_mb
                    ),
                );
            }
            if let Some(k) = v
                .env
                .keys()
                .find(|k| k.is_empty() || k.contains(['=', '\0']))
            {
                err(
                    at,
                    format!(
                        "vertex '{}' has an invalid environment variable name {k:?}",
                        v.name
                    ),
                );
            }
        }
        // Vertices over the per-vertex limit are reported above; count them at the limit.
        let subtasks: u64 = self
            .vertices
            .iter()
            .map(|v| u64::from(v.parallelism().min(MAX_PARALLELISM)))
            .sum();
        if subtasks > MAX_SUBTASKS {
            err(
                None,
                format!("the job has {subtasks} subtasks in all; the most is {MAX_SUBTASKS}"),
            );
        }
        let mut groups: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
        for v in &self.vertices {
            let g = groups.entry(v.slot_sharing_group.as_str()).or_default();
            g.0 |= v.resources.is_some();
            g.1 |= v.resources.is_none();
        }
        for (group, _) in groups
            .iter()
            .filter(|(_, (with, without))| *with && *without)
        {
            let i = self
                .vertices
                .iter()
                .position(|v| v.slot_sharing_group == *group && v.resources.is_none())
                .unwrap_or(0);
            err(
                self.vertex_position(i),
                format!(
                    "slot sharing group '{group}' mixes vertices with and without resources; give '{}' resources too, or move it to another group",
                    self.vertices[i].name
                ),
            );
        }
        let mut edges_ok = true;
        for (i, e) in self.edges.iter().enumerate() {
            let at = self.edge_position(i);
            let mut ends = [&e.from, &e.to].map(|n| index.get(n.as_str()).copied());
            for (end, name) in ends.iter_mut().zip([&e.from, &e.to]) {
                if end.is_none() {
                    edges_ok = false;
                    let known: Vec<&str> = self.vertices.iter().map(|v| v.name.as_str()).collect();
                    err(
                        at,
                        format!(
                            "edge {} -> {} names unknown vertex '{name}'; known vertices: {}",
                            e.from,
                            e.to,
                            known.join(", ")
                        ),
                    );
                }
            }
            if let [Some(a), Some(b)] = ends {
                if a == b {
                    edges_ok = false;
                    err(
                        at,
                        format!("edge {} -> {} connects a vertex to itself", e.from, e.to),
                    );
                } else if e.distribution == Distribution::Forward
                    && self.vertices[a].parallelism() != self.vertices[b].parallelism()
                {
                    err(
                        at,
                        format!(
                            "forward edge {} -> {} joins parallelism {} to {}; use all_to_all or equal parallelisms",
                            e.from,
                            e.to,
                            self.vertices[a].parallelism(),
                            self.vertices[b].parallelism()
                        ),
                    );
                }
            }
        }
        if edges_ok && let Some((cycle, edge)) = self.find_cycle(&index) {
            err(
                self.edge_position(edge),
                format!(
                    "the edges form a cycle: {}; a job must be a DAG",
                    cycle.join(" -> ")
                ),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(InvalidSpec { errors })
        }
    }

    /// Checks that every shared slot the job will ask for fits in `max` (what the largest worker
    /// can offer one slot): a slot of a fine-grained group holds one subtask of each of its
    /// vertices, so it needs their sum.
    pub fn check_resources(&self, max: &Resources) -> Result<(), InvalidSpec> {
        let mut errors = Vec::new();
        let mut groups: Vec<&str> = self
            .vertices
            .iter()
            .map(|v| v.slot_sharing_group.as_str())
            .collect();
        groups.sort_unstable();
        groups.dedup();
        for group in groups {
            let members: Vec<usize> = (0..self.vertices.len())
                .filter(|&i| self.vertices[i].slot_sharing_group == group)
                .collect();
            let ResourceProfile::Fixed(need) = self.group_profile(group) else {
                continue;
            };
            if !max.fits(&need) {
                let names: Vec<&str> = members
                    .iter()
                    .map(|&i| self.vertices[i].name.as_str())
                    .collect();
                errors.push(SpecError {
                    position: self.vertex_position(members[0]),
                    message: format!(
                        "a slot of sharing group '{group}' ({}) needs {} millicores and {} MiB, more than a worker offers ({} millicores, {} MiB); lower the resources or split the group",
                        names.join(", "),
                        need.cpu_millis,
                        need.memory() >> 20,
                        max.cpu_millis,
                        max.memory() >> 20
                    ),
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(InvalidSpec { errors })
        }
    }

    /// The profile of the largest shared slot of a group: the sum of its vertices' resources, or
    /// `Unknown` when the group is not fine-grained.
    pub fn group_profile(&self, group: &str) -> ResourceProfile {
        let mut total: Option<Resources> = None;
        for v in self
            .vertices
            .iter()
            .filter(|v| v.slot_sharing_group == group)
        {
            if let Some(r) = v.resources {
                total = Some(total.unwrap_or_default().plus(&r.to_resources()));
            }
        }
        total.map_or(ResourceProfile::Unknown, ResourceProfile::Fixed)
    }

    fn vertex_position(&self, i: usize) -> Option<Position> {
        self.locations.vertices.get(i).copied().flatten()
    }

    fn edge_position(&self, i: usize) -> Option<Position> {
        self.locations.edges.get(i).copied().flatten()
    }

    /// A cycle as vertex names (first repeated at the end) and the index of an edge on it.
    fn find_cycle(&self, index: &HashMap<&str, usize>) -> Option<(Vec<String>, usize)> {
        let n = self.vertices.len();
        let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
        for (ei, e) in self.edges.iter().enumerate() {
            out[index[e.from.as_str()]].push((index[e.to.as_str()], ei));
        }
        // 0 = unvisited, 1 = on the current path, 2 = done. Iterative to survive deep graphs.
        let mut color = vec![0u8; n];
        for root in 0..n {
            if color[root] != 0 {
                continue;
            }
            let mut path: Vec<(usize, usize)> = vec![(root, 0)];
            color[root] = 1;
            while let Some(&mut (v, ref mut next)) = path.last_mut() {
                if let Some(&(w, ei)) = out[v].get(*next) {
                    *next += 1;
                    match color[w] {
                        0 => {
                            color[w] = 1;
                            path.push((w, 0));
                        }
                        1 => {
                            let start = path.iter().position(|&(p, _)| p == w).unwrap_or(0);
                            let mut names: Vec<String> = path[start..]
                                .iter()
                                .map(|&(p, _)| self.vertices[p].name.clone())
                                .collect();
                            names.push(self.vertices[w].name.clone());
                            return Some((names, ei));
                        }
                        _ => {}
                    }
                } else {
                    color[v] = 2;
                    path.pop();
                }
            }
        }
        None
    }
}

/// serde_norway's message without its trailing location (which [`SpecError`] prints itself).
fn yaml_message(e: &serde_norway::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}
