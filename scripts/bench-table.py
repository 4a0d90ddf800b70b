#!/usr/bin/env python3
"""Prints the README's performance table from `hookwerk-bench --json` reports.

    scripts/bench-table.py run1.json run2.json run3.json

Each figure of the reports appears once per run, then the median of the runs and the median of
its ratio to the raw limit of the same run. Figures are listed in the order of the first report;
a figure missing from a run is shown as "-" there and left out of the median.
"""
import json
import statistics
import sys

# The figures the README shows; a (workload, figure) pair, or a workload alone for all of its
# figures. Everything else (CPU of the benchmark, counts that must be 0, ...) stays in the JSON.
SHOWN = [
    ("raw", "req/s"), ("raw", "HTTP p50"), ("raw", "batch events/s"),
    ("ingest", "accepted/s"), ("ingest", "HTTP p50"), ("ingest", "HTTP p99"), ("ingest", "HTTP p99.9"),
    ("batch", "events/s"),
    ("e2e", "deliveries/s"), ("e2e", "e2e latency p50"), ("e2e", "e2e latency p99"),
    ("e2e", "server CPU per delivery"), ("e2e", "delivered/accepted"),
    ("latency", "offered events/s"), ("latency", "e2e latency p50"), ("latency", "e2e latency p99"),
    ("latency", "e2e latency p99.9"),
    ("fanout", "deliveries/s"), ("fanout", "e2e latency p99"), ("fanout", "server CPU per delivery"),
    ("fanout", "log bytes per event"), ("fanout", "ingest log bytes per event"),
    ("fanout-latency", "deliveries/s"), ("fanout-latency", "e2e latency p50"),
    ("fanout-latency", "e2e latency p99"), ("fanout-latency", "e2e latency p99.9"),
    ("fanout-latency", "server CPU per delivery"),
    ("isolation", "deliveries/s vs all healthy"), ("isolation", "healthy half"),
]


def shown(workload, figure):
    for w, prefix in SHOWN:
        if w != workload:
            continue
        # "F=100 deliveries/s" matches "deliveries/s"; "batch events/s (100/batch)" matches too.
        bare = figure.split(" ", 1)[1] if figure.startswith("F=") else figure
        if bare.startswith(prefix):
            return True
    return False


def number(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def main(paths):
    runs = [json.load(open(p)) for p in paths]
    order, values, ratios, units = [], {}, {}, {}
    for i, run in enumerate(runs):
        for f in run["figures"]:
            key = (f["workload"], f["figure"])
            if not shown(*key):
                continue
            if key not in values:
                order.append(key)
                values[key] = [None] * len(runs)
                ratios[key] = [None] * len(runs)
            values[key][i] = f["value"]
            ratios[key][i] = f.get("ratio_to_raw")
            units[key] = f["unit"]
    head = "| workload | figure | " + " | ".join(f"run {i + 1}" for i in range(len(runs)))
    print(head + " | median | ratio to raw (median) |")
    print("|---|---|" + "---|" * len(runs) + "---|---|")
    for key in order:
        vs = [v for v in values[key] if v is not None]
        rs = [r for r in ratios[key] if r is not None]
        unit = units[key]
        unit = "" if unit in ("/s", "") else " " + unit
        median = f"**{number(statistics.median(vs))}{unit}**" if vs else "-"
        ratio = f"{statistics.median(rs):.3g}" if rs else ""
        cells = " | ".join(number(v) for v in values[key])
        print(f"| {key[0]} | {key[1]} | {cells} | {median} | {ratio} |")
    loads = ", ".join(r["machine"].get("load_average_before", "?").split(" ")[0] for r in runs)
    print(f"\nLoad average (1 min) before each run: {loads}.")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
