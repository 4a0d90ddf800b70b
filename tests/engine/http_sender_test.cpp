#include "engine/http_sender.hpp"
#include "engine/dns_resolver.hpp"

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/ports.hpp"
#include "common/temp_dir.hpp"

namespace hookwerk::engine {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr auto deadline = 30s;

// ---------------------------------------------------------------------------------------
// A loopback HTTP/1.1 (optionally TLS) server for the tests.

/// One request as the server received it.
struct received_request {
  /// Request line and header block, including the final empty line.
  std::string head;
  std::string body;
  /// 1 for the first accepted connection, 2 for the second, ...
  size_t connection = 0;
};

/// What the server does with one request.
struct reply {
  /// Bytes to send back.
  std::string bytes;
  /// Close the connection after sending `bytes`.
  bool close_after = false;
  /// Never answer; keep the connection open until the client closes it.
  bool hang = false;
  /// Close the connection at once without answering.
  bool drop = false;
  /// Answer only this long after the request arrived.
  milliseconds delay{0};
  /// Answer only once the server has received this many requests in all (at most 30 s).
  size_t after_requests = 0;

  static reply hanging() {
    reply r;
    r.hang = true;
    return r;
  }
  static reply dropped() {
    reply r;
    r.drop = true;
    return r;
  }
};

std::string response(unsigned status, std::string_view reason, std::string_view extra_headers = {},
                     std::string_view body = {}) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

const std::string ok_response = response(200, "OK");

size_t content_length(const std::string& head) {
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos)
    return 0;
  return std::strtoull(lower.c_str() + at + 17, nullptr, 10);
}

/// Accepts on 127.0.0.1 (port chosen by the system) on its own thread and answers every
/// request with what `responder` returns. Counts connections; waits are bounded (30 s).
class test_server {
public:
  using responder = std::function<reply(const received_request&, size_t index)>;

  explicit test_server(responder respond, std::shared_ptr<ssl::context> tls = nullptr,
                       bool record = true)
      : respond_(std::move(respond)),
        tls_(std::move(tls)),
        record_(record),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  /// Always answers `bytes`.
  explicit test_server(std::string bytes)
      : test_server([bytes](const received_request&, size_t) { return reply{bytes}; }) {}

  ~test_server() {
    io_.stop();
    thread_.join();
  }

  uint16_t port() const { return port_; }
  std::string url(std::string_view path = "/") const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
           std::string(path);
  }

  size_t connections() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return connections_;
  }
  /// The most connections that were open at the same time.
  size_t peak_open() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return peak_open_;
  }
  std::vector<received_request> requests() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return requests_;
  }
  size_t request_count() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return request_count_;
  }

  bool wait_requests(size_t n) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, deadline, [&] { return request_count_ >= n; });
  }
  /// Waits until `n` connections have ended on the server's side.
  bool wait_closed(size_t n) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, deadline, [&] { return closed_ >= n; });
  }

