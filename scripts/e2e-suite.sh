#!/usr/bin/env bash
# spindle's end-to-end suite: what a user does with the binary, against the YARN cluster that
# $HADOOP_CONF_DIR describes — mini-yarn (scripts/lane-e2e-suite-on-mini.sh) or real Hadoop in docker
# compose (scripts/it-docker.sh). It never starts a cluster of its own.
#
#   HADOOP_CONF_DIR=/path/to/conf SPINDLE_BIN=/path/to/spindle scripts/e2e-suite.sh [case ...]
#
# Each case is a shell function `case_<name>` run in order (or only those named on the command line),
# with a fresh work folder in $case_dir and its own session properties file; a case fails by returning
# non-zero (use `fail "why"`). The addresses of the ResourceManager's REST API and of WebHDFS come from
# $HADOOP_CONF_DIR (see `helper conf`), read independently of spindle so the checks do not trust what
# they check. The submitting user is spindle's: HADOOP_USER_NAME, USER, LOGNAME, else the login name.
#
# Timeouts suit a real cluster (containers take seconds to start); SPINDLE_E2E_TIMEOUT scales them
# (seconds to wait for a session to come up, default 180). KEEP_WORK=1 keeps the work folder.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

say() { echo "e2e-suite: $*" >&2; }
[ -n "${HADOOP_CONF_DIR:-}" ] && [ -f "$HADOOP_CONF_DIR/yarn-site.xml" ] ||
  { say "HADOOP_CONF_DIR must name the cluster's configuration folder (with yarn-site.xml)"; exit 2; }
spindle="${SPINDLE_BIN:-}"
[ -n "$spindle" ] && [ -x "$spindle" ] || { say "SPINDLE_BIN must name the spindle binary to test"; exit 2; }
command -v python3 >/dev/null || { say "python3 is needed for the REST checks"; exit 2; }
timeout_s="${SPINDLE_E2E_TIMEOUT:-180}"
run_limit=$((3 * timeout_s))  # no spindle command of a case runs longer
user="${HADOOP_USER_NAME:-${USER:-${LOGNAME:-$(id -un)}}}"

work="$(mktemp -d "${TMPDIR:-/tmp}/spindle-e2e.XXXXXX")"
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
# Every application a case submits is appended here (scripts/it-docker.sh collects their YARN logs).
apps_file="${SPINDLE_E2E_APPS_FILE:-$work/applications}"

# The REST and configuration helper: `helper <command> [args]`.
cat >"$work/helper.py" <<'PY'
import json, os, re, sys, time, urllib.error, urllib.parse, urllib.request
import xml.etree.ElementTree as ET

def conf():
    props = {}
    for name in ("core-site.xml", "hdfs-site.xml", "yarn-site.xml"):
        path = os.path.join(os.environ["HADOOP_CONF_DIR"], name)
        if os.path.exists(path):
            for p in ET.parse(path).getroot().iter("property"):
                props[p.findtext("name", "").strip()] = (p.findtext("value") or "").strip()
    def get(key, default=None):
        value = props.get(key, default)
        for _ in range(20):  # ${other.key}, as Hadoop expands it
            if value is None or "${" not in value:
                break
            value = re.sub(r"\$\{([^}$ ]+)\}", lambda m: props.get(m.group(1), m.group(0)), value)
        return value
    rm = get("yarn.resourcemanager.webapp.address")
    if not rm:
        rm = get("yarn.resourcemanager.hostname", "0.0.0.0") + ":8088"
    nn = get("dfs.namenode.http-address")
    if not nn or nn.startswith("0.0.0.0"):
        host = urllib.parse.urlparse(get("fs.defaultFS", "")).hostname
        nn = f"{host}:9870"
    return "http://" + rm, "http://" + nn

RM, NN = conf()

def get_json(url):
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=30) as r:
        return json.load(r)

def app(app_id):
    return get_json(f"{RM}/ws/v1/cluster/apps/{app_id}")["app"]

