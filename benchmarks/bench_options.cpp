#include "benchmarks/bench_options.hpp"

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

namespace hookwerk::bench {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in{text};
  while (std::getline(in, item, sep))
    if (!item.empty())
      out.push_back(item);
  return out;
}

long long to_int(const std::string& flag, const std::string& v, long long lo, long long hi) {
  long long x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc{} || p != v.data() + v.size() || x < lo || x > hi)
    throw std::invalid_argument(flag + ": expected an integer in " + std::to_string(lo) + ".." +
                                std::to_string(hi) + ", got '" + v + "'");
  return x;
}

double to_double(const std::string& flag, const std::string& v, double lo, double hi) {
  try {
    size_t used = 0;
    double x = std::stod(v, &used);
    if (used == v.size() && x >= lo && x <= hi)
      return x;
  } catch (const std::exception&) {
  }
  std::ostringstream msg;
  msg << flag << ": expected a number in " << lo << ".." << hi << ", got '" << v << "'";
  throw std::invalid_argument(msg.str());
}

void apply_smoke_defaults(options& o) {
  o.workloads = {"ingest", "batch", "e2e", "latency", "fanout", "fanout-latency", "isolation",
                 "scale"};
  o.duration_s = 1;
  o.warmup_s = 0.3;
  o.connections = 4;
  o.hooks = 10;
  o.fanout = {5};
  o.fanout_latency_hooks = 5;
  o.fanout_latency_rate = 20;
  o.isolation_hooks = 10;
  o.batch_size = 10;
  o.window = 200;
  o.hooks_scale = 200;
  o.scale_accounts = 2;
  o.drain_timeout_s = 20;
}

} // namespace

const std::vector<std::string>& known_workloads() {
  static const std::vector<std::string> names{"ingest", "batch", "e2e",
                                              "latency", "fanout", "fanout-latency",
                                              "isolation", "scale"};
  return names;
}

std::string usage() {
  return R"(hookwerk-bench - load generator and report for the Hookwerk webhook server

Usage: hookwerk-bench [flags]          (flags as --flag=VALUE or --flag VALUE)

Workloads (run in this order; each gets a fresh server and data dir):
  ingest     single-event POST /v1/events to an account without hooks: accepted/s, HTTP latency
  batch      NDJSON batches (--batch-size events) to an account without hooks: events/s
  e2e        --hooks hooks, each event to exactly one (round robin): deliveries/s, e2e latency,
             delivered/accepted after draining
  latency    open loop at --rate-fraction of the e2e saturation: e2e latency from intended send time
  fanout     each event to F hooks, for each F in --fanout: deliveries/s, e2e latency, bytes
             written to the server's log per event
  fanout-latency
             each event to --fanout-latency-hooks hooks, open loop at --fanout-latency-rate
             events/s: latency of every delivery from its event's intended send time
  isolation  --isolation-hooks hooks, half of them on a receiver that never answers: the healthy
             half compared with the same half when all are healthy
  scale      register --hooks-scale hooks through the API, server RSS, restart-to-ready time
A raw baseline (the same generator POSTing the same bodies straight to the receiver) runs first;
every rate and latency is also shown as a ratio to it.

Flags:
  --workloads=LIST      comma-separated, default every workload but scale
  --server PATH         hookwerk binary (default: hookwerk next to this binary)
  --server-arg ARG      extra flag for hookwerk serve (repeatable, e.g. --server-arg=--workers=2)
  --target URL          use a running server (http://HOST:PORT) instead of starting one;
                        needs --admin-token and --ingest-token; it must allow private targets
  --admin-token T, --ingest-token T
  --duration SEC        measured time per phase (default 10)
  --warmup SEC          unmeasured time before each measured phase (default 2)
  --connections C       generator keep-alive connections (default 16)
  --hooks H             hooks of e2e and latency (default 100)
  --fanout LIST         hooks per event for fanout (default 10,100)
  --fanout-latency-hooks F
                        hooks per event for fanout-latency (default 100)
  --fanout-latency-rate R
                        fanout-latency: events/s sent, open loop (default 80, i.e. 8000
                        deliveries/s at 100 hooks)
  --isolation-hooks F   hooks of the isolation run, half of them blackholed (default 100)
  --batch-size N        events per NDJSON batch (default 100)
  --rate-fraction F     latency: fraction of the e2e saturation to send at (default 0.5)
  --payload-bytes N     size of each event's payload (default 300)
  --window N            closed-loop flow control: most deliveries outstanding (accepted, not yet
                        received) before the generator waits (default 2000)
  --hooks-scale N       scale: hooks to register (default 100000)
  --scale-accounts N    scale: accounts the hooks are spread over (default 10)
  --sink-delay MS       receivers answer after MS milliseconds (default 0)
  --client-threads N    generator io threads (default 1)
  --sink-threads N      receiver io threads (default 1)
  --drain-timeout SEC   most time to wait for outstanding deliveries after a run (default 120;
                        fanout-latency waits at most 15 s and counts the rest as undelivered)
  --json FILE           also write every figure, the machine and the configuration as JSON
  --smoke               about 1-2 s per workload with tiny sizes, all workloads incl. scale (CI)
  --help                this text

Exit status: 0 ok; 1 when a workload failed, produced no figure, or delivered/accepted < 1.0;
2 on a usage error; 130 when interrupted.
)";
}

