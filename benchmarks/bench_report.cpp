#include "benchmarks/bench_report.hpp"

#include "actors/support/json_writer.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace hookwerk::bench {

namespace {

std::string format_value(double v, const std::string& unit) {
  char buf[64];
  if (unit == "ms" || unit == "s")
    std::snprintf(buf, sizeof buf, v < 10 ? "%.3f" : (v < 1000 ? "%.1f" : "%.0f"), v);
  else if (unit == "MiB" || unit == "KiB" || unit == "cores" || unit == "ratio" || unit == "x")
    std::snprintf(buf, sizeof buf, "%.3f", v);
  else if (std::fabs(v - std::round(v)) < 1e-9)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, v < 100 ? "%.2f" : "%.0f", v);
  std::string out = buf;
  if (!unit.empty() && unit != "ratio" && unit != "x")
    out += unit[0] == '/' ? unit : " " + unit;
  return out;
}

std::string pad(std::string s, size_t width, bool right = false) {
  // Width in characters: count UTF-8 lead bytes only.
  size_t chars = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80)
      ++chars;
  if (chars >= width)
    return s;
  std::string fill(width - chars, ' ');
  return right ? fill + s : s + fill;
}

void json_number(support::json_writer& w, double v) {
  if (!std::isfinite(v)) {
    w.null();
    return;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  w.raw(buf);
}

} // namespace

std::string format_table(const std::vector<figure>& figures) {
  size_t w0 = 8, w1 = 6, w2 = 5;
  std::vector<std::array<std::string, 4>> rows;
  for (const auto& f : figures) {
    std::array<std::string, 4> r{f.workload, f.name, format_value(f.value, f.unit), ""};
    if (f.ratio && std::isfinite(*f.ratio)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.3f", *f.ratio);
      r[3] = std::string{buf} + " (" + f.ratio_to + ")";
    }
    w0 = std::max(w0, r[0].size());
    w1 = std::max(w1, r[1].size());
    w2 = std::max(w2, r[2].size());
    rows.push_back(std::move(r));
  }
  std::string out;
  auto line = [&](const std::array<std::string, 4>& r, bool right) {
    out += pad(r[0], w0) + "  " + pad(r[1], w1) + "  " + pad(r[2], w2, right) + "  " + r[3];
    while (!out.empty() && out.back() == ' ')
      out.pop_back();
    out += "\n";
  };
  line({"workload", "figure", "value", "ratio to raw"}, false);
  out += std::string(w0, '-') + "  " + std::string(w1, '-') + "  " + std::string(w2, '-') +
         "  " + std::string(12, '-') + "\n";
  std::string last;
  for (auto& r : rows) {
    if (r[0] == last)
      r[0].clear();
    else
      last = r[0];
    line(r, true);
  }
  return out;
}

void write_json(const std::string& path, const run_record& run, const std::vector<figure>& figures) {
  support::json_writer w{16384};
  const auto& o = run.opts;
  w.begin_object();
  w.member("tool", "hookwerk-bench");
  w.member("started_at", run.started_at);
  w.key("total_seconds");
  json_number(w, run.total_seconds);

  w.key("machine");
  w.begin_object();
  w.member("cores", run.machine.cores);
  w.member("cpu_model", run.machine.cpu_model);
  w.member("mem_total_kib", run.machine.mem_total_kib);
  w.member("kernel", run.machine.kernel);
  w.member("load_average_before", run.load_before);
  w.member("load_average_after", run.load_after);
  w.end_object();

  w.key("config");
  w.begin_object();
  w.key("workloads");
  w.begin_array();
  for (const auto& x : o.workloads)
    w.value(x);
  w.end_array();
  w.member("smoke", o.smoke);
  w.member("target", o.target);
  w.key("duration_s");
  json_number(w, o.duration_s);
  w.key("warmup_s");
  json_number(w, o.warmup_s);
  w.member("connections", o.connections);
  w.member("hooks", o.hooks);
  w.key("fanout");
  w.begin_array();
  for (int f : o.fanout)
    w.value(f);
  w.end_array();
  w.member("fanout_latency_hooks", o.fanout_latency_hooks);
  w.key("fanout_latency_rate");
  json_number(w, o.fanout_latency_rate);
  w.member("isolation_hooks", o.isolation_hooks);
  w.member("batch_size", o.batch_size);
  w.key("rate_fraction");
  json_number(w, o.rate_fraction);
  w.member("payload_bytes", o.payload_bytes);
  w.member("window", o.window);
  w.member("hooks_scale", o.hooks_scale);
  w.member("scale_accounts", o.scale_accounts);
  w.member("sink_delay_ms", o.sink_delay_ms);
  w.member("client_threads", o.client_threads);
  w.member("sink_threads", o.sink_threads);
  w.key("drain_timeout_s");
  json_number(w, o.drain_timeout_s);
  w.key("server_args");
  w.begin_array();
  for (const auto& a : o.server_args)
    w.value(a);
  w.end_array();
  w.end_object();

  w.key("server");
  w.begin_object();
  w.member("binary", run.server_binary);
  w.member("mode", o.target.empty() ? "started by the benchmark" : "external (--target)");
  w.key("runs");
  w.begin_array();
  for (const auto& [workload, argv] : run.server_runs) {
    w.begin_object();
    w.member("workload", workload);
    w.key("argv");
    w.begin_array();
    for (const auto& a : argv)
      w.value(a);
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();

  w.key("figures");
  w.begin_array();
  for (const auto& f : figures) {
    w.begin_object();
    w.member("workload", f.workload);
    w.member("figure", f.name);
    w.key("value");
    json_number(w, f.value);
    w.member("unit", f.unit);
    w.key("ratio_to_raw");
    if (f.ratio)
      json_number(w, *f.ratio);
    else
      w.null();
    w.member("raw_figure", f.ratio_to);
    if (f.must_be_one)
      w.member("must_be_one", true);
    w.end_object();
  }
  w.end_array();

  w.key("notes");
  w.begin_array();
  for (const auto& n : run.notes)
    w.value(n);
  w.end_array();
  w.key("failures");
  w.begin_array();
  for (const auto& n : run.failures)
    w.value(n);
  w.end_array();
  w.member("ok", run.failures.empty());
  w.end_object();

  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << w.str() << "\n";
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

} // namespace hookwerk::bench
