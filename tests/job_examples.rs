//! The example jobs that need nothing beyond POSIX tools run here as their TaskExecutors would
//! start them (argv and the `SPINDLE_*` identity in the environment), and do what their README
//! line says.

use std::process::{Command, Output};

use spindle::jobspec::{JobSpec, VertexSpec};

fn spec(name: &str) -> JobSpec {
    let path = format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    JobSpec::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Starts every subtask of a vertex at once (as slots would) and waits for all.
fn run_vertex(v: &VertexSpec, attempt: u32) -> Vec<Output> {
    let children: Vec<_> = (0..v.parallelism())
        .map(|i| {
            Command::new(&v.command[0])
                .args(&v.command[1..])
                .envs(&v.env)
                .env("SPINDLE_JOB_ID", "0000000000000000000000000000abcd")
                .env("SPINDLE_VERTEX", &v.name)
                .env("SPINDLE_SUBTASK_INDEX", i.to_string())
                .env("SPINDLE_PARALLELISM", v.parallelism().to_string())
                .env("SPINDLE_ATTEMPT", attempt.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

#[test]
fn parallel_sum_slices_add_up_to_the_whole_sum() {
    let spec = spec("parallel-sum.yaml");
    let outputs = run_vertex(&spec.vertices[0], 0);
    let mut total: u128 = 0;
    for out in &outputs {
        assert!(out.status.success(), "{out:?}");
        let line = String::from_utf8_lossy(&out.stdout);
        total += line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap()
            .parse::<u128>()
            .unwrap();
    }
    let n: u128 = 40_000_000;
    assert_eq!(total, n * (n + 1) / 2);
    let done = run_vertex(&spec.vertices[1], 0);
    assert!(done[0].status.success());
    assert!(String::from_utf8_lossy(&done[0].stdout).contains("all slices finished"));
}

#[test]
fn flaky_pipeline_fails_once_then_succeeds() {
    let spec = spec("flaky-pipeline.yaml");
    let work = &spec.vertices[1];
    let first = run_vertex(work, 0);
    assert!(first[0].status.success());
    assert_eq!(first[1].status.code(), Some(1));
    assert!(String::from_utf8_lossy(&first[1].stderr).contains("failing on purpose"));
    let second = run_vertex(work, 1);
    assert!(second.iter().all(|o| o.status.success()));
    assert!(
        run_vertex(&spec.vertices[0], 1)
            .iter()
            .all(|o| o.status.success())
    );
}
