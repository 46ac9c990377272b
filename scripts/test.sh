#!/usr/bin/env bash
# The project's test command: the Rust suite, then the lanes that need Java and Hadoop's jars.
# A lane that cannot run (no JDK, or the jars could not be downloaded) is reported loudly and skipped;
# a lane that runs and fails fails the whole command.
set -uo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace || exit 1

lanes_passed=0 lanes_failed=0 lanes_skipped=0
run_lane() {
  echo
  echo "=== lane: $1"
  "$2"
  case $? in
    0) lanes_passed=$((lanes_passed + 1)) ;;
    77) lanes_skipped=$((lanes_skipped + 1)); echo "=== lane $1: SKIPPED (see above)" ;;
    *) lanes_failed=$((lanes_failed + 1)); echo "=== lane $1: FAILED" ;;
  esac
}
run_lane "distributed_shell against Hadoop's own RM/NM code" scripts/conformance.sh
run_lane "Hadoop's own AM on mini-yarn" scripts/lane-hadoop-am-on-mini.sh
run_lane "distributed_shell on mini-yarn" scripts/lane-distributed-shell-on-mini.sh
run_lane "yarn-api-client against mini-yarn's REST API" scripts/lane-yarn-api-client-on-mini.sh
run_lane "the session ApplicationMaster on mini-yarn, submitted by hand" scripts/lane-am-session-on-mini.sh
run_lane "the README's quick start" scripts/quickstart.sh
run_lane "the quick start with the portable (glibc 2.17) binary" scripts/lane-quickstart-portable.sh
run_lane "docker-compose.yml accepted by docker compose config" scripts/lane-compose-config.sh
run_lane "Flink 2.3 and Spark 4.3 on mini-yarn, unmodified" scripts/lane-peers-on-mini.sh
run_lane "the end-to-end suite on mini-yarn through HADOOP_CONF_DIR" scripts/lane-e2e-suite-on-mini.sh
run_lane "the end-to-end suite on Apache Hadoop in docker compose" scripts/it-docker.sh
echo
echo "lanes: $lanes_passed passed, $lanes_failed failed, $lanes_skipped skipped"
[ "$lanes_failed" -eq 0 ]