private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      tcp::socket socket =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec)
        co_return;
      size_t id = 0;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        id = ++connections_;
        peak_open_ = std::max(peak_open_, connections_ - closed_);
      }
      cv_.notify_all();
      if (tls_)
        asio::co_spawn(io_, tls_session(std::move(socket), id), asio::detached);
      else
        asio::co_spawn(io_, plain_session(std::move(socket), id), asio::detached);
    }
  }

  asio::awaitable<void> plain_session(tcp::socket socket, size_t id) {
    co_await serve(socket, id);
    close(socket);
  }

  asio::awaitable<void> tls_session(tcp::socket socket, size_t id) {
    ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
    error_code ec;
    co_await stream.async_handshake(ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (!ec)
      co_await serve(stream, id);
    close(stream.next_layer());
  }

  void close(tcp::socket& socket) {
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ++closed_;
    }
    cv_.notify_all();
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, size_t id) {
    std::string buffer;
    char chunk[4096];
    for (;;) {
      error_code ec;
      const size_t head_size = co_await asio::async_read_until(
          stream, asio::dynamic_buffer(buffer), "\r\n\r\n",
          asio::redirect_error(asio::use_awaitable, ec));
      if (ec)
        co_return;
      received_request request;
      request.connection = id;
      request.head = buffer.substr(0, head_size);
      buffer.erase(0, head_size);
      const size_t length = content_length(request.head);
      while (buffer.size() < length) {
        const size_t n = co_await stream.async_read_some(
            asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
          co_return;
        buffer.append(chunk, n);
      }
      request.body = buffer.substr(0, length);
      buffer.erase(0, length);

      size_t index = 0;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        index = request_count_++;
        if (record_)
          requests_.push_back(request);
      }
      cv_.notify_all();

      const reply answer = respond_(request, index);
      if (answer.drop)
        co_return;
      if (answer.delay > milliseconds::zero()) {
        asio::steady_timer timer(stream.get_executor(), answer.delay);
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      const auto give_up = std::chrono::steady_clock::now() + deadline;
      while (request_count() < answer.after_requests &&
             std::chrono::steady_clock::now() < give_up) {
        asio::steady_timer timer(stream.get_executor(), 5ms);
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (answer.hang) {
        while (!ec)
          co_await stream.async_read_some(asio::buffer(chunk),
                                          asio::redirect_error(asio::use_awaitable, ec));
        co_return;
      }
      co_await asio::async_write(stream, asio::buffer(answer.bytes),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec || answer.close_after)
        co_return;
    }
  }

  responder respond_;
  std::shared_ptr<ssl::context> tls_;
  const bool record_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  size_t connections_ = 0;
  size_t closed_ = 0;
  size_t peak_open_ = 0;
  size_t request_count_ = 0;
  std::vector<received_request> requests_;
};

// ---------------------------------------------------------------------------------------
// A loopback DNS server for the tests (UDP, A records only).

/// Answers A queries for the names in its table, NODATA for other types of those names,
/// NXDOMAIN for unknown names, and never answers the names in `silent`. Counts queries.
class test_dns_server {
public:
  using table = std::map<std::string, std::vector<std::string>>;

  explicit test_dns_server(table a_records,
                           std::set<std::string> silent = {})
      : records_(std::move(a_records)),
        silent_(std::move(silent)),
        socket_(io_, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(io_, serve(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~test_dns_server() {
    io_.stop();
    thread_.join();
  }

  /// For `dns_servers`: "127.0.0.1:<port>".
  std::string address() const {
    return "127.0.0.1:" + std::to_string(socket_.local_endpoint().port());
  }

  /// Queries (any type) seen for `name`.
  size_t queries(const std::string& name) const {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = queries_.find(name);
    return it == queries_.end() ? 0 : it->second;
  }

  bool wait_queries(const std::string& name, size_t n) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, deadline, [&] {
      auto it = queries_.find(name);
      return it != queries_.end() && it->second >= n;
    });
  }

private:
  asio::awaitable<void> serve() {
    char buffer[1500];
    for (;;) {
      asio::ip::udp::endpoint from;
      error_code ec;
      const size_t n = co_await socket_.async_receive_from(
          asio::buffer(buffer), from, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted)
        co_return;
      if (ec)
        continue;
      if (auto answer = respond(std::string(buffer, n)))
        co_await socket_.async_send_to(asio::buffer(*answer), from,
                                       asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  static void put16(std::string& out, unsigned value) {
    out += static_cast<char>((value >> 8) & 0xff);
    out += static_cast<char>(value & 0xff);
  }

  std::optional<std::string> respond(const std::string& query) {
    if (query.size() < 12)
      return std::nullopt;
    size_t pos = 12;
    std::string name;
    while (pos < query.size() && query[pos] != 0) {
      const size_t length = static_cast<unsigned char>(query[pos]);
      if (pos + 1 + length > query.size())
        return std::nullopt;
      if (!name.empty())
        name += '.';
      name.append(query, pos + 1, length);
      pos += 1 + length;
    }
    pos += 1; // the root label
    if (pos + 4 > query.size())
      return std::nullopt;
    const unsigned type = (static_cast<unsigned char>(query[pos]) << 8) |
                          static_cast<unsigned char>(query[pos + 1]);
    const std::string question = query.substr(12, pos + 4 - 12);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ++queries_[name];
    }
    cv_.notify_all();
    if (silent_.count(name) != 0)
      return std::nullopt;

    auto it = records_.find(name);
    std::vector<asio::ip::address_v4::bytes_type> answers;
    if (it != records_.end() && type == 1)
      for (const auto& text : it->second)
        answers.push_back(asio::ip::make_address_v4(text).to_bytes());

    std::string out = query.substr(0, 2);                   // id
    out += static_cast<char>(0x81);                         // response, recursion desired
    out += static_cast<char>(it == records_.end() ? 0x83 : 0x80); // NXDOMAIN or no error
    put16(out, 1);                                          // questions
    put16(out, static_cast<unsigned>(answers.size()));      // answers
    put16(out, 0);
    put16(out, 0);
    out += question;
    for (const auto& bytes : answers) {
      put16(out, 0xc00c); // the name of the question
      put16(out, 1);      // A
      put16(out, 1);      // IN
      put16(out, 0);      // TTL 60 s
      put16(out, 60);
      put16(out, 4);
      out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    return out;
  }

  const table records_;
  const std::set<std::string> silent_;
  asio::io_context io_;
  asio::ip::udp::socket socket_;
  std::thread thread_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::map<std::string, size_t> queries_;
};

// ---------------------------------------------------------------------------------------
// A throwaway CA and server certificates, made once per test run with the openssl CLI.

class test_pki {
public:
  test_pki() {
    ok_ = run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
              " -keyout ca.key -out ca.pem -days 2 -subj /CN=Hookwerk-Test-CA"
              " -addext basicConstraints=critical,CA:TRUE"
              " -addext keyUsage=critical,keyCertSign,cRLSign") &&
          leaf("good", "DNS:localhost,IP:127.0.0.1") && leaf("wrong", "DNS:wrong.example");
  }

  bool ok() const { return ok_; }
  std::string ca_file() const { return dir_.sub("ca.pem"); }

  /// A server context presenting the certificate `name` ("good": localhost and 127.0.0.1;
  /// "wrong": only wrong.example).
  std::shared_ptr<ssl::context> server_context(const std::string& name) const {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->use_certificate_chain_file(dir_.sub(name + ".pem"));
    ctx->use_private_key_file(dir_.sub(name + ".key"), ssl::context::pem);
    return ctx;
  }

private:
  bool run(const std::string& command) const {
    const std::string line = "cd '" + dir_.path() + "' && " + command + " >/dev/null 2>&1";
    return std::system(line.c_str()) == 0;
  }

  bool leaf(const std::string& name, const std::string& san) const {
    std::ofstream(dir_.sub(name + ".ext"))
        << "subjectAltName=" << san << "\nbasicConstraints=CA:FALSE\n"
        << "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n";
    return run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
               name + ".key -out " + name + ".csr -subj /CN=" + name) &&
           run("openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial"
               " -days 2 -out " + name + ".pem -extfile " + name + ".ext");
  }

  test::temp_dir dir_;
  bool ok_ = false;
};

const test_pki& pki() {
  static const test_pki instance;
  return instance;
}

// ---------------------------------------------------------------------------------------
// Helpers on the client side.

/// Receives one result; waits are bounded.
class result_slot {
public:
  result_slot() : future_(promise_->get_future()) {}

  sender::callback callback() {
    return [p = promise_](delivery_result result) { p->set_value(std::move(result)); };
  }

  bool ready() const { return future_.wait_for(0s) == std::future_status::ready; }

  delivery_result get() {
    if (future_.wait_for(deadline) != std::future_status::ready) {
      ADD_FAILURE() << "no result within 30 s";
      delivery_result none;
      none.error = "test: no result";
      return none;
    }
    return future_.get();
  }

private:
  std::shared_ptr<std::promise<delivery_result>> promise_ =
      std::make_shared<std::promise<delivery_result>>();
  std::future<delivery_result> future_;
};

delivery_request make_request(uint64_t hook, std::string url, milliseconds timeout = 10s,
                              std::string body = R"({"event":"optin_finalized"})") {
  delivery_request request;
  request.hook_id = hook;
  request.target = delivery_target::make(std::move(url));
  request.headers = {{"Content-Type", "application/json"}};
  request.body = std::make_shared<const std::string>(std::move(body));
  request.timeout = timeout;
  return request;
}

delivery_result send_and_wait(http_sender& sender, delivery_request request) {
  result_slot slot;
  sender.send(std::move(request), slot.callback());
  return slot.get();
}

http_sender_options private_allowed() {
  http_sender_options options;
  options.allow_private_targets = true;
  return options;
}

// ---------------------------------------------------------------------------------------

TEST(HttpSender, PostsTheExactRequestAndReportsSuccess) {
  test_server server(ok_response);
  http_sender sender(private_allowed());

  std::string body = "{\"name\":\"J\xc3\xbcrgen\",\"n\":1}";
  body.push_back('\0');
  body += "tail";
  delivery_request request = make_request(7, server.url("/hooks/in?x=1&y=%20"), 10s, body);
  request.headers.emplace_back("webhook-id", "evt_123");
  request.headers.emplace_back("X-Hookwerk-Attempt", "2");
  const delivery_result result = send_and_wait(sender, std::move(request));

  EXPECT_TRUE(result.success()) << result.error;
  EXPECT_EQ(result.http_status, 200u);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.at_fault, fault::none);
  EXPECT_FALSE(result.retry_after.has_value());
  ASSERT_TRUE(server.wait_requests(1));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].head, "POST /hooks/in?x=1&y=%20 HTTP/1.1\r\n"
                              "Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"
                              "User-Agent: Hookwerk/" HOOKWERK_VERSION "\r\n"
                              "Content-Type: application/json\r\n"
                              "webhook-id: evt_123\r\n"
                              "X-Hookwerk-Attempt: 2\r\n"
                              "Content-Length: " + std::to_string(body.size()) + "\r\n"
                              "\r\n");
  EXPECT_EQ(requests[0].body, body);
}

