#!/usr/bin/env bash
# Unmodified Apache Flink 2.3 and Spark 4.3 (from PyPI, laid out by scripts/fetch-peers.sh) on one
# `spindle mini-yarn`, through its ApplicationClientProtocol front door, each to FINISHED/SUCCEEDED:
#   0. Hadoop's own YarnClient (scripts/peers/YarnClientCheck.java): cluster views, submit, kill,
#      an unknown application;
#   1. Flink `yarn-session.sh -d`, a tiny DataStream job on it (`flink run -t yarn-session`), `stop`;
#   2. Flink `flink run -t yarn-application` with the same job;
#   3. SparkPi in cluster mode (`spark-submit --master yarn --deploy-mode cluster`), with the jars
#      on the local disk, then with Spark's default upload of its jars as a 422 MB zip ARCHIVE;
#   4. a spindle session on the same cluster (`spindle yarn-session -d`, then --stop), and a spindle
#      per-job run (`spindle run -m yarn-cluster`);
# and no container is left running at the end. Exits 77 (skipped, loudly) without java, or when the
# peers cannot be downloaded; any failed run fails the lane.
set -euo pipefail
cd "$(dirname "$0")/.."
lane=lane-peers-on-mini
skip() {
  echo "##################################################################" >&2
  echo "SKIPPED: $1" >&2
  echo "the lane 'Flink and Spark on mini-yarn' did NOT run" >&2
  echo "##################################################################" >&2
  exit 77
}
command -v java >/dev/null || skip "java not found"
command -v javac >/dev/null || skip "javac not found"
command -v python3 >/dev/null || skip "python3 not found"
command -v curl >/dev/null || skip "curl not found"
peers="$(scripts/fetch-peers.sh)" || skip "could not download or lay out Flink 2.3 / Spark 4.3 from PyPI (see above)"
lane_start=$SECONDS

cargo build -q --bin spindle
bin="$PWD/target/debug/spindle"
work="$(mktemp -d)"
cleanup() {
  kill -TERM "$mini" 2>/dev/null || true
  wait "$mini" 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
mini=""
trap cleanup EXIT
# shellcheck source=scripts/peers-env.sh
. scripts/peers-env.sh
MINI_ARGS="--nodes 2 --max-am-resource-percent 0.5" peers_start_mini
echo "mini-yarn: $ready"

failed=0
step_start=0
begin() { echo; echo "--- $1"; step_start=$SECONDS; }
fail() {
  echo "$lane: FAILED: $1" >&2
  shift
  for f in "$@"; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 40 "$f" >&2; }; done
  echo "--- AM container logs" >&2
  find "$work/cluster" -path '*_000001/*' \( -name '*.log' -o -name 'std*' -o -name '*.err' \) \
    -exec tail -n 20 {} + >&2 2>/dev/null || true
  failed=1
}
expect_end() { # app, wanted "STATE FINAL", timeout seconds, logs...
  local app="$1" want="$2" t="$3"
  shift 3
  local got
  got="$(peers_wait_end "$app" "$t")"
  if [ "$got" = "$want" ]; then
    echo "$app: $got ($((SECONDS - step_start)) s)"
  else
    fail "$app ended '$got', expected '$want'" "$@"
  fi
}

# 0. Hadoop's YarnClient, directly.
begin "Hadoop 3.5.0 YarnClient: nodes, metrics, queues, submit, list, kill, unknown application"
yc_cp="$HADOOP_CLASSPATH:$(ls "$SPARK_HOME"/jars/slf4j-api-*.jar | head -n1)"
mkdir -p "$work/yc"
if javac -nowarn -d "$work/yc" -cp "$yc_cp" scripts/peers/YarnClientCheck.java 2>"$work/yc.out" &&
  timeout 120 java -cp "$HADOOP_CONF_DIR:$yc_cp:$work/yc" YarnClientCheck >>"$work/yc.out" 2>&1; then
  grep -E '^(ok|FAIL) ' "$work/yc.out"
else
  fail "Hadoop's YarnClient against mini-yarn" "$work/yc.out"
fi

# 1. Flink session, a job on it, stop.
begin "Flink 2.3 yarn-session.sh -d, a tiny job, stop"
if timeout 300 "$FLINK_HOME/bin/yarn-session.sh" -d -jm 1024m -tm 1536m -nm flink-session-on-mini \
  "${flink_yarn_args[@]}" >"$work/flink-session.out" 2>&1; then
  app="$(grep -o 'application_[0-9]*_[0-9]*' "$work/flink-session.out" | head -n1)"
  echo "session $app deployed in $((SECONDS - step_start)) s"
  if timeout 300 "$FLINK_HOME/bin/flink" run -t yarn-session -Dyarn.application.id="$app" \
    "$peers/jobs/tinyjob.jar" >"$work/flink-job.out" 2>&1 &&
    grep -q "has finished" "$work/flink-job.out"; then
    echo "tiny job finished on the session ($((SECONDS - step_start)) s)"
  else
    fail "the tiny job on the Flink session" "$work/flink-job.out"
  fi
  echo stop | timeout 120 "$FLINK_HOME/bin/yarn-session.sh" -id "$app" >"$work/flink-stop.out" 2>&1 ||
    fail "yarn-session.sh stop" "$work/flink-stop.out"
  expect_end "$app" "FINISHED SUCCEEDED" 60 "$work/flink-stop.out"
