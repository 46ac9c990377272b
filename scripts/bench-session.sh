#!/usr/bin/env bash
# Session cluster deployment benchmark on `spindle mini-yarn` (release build, 100 ms NodeManager
# heartbeats). For N = 2, 10, 50 TaskExecutors (1 slot each, -Dslotmanager.number-of-slots.min=N):
# the time from starting `spindle yarn-session -d` to N TaskExecutors registered in the AM's
# /overview (polled every 50 ms), RUNS runs each, median; for N = 50 the AM's peak RSS (VmHWM of
# the `spindle jobmanager` process, and the sum over its container's process tree). Each session
# is stopped with --stop. Prints `session_deploy tms=N median_ms=X runs=a,b,c` and
# `am_peak_rss tms=50 vmhwm_kib=Y tree_vmhwm_kib=Z`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "bench-session: python3 not found" >&2; exit 77; }
RUNS="${RUNS:-3}"
SIZES="${SIZES:-2 10 50}"
TM_MEMORY="${TM_MEMORY:-1024}"
cargo build -q --release --bin spindle
bin="$PWD/target/release/spindle"
work="$(mktemp -d)"
"$bin" mini-yarn --conf-dir "$work/conf" --work-dir "$work/cluster" --journal "$work/journal.jsonl" \
  --nodes 5 --node-memory-mb 65536 --node-vcores 64 --min-allocation-mb 128 \
  --max-allocation-mb 65536 --nm-heartbeat-ms 100 >"$work/mini.out" 2>"$work/mini.err" &
mini=$!
cleanup() { kill -TERM "$mini" 2>/dev/null || true; wait "$mini" 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do [ -s "$work/mini.out" ] && break; sleep 0.1; done
python3 - "$bin" "$work" "$RUNS" "$TM_MEMORY" $SIZES <<'PY'
import json, os, statistics, subprocess, sys, time, urllib.request
binary, work, runs, tm = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sizes = [int(n) for n in sys.argv[5:]]
env = dict(os.environ, HADOOP_CONF_DIR=os.path.join(work, "conf"), SPINDLE_PROPERTIES_DIR=work,
           USER="bench", TMPDIR=work)
for k in ("YARN_CONF_DIR", "HADOOP_HOME", "HADOOP_USER_NAME"):
    env.pop(k, None)

def session(*args):
    return subprocess.run([binary, "yarn-session", *args], env=env, capture_output=True, text=True)

def after(text, prefix):
    for line in text.splitlines():
        if prefix in line:
            return line.split(prefix, 1)[1].strip()
    raise SystemExit(f"bench-session: no {prefix!r} in:\n{text}")

def overview(web):
    try:
        with urllib.request.urlopen(web + "/overview", timeout=2) as r:
            return json.load(r)
    except OSError:
        return None

def status(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                fields[k] = v.strip()
    except OSError:
        pass
    return fields

def container_pids(container):
    wanted = f"CONTAINER_ID={container}".encode()
    pids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/environ", "rb") as f:
                    if wanted in f.read().split(b"\0"):
                        pids.append(int(p))
            except OSError:
                pass
    return pids

def kib(v):
    return int(v.split()[0]) if v else 0

for n in sizes:
    times, rss = [], None
    for _ in range(runs):
        start = time.monotonic()
        out = session("-d", "-s", "1", "-tm", tm, f"-Dslotmanager.number-of-slots.min={n}")
        if out.returncode != 0:
            raise SystemExit(f"bench-session: deploy failed:\n{out.stdout}\n{out.stderr}")
        web, app = after(out.stdout, "JobManager Web Interface: "), after(out.stdout, "--stop -id ")
        while True:
            o = overview(web)
            if o and o.get("taskmanagers") == n:
                break
            if time.monotonic() - start > 600:
                raise SystemExit(f"bench-session: {n} TaskExecutors never registered: {o}")
            time.sleep(0.05)
        times.append(round((time.monotonic() - start) * 1000))
        if n == max(sizes):
            am = app.replace("application_", "container_") + "_01_000001"
            pids = container_pids(am)
            jm = [p for p in pids if status(p).get("Name") == "spindle"]
            hwm = max((kib(status(p).get("VmHWM")) for p in jm), default=0)
            tree = sum(kib(status(p).get("VmHWM")) for p in pids)
            if rss is None or hwm > rss[0]:
                rss = (hwm, tree)
        stopped = session("--stop", "-id", app)
        if stopped.returncode != 0:
            raise SystemExit(f"bench-session: stop failed:\n{stopped.stdout}\n{stopped.stderr}")
    print(f"session_deploy tms={n} median_ms={statistics.median(times):.0f} "
          f"runs={','.join(map(str, times))}", flush=True)
    if rss is not None:
        print(f"am_peak_rss tms={n} vmhwm_kib={rss[0]} tree_vmhwm_kib={rss[1]}", flush=True)
PY