TEST(HttpSender, OwnUserAgentAndFramingHeadersAreNotDuplicated) {
  test_server server(ok_response);
  http_sender sender(private_allowed());
  delivery_request request = make_request(1, server.url());
  request.headers.emplace_back("user-agent", "Custom/1");
  request.headers.emplace_back("Content-Length", "999");
  request.headers.emplace_back("Host", "evil.example");
  EXPECT_TRUE(send_and_wait(sender, std::move(request)).success());
  ASSERT_TRUE(server.wait_requests(1));
  const std::string head = server.requests()[0].head;
  EXPECT_EQ(head.find("Hookwerk/"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nuser-agent: Custom/1\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("999"), std::string::npos) << head;
  EXPECT_EQ(head.find("evil"), std::string::npos) << head;
}

TEST(HttpSender, HeaderInjectionIsRefused) {
  test_server server(ok_response);
  http_sender sender(private_allowed());
  delivery_request request = make_request(1, server.url());
  request.headers.emplace_back("X-Bad", "a\r\nInjected: yes");
  EXPECT_EQ(send_and_wait(sender, std::move(request)).error, "invalid header");
  EXPECT_EQ(server.connections(), 0u);
}

TEST(HttpSender, ReportsErrorStatuses) {
  test_server server([](const received_request& r, size_t) {
    if (r.head.starts_with("POST /gone "))
      return reply{response(410, "Gone")};
    return reply{response(500, "Internal Server Error", {}, "oops")};
  });
  http_sender sender(private_allowed());

  const delivery_result failed = send_and_wait(sender, make_request(1, server.url("/fail")));
  EXPECT_EQ(failed.http_status, 500u);
  EXPECT_EQ(failed.error, "");
  EXPECT_FALSE(failed.success());
  EXPECT_EQ(failed.at_fault, fault::receiver);

  const delivery_result gone = send_and_wait(sender, make_request(1, server.url("/gone")));
  EXPECT_EQ(gone.http_status, 410u);
  EXPECT_EQ(gone.error, "");
  EXPECT_FALSE(gone.success());
}

TEST(HttpSender, DoesNotFollowRedirects) {
  test_server target(ok_response);
  test_server server(response(302, "Found", "Location: " + target.url("/elsewhere") + "\r\n"));
  http_sender sender(private_allowed());

  const delivery_result result = send_and_wait(sender, make_request(1, server.url()));
  EXPECT_EQ(result.http_status, 302u);
  EXPECT_EQ(result.error, "");
  EXPECT_FALSE(result.success());
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_EQ(target.connections(), 0u);
}

TEST(HttpSender, ConnectionRefused) {
  http_sender sender(private_allowed());
  const uint16_t port = test::unused_port();
  const delivery_result result =
      send_and_wait(sender, make_request(1, "http://127.0.0.1:" + std::to_string(port) + "/"));
  EXPECT_EQ(result.error, "connection refused");
  EXPECT_EQ(result.http_status, 0u);
}

TEST(HttpSender, InvalidUrl) {
  http_sender sender(private_allowed());
  EXPECT_EQ(send_and_wait(sender, make_request(1, "ftp://127.0.0.1/")).error, "invalid url");
  EXPECT_EQ(send_and_wait(sender, make_request(1, "not a url")).error, "invalid url");
  EXPECT_EQ(send_and_wait(sender, make_request(1, "http://user@127.0.0.1/")).error,
            "invalid url");
}

TEST(HttpSender, TimeoutWhenTheServerNeverAnswers) {
  test_server server([](const received_request&, size_t) { return reply::hanging(); });
  http_sender sender(private_allowed());

  const auto before = std::chrono::steady_clock::now();
  const delivery_result result = send_and_wait(sender, make_request(1, server.url(), 300ms));
  const auto elapsed = std::chrono::steady_clock::now() - before;

  EXPECT_EQ(result.error, "timeout");
  EXPECT_EQ(result.http_status, 0u);
  EXPECT_GE(result.duration, 300ms);
  EXPECT_LT(result.duration, 5s);
  EXPECT_GE(elapsed, 300ms);
  EXPECT_EQ(server.request_count(), 1u);
  // The connection was closed by the client.
  EXPECT_TRUE(server.wait_closed(1));
  EXPECT_EQ(sender.idle_connections(), 0u);
}

TEST(HttpSender, RetryAfterIsParsedOn503And429Only) {
  test_server server([](const received_request& r, size_t) {
    if (r.head.starts_with("POST /503 "))
      return reply{response(503, "Service Unavailable", "Retry-After: 120\r\n")};
    if (r.head.starts_with("POST /429 "))
      return reply{response(429, "Too Many Requests", "Retry-After:  7 \r\n")};
    if (r.head.starts_with("POST /date "))
      return reply{response(503, "Service Unavailable",
                            "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n")};
    return reply{response(500, "Internal Server Error", "Retry-After: 30\r\n")};
  });
  http_sender sender(private_allowed());

  const delivery_result unavailable = send_and_wait(sender, make_request(1, server.url("/503")));
  EXPECT_EQ(unavailable.http_status, 503u);
  ASSERT_TRUE(unavailable.retry_after.has_value());
  EXPECT_EQ(*unavailable.retry_after, 120s);

  const delivery_result busy = send_and_wait(sender, make_request(1, server.url("/429")));
  EXPECT_EQ(busy.http_status, 429u);
  ASSERT_TRUE(busy.retry_after.has_value());
  EXPECT_EQ(*busy.retry_after, 7s);

  const delivery_result date = send_and_wait(sender, make_request(1, server.url("/date")));
  EXPECT_EQ(date.http_status, 503u);
  EXPECT_FALSE(date.retry_after.has_value());

  const delivery_result other = send_and_wait(sender, make_request(1, server.url("/500")));
  EXPECT_EQ(other.http_status, 500u);
  EXPECT_FALSE(other.retry_after.has_value());
}

TEST(HttpSender, ReusesAKeepAliveConnectionForTheSameHook) {
  test_server server(ok_response);
  http_sender sender(private_allowed());

  EXPECT_TRUE(send_and_wait(sender, make_request(5, server.url("/a"))).success());
  EXPECT_EQ(sender.idle_connections(), 1u);
  EXPECT_TRUE(send_and_wait(sender, make_request(5, server.url("/b"))).success());
  EXPECT_TRUE(send_and_wait(sender, make_request(5, server.url("/c"))).success());
  EXPECT_EQ(server.connections(), 1u);
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_EQ(sender.idle_connections(), 1u);
}

TEST(HttpSender, ConnectionCloseResponseIsNotReused) {
  test_server server(response(200, "OK", "Connection: close\r\n"));
  http_sender sender(private_allowed());
  EXPECT_TRUE(send_and_wait(sender, make_request(5, server.url())).success());
  EXPECT_EQ(sender.idle_connections(), 0u);
  EXPECT_TRUE(send_and_wait(sender, make_request(5, server.url())).success());
  EXPECT_EQ(server.connections(), 2u);
}

TEST(HttpSender, HooksOfOneOriginShareItsConnections) {
  test_server server(ok_response);
  http_sender sender(private_allowed());

  for (uint64_t hook = 1; hook <= 5; ++hook) {
    const delivery_result result = send_and_wait(sender, make_request(hook, server.url("/h")));
    EXPECT_TRUE(result.success()) << result.error;
  }
  EXPECT_EQ(server.connections(), 1u);
  EXPECT_EQ(server.request_count(), 5u);
  EXPECT_EQ(sender.idle_connections(), 1u);
  EXPECT_EQ(sender.open_connections(), 1u);
}

TEST(HttpSender, AnotherHostNameIsAnotherOrigin) {
  test_server server(ok_response);
  http_sender sender(private_allowed());
  const std::string by_name = "http://localhost:" + std::to_string(server.port()) + "/";

  EXPECT_TRUE(send_and_wait(sender, make_request(1, server.url())).success());
  EXPECT_TRUE(send_and_wait(sender, make_request(2, by_name)).success());
  EXPECT_EQ(server.connections(), 2u);
  // Each origin reuses its own, whichever hook asks.
  EXPECT_TRUE(send_and_wait(sender, make_request(3, server.url())).success());
  EXPECT_TRUE(send_and_wait(sender, make_request(4, by_name)).success());
  EXPECT_EQ(server.connections(), 2u);
}

TEST(HttpSender, AHungHookDoesNotDelayAnotherHook) {
  test_server hung([](const received_request&, size_t) { return reply::hanging(); });
  test_server healthy(ok_response);
  http_sender sender(private_allowed()); // one io thread

  result_slot stuck;
  sender.send(make_request(1, hung.url(), 20s), stuck.callback());
  ASSERT_TRUE(hung.wait_requests(1));

  const delivery_result other = send_and_wait(sender, make_request(2, healthy.url()));
  EXPECT_TRUE(other.success()) << other.error;
  EXPECT_LT(other.duration, 5s);
  EXPECT_FALSE(stuck.ready()); // the first attempt is still pending

  sender.stop();
  ASSERT_TRUE(stuck.ready());
  EXPECT_EQ(stuck.get().error, "shutting down");
}

TEST(HttpSender, ManyConcurrentAttemptsProceedIndependently) {
  test_server hung([](const received_request&, size_t) { return reply::hanging(); });
  test_server healthy(ok_response);
  http_sender sender(private_allowed());

  constexpr int hooks = 20;
  std::vector<result_slot> stuck(hooks);
  for (int i = 0; i < hooks; ++i)
    sender.send(make_request(100 + i, hung.url(), 20s), stuck[i].callback());
  ASSERT_TRUE(hung.wait_requests(hooks));

  std::vector<result_slot> done(hooks);
  for (int i = 0; i < hooks; ++i)
    sender.send(make_request(200 + i, healthy.url()), done[i].callback());
  for (auto& slot : done)
    EXPECT_TRUE(slot.get().success());
  EXPECT_EQ(hung.connections(), static_cast<size_t>(hooks));
  for (auto& slot : stuck)
    EXPECT_FALSE(slot.ready());
}

TEST(HttpSender, HooksSendingAtOnceShareTheOriginsConnections) {
  // Declared before the sender, which joins its threads before these go away.
  std::mutex mtx;
  std::condition_variable cv;
  size_t finished = 0;
  size_t succeeded = 0;
  std::function<void(uint64_t, size_t)> next;
  test_server server(ok_response);
  http_sender sender(private_allowed());

  // Each hook sends its attempts one after another, all hooks at once; each next
  // attempt is sent from the previous one's callback, on the sender's io thread.
  constexpr size_t hooks = 8;
  constexpr size_t per_hook = 50;
  next = [&](uint64_t hook, size_t left) {
    sender.send(make_request(hook, server.url()), [&, hook, left](delivery_result r) {
      {
        std::lock_guard<std::mutex> guard{mtx};
        succeeded += r.success() ? 1 : 0;
        ++finished;
      }
      cv.notify_all();
      if (left > 1)
        next(hook, left - 1);
    });
  };
  for (uint64_t hook = 1; hook <= hooks; ++hook)
    next(hook, per_hook);
  std::unique_lock<std::mutex> lock{mtx};
  ASSERT_TRUE(cv.wait_for(lock, deadline, [&] { return finished == hooks * per_hook; }));
  EXPECT_EQ(succeeded, hooks * per_hook);
  // Never more at once than attempts at once; reused across hooks, not one per attempt.
  EXPECT_LE(server.connections(), hooks);
  EXPECT_LE(sender.open_connections(), hooks);
}

TEST(HttpSender, IdleConnectionClosedByTheServerIsReplaced) {
  // The server closes every connection right after its response, without saying so.
  test_server server([](const received_request&, size_t) {
    return reply{ok_response, /*close_after=*/true};
  });
  http_sender sender(private_allowed());

  EXPECT_TRUE(send_and_wait(sender, make_request(3, server.url())).success());
  ASSERT_TRUE(server.wait_closed(1));
  const delivery_result second = send_and_wait(sender, make_request(3, server.url()));
  EXPECT_TRUE(second.success()) << second.error;
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(HttpSender, ReusedConnectionDroppedBeforeAnyResponseIsRetriedOnce) {
  // The second request arrives on the reused connection; the server drops it unanswered
  // (the keep-alive race). The sender sends it once more on a fresh connection.
  test_server server([](const received_request&, size_t index) {
    if (index == 1)
      return reply::dropped();
    return reply{ok_response};
  });
  http_sender sender(private_allowed());

  EXPECT_TRUE(send_and_wait(sender, make_request(3, server.url())).success());
  const delivery_result second = send_and_wait(sender, make_request(3, server.url()));
  EXPECT_TRUE(second.success()) << second.error;
  EXPECT_EQ(server.connections(), 2u);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].connection, 1u);
  EXPECT_EQ(requests[2].connection, 2u);
}

