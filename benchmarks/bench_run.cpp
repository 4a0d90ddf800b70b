#include "benchmarks/bench.hpp"

#include "benchmarks/bench_workloads.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>

namespace hookwerk::bench {

namespace {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool selected(const options& o, const std::string& w) {
  return std::find(o.workloads.begin(), o.workloads.end(), w) != o.workloads.end();
}

} // namespace

int run_bench(int argc, char** argv) {
  install_process_settings();
  bench_run run;
  if (auto err = parse_options(argc, argv, run.opt); !err.empty()) {
    std::fprintf(stderr, "hookwerk-bench: %s\n", err.c_str());
    return 2;
  }
  if (run.opt.help) {
    std::fputs(usage().c_str(), stdout);
    return 0;
  }
  auto& opt = run.opt;
  if (opt.target.empty()) {
    if (opt.server_path.empty())
      opt.server_path = (own_directory() / "hookwerk").string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(opt.server_path, ec)) {
      std::fprintf(stderr, "hookwerk-bench: no server binary at %s (use --server PATH)\n",
                   opt.server_path.c_str());
      return 2;
    }
    run.rec.server_binary = std::filesystem::absolute(opt.server_path).string();
  } else {
    try {
      parse_http_url(opt.target);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hookwerk-bench: --target: %s\n", e.what());
      return 2;
    }
    run.rec.server_binary = "(external) " + opt.target;
  }
  run.tag = random_hex(3);
  run.rec.machine = describe_machine();
  run.rec.started_at = utc_now();
  run.rec.load_before = load_average();
  const auto t_start = now_ns();

  std::string list;
  for (const auto& w : opt.workloads)
    list += (list.empty() ? "" : ",") + w;
  std::fprintf(stderr,
               "hookwerk-bench: %s; %u cores (%s), load average %s; server %s\n"
               "  duration %.1f s + warm-up %.1f s, %d connections, payload %d B, window %d\n",
               list.c_str(), run.rec.machine.cores, run.rec.machine.cpu_model.c_str(),
               run.rec.load_before.c_str(),
               run.rec.server_binary.c_str(), opt.duration_s, opt.warmup_s, opt.connections,
               opt.payload_bytes, opt.window);

  using runner = void (*)(bench_run&);
  const std::map<std::string, runner> runners{
      {"ingest", run_ingest},   {"batch", run_batch},   {"e2e", run_e2e},
      {"latency", run_latency}, {"fanout", run_fanout}, {"fanout-latency", run_fanout_latency},
      {"isolation", run_isolation}, {"scale", run_scale}};

  auto& failures = run.rec.failures;
  bool raw_ok = false;
  try {
    run_raw(run, selected(opt, "batch"));
    raw_ok = true;
  } catch (const std::exception& e) {
    end_progress();
    failures.push_back(std::string{"raw: "} + e.what());
  }
  for (const auto& w : known_workloads()) {
    if (!raw_ok || g_interrupted.load() || !selected(opt, w))
      continue;
    auto before = std::count_if(run.figures.begin(), run.figures.end(),
                                [&](const figure& f) { return f.workload == w; });
    try {
      runners.at(w)(run);
    } catch (const std::exception& e) {
      end_progress();
      failures.push_back(w + ": " + e.what());
      std::fprintf(stderr, "hookwerk-bench: %s failed: %s\n", w.c_str(), e.what());
      continue;
    }
    auto after = std::count_if(run.figures.begin(), run.figures.end(),
                               [&](const figure& f) { return f.workload == w; });
    if (after == before)
      failures.push_back(w + ": produced no figure");
  }
  end_progress();
  for (const auto& f : run.figures)
    if (f.must_be_one && !(f.value >= 1.0))
      failures.push_back(f.workload + ": " + f.name + " is " + std::to_string(f.value) +
                         " (must be 1.0)");
  if (g_interrupted.load())
    failures.push_back("interrupted");
  run.rec.opts = opt;
  run.rec.load_after = load_average();
  run.rec.total_seconds = static_cast<double>(now_ns() - t_start) / 1e9;

  std::fputs(format_table(run.figures).c_str(), stdout);
  std::fflush(stdout);
  if (!opt.json_path.empty()) {
    try {
      write_json(opt.json_path, run.rec, run.figures);
      std::fprintf(stderr, "hookwerk-bench: wrote %s\n", opt.json_path.c_str());
    } catch (const std::exception& e) {
      failures.push_back(e.what());
    }
  }
  std::fprintf(stderr, "hookwerk-bench: %.1f s in all; load average now %s\n",
               run.rec.total_seconds, run.rec.load_after.c_str());
  for (const auto& f : failures)
    std::fprintf(stderr, "FAILED: %s\n", f.c_str());
  if (g_interrupted.load())
    return 130;
  return failures.empty() ? 0 : 1;
}

} // namespace hookwerk::bench
