//! Finds where each vertex and edge of a parsed spec starts in its text, so semantic errors can
//! name a line and column. serde gives positions only for syntax and type errors, so this scans
//! the text for mapping keys (`name:` of a vertex, `from:` of an edge) in block or flow style,
//! YAML or JSON. It is best effort: a key it cannot find leaves the position unknown.

use super::{JobSpec, Locations, Position};

/// One `key: value` found in the text.
struct Key<'a> {
    key: &'a str,
    value: &'a str,
    at: Position,
}

/// Positions of the vertices (their `name` keys after `vertices`) and edges (their `from` keys
/// after `edges`), in order.
pub(super) fn locate(text: &str, spec: &JobSpec) -> Locations {
    let keys = scan(text);
    let after = |section: &str| {
        keys.iter()
            .position(|k| k.key == section)
            .map_or(keys.len(), |i| i + 1)
    };
    let mut used = vec![false; keys.len()];
    let vertices_from = after("vertices");
    let vertices = spec
        .vertices
        .iter()
        .map(|v| {
            let i = (vertices_from..keys.len())
                .find(|&i| !used[i] && keys[i].key == "name" && keys[i].value == v.name)?;
            used[i] = true;
            Some(keys[i].at)
        })
        .collect();
    let edges_from = after("edges");
    let mut froms = keys[edges_from.min(keys.len())..]
        .iter()
        .filter(|k| k.key == "from")
        .map(|k| k.at);
    let edges = spec.edges.iter().map(|_| froms.next()).collect();
    Locations { vertices, edges }
}

/// Every `key:` that starts a mapping entry: at the start of a line (after indentation and list
/// dashes) or after `{` or `,`, bare or double-quoted.
fn scan(text: &str) -> Vec<Key<'_>> {
    let mut keys = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        let mut at_entry = true;
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if c == b'#' && at_entry {
                break;
            }
            if matches!(c, b' ' | b'\t' | b'-') && at_entry {
                i += 1;
                continue;
            }
            if matches!(c, b'{' | b',' | b'[') {
                at_entry = true;
                i += 1;
                continue;
            }
            if at_entry && let Some((key, end)) = key_at(line, i) {
                let rest = &line[end..];
                let value_end = rest.find([',', '}', '#']).unwrap_or(rest.len());
                keys.push(Key {
                    key,
                    value: unquote(rest[..value_end].trim()),
                    at: Position {
                        line: line_no + 1,
                        column: i + 1,
                    },
                });
                i = end;
            }
            at_entry = false;
            i += 1;
        }
    }
    keys
}

/// A key starting at byte `i` and followed by `:`: its text and the index after the colon.
fn key_at(line: &str, i: usize) -> Option<(&str, usize)> {
    let rest = &line[i..];
    let (key, after) = if let Some(quoted) = rest.strip_prefix('"') {
        let close = quoted.find('"')?;
        (&quoted[..close], i + close + 2)
    } else {
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        (&rest[..len], i + len)
    };
    let colon = after + line[after..].len() - line[after..].trim_start().len();
    (line[colon..].starts_with(':') && !key.is_empty()).then_some((key, colon + 1))
}

fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}
