// The workloads. Each starts what it needs (receivers, a fresh server), drives load through
// run_load(), and turns what the generator and the receivers saw into figures.
#include "benchmarks/bench_workloads.hpp"

#include "actors/support/json_writer.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <unordered_set>

namespace hookwerk::bench {

namespace {

constexpr double ns_per_s = 1e9;
constexpr double ns_per_ms = 1e6;
const std::string ingest_path = "/v1/events";
const std::string create_path = "/webservice/webservice/json/CreateWebHook";
const std::string log_bytes_metric = "hookwerk_storage_written_bytes_total";
const std::string synced_log_bytes_metric = "hookwerk_storage_synced_written_bytes_total";
/// fanout-latency: most time to wait after the load for the deliveries still owed, so that late
/// ones count in the latency tail; what has not arrived by then is counted as undelivered.
constexpr double late_delivery_wait_s = 15;

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

double ms(int64_t ns) { return static_cast<double>(ns) / ns_per_ms; }

bool progress_pending = false;

void check_interrupted() {
  if (g_interrupted.load())
    throw std::runtime_error("interrupted");
}

// ---------------------------------------------------------------------------------------------
// Bodies

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

/// The payload every event carries: {"t":<intended send time>,"s":<seq>,"pad":"xxx…"}.
/// The receiver reads "t" to compute end-to-end latency.
struct payload_maker {
  std::string pad;
  explicit payload_maker(int bytes) : pad(static_cast<size_t>(std::max(0, bytes - 44)), 'x') {}
  void append(std::string& out, int64_t t, uint64_t seq) const {
    out += "{\"t\":";
    out += std::to_string(t);
    out += ",\"s\":";
    out += std::to_string(seq);
    out += ",\"pad\":\"";
    out += pad;
    out += "\"}";
  }
};

std::string event_prefix(const std::string& account, const std::string& event) {
  return "{\"account\":\"" + account + "\",\"event\":\"" + event + "\",\"payload\":";
}

uint64_t number_after(std::string_view body, std::string_view key) {
  auto pos = body.find(key);
  if (pos == std::string_view::npos)
    return UINT64_MAX;
  return std::strtoull(std::string{body.substr(pos + key.size(), 24)}.c_str(), nullptr, 10);
}

// ---------------------------------------------------------------------------------------------
// Servers

struct server_handle {
  endpoint ep;
  std::string admin_token;
  std::string ingest_token;
  std::unique_ptr<temp_dir> dir;
  std::unique_ptr<server_process> proc;
  std::vector<std::string> accounts_to_delete;  // only with --target