else
  fail "yarn-session.sh -d" "$work/flink-session.out"
fi

# 2. Flink application mode.
begin "Flink 2.3 run -t yarn-application"
if timeout 300 "$FLINK_HOME/bin/flink" run -t yarn-application -Djobmanager.memory.process.size=1024m \
  -Dtaskmanager.memory.process.size=1536m "${flink_yarn_args[@]}" "$peers/jobs/tinyjob.jar" \
  >"$work/flink-app.out" 2>&1; then
  app="$(grep -o 'application_[0-9]*_[0-9]*' "$work/flink-app.out" | head -n1)"
  expect_end "$app" "FINISHED SUCCEEDED" 180 "$work/flink-app.out"
else
  fail "flink run -t yarn-application" "$work/flink-app.out"
fi

# 3. SparkPi, cluster mode: with spark.yarn.jars=local: (no jar zip), then Spark's default, which zips
# $SPARK_HOME/jars into a 422 MB __spark_libs__ ARCHIVE that every container unpacks. __spark_conf__
# is a zip ARCHIVE in both.
spark_pi() { # label, extra spark-submit args...
  local label="$1"
  shift
  begin "Spark 4.3 SparkPi, --deploy-mode cluster, $label"
  local out="$work/spark-$label.out"
  if timeout 300 "$SPARK_HOME/bin/spark-submit" --master yarn --deploy-mode cluster --class SparkPi \
    --driver-memory 512m --executor-memory 512m --num-executors 2 \
    --conf "spark.yarn.stagingDir=file://$work/staging" "$@" "$peers/jobs/sparkpi.jar" 4 >"$out" 2>&1; then
    local app pi
    app="$(grep -o 'application_[0-9]*_[0-9]*' "$out" | head -n1)"
    expect_end "$app" "FINISHED SUCCEEDED" 30 "$out"
    pi="$(find "$work/cluster" -path "*${app#application_}*" -name stdout -exec grep -h "Pi is roughly" {} + 2>/dev/null | head -n1 || true)"
    [ -n "$pi" ] && echo "$pi" || fail "no 'Pi is roughly' in SparkPi's output" "$out"
  else
    fail "spark-submit ($label)" "$out"
  fi
}
spark_pi local-jars --conf "spark.yarn.jars=local:$SPARK_HOME/jars/*"
spark_pi jars-archive

# 4. spindle on the same cluster (its CLI uses the REST door and WebHDFS staging).
begin "spindle yarn-session -d, --stop"
spindle_env=(env HADOOP_CONF_DIR="$work/conf" SPINDLE_PROPERTIES_DIR="$work" USER=peers)
if "${spindle_env[@]}" "$bin" yarn-session -d -s 2 -tm 1024 -Dslotmanager.number-of-slots.min=2 \
  >"$work/spindle.out" 2>&1; then
  app="$(grep -o 'application_[0-9]*_[0-9]*' "$work/spindle.out" | head -n1)"
  web="$(sed -n 's/^JobManager Web Interface: //p' "$work/spindle.out")"
  tms=0
  for _ in $(seq 1 600); do
    tms="$(curl -sf "$web/overview" | python3 -c 'import json,sys; print(json.load(sys.stdin)["taskmanagers"])' || echo 0)"
    [ "$tms" -ge 1 ] && break
    sleep 0.1
  done
  [ "$tms" -ge 1 ] && echo "spindle session $app: $tms TaskManager(s) registered ($((SECONDS - step_start)) s)" ||
    fail "no spindle TaskManager registered" "$work/spindle.out"
  "${spindle_env[@]}" "$bin" yarn-session --stop -id "$app" >"$work/spindle-stop.out" 2>&1 ||
    fail "spindle yarn-session --stop" "$work/spindle-stop.out"
  expect_end "$app" "FINISHED SUCCEEDED" 60 "$work/spindle-stop.out"
else
  fail "spindle yarn-session -d" "$work/spindle.out"
fi

begin "spindle run -m yarn-cluster -ys 2 -p 4 examples/parallel-sum.yaml"
if timeout 300 "${spindle_env[@]}" "$bin" run -m yarn-cluster -ys 2 -p 4 -ytm 1024 \
  examples/parallel-sum.yaml >"$work/spindle-run.out" 2>&1; then
  app="$(grep -o 'application_[0-9]*_[0-9]*' "$work/spindle-run.out" | head -n1)"
  expect_end "$app" "FINISHED SUCCEEDED" 60 "$work/spindle-run.out"
else
  fail "spindle run -m yarn-cluster" "$work/spindle-run.out"
fi

# Every container the cluster launched has ended: AMs that unregistered took their leftovers along.
begin "no container left running"
python3 - "$work/journal.jsonl" <<'PY' || fail "containers left running"
import json, sys, time
for _ in range(120):
    events = [json.loads(l) for l in open(sys.argv[1])]
    launched = {e["container"] for e in events if e["event"] == "container_launched"}
    done = {e["container"] for e in events if e["event"] == "container_completed"}
    if launched <= done:
        print(f"{len(launched)} containers launched, all completed")
        sys.exit(0)
    time.sleep(0.25)
print(f"still running: {sorted(launched - done)}", file=sys.stderr)
sys.exit(1)
PY

echo
echo "$lane: wall time $((SECONDS - lane_start)) s (after the download)"
[ "$failed" -eq 0 ] || exit 1
echo "$lane: OK"
