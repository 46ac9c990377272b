#!/usr/bin/env bash
# The project's test command: the Rust suite, then the lanes that need Java and Hadoop's jars.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets
