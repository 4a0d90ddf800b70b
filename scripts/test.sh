#!/usr/bin/env bash
# Installs the dependencies, builds everything and runs every test with ctest, then a short
# fuzz pass: every libFuzzer target for HOOKWERK_FUZZ_SECONDS (default 3) in build-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh
scripts/install-test-deps.sh
cd build
ctest --output-on-failure --timeout 900 -j "${HOOKWERK_TEST_JOBS:-2}"
cd ..
scripts/fuzz.sh "${HOOKWERK_FUZZ_SECONDS:-3}"
