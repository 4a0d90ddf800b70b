#!/usr/bin/env bash
# Runs the kill loop (tests/system/kill_loop_test.cpp) for ROUNDS rounds (default 200) against the
# built server and prints its figures. HOOKWERK_KILL_SEED=<seed> replays a seed.
#   scripts/kill-loop.sh [ROUNDS]
# Needs a build (scripts/build.sh, or cmake --build build --target hookwerk system_tests).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${1:-200}"
binary="${HOOKWERK_BUILD_DIR:-build}/tests/system_tests"
if [[ ! -x "$binary" ]]; then
  echo "kill-loop: $binary not found; build it first (cmake --build build --target hookwerk system_tests)" >&2
  exit 2
fi

log="$(mktemp -t hookwerk-kill-loop.XXXXXX)"
echo "kill-loop: $rounds rounds, log in $log"
start=$(date +%s)
status=0
HOOKWERK_KILL_ROUNDS="$rounds" "$binary" --gtest_filter='KillLoop.NoAcknowledgedEventIsLostAcrossKills' \
  >"$log" 2>&1 || status=$?
end=$(date +%s)

grep -E '^kill-loop seed' "$log" || true
sed -n '/^kill-loop figures/,/run time/p' "$log"
if [[ $status -ne 0 ]]; then
  echo "kill-loop: FAILED (exit $status); the failures:" >&2
  grep -E 'Failure|never got|never ingested|out of order|restart|seed' "$log" | grep -v '^round ' | head -40 >&2
else
  echo "kill-loop: passed, $rounds rounds in $((end - start)) s"
fi
exit $status
