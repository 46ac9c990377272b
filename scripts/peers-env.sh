# Sourced by the peers lane and bench-vs-flink.sh: starts `spindle mini-yarn` for JVM peers and sets
# up the client side of unmodified Apache Flink 2.3 and Spark 4.3 against it.
#
# Needs: $bin (the spindle binary), $work (a scratch folder), $peers (the folder fetch-peers.sh printed).
# Optional: MINI_ARGS (extra `spindle mini-yarn` flags).
# After `peers_start_mini`: $mini (its pid), $ready (its ready line), $rest (the RM REST base URL),
# HADOOP_CONF_DIR (a client configuration: the cluster's yarn-site.xml, fs.defaultFS=file:///),
# FLINK_HOME, FLINK_CONF_DIR, SPARK_HOME, JAVA_HOME, HADOOP_CLASSPATH exported, and $flink_yarn_args
# (the -D flags every Flink deployment gets).

peers_java_home() {
  if [ -n "${JAVA_HOME:-}" ]; then echo "$JAVA_HOME"; return; fi
  dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}

peers_start_mini() {
  "$bin" mini-yarn --conf-dir "$work/conf" --work-dir "$work/cluster" --journal "$work/journal.jsonl" \
    --hadoop-client-jars "$peers/hadoop" ${MINI_ARGS:-} >"$work/mini.out" 2>"$work/mini.err" &
  mini=$!
  for _ in $(seq 1 100); do [ -s "$work/mini.out" ] && break; sleep 0.1; done
  ready="$(head -n1 "$work/mini.out")"
  [ -n "$ready" ] || { echo "mini-yarn did not start:" >&2; cat "$work/mini.err" >&2; return 1; }
  rest="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["rest_url"])' "$ready")"

  # JVM clients stage on the local file system (fs.defaultFS=file:///): one machine, no HDFS RPC.
  mkdir -p "$work/peers-conf" "$work/staging"
  cp "$work/conf/yarn-site.xml" "$work/peers-conf/"
  cat >"$work/peers-conf/core-site.xml" <<'XML'
<?xml version="1.0"?>
<configuration>
  <property><name>fs.defaultFS</name><value>file:///</value></property>
</configuration>
XML
  export JAVA_HOME="$(peers_java_home)"
  export HADOOP_CONF_DIR="$work/peers-conf"
  unset YARN_CONF_DIR HADOOP_HOME
  export HADOOP_CLASSPATH="$peers/hadoop/hadoop-client-api-3.5.0.jar:$peers/hadoop/hadoop-client-runtime-3.5.0.jar"
  export FLINK_HOME="$peers/flink" SPARK_HOME="$peers/spark"
  export FLINK_CONF_DIR="$work/flink-conf" FLINK_LOG_DIR="$work/flink-log"
  mkdir -p "$FLINK_CONF_DIR" "$FLINK_LOG_DIR"
  cp "$FLINK_HOME"/conf/* "$FLINK_CONF_DIR/"
  # The containers read the same client configuration (their HADOOP_CONF_DIR is on the classpath
  # through yarn.application.classpath).
  flink_yarn_args=(
    "-Dyarn.staging-directory=file://$work/staging"
    "-Dcontainerized.master.env.HADOOP_CONF_DIR=$work/peers-conf"
    "-Dcontainerized.taskmanager.env.HADOOP_CONF_DIR=$work/peers-conf"
  )
}

# The state and final status of an application, from the RM REST API: "STATE FINAL".
peers_app_state() {
  curl -sf "$rest/apps/$1" | python3 -c 'import json,sys; a=json.load(sys.stdin)["app"]; print(a["state"], a["finalStatus"])'
}

# Waits up to $2 seconds for application $1 to end; prints "STATE FINAL".
peers_wait_end() {
  local s=""
  for _ in $(seq 1 $(($2 * 4))); do
    s="$(peers_app_state "$1" || true)"
    case "$s" in FINISHED* | FAILED* | KILLED*) break ;; esac
    sleep 0.25
  done
  echo "$s"
}
