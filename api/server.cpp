#include "api/server.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <pthread.h>
#include <sys/resource.h>

#include <caf/actor.hpp>

#include "actors/context.hpp"
#include "actors/support/log.hpp"
#include "api/error_table.hpp"
#include "api/front.hpp"
#include "api/http_server.hpp"
#include "engine/runtime.hpp"
#include "storage/writer.hpp"

namespace hookwerk::api {

namespace {

/// Hands requests to the front actor once the engine is up; 503 before.
class gate {
public:
  void open(caf::actor front) {
    front_ = std::move(front);
    open_.store(true, std::memory_order_release);
  }

  void close() { open_.store(false, std::memory_order_release); }

  void operator()(std::shared_ptr<http_exchange> ex) const {
    if (!open_.load(std::memory_order_acquire)) {
      auto res = rejection(ex->request.path, 503, "not ready");
      res.headers.emplace_back("Retry-After", "1");
      ex->respond(std::move(res));
      return;
    }
    send_to_front(front_, std::move(ex));
  }

private:
  caf::actor front_;
  std::atomic<bool> open_{false};
};

/// One log line per change of the storage's state (SPEC §7).
void log_storage_event(const storage::storage_event& e) {
  using kind = storage::storage_event::kind;
  auto seconds = [](std::chrono::milliseconds d) {
    return std::to_string(d.count() / 1000) + "." + std::to_string(d.count() % 1000 / 100) + " s";
  };
  switch (e.what) {
    case kind::current: break;
    case kind::failed:
      log::error("storage error: " + e.error.message()
                 + "; ingestion and changes are refused (503, error 9) until the database "
                   "recovers; next attempt to resume in "
                 + seconds(e.next_try));
      break;
    case kind::still_failing:
      log::error("storage still failing after " + std::to_string(e.attempts)
                 + " attempt(s) to resume: " + e.error.message() + "; next attempt in "
                 + seconds(e.next_try));
      break;
    case kind::recovered:
      log::info("storage recovered after " + seconds(e.degraded_for) + " ("
                + std::to_string(e.attempts) + " attempt(s) to resume); serving again");
      break;
    case kind::abandoned:
      log::error("storage did not recover before shutdown: " + std::to_string(e.batches)
                 + " waiting write(s) not persisted (delivery outcomes, queue moves, "
                   "deletions); the events they concern are delivered again after the restart");
      break;
  }
}

struct descriptor_limit {
  uint64_t before = 0;
  uint64_t now = 0;
};

/// Raises the soft limit on open descriptors to the hard limit (where that is
/// unlimited, to the kernel's `fs.nr_open`).
descriptor_limit raise_descriptor_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return {1024, 1024};
  descriptor_limit out{lim.rlim_cur, lim.rlim_cur};
  auto target = lim.rlim_max;
  if (target == RLIM_INFINITY) {
    uint64_t nr_open = 0;
    std::ifstream{"/proc/sys/fs/nr_open"} >> nr_open;
    target = nr_open > 0 ? nr_open : lim.rlim_cur;
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < target) {
    rlimit raised{target, lim.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      out.now = target;
  }
  return out;
}

} // namespace

namespace {

/// Descriptors kept out of the inbound connections' reach.
uint64_t descriptor_reserve(uint64_t descriptor_limit) {
  return std::min(std::max<uint64_t>(64, descriptor_limit / 4), descriptor_limit / 2);
}

} // namespace

size_t connection_cap(size_t requested, uint64_t descriptor_limit) {
  uint64_t available = descriptor_limit - descriptor_reserve(descriptor_limit);
  return static_cast<size_t>(std::max<uint64_t>(1, std::min<uint64_t>(requested, available)));
}

size_t outbound_cap(size_t requested, uint64_t descriptor_limit) {
  uint64_t available = descriptor_reserve(descriptor_limit) / 2;
  return static_cast<size_t>(std::max<uint64_t>(1, std::min<uint64_t>(requested, available)));
}

int run_server(const engine::serve_config& cfg) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);  // would end the process by default; ignored below
  pthread_sigmask(SIG_BLOCK, &signals, nullptr); // inherited by every thread started below
  std::signal(SIGPIPE, SIG_IGN);

  auto fds = raise_descriptor_limit();
  gate requests;
  http_server_options opts;
  opts.host = cfg.listen_host;
  opts.port = cfg.listen_port;
  opts.max_body = cfg.max_body;
  opts.idle_timeout = cfg.idle_timeout;
  opts.max_connections = connection_cap(cfg.max_connections, fds.now);
  auto effective = cfg;
  effective.max_outbound = static_cast<uint32_t>(outbound_cap(cfg.max_outbound, fds.now));
  log::info("descriptor limit " + std::to_string(fds.now)
            + (fds.now != fds.before ? " (raised from " + std::to_string(fds.before) + ")" : "")
            + "; inbound connections at most " + std::to_string(opts.max_connections)
            + " (--max-connections " + std::to_string(cfg.max_connections)
            + "), outbound at most " + std::to_string(effective.max_outbound) + " (--max-outbound "
            + std::to_string(cfg.max_outbound) + ")");
  http_server server{opts, [&requests](std::shared_ptr<http_exchange> ex) { requests(std::move(ex)); },
                     rejection};
  auto bound = server.start();
  if (!bound) {
    log::error(bound.error().message());
    return 1;
  }

  if (!effective.public_url)
    effective.public_url = "http://" + *bound;
  auto rt = engine::runtime::start(effective);
  if (!rt) {
    if (rt.error().code() == errc::storage_locked)
      log::error("data directory " + cfg.data_dir
                 + " is locked by another process (is another hookwerk serve running?): "
                 + rt.error().message());
    else
      log::error("start-up failed: " + rt.error().message());
    server.stop();
    return 1;
  }
  auto& runtime = **rt;
  auto front = spawn_front(runtime);
  requests.open(front);
  server.set_ready(true);
  // /readyz follows the storage: 503 from a failed write until it recovers.
  auto& writer = *runtime.context().writer;
  writer.set_listener([&server](const storage::storage_event& e) {
    log_storage_event(e);
    server.set_ready(e.healthy);
  });
  log::info("hookwerk ready on " + *bound);
  std::printf("listening on http://%s\n", bound->c_str());
  std::fflush(stdout);

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP)
      break;
    // Nothing to reload (the configuration is the command line): a HUP from a closing
    // terminal or a reflexive `kill -HUP` must not stop deliveries.
    log::info("received SIGHUP, ignored (nothing to reload; SIGTERM or SIGINT stops the server)");
  }
  log::info(std::string{"received "} + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");

  writer.set_listener(log_storage_event);
  server.set_ready(false);
  server.stop_accepting();
  requests.close();
  stop_front(front);
  front = nullptr;
  bool complete = runtime.shutdown();
  if (!complete) {
    log::info("stopped");
    std::_Exit(0);  // every write is durable; skip tearing down what still runs
  }
  server.stop();
  log::info("stopped");
  return 0;
}

} // namespace hookwerk::api
