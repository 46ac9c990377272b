#!/usr/bin/env bash
# Job scheduling benchmark on `spindle mini-yarn` (release build): a warm session of TMS
# TaskExecutors × SLOTS slots (kept up by slotmanager.number-of-slots.min), then RUNS times a job
# of one vertex with TASKS subtasks (`sleep 600`) submitted with `spindle run -d`. For each run:
# the time from starting `spindle run` to every subtask DEPLOYING (scheduled into a slot and sent
# to its TaskExecutor) and to every subtask RUNNING (its process started and reported back), from
# the AM's /jobs/{id} polled every 20 ms; then the job is cancelled and the next run waits until
# every slot is free. Also the AM's peak RSS (VmHWM) after the runs. Prints
# `job_to_running tasks=N deploying_median_ms=X running_median_ms=Y runs=...` and
# `am_peak_rss tasks=N vmhwm_kib=Z`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "bench-jobs: python3 not found" >&2; exit 77; }
RUNS="${RUNS:-3}"
TASKS="${TASKS:-1000}"
TMS="${TMS:-10}"
SLOTS=$(( (TASKS + TMS - 1) / TMS ))
cargo build -q --release --bin spindle
bin="$PWD/target/release/spindle"
work="$(mktemp -d)"
"$bin" mini-yarn --conf-dir "$work/conf" --work-dir "$work/cluster" --journal "$work/journal.jsonl" \
  --nodes 5 --node-memory-mb 65536 --node-vcores 256 --min-allocation-mb 128 \
  --max-allocation-mb 65536 --nm-heartbeat-ms 100 --no-pmem-check >"$work/mini.out" 2>"$work/mini.err" &
mini=$!
cleanup() { kill -TERM "$mini" 2>/dev/null || true; wait "$mini" 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do [ -s "$work/mini.out" ] && break; sleep 0.1; done
python3 - "$bin" "$work" "$RUNS" "$TASKS" "$TMS" "$SLOTS" <<'PY'
import json, os, statistics, subprocess, sys, time, urllib.request
binary, work = sys.argv[1], sys.argv[2]
runs, tasks, tms, slots = (int(x) for x in sys.argv[3:7])
env = dict(os.environ, HADOOP_CONF_DIR=os.path.join(work, "conf"), SPINDLE_PROPERTIES_DIR=work,
           USER="bench", TMPDIR=work)
for k in ("YARN_CONF_DIR", "HADOOP_HOME", "HADOOP_USER_NAME"):
    env.pop(k, None)

def cli(*args):
    r = subprocess.run([binary, *args], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"bench-jobs: spindle {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout

def after(text, prefix):
    for line in text.splitlines():
        if prefix in line:
            return line.split(prefix, 1)[1].strip().split()[0]
    raise SystemExit(f"bench-jobs: no {prefix!r} in:\n{text}")

def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)
    except OSError:
        return None

def wait(what, check, limit=300):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        v = check()
        if v:
            return v
        time.sleep(0.02)
    raise SystemExit(f"bench-jobs: timed out waiting for {what}")

# Each TaskExecutor: `slots` slots of about 32 MiB task heap each (tasks are `sleep`), 4 vcores.
tm_mb = 512 + 48 * slots
deployed = cli("yarn-session", "-d", "-s", str(slots), "-tm", str(tm_mb),
               f"-Dslotmanager.number-of-slots.min={tms * slots}",
               "-Dyarn.containers.vcores=4",
               "-Dresourcemanager.taskmanager-timeout=3600000")
web = after(deployed, "JobManager Web Interface: ")
wait("the warm session", lambda: (get(web + "/overview") or {}).get("slots-available") == tms * slots)
spec = os.path.join(work, "wide.yaml")
with open(spec, "w") as f:
    f.write(f"name: wide\nvertices:\n  - {{name: w, parallelism: {tasks}, command: [sleep, '600']}}\n")

deploying, running = [], []
for _ in range(runs):
    start = time.monotonic()
    job = after(cli("run", "-d", spec), "JobID ")
    t_deploying = t_running = None
    while t_running is None:
        d = get(f"{web}/jobs/{job}")
        counts = {}
        for v in (d or {}).get("vertices", []):
            for state, n in v["tasks"].items():
                counts[state] = counts.get(state, 0) + n
        live = counts.get("DEPLOYING", 0) + counts.get("RUNNING", 0)
        if t_deploying is None and live == tasks:
            t_deploying = time.monotonic() - start
        if counts.get("RUNNING", 0) == tasks:
            t_running = time.monotonic() - start
        elif time.monotonic() - start > 300:
            raise SystemExit(f"bench-jobs: the job never ran: {counts}")
        else:
            time.sleep(0.02)
    deploying.append(t_deploying * 1000)
    running.append(t_running * 1000)
    cli("cancel", job)
    wait("the slots to be free", lambda: (get(web + "/overview") or {}).get("slots-available") == tms * slots)

am_pid = None
for line in subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout.splitlines():
    if line.strip().endswith("spindle jobmanager") and work in open(f"/proc/{line.split()[0]}/environ", "rb").read().decode(errors="replace"):
        am_pid = line.split()[0]
hwm = "?"
if am_pid:
    for line in open(f"/proc/{am_pid}/status"):
        if line.startswith("VmHWM:"):
            hwm = line.split()[1]
cli("yarn-session", "--stop")
fmt = lambda xs: ",".join(f"{x:.0f}" for x in xs)
print(f"job_to_running tasks={tasks} taskexecutors={tms} slots_each={slots} "
      f"deploying_median_ms={statistics.median(deploying):.0f} running_median_ms={statistics.median(running):.0f} "
      f"deploying_runs={fmt(deploying)} running_runs={fmt(running)}")
print(f"am_peak_rss tasks={tasks} vmhwm_kib={hwm}")
PY
