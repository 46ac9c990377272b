#!/usr/bin/env bash
# A well-known third-party client, PyPI's yarn-api-client, against `spindle mini-yarn`'s REST API:
# cluster info, metrics, nodes, scheduler, submission, the application list, and a kill.
# Exits 77 (skipped) when python3 or the package cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "lane-yarn-api-client-on-mini: python3 not found, skipping" >&2; exit 77; }
if ! python3 -c 'import yarn_api_client' 2>/dev/null; then
  python3 -m pip install --quiet yarn-api-client >&2 || { echo "lane-yarn-api-client-on-mini: cannot install yarn-api-client, skipping" >&2; exit 77; }
fi
cargo build -q --bin spindle
work="$(mktemp -d)"
target/debug/spindle mini-yarn --conf-dir "$work/conf" --work-dir "$work/cluster" >"$work/mini.out" 2>"$work/mini.err" &
mini=$!
cleanup() { kill -TERM "$mini" 2>/dev/null || true; wait "$mini" 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do [ -s "$work/mini.out" ] && break; sleep 0.1; done
python3 - "$(head -n1 "$work/mini.out")" <<'PY'
import json, sys, time
from yarn_api_client import ResourceManager
ready = json.loads(sys.argv[1])
rm = ResourceManager(service_endpoints=[f"http://{ready['webapp']}"])
info = rm.cluster_information().data["clusterInfo"]
assert info["state"] == "STARTED", info
metrics = rm.cluster_metrics().data["clusterMetrics"]
assert metrics["activeNodes"] == 2 and metrics["totalMB"] == 16384, metrics
nodes = rm.cluster_nodes().data["nodes"]["node"]
assert len(nodes) == 2 and all(n["state"] == "RUNNING" for n in nodes), nodes
sched = rm.cluster_scheduler().data["scheduler"]["schedulerInfo"]
assert sched["type"] == "capacityScheduler", sched
app_id = rm.cluster_new_application().data["application-id"]
rm.cluster_submit_application({
    "application-id": app_id, "application-name": "third-party", "queue": "default",
    "resource": {"memory": 1024, "vCores": 1},
    "am-container-spec": {"commands": {"command": "exec sleep 300"}},
})
listed = rm.cluster_applications(states=["ACCEPTED", "RUNNING"]).data["apps"]["app"]
assert [a["id"] for a in listed] == [app_id], listed
rm.cluster_application_kill(app_id)
deadline = time.time() + 60
while rm.cluster_application_state(app_id).data["state"] != "KILLED":
    assert time.time() < deadline, "the kill did not take"
    time.sleep(0.2)
app = rm.cluster_application(app_id).data["app"]
assert (app["state"], app["finalStatus"], app["user"]) == ("KILLED", "KILLED", "dr.who"), app
print(f"yarn-api-client: info, metrics, {len(nodes)} nodes, scheduler, submit and kill of {app_id}: OK")
PY
echo "lane-yarn-api-client-on-mini: OK"
