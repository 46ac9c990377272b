#!/usr/bin/env bash
# Hadoop's own ApplicationMaster (AMRMClient + NMClient, from ../shared/conformance) runs unmodified on
# `spindle mini-yarn`: the app is submitted through the RM REST API and must end FINISHED/SUCCEEDED.
# The cluster hands out one unrequested container (--extra-containers 1), which the AM must release.
# RPC_PROTECTION=authentication|integrity|privacy picks hadoop.rpc.protection (default authentication).
# Exits 77 (skipped) when java is not available.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v java >/dev/null || { echo "lane-hadoop-am-on-mini: java not found, skipping" >&2; exit 77; }
command -v python3 >/dev/null || { echo "lane-hadoop-am-on-mini: python3 not found, skipping" >&2; exit 77; }
shared="${SPINDLE_SHARED:-$(pwd)/../shared}"
peer="$shared/conformance"
[ -x "$peer/build.sh" ] || { echo "lane-hadoop-am-on-mini: no conformance peer at $peer, skipping" >&2; exit 77; }
CP="$("$peer/build.sh")" || {
  echo "##################################################################" >&2
  echo "SKIPPED: could not fetch or build the Hadoop peer's jars; the lane  " >&2
  echo "'Hadoop's own AM on mini-yarn' did NOT run (see the messages above)" >&2
  echo "##################################################################" >&2
  exit 77
}
cargo build -q --bin spindle
work="$(mktemp -d)"
journal="$work/journal.jsonl"
target/debug/spindle mini-yarn --conf-dir "$work/conf" --work-dir "$work/cluster" --journal "$journal" \
  --nodes 2 --extra-containers 1 --rpc-protection "${RPC_PROTECTION:-authentication}" >"$work/mini.out" 2>"$work/mini.err" &
mini=$!
cleanup() { kill -TERM "$mini" 2>/dev/null || true; wait "$mini" 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do [ -s "$work/mini.out" ] && break; sleep 0.1; done
ready="$(head -n1 "$work/mini.out")"
echo "mini-yarn: $ready"
rc=0
python3 - "$ready" "$CP" "$journal" "${RPC_PROTECTION:-authentication}" <<'PY' || rc=$?
import json, sys, time, urllib.request
ready, cp, journal, protection = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
base = ready["rest_url"]
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return r.status, (json.loads(text) if text else None)
_, new = call("POST", "/apps/new-application?user.name=hadoop")
app = new["application-id"]
cmd = (f'java -Dhadoop.rpc.protection={protection} -cp "$HADOOP_CONF_DIR:{cp}" HadoopAmClient - 3 any 1'
       ' 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr')
status, _ = call("POST", "/apps?user.name=hadoop", {
    "application-id": app, "application-name": "hadoop-am-on-mini", "application-type": "YARN",
    "queue": "default", "max-app-attempts": 1, "resource": {"memory": 1024, "vCores": 1},
    "am-container-spec": {"commands": {"command": cmd}},
})
assert status == 202, status
deadline = time.time() + 180
while True:
    _, rep = call("GET", f"/apps/{app}")
    a = rep["app"]
    if a["state"] in ("FINISHED", "FAILED", "KILLED") or time.time() > deadline:
        break
    time.sleep(0.5)
print(f"{app}: state={a['state']} finalStatus={a['finalStatus']} diagnostics={a.get('diagnostics')!r}")
events = [json.loads(l) for l in open(journal)]
allocated = [e for e in events if e["event"] == "container_allocated"]
completed = {e["container"]: e.get("exit_status") for e in events if e["event"] == "container_completed"}
released = [e["container"] for e in events if e["event"] == "container_released"]
print(f"journal: {len(allocated)} containers allocated, released {released}; exits {completed}")
if (a["state"], a["finalStatus"]) != ("FINISHED", "SUCCEEDED"):
    sys.exit(1)
# --extra-containers 1: the unrequested container must have been released by Hadoop's AM (-100).
if len(released) != 1 or completed.get(released[0]) != -100:
    print("the extra container was not released with ABORTED", file=sys.stderr)
    sys.exit(1)
PY
if [ $rc -ne 0 ]; then
  echo "--- AM logs" >&2; find "$work/cluster" -path '*_000001/*' -name 'std*' -exec tail -n 40 {} + >&2 || true
  exit 1
fi
echo "lane-hadoop-am-on-mini: OK"
