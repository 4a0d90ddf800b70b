// SPEC §8: hostile clients. Idle and slow connections cannot starve the server of connections
// or descriptors (the connection cap, eviction of the longest-idle connection, the accept
// back-off at the descriptor limit), idle and slow clients are cut off, and every request the
// front hands to an actor has a deadline (--request-timeout).
#include "system/harness.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace hookwerk::system_test {
namespace {

const credentials acme{"acme", "hostile-test-password"};

// ---- process and socket helpers -------------------------------------------------------------

// Open descriptors of a process.
long open_descriptors(pid_t pid) {
  std::error_code ec;
  long n = 0;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
       !ec && it != end; it.increment(ec))
    ++n;
  return n;
}

// CPU time (user + system) a process has used so far, in seconds.
double cpu_seconds(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  unsigned long utime = 0, stime = 0;
  // Fields 3.. of proc(5); utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoul(field);
    if (i == 15) stime = std::stoul(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The test itself holds hundreds of sockets.
void raise_own_descriptor_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

bool send_text(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    if (n > 0) {
      text.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 1000) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

// Waits until the server closed the connection (end of stream or reset), discarding whatever it
// sends before; false if the connection is still open at the deadline. `received` gets the bytes.
bool closed_by_server(int fd, std::chrono::milliseconds timeout, std::string* received = nullptr) {
  const auto deadline = clock_type::now() + timeout;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return true;  // ECONNRESET and the like
    if (received) received->append(buf, static_cast<std::size_t>(n));
  }
}

// Neither data nor the end of the stream is waiting on the connection.
bool still_open(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// Reads until `marker` has arrived; false at the deadline or on end of stream.
bool read_until(int fd, std::string_view marker, std::chrono::milliseconds timeout, std::string& data) {
  const auto deadline = clock_type::now() + timeout;
  char buf[4096];
  while (data.find(marker) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return false;
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

// The server has read every byte sent on this connection so far (its end's receive queue in
// /proc/net/tcp is empty). It parses what it read in the same step, before it accepts any
// connection made afterwards.
bool server_read_everything(std::uint16_t server_port, int client_fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(client_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  const unsigned long client_port = ntohs(addr.sin_port);
  auto port_of = [](const std::string& address) {
    return std::stoul(address.substr(address.find(':') + 1), nullptr, 16);
  };
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues;
    fields >> slot >> local >> remote >> state >> queues;
    if (port_of(local) == server_port && port_of(remote) == client_port)
      return std::stoul(queues.substr(queues.find(':') + 1), nullptr, 16) == 0;
  }
  return false;
}

std::string event_json(std::string_view id) {
  return R"({"account":"acme","event":"optin_finalized","payload":{"subscriber_id":7},"id":)" +
         json_quote(id) + "}";
}

header_list ingest_auth() {
  return {{"Authorization", "Bearer " + std::string(default_ingest_token)}, {"Content-Type", "application/json"}};
}

// Creates the account `acme` and makes one management call, so that its password is verified
// (and remembered) before any measurement.
::testing::AssertionResult prepare_account(const server_process& server) {
  auto created = server.create_account(acme.username, acme.password);
  if (created.status != 201)
    return ::testing::AssertionFailure() << "creating the account: " << created.status << " " << created.body;
  auto listed = server.call_as(acme, "GetWebHooks");
  if (!is_success(listed)) return ::testing::AssertionFailure() << "GetWebHooks: " << listed.body;
  return ::testing::AssertionSuccess();
}

std::chrono::milliseconds since(clock_type::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
}

// ---- the whole attack at a low descriptor limit ---------------------------------------------

// With 256 descriptors, 400 idle and 300 slow-header connections (one header byte a second)
// leave the server answering /healthz, ingestion and management calls within 1 s each, using
// less than half a core, and every descriptor comes back once the clients are gone.
TEST(Hostile, IdleAndSlowClientsAtTheDescriptorLimitStarveNothing) {
  raise_own_descriptor_limit();
  server_options options;
  options.descriptor_limit = 256;
  server_process server(options);
  ASSERT_TRUE(prepare_account(server));
  ASSERT_EQ(server.request("POST", "/v1/events", ingest_auth(), event_json("warm-up")).status, 202);
  // 256 descriptors less a reserve of 64.
  EXPECT_NE(server.stderr_text().find("descriptor limit 256;"), std::string::npos) << server.stderr_text();
  EXPECT_NE(server.stderr_text().find("inbound connections at most 192 "), std::string::npos)
      << server.stderr_text();

  const long fds_before = open_descriptors(server.pid());
  const double cpu_before = cpu_seconds(server.pid());
  const auto load_started = clock_type::now();

  std::vector<std::unique_ptr<tcp_connection>> idle;
  for (int i = 0; i < 400; ++i) idle.push_back(std::make_unique<tcp_connection>(server.port()));

  const std::string slow_header =
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(200, 'a') + "\r\n\r\n";
  std::vector<std::unique_ptr<tcp_connection>> slow;
  for (int i = 0; i < 300; ++i) {
    slow.push_back(std::make_unique<tcp_connection>(server.port()));
    ::send(slow.back()->fd(), slow_header.data(), 1, MSG_NOSIGNAL);
  }
  // One more header byte a second on every slow connection, for at most 20 s.
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    const auto until = clock_type::now() + 20s;
    for (std::size_t next = 1; next < slow_header.size() && !stop && clock_type::now() < until; ++next) {
      const auto tick = clock_type::now() + 1s;
      while (!stop && clock_type::now() < tick) std::this_thread::sleep_for(20ms);
      for (auto& c : slow) ::send(c->fd(), slow_header.data() + next, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  });

  std::chrono::milliseconds worst_health{0}, worst_ingest{0}, worst_call{0};
  int rounds = 0;
  const auto probe_until = clock_type::now() + 8s;
  while (clock_type::now() < probe_until) {
    SCOPED_TRACE("round " + std::to_string(rounds));
    try {
      auto t = clock_type::now();
      auto health = server.request("GET", "/healthz", {}, {}, 1s);
      worst_health = std::max(worst_health, since(t));
      EXPECT_EQ(health.status, 200);

      t = clock_type::now();
      auto ingest = server.request("POST", "/v1/events", ingest_auth(),
                                   event_json("hostile-" + std::to_string(rounds)), 1s);
      worst_ingest = std::max(worst_ingest, since(t));
      EXPECT_EQ(ingest.status, 202) << ingest.body;

      t = clock_type::now();
      auto listed = server.call_as(acme, "GetWebHooks", {}, encoding::form, 1s);
      worst_call = std::max(worst_call, since(t));
      EXPECT_TRUE(is_success(listed)) << listed.body;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "no answer within 1 s: " << e.what();
    }
    ++rounds;
    if (::testing::Test::HasFailure()) break;
    std::this_thread::sleep_for(200ms);  // pacing of the probes
  }
  const double cores = (cpu_seconds(server.pid()) - cpu_before) /
                       std::chrono::duration<double>(clock_type::now() - load_started).count();
  const long fds_under_load = open_descriptors(server.pid());

  stop = true;
  trickle.join();
  idle.clear();
  slow.clear();

  std::cout << "[ figures  ] " << rounds << " probe rounds; worst latency /healthz " << worst_health.count()
            << " ms, ingestion " << worst_ingest.count() << " ms, GetWebHooks " << worst_call.count()
            << " ms; server CPU " << cores << " cores; descriptors " << fds_before << " before, "
            << fds_under_load << " under load\n";
  EXPECT_GE(rounds, 5);
  const auto bound = std::chrono::duration_cast<std::chrono::milliseconds>(1s * time_scale());
  EXPECT_LT(worst_health, bound);
  EXPECT_LT(worst_ingest, bound);
  EXPECT_LT(worst_call, bound);
  EXPECT_LT(cores, 0.5 * time_scale());

  long fds_after = 0;
  EXPECT_TRUE(eventually([&] { return (fds_after = open_descriptors(server.pid())) <= fds_before; }, 15s))
      << fds_after << " descriptors open after the clients left, " << fds_before << " before";
  EXPECT_EQ(server.get("/healthz").status, 200);
}

// When accepting fails for want of descriptors (the limit is below what the cap assumes), the
// listener closes the longest-idle connection and retries instead of spinning: /healthz keeps
// answering within 1 s and the server stays nearly idle.
TEST(Hostile, WithoutDescriptorsLeftAcceptingBacksOff) {
  server_options options;
  options.descriptor_limit = 40;  // start-up takes about 28; the cap assumes 20 for connections
  server_process server(options);
  const long fds_before = open_descriptors(server.pid());
  const double cpu_before = cpu_seconds(server.pid());
  const auto load_started = clock_type::now();

  std::vector<std::unique_ptr<tcp_connection>> idle;
  for (int i = 0; i < 60; ++i) idle.push_back(std::make_unique<tcp_connection>(server.port()));
  EXPECT_TRUE(eventually([&] { return server.stderr_text().find("Too many open files") != std::string::npos; }, 10s))
      << "accepting never ran out of descriptors: " << server.stderr_text();

  std::chrono::milliseconds worst{0};
  int rounds = 0;
  bool answered = true;
  const auto probe_until = clock_type::now() + 3s;
  while (clock_type::now() < probe_until && answered) {
    const auto t = clock_type::now();
    try {
      EXPECT_EQ(server.request("GET", "/healthz", {}, {}, 1s).status, 200);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "no answer within 1 s: " << e.what();
      answered = false;
    }
    worst = std::max(worst, since(t));
    ++rounds;
    std::this_thread::sleep_for(100ms);  // pacing of the probes
  }
  const double cores = (cpu_seconds(server.pid()) - cpu_before) /
                       std::chrono::duration<double>(clock_type::now() - load_started).count();
  std::cout << "[ figures  ] " << rounds << " probes, worst " << worst.count() << " ms; server CPU " << cores
            << " cores\n";
  EXPECT_LT(cores, 0.5 * time_scale());
  idle.clear();
  long fds_after = 0;
  EXPECT_TRUE(eventually([&] { return (fds_after = open_descriptors(server.pid())) <= fds_before; }, 15s))
      << fds_after << " descriptors open after the clients left, " << fds_before << " before";
}

// ---- the connection cap ---------------------------------------------------------------------

// At --max-connections 8 with eight idle connections, a ninth is served and the longest-idle
// connection is closed; the others stay open.
TEST(Hostile, AtTheCapANewConnectionClosesTheLongestIdleOne) {
  server_options options;
  options.extra_args = {"--max-connections", "8"};
  server_process server(options);
  const long fds_before = open_descriptors(server.pid());

  std::vector<std::unique_ptr<tcp_connection>> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(std::make_unique<tcp_connection>(server.port()));
    // Accepted, so the next one is younger.
    ASSERT_TRUE(eventually([&] { return open_descriptors(server.pid()) >= fds_before + i + 1; }, 10s));
  }

  auto ninth = server.get("/healthz");
  EXPECT_EQ(ninth.status, 200);
  EXPECT_EQ(ninth.body, "ok");

  EXPECT_TRUE(closed_by_server(idle.front()->fd(), 10s)) << "the longest-idle connection is still open";
  for (std::size_t i = 1; i < idle.size(); ++i) EXPECT_TRUE(still_open(idle[i]->fd())) << "connection " << i;

  // An idle keep-alive connection after its request counts as idle too: fill the table again,
  // answer one request on the oldest connection; the next newcomer then closes the
  // second-oldest instead.
  ASSERT_TRUE(eventually([&] { return open_descriptors(server.pid()) == fds_before + 7; }, 10s));
  idle.push_back(std::make_unique<tcp_connection>(server.port()));
  ASSERT_TRUE(eventually([&] { return open_descriptors(server.pid()) == fds_before + 8; }, 10s));
  std::string answer;
  ASSERT_TRUE(send_text(idle[1]->fd(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ASSERT_TRUE(read_until(idle[1]->fd(), "\r\n\r\nok", 10s, answer)) << answer;
  EXPECT_EQ(server.get("/readyz").status, 200);
  EXPECT_TRUE(closed_by_server(idle[2]->fd(), 10s)) << "the longest-idle connection is still open";
  EXPECT_TRUE(still_open(idle[1]->fd()));
  EXPECT_TRUE(server.stderr_text().find("inbound connections at most 8 ") != std::string::npos)
      << server.stderr_text();
}

// When every connection is busy (its request being read or answered), a new connection is
// closed at once and the busy ones keep going.
TEST(Hostile, WhenEveryConnectionIsBusyANewOneIsClosedAtOnce) {
  server_options options;
  options.extra_args = {"--max-connections", "4"};
  server_process server(options);

  // Each sends a request header whose body never comes.
  const std::string header =
      "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 100\r\n\r\n{";
  std::vector<std::unique_ptr<tcp_connection>> busy;
  for (int i = 0; i < 4; ++i) {
    busy.push_back(std::make_unique<tcp_connection>(server.port()));
    ASSERT_TRUE(send_text(busy.back()->fd(), header));
    ASSERT_TRUE(eventually([&] { return server_read_everything(server.port(), busy.back()->fd()); }, 10s));
  }

  tcp_connection fifth(server.port());
  ASSERT_TRUE(send_text(fifth.fd(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  std::string received;
  EXPECT_TRUE(closed_by_server(fifth.fd(), 10s, &received)) << "the fifth connection was not closed";
  EXPECT_EQ(received, "") << "it should get no answer";
  for (auto& c : busy) EXPECT_TRUE(still_open(c->fd()));

  // A busy connection finishes its request normally.
  ASSERT_TRUE(send_text(busy.front()->fd(), std::string(99, ' ')));
  std::string answer;
  EXPECT_TRUE(read_until(busy.front()->fd(), "\r\n\r\n", 10s, answer)) << answer;
  EXPECT_NE(answer.find("HTTP/1.1 401"), std::string::npos) << answer;  // no ingest token given
}

// ---- idle and slow clients ------------------------------------------------------------------

class HostileIdle : public shared_server_suite<HostileIdle> {
public:
  static server_options options() {
    server_options o;
    o.extra_args = {"--idle-timeout", "1s"};
    return o;
  }
};

// A keep-alive connection is kept after its answer, and closed once idle for --idle-timeout.
TEST_F(HostileIdle, AnIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  tcp_connection c(server().port());
  std::string answer;
  ASSERT_TRUE(send_text(c.fd(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ASSERT_TRUE(read_until(c.fd(), "\r\n\r\nok", 10s, answer)) << answer;
  const auto answered = clock_type::now();
  EXPECT_TRUE(closed_by_server(c.fd(), 10s)) << "still open 10 s after its answer";
  const auto idle_for = since(answered);
  EXPECT_GE(idle_for, 900ms) << "closed before the idle timeout";
  EXPECT_LT(idle_for, 5s);
}

// A client sending its header one byte at a time is cut off at the deadline for the whole
// header, however steadily the bytes come.
TEST_F(HostileIdle, ASlowHeaderIsCutOffAtItsDeadline) {
  tcp_connection c(server().port());
  const std::string header = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(100, 'a') + "\r\n\r\n";
  const auto started = clock_type::now();
  std::size_t sent = 0;
  bool closed = false;
  while (sent < header.size() && !closed) {
    if (!send_text(c.fd(), header.substr(sent, 1))) break;
    ++sent;
    closed = closed_by_server(c.fd(), 100ms);  // also paces the bytes: one per 100 ms
  }
  closed = closed || closed_by_server(c.fd(), 5s);
  EXPECT_TRUE(closed);
  EXPECT_LT(sent, header.size()) << "the whole header got through";
  EXPECT_GE(since(started), 900ms);
  EXPECT_LT(since(started), 5s);
}

// ---- request deadlines ----------------------------------------------------------------------

std::string big_batch(const std::string& prefix, int n) {
  std::string body = "[";
  for (int i = 0; i < n; ++i) {
    if (i > 0) body += ',';
    body += event_json(prefix + std::to_string(i));
  }
  body += ']';
  return body;
}

// With --request-timeout 1ms, requests whose actor answers later get 503 with Retry-After
// (ingestion) or the envelope with error 9 and Retry-After (management).
TEST(Hostile, PastTheRequestTimeoutTheClientIsToldToRetry) {
  temp_dir data("hookwerk-systest-deadline-");
  {
    server_options setup;
    setup.data_dir = data.str();
    server_process server(setup);
    ASSERT_TRUE(prepare_account(server));
    ASSERT_EQ(server.terminate(), 0);
  }
  server_options options;
  options.data_dir = data.str();
  options.extra_args = {"--request-timeout", "1ms", "--max-body", "8388608"};
  server_process server(options);

  // Ten thousand events with idempotency keys take the registry and the disk well over 1 ms.
  auto ingest = server.request("POST", "/v1/events", ingest_auth(), big_batch("a", 10'000));
  EXPECT_TRUE(is_error_body(ingest, 503)) << ingest.status << " " << ingest.body;
  EXPECT_EQ(ingest.header("Retry-After").value_or(""), "1");

  // A management call waiting behind such a batch in the registry's mailbox times out too.
  std::atomic<bool> stop{false};
  std::thread load([&] {
    for (int round = 0; !stop && round < 50; ++round) {
      try {
        server.request("POST", "/v1/events", ingest_auth(), big_batch("b" + std::to_string(round) + "-", 5'000));
      } catch (const std::exception&) {
      }
    }
  });
  envelope timed_out;
  http_response raw;
  const bool seen = eventually(
      [&] {
        raw = server.request("POST", "/webservice/webservice/json/GetWebHooks",
                             {{"Content-Type", "application/x-www-form-urlencoded"}},
                             encode_params({{"username", acme.username}, {"password", acme.password}}, encoding::form));
        timed_out = parse_envelope(raw.status, raw.body);
        if (timed_out.error != 9) {
          EXPECT_TRUE(is_success(timed_out)) << raw.body;
        }
        return timed_out.error == 9;
      },
      30s, 1ms);
  stop = true;
  load.join();
  ASSERT_TRUE(seen) << "no management call timed out";
  EXPECT_TRUE(is_error(timed_out, 9, "internal error"));
  EXPECT_EQ(raw.header("Retry-After").value_or(""), "1");
}

}  // namespace
}  // namespace hookwerk::system_test
