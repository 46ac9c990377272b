#!/usr/bin/env bash
# The end-to-end suite against real Apache Hadoop: builds the portable spindle binary
# (scripts/build-portable.sh), brings up docker-compose.yml (HDFS, a ResourceManager, two NodeManagers
# and the `edge` container), waits until both NodeManagers are RUNNING, and runs scripts/e2e-suite.sh
# inside `edge` with HADOOP_CONF_DIR=/opt/hadoop/etc/hadoop, the cluster's own configuration.
#
# Why inside `edge`: the ApplicationMaster advertises its REST API on its NodeManager's host name
# (nodemanager1 or nodemanager2), which only the compose network resolves; running the CLI there is what
# a user on an edge node does. The host needs nothing but Docker.
#
# On failure: `docker compose ps`, every container's log and the aggregated YARN logs
# (`yarn logs -applicationId`) of each application the suite submitted go to
# $SPINDLE_IT_LOGS/<compose project> (default target/it-docker-logs/). The cluster is torn down at the
# end (SPINDLE_IT_KEEP=1 leaves it up).
#
# Exit 77 (skipped) when there is no Docker engine, no Docker Compose v2, no image, or the portable
# build's tools cannot be installed — never a pass.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

say() { echo "it-docker: $*" >&2; }
skip() { say "SKIPPED: $*"; exit 77; }

command -v docker >/dev/null || skip "no docker command on this machine"
if ! err="$(docker info 2>&1 >/dev/null)"; then
  skip "no Docker engine is reachable ($(printf '%s' "$err" | grep -m1 -iE 'cannot|error|denied' || echo "docker info failed"))"
fi
scripts/docker-compose.sh version >/dev/null
case $? in 0) ;; 77) skip "no Docker Compose v2" ;; *) say "docker compose does not run"; exit 1 ;; esac

image="${HADOOP_IMAGE:-apache/hadoop:3.4.1}"
export HADOOP_IMAGE="$image"
if ! docker image inspect "$image" >/dev/null 2>&1; then
  say "pulling $image"
  docker pull "$image" >&2 || skip "cannot pull the image $image"
fi

SPINDLE_BIN="$(scripts/build-portable.sh)"
case $? in 0) ;; 77) skip "cannot build the portable binary here" ;; *) say "the portable build failed"; exit 1 ;; esac
export SPINDLE_BIN
# Any free host ports for the web UIs, so a developer's cluster on 8088/9870 does not clash.
export SPINDLE_RM_UI_PORT="" SPINDLE_NN_UI_PORT=""

project="spindle-it-$$"
logs="${SPINDLE_IT_LOGS:-$PWD/target/it-docker-logs}/$project"
compose() { scripts/docker-compose.sh -p "$project" -f docker-compose.yml "$@"; }

collect_logs() {
  mkdir -p "$logs"
  say "collecting logs into $logs"
  compose ps -a >"$logs/ps.txt" 2>&1
  compose logs --no-color --timestamps >"$logs/containers.log" 2>&1
  compose exec -T edge yarn application -list -appStates ALL >"$logs/applications.txt" 2>&1
  local apps app
  apps="$(compose exec -T edge cat /tmp/spindle-e2e-apps 2>/dev/null)"
  for app in $apps; do
    # A NodeManager uploads an application's logs once the application has ended: give it time.
    for _ in 1 2 3 4 5 6; do
      compose exec -T edge yarn logs -applicationId "$app" >"$logs/$app.log" 2>&1 &&
        grep -q '^Container: ' "$logs/$app.log" && break
      sleep 5
    done
    grep -q '^Container: ' "$logs/$app.log" || say "no aggregated logs for $app (see $logs/$app.log)"
  done
  say "logs: $(cd "$logs" && echo *)"
}
teardown() {
  if [ -n "${SPINDLE_IT_KEEP:-}" ]; then
    say "the cluster stays up: scripts/docker-compose.sh -p $project -f docker-compose.yml down -v"
  else
    compose down -v --remove-orphans --timeout 10 >/dev/null 2>&1
  fi
}
trap teardown EXIT

started=$(date +%s)
say "starting the cluster (project $project, image $image)"
if ! compose up -d >&2; then
  say "the cluster did not start"
  collect_logs
  exit 1
fi

if ! compose exec -T edge python3 -c pass; then
  say "the edge container has no python3, which the suite's REST checks use (image $image)"
  collect_logs
  exit 1
fi
# Both NodeManagers RUNNING, as the ResourceManager's REST API reports them.
running=0
for _ in $(seq 1 150); do
  running="$(compose exec -T edge python3 -c '
import json, urllib.request
with urllib.request.urlopen("http://resourcemanager:8088/ws/v1/cluster/nodes", timeout=5) as r:
    nodes = (json.load(r).get("nodes") or {}).get("node") or []
print(sum(1 for n in nodes if n.get("state") == "RUNNING"))' 2>/dev/null || echo 0)"
  [ "$running" -ge 2 ] && break
  sleep 2
done
if [ "$running" -lt 2 ]; then
  say "only $running NodeManager(s) RUNNING after 300 s"
  collect_logs
  exit 1
fi
say "cluster up in $(($(date +%s) - started)) s: 2 NodeManagers RUNNING"

compose exec -T -e SPINDLE_E2E_APPS_FILE=/tmp/spindle-e2e-apps edge bash scripts/e2e-suite.sh
rc=$?
if [ "$rc" -ne 0 ]; then
  collect_logs
  exit 1
fi
say "passed in $(($(date +%s) - started)) s"
