#pragma once

#include <string>
#include <vector>

namespace hookwerk::bench {

/// Everything the command line sets. Defaults are written beside each field; --smoke swaps in
/// tiny ones (see apply_smoke_defaults in bench_options.cpp) that explicit flags still override.
struct options {
  std::vector<std::string> workloads;  // Default: every workload but scale
  std::string server_path;             // Default: hookwerk next to this binary
  std::vector<std::string> server_args;  // Default: none (extra flags for hookwerk serve)
  std::string target;                  // Default: empty = start servers ourselves
  std::string admin_token;             // with --target
  std::string ingest_token;            // with --target
  double duration_s = 10;              // Default: 10 (per measured phase)
  double warmup_s = 2;                 // Default: 2
  int connections = 16;                // Default: 16
  int hooks = 100;                     // Default: 100 (e2e, latency)
  std::vector<int> fanout{10, 100};    // Default: 10,100
  int fanout_latency_hooks = 100;      // Default: 100 (hooks per event of fanout-latency)
  double fanout_latency_rate = 80;     // Default: 80 events/s (fanout-latency, open loop)
  int isolation_hooks = 100;           // Default: 100
  int batch_size = 100;                // Default: 100
  double rate_fraction = 0.5;          // Default: 0.5
  int payload_bytes = 300;             // Default: 300
  int window = 2000;                   // Default: 2000 outstanding deliveries (closed loop)
  int hooks_scale = 100000;            // Default: 100000
  int scale_accounts = 10;             // Default: 10
  int sink_delay_ms = 0;               // Default: 0 (>0: the sink answers after this delay)
  int client_threads = 1;              // Default: 1
  int sink_threads = 1;                // Default: 1
  double drain_timeout_s = 120;        // Default: 120
  std::string json_path;               // Default: none
  bool smoke = false;
  bool help = false;
};

/// The workloads --workloads accepts, in the order they run.
const std::vector<std::string>& known_workloads();

/// Parses argv into `out`. Returns an error text, or empty on success.
std::string parse_options(int argc, char** argv, options& out);

/// The --help text.
std::string usage();

} // namespace hookwerk::bench