def main(cmd, *args):
    if cmd == "conf":  # the RM web and WebHDFS addresses
        print(RM, NN)
    elif cmd == "app-state":  # STATE FINAL-STATUS of an application
        a = app(args[0])
        print(a["state"], a["finalStatus"])
    elif cmd == "app-diagnostics":
        print(app(args[0]).get("diagnostics", ""))
    elif cmd == "wait-final":  # APP TIMEOUT: waits for a final state, prints STATE FINAL-STATUS
        deadline = time.time() + float(args[1])
        while True:
            a = app(args[0])
            if a["state"] in ("FINISHED", "FAILED", "KILLED") or time.time() > deadline:
                print(a["state"], a["finalStatus"])
                return
            time.sleep(0.5)
    elif cmd == "nodes":  # RUNNING NodeManagers
        nodes = (get_json(f"{RM}/ws/v1/cluster/nodes").get("nodes") or {}).get("node") or []
        print(sum(1 for n in nodes if n.get("state") == "RUNNING"))
    elif cmd == "wait-taskmanagers":  # AM-URL COUNT TIMEOUT: prints "TMS SLOTS" when reached or at timeout
        url, want, deadline = args[0], int(args[1]), time.time() + float(args[2])
        seen = (0, 0)
        while time.time() < deadline:
            try:
                o = get_json(url + "/overview")
                seen = (o["taskmanagers"], o["slots-total"])
                if seen[0] >= want:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        print(*seen)
    elif cmd == "taskmanager-ids":  # AM-URL: one registered TaskManager id per line
        for tm in get_json(args[0] + "/taskmanagers")["taskmanagers"]:
            print(tm["id"])
    elif cmd == "hdfs-exists":  # PATH USER: exit 0 if it exists, 1 if not
        q = urllib.parse.urlencode({"op": "GETFILESTATUS", "user.name": args[1]})
        try:
            get_json(f"{NN}/webhdfs/v1{urllib.parse.quote(args[0])}?{q}")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                sys.exit(1)
            raise
    else:
        sys.exit(f"helper: unknown command {cmd}")

main(*sys.argv[1:])
PY
helper() { python3 "$work/helper.py" "$@"; }

fail() { say "FAIL [$current]: $*"; return 1; }

# Runs spindle with the case's properties folder (and a time limit); its output goes to
# $case_dir/<label>.out and stdout.
run_spindle() {
  local label="$1"; shift
  SPINDLE_PROPERTIES_DIR="$case_dir" timeout -k 10 "$run_limit" "$spindle" "$@" >"$case_dir/$label.out" 2>&1
  local rc=$?
  sed "s/^/    $label| /" "$case_dir/$label.out"
  return $rc
}

# ---- cases ----

# `spindle yarn-session -q` sees the cluster's NodeManagers.
case_query() {
  run_spindle query yarn-session -q || fail "yarn-session -q exited non-zero" || return
  local seen running
  seen="$(sed -n 's/^NodeManagers in the cluster: \([0-9]*\).*/\1/p' "$case_dir/query.out")"
  running="$(helper nodes)"
  [ -n "$seen" ] && [ "$seen" = "$running" ] ||
    fail "yarn-session -q reports ${seen:-no} NodeManagers; the RM REST API lists $running RUNNING"
}

