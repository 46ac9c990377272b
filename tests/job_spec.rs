//! Job spec parsing and validation: every refusal names what is wrong and, where the text tells
//! it, the line and column.

use spindle::jobspec::{Distribution, Exchange, InvalidSpec, JobSpec, Position};
use spindle::resource_manager::types::{ResourceProfile, Resources};

fn errors(text: &str) -> InvalidSpec {
    JobSpec::parse(text).expect_err("the spec should be refused")
}

/// The single error's line and message.
fn only(text: &str) -> (usize, String) {
    let e = errors(text);
    assert_eq!(e.errors.len(), 1, "{e}");
    let err = &e.errors[0];
    (err.position.map_or(0, |p| p.line), err.message.clone())
}

#[test]
fn a_full_spec_parses_with_defaults() {
    let spec = JobSpec::parse(
        "name: wc
vertices:
  - name: split
    parallelism: 2
    command: [sh, -c, 'echo hi']
    env: {MODE: fast}
  - name: count
    parallelism: 2
    slot_sharing_group: counters
    resources: {cpu: 0.5, memory_mb: 256}
    command: [sh, -c, 'wc -l']
edges:
  - {from: split, to: count, distribution: forward, exchange: blocking}
  - from: split
    to: count
",
    )
    .unwrap();
    assert_eq!(spec.vertices[0].slot_sharing_group, "default");
    assert_eq!(spec.vertices[0].env["MODE"], "fast");
    assert_eq!(spec.edges[0].distribution, Distribution::Forward);
    assert_eq!(spec.edges[0].exchange, Exchange::Blocking);
    assert_eq!(spec.edges[1].distribution, Distribution::AllToAll);
    assert_eq!(spec.edges[1].exchange, Exchange::Pipelined);
    assert_eq!(
        spec.locations.vertices,
        vec![
            Some(Position { line: 3, column: 5 }),
            Some(Position { line: 7, column: 5 })
        ]
    );
    assert_eq!(
        spec.locations.edges[0],
        Some(Position {
            line: 13,
            column: 6
        })
    );
    assert_eq!(
        spec.locations.edges[1],
        Some(Position {
            line: 14,
            column: 5
        })
    );
    assert_eq!(
        spec.group_profile("counters"),
        ResourceProfile::Fixed(Resources::new(500, 256 << 20))
    );
    assert_eq!(spec.group_profile("default"), ResourceProfile::Unknown);
}

#[test]
fn json_is_accepted_and_located() {
    let spec = JobSpec::parse(
        r#"{
  "name": "j",
  "vertices": [
    {"name": "a", "parallelism": 1, "command": ["true"]},
    {"name": "b", "parallelism": 1, "command": ["true"]}
  ],
  "edges": [{"from": "a", "to": "b"}]
}"#,
    )
    .unwrap();
    assert_eq!(spec.vertices.len(), 2);
    let (line, message) = only(
        r#"{
  "name": "j",
  "vertices": [
    {"name": "a", "parallelism": 0, "command": ["true"]}
  ]
}"#,
    );
    assert_eq!(line, 4);
    assert!(message.contains("parallelism 0"), "{message}");
}

#[test]
fn syntax_and_type_errors_carry_the_parsers_position() {
    let (line, message) =
        only("name: j\nvertices:\n  - name: a\n    parallelism: many\n    command: [x]\n");
    assert_eq!(line, 4);
    assert!(message.contains("invalid type"), "{message}");
    let (line, message) =
        only("name: j\nvertices:\n  - name: a\n    parallelism: 1\n    comand: [x]\n");
    assert!(line >= 3, "{line}");
    assert!(message.contains("unknown field `comand`"), "{message}");
    let (line, _) = only("name: j\nvertices: [\n");
    assert!(line >= 2);
    let err = JobSpec::parse("{\"name\": }").unwrap_err();
    assert_eq!(err.errors[0].position.unwrap().line, 1);
}

const TWO: &str = "name: j
vertices:
  - {name: a, parallelism: 2, command: [x]}
  - {name: b, parallelism: 3, command: [x]}
";

#[test]
fn unknown_vertex_in_an_edge() {
    let (line, message) = only(&format!("{TWO}edges:\n  - {{from: a, to: c}}\n"));
    assert_eq!(line, 6);
    assert!(
        message.contains("unknown vertex 'c'") && message.contains("a, b"),
        "{message}"
    );
}

#[test]
fn a_cycle_is_named() {
    let text = "name: j
vertices:
  - {name: a, parallelism: 1, command: [x]}
  - {name: b, parallelism: 1, command: [x]}
  - {name: c, parallelism: 1, command: [x]}
edges:
  - {from: a, to: b}
  - {from: b, to: c}
  - {from: c, to: a}
";
    let (line, message) = only(text);
    assert_eq!(line, 9);
    assert!(message.contains("a -> b -> c -> a"), "{message}");
    let (_, message) = only(&format!("{TWO}edges:\n  - {{from: a, to: a}}\n"));
    assert!(message.contains("itself"), "{message}");
}

