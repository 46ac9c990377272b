//! The execution graph's static shape: vertices, edges, pipelined regions and shared-slot keys,
//! all as compact arrays indexed by small integers.
//!
//! Nothing here grows with the number of connections: an all-to-all edge is one record however
//! many subtasks it joins, a forward edge maps subtask i to subtask i implicitly, and a subtask is
//! just `vertex.first + index` into the per-subtask arrays the JobMaster keeps. A 10,000 × 10,000
//! all-to-all job is 20,000 subtasks and one edge.
//!
//! Pipelined regions are computed at vertex granularity: vertices joined by pipelined edges (of
//! either distribution) form one region, blocking edges separate regions, and regions whose
//! blocking edges would form a cycle are merged (Flink merges such regions too). Flink splits
//! forward-pipelined chains subtask-wise; spindle keeps whole vertices together, which schedules a
//! region's subtasks together and restarts them together.
//!
//! Slot sharing: the shared slot of key (group g, index i) holds subtask i of every vertex of g
//! whose parallelism exceeds i — one subtask of each vertex per slot, as Flink's
//! `LocalInputPreferredSlotSharingStrategy` lays out forward-connected vertices.

use crate::jobspec::{Distribution, Exchange, JobSpec};
use crate::resource_manager::types::{ResourceProfile, Resources};

/// One vertex of the job.
#[derive(Debug, Clone)]
pub struct JobVertex {
    /// Its name.
    pub name: String,
    /// Its number of subtasks.
    pub parallelism: u32,
    /// Index of its slot sharing group in [`ExecutionGraph::groups`].
    pub group: u32,
    /// Fine-grained resources of one subtask.
    pub resources: Option<Resources>,
    /// The region it belongs to.
    pub region: u32,
    /// Index of its subtask 0 in the per-subtask arrays.
    pub first: u32,
    /// The argv each subtask runs.
    pub command: Vec<String>,
    /// Extra environment of each subtask.
    pub env: std::collections::BTreeMap<String, String>,
}

/// One edge: a single record however many subtasks it connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobEdge {
    /// Producer vertex index.
    pub from: u32,
    /// Consumer vertex index.
    pub to: u32,
    /// Forward (subtask i → i) or all-to-all.
    pub distribution: Distribution,
    /// Pipelined or blocking.
    pub exchange: Exchange,
}

/// A pipelined region: scheduled, finished and restarted as one.
#[derive(Debug, Clone, Default)]
pub struct Region {
    /// Its vertices, in job order.
    pub vertices: Vec<u32>,
    /// Regions it consumes through blocking edges (it starts when they have all finished).
    pub producers: Vec<u32>,
    /// Regions consuming it through blocking edges.
    pub consumers: Vec<u32>,
    /// Its number of subtasks.
    pub subtasks: u32,
}

/// A slot sharing group and the shared slots its vertices need.
#[derive(Debug, Clone)]
pub struct SharingGroup {
    /// Its name.
    pub name: String,
    /// Its vertices, in job order.
    pub vertices: Vec<u32>,
    /// The largest parallelism among them: its number of shared-slot keys.
    pub max_parallelism: u32,
    /// The index of its key 0 among all keys.
    pub first_key: u32,
}

/// The job's static execution shape.
#[derive(Debug, Clone)]
pub struct ExecutionGraph {
    /// Vertices in spec order.
    pub vertices: Vec<JobVertex>,
    /// Edges in spec order.
    pub edges: Vec<JobEdge>,
    /// Pipelined regions in topological order (producers before consumers).
    pub regions: Vec<Region>,
    /// Slot sharing groups, by first appearance.
    pub groups: Vec<SharingGroup>,
    /// For each subtask, its vertex (so a subtask index alone names it).
    pub subtask_vertex: Vec<u32>,
    /// Total shared-slot keys.
    pub keys: u32,
}

