#!/usr/bin/env bash
# The end-to-end suite (scripts/e2e-suite.sh) on `spindle mini-yarn`, by the route it takes to real
# Hadoop (scripts/it-docker.sh): mini-yarn writes its configuration folder, HADOOP_CONF_DIR names it, and
# the suite drives the spindle binary against whatever that folder describes.
# SPINDLE_BIN picks the binary (default: a debug build of this tree); it runs the cluster too.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "lane-e2e-suite-on-mini: python3 not found, skipping" >&2; exit 77; }
if [ -z "${SPINDLE_BIN:-}" ]; then
  cargo build -q --bin spindle
  SPINDLE_BIN="$PWD/target/debug/spindle"
fi
work="$(mktemp -d)"
# The compose cluster's AM share (yarn/docker/hadoop-conf/capacity-scheduler.xml): a session and a
# per-job application run side by side.
"$SPINDLE_BIN" mini-yarn --conf-dir "$work/conf" --work-dir "$work/cluster" --max-am-resource-percent 0.5 \
  >"$work/mini.out" 2>"$work/mini.err" &
mini=$!
cleanup() { kill -TERM "$mini" 2>/dev/null || true; wait "$mini" 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
# The first line of its output says it is ready (and the configuration folder is written).
for _ in $(seq 1 100); do [ -s "$work/mini.out" ] && break; sleep 0.1; done
[ -f "$work/conf/yarn-site.xml" ] || { echo "lane-e2e-suite-on-mini: mini-yarn did not start" >&2; cat "$work/mini.err" >&2; exit 1; }

if ! HADOOP_CONF_DIR="$work/conf" SPINDLE_BIN="$SPINDLE_BIN" SPINDLE_E2E_TIMEOUT=60 scripts/e2e-suite.sh; then
  for f in "$work"/cluster/nm-*/logs/application_*/*/*.err; do
    [ -f "$f" ] && { echo "--- $f" >&2; tail -n 40 "$f" >&2; }
  done
  exit 1
fi
