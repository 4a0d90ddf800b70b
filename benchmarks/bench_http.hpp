#pragma once

// The network side of the benchmark: a blocking client for set-up calls, the load generator
// and the receiver ("sink"). The Beast code sits in bench_client.cpp and bench_sink.cpp;
// this header stays free of Boost so the rest of the tool compiles quickly.

#include "benchmarks/bench_histogram.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hookwerk::bench {

/// Nanoseconds on the steady clock; the generator and the sink share this epoch.
int64_t now_ns();

/// Set by SIGINT/SIGTERM; every loop of the tool polls it.
extern std::atomic<bool> g_interrupted;

/// "host:port" split out of http://HOST:PORT[/...]. Throws std::invalid_argument.
struct endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
};
endpoint parse_http_url(std::string_view url);

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_reply {
  int status = 0;     ///< 0 when the request failed before a response arrived
  std::string body;
  std::string error;  ///< transport error text when status is 0
};

/// A blocking HTTP/1.1 client on one keep-alive connection (reconnects when needed).
/// For set-up and probes, not for load. Not thread-safe.
class http_client {
public:
  explicit http_client(endpoint ep);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  http_reply request(std::string_view method, std::string_view target,
                     const header_list& headers = {}, std::string_view body = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds{30});

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// What run_load() reports while it runs (read from the driver thread).
struct load_progress {
  double elapsed_s = 0;
  uint64_t sent = 0;
  uint64_t ok = 0;
  uint64_t units = 0;
  uint64_t failed = 0;
};

/// One load run: C keep-alive connections POSTing to one target.
struct load_spec {
  endpoint ep;
  std::string target = "/";
  header_list headers;          ///< besides Host, Content-Length
  int connections = 16;
  int threads = 1;              ///< io threads of the generator
  double rate = 0;              ///< requests/s over all connections; 0 = closed loop
  double warmup_s = 0;          ///< responses before this are not measured
  double duration_s = 0;        ///< measured window after the warm-up; 0 = none
  uint64_t max_requests = 0;    ///< stop after this many requests; 0 = no count bound
  double max_seconds = 0;       ///< hard bound for count-bounded runs; 0 = warmup + duration
  /// Writes request number `seq` (0, 1, …); `intended_ns` is the time it is meant to be sent
  /// (open loop) or actually sent (closed loop). Called from io threads concurrently.
  std::function<void(uint64_t seq, int64_t intended_ns, std::string& body)> make_body;
  /// Inspects a response: returns the units it accepted (events, hooks …), or -1 when it is a
  /// failure. Called from io threads concurrently. Default: 2xx = 1 unit.
  std::function<int64_t(int status, std::string_view body)> on_response;
  /// Closed loop only: consulted before each request; false = wait a little and ask again.
  std::function<bool(uint64_t units_so_far)> may_send;
  /// Called from the driver thread about once a second, and at the window's edges.
  std::function<void(const load_progress&)> on_progress;
  std::function<void()> on_window_start;
  std::function<void()> on_window_end;
};

struct load_result {
  uint64_t sent = 0;
  uint64_t ok = 0;             ///< responses on_response accepted
  uint64_t failed = 0;         ///< responses on_response rejected
  uint64_t status_503 = 0;
  uint64_t transport_errors = 0;
  uint64_t unanswered = 0;     ///< requests still open when the run was cut off
  uint64_t units = 0;          ///< sum of accepted units (whole run)
  uint64_t ok_in_window = 0;
  uint64_t units_in_window = 0;
  double window_s = 0;         ///< the measured window (or the whole run without one)
  double elapsed_s = 0;        ///< first connect to last response
  int64_t window_start_ns = 0;
  int64_t window_end_ns = 0;
  histogram latency;           ///< of accepted responses completed in the window
  std::string first_error;     ///< first transport error or unexpected status/body
};

/// Runs the load described by `spec`; blocks until it is done (or g_interrupted).
load_result run_load(const load_spec& spec);

/// One delivery as the sink saw it.
struct delivery_record {
  int64_t arrived_ns = 0;   ///< request completely read
  int64_t sent_ns = 0;      ///< "t" from the payload (0 when absent)
  uint64_t event_hash = 0;  ///< hash of the webhook-id header
  uint32_t hook_id = 0;     ///< X-Hookwerk-Webhook-Id
  uint32_t duplicate = 0;   ///< 1 when this (event, hook) pair arrived before
};

enum class sink_mode { normal, slow, blackhole };

/// A webhook receiver on 127.0.0.1:0: keep-alive Beast server that answers 200 (normal),
/// 200 after `delay` (slow) or never (blackhole: reads and discards until the peer closes).
/// Requests carrying a `webhook-id` header are recorded; others (the raw baseline) are only
/// counted. Thread-safe accessors.
class sink {
public:
  struct options {
    int threads = 1;
    sink_mode mode = sink_mode::normal;
    std::chrono::milliseconds delay{0};
  };
  explicit sink(options opts);
  ~sink();
  sink(const sink&) = delete;
  sink& operator=(const sink&) = delete;

  uint16_t port() const;
  std::string url(std::string_view path) const;
  uint64_t requests() const;    ///< every request read
  uint64_t deliveries() const;  ///< requests with a webhook-id
  uint64_t distinct() const;    ///< distinct (webhook-id, hook) pairs
  std::vector<delivery_record> records() const;
  /// Closes the listener and every connection (the peer sees them reset/closed).
  void stop();

  struct impl;  ///< defined in bench_sink.cpp

private:
  std::unique_ptr<impl> impl_;
};

} // namespace hookwerk::bench