impl ExecutionGraph {
    /// Builds the graph of a validated spec.
    pub fn build(spec: &JobSpec) -> ExecutionGraph {
        let index: std::collections::HashMap<&str, u32> = spec
            .vertices
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.as_str(), i as u32))
            .collect();
        let edges: Vec<JobEdge> = spec
            .edges
            .iter()
            .map(|e| JobEdge {
                from: index[e.from.as_str()],
                to: index[e.to.as_str()],
                distribution: e.distribution,
                exchange: e.exchange,
            })
            .collect();
        let mut groups: Vec<SharingGroup> = Vec::new();
        let mut vertices = Vec::with_capacity(spec.vertices.len());
        let mut first = 0u32;
        for (i, v) in spec.vertices.iter().enumerate() {
            let g = match groups.iter().position(|g| g.name == v.slot_sharing_group) {
                Some(g) => g,
                None => {
                    groups.push(SharingGroup {
                        name: v.slot_sharing_group.clone(),
                        vertices: Vec::new(),
                        max_parallelism: 0,
                        first_key: 0,
                    });
                    groups.len() - 1
                }
            };
            groups[g].vertices.push(i as u32);
            groups[g].max_parallelism = groups[g].max_parallelism.max(v.parallelism());
            vertices.push(JobVertex {
                name: v.name.clone(),
                parallelism: v.parallelism(),
                group: g as u32,
                resources: v.resources.map(|r| r.to_resources()),
                region: 0,
                first,
                command: v.command.clone(),
                env: v.env.clone(),
            });
            first += v.parallelism();
        }
        let mut keys = 0;
        for g in &mut groups {
            g.first_key = keys;
            keys += g.max_parallelism;
        }
        let mut subtask_vertex = Vec::with_capacity(first as usize);
        for (i, v) in vertices.iter().enumerate() {
            subtask_vertex.extend(std::iter::repeat_n(i as u32, v.parallelism as usize));
        }
        let regions = compute_regions(&mut vertices, &edges);
        ExecutionGraph {
            vertices,
            edges,
            regions,
            groups,
            subtask_vertex,
            keys,
        }
    }

    /// Total subtasks.
    pub fn subtasks(&self) -> u32 {
        self.subtask_vertex.len() as u32
    }

    /// The shared-slot key of a vertex's subtask.
    pub fn key_of(&self, vertex: u32, subtask: u32) -> u32 {
        self.groups[self.vertices[vertex as usize].group as usize].first_key + subtask
    }

    /// The group and index of a key.
    pub fn key_parts(&self, key: u32) -> (u32, u32) {
        let g = self.groups.partition_point(|g| g.first_key <= key) - 1;
        (g as u32, key - self.groups[g].first_key)
    }

    /// The profile of a key's shared slot: the sum of the resources of the group's vertices with
    /// a subtask at that index, or `Unknown` for a group without fine-grained resources.
    pub fn key_profile(&self, key: u32) -> ResourceProfile {
        let (g, index) = self.key_parts(key);
        let mut total: Option<Resources> = None;
        for &v in &self.groups[g as usize].vertices {
            let v = &self.vertices[v as usize];
            if let Some(r) = v.resources
                && v.parallelism > index
            {
                total = Some(total.unwrap_or_default().plus(&r));
            }
        }
        total.map_or(ResourceProfile::Unknown, ResourceProfile::Fixed)
    }

    /// Heap bytes held by the graph (for the benchmark and the overview).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let strings: usize = self
            .vertices
            .iter()
            .map(|v| {
                v.name.capacity()
                    + v.command.iter().map(String::capacity).sum::<usize>()
                    + v.command.capacity() * size_of::<String>()
            })
            .sum();
        self.vertices.capacity() * size_of::<JobVertex>()
            + self.edges.capacity() * size_of::<JobEdge>()
            + self
                .regions
                .iter()
                .map(|r| {
                    size_of::<Region>()
                        + 4 * (r.vertices.capacity()
                            + r.producers.capacity()
                            + r.consumers.capacity())
                })
                .sum::<usize>()
            + self.subtask_vertex.capacity() * 4
            + strings
    }
}

