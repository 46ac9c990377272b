#!/usr/bin/env bash
# The session ApplicationMaster (`spindle jobmanager`) on `spindle mini-yarn`, submitted by hand through
# the RM REST API the way `spindle yarn-session` does: the binary and a configuration staged as file://
# local resources named in SPINDLE_STAGED_BINARY / SPINDLE_STAGED_CONF, the secret in the AM's
# credentials under `spindle.secret`. Checks: with 2 slots per TaskManager and a minimum of 4 slots
# exactly 2 TaskExecutors register (/overview); the cluster's 2 extra containers are released and never
# launched (journal); DELETE /cluster with the secret's token ends the application FINISHED/SUCCEEDED.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "lane-am-session-on-mini: python3 not found, skipping" >&2; exit 77; }
cargo build -q --bin spindle
target/debug/spindle mini-yarn --help >/dev/null 2>&1 || { echo "lane-am-session-on-mini: this build has no mini-yarn, skipping" >&2; exit 77; }
work="$(mktemp -d)"
cp target/debug/spindle "$work/spindle"
target/debug/spindle mini-yarn --extra-containers 2 --conf-dir "$work/conf" --work-dir "$work/cluster" \
  --journal "$work/journal.jsonl" >"$work/mini.out" 2>"$work/mini.err" &
mini=$!
cleanup() { kill -TERM "$mini" 2>/dev/null || true; wait "$mini" 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do [ -s "$work/mini.out" ] && break; sleep 0.1; done
python3 - "$(head -n1 "$work/mini.out")" "$work" <<'PY'
import base64, glob, hashlib, hmac, json, os, sys, time, urllib.request
ready, work = json.loads(sys.argv[1]), sys.argv[2]
rm = ready["rest_url"]
def call(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return r.status, (json.loads(text) if text else None)
def local(path):
    st = os.stat(path)
    return {"resource": "file://" + path, "type": "FILE", "visibility": "APPLICATION",
            "size": st.st_size, "timestamp": int(st.st_mtime * 1000)}
def staged(path):
    r = local(path)
    return f"{r['resource']}|{r['size']}|{r['timestamp']}"
conf = os.path.join(work, "spindle-conf.yaml")
with open(conf, "w") as f:
    f.write("taskmanager.numberOfTaskSlots: 2\nslotmanager.number-of-slots.min: 4\n"
            "taskmanager.memory.process.size: 1g\n")
binary = os.path.join(work, "spindle")
secret = os.urandom(32)
_, new = call("POST", rm + "/apps/new-application?user.name=alice")
app = new["application-id"]
call("POST", rm + "/apps?user.name=alice", {
    "application-id": app, "application-name": "spindle session", "application-type": "Apache Flink",
    "max-app-attempts": 1, "resource": {"memory": 1024, "vCores": 1},
    "am-container-spec": {
        "local-resources": {"entry": [{"key": "spindle", "value": local(binary)},
                                      {"key": "spindle-conf.yaml", "value": local(conf)}]},
        "environment": {"entry": [
            {"key": "SPINDLE_STAGED_BINARY", "value": staged(binary)},
            {"key": "SPINDLE_STAGED_CONF", "value": staged(conf)},
            {"key": "HADOOP_CONF_DIR", "value": os.path.join(work, "conf")}]},
        "commands": {"command": "./spindle jobmanager 1><LOG_DIR>/jobmanager.out 2><LOG_DIR>/jobmanager.err"},
        "credentials": {"secrets": {"entry": [
            {"key": "spindle.secret", "value": base64.urlsafe_b64encode(secret).decode()}]}},
    },
})
def wait_app(states):
    deadline = time.time() + 120
    while True:
        _, rep = call("GET", f"{rm}/apps/{app}")
        if rep["app"]["state"] in states or time.time() > deadline:
            return rep["app"]
        time.sleep(0.2)
def fail(message):
    print(f"lane-am-session-on-mini: {message}", file=sys.stderr)
    for f in sorted(glob.glob(f"{work}/cluster/nm-*/logs/{app}/*/*.err")):
        print("---", f, file=sys.stderr); print(open(f).read()[-3000:], file=sys.stderr)
    sys.exit(1)
a = wait_app(("RUNNING", "FINISHED", "FAILED", "KILLED"))
if a["state"] != "RUNNING":
    fail(f"the AM is {a['state']}: {a.get('diagnostics')}")
am = "http://" + a["amRPCAddress"]
overview = None
for _ in range(300):
    try:
        _, overview = call("GET", am + "/overview")
        if overview["taskmanagers"] == 2:
            break
    except OSError:
        pass
    time.sleep(0.1)
if not overview or (overview["taskmanagers"], overview["slots-total"]) != (2, 4):
    fail(f"expected 2 TaskManagers with 4 slots, got {overview}")
journal = [json.loads(l) for l in open(os.path.join(work, "journal.jsonl"))]
launched = [e for e in journal if e.get("event") == "container_launched"]
if len(launched) != 3:
    fail(f"expected 3 launched containers (the AM and 2 TaskExecutors), the journal has {len(launched)}")
try:
    call("DELETE", am + "/cluster")
    fail("DELETE /cluster without the secret was accepted")
except urllib.error.HTTPError as e:
    if e.code != 401:
        fail(f"DELETE /cluster without the secret answered {e.code}")
token = hmac.new(secret, b"spindle-rest/1 DELETE /cluster", hashlib.sha256).hexdigest()
call("DELETE", am + "/cluster", headers={"Authorization": "Bearer " + token})
a = wait_app(("FINISHED", "FAILED", "KILLED"))
if (a["state"], a["finalStatus"]) != ("FINISHED", "SUCCEEDED"):
    fail(f"ended {a['state']}/{a['finalStatus']}: {a.get('diagnostics')}")
print(f"{app}: 2 TaskExecutors, 4 slots, 2 surplus containers never launched, FINISHED/SUCCEEDED")
PY
