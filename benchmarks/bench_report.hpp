#pragma once

#include "benchmarks/bench_options.hpp"
#include "benchmarks/bench_process.hpp"

#include <optional>
#include <string>
#include <vector>

namespace hookwerk::bench {

/// One number of the report.
struct figure {
  std::string workload;
  std::string name;
  double value = 0;
  std::string unit;              ///< "/s", "ms", "MiB", "s", "" …
  std::optional<double> ratio;   ///< value divided by the raw baseline figure named in ratio_to
  std::string ratio_to;
  bool must_be_one = false;      ///< a completeness check: the run fails when value < 1.0
};

/// What the JSON file records besides the figures.
struct run_record {
  options opts;
  machine_info machine;
  std::string server_binary;
  std::string started_at;                       ///< UTC, ISO 8601
  std::string load_before;                      ///< /proc/loadavg when the run started
  std::string load_after;                       ///< and when it ended
  std::vector<std::pair<std::string, std::vector<std::string>>> server_runs;  ///< workload, argv
  std::vector<std::string> notes;               ///< anomalies seen during the run
  std::vector<std::string> failures;
  double total_seconds = 0;
};

/// The table: workload, figure, value, ratio to raw.
std::string format_table(const std::vector<figure>& figures);

/// Writes the JSON report; throws std::runtime_error when the file cannot be written.
void write_json(const std::string& path, const run_record& run, const std::vector<figure>& figures);

} // namespace hookwerk::bench