# A detached session with 2 TaskManagers of 2 slots: both register with the ApplicationMaster (its
# REST API), `--stop` ends the application FINISHED/SUCCEEDED (RM REST API), and the staging folder
# and the properties file are gone.
case_session() {
  run_spindle deploy yarn-session -d -s 2 -tm 1024 -Dslotmanager.number-of-slots.min=4 \
    -nm "spindle e2e session" || fail "yarn-session -d exited non-zero" || return
  local app web tms stop_state
  app="$(sed -n 's/^Submitting application master \(application_[0-9_]*\).*/\1/p' "$case_dir/deploy.out")"
  web="$(sed -n 's/^JobManager Web Interface: //p' "$case_dir/deploy.out")"
  [ -n "$app" ] || fail "the deploy output names no application" || return
  echo "$app" >>"$apps_file"
  [ -n "$web" ] || fail "the deploy output names no JobManager web interface" || return
  [ "$(helper app-state "$app")" = "RUNNING UNDEFINED" ] || fail "$app is $(helper app-state "$app") after deploy" || return
  helper hdfs-exists "/user/$user/.spindle/$app" "$user" || fail "no staging folder /user/$user/.spindle/$app while the session runs" || return

  tms="$(helper wait-taskmanagers "$web" 2 "$timeout_s")"
  [ "$tms" = "2 4" ] || fail "expected 2 TaskManagers with 4 slots at $web/overview, saw (TaskManagers slots) $tms" || return
  [ "$(helper taskmanager-ids "$web" | sort -u | wc -l)" -eq 2 ] || fail "$web/taskmanagers does not list 2 distinct TaskManagers" || return
  echo "    $app: 2 TaskManagers, 4 slots at $web"

  run_spindle stop yarn-session --stop || fail "yarn-session --stop exited non-zero" || return
  grep -q "^Application $app is FINISHED with final status SUCCEEDED" "$case_dir/stop.out" ||
    fail "--stop did not report $app FINISHED/SUCCEEDED" || return
  stop_state="$(helper wait-final "$app" 60)"
  [ "$stop_state" = "FINISHED SUCCEEDED" ] ||
    fail "$app ended $stop_state: $(helper app-diagnostics "$app")" || return
  if helper hdfs-exists "/user/$user/.spindle/$app" "$user"; then
    fail "the staging folder /user/$user/.spindle/$app is still there"; return
  fi
  ! ls "$case_dir"/.spindle-properties-* >/dev/null 2>&1 || fail "--stop left the session properties file" || return
  echo "    $app: FINISHED/SUCCEEDED, staging folder removed"
}

# `spindle run -m yarn-cluster` with examples/parallel-sum.yaml: a cluster for the job, which ends
# the application FINISHED/SUCCEEDED with the job and leaves no staging folder.
case_per_job() {
  run_spindle per-job run -m yarn-cluster -ys 2 -ytm 1024 -p 4 examples/parallel-sum.yaml ||
    fail "run -m yarn-cluster exited non-zero" || return
  local app
  app="$(grep -o 'application_[0-9]*_[0-9]*' "$case_dir/per-job.out" | head -n1)"
  [ -n "$app" ] || fail "the run's output names no application" || return
  echo "$app" >>"$apps_file"
  grep -q '(parallel-sum) FINISHED' "$case_dir/per-job.out" || fail "the job did not report FINISHED" || return
  [ "$(helper wait-final "$app" 60)" = "FINISHED SUCCEEDED" ] ||
    fail "$app ended $(helper app-state "$app"): $(helper app-diagnostics "$app")" || return
  if helper hdfs-exists "/user/$user/.spindle/$app" "$user"; then
    fail "the staging folder /user/$user/.spindle/$app is still there"; return
  fi
  echo "    $app: parallel-sum FINISHED, application FINISHED/SUCCEEDED, staging folder removed"
}