  server_handle() = default;
  server_handle(const server_handle&) = delete;
  server_handle& operator=(const server_handle&) = delete;
  ~server_handle() {
    if (accounts_to_delete.empty())
      return;
    try {
      http_client c{ep};
      for (const auto& a : accounts_to_delete)
        c.request("DELETE", "/admin/accounts/" + a, {{"Authorization", "Bearer " + admin_token}});
    } catch (const std::exception&) {
    }
  }
  bool managed() const { return proc != nullptr; }
};

/// --max-hooks-per-account and --max-fanout-bytes large enough for what the
/// selected workloads create (the benchmark measures throughput, not these
/// bounds); a --server-arg given later overrides them.
std::vector<std::string> bound_args(const options& opt) {
  uint64_t hooks = static_cast<uint64_t>(
      std::max({opt.hooks, opt.isolation_hooks, opt.fanout_latency_hooks}));
  for (int f : opt.fanout)
    hooks = std::max(hooks, static_cast<uint64_t>(f));
  const auto n = static_cast<uint64_t>(opt.hooks_scale);
  const auto accounts = static_cast<uint64_t>(std::max(1, std::min(opt.scale_accounts, opt.hooks_scale)));
  hooks = std::max(hooks, (n + accounts - 1) / accounts);
  hooks = std::min<uint64_t>(hooks + 1, 10'000'000);
  const uint64_t event_bytes = static_cast<uint64_t>(std::max(opt.payload_bytes, 64)) + 64;
  const uint64_t fanout = std::clamp<uint64_t>(
      event_bytes * hooks * static_cast<uint64_t>(std::max(opt.batch_size, 1)), 1024, 1ull << 40);
  return {"--max-hooks-per-account", std::to_string(hooks), "--max-fanout-bytes",
          std::to_string(fanout)};
}

std::unique_ptr<server_handle> start_server(bench_run& run, const std::string& workload,
                                            const std::vector<std::string>& events) {
  auto s = std::make_unique<server_handle>();
  if (!run.opt.target.empty()) {
    s->ep = parse_http_url(run.opt.target);
    s->admin_token = run.opt.admin_token;
    s->ingest_token = run.opt.ingest_token;
    return s;
  }
  s->dir = std::make_unique<temp_dir>();
  s->admin_token = "adm-" + random_hex(16);
  s->ingest_token = "ing-" + random_hex(16);
  std::vector<std::string> args{"serve",
                                "--listen", "127.0.0.1:0",
                                "--data-dir", (s->dir->path() / "data").string(),
                                "--admin-token", s->admin_token,
                                "--ingest-token", s->ingest_token,
                                "--allow-private-targets"};
  if (!events.empty()) {
    std::string list;
    for (const auto& e : events)
      list += (list.empty() ? "" : ",") + e;
    args.push_back("--events");
    args.push_back(list);
  }
  for (auto& a : bound_args(run.opt))
    args.push_back(std::move(a));
  for (const auto& a : run.opt.server_args)
    args.push_back(a);
  std::vector<std::string> argv{run.rec.server_binary};
  argv.insert(argv.end(), args.begin(), args.end());
  run.rec.server_runs.emplace_back(workload, argv);
  s->proc = std::make_unique<server_process>(run.rec.server_binary, std::move(args),
                                             s->dir->path() / "server.stderr");
  s->proc->start();
  s->ep.port = s->proc->port();
  return s;
}

/// Stops a server we started and notes anything unusual about its exit.
void stop_server(bench_run& run, server_handle& s, const std::string& workload) {
  if (!s.managed() || !s.proc->running())
    return;
  int status = s.proc->stop();
  if (status != 0)
    run.note(workload + ": the server exited with status " + std::to_string(status) +
             " after SIGTERM; stderr tail:\n" + s.proc->stderr_tail(1500));
  if (s.proc->last_stop_seconds() > 5)
    run.note(workload + ": the server took " + fmt("%.1f", s.proc->last_stop_seconds()) +
             " s to stop after SIGTERM; stderr tail:\n" + s.proc->stderr_tail(800));
}

std::string account_name(bench_run& run, const std::string& what) {
  return "bench-" + run.tag + "-" + what;
}

void create_account(server_handle& s, http_client& c, const std::string& user,
                    const std::string& password) {
  support::json_writer w;
  w.begin_object();
  w.member("username", user);
  w.member("password", password);
  w.end_object();
  auto r = c.request("POST", "/admin/accounts",
                     {{"Authorization", "Bearer " + s.admin_token},
                      {"Content-Type", "application/json"}},
                     w.str(), std::chrono::seconds{60});
  if (r.status != 201)
    throw std::runtime_error("creating account " + user + ": HTTP " + std::to_string(r.status) +
                             " " + r.body + r.error);
  if (!s.managed())
    s.accounts_to_delete.push_back(user);
}

std::string create_hook_body(const std::string& user, const std::string& password,
                             const std::string& event, const std::string& url) {
  return "username=" + url_encode(user) + "&password=" + url_encode(password) +
         "&app=bench&event=" + url_encode(event) + "&url=" + url_encode(url);
}

uint64_t create_hook(http_client& c, const std::string& user, const std::string& password,
                     const std::string& event, const std::string& url) {
  auto r = c.request("POST", create_path,
                     {{"Content-Type", "application/x-www-form-urlencoded"}},
                     create_hook_body(user, password, event, url), std::chrono::seconds{60});
  if (r.status != 200 || r.body.find("\"error\":0") == std::string::npos)
    throw std::runtime_error("CreateWebHook: HTTP " + std::to_string(r.status) + " " + r.body +
                             r.error +
                             (r.body.find("\"error\":5") != std::string::npos
                                  ? " (the server must run with --allow-private-targets)"
                                  : ""));
  auto result = r.body.find("\"result\":{");
  auto id = number_after(std::string_view{r.body}.substr(result == std::string::npos ? 0 : result),
                         "\"id\":");
  if (id == UINT64_MAX || id == 0)
    throw std::runtime_error("CreateWebHook: no id in " + r.body);
  return id;
}

std::map<std::string, double> scrape_metrics(http_client& c) {
  std::map<std::string, double> out;
  auto r = c.request("GET", "/metrics");
  if (r.status != 200)
    return out;
  size_t pos = 0;
  while (pos < r.body.size()) {
    auto nl = r.body.find('\n', pos);
    if (nl == std::string::npos)
      nl = r.body.size();
    std::string line = r.body.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line[0] == '#')
      continue;
    auto sp = line.rfind(' ');
    if (sp == std::string::npos)
      continue;
    out[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return out;
}

double metric(const std::map<std::string, double>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? -1 : it->second;
}

/// CPU cores used by the server and by this process between the window's edges.
struct cpu_meter {
  pid_t server = 0;
  double s0 = 0, b0 = 0, t0 = 0;
  double server_cores = -1, bench_cores = -1;
  void start() {
    t0 = static_cast<double>(now_ns());
    s0 = server ? cpu_seconds(server) : 0;
    b0 = cpu_seconds(0);
  }
  void stop() {
    double dt = (static_cast<double>(now_ns()) - t0) / ns_per_s;
    if (dt <= 0)
      return;
    if (server)
      server_cores = (cpu_seconds(server) - s0) / dt;
    bench_cores = (cpu_seconds(0) - b0) / dt;
  }
};

void add_cpu(bench_run& run, const std::string& workload, const cpu_meter& cpu,
             const std::string& prefix = {}) {
  if (cpu.server_cores >= 0)
    run.add(workload, prefix + "server CPU", cpu.server_cores, "cores");
  if (cpu.bench_cores >= 0)
    run.add(workload, prefix + "benchmark CPU", cpu.bench_cores, "cores");
}

/// The four latency figures of a histogram, each with its ratio to the raw HTTP latency.
void add_latency(bench_run& run, const std::string& workload, const std::string& what,
                 const histogram& h, bool with_tail) {
  const auto& raw = run.raw;
  run.add_ratio(workload, what + " p50", ms(h.quantile(0.50)), "ms", raw.p50_ms, "raw p50");
  run.add_ratio(workload, what + " p99", ms(h.quantile(0.99)), "ms", raw.p99_ms, "raw p99");
  if (with_tail) {
    run.add_ratio(workload, what + " p99.9", ms(h.quantile(0.999)), "ms", raw.p999_ms,
                  "raw p99.9");
    run.add_ratio(workload, what + " max", ms(h.max()), "ms", raw.max_ms, "raw max");
  }
}

void add_load_problems(bench_run& run, const std::string& workload, const load_result& r,
                       const std::string& prefix = {}) {
  const uint64_t failed = r.failed + r.transport_errors + r.unanswered;
  run.add(workload, prefix + "HTTP 503 answers", static_cast<double>(r.status_503), "");
  run.add(workload, prefix + "failed requests", static_cast<double>(failed), "");
  if (failed > 0)
    run.note(workload + ": " + prefix + std::to_string(r.failed) + " rejected, " +
             std::to_string(r.transport_errors) + " transport errors, " +
             std::to_string(r.unanswered) + " unanswered; first: " + r.first_error);
}

std::function<void(const load_progress&)> progress_for(const std::string& label, double total_s,
                                                       std::function<std::string()> extra = {}) {
  return [label, total_s, extra, last = uint64_t{0}](const load_progress& p) mutable {
    std::string text = "[" + label + "] " + fmt("%.0f", p.elapsed_s) + "/" + fmt("%.0f", total_s) +
                       " s  sent " + std::to_string(p.sent) + "  ok " + std::to_string(p.ok) +
                       " (" + std::to_string(p.ok - last) + "/s)";
    last = p.ok;
    if (p.failed)
      text += "  failed " + std::to_string(p.failed);
    if (extra)
      text += "  " + extra();
    show_progress(text);
  };
}

load_spec ingest_spec(const bench_run& run, const server_handle& s, bool ndjson) {
  load_spec spec;
  spec.ep = s.ep;
  spec.target = ingest_path;
  spec.headers = {{"Authorization", "Bearer " + s.ingest_token},
                  {"Content-Type", ndjson ? "application/x-ndjson" : "application/json"}};
  spec.connections = run.opt.connections;
  spec.threads = run.opt.client_threads;
  spec.warmup_s = run.opt.warmup_s;
  spec.duration_s = run.opt.duration_s;
  return spec;
}

/// Body of a batch of `n` events, one per line.
void append_batch(std::string& out, const std::string& prefix, const payload_maker& payload,
                  int64_t t, uint64_t seq, int n) {
  for (int i = 0; i < n; ++i) {
    out += prefix;
    payload.append(out, t, seq * static_cast<uint64_t>(n) + static_cast<uint64_t>(i));
    out += "}\n";
  }
}

// ---------------------------------------------------------------------------------------------
// Delivery runs (e2e, latency, fanout, fanout-latency, isolation)

struct delivery_plan {
  std::string label;
  int hooks = 0;
  int blackholed = 0;              ///< the last `blackholed` hooks point at a blackhole receiver
  bool one_hook_per_event = false; ///< each event goes to exactly one hook, round robin
  double rate = 0;                 ///< events/s open loop; 0 = closed loop with --window
  /// Latency of every delivery of the events due in the window (intended send time), also of
  /// those arriving after it; otherwise of the deliveries arriving in the window.
  bool latency_by_send_time = false;
  double drain_limit_s = 0;        ///< most wait for owed deliveries; 0 = --drain-timeout
};

struct delivery_outcome {
  load_result load;
  uint64_t expected = 0;     ///< deliveries owed to the healthy receiver
  uint64_t delivered = 0;    ///< distinct (event, hook) pairs it received
  uint64_t duplicates = 0;
  uint64_t blackhole_requests = 0;
  uint64_t hooks_mismatch = 0;
  uint64_t arrived_late = 0;  ///< latency_by_send_time: deliveries of window events after it
  double drain_s = 0;
  double deliveries_per_s = 0;
  histogram e2e;
  half_stats half;
  cpu_meter cpu;
  double failed_attempts = -1;  ///< the server's hookwerk_deliveries_total{outcome="failure"}
  /// Growth of the server's hookwerk_storage_written_bytes_total over the measured window;
  /// -1 when the server does not expose it (an older server).
  double log_bytes = -1;
  /// The same of hookwerk_storage_synced_written_bytes_total (ingestion, not outcomes).
  double synced_log_bytes = -1;
};

delivery_outcome run_delivery(bench_run& run, const delivery_plan& plan) {
  const auto& opt = run.opt;
  delivery_outcome out;
  sink::options so;
  so.threads = opt.sink_threads;
  if (opt.sink_delay_ms > 0) {
    so.mode = sink_mode::slow;
    so.delay = std::chrono::milliseconds{opt.sink_delay_ms};
  }
  sink healthy{so};
  std::unique_ptr<sink> hole;
  if (plan.blackholed > 0)
    hole = std::make_unique<sink>(sink::options{1, sink_mode::blackhole, {}});

  bool managed = opt.target.empty();
  std::vector<std::string> events;
  if (managed && plan.one_hook_per_event) {
    events.push_back("optin_finalized");
    for (int i = 0; i < plan.hooks; ++i)
      events.push_back("bench" + std::to_string(i));
  }
  auto srv = start_server(run, plan.label, events);
  http_client c{srv->ep};
  out.cpu.server = managed ? srv->proc->pid() : 0;

  // Accounts and hooks.
  std::string password = random_hex(8);
  std::vector<std::string> prefixes;
  std::unordered_set<uint32_t> first_half;
  int healthy_hooks = plan.hooks - plan.blackholed;
  auto made = [&](int i, uint64_t id) {
    if (i < plan.hooks / 2)
      first_half.insert(static_cast<uint32_t>(id));
    if (plan.hooks >= 20 && (i + 1) % 10 == 0)
      show_progress("[" + plan.label + "] creating hooks " + std::to_string(i + 1) + "/" +
                    std::to_string(plan.hooks));
    check_interrupted();
  };
  if (plan.one_hook_per_event && managed) {
    auto user = account_name(run, "e");
    create_account(*srv, c, user, password);
    for (int i = 0; i < plan.hooks; ++i) {
      auto event = "bench" + std::to_string(i);
      made(i, create_hook(c, user, password, event, healthy.url("/h/" + std::to_string(i))));
      prefixes.push_back(event_prefix(user, event));
    }
  } else if (plan.one_hook_per_event) {
    // An external server has its own event list: one account per hook instead.
    for (int i = 0; i < plan.hooks; ++i) {
      auto user = account_name(run, "e" + std::to_string(i));
      create_account(*srv, c, user, password);
      made(i, create_hook(c, user, password, "optin_finalized",
                          healthy.url("/h/" + std::to_string(i))));
      prefixes.push_back(event_prefix(user, "optin_finalized"));
    }
  } else {
    auto user = account_name(run, "f");
    create_account(*srv, c, user, password);
    for (int i = 0; i < plan.hooks; ++i) {
      auto url = i < healthy_hooks ? healthy.url("/h/" + std::to_string(i))
                                   : hole->url("/b/" + std::to_string(i));
      made(i, create_hook(c, user, password, "optin_finalized", url));
    }
    prefixes.push_back(event_prefix(user, "optin_finalized"));
  }
  end_progress();

  const uint64_t per_event = plan.one_hook_per_event ? 1 : static_cast<uint64_t>(plan.hooks);
  const uint64_t healthy_per_event =
      plan.one_hook_per_event ? 1 : static_cast<uint64_t>(healthy_hooks);
  payload_maker payload{opt.payload_bytes};
  std::atomic<uint64_t> mismatch{0};

  auto spec = ingest_spec(run, *srv, false);
  spec.rate = plan.rate;
  spec.make_body = [&](uint64_t seq, int64_t t, std::string& body) {
    body += prefixes[seq % prefixes.size()];
    payload.append(body, t, seq);
    body += '}';
  };
  spec.on_response = [&](int status, std::string_view body) -> int64_t {
    if (status != 202)
      return -1;
    if (number_after(body, "\"webhooks\":") != per_event)
      mismatch.fetch_add(1, std::memory_order_relaxed);
    return 1;
  };
  if (plan.rate <= 0) {
    const auto window = static_cast<uint64_t>(opt.window);
    spec.may_send = [&, window](uint64_t accepted) {
      return accepted * healthy_per_event < healthy.deliveries() + window;
    };
  }
  // The scrapes run on this thread, outside the CPU window.
  double log_bytes_start = -1;
  double synced_log_bytes_start = -1;
  spec.on_window_start = [&] {
    auto m = scrape_metrics(c);
    log_bytes_start = metric(m, log_bytes_metric);
    synced_log_bytes_start = metric(m, synced_log_bytes_metric);
    out.cpu.start();
  };
  spec.on_window_end = [&] {
    out.cpu.stop();
    auto m = scrape_metrics(c);
    const double end = metric(m, log_bytes_metric);
    if (log_bytes_start >= 0 && end >= 0)
      out.log_bytes = end - log_bytes_start;
    const double synced_end = metric(m, synced_log_bytes_metric);
    if (synced_log_bytes_start >= 0 && synced_end >= 0)
      out.synced_log_bytes = synced_end - synced_log_bytes_start;
  };
  spec.on_progress = progress_for(plan.label, opt.warmup_s + opt.duration_s, [&] {
    return "delivered " + std::to_string(healthy.distinct());
  });
  out.load = run_load(spec);
  end_progress();
  check_interrupted();

  // Drain: wait for every owed delivery, as long as they keep coming.
  out.expected = out.load.units * healthy_per_event;
  auto t0 = now_ns();
  auto last_change = t0;
  auto last_seen = healthy.distinct();
  auto next_print = t0 + static_cast<int64_t>(ns_per_s);
  const double drain_limit_s = plan.drain_limit_s > 0 ? plan.drain_limit_s : opt.drain_timeout_s;
  const double stall_s = std::min(drain_limit_s, 30.0);
  while (healthy.distinct() < out.expected && !g_interrupted.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
    auto now = now_ns();
    auto seen = healthy.distinct();
    if (seen != last_seen) {
      last_seen = seen;
      last_change = now;
    }
    if (static_cast<double>(now - t0) / ns_per_s > drain_limit_s ||
        static_cast<double>(now - last_change) / ns_per_s > stall_s)
      break;
    if (now >= next_print) {
      next_print += static_cast<int64_t>(ns_per_s);
      show_progress("[" + plan.label + "] draining: " + std::to_string(seen) + "/" +
                    std::to_string(out.expected) + " delivered");
    }
  }
  end_progress();
  out.drain_s = static_cast<double>(now_ns() - t0) / ns_per_s;
  out.delivered = healthy.distinct();
  out.duplicates = healthy.deliveries() - healthy.distinct();
  out.hooks_mismatch = mismatch.load();
  if (out.hooks_mismatch)
    run.note(plan.label + ": " + std::to_string(out.hooks_mismatch) +
             " ingest answers named another number of webhooks than " + std::to_string(per_event));

  auto m = scrape_metrics(c);
  out.failed_attempts = metric(m, "hookwerk_deliveries_total{outcome=\"failure\"}");

  // Figures from what the healthy receiver saw in the measured window.
  auto records = healthy.records();
  histogram half_hist;
  uint64_t in_window = 0, half_in_window = 0;
  const auto in_measured = [&](int64_t ns) {
    return ns >= out.load.window_start_ns && ns < out.load.window_end_ns;
  };
  for (const auto& r : records) {
    if (r.duplicate)
      continue;
    if (plan.latency_by_send_time && in_measured(r.sent_ns)) {
      out.e2e.record(r.arrived_ns - r.sent_ns);
      if (r.arrived_ns >= out.load.window_end_ns)
        ++out.arrived_late;
    }
    if (!in_measured(r.arrived_ns))
      continue;
    ++in_window;
    if (!plan.latency_by_send_time)
      out.e2e.record(r.arrived_ns - r.sent_ns);
    if (first_half.count(r.hook_id)) {
      ++half_in_window;
      half_hist.record(r.arrived_ns - r.sent_ns);
    }
  }
  double window_s = out.load.window_s > 0 ? out.load.window_s : 1;
  out.deliveries_per_s = static_cast<double>(in_window) / window_s;
  out.half.have = true;
  out.half.rate = static_cast<double>(half_in_window) / window_s;
  out.half.p50_ms = ms(half_hist.quantile(0.5));
  out.half.p99_ms = ms(half_hist.quantile(0.99));

  if (hole) {
    out.blackhole_requests = hole->requests();
    hole->stop();  // the server's hung attempts fail now instead of at their timeout
  }
  stop_server(run, *srv, plan.label);
  return out;
}

void add_delivery_figures(bench_run& run, const std::string& w, const std::string& prefix,
                          const delivery_outcome& o, bool closed_loop) {
  run.add_ratio(w, prefix + "deliveries/s", o.deliveries_per_s, "/s", run.raw.rps, "raw req/s");
  run.add_ratio(w, prefix + "accepted events/s",
                static_cast<double>(o.load.ok_in_window) / std::max(o.load.window_s, 1e-9), "/s",
                run.raw.rps, "raw req/s");
  add_latency(run, w, prefix + "e2e latency", o.e2e, true);
  add_latency(run, w, prefix + (closed_loop ? "ingest HTTP" : "ingest HTTP (from intended)"),
              o.load.latency, false);
  figure f;
  f.workload = w;
  f.name = prefix + "delivered/accepted";
  f.value = o.expected ? static_cast<double>(o.delivered) / static_cast<double>(o.expected) : 0;
  f.unit = "ratio";
  f.must_be_one = true;
  run.figures.push_back(f);
  run.add(w, prefix + "deliveries owed", static_cast<double>(o.expected), "");
  run.add(w, prefix + "duplicates", static_cast<double>(o.duplicates), "");
  run.add(w, prefix + "drain time", o.drain_s, "s");
  if (o.failed_attempts >= 0)
    run.add(w, prefix + "failed attempts (server)", o.failed_attempts, "");
  add_load_problems(run, w, o.load, prefix);
  add_cpu(run, w, o.cpu, prefix);
  // Steadier than the rates on a shared machine: the server's CPU time in the measured window
  // divided by the deliveries that arrived in it.
  if (o.cpu.server_cores >= 0 && o.deliveries_per_s > 0)
    run.add(w, prefix + "server CPU per delivery", o.cpu.server_cores / o.deliveries_per_s * 1e6,
            "us");
}

} // namespace

// ---------------------------------------------------------------------------------------------

void bench_run::add(const std::string& workload, const std::string& name, double value,
                    const std::string& unit) {
  figure f;
  f.workload = workload;
  f.name = name;
  f.value = value;
  f.unit = unit;
  figures.push_back(std::move(f));
}

void bench_run::add_ratio(const std::string& workload, const std::string& name, double value,
                          const std::string& unit, double base, const std::string& base_name) {
  figure f;
  f.workload = workload;
  f.name = name;
  f.value = value;
  f.unit = unit;
  if (base > 0) {
    f.ratio = value / base;
    f.ratio_to = base_name;
  }
  figures.push_back(std::move(f));
}

void bench_run::note(const std::string& text) {
  end_progress();
  std::fprintf(stderr, "note: %s\n", text.c_str());
  rec.notes.push_back(text);
}

void show_progress(const std::string& text) {
  static const bool tty = ::isatty(STDERR_FILENO);
  if (tty) {
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    progress_pending = true;
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
}

void end_progress() {
  if (progress_pending) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    progress_pending = false;
  }
}

void run_raw(bench_run& run, bool with_batch) {
  const auto& opt = run.opt;
  sink recv{sink::options{opt.sink_threads, sink_mode::normal, {}}};
  server_handle fake;
  fake.ep.port = recv.port();
  payload_maker payload{opt.payload_bytes};
  auto prefix = event_prefix(account_name(run, "raw"), "optin_finalized");

  cpu_meter cpu;
  auto spec = ingest_spec(run, fake, false);
  spec.make_body = [&](uint64_t seq, int64_t t, std::string& body) {
    body += prefix;
    payload.append(body, t, seq);
    body += '}';
  };
  spec.on_window_start = [&] { cpu.start(); };
  spec.on_window_end = [&] { cpu.stop(); };
  spec.on_progress = progress_for("raw", opt.warmup_s + opt.duration_s);
  auto r = run_load(spec);
  end_progress();
  check_interrupted();
  if (r.ok_in_window == 0)
    throw std::runtime_error("raw baseline: no request answered; " + r.first_error);
  run.raw.rps = static_cast<double>(r.ok_in_window) / r.window_s;
  run.raw.p50_ms = ms(r.latency.quantile(0.5));
  run.raw.p99_ms = ms(r.latency.quantile(0.99));
  run.raw.p999_ms = ms(r.latency.quantile(0.999));
  run.raw.max_ms = ms(r.latency.max());
  run.add("raw", "req/s", run.raw.rps, "/s");
  run.add("raw", "HTTP p50", run.raw.p50_ms, "ms");
  run.add("raw", "HTTP p99", run.raw.p99_ms, "ms");
  run.add("raw", "HTTP p99.9", run.raw.p999_ms, "ms");
  run.add("raw", "HTTP max", run.raw.max_ms, "ms");
  add_cpu(run, "raw", cpu);

  if (!with_batch)
    return;
  const int n = opt.batch_size;
  auto bspec = ingest_spec(run, fake, true);
  bspec.make_body = [&](uint64_t seq, int64_t t, std::string& body) {
    append_batch(body, prefix, payload, t, seq, n);
  };
  bspec.on_response = [n](int status, std::string_view) -> int64_t {
    return status >= 200 && status < 300 ? n : -1;
  };
  bspec.on_progress = progress_for("raw batch", opt.warmup_s + opt.duration_s);
  auto b = run_load(bspec);
  end_progress();
  check_interrupted();
  if (b.ok_in_window == 0)
    throw std::runtime_error("raw batch baseline: no request answered; " + b.first_error);
  run.raw.batch_events_per_s = static_cast<double>(b.units_in_window) / b.window_s;
  run.raw.batch_p50_ms = ms(b.latency.quantile(0.5));
  run.raw.batch_p99_ms = ms(b.latency.quantile(0.99));
  run.add("raw", "batch events/s (" + std::to_string(n) + "/batch)", run.raw.batch_events_per_s,
          "/s");
  run.add("raw", "batch HTTP p50", run.raw.batch_p50_ms, "ms");
  run.add("raw", "batch HTTP p99", run.raw.batch_p99_ms, "ms");
}

void run_ingest(bench_run& run) {
  const std::string w = "ingest";
  auto srv = start_server(run, w, {});
  http_client c{srv->ep};
  auto user = account_name(run, "i");
  create_account(*srv, c, user, random_hex(8));  // an account without hooks
  payload_maker payload{run.opt.payload_bytes};
  auto prefix = event_prefix(user, "optin_finalized");
  cpu_meter cpu;
  cpu.server = srv->managed() ? srv->proc->pid() : 0;
  auto spec = ingest_spec(run, *srv, false);
  spec.make_body = [&](uint64_t seq, int64_t t, std::string& body) {
    body += prefix;
    payload.append(body, t, seq);
    body += '}';
  };
  spec.on_response = [](int status, std::string_view) -> int64_t { return status == 202 ? 1 : -1; };
  spec.on_window_start = [&] { cpu.start(); };
  spec.on_window_end = [&] { cpu.stop(); };
  spec.on_progress = progress_for(w, run.opt.warmup_s + run.opt.duration_s);
  auto r = run_load(spec);
  end_progress();
  check_interrupted();
  if (r.ok_in_window == 0)
    throw std::runtime_error("ingest: no event accepted; " + r.first_error);
  run.add_ratio(w, "accepted/s", static_cast<double>(r.ok_in_window) / r.window_s, "/s",
                run.raw.rps, "raw req/s");
  add_latency(run, w, "HTTP", r.latency, true);
  add_load_problems(run, w, r);
  add_cpu(run, w, cpu);
  stop_server(run, *srv, w);
}

void run_batch(bench_run& run) {
  const std::string w = "batch";
  const int n = run.opt.batch_size;
  auto srv = start_server(run, w, {});
  http_client c{srv->ep};
  auto user = account_name(run, "b");
  create_account(*srv, c, user, random_hex(8));
  payload_maker payload{run.opt.payload_bytes};
  auto prefix = event_prefix(user, "optin_finalized");
  cpu_meter cpu;
  cpu.server = srv->managed() ? srv->proc->pid() : 0;
  auto spec = ingest_spec(run, *srv, true);
  spec.make_body = [&](uint64_t seq, int64_t t, std::string& body) {
    append_batch(body, prefix, payload, t, seq, n);
  };
  spec.on_response = [n](int status, std::string_view body) -> int64_t {
    if (status != 202 || body.find("{\"ids\":[") == std::string_view::npos)
      return -1;
    return n;
  };
  spec.on_window_start = [&] { cpu.start(); };
  spec.on_window_end = [&] { cpu.stop(); };
  spec.on_progress = progress_for(w, run.opt.warmup_s + run.opt.duration_s);
  auto r = run_load(spec);
  end_progress();
  check_interrupted();
  if (r.ok_in_window == 0)
    throw std::runtime_error("batch: no batch accepted; " + r.first_error);
  run.add_ratio(w, "events/s (" + std::to_string(n) + "/batch)",
                static_cast<double>(r.units_in_window) / r.window_s, "/s",
                run.raw.batch_events_per_s, "raw batch events/s");
  run.add_ratio(w, "batches/s", static_cast<double>(r.ok_in_window) / r.window_s, "/s",
                run.raw.batch_events_per_s / n, "raw batches/s");
  run.add_ratio(w, "HTTP p50", ms(r.latency.quantile(0.5)), "ms", run.raw.batch_p50_ms,
                "raw batch p50");
  run.add_ratio(w, "HTTP p99", ms(r.latency.quantile(0.99)), "ms", run.raw.batch_p99_ms,
                "raw batch p99");
  add_load_problems(run, w, r);
  add_cpu(run, w, cpu);
  stop_server(run, *srv, w);
}

void run_e2e(bench_run& run) {
  delivery_plan plan;
  plan.label = "e2e";
  plan.hooks = run.opt.hooks;
  plan.one_hook_per_event = true;
  auto o = run_delivery(run, plan);
  if (o.deliveries_per_s <= 0)
    throw std::runtime_error("e2e: nothing was delivered in the measured window");
  run.e2e_saturation = o.deliveries_per_s;
  run.add(plan.label, "hooks", plan.hooks, "");
  add_delivery_figures(run, plan.label, "", o, true);
}

void run_latency(bench_run& run) {
  if (run.e2e_saturation <= 0) {
    run.note("latency: e2e was not selected; running it first to find the saturation");
    run_e2e(run);
  }
  delivery_plan plan;
  plan.label = "latency";
  plan.hooks = run.opt.hooks;
  plan.one_hook_per_event = true;
  plan.rate = run.opt.rate_fraction * run.e2e_saturation;
  auto o = run_delivery(run, plan);
  if (o.deliveries_per_s <= 0)
    throw std::runtime_error("latency: nothing was delivered in the measured window");
  run.add(plan.label, "offered events/s (" + fmt("%.2f", run.opt.rate_fraction) + " x e2e)",
          plan.rate, "/s");
  add_delivery_figures(run, plan.label, "", o, false);
}

void run_fanout(bench_run& run) {
  for (int f : run.opt.fanout) {
    check_interrupted();
    delivery_plan plan;
    plan.label = "fanout";
    plan.hooks = f;
    auto o = run_delivery(run, plan);
    if (o.deliveries_per_s <= 0)
      throw std::runtime_error("fanout " + std::to_string(f) +
                               ": nothing was delivered in the measured window");
    run.fanout_half[f] = o.half;
    const std::string prefix = "F=" + std::to_string(f) + " ";
    add_delivery_figures(run, "fanout", prefix, o, true);
    if (o.log_bytes < 0)
      run.note("fanout F=" + std::to_string(f) + ": the server has no " + log_bytes_metric +
               ", so no log bytes per event");
    else if (o.load.ok_in_window > 0)
      run.add("fanout", prefix + "log bytes per event",
              o.log_bytes / static_cast<double>(o.load.ok_in_window), "bytes");
    if (o.synced_log_bytes >= 0 && o.load.ok_in_window > 0)
      run.add("fanout", prefix + "ingest log bytes per event",
              o.synced_log_bytes / static_cast<double>(o.load.ok_in_window), "bytes");
  }
}

void run_fanout_latency(bench_run& run) {
  const std::string w = "fanout-latency";
  delivery_plan plan;
  plan.label = w;
  plan.hooks = run.opt.fanout_latency_hooks;
  plan.rate = run.opt.fanout_latency_rate;
  plan.latency_by_send_time = true;
  plan.drain_limit_s = std::min(run.opt.drain_timeout_s, late_delivery_wait_s);
  auto o = run_delivery(run, plan);
  if (o.deliveries_per_s <= 0)
    throw std::runtime_error(w + ": nothing was delivered in the measured window");
  run.add(w, "hooks per event", plan.hooks, "");
  run.add(w, "offered events/s", plan.rate, "/s");
  run.add(w, "offered deliveries/s", plan.rate * plan.hooks, "/s");
  add_delivery_figures(run, w, "", o, false);
  run.add(w, "unanswered requests", static_cast<double>(o.load.unanswered), "");
  run.add(w, "undelivered after waiting up to " + fmt("%.0f", plan.drain_limit_s) + " s",
          static_cast<double>(o.expected - std::min(o.expected, o.delivered)), "");
  run.add(w, "deliveries arriving after the window", static_cast<double>(o.arrived_late), "");
}

void run_isolation(bench_run& run) {
  const int f = run.opt.isolation_hooks;
  const std::string w = "isolation";
  half_stats base;
  if (auto it = run.fanout_half.find(f); it != run.fanout_half.end()) {
    base = it->second;
  } else {
    delivery_plan all;
    all.label = "isolation (all healthy)";
    all.hooks = f;
    auto o = run_delivery(run, all);
    if (o.expected == 0 || o.delivered < o.expected)
      run.note("isolation (all healthy): delivered " + std::to_string(o.delivered) + " of " +
               std::to_string(o.expected));
    base = o.half;
  }
  delivery_plan plan;
  plan.label = w;
  plan.hooks = f;
  plan.blackholed = f - f / 2;
  auto o = run_delivery(run, plan);
  if (o.deliveries_per_s <= 0)
    throw std::runtime_error("isolation: nothing was delivered to the healthy half");
  const std::string half = "healthy half (" + std::to_string(f / 2) + " of " + std::to_string(f) + ") ";
  run.add_ratio(w, half + "deliveries/s", o.half.rate, "/s", run.raw.rps, "raw req/s");
  run.add_ratio(w, half + "e2e p50", o.half.p50_ms, "ms", run.raw.p50_ms, "raw p50");
  run.add_ratio(w, half + "e2e p99", o.half.p99_ms, "ms", run.raw.p99_ms, "raw p99");
  run.add_ratio(w, "same half, all healthy: deliveries/s", base.rate, "/s", run.raw.rps,
                "raw req/s");
  run.add_ratio(w, "same half, all healthy: e2e p99", base.p99_ms, "ms", run.raw.p99_ms,
                "raw p99");
  run.add(w, "deliveries/s vs all healthy", base.rate > 0 ? o.half.rate / base.rate : 0, "x");
  run.add(w, "e2e p99 vs all healthy", base.p99_ms > 0 ? o.half.p99_ms / base.p99_ms : 0, "x");
  run.add(w, "requests held by the blackhole", static_cast<double>(o.blackhole_requests), "");
  figure fig;
  fig.workload = w;
  fig.name = "healthy half delivered/accepted";
  fig.value = o.expected ? static_cast<double>(o.delivered) / static_cast<double>(o.expected) : 0;
  fig.unit = "ratio";
  fig.must_be_one = true;
  run.figures.push_back(fig);
  run.add(w, "duplicates", static_cast<double>(o.duplicates), "");
  add_load_problems(run, w, o.load);
  add_cpu(run, w, o.cpu);
}

void run_scale(bench_run& run) {
  const std::string w = "scale";
  const auto& opt = run.opt;
  const int n = opt.hooks_scale;
  const int accounts = std::max(1, std::min(opt.scale_accounts, n));
  sink recv{sink::options{1, sink_mode::normal, {}}};
  auto srv = start_server(run, w, {});
  http_client c{srv->ep};
  std::string password = random_hex(8);
  std::vector<std::string> users;
  for (int i = 0; i < accounts; ++i) {
    users.push_back(account_name(run, "s" + std::to_string(i)));
    create_account(*srv, c, users.back(), password);
  }
  uint64_t rss_before = srv->managed() ? rss_kib(srv->proc->pid()) : 0;
  // The first call per account pays the password hash; the rest hit the login cache.
  auto t_reg = now_ns();
  for (int i = 0; i < accounts; ++i) {
    show_progress("[scale] first login of account " + std::to_string(i + 1) + "/" +
                  std::to_string(accounts));
    create_hook(c, users[static_cast<size_t>(i)], password, "optin_finalized",
                recv.url("/s/" + std::to_string(i)));
  }
  end_progress();
  std::vector<std::string> prefixes;
  for (const auto& u : users)
    prefixes.push_back("username=" + url_encode(u) + "&password=" + url_encode(password) +
                       "&app=bench&event=optin_finalized&url=");
  const std::string url_base = recv.url("/s/");
  load_spec spec;
  spec.ep = srv->ep;
  spec.target = create_path;
  spec.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  spec.connections = opt.connections;
  spec.threads = opt.client_threads;
  spec.max_requests = static_cast<uint64_t>(n - accounts);
  spec.max_seconds = 3600;
  spec.make_body = [&](uint64_t seq, int64_t, std::string& body) {
    body += prefixes[seq % prefixes.size()];
    body += url_encode(url_base + std::to_string(seq + static_cast<uint64_t>(accounts)));
  };
  spec.on_response = [](int status, std::string_view body) -> int64_t {
    return status == 200 && body.find("\"error\":0") != std::string_view::npos ? 1 : -1;
  };
  spec.on_progress = [&](const load_progress& p) {
    show_progress("[scale] registered " + std::to_string(p.ok + static_cast<uint64_t>(accounts)) +
                  "/" + std::to_string(n) + " hooks");
  };
  cpu_meter cpu;
  cpu.server = srv->managed() ? srv->proc->pid() : 0;
  cpu.start();
  auto r = (n > accounts) ? run_load(spec) : load_result{};
  cpu.stop();
  end_progress();
  check_interrupted();
  const double registered = static_cast<double>(r.ok) + accounts;
  const double reg_s = static_cast<double>(now_ns() - t_reg) / ns_per_s;
  run.add(w, "hooks registered", registered, "");
  run.add_ratio(w, "registrations/s", static_cast<double>(r.ok) / std::max(r.elapsed_s, 1e-9), "/s",
                run.raw.rps, "raw req/s");
  run.add(w, "registration time", reg_s, "s");
  if (r.ok > 0) {
    run.add_ratio(w, "CreateWebHook p50", ms(r.latency.quantile(0.5)), "ms", run.raw.p50_ms,
                  "raw p50");
    run.add_ratio(w, "CreateWebHook p99", ms(r.latency.quantile(0.99)), "ms", run.raw.p99_ms,
                  "raw p99");
  }
  add_load_problems(run, w, r);
  add_cpu(run, w, cpu);
  if (!srv->managed()) {
    run.note("scale: with --target the server's RSS and restart are not measured");
    return;
  }
  auto& proc = *srv->proc;
  uint64_t rss_after = rss_kib(proc.pid());
  run.add(w, "server RSS", static_cast<double>(rss_after) / 1024.0, "MiB");
  run.add(w, "RSS per hook", registered > 0 ? static_cast<double>(rss_after - std::min(rss_after, rss_before)) / registered : 0, "KiB");

  // Restart: SIGTERM, start on the same data dir, time until /readyz answers 200.
  int status = proc.stop(std::chrono::seconds{60});
  run.add(w, "shutdown (SIGTERM to exit)", proc.last_stop_seconds(), "s");
  if (status != 0)
    run.note("scale: the server exited with status " + std::to_string(status) + " on SIGTERM");
  run.add(w, "data dir size", static_cast<double>(dir_bytes(srv->dir->path() / "data")) / 1048576.0,
          "MiB");
  show_progress("[scale] restarting with " + std::to_string(static_cast<uint64_t>(registered)) +
                " hooks");
  proc.start(std::chrono::seconds{600});
  srv->ep.port = proc.port();
  http_client probe{srv->ep};
  int64_t ready_ns = 0;
  for (int i = 0; i < 60000 && !g_interrupted.load(); ++i) {
    auto rr = probe.request("GET", "/readyz", {}, {}, std::chrono::seconds{5});
    if (rr.status == 200) {
      ready_ns = now_ns();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  end_progress();
  check_interrupted();
  if (ready_ns == 0)
    throw std::runtime_error("scale: /readyz never answered 200 after the restart");
  run.add(w, "restart to listening line", ms(proc.listening_ns() - proc.spawned_ns()) / 1000.0, "s");
  run.add(w, "restart to /readyz 200 (recovery)", ms(ready_ns - proc.spawned_ns()) / 1000.0, "s");
  run.add(w, "server RSS after recovery", static_cast<double>(rss_kib(proc.pid())) / 1024.0, "MiB");
  auto m = scrape_metrics(probe);
  double active = metric(m, "hookwerk_webhooks{state=\"active\"}");
  figure fig;
  fig.workload = w;
  fig.name = "hooks after restart / registered";
  fig.value = active >= 0 && registered > 0 ? active / registered : 0;
  fig.unit = "ratio";
  fig.must_be_one = true;
  run.figures.push_back(fig);
  if (active < 0)
    run.note("scale: /metrics has no hookwerk_webhooks{state=\"active\"}");
  stop_server(run, *srv, w);
}

} // namespace hookwerk::bench
