#!/usr/bin/env bash
# Installs the dependencies, builds everything and runs every test with ctest, then a short
# fuzz pass: every libFuzzer target for HOOKWERK_FUZZ_SECONDS (default 3) in build-fuzz.
#
# HOOKWERK_SANITIZE=address,undefined (or address, or undefined) instead builds everything with
# those sanitizers in build-asan and runs the whole suite; HOOKWERK_SANITIZE=thread builds in
# build-tsan and runs the storage, actors and engine suites. Every sanitizer report, from a test
# or from a server it started, is written under <build>/sanitizer-reports; the run fails if there
# is any. Suppressions: tests/sanitizers/*.supp. No fuzz pass in these modes.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${HOOKWERK_SANITIZE:-}" ]; then
  case "$HOOKWERK_SANITIZE" in
    address,undefined | undefined,address | address | undefined)
      build=build-asan labels='' targets=() scale=5 ;;
    thread)
      build=build-tsan labels='^(storage|actors|engine)$' scale=5
      targets=(--target storage_tests actors_tests engine_tests) ;;
    *) echo "test.sh: HOOKWERK_SANITIZE must be address,undefined or thread" >&2; exit 2 ;;
  esac
  build="${HOOKWERK_SANITIZE_BUILD_DIR:-$build}"
  scripts/install-deps.sh
  scripts/install-test-deps.sh
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHOOKWERK_SANITIZE="$HOOKWERK_SANITIZE" >/dev/null
  cmake --build "$build" -j "${HOOKWERK_BUILD_JOBS:-2}" "${targets[@]}"

  if [ "$HOOKWERK_SANITIZE" = thread ]; then
    # Debian's CAF rebuilt with TSan instrumentation (see the script for why), loaded instead.
    scripts/build-caf-tsan.sh "$build/caf-tsan"
    export LD_LIBRARY_PATH="$PWD/$build/caf-tsan/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi

  reports="$PWD/$build/sanitizer-reports"
  supp="$PWD/tests/sanitizers"
  rm -rf "$reports" && mkdir -p "$reports"
  export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp"
  export TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=0:second_deadlock_stack=1:history_size=7:suppressions=$supp/tsan.supp:print_suppressions=0"
  # Instrumented code is slower: the tests' latency bounds stretch by this factor.
  export HOOKWERK_TEST_TIME_SCALE="${HOOKWERK_TEST_TIME_SCALE:-$scale}"
  status=0
  (cd "$build" && ctest --output-on-failure --timeout 1800 -j "${HOOKWERK_TEST_JOBS:-2}" \
     ${labels:+-L "$labels"}) || status=$?
  found=("$reports"/*)
  if [ -e "${found[0]}" ]; then
    for f in "${found[@]}"; do echo "==== $f" >&2; head -n 80 "$f" >&2; done
    echo "test.sh: ${#found[@]} sanitizer report(s) in $reports" >&2
    exit 1
  fi
  echo "test.sh: no sanitizer reports ($HOOKWERK_SANITIZE)"
  exit "$status"
fi

scripts/build.sh
scripts/install-test-deps.sh
cd build
ctest --output-on-failure --timeout 900 -j "${HOOKWERK_TEST_JOBS:-2}"
cd ..
scripts/fuzz.sh "${HOOKWERK_FUZZ_SECONDS:-3}"
