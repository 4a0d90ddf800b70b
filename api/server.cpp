#include "api/server.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>

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

} // namespace

int run_server(const engine::serve_config& cfg) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);  // would end the process by default; ignored below
  pthread_sigmask(SIG_BLOCK, &signals, nullptr); // inherited by every thread started below
  std::signal(SIGPIPE, SIG_IGN);

  gate requests;
  http_server_options opts;
  opts.host = cfg.listen_host;
  opts.port = cfg.listen_port;
  opts.max_body = cfg.max_body;
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
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP)
      break;
    // Nothing to reload (the configuration is the command line): a HUP from a closing
    // terminal or a reflexive `kill -HUP` must not stop deliveries.
    log::info("received SIGHUP, ignored (nothing to reload; SIGTERM or SIGINT stops the server)");
  }
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