std::string parse_options(int argc, char** argv, options& out) {
  std::vector<std::pair<std::string, std::string>> given;
  static const std::vector<std::string> switches{"--smoke", "--help", "-h"};
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "help")
        arg = "--help";
      if (arg.rfind("-", 0) != 0)
        throw std::invalid_argument("unexpected argument '" + arg + "'");
      auto eq = arg.find('=');
      std::string name = arg.substr(0, eq);
      std::string value;
      if (std::find(switches.begin(), switches.end(), name) != switches.end()) {
        if (eq != std::string::npos)
          throw std::invalid_argument(name + " takes no value");
      } else if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
      } else {
        if (i + 1 >= argc)
          throw std::invalid_argument(name + " needs a value");
        value = argv[++i];
      }
      given.emplace_back(name, value);
    }

    options o;
    o.workloads = {"ingest", "batch", "e2e", "latency", "fanout", "fanout-latency", "isolation"};
    for (const auto& [name, value] : given) {
      if (name == "--smoke")
        o.smoke = true;
      if (name == "--help" || name == "-h")
        o.help = true;
    }
    if (o.smoke)
      apply_smoke_defaults(o);

    using setter = std::function<void(const std::string&, const std::string&)>;
    const std::map<std::string, setter> table{
        {"--smoke", [&](auto&, auto&) {}},
        {"--help", [&](auto&, auto&) {}},
        {"-h", [&](auto&, auto&) {}},
        {"--workloads",
         [&](auto& f, auto& v) {
           auto list = split(v, ',');
           if (list.empty())
             throw std::invalid_argument(f + ": empty list");
           for (const auto& w : list)
             if (std::find(known_workloads().begin(), known_workloads().end(), w) ==
                 known_workloads().end())
               throw std::invalid_argument(f + ": unknown workload '" + w + "'");
           o.workloads = list;
         }},
        {"--server", [&](auto&, auto& v) { o.server_path = v; }},
        {"--server-arg", [&](auto&, auto& v) { o.server_args.push_back(v); }},
        {"--target", [&](auto&, auto& v) { o.target = v; }},
        {"--admin-token", [&](auto&, auto& v) { o.admin_token = v; }},
        {"--ingest-token", [&](auto&, auto& v) { o.ingest_token = v; }},
        {"--duration", [&](auto& f, auto& v) { o.duration_s = to_double(f, v, 0.1, 86400); }},
        {"--warmup", [&](auto& f, auto& v) { o.warmup_s = to_double(f, v, 0, 3600); }},
        {"--connections",
         [&](auto& f, auto& v) { o.connections = static_cast<int>(to_int(f, v, 1, 4096)); }},
        {"--hooks", [&](auto& f, auto& v) { o.hooks = static_cast<int>(to_int(f, v, 1, 100000)); }},
        {"--fanout",
         [&](auto& f, auto& v) {
           o.fanout.clear();
           for (const auto& item : split(v, ','))
             o.fanout.push_back(static_cast<int>(to_int(f, item, 1, 100000)));
           if (o.fanout.empty())
             throw std::invalid_argument(f + ": empty list");
         }},
        {"--fanout-latency-hooks",
         [&](auto& f, auto& v) {
           o.fanout_latency_hooks = static_cast<int>(to_int(f, v, 1, 100000));
         }},
        {"--fanout-latency-rate",
         [&](auto& f, auto& v) { o.fanout_latency_rate = to_double(f, v, 0.01, 1e6); }},
        {"--isolation-hooks",
         [&](auto& f, auto& v) { o.isolation_hooks = static_cast<int>(to_int(f, v, 2, 100000)); }},
        {"--batch-size",
         [&](auto& f, auto& v) { o.batch_size = static_cast<int>(to_int(f, v, 1, 100000)); }},
        {"--rate-fraction",
         [&](auto& f, auto& v) { o.rate_fraction = to_double(f, v, 0.001, 10); }},
        {"--payload-bytes",
         [&](auto& f, auto& v) { o.payload_bytes = static_cast<int>(to_int(f, v, 32, 1 << 24)); }},
        {"--window", [&](auto& f, auto& v) { o.window = static_cast<int>(to_int(f, v, 1, 1 << 30)); }},
        {"--hooks-scale",
         [&](auto& f, auto& v) { o.hooks_scale = static_cast<int>(to_int(f, v, 1, 10000000)); }},
        {"--scale-accounts",
         [&](auto& f, auto& v) { o.scale_accounts = static_cast<int>(to_int(f, v, 1, 1000)); }},
        {"--sink-delay",
         [&](auto& f, auto& v) { o.sink_delay_ms = static_cast<int>(to_int(f, v, 0, 600000)); }},
        {"--client-threads",
         [&](auto& f, auto& v) { o.client_threads = static_cast<int>(to_int(f, v, 1, 64)); }},
        {"--sink-threads",
         [&](auto& f, auto& v) { o.sink_threads = static_cast<int>(to_int(f, v, 1, 64)); }},
        {"--drain-timeout",
         [&](auto& f, auto& v) { o.drain_timeout_s = to_double(f, v, 0, 86400); }},
        {"--json", [&](auto&, auto& v) { o.json_path = v; }},
    };
    for (const auto& [name, value] : given) {
      auto it = table.find(name);
      if (it == table.end())
        throw std::invalid_argument("unknown flag " + name + " (see --help)");
      it->second(name, value);
    }
    if (!o.target.empty() && (o.admin_token.empty() || o.ingest_token.empty()))
      throw std::invalid_argument("--target needs --admin-token and --ingest-token");
    out = std::move(o);
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

} // namespace hookwerk::bench
