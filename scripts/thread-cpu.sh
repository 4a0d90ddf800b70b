#!/usr/bin/env bash
# Where a delivery's server CPU goes, thread by thread.
#
#   scripts/thread-cpu.sh [--server PATH] [bench flags...]
#   scripts/thread-cpu.sh --workloads=fanout --fanout 100
#   scripts/thread-cpu.sh --server /tmp/hookwerk-old --workloads=e2e
#
# Runs one workload of build/hookwerk-bench (20 s measured), and 7 s into it reads, for 8 s,
# every server thread's user and system CPU time and its voluntary and involuntary context
# switches (/proc/PID/task/*), and the server's successful deliveries (/metrics). Prints each
# busy thread's share per delivery, then the total. No profiler runs beside the server, so
# nothing here slows it; the kernel's tick accounting makes single figures coarse (±0.3 µs),
# so compare runs interleaved.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bench=${BENCH:-$here/build/hookwerk-bench}
server=$here/build/hookwerk
if [[ ${1:-} == --server ]]; then
  server=$2
  shift 2
fi
[[ -x $bench ]] || { echo "thread-cpu: $bench not built" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$bench" --server "$server" --duration 20 "$@" > "$out/bench.txt" 2>&1 &
bench_pid=$!

# The server is the bench's child running `serve` (it starts after the raw phase).
pid=
for _ in $(seq 1 900); do
  pid=$(pgrep -P "$bench_pid" -f ' serve ' | head -1 || true)
  [[ -n $pid ]] && break
  sleep 0.1
done
[[ -n $pid ]] || { echo "thread-cpu: no server started" >&2; cat "$out/bench.txt" >&2; exit 1; }
sleep 7
port=$(ss -ltnpH | awk -v p="pid=$pid," 'index($0, p) {n = split($4, a, ":"); print a[n]; exit}')

snapshot() {
  for t in /proc/"$pid"/task/*; do
    read -r -a stat < "$t/stat" || continue
    # Fields 14 and 15 of stat (utime, stime, in clock ticks), counted from the first
    # field after the parenthesised name, which may hold spaces.
    local rest=${stat[*]}
    rest=${rest#*) }
    read -r -a f <<< "$rest"
    echo "$(basename "$t") $(tr ' ' _ < "$t/comm") ${f[11]} ${f[12]}" \
      "$(awk '/^voluntary_ctxt/ {v = $2} /^nonvoluntary_ctxt/ {n = $2} END {print v, n}' "$t/status")"
  done
}
delivered() {
  curl -fs "http://127.0.0.1:$port/metrics" |
    awk '/^hookwerk_deliveries_total\{outcome="success"\}/ {print $2}'
}

d0=$(delivered); snapshot > "$out/s0"
sleep 8
d1=$(delivered); snapshot > "$out/s1"
wait "$bench_pid" || true

awk -v d=$((d1 - d0)) -v hz="$(getconf CLK_TCK)" '
  NR == FNR { u[$1] = $3; s[$1] = $4; v[$1] = $5; n[$1] = $6; next }
  ($1 in u) {
    us = 1e6 / hz / d
    du = ($3 - u[$1]) * us; ds = ($4 - s[$1]) * us
    dv = ($5 - v[$1]) / d; dn = ($6 - n[$1]) / d
    tu += du; ts += ds; tv += dv; tn += dn
    if (du + ds >= 0.05 || dv >= 0.01)
      printf "%-16s user %6.2f us  sys %6.2f us  switches %5.3f voluntary %5.3f involuntary\n", $2, du, ds, dv, dn
  }
  END {
    printf "%-16s user %6.2f us  sys %6.2f us  switches %5.3f voluntary %5.3f involuntary\n", "all threads", tu, ts, tv, tn
    printf "per delivery, over %d deliveries\n", d
  }' "$out/s0" "$out/s1"
grep -E 'deliveries/s|CPU per delivery' "$out/bench.txt" | grep -v 'owed' || true
