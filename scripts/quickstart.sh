#!/usr/bin/env bash
# The quick start: builds spindle, brings up a session cluster (2 TaskManagers × 2 slots, kept up by
# slotmanager.number-of-slots.min) on YARN — the embedded mini-yarn when no HADOOP_CONF_DIR is set —
# shows its TaskManagers through the ApplicationMaster's REST API, and stops it.
# Pass --keep to leave the session running (stop it later with `spindle yarn-session --stop`).
# SPINDLE_BIN runs a given binary instead of building one (e.g. the one scripts/build-portable.sh prints).
set -euo pipefail
cd "$(dirname "$0")/.."
keep=false
[ "${1:-}" = "--keep" ] && keep=true

if [ -n "${SPINDLE_BIN:-}" ]; then
  spindle="$SPINDLE_BIN"
else
  cargo build --release --quiet
  spindle=target/release/spindle
fi

out="$("$spindle" yarn-session -d -s 2 -Dslotmanager.number-of-slots.min=4)"
printf '%s\n' "$out"
web="$(sed -n 's/^JobManager Web Interface: //p' <<<"$out")"
[ -n "$web" ] || { echo "quickstart: the session did not report its web address" >&2; exit 1; }

# The TaskManagers register within a second or two of the containers starting.
for _ in $(seq 100); do
  tms="$(curl -sf "$web/overview" | python3 -c 'import json,sys; print(json.load(sys.stdin)["taskmanagers"])' || echo 0)"
  [ "$tms" -ge 2 ] && break
  sleep 0.1
done
echo
echo "GET $web/overview"
curl -sf "$web/overview" | python3 -m json.tool
echo "GET $web/taskmanagers"
curl -sf "$web/taskmanagers" | python3 -c '
import json, sys
for tm in json.load(sys.stdin)["taskmanagers"]:
    print("  %s: %d slots, %d free, at %s" % (tm["id"], tm["slotsNumber"], tm["freeSlots"], tm["path"]))'

# The embedded mini-yarn this run started, if any (the CLI names its pid).
mini_pid="$(sed -n 's/.*started an embedded mini-yarn (pid \([0-9]*\),.*/\1/p' <<<"$out")"
if $keep; then
  echo "The session keeps running: $spindle yarn-session --stop"
else
  echo
  "$spindle" yarn-session --stop
  if [ -n "$mini_pid" ]; then
    kill "$mini_pid" && echo "Stopped the embedded mini-yarn (pid $mini_pid)"
  fi
fi