# Jobs in a session: an attached `spindle run` finishes; a detached one is listed RUNNING by
# `spindle list` and `spindle cancel` cancels it; a per-job application runs beside the session (so
# the cluster admits two ApplicationMasters at once); `--stop` ends the session FINISHED/SUCCEEDED.
case_session_jobs() {
  run_spindle deploy yarn-session -d -s 2 -tm 1024 -nm "spindle e2e session with jobs" ||
    fail "yarn-session -d exited non-zero" || return
  local app job listed
  app="$(sed -n 's/^Submitting application master \(application_[0-9_]*\).*/\1/p' "$case_dir/deploy.out")"
  [ -n "$app" ] || fail "the deploy output names no application" || return
  echo "$app" >>"$apps_file"

  run_spindle parallel-sum run -p 2 examples/parallel-sum.yaml || fail "run in the session exited non-zero" || return
  grep -q '(parallel-sum) FINISHED' "$case_dir/parallel-sum.out" || fail "parallel-sum did not report FINISHED" || return

  printf 'name: long\nvertices:\n  - {name: sleeper, parallelism: 2, command: [sleep, "600"]}\n' >"$case_dir/long.yaml"
  run_spindle long run -d "$case_dir/long.yaml" || fail "run -d exited non-zero" || return
  job="$(sed -n 's/^Job has been submitted with JobID \([^ ]*\).*/\1/p' "$case_dir/long.out")"
  [ -n "$job" ] || fail "run -d names no job id" || return
  for _ in $(seq 1 "$timeout_s"); do
    SPINDLE_PROPERTIES_DIR="$case_dir" "$spindle" list >"$case_dir/list.out" 2>&1
    grep -q "$job : long (RUNNING" "$case_dir/list.out" && break
    sleep 1
  done
  sed 's/^/    list| /' "$case_dir/list.out"
  grep -q "$job : long (RUNNING" "$case_dir/list.out" || fail "spindle list does not show $job RUNNING" || return

  # A second application beside the session, with its own properties folder.
  mkdir -p "$case_dir/beside"
  SPINDLE_PROPERTIES_DIR="$case_dir/beside" timeout -k 10 "$run_limit" "$spindle" run -m yarn-cluster -ys 2 -ytm 1024 -p 2 \
    examples/parallel-sum.yaml >"$case_dir/beside.out" 2>&1
  local rc=$?
  sed 's/^/    beside| /' "$case_dir/beside.out"
  grep -o 'application_[0-9]*_[0-9]*' "$case_dir/beside.out" | head -n1 >>"$apps_file"
  [ "$rc" -eq 0 ] || fail "a per-job application beside the session did not finish" || return

  run_spindle cancel cancel "$job" || fail "cancel exited non-zero" || return
  grep -q "Job $job is CANCELED" "$case_dir/cancel.out" || fail "cancel did not report $job CANCELED" || return
  listed="$(SPINDLE_PROPERTIES_DIR="$case_dir" "$spindle" list -a 2>&1)"
  grep -q "$job : long (CANCELED" <<<"$listed" || fail "list -a does not show $job CANCELED: $listed" || return

  run_spindle stop yarn-session --stop || fail "yarn-session --stop exited non-zero" || return
  [ "$(helper wait-final "$app" 60)" = "FINISHED SUCCEEDED" ] ||
    fail "$app ended $(helper app-state "$app"): $(helper app-diagnostics "$app")" || return
  echo "    $app: a job finished, one listed and cancelled, a per-job application beside it; FINISHED/SUCCEEDED"
}

# ---- runner ----

all_cases=(query session per_job session_jobs)
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("${all_cases[@]}")
read -r rm_web webhdfs < <(helper conf) || { say "cannot read $HADOOP_CONF_DIR"; exit 2; }
say "cluster: RM $rm_web, WebHDFS $webhdfs (HADOOP_CONF_DIR=$HADOOP_CONF_DIR), user $user, binary $spindle"

passed=0 failed=0
for current in "${cases[@]}"; do
  declare -F "case_$current" >/dev/null || { say "no case named $current (cases: ${all_cases[*]})"; exit 2; }
  case_dir="$work/$current"
  mkdir -p "$case_dir"
  echo "--- $current"
  started=$(date +%s)
  if "case_$current"; then
    passed=$((passed + 1)); echo "--- $current: ok ($(($(date +%s) - started)) s)"
  else
    failed=$((failed + 1)); echo "--- $current: FAILED ($(($(date +%s) - started)) s)"
    # Leave no session running behind a failed case.
    SPINDLE_PROPERTIES_DIR="$case_dir" "$spindle" yarn-session --stop >/dev/null 2>&1 || true
  fi
done
echo "e2e-suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