#[test]
fn parallelism_below_one() {
    let (line, message) =
        only("name: j\nvertices:\n  - name: a\n    parallelism: 0\n    command: [x]\n");
    assert_eq!(line, 3);
    assert!(message.contains("at least 1"), "{message}");
    let (line, _) = only("name: j\nvertices:\n  - {name: a, parallelism: -1, command: [x]}\n");
    assert_eq!(line, 3);
    let (line, message) =
        only("name: j\nvertices:\n  - {name: a, parallelism: 4000000000, command: [x]}\n");
    assert_eq!(line, 3);
    assert!(message.contains("the most is 32768"), "{message}");
    let many: String = (0..40)
        .map(|i| format!("  - {{name: v{i}, parallelism: 30000, command: [x]}}\n"))
        .collect();
    let (line, message) = only(&format!("name: j\nvertices:\n{many}"));
    assert_eq!(line, 0);
    assert!(message.contains("1200000 subtasks"), "{message}");
}

#[test]
fn forward_edge_between_different_parallelisms() {
    let (line, message) = only(&format!(
        "{TWO}edges:\n  - {{from: a, to: b, distribution: forward}}\n"
    ));
    assert_eq!(line, 6);
    assert!(message.contains("parallelism 2 to 3"), "{message}");
}

#[test]
fn duplicate_vertex_names() {
    let (line, message) = only(
        "name: j\nvertices:\n  - {name: a, parallelism: 1, command: [x]}\n  - {name: a, parallelism: 1, command: [y]}\n",
    );
    assert_eq!(line, 4);
    assert!(message.contains("duplicate vertex name 'a'"), "{message}");
}

#[test]
fn empty_command() {
    let (line, message) = only("name: j\nvertices:\n  - {name: a, parallelism: 1, command: []}\n");
    assert_eq!(line, 3);
    assert!(message.contains("empty command"), "{message}");
    let (_, message) = only("name: j\nvertices:\n  - {name: a, parallelism: 1, command: ['']}\n");
    assert!(message.contains("empty command"), "{message}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let e = errors(
        "name: j
vertices:
  - {name: a, parallelism: 0, command: []}
  - {name: b, parallelism: 1, command: [x]}
edges:
  - {from: b, to: z}
",
    );
    let lines: Vec<usize> = e.errors.iter().map(|e| e.position.unwrap().line).collect();
    assert_eq!(lines, vec![3, 3, 6], "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with("invalid job spec:\n  line 3, column 6: "),
        "{text}"
    );
}

#[test]
fn resources_are_checked_against_the_largest_worker() {
    let spec = JobSpec::parse(
        "name: j
vertices:
  - {name: a, parallelism: 2, command: [x], resources: {cpu: 1, memory_mb: 1024}}
  - {name: b, parallelism: 2, command: [x], resources: {cpu: 1.5, memory_mb: 1024}}
  - {name: c, parallelism: 1, slot_sharing_group: small, command: [x], resources: {cpu: 0.5, memory_mb: 100}}
",
    )
    .unwrap();
    // One slot holds a and b: 2.5 cores and 2 GiB.
    spec.check_resources(&Resources::new(2500, 2 << 30))
        .unwrap();
    let e = spec
        .check_resources(&Resources::new(2000, 4 << 30))
        .unwrap_err();
    assert_eq!(e.errors.len(), 1);
    assert_eq!(e.errors[0].position.unwrap().line, 3);
    assert!(
        e.errors[0]
            .message
            .contains("'default' (a, b) needs 2500 millicores"),
        "{e}"
    );
    // A group without resources takes default slots and is not checked.
    let plain = JobSpec::parse(TWO).unwrap();
    plain.check_resources(&Resources::new(1, 1)).unwrap();
}

#[test]
fn a_group_mixing_fine_grained_and_default_vertices_is_refused() {
    let (line, message) = only(
        "name: j\nvertices:\n  - {name: a, parallelism: 1, command: [x], resources: {cpu: 1, memory_mb: 10}}\n  - {name: b, parallelism: 1, command: [x]}\n",
    );
    assert_eq!(line, 4);
    assert!(message.contains("mixes vertices"), "{message}");
}

#[test]
fn the_shipped_examples_are_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            JobSpec::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            count += 1;
        }
    }
    assert!(count >= 2, "examples/ holds {count} specs");
}

const VALID: &str = "name: j
vertices:
  - {name: a, parallelism: 2, command: [x]}
  - name: b
    parallelism: 2
    command: [sh, -c, 'echo é']
edges:
  - {from: a, to: b, distribution: forward}
";

proptest::proptest! {
    /// Garbage never panics the parser or the locator: a valid spec with random text spliced in
    /// is either accepted or refused with errors.
    #[test]
    fn mangled_specs_never_panic(at in 0usize..VALID.len(), junk in "[ -~é\\n\\t{}\\[\\],:\"'#-]{0,20}") {
        let mut text = VALID.to_owned();
        let at = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.insert_str(at, &junk);
        match JobSpec::parse(&text) {
            Ok(spec) => proptest::prop_assert!(!spec.vertices.is_empty()),
            Err(e) => proptest::prop_assert!(!e.errors.is_empty()),
        }
    }
}
