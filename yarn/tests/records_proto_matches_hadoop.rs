//! spindle's .proto files against the descriptors compiled into Apache Hadoop 3.5.0: every message and
//! enum we declare exists there with the same fields — number, label, type, default — and values.
//! (Field names may differ in case and underscores only; they never reach the wire.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// label, simple type name, normalized field name, default
type Field = (String, String, String, Option<String>);

#[derive(Default, Debug)]
struct Schema {
    messages: BTreeMap<String, BTreeMap<u32, Field>>,
    enums: BTreeMap<String, BTreeMap<String, i32>>,
}

fn simple(t: &str) -> String {
    t.rsplit('.').next().unwrap().to_owned()
}

fn norm(name: &str) -> String {
    name.replace('_', "").to_ascii_lowercase()
}

fn split_default(rest: &str) -> (&str, Option<String>) {
    match rest.find(" [default = ") {
        Some(i) => {
            let d = rest[i + 12..].trim_end_matches(';').trim_end_matches(']');
            (&rest[..i], Some(d.trim_matches('"').to_owned()))
        }
        None => (rest.trim_end_matches(';'), None),
    }
}

/// Reads one field line `label type name = N [default = D]` (with or without `;`).
fn field(line: &str) -> Option<(u32, Field)> {
    let (decl, default) = split_default(line.trim().trim_end_matches(';'));
    let mut words = decl.split_whitespace();
    let label = words.next()?;
    if !matches!(label, "optional" | "required" | "repeated") {
        return None;
    }
    let ty = words.next()?;
    let name = words.next()?;
    (words.next()? == "=").then_some(())?;
    let number = words.next()?.parse().ok()?;
    Some((number, (label.to_owned(), simple(ty), norm(name), default)))
}

fn parse_hadoop(text: &str) -> Schema {
    let mut s = Schema::default();
    let mut stack: Vec<String> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("enum ") {
            let (name, body) = rest.split_once(" {").unwrap();
            let values = body
                .trim_end_matches('}')
                .split_whitespace()
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap();
                    (k.to_owned(), v.parse().unwrap())
                })
                .collect();
            s.enums.insert(name.to_owned(), values);
        } else if let Some(rest) = t.strip_prefix("message ") {
            let name = rest.trim_end_matches(" {").to_owned();
            s.messages.entry(name.clone()).or_default();
            stack.push(name);
        } else if t == "}" {
            stack.pop();
        } else if let Some((n, f)) = field(t) {
            s.messages
                .get_mut(stack.last().unwrap())
                .unwrap()
                .insert(n, f);
        }
    }
    s
}

fn parse_ours(text: &str, s: &mut Schema) {
    let mut stack: Vec<(bool, String)> = Vec::new(); // (is_enum, name)
    for line in text.lines() {
        let t = line.split("//").next().unwrap().trim();
        if let Some(rest) = t.strip_prefix("message ") {
            let name = rest.trim_end_matches('{').trim().to_owned();
            s.messages.entry(name.clone()).or_default();
            stack.push((false, name));
        } else if let Some(rest) = t.strip_prefix("enum ") {
            let name = rest.trim_end_matches('{').trim().to_owned();
            s.enums.entry(name.clone()).or_default();
            stack.push((true, name));
        } else if t.starts_with("service ") {
            stack.push((false, String::new()));
        } else if t == "}" {
            stack.pop();
        } else if let Some((true, name)) = stack.last() {
            if let Some((k, v)) = t.trim_end_matches(';').split_once(" = ") {
                s.enums
                    .get_mut(name)
                    .unwrap()
                    .insert(k.trim().to_owned(), v.trim().parse().unwrap());
            }
        } else if let Some((false, name)) = stack.last()
            && !name.is_empty()
            && let Some((n, f)) = field(t)
        {
            let fields = s.messages.get_mut(name).unwrap();
            assert!(
                fields.insert(n, f).is_none(),
                "{name}: field number {n} twice"
            );
        }
    }
}

fn proto_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            proto_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "proto") {
            out.push(p);
        }
    }
}

#[test]
fn our_protos_match_hadoop_3_5_0() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let hadoop = parse_hadoop(
        &std::fs::read_to_string(root.join("tests/fixtures/hadoop-descriptors/hadoop-3.5.0.txt"))
            .unwrap(),
    );
    let mut files = Vec::new();
    proto_files(&root.join("proto/hadoop/yarn"), &mut files);
    files.push(root.join("proto/hadoop/common/Security.proto"));
    let mut ours = Schema::default();
    for f in &files {
        parse_ours(&std::fs::read_to_string(f).unwrap(), &mut ours);
    }
    assert!(
        ours.messages.len() > 90,
        "parsed only {} messages",
        ours.messages.len()
    );

    let mut problems = Vec::new();
    for (name, fields) in &ours.messages {
        match hadoop.messages.get(name) {
            None => problems.push(format!("message {name} is not in Hadoop")),
            Some(theirs) if theirs != fields => problems.push(format!(
                "message {name}:\n  ours   {fields:?}\n  Hadoop {theirs:?}"
            )),
            Some(_) => {}
        }
    }
    for (name, values) in &ours.enums {
        match hadoop.enums.get(name) {
            None => problems.push(format!("enum {name} is not in Hadoop")),
            Some(theirs) if theirs != values => problems.push(format!(
                "enum {name}:\n  ours   {values:?}\n  Hadoop {theirs:?}"
            )),
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
