// Fuzzes the HTTP request path the way one client connection drives it. An in-process server
// is wired as `hookwerk serve` wires it (the Beast listener, the front actor's router, the
// registry and hook actors over RocksDB in a temporary directory). Each input is written as it
// is to a new loopback connection, which is then half-closed. Properties:
//   - the server answers and closes the connection within 10 s (no request is left unanswered);
//   - what it sends is a sequence of well-framed HTTP/1.x responses (status line, headers,
//     exactly Content-Length bytes of body), each with a status the API documents: 2xx, 4xx or
//     503 — never another 5xx.
// The seed corpus holds realistic request streams with the harness's fixed credentials (admin
// token `fuzz-admin-token`, ingest token `fuzz-ingest-token`, account `fuzz` / `fuzz-pass`).
#include "api/error_table.hpp"
#include "api/front.hpp"
#include "api/http_server.hpp"
#include "engine/runtime.hpp"
#include "fuzz/check.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

using namespace hookwerk;

namespace {

struct harness {
  std::filesystem::path data_dir;
  std::unique_ptr<api::http_server> server;
  std::unique_ptr<engine::runtime> runtime;
  caf::actor front;
  uint16_t port = 0;
};

harness* the = nullptr;

/// Writes `request` to a new connection, half-closes it and returns everything the server
/// sent until it closed. Fails the run when the server keeps the connection open for 10 s.
std::string round_trip(std::string_view request) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  FUZZ_CHECK(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(the->port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  FUZZ_CHECK(rc == 0 || errno == EINPROGRESS);

  // Write and read at the same time: the server may answer (and stop reading) before it has
  // read everything, and a long pipeline of requests may fill both directions' buffers.
  std::string received;
  size_t sent = 0;
  bool write_open = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  for (;;) {
    if (write_open && sent == request.size()) {
      ::shutdown(fd, SHUT_WR);
      write_open = false;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (write_open ? POLLOUT : 0)), 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    FUZZ_CHECK(left.count() > 0 && "the server neither answered nor closed within 10 s");
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0)
      continue;
    if (write_open && (p.revents & POLLOUT)) {
      ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n > 0)
        sent += static_cast<size_t>(n);
      else if (n < 0 && errno != EAGAIN && errno != EINTR)
        write_open = false; // the server closed its side; read what it said
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        received.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR))
        break; // closed (or reset after the server's close)
    }
  }
  ::close(fd);
  return received;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

/// Checks that `stream` is a sequence of complete responses with documented statuses.
void check_responses(std::string_view stream) {
  while (!stream.empty()) {
    FUZZ_CHECK(stream.starts_with("HTTP/1.1 ") || stream.starts_with("HTTP/1.0 "));
    auto end = stream.find("\r\n\r\n");
    FUZZ_CHECK(end != std::string_view::npos && "a response header is incomplete");
    auto head = stream.substr(0, end + 2);
    stream.remove_prefix(end + 4);

    FUZZ_CHECK(head.size() >= 13 && head[12] == ' ');
    unsigned status = 0;
    for (size_t i = 9; i < 12; ++i) {
      FUZZ_CHECK(head[i] >= '0' && head[i] <= '9');
      status = status * 10 + static_cast<unsigned>(head[i] - '0');
    }
    FUZZ_CHECK(((status >= 200 && status < 300) || (status >= 400 && status < 500) || status == 503)
               && "a status the API does not document");

    std::optional<size_t> length;
    for (auto line = head.substr(head.find("\r\n") + 2); !line.empty();) {
      auto eol = line.find("\r\n");
      auto field = line.substr(0, eol);
      line.remove_prefix(eol + 2);
      auto colon = field.find(':');
      FUZZ_CHECK(colon != std::string_view::npos && colon > 0);
      if (iequals(field.substr(0, colon), "content-length")) {
        FUZZ_CHECK(!length && "two Content-Length fields");
        auto value = field.substr(colon + 1);
        while (!value.empty() && value.front() == ' ')
          value.remove_prefix(1);
        size_t n = 0;
        FUZZ_CHECK(!value.empty());
        for (char c : value) {
          FUZZ_CHECK(c >= '0' && c <= '9');
          n = n * 10 + static_cast<size_t>(c - '0');
        }
        length = n;
      }
    }
    FUZZ_CHECK(length && "a response without Content-Length");
    FUZZ_CHECK(*length <= stream.size() && "a response body is cut short");
    stream.remove_prefix(*length);
  }
}

void stop_server_now() {
  the->server->set_ready(false);
  the->server->stop_accepting();
  api::stop_front(the->front);
  the->front = nullptr;
  the->runtime->shutdown();
  the->server->stop();
  the->runtime.reset();
  std::error_code ignored;
  std::filesystem::remove_all(the->data_dir, ignored);
  delete the;
  the = nullptr;
}

/// At exit. The main thread's thread-local objects are gone by the time exit handlers run, and
/// CAF keeps per-thread memory caches in them, so the shutdown runs on a thread of its own.
void stop_server() {
  if (the)
    std::thread{stop_server_now}.join();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::signal(SIGPIPE, SIG_IGN);
  char dir_template[] = "/tmp/hookwerk-http-fuzz-XXXXXX";
  FUZZ_CHECK(::mkdtemp(dir_template) != nullptr);
  the = new harness;
  the->data_dir = dir_template;

  engine::serve_config cfg;
  cfg.listen_port = 0;
  cfg.data_dir = the->data_dir.string();
  cfg.admin_token = "fuzz-admin-token";
  cfg.ingest_token = "fuzz-ingest-token";
  cfg.password_iterations = 1;    // a fuzzed login must not cost 600 000 hash rounds
  cfg.allow_private_targets = true;
  cfg.dns_servers = "127.0.0.1:1"; // nothing answers: host names fail fast, offline
  cfg.max_hooks_per_account = 16;
  cfg.buffer_limit = 1000;
  cfg.workers = 2;

  api::http_server_options opts;
  opts.host = "127.0.0.1";
  opts.port = 0;
  opts.max_body = cfg.max_body;
  opts.idle_timeout = std::chrono::seconds{5};
  opts.max_connections = 64;
  the->server = std::make_unique<api::http_server>(
    opts, [](std::shared_ptr<api::http_exchange> ex) { api::send_to_front(the->front, std::move(ex)); },
    api::rejection);
  auto bound = the->server->start();
  FUZZ_CHECK(bound.has_value());
  the->port = static_cast<uint16_t>(std::stoi(bound->substr(bound->rfind(':') + 1)));
  cfg.public_url = "http://" + *bound;

  auto rt = engine::runtime::start(cfg);
  FUZZ_CHECK(rt.has_value());
  the->runtime = std::move(*rt);
  the->front = api::spawn_front(*the->runtime);
  the->server->set_ready(true);

  const std::string account = R"({"username":"fuzz","password":"fuzz-pass"})";
  auto created = round_trip("POST /admin/accounts HTTP/1.1\r\nHost: x\r\n"
                            "Authorization: Bearer fuzz-admin-token\r\nConnection: close\r\n"
                            "Content-Type: application/json\r\nContent-Length: "
                            + std::to_string(account.size()) + "\r\n\r\n" + account);
  FUZZ_CHECK(created.starts_with("HTTP/1.1 201"));
  std::atexit(stop_server);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  auto answer = round_trip(input);
  // A response to HEAD has a Content-Length but no body, which only the request tells; such
  // streams are checked for liveness alone.
  if (input.find("HEAD") == std::string_view::npos)
    check_responses(answer);
  return 0;
}