/// Groups vertices into pipelined regions, merges regions on blocking cycles, orders them
/// topologically and records each vertex's region.
fn compute_regions(vertices: &mut [JobVertex], edges: &[JobEdge]) -> Vec<Region> {
    let n = vertices.len();
    let mut uf = UnionFind::new(n);
    for e in edges.iter().filter(|e| e.exchange == Exchange::Pipelined) {
        uf.union(e.from as usize, e.to as usize);
    }
    // Merge the regions on each cycle of the region graph (strongly connected components).
    loop {
        let (ids, count) = uf.dense_ids();
        let mut out = vec![Vec::new(); count];
        for e in edges {
            let (a, b) = (ids[e.from as usize], ids[e.to as usize]);
            if a != b {
                out[a].push(b);
            }
        }
        let components = strongly_connected(&out);
        let mut merged = false;
        for comp in components.iter().filter(|c| c.len() > 1) {
            let rep = (0..n).find(|&v| ids[v] == comp[0]).unwrap_or(0);
            for &r in &comp[1..] {
                if let Some(v) = (0..n).find(|&v| ids[v] == r) {
                    uf.union(rep, v);
                    merged = true;
                }
            }
        }
        if !merged {
            break;
        }
    }
    let (ids, count) = uf.dense_ids();
    let mut producers: Vec<Vec<u32>> = vec![Vec::new(); count];
    for e in edges {
        let (a, b) = (ids[e.from as usize], ids[e.to as usize]);
        if a != b && !producers[b].contains(&(a as u32)) {
            producers[b].push(a as u32);
        }
    }
    // Kahn's algorithm, lowest region id first, for a stable topological order.
    let mut indegree: Vec<usize> = producers.iter().map(Vec::len).collect();
    let mut consumers: Vec<Vec<u32>> = vec![Vec::new(); count];
    for (b, ps) in producers.iter().enumerate() {
        for &a in ps {
            consumers[a as usize].push(b as u32);
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..count).filter(|&r| indegree[r] == 0).collect();
    let mut order = Vec::with_capacity(count);
    while let Some(r) = ready.pop_first() {
        order.push(r);
        for &c in &consumers[r] {
            indegree[c as usize] -= 1;
            if indegree[c as usize] == 0 {
                ready.insert(c as usize);
            }
        }
    }
    let mut position = vec![0u32; count];
    for (p, &r) in order.iter().enumerate() {
        position[r] = p as u32;
    }
    let mut regions: Vec<Region> = vec![Region::default(); count];
    for (v, vertex) in vertices.iter_mut().enumerate() {
        let r = position[ids[v]];
        vertex.region = r;
        regions[r as usize].vertices.push(v as u32);
        regions[r as usize].subtasks += vertex.parallelism;
    }
    for (old, ps) in producers.into_iter().enumerate() {
        let r = position[old] as usize;
        regions[r].producers = ps.into_iter().map(|p| position[p as usize]).collect();
    }
    for r in 0..count {
        for p in regions[r].producers.clone() {
            regions[p as usize].consumers.push(r as u32);
        }
    }
    regions
}

/// The strongly connected components of a graph (iterative Tarjan).
fn strongly_connected(out: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = out.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut counter = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut next)) = work.last_mut() {
            if let Some(&w) = out[v].get(*next) {
                *next += 1;
                if index[w] == usize::MAX {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    components.push(comp);
                }
            }
        }
    }
    components
}

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.parent[a.max(b)] = a.min(b);
        }
    }

    /// Each element's set as a dense id (by first appearance), and the number of sets.
    fn dense_ids(&mut self) -> (Vec<usize>, usize) {
        let n = self.parent.len();
        let mut dense = vec![usize::MAX; n];
        let mut ids = Vec::with_capacity(n);
        let mut count = 0;
        for v in 0..n {
            let root = self.find(v);
            if dense[root] == usize::MAX {
                dense[root] = count;
                count += 1;
            }
            ids.push(dense[root]);
        }
        (ids, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(yaml: &str) -> ExecutionGraph {
        ExecutionGraph::build(&JobSpec::parse(yaml).unwrap())
    }

    fn region_names(g: &ExecutionGraph) -> Vec<Vec<&str>> {
        g.regions
            .iter()
            .map(|r| {
                r.vertices
                    .iter()
                    .map(|&v| g.vertices[v as usize].name.as_str())
                    .collect()
            })
            .collect()
    }

    const CMD: &str = "command: [true]";

    #[test]
    fn pipelined_edges_join_and_blocking_edges_separate_regions() {
        let g = graph(&format!(
            "name: j\nvertices:\n- {{name: a, parallelism: 2, {CMD}}}\n- {{name: b, parallelism: 2, {CMD}}}\n- {{name: c, parallelism: 3, {CMD}}}\nedges:\n- {{from: a, to: b, distribution: forward}}\n- {{from: b, to: c, exchange: blocking}}\n"
        ));
        assert_eq!(region_names(&g), vec![vec!["a", "b"], vec!["c"]]);
        assert_eq!(g.regions[1].producers, vec![0]);
        assert_eq!(g.regions[0].consumers, vec![1]);
        assert_eq!(g.regions[1].subtasks, 3);
    }

    #[test]
    fn regions_on_a_blocking_cycle_are_merged() {
        // a -pipelined-> c, a -blocking-> b -blocking-> c: regions {a, c} and {b} depend on each
        // other, so they become one.
        let g = graph(&format!(
            "name: j\nvertices:\n- {{name: a, parallelism: 1, {CMD}}}\n- {{name: b, parallelism: 1, {CMD}}}\n- {{name: c, parallelism: 1, {CMD}}}\n- {{name: d, parallelism: 1, {CMD}}}\nedges:\n- {{from: a, to: c}}\n- {{from: a, to: b, exchange: blocking}}\n- {{from: b, to: c, exchange: blocking}}\n- {{from: c, to: d, exchange: blocking}}\n"
        ));
        assert_eq!(region_names(&g), vec![vec!["a", "b", "c"], vec!["d"]]);
    }

    #[test]
    fn keys_and_profiles_follow_sharing_groups() {
        let g = graph(
            "name: j\nvertices:\n- {name: a, parallelism: 4, command: [x], resources: {cpu: 0.5, memory_mb: 100}}\n- {name: b, parallelism: 3, command: [x], resources: {cpu: 1, memory_mb: 200}}\n- {name: c, parallelism: 2, slot_sharing_group: other, command: [x]}\n",
        );
        assert_eq!(g.keys, 6);
        assert_eq!(g.key_of(2, 1), 5);
        assert_eq!(g.key_parts(5), (1, 1));
        assert_eq!(
            g.key_profile(0),
            ResourceProfile::Fixed(Resources::new(1500, 300 << 20))
        );
        assert_eq!(
            g.key_profile(3),
            ResourceProfile::Fixed(Resources::new(500, 100 << 20))
        );
        assert_eq!(g.key_profile(4), ResourceProfile::Unknown);
    }
}
