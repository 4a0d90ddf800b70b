#!/usr/bin/env bash
# Installs the dependencies, builds everything and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh
scripts/install-test-deps.sh
cd build
ctest --output-on-failure --timeout 900 -j "${HOOKWERK_TEST_JOBS:-2}"
