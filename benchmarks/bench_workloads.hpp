#pragma once

#include "benchmarks/bench_http.hpp"
#include "benchmarks/bench_options.hpp"
#include "benchmarks/bench_process.hpp"
#include "benchmarks/bench_report.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hookwerk::bench {

/// Figures of the raw baseline (generator straight to the receiver).
struct raw_baseline {
  double rps = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  double batch_events_per_s = 0;
  double batch_p50_ms = 0, batch_p99_ms = 0;
};

/// Deliveries/s and latency of the first half of a hook set (isolation's comparison).
struct half_stats {
  bool have = false;
  double rate = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

/// State shared by the workloads of one invocation. Used from the main thread only.
struct bench_run {
  options opt;
  run_record rec;
  std::vector<figure> figures;
  raw_baseline raw;
  double e2e_saturation = 0;            ///< deliveries/s of the e2e workload, once it ran
  std::map<int, half_stats> fanout_half;
  std::string tag;                      ///< makes account names unique per invocation

  void add(const std::string& workload, const std::string& name, double value,
           const std::string& unit);
  /// A rate, with its ratio to `base` (a raw rate) labelled `base_name`.
  void add_ratio(const std::string& workload, const std::string& name, double value,
                 const std::string& unit, double base, const std::string& base_name);
  void note(const std::string& text);
};

/// Progress on stderr: one rewritten line on a terminal, plain lines otherwise.
void show_progress(const std::string& text);
void end_progress();

void run_raw(bench_run& run, bool with_batch);
void run_ingest(bench_run& run);
void run_batch(bench_run& run);
void run_e2e(bench_run& run);
void run_latency(bench_run& run);
void run_fanout(bench_run& run);
void run_fanout_latency(bench_run& run);
void run_isolation(bench_run& run);
void run_scale(bench_run& run);

} // namespace hookwerk::bench
