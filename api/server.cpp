#include "api/server.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <pthread.h>
#include <sys/resource.h>

#include <caf/actor.hpp>

#include "actors/support/log.hpp"
#include "api/error_table.hpp"
#include "api/front.hpp"
#include "api/http_server.hpp"
#include "engine/runtime.hpp"

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

size_t connection_cap(size_t requested, uint64_t descriptor_limit) {
  uint64_t reserve = std::min(std::max<uint64_t>(64, descriptor_limit / 4), descriptor_limit / 2);
  uint64_t available = descriptor_limit - reserve;
  return static_cast<size_t>(std::max<uint64_t>(1, std::min<uint64_t>(requested, available)));
}

int run_server(const engine::serve_config& cfg) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
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
  log::info("descriptor limit " + std::to_string(fds.now)
            + (fds.now != fds.before ? " (raised from " + std::to_string(fds.before) + ")" : "")
            + "; inbound connections at most " + std::to_string(opts.max_connections)
            + " (--max-connections " + std::to_string(cfg.max_connections) + ")");
  http_server server{opts, [&requests](std::shared_ptr<http_exchange> ex) { requests(std::move(ex)); },
                     rejection};
  auto bound = server.start();
  if (!bound) {
    log::error(bound.error().message());
    return 1;
  }

  auto effective = cfg;
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
  log::info("hookwerk ready on " + *bound);
  std::printf("listening on http://%s\n", bound->c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  log::info(std::string{"received "} + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");

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
