#!/usr/bin/env bash
# Builds a spindle binary that runs on old Linux distributions: linked against glibc 2.17 (CentOS 7 and
# everything newer, including the Ubuntu-based apache/hadoop 3.4 images), through cargo-zigbuild, which
# uses zig as the linker with glibc stubs of the chosen version. spindle has no C dependencies, so only
# the link step changes; the code is the same as `cargo build --release`.
#
# zig and cargo-zigbuild come from PyPI (the `ziglang` and `cargo-zigbuild` packages) into a virtual
# environment under $SPINDLE_TOOLS_CACHE (default ~/.cache/spindle-tools), installed once and reused.
#
#   scripts/build-portable.sh            # prints the binary's path on the last line of stdout
#   SPINDLE_GLIBC=2.28 scripts/build-portable.sh
#
# Exit 77 when the tools cannot be installed (no python3, or PyPI unreachable): a loud skip for lanes.
set -euo pipefail
cd "$(dirname "$0")/.."

glibc="${SPINDLE_GLIBC:-2.17}"
arch="$(uname -m)"
triple="$arch-unknown-linux-gnu"
cache="${SPINDLE_TOOLS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/spindle-tools}"
venv="$cache/zigbuild-venv"
# Pinned so that a build is reproducible; bump together.
ziglang_version="${SPINDLE_ZIGLANG_VERSION:-0.15.2}"
zigbuild_version="${SPINDLE_ZIGBUILD_VERSION:-0.24.0}"

say() { echo "build-portable: $*" >&2; }

command -v python3 >/dev/null || { say "python3 not found: cannot install zig and cargo-zigbuild"; exit 77; }
stamp="$venv/.installed-$ziglang_version-$zigbuild_version"
if [ ! -e "$stamp" ]; then
  say "installing ziglang $ziglang_version and cargo-zigbuild $zigbuild_version into $venv"
  rm -rf "$venv"
  mkdir -p "$cache"
  if ! python3 -m venv "$venv" >&2 ||
    ! "$venv/bin/pip" install --quiet --disable-pip-version-check \
      "ziglang==$ziglang_version" "cargo-zigbuild==$zigbuild_version" >&2; then
    rm -rf "$venv"
    say "could not install ziglang and cargo-zigbuild from PyPI"
    exit 77
  fi
  touch "$stamp"
fi
# cargo-zigbuild finds zig through the ziglang package (`python3 -m ziglang`) when the venv's python
# is first on PATH.
export PATH="$venv/bin:$PATH"

say "cargo zigbuild --release --target $triple.$glibc (a first build takes minutes)"
started=$(date +%s)
CARGO_INCREMENTAL=0 cargo zigbuild --release --quiet --locked -p spindle --bin spindle \
  --target "$triple.$glibc" >&2
binary="$PWD/target/$triple/release/spindle"
[ -x "$binary" ] || { say "the build produced no $binary"; exit 1; }
say "built in $(($(date +%s) - started)) s"

# The newest glibc symbol version the binary needs must not exceed the one asked for.
if command -v objdump >/dev/null; then
  needed="$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n -u | tail -n1)"
  say "needs glibc >= $needed (asked for $glibc)"
  if [ "$(printf '%s\n%s\n' "$needed" "$glibc" | sort -t. -k1,1n -k2,2n | tail -n1)" != "$glibc" ]; then
    say "the binary needs glibc $needed, newer than $glibc"
    exit 1
  fi
fi
echo "$binary"
