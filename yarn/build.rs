//! Compiles the project's own .proto files (Hadoop's field numbers) with prost.
//! protox parses them in Rust, so no system `protoc` is needed.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
}

fn main() {
    let root = Path::new("proto");
    println!("cargo:rerun-if-changed=proto");
    let mut files = Vec::new();
    collect(root, &mut files);
    let fds = protox::compile(&files, [root]).expect("compiling the .proto files");
    prost_build::Config::new()
        .include_file("protos.rs")
        .compile_fds(fds)
        .expect("generating Rust from the .proto files");
}
