#!/usr/bin/env bash
# Installs the dependencies, builds everything and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh
# The system tests verify webhook signatures with the npm package `standardwebhooks`.
(cd tests/system/js && npm ci --no-audit --no-fund)
cd build
ctest --output-on-failure --timeout 900 -j "${HOOKWERK_TEST_JOBS:-2}"
