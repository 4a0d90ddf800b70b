#!/usr/bin/env bash
# Installs the dependencies and builds Hookwerk into ./build (ninja, 2 jobs).
# Usage: scripts/build.sh [ninja targets...]   (default: everything)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j "${HOOKWERK_BUILD_JOBS:-2}" ${1:+--target "$@"}
