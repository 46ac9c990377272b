#!/usr/bin/env bash
# The quick start, on YARN — the embedded mini-yarn when no HADOOP_CONF_DIR is set:
#  1. builds spindle and runs the example word count as a per-job cluster
#     (`spindle run -m yarn-cluster -ys 2 -p 4 examples/wordcount.yaml`: 2 TaskManagers × 2 slots,
#     4 counting subtasks, their counts combined through the job's key-value store), and shows the
#     total the last task printed when the embedded mini-yarn's logs are at hand;
#  2. brings up a session cluster (2 TaskManagers × 2 slots, kept up by
#     slotmanager.number-of-slots.min), runs a job in it, lists its jobs, shows its TaskManagers
#     through the ApplicationMaster's REST API, and stops it.
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

echo "== A job on a per-job cluster: $spindle run -m yarn-cluster -ys 2 -p 4 examples/wordcount.yaml"
job_out="$("$spindle" run -m yarn-cluster -ys 2 -p 4 examples/wordcount.yaml)" || {
  printf '%s\n' "$job_out"
  echo "quickstart: the word count did not finish" >&2
  exit 1
}
printf '%s\n' "$job_out"
# The embedded mini-yarn keeps container logs under <temp>/spindle-mini-<user>/work.
user="${HADOOP_USER_NAME:-${USER:-${LOGNAME:-$(id -un)}}}"
app="$(grep -o 'application_[0-9]*_[0-9]*' <<<"$job_out" | head -1)"
if [ -z "${HADOOP_CONF_DIR:-}${YARN_CONF_DIR:-}" ] && [ -n "$app" ]; then
  grep -rh "total words" "${TMPDIR:-/tmp}/spindle-mini-$user/work/"*/logs/"$app"/ 2>/dev/null | sed 's/^/The job printed: /' || true
fi

echo
echo "== A session cluster: $spindle yarn-session -d -s 2 -Dslotmanager.number-of-slots.min=4"
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
echo "== A job in the session: $spindle run examples/parallel-sum.yaml"
"$spindle" run examples/parallel-sum.yaml
"$spindle" list -a
echo
echo "GET $web/overview"
curl -sf "$web/overview" | python3 -m json.tool
echo "GET $web/taskmanagers"
curl -sf "$web/taskmanagers" | python3 -c '
import json, sys
for tm in json.load(sys.stdin)["taskmanagers"]:
    print("  %s: %d slots, %d free, at %s" % (tm["id"], tm["slotsNumber"], tm["freeSlots"], tm["path"]))'

# The embedded mini-yarn this run started, if any (the CLI names its pid).
mini_pid="$(sed -n 's/.*started an embedded mini-yarn (pid \([0-9]*\),.*/\1/p' <<<"$job_out"$'\n'"$out")"
if $keep; then
  echo "The session keeps running: $spindle yarn-session --stop"
else
  echo
  "$spindle" yarn-session --stop
  if [ -n "$mini_pid" ]; then
    kill "$mini_pid" && echo "Stopped the embedded mini-yarn (pid $mini_pid)"
  fi
fi
