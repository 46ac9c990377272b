#!/usr/bin/env bash
# Starts one role of spindle's docker compose Hadoop cluster (docker-compose.yml at the repository root),
# as the image's user (hadoop, the HDFS superuser). This folder is mounted at /opt/spindle-docker.
set -euo pipefail
role="${1:?usage: start.sh namenode|datanode|resourcemanager|nodemanager|init-hdfs|edge}"

# The cluster's configuration over the image's own *-site.xml files; the image's log4j.properties
# and hadoop-env.sh stay.
conf="${HADOOP_CONF_DIR:-/opt/hadoop/etc/hadoop}"
cp /opt/spindle-docker/hadoop-conf/*.xml "$conf/"

case "$role" in
  namenode)
    # Format on the first start only: a restarted container keeps its metadata (and the DataNode its
    # cluster id).
    [ -d /tmp/hadoop/dfs/name/current ] || hdfs namenode -format -nonInteractive
    exec hdfs namenode
    ;;
  datanode) exec hdfs datanode ;;
  resourcemanager) exec yarn resourcemanager ;;
  nodemanager) exec yarn nodemanager ;;
  init-hdfs)
    # Once a DataNode is live (so files can be written): the submitting user's home, where spindle
    # stages under .spindle/, and a world-writable /tmp (YARN's aggregated logs go to /tmp/logs).
    user="${SPINDLE_USER:-spindle}"
    for _ in $(seq 1 180); do
      live="$(hdfs dfsadmin -report -live 2>/dev/null | sed -n 's/^Live datanodes (\([0-9]*\)).*/\1/p')"
      [ "${live:-0}" -ge 1 ] && break
      sleep 1
    done
    [ "${live:-0}" -ge 1 ] || { echo "init-hdfs: no live DataNode after 180 s" >&2; exit 1; }
    hdfs dfsadmin -safemode wait
    hdfs dfs -mkdir -p /tmp "/user/$user"
    hdfs dfs -chmod 1777 /tmp
    hdfs dfs -chown "$user:$user" "/user/$user"
    echo "init-hdfs: /user/$user belongs to $user"
    ;;
  edge) exec sleep infinity ;;
  *) echo "start.sh: unknown role $role" >&2; exit 2 ;;
esac