TEST(HttpSender, RetryHappensOnlyOnce) {
  // Every request after the first is dropped: one retry, then the error.
  test_server server([](const received_request&, size_t index) {
    if (index == 0)
      return reply{ok_response};
    return reply::dropped();
  });
  http_sender sender(private_allowed());

  EXPECT_TRUE(send_and_wait(sender, make_request(3, server.url())).success());
  const delivery_result second = send_and_wait(sender, make_request(3, server.url()));
  EXPECT_EQ(second.error, "connection closed");
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_EQ(server.request_count(), 3u);
}

TEST(HttpSender, FreshConnectionClosedWithoutResponseIsNotRetried) {
  test_server server([](const received_request&, size_t) { return reply::dropped(); });
  http_sender sender(private_allowed());
  const delivery_result result = send_and_wait(sender, make_request(3, server.url()));
  EXPECT_EQ(result.error, "connection closed");
  EXPECT_EQ(result.http_status, 0u);
  EXPECT_EQ(server.connections(), 1u);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(HttpSender, PartialResponseOnReusedConnectionIsNotRetried) {
  // The status arrived, then the connection broke: the status counts, nothing is resent.
  test_server server([](const received_request&, size_t index) {
    if (index == 0)
      return reply{ok_response};
    return reply{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", true};
  });
  http_sender sender(private_allowed());
  EXPECT_TRUE(send_and_wait(sender, make_request(3, server.url())).success());
  const delivery_result second = send_and_wait(sender, make_request(3, server.url()));
  EXPECT_EQ(second.http_status, 200u);
  EXPECT_EQ(second.error, "");
  EXPECT_EQ(server.connections(), 1u);
  EXPECT_EQ(server.request_count(), 2u);
  EXPECT_EQ(sender.idle_connections(), 0u);
}

TEST(HttpSender, TooLargeResponseStillCountsAndItsConnectionIsClosed) {
  const std::string big(200 * 1024, 'x');
  char chunk_size[32];
  std::snprintf(chunk_size, sizeof chunk_size, "%zx", big.size());
  test_server server([&](const received_request&, size_t index) {
    if (index == 0) // declared length
      return reply{response(200, "OK", {}, big)};
    if (index == 1) // chunked
      return reply{"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n" +
                   std::string(chunk_size) + "\r\n" + big + "\r\n0\r\n\r\n"};
    return reply{ok_response};
  });
  http_sender_options options = private_allowed();
  options.max_response_body = 1024;
  http_sender sender(options);

  const delivery_result declared = send_and_wait(sender, make_request(4, server.url()));
  EXPECT_TRUE(declared.success()) << declared.error;
  EXPECT_EQ(declared.http_status, 200u);
  EXPECT_EQ(sender.idle_connections(), 0u);

  const delivery_result chunked = send_and_wait(sender, make_request(4, server.url()));
  EXPECT_TRUE(chunked.success()) << chunked.error;
  EXPECT_EQ(chunked.http_status, 202u);
  EXPECT_EQ(sender.idle_connections(), 0u);

  EXPECT_TRUE(send_and_wait(sender, make_request(4, server.url())).success());
  EXPECT_EQ(server.connections(), 3u);
  EXPECT_EQ(sender.idle_connections(), 1u);
}

TEST(HttpSender, BodyDelimitedByCloseIsRead) {
  test_server server([](const received_request&, size_t) {
    return reply{"HTTP/1.0 201 Created\r\nContent-Type: text/plain\r\n\r\nthanks", true};
  });
  http_sender sender(private_allowed());
  const delivery_result result = send_and_wait(sender, make_request(4, server.url()));
  EXPECT_EQ(result.http_status, 201u);
  EXPECT_TRUE(result.success()) << result.error;
  EXPECT_EQ(sender.idle_connections(), 0u);
}

TEST(HttpSender, InterimResponsesAreSkipped) {
  test_server server("HTTP/1.1 100 Continue\r\n\r\n" + response(204, "No Content"));
  http_sender sender(private_allowed());
  const delivery_result result = send_and_wait(sender, make_request(4, server.url()));
  EXPECT_EQ(result.http_status, 204u);
  EXPECT_TRUE(result.success());
}

TEST(HttpSender, PrivateTargetsAreRefusedWithoutConnecting) {
  test_server server(ok_response);
  http_sender sender; // allow_private_targets = false

  const delivery_result literal = send_and_wait(sender, make_request(1, server.url()));
  EXPECT_EQ(literal.error, "target not allowed: 127.0.0.1 is loopback");
  EXPECT_EQ(literal.http_status, 0u);

  const std::string port = std::to_string(server.port());
  const delivery_result name =
      send_and_wait(sender, make_request(1, "http://localhost:" + port + "/"));
  EXPECT_TRUE(name.error.starts_with("target not allowed: localhost resolves to 127.0.0.1"))
      << name.error;

  const delivery_result legacy =
      send_and_wait(sender, make_request(1, "http://127.1:" + port + "/"));
  EXPECT_EQ(legacy.error, "target not allowed: 127.1 resolves to 127.0.0.1 is loopback");

  const delivery_result v6 = send_and_wait(sender, make_request(1, "http://[::1]:" + port + "/"));
  EXPECT_EQ(v6.error, "target not allowed: ::1 is loopback");

  EXPECT_EQ(server.connections(), 0u);
}

TEST(HttpSender, LocalhostResolvesWhenPrivateTargetsAreAllowed) {
  test_server server(ok_response);
  http_sender sender(private_allowed());
  const std::string port = std::to_string(server.port());

  const delivery_result result =
      send_and_wait(sender, make_request(1, "http://localhost:" + port + "/x"));
  EXPECT_TRUE(result.success()) << result.error;
  ASSERT_TRUE(server.wait_requests(1));
  EXPECT_NE(server.requests()[0].head.find("\r\nHost: localhost:" + port + "\r\n"),
            std::string::npos);

  // A second look-up (from the cache) works as well, for another hook.
  EXPECT_TRUE(send_and_wait(sender, make_request(2, "http://localhost:" + port + "/")).success());
}

TEST(HttpSender, UnresolvableNameFailsQuicklyWithDnsError) {
  http_sender sender(private_allowed());
  const delivery_result result =
      send_and_wait(sender, make_request(1, "http://nothing.invalid/", 10s));
  EXPECT_TRUE(result.error.starts_with("dns: ")) << result.error;
  EXPECT_EQ(result.http_status, 0u);
  EXPECT_LT(result.duration, 2s);
}

TEST(HttpSender, StopEndsAttemptsInFlightAndRefusesNewOnes) {
  test_server hung([](const received_request&, size_t) { return reply::hanging(); });
  http_sender sender(private_allowed());

  result_slot first, second;
  sender.send(make_request(1, hung.url(), 20s), first.callback());
  sender.send(make_request(2, hung.url(), 20s), second.callback());
  ASSERT_TRUE(hung.wait_requests(2));

  sender.stop();
  ASSERT_TRUE(first.ready());
  ASSERT_TRUE(second.ready());
  EXPECT_EQ(first.get().error, "shutting down");
  EXPECT_EQ(second.get().error, "shutting down");
  EXPECT_TRUE(hung.wait_closed(2));

  result_slot late;
  sender.send(make_request(3, hung.url()), late.callback());
  ASSERT_TRUE(late.ready());
  EXPECT_EQ(late.get().error, "shutting down");
  sender.stop(); // idempotent
}

TEST(HttpSender, ForgettingAHookLeavesTheOriginsConnectionsToOthers) {
  test_server server(ok_response);
  http_sender sender(private_allowed());

  EXPECT_TRUE(send_and_wait(sender, make_request(9, server.url())).success());
  sender.forget(9);
  EXPECT_TRUE(send_and_wait(sender, make_request(10, server.url())).success());
  EXPECT_EQ(server.connections(), 1u);
}

/// Polls `predicate` until it holds; false after 30 s.
template <class Predicate>
bool eventually(Predicate predicate) {
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= give_up)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

/// A server that answers each request only once `n` requests have arrived, so `n` attempts
/// sent at once need `n` connections.
reply ok_once(size_t n) {
  reply r{ok_response};
  r.after_requests = n;
  return r;
}

TEST(HttpSender, IdleConnectionsPerOriginAreBounded) {
  test_server server([](const received_request&, size_t) { return ok_once(6); });
  http_sender_options options = private_allowed();
  options.max_idle_per_origin = 2;
  options.idle_surplus_linger = 200ms;
  http_sender sender(options);

  std::vector<result_slot> slots(6);
  for (size_t i = 0; i < slots.size(); ++i)
    sender.send(make_request(1 + i, server.url()), slots[i].callback());
  for (auto& slot : slots)
    EXPECT_TRUE(slot.get().success());
  EXPECT_EQ(server.connections(), 6u);
  ASSERT_TRUE(server.wait_closed(4));
  EXPECT_EQ(sender.idle_connections(), 2u);
  EXPECT_EQ(sender.open_connections(), 2u);
  // The two kept are the most recently used; they serve the next attempts.
  EXPECT_TRUE(send_and_wait(sender, make_request(7, server.url())).success());
  EXPECT_EQ(server.connections(), 6u);
}

TEST(HttpSender, ABurstReusesTheConnectionsThePreviousBurstOpened) {
  // Connections beyond the idle cap linger briefly, so bursts (here of other hooks of the
  // origin) do not open and close them again each time.
  test_server server([](const received_request&, size_t index) {
    return ok_once(index < 6 ? 6 : 12);
  });
  http_sender_options options = private_allowed();
  options.max_idle_per_origin = 2;
  options.idle_surplus_linger = 10s;
  http_sender sender(options);

  for (int burst = 0; burst < 2; ++burst) {
    std::vector<result_slot> slots(6);
    for (size_t i = 0; i < slots.size(); ++i)
      sender.send(make_request(1 + i + 6 * burst, server.url()), slots[i].callback());
    for (auto& slot : slots)
      EXPECT_TRUE(slot.get().success());
  }
  EXPECT_EQ(server.connections(), 6u);
}

TEST(HttpSender, IdleConnectionsCloseAfterTheIdleTimeout) {
  test_server server(ok_response);
  http_sender_options options = private_allowed();
  options.idle_timeout = 200ms;
  http_sender sender(options);

  EXPECT_TRUE(send_and_wait(sender, make_request(1, server.url())).success());
  ASSERT_TRUE(server.wait_closed(1)) << "the idle connection was not closed";
  EXPECT_EQ(sender.idle_connections(), 0u);
  EXPECT_EQ(sender.open_connections(), 0u);
  EXPECT_TRUE(send_and_wait(sender, make_request(2, server.url())).success());
  EXPECT_EQ(server.connections(), 2u);
}

TEST(HttpSender, AtTheGlobalCapAttemptsWaitAndNoneFails) {
  // Each answer takes 100 ms; 120 attempts of 12 hooks over 4 connections take about 3 s,
  // so most wait longer than their 2 s timeout: waiting must not count against it.
  test_server server([](const received_request&, size_t) {
    reply r{ok_response};
    r.delay = 100ms;
    return r;
  }, nullptr, /*record=*/false);
  http_sender_options options = private_allowed();
  options.max_outbound = 4;
  http_sender sender(options);

  constexpr size_t hooks = 12;
  constexpr size_t per_hook = 10;
  std::vector<result_slot> slots(hooks * per_hook);
  for (size_t i = 0; i < slots.size(); ++i)
    sender.send(make_request(1 + i % hooks, server.url(), 2s), slots[i].callback());
  size_t succeeded = 0;
  for (auto& slot : slots) {
    const delivery_result result = slot.get();
    EXPECT_TRUE(result.success()) << result.error;
    succeeded += result.success() ? 1 : 0;
  }
  EXPECT_EQ(succeeded, slots.size());
  EXPECT_LE(server.peak_open(), 4u);
  // Handed from one waiter to the next, not closed and opened again.
  EXPECT_LE(server.connections(), 4u);
  EXPECT_LE(sender.open_connections(), 4u);
  EXPECT_EQ(sender.waiting_attempts(), 0u);
}

TEST(HttpSender, AtTheGlobalCapIdleConnectionsOfOtherOriginsMakeRoom) {
  test_server busy([](const received_request&, size_t) { return ok_once(2); });
  test_server other(ok_response);
  http_sender_options options = private_allowed();
  options.max_outbound = 2;
  http_sender sender(options);

  std::vector<result_slot> slots(2);
  for (size_t i = 0; i < slots.size(); ++i)
    sender.send(make_request(1 + i, busy.url()), slots[i].callback());
  for (auto& slot : slots)
    EXPECT_TRUE(slot.get().success());
  ASSERT_EQ(sender.idle_connections(), 2u);

  const delivery_result result = send_and_wait(sender, make_request(3, other.url()));
  EXPECT_TRUE(result.success()) << result.error;
  EXPECT_TRUE(busy.wait_closed(1));
  EXPECT_EQ(sender.open_connections(), 2u);
}

TEST(HttpSender, WaitersAreServedRoundRobinAcrossOrigins) {
  // The cap is full of one origin's hung requests, and more of them wait. An attempt to
  // another origin gets one of the first slots freed, not a slot after all of them.
  test_server hung([](const received_request&, size_t) { return reply::hanging(); });
  test_server healthy(ok_response);
  http_sender_options options = private_allowed();
  options.max_outbound = 4;
  http_sender sender(options);

  std::vector<result_slot> first(4), queued(8);
  for (size_t i = 0; i < first.size(); ++i)
    sender.send(make_request(1 + i, hung.url(), 2500ms), first[i].callback());
  ASSERT_TRUE(hung.wait_requests(4));
  for (size_t i = 0; i < queued.size(); ++i)
    sender.send(make_request(10 + i, hung.url(), 2500ms), queued[i].callback());
  ASSERT_TRUE(eventually([&] { return sender.waiting_attempts() == 8; }));
  result_slot other;
  sender.send(make_request(100, healthy.url()), other.callback());
  ASSERT_TRUE(eventually([&] { return sender.waiting_attempts() == 9; }));

  const delivery_result result = other.get();
  const size_t hung_requests = hung.request_count();
  EXPECT_TRUE(result.success()) << result.error;
  // Served after the first wave timed out, within the next: first-come-first-served
  // would have given all 8 waiting attempts their connection first (12 requests).
  EXPECT_LE(hung_requests, 8u);
  EXPECT_LT(result.duration, 1s) << "time spent waiting is not the attempt's";
  for (auto& slot : first)
    EXPECT_EQ(slot.get().error, "timeout");
  EXPECT_LE(hung.peak_open(), 4u);
}

TEST(HttpSender, WaitersOfOneOriginAreServedRoundRobinAcrossHooks) {
  // One connection in all. Hook 1 has a hung request on it and three more waiting; hook 2's
  // attempt, queued after them, gets the second turn, not the fourth.
  test_server server([](const received_request& request, size_t) {
    return request.head.starts_with("POST /hang ") ? reply::hanging() : reply{ok_response};
  });
  http_sender_options options = private_allowed();
  options.max_outbound = 1;
  http_sender sender(options);

  std::vector<result_slot> hook1(4);
  sender.send(make_request(1, server.url("/hang"), 2s), hook1[0].callback());
  ASSERT_TRUE(server.wait_requests(1));
  for (size_t i = 1; i < hook1.size(); ++i)
    sender.send(make_request(1, server.url("/hang"), 2s), hook1[i].callback());
  ASSERT_TRUE(eventually([&] { return sender.waiting_attempts() == 3; }));
  result_slot hook2;
  sender.send(make_request(2, server.url("/ok")), hook2.callback());
  ASSERT_TRUE(eventually([&] { return sender.waiting_attempts() == 4; }));

  const delivery_result result = hook2.get();
  EXPECT_TRUE(result.success()) << result.error;
  ASSERT_TRUE(server.wait_requests(3));
  EXPECT_TRUE(server.requests()[2].head.starts_with("POST /ok ")) << "two of hook 1, then hook 2";
  EXPECT_EQ(hook1[0].get().error, "timeout");
  EXPECT_EQ(hook1[1].get().error, "timeout");
  EXPECT_EQ(server.peak_open(), 1u);
}

// --- HTTPS ---------------------------------------------------------------------------------

class HttpSenderTls : public ::testing::Test {
protected:
  void SetUp() override {
    if (!pki().ok())
      GTEST_SKIP() << "openssl could not create test certificates";
  }
};

TEST_F(HttpSenderTls, SucceedsWithTheTestCaAndReusesTheConnectionAcrossHooks) {
  test_server server([](const received_request&, size_t) { return reply{ok_response}; },
                     pki().server_context("good"));
  http_sender_options options = private_allowed();
  options.ca_file = pki().ca_file();
  http_sender sender(options);

  const delivery_result first = send_and_wait(sender, make_request(1, server.url("/tls")));
  EXPECT_TRUE(first.success()) << first.error;
  const delivery_result second = send_and_wait(sender, make_request(2, server.url("/tls")));
  EXPECT_TRUE(second.success()) << second.error;
  EXPECT_EQ(server.connections(), 1u);

  // By name (SNI and DNS name check): another origin, so another connection.
  const delivery_result named = send_and_wait(
      sender, make_request(2, "https://localhost:" + std::to_string(server.port()) + "/"));
  EXPECT_TRUE(named.success()) << named.error;
  EXPECT_EQ(server.connections(), 2u);
  ASSERT_TRUE(server.wait_requests(3));
  EXPECT_EQ(server.requests()[0].head.substr(0, 19), "POST /tls HTTP/1.1\r");
}

TEST_F(HttpSenderTls, FailsWithoutTrustingTheCa) {
  test_server server([](const received_request&, size_t) { return reply{ok_response}; },
                     pki().server_context("good"));
  http_sender sender(private_allowed());
  const delivery_result result = send_and_wait(sender, make_request(1, server.url()));
  EXPECT_TRUE(result.error.starts_with("tls: ")) << result.error;
  EXPECT_NE(result.error.find("certificate verify failed"), std::string::npos) << result.error;
  EXPECT_EQ(result.http_status, 0u);
  EXPECT_EQ(server.request_count(), 0u);
}

TEST_F(HttpSenderTls, FailsOnAWrongHostName) {
  test_server server([](const received_request&, size_t) { return reply{ok_response}; },
                     pki().server_context("wrong"));
  http_sender_options options = private_allowed();
  options.ca_file = pki().ca_file();
  http_sender sender(options);

  const delivery_result by_address = send_and_wait(sender, make_request(1, server.url()));
  EXPECT_TRUE(by_address.error.starts_with("tls: ")) << by_address.error;
  const delivery_result by_name = send_and_wait(
      sender, make_request(1, "https://localhost:" + std::to_string(server.port()) + "/"));
  EXPECT_TRUE(by_name.error.starts_with("tls: ")) << by_name.error;
  EXPECT_NE(by_name.error.find("mismatch"), std::string::npos) << by_name.error;
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(HttpSenderOptions, UnreadableCaFileIsAnError) {
  http_sender_options options;
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(http_sender sender(options), std::runtime_error);
}

// --- DNS ---------------------------------------------------------------------------------

/// A dns_resolver on its own io thread.
class resolver_harness {
public:
  explicit resolver_harness(dns_resolver_options options)
      : work_(asio::make_work_guard(io_)),
        resolver_(std::make_unique<dns_resolver>(io_, std::move(options))),
        thread_([this] { io_.run(); }) {}

  ~resolver_harness() {
    work_.reset();
    io_.stop();
    thread_.join();
    resolver_.reset();
  }

  std::shared_future<dns_answer> resolve(const std::string& host) {
    auto promise = std::make_shared<std::promise<dns_answer>>();
    std::shared_future<dns_answer> future = promise->get_future().share();
    resolver_->resolve(host, [promise](dns_answer answer) { promise->set_value(std::move(answer)); });
    return future;
  }

  dns_answer resolve_and_wait(const std::string& host) {
    auto future = resolve(host);
    if (future.wait_for(deadline) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within 30 s";
      return {};
    }
    return future.get();
  }

private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<dns_resolver> resolver_;
  std::thread thread_;
};

std::vector<std::string> texts(const dns_answer& answer) {
  std::vector<std::string> result;
  for (const auto& address : answer.addresses)
    result.push_back(address.to_string());
  return result;
}

TEST(DnsResolver, AsksTheNameServerAndCachesTheAnswer) {
  test_dns_server dns(test_dns_server::table{{"hook.test", {"127.0.0.1", "127.0.0.2"}}});
  dns_resolver_options options;
  options.servers = dns.address();
  resolver_harness resolver(options);

  const dns_answer answer = resolver.resolve_and_wait("hook.test");
  EXPECT_EQ(answer.error, "");
  EXPECT_EQ(texts(answer), (std::vector<std::string>{"127.0.0.1", "127.0.0.2"}));
  const size_t asked = dns.queries("hook.test");
  EXPECT_GE(asked, 1u);

  EXPECT_EQ(texts(resolver.resolve_and_wait("hook.test")),
            (std::vector<std::string>{"127.0.0.1", "127.0.0.2"}));
  EXPECT_EQ(dns.queries("hook.test"), asked); // from the cache
}

TEST(DnsResolver, UnknownNameIsAnError) {
  test_dns_server dns(test_dns_server::table{});
  dns_resolver_options options;
  options.servers = dns.address();
  resolver_harness resolver(options);
  const dns_answer answer = resolver.resolve_and_wait("nope.test");
  EXPECT_EQ(answer.error, "Domain name not found");
  EXPECT_TRUE(answer.addresses.empty());
}

TEST(DnsResolver, ASlowNameDoesNotDelayOthers) {
  test_dns_server dns(test_dns_server::table{{"hook.test", {"127.0.0.1"}}}, {"slow.test"});
  dns_resolver_options options;
  options.servers = dns.address();
  options.query_timeout = 20s;
  options.tries = 1;
  resolver_harness resolver(options);

  auto slow = resolver.resolve("slow.test");
  ASSERT_TRUE(dns.wait_queries("slow.test", 1));
  EXPECT_EQ(texts(resolver.resolve_and_wait("hook.test")),
            std::vector<std::string>{"127.0.0.1"});
  EXPECT_NE(slow.wait_for(0s), std::future_status::ready);
}

TEST(DnsResolver, UnansweredQueryTimesOut) {
  test_dns_server dns(test_dns_server::table{}, {"slow.test"});
  dns_resolver_options options;
  options.servers = dns.address();
  options.query_timeout = 200ms;
  options.tries = 1;
  resolver_harness resolver(options);
  const dns_answer answer = resolver.resolve_and_wait("slow.test");
  EXPECT_NE(answer.error.find("Timeout"), std::string::npos) << answer.error;
}

TEST(DnsResolver, ConcurrentLookupsOfOneNameShareAQuery) {
  test_dns_server dns(test_dns_server::table{{"hook.test", {"127.0.0.1"}}});
  dns_resolver_options options;
  options.servers = dns.address();
  resolver_harness resolver(options);
  auto first = resolver.resolve("hook.test");
  auto second = resolver.resolve("hook.test");
  ASSERT_EQ(first.wait_for(deadline), std::future_status::ready);
  ASSERT_EQ(second.wait_for(deadline), std::future_status::ready);
  EXPECT_EQ(texts(first.get()), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(texts(second.get()), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(dns.queries("hook.test"), 2u); // one A and one AAAA query
}

TEST(DnsResolver, AnswersSpecialNamesWithoutAskingDns) {
  test_dns_server dns(test_dns_server::table{});
  dns_resolver_options options;
  options.servers = dns.address();
  resolver_harness resolver(options);

  EXPECT_EQ(texts(resolver.resolve_and_wait("127.1")), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(texts(resolver.resolve_and_wait("2130706433")),
            std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(texts(resolver.resolve_and_wait("::1")), std::vector<std::string>{"::1"});
  EXPECT_EQ(resolver.resolve_and_wait("nothing.invalid").error, "Domain name not found");
  const dns_answer local = resolver.resolve_and_wait("api.localhost");
  EXPECT_EQ(local.error, "");
  ASSERT_FALSE(local.addresses.empty());
  EXPECT_EQ(local.addresses[0].to_string(), "127.0.0.1");
  EXPECT_EQ(dns.queries("nothing.invalid"), 0u);
}

TEST(DnsResolver, InvalidServerListIsAnError) {
  asio::io_context io;
  dns_resolver_options options;
  options.servers = "not an address";
  EXPECT_THROW(dns_resolver resolver(io, options), std::runtime_error);
}

TEST(HttpSenderDns, NamesResolveThroughTheConfiguredServer) {
  test_server server(ok_response);
  test_dns_server dns(test_dns_server::table{{"hook.test", {"127.0.0.1"}}});
  http_sender_options options = private_allowed();
  options.dns_servers = dns.address();
  http_sender sender(options);

  const std::string url = "http://hook.test:" + std::to_string(server.port()) + "/in";
  const delivery_result result = send_and_wait(sender, make_request(1, url));
  EXPECT_TRUE(result.success()) << result.error;
  ASSERT_TRUE(server.wait_requests(1));
  EXPECT_NE(server.requests()[0].head.find("\r\nHost: hook.test:" +
                                           std::to_string(server.port()) + "\r\n"),
            std::string::npos);
}

TEST(HttpSenderDns, ANameWithAnyForbiddenAddressIsRefused) {
  test_dns_server dns(test_dns_server::table{{"private.test", {"10.0.0.1"}},
                                             {"mixed.test", {"192.0.2.1", "127.0.0.1"}}});
  http_sender_options options; // private targets not allowed
  options.dns_servers = dns.address();
  http_sender sender(options);

  EXPECT_EQ(send_and_wait(sender, make_request(1, "http://private.test/")).error,
            "target not allowed: private.test resolves to 10.0.0.1 is private");
  EXPECT_EQ(send_and_wait(sender, make_request(1, "https://mixed.test/")).error,
            "target not allowed: mixed.test resolves to 127.0.0.1 is loopback");
}

TEST(HttpSenderDns, ASlowNameServerOnlyDelaysItsOwnHook) {
  test_server server(ok_response);
  test_dns_server dns(test_dns_server::table{{"hook.test", {"127.0.0.1"}}}, {"slow.test"});
  http_sender_options options = private_allowed();
  options.dns_servers = dns.address();
  http_sender sender(options);

  result_slot stuck;
  sender.send(make_request(1, "http://slow.test/", 20s), stuck.callback());
  ASSERT_TRUE(dns.wait_queries("slow.test", 1));
  const std::string url = "http://hook.test:" + std::to_string(server.port()) + "/";
  EXPECT_TRUE(send_and_wait(sender, make_request(2, url)).success());
  EXPECT_FALSE(stuck.ready());

  // The attempt's own deadline covers the look-up.
  const delivery_result timed_out =
      send_and_wait(sender, make_request(3, "http://slow.test/", 300ms));
  EXPECT_EQ(timed_out.error, "dns: timeout");
  EXPECT_EQ(timed_out.at_fault, fault::local);
  EXPECT_GE(timed_out.duration, 300ms);

  sender.stop();
  ASSERT_TRUE(stuck.ready());
  EXPECT_EQ(stuck.get().error, "shutting down");
}

} // namespace
} // namespace hookwerk::engine
