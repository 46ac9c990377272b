#!/usr/bin/env bash
# spindle side by side with Apache Flink 2.3 on one `spindle mini-yarn` (release build, 100 ms
# NodeManager heartbeats, 2 unrequested containers handed to every application: --extra-containers 2).
# Runs alternate, Flink then spindle, RUNS times (default 3). Each run deploys a session of N
# TaskManagers (default 2; 2 slots each, kept up by -Dslotmanager.number-of-slots.min=2N, 1024 MiB
# TaskManagers, a 1024 MiB JobManager for Flink) and measures:
#   first_tm_ms / all_tm_ms  from starting the CLI (`yarn-session.sh -d`, `spindle yarn-session -d`)
#                            to the first and the N-th TaskManager in the AM's /overview (50 ms polls);
#   am_rss_kib               peak RSS of the AM container's process tree (sum of VmHWM, sampled once
#                            all TaskManagers registered);
#   surplus                  containers launched beyond the AM and N TaskManagers (from the journal,
#                            3 s after the N-th TaskManager); `offered` counts those allocated.
# then stops the session. When `spindle run` exists, each run also times a small job, parallelism 4
# on TaskManagers of 2 slots, from starting the CLI to the application FINISHED in the RM: Flink in
# application mode (`flink run -t yarn-application -p 4`, a keyed sum over 1..1000) against spindle
# per-job (`spindle run -m yarn-cluster -ys 2 -p 4`, four subtasks summing a slice each).
# Prints one line per run and a table of medians with spindle/Flink ratios.
# Needs java and the peers (scripts/fetch-peers.sh); exits 77 without them.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v java >/dev/null || { echo "bench-vs-flink: java not found" >&2; exit 77; }
command -v python3 >/dev/null || { echo "bench-vs-flink: python3 not found" >&2; exit 77; }
peers="$(scripts/fetch-peers.sh)" || { echo "bench-vs-flink: the peers could not be fetched" >&2; exit 77; }
RUNS="${RUNS:-3}"
TMS="${TMS:-2}"
cargo build -q --release --bin spindle
bin="$PWD/target/release/spindle"
work="$(mktemp -d)"
mini=""
cleanup() {
  kill -TERM "$mini" 2>/dev/null || true
  wait "$mini" 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=scripts/peers-env.sh
. scripts/peers-env.sh
MINI_ARGS="--nodes 2 --node-memory-mb 16384 --node-vcores 16 --min-allocation-mb 128 \
  --max-allocation-mb 16384 --nm-heartbeat-ms 100 --extra-containers 2 --max-am-resource-percent 0.5" \
  peers_start_mini
spindle_run=false
"$bin" run --help >/dev/null 2>&1 && spindle_run=true

python3 - "$bin" "$work" "$peers" "$rest" "$RUNS" "$TMS" "$spindle_run" "${flink_yarn_args[@]}" <<'PY'
import json, os, statistics, subprocess, sys, time, urllib.request

binary, work, peers, rest, runs, n, spindle_run = sys.argv[1:8]
runs, n, spindle_run = int(runs), int(n), spindle_run == "true"
flink_args = sys.argv[8:]
flink_home = os.environ["FLINK_HOME"]
journal = os.path.join(work, "journal.jsonl")
spindle_env = dict(os.environ, HADOOP_CONF_DIR=os.path.join(work, "conf"),
                   SPINDLE_PROPERTIES_DIR=work, USER="bench", TMPDIR=work)

def get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.load(r)
    except (OSError, ValueError):
        return None

def app_by_name(name):
    apps = (get(f"{rest}/apps") or {}).get("apps") or {}
    for a in apps.get("app") or []:
        if a["name"] == name:
            return a
    return None

def tree_hwm_kib(container):
    wanted = f"CONTAINER_ID={container}".encode()
    total = 0
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/environ", "rb") as f:
                if wanted not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total

def containers(app, event):
    short = app.replace("application_", "container_")
    out = []
    for line in open(journal):
        e = json.loads(line)
        if e["event"] == event and e.get("container", "").startswith(short):
            out.append(e["container"])
    return out

def wait_end(app, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        a = (get(f"{rest}/apps/{app}") or {}).get("app") or {}
        if a.get("state") in ("FINISHED", "FAILED", "KILLED"):
            return f"{a['state']}/{a['finalStatus']}"
        time.sleep(0.25)
    return "TIMEOUT"

def session_run(kind, i):
    name = f"bench-{kind}-{i}"
    slots = f"-Dslotmanager.number-of-slots.min={2 * n}"
    if kind == "flink":
        cmd = [f"{flink_home}/bin/yarn-session.sh", "-d", "-jm", "1024m", "-tm", "1024m", "-s", "2",
               "-nm", name, slots, *flink_args]
        env = os.environ
    else:
        cmd = [binary, "yarn-session", "-d", "-s", "2", "-tm", "1024", "-nm", name, slots]
        env = spindle_env
    log = open(os.path.join(work, f"{name}.out"), "w")
    start = time.monotonic()
    cli = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    app, web, first, full = None, None, None, None
    while full is None:
        now = time.monotonic()
        if now - start > 300:
            raise SystemExit(f"bench-vs-flink: {name}: {n} TaskManagers never registered (see {log.name})")
        if cli.poll() not in (None, 0):
            raise SystemExit(f"bench-vs-flink: {name}: the CLI failed:\n" + open(log.name).read()[-3000:])
        if web is None:
            a = app_by_name(name)
            if a and a.get("amRPCAddress") and a["state"] == "RUNNING":
                app, web = a["id"], "http://" + a["amRPCAddress"]
        if web is not None:
            tms = (get(web + "/overview") or {}).get("taskmanagers", 0)
            if tms >= 1 and first is None:
                first = now - start
            if tms >= n:
                full = now - start
        time.sleep(0.05)
    cli.wait(timeout=120)
    am = app.replace("application_", "container_") + "_01_000001"
    rss = tree_hwm_kib(am)
    time.sleep(3)
    surplus = len(containers(app, "container_launched")) - 1 - n
    offered = len(containers(app, "container_allocated")) - 1 - n
    if kind == "flink":
        subprocess.run([f"{flink_home}/bin/yarn-session.sh", "-id", app], input="stop\n", text=True,
                       env=os.environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    else:
        subprocess.run([binary, "yarn-session", "--stop", "-id", app], env=spindle_env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    end = wait_end(app)
    row = dict(first_tm_ms=round(first * 1000), all_tm_ms=round(full * 1000), am_rss_kib=rss,
               surplus=surplus, offered=offered)
    print(f"run kind={kind} i={i} app={app} " + " ".join(f"{k}={v}" for k, v in row.items())
          + f" end={end}", flush=True)
    return row

spec = os.path.join(work, "sum4.yaml")
with open(spec, "w") as f:
    f.write("""name: sum4
vertices:
  - name: sum
    parallelism: 4
    command: [sh, -c, 'awk -v i="$SPINDLE_SUBTASK_INDEX" "BEGIN { s = 0; for (x = i * 250 + 1; x <= (i + 1) * 250; x++) s += 2 * x; print s }"']
""")

def job_run(kind, i):
    name = f"bench-job-{kind}-{i}"
    if kind == "flink":
        cmd = [f"{flink_home}/bin/flink", "run", "-t", "yarn-application", "-p", "4",
               "-Dtaskmanager.numberOfTaskSlots=2", "-Djobmanager.memory.process.size=1024m",
               "-Dtaskmanager.memory.process.size=1024m", f"-Dyarn.application.name={name}",
               *flink_args, os.path.join(peers, "jobs", "tinyjob.jar")]
        env = os.environ
    else:
        cmd = [binary, "run", "-m", "yarn-cluster", "-ys", "2", "-p", "4", "-ytm", "1024",
               "-ynm", name, spec]
        env = spindle_env
    log = open(os.path.join(work, f"{name}.out"), "w")
    start = time.monotonic()
    cli = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    while True:
        if time.monotonic() - start > 300:
            raise SystemExit(f"bench-vs-flink: {name} did not finish (see {log.name})")
        if cli.poll() not in (None, 0):
            raise SystemExit(f"bench-vs-flink: {name}: the CLI failed:\n" + open(log.name).read()[-3000:])
        a = app_by_name(name)
        if a and a["state"] in ("FINISHED", "FAILED", "KILLED"):
            took = time.monotonic() - start
            break
        time.sleep(0.05)
    cli.wait(timeout=120)
    end = f"{a['state']}/{a['finalStatus']}"
    if end != "FINISHED/SUCCEEDED":
        raise SystemExit(f"bench-vs-flink: {name} ended {end} (see {log.name})")
    print(f"run kind={kind} i={i} app={a['id']} job_ms={round(took * 1000)} end={end}", flush=True)
    return dict(job_ms=round(took * 1000))

results = {"flink": [], "spindle": []}
for i in range(runs):
    for kind in ("flink", "spindle"):
        r = session_run(kind, i)
        if spindle_run:
            r.update(job_run(kind, i))
        results[kind].append(r)

rows = []
def row(label, key, unit):
    f = statistics.median(r[key] for r in results["flink"])
    s = statistics.median(r[key] for r in results["spindle"])
    ratio = f"{s / f:.3f}" if f else ("0" if s == 0 else "n/a")
    rows.append((label, f"{f:g} {unit}".strip(), f"{s:g} {unit}".strip(), ratio))

row("session: submission to the first TaskManager", "first_tm_ms", "ms")
row(f"session: submission to all {n} TaskManagers", "all_tm_ms", "ms")
row("AM container peak RSS (process tree)", "am_rss_kib", "KiB")
row("containers allocated beyond need (mini-yarn's extras)", "offered", "")
row("containers launched beyond need", "surplus", "")
if spindle_run:
    row("job: parallelism 4, 2 slots/TM, submission to finished", "job_ms", "ms")
else:
    rows.append(("job: parallelism 4, 2 slots/TM, submission to finished",
                 "-", "-", "no `spindle run`"))

print()
print(f"medians of {runs} runs, {n} TaskManagers x 2 slots")
print(f"| {'':55} | {'Flink 2.3':>12} | {'spindle':>12} | {'spindle/Flink':>16} |")
print(f"|{'-' * 57}|{'-' * 14}|{'-' * 14}|{'-' * 18}|")
for label, f, s, r in rows:
    print(f"| {label:55} | {f:>12} | {s:>12} | {r:>16} |")
PY
