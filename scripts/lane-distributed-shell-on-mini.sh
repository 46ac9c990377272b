#!/usr/bin/env bash
# The yarn crate's distributed_shell example ApplicationMaster runs on `spindle mini-yarn`, submitted
# through the RM REST API like any AM, and ends FINISHED/SUCCEEDED with its containers' output on disk.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "lane-distributed-shell-on-mini: python3 not found, skipping" >&2; exit 77; }
cargo build -q --bin spindle
cargo build -q -p yarn --example distributed_shell
dshell="$(pwd)/target/debug/examples/distributed_shell"
work="$(mktemp -d)"
target/debug/spindle mini-yarn --conf-dir "$work/conf" --work-dir "$work/cluster" --journal "$work/journal.jsonl" \
  >"$work/mini.out" 2>"$work/mini.err" &
mini=$!
cleanup() { kill -TERM "$mini" 2>/dev/null || true; wait "$mini" 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do [ -s "$work/mini.out" ] && break; sleep 0.1; done
rc=0
python3 - "$(head -n1 "$work/mini.out")" "$dshell" "$work" <<'PY' || rc=$?
import json, sys, time, urllib.request, glob
ready, dshell, work = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
base = ready["rest_url"]
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return r.status, (json.loads(text) if text else None)
_, new = call("POST", "/apps/new-application?user.name=alice")
app = new["application-id"]
cmd = f"{dshell} --containers 3 --command 'echo hello from $CONTAINER_ID' 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"
call("POST", "/apps?user.name=alice", {
    "application-id": app, "application-name": "distributed-shell", "max-app-attempts": 1,
    "resource": {"memory": 1024, "vCores": 1}, "am-container-spec": {"commands": {"command": cmd}},
})
deadline = time.time() + 120
while True:
    _, rep = call("GET", f"/apps/{app}")
    a = rep["app"]
    if a["state"] in ("FINISHED", "FAILED", "KILLED") or time.time() > deadline:
        break
    time.sleep(0.3)
print(f"{app}: state={a['state']} finalStatus={a['finalStatus']} diagnostics={a.get('diagnostics')!r}")
if (a["state"], a["finalStatus"]) != ("FINISHED", "SUCCEEDED"):
    for f in glob.glob(f"{work}/cluster/nm-*/logs/{app}/*_000001/std*"):
        print("---", f); print(open(f).read()[-3000:])
    sys.exit(1)
PY
[ $rc -eq 0 ] || exit 1
echo "lane-distributed-shell-on-mini: OK"
