#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang, ASan and UBSan in their own build dir
# (build-fuzz) and runs each for SECONDS (default 60) on its seed corpus, one after the other.
# Prints the executions per target and their total. Exits non-zero if a target crashes, fails
# a property or hangs; the input that did it is saved as build-fuzz/tests/fuzz/artifacts/<target>-*.
# Needs clang and libclang-rt-14-dev (scripts/install-test-deps.sh installs them).
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
build="${HOOKWERK_FUZZ_BUILD_DIR:-build-fuzz}"
if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz.sh: clang++ not found; run scripts/install-test-deps.sh" >&2
  exit 2
fi

targets=()
for source in tests/fuzz/*_fuzz.cpp; do
  name="$(basename "$source" .cpp)"
  targets+=("${name%_fuzz}")
done

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOOKWERK_FUZZ=ON \
  -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build" -j "${HOOKWERK_BUILD_JOBS:-2}" --target "${targets[@]/%/_fuzz}"

out="$build/tests/fuzz"
mkdir -p "$out/logs" "$out/artifacts"
total=0
failed=()
printf '%-16s %14s  %s\n' target executions result
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus/$t"
  options=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1
           -artifact_prefix="$out/artifacts/$t-")
  [ -f "tests/fuzz/$t.dict" ] && options+=(-dict="tests/fuzz/$t.dict")
  # New inputs go to the build dir's corpus (listed first); the seeds in the source tree are only read.
  result=ok
  "$out/${t}_fuzz" "${options[@]}" "$out/corpus/$t" "tests/fuzz/corpus/$t" >"$out/logs/$t.log" 2>&1 \
    || { result="FAILED (see $out/logs/$t.log)"; failed+=("$t"); }
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/logs/$t.log" | tail -n 1)"
  runs="${runs:-0}"
  total=$((total + runs))
  printf '%-16s %14s  %s\n' "$t" "$runs" "$result"
done
printf '%-16s %14s\n' total "$total"

if [ "${#failed[@]}" -gt 0 ]; then
  for t in "${failed[@]}"; do
    echo "---- $t ----" >&2
    grep -E -A20 'ERROR|property failed|runtime error|Test unit written' "$out/logs/$t.log" | head -n 60 >&2 || tail -n 40 "$out/logs/$t.log" >&2
  done
  exit 1
fi
