//! Execution graph scale benchmark: a 10,000 × 10,000 all-to-all job (two vertices, one edge),
//! its build time and live heap bytes (counted by a wrapping allocator), then the same for a whole
//! JobMaster (graph plus per-subtask and per-slot state) and the time to deploy all 20,000
//! subtasks into 10,000 offered shared slots. `cargo bench --bench execution_graph`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use spindle::job_master::{Command, ExecutionGraph, JobMasterConfig, JobMasterCore, SlotOffer};
use spindle::jobspec::{Distribution, EdgeSpec, Exchange, JobSpec, VertexSpec};
use spindle::resource_manager::types::{AllocationId, JobId, Resources, Timestamp, WorkerId};

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

const PARALLELISM: u32 = 10_000;

fn spec() -> JobSpec {
    let vertex = |name: &str| VertexSpec {
        name: name.to_owned(),
        parallelism: Some(PARALLELISM),
        slot_sharing_group: "default".to_owned(),
        resources: None,
        command: vec!["sh".into(), "-c".into(), "true".into()],
        env: Default::default(),
    };
    JobSpec {
        name: "scale".to_owned(),
        vertices: vec![vertex("source"), vertex("sink")],
        edges: vec![EdgeSpec {
            from: "source".to_owned(),
            to: "sink".to_owned(),
            distribution: Distribution::AllToAll,
            exchange: Exchange::Pipelined,
        }],
        locations: Default::default(),
    }
}

fn main() {
    let spec = spec();
    spec.validate().expect("valid spec");

    let before = LIVE.load(Ordering::Relaxed);
    let start = Instant::now();
    let graph = ExecutionGraph::build(&spec);
    let build = start.elapsed();
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    assert_eq!(graph.subtasks(), 2 * PARALLELISM);
    println!(
        "execution_graph vertices=2 parallelism={PARALLELISM} edges=all_to_all build_ms={:.3} bytes={bytes}",
        build.as_secs_f64() * 1e3
    );
    drop(graph);

    let before = LIVE.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut jm = JobMasterCore::new(JobId(1), &spec, JobMasterConfig::default(), Timestamp(0));
    let build = start.elapsed();
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    let start = Instant::now();
    jm.start(Timestamp(0));
    let offers: Vec<SlotOffer> = (0..u64::from(PARALLELISM))
        .map(|i| SlotOffer {
            allocation: AllocationId(i),
            resources: Resources::new(1000, 1 << 30),
        })
        .collect();
    let mut accepted = 0;
    for (w, chunk) in offers.chunks(10).enumerate() {
        accepted += jm
            .offer_slots(&WorkerId::new(format!("te-{w}")), chunk, Timestamp(1))
            .len();
    }
    let deploys = jm
        .take_commands()
        .iter()
        .filter(|c| matches!(c, Command::Deploy { .. }))
        .count();
    let deploy = start.elapsed();
    assert_eq!(accepted, PARALLELISM as usize);
    assert_eq!(deploys, 2 * PARALLELISM as usize);
    println!(
        "job_master vertices=2 parallelism={PARALLELISM} build_ms={:.3} bytes={bytes} deploy_all_ms={:.3} slots={accepted} deployments={deploys}",
        build.as_secs_f64() * 1e3,
        deploy.as_secs_f64() * 1e3
    );
}
