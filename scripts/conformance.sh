#!/usr/bin/env bash
# Runs the yarn crate's distributed_shell example AM against the Hadoop peer (Apache Hadoop 3.5.0's own
# RPC, SASL and protobuf code as a fake ResourceManager and NodeManager) in several shapes, and lets the
# peer's checker judge each run.
#
# Exit 0: every shape passed. Exit 1: a shape failed. Exit 77: no Java, or Hadoop's jars could not be
# fetched (reported loudly: the lane did not run).
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
shared="${SPINDLE_SHARED:-$repo/../shared}"
peer="$shared/conformance"

if ! command -v java >/dev/null || ! command -v javac >/dev/null; then
  echo "SKIPPED: conformance lane needs a JDK (java and javac on PATH)" >&2
  exit 77
fi
if ! "$peer/build.sh" >/dev/null; then
  echo "##################################################################" >&2
  echo "SKIPPED: could not fetch or build the Hadoop peer's jars; the      " >&2
  echo "conformance lane did NOT run (see the messages above)               " >&2
  echo "##################################################################" >&2
  exit 77
fi

cargo build --quiet -p yarn --example distributed_shell || exit 1
am="${CARGO_TARGET_DIR:-$repo/target}/debug/examples/distributed_shell"

# Each shape: peer options, then the AM's arguments. The AM takes hadoop.rpc.protection from the
# core-site.xml the peer writes into HADOOP_CONF_DIR, as a real AM does. The peer hands out its surplus
# one container per ask key (when that key's ask is met), so `--surplus 2` needs two container shapes.
shapes=(
  "--containers 3 --surplus 1|--containers 3"
  "--containers 5 --surplus 2 --per-heartbeat 1 --alloc-delay 2 --rpc-protection integrity --empty-token-service|--containers 5 --shapes 2"
  "--containers 5 --surplus 1 --per-heartbeat 1 --alloc-delay 2 --rpc-protection integrity --empty-token-service|--containers 5"
  "--containers 3 --surplus 1 --rpc-protection privacy --token-format protobuf|--containers 3"
  "--containers 4 --surplus 0 --per-heartbeat 2 --rpc-protection authentication --empty-token-service|--containers 4 --memory-mb 256 --vcores 1"
)
pass=0 fail=0
for shape in "${shapes[@]}"; do
  peer_opts="${shape%%|*}" am_opts="${shape#*|}"
  echo "== peer: $peer_opts | AM: $am_opts"
  # shellcheck disable=SC2086
  if "$peer/run-am.sh" $peer_opts -- "$am" $am_opts --command 'echo hello from $CONTAINER_ID'; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
  fi
done
# A command that fails: the AM must finish FAILED, with the exit code in its diagnostics.
echo "== peer: --containers 2 --surplus 0 | AM: --containers 2 --command 'exit 3' (must finish FAILED)"
out="$("$peer/run-am.sh" --containers 2 --surplus 0 -- "$am" --containers 2 --command 'exit 3' 2>&1)"
log="$(sed -n 's/^peer log: //p' <<<"$out")"
if [ -n "$log" ] && python3 - "$log" <<'PY'
import json, sys
fin = [r for r in map(json.loads, open(sys.argv[1])) if r.get("rpc") == "finishApplicationMaster"]
ok = len(fin) == 1 and fin[0].get("finalStatus") == "FAILED" and "exited 3" in fin[0].get("diagnostics", "")
print(("ok: " if ok else "FAIL: ") + "finished FAILED with the exit code in the diagnostics", fin[-1:] if fin else "never finished")
sys.exit(0 if ok else 1)
PY
then pass=$((pass + 1)); else echo "$out" | tail -15; fail=$((fail + 1)); fi

# Hadoop's own client and server against the crate's server and client, at every protection level.
echo "== yarn::ipc against Hadoop's RPC server, and Hadoop's AMRMClient against yarn::ipc::Server"
if SPINDLE_SHARED="$shared" cargo test --quiet -p yarn --test ipc_hadoop_peer -- --ignored; then
  pass=$((pass + 1))
else
  fail=$((fail + 1))
fi

echo "conformance: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
