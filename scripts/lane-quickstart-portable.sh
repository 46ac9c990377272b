#!/usr/bin/env bash
# The README's quick start with the portable binary (scripts/build-portable.sh, linked against glibc
# 2.17): the CLI, the embedded mini-yarn, the ApplicationMaster and the TaskExecutors all run it.
# The portable build is a second release build (several minutes on two cores), so this lane runs only
# with SPINDLE_PORTABLE=1; otherwise it is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SPINDLE_PORTABLE:-}" ] ||
  { echo "lane-quickstart-portable: skipped; SPINDLE_PORTABLE=1 builds the portable binary and runs it" >&2; exit 77; }
binary="$(scripts/build-portable.sh)" || exit $?
# Its own temp folder: the embedded mini-yarn and the session properties file live there.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
TMPDIR="$tmp" SPINDLE_BIN="$binary" scripts/quickstart.sh
