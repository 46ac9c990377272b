#!/usr/bin/env bash
# docker-compose.yml is a valid Compose file: `docker compose config` (schema, interpolation, anchors,
# depends_on) accepts it. Needs no Docker engine; scripts/docker-compose.sh finds or installs Compose v2.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/docker-compose.sh -f docker-compose.yml config --quiet
# The roles docker-compose.yml names are the ones yarn/docker/start.sh knows.
services="$(scripts/docker-compose.sh -f docker-compose.yml config --services | sort | tr '\n' ' ')"
[ "$services" = "datanode edge init-hdfs namenode nodemanager1 nodemanager2 resourcemanager " ] ||
  { echo "lane-compose-config: unexpected services: $services" >&2; exit 1; }
echo "docker-compose.yml: valid; services $services"
