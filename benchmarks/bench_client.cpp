// The HTTP client side of the benchmark: a blocking client for set-up calls and the load
// generator. One of the two translation units that include Beast.
#include <utility>

#include "benchmarks/bench_http.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace hookwerk::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

std::atomic<bool> g_interrupted{false};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

endpoint parse_http_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme)
    throw std::invalid_argument("only http:// URLs are supported: " + std::string{url});
  auto rest = url.substr(scheme.size());
  rest = rest.substr(0, rest.find('/'));
  auto colon = rest.rfind(':');
  endpoint ep;
  ep.host = std::string{rest.substr(0, colon)};
  if (ep.host == "localhost")
    ep.host = "127.0.0.1";
  if (colon == std::string_view::npos) {
    ep.port = 80;
  } else {
    auto port = std::stoul(std::string{rest.substr(colon + 1)});
    if (port == 0 || port > 65535)
      throw std::invalid_argument("bad port in " + std::string{url});
    ep.port = static_cast<uint16_t>(port);
  }
  error_code ec;
  asio::ip::make_address(ep.host, ec);
  if (ec)
    throw std::invalid_argument("the host must be an IP address: " + std::string{url});
  return ep;
}

namespace {

tcp::endpoint to_tcp(const endpoint& ep) {
  return tcp::endpoint{asio::ip::make_address(ep.host), ep.port};
}

constexpr uint64_t max_body_bytes = 256ull << 20;

} // namespace

// ---------------------------------------------------------------------------------------------
// Blocking client

struct http_client::impl {
  endpoint ep;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  bool attempt(std::string_view method, std::string_view target, const header_list& headers,
               std::string_view body, std::chrono::milliseconds timeout, http_reply& out,
               bool& reused) {
    error_code ec;
    reused = stream.has_value();
    if (!stream) {
      stream.emplace(ioc);
      buffer.clear();
      stream->expires_after(timeout);
      stream->async_connect(to_tcp(ep), [&](error_code e) { ec = e; });
      ioc.restart();
      ioc.run();
      if (ec) {
        stream.reset();
        out.error = "connect: " + ec.message();
        return false;
      }
      stream->socket().set_option(tcp::no_delay{true}, ec);
    }
    http::request<http::string_body> req;
    req.method_string(beast::string_view{method.data(), method.size()});
    req.target(beast::string_view{target.data(), target.size()});
    req.version(11);
    req.set(http::field::host, ep.host + ":" + std::to_string(ep.port));
    for (const auto& [k, v] : headers)
      req.set(k, v);
    req.body() = std::string{body};
    req.keep_alive(true);
    if (!body.empty() || method == "POST" || method == "PUT")
      req.prepare_payload();

    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body_bytes);
    stream->expires_after(timeout);
    http::async_write(*stream, req, [&](error_code e, std::size_t) {
      if (e) {
        ec = e;
        return;
      }
      http::async_read(*stream, buffer, parser, [&](error_code e2, std::size_t) { ec = e2; });
    });
    ioc.restart();
    ioc.run();
    if (ec) {
      stream.reset();
      out.error = std::string{method} + " " + std::string{target} + ": " + ec.message();
      return false;
    }
    auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    out.error.clear();
    if (!res.keep_alive())
      stream.reset();
    return true;
  }
};

http_client::http_client(endpoint ep) : impl_(std::make_unique<impl>()) { impl_->ep = std::move(ep); }
http_client::~http_client() = default;

http_reply http_client::request(std::string_view method, std::string_view target,
                                const header_list& headers, std::string_view body,
                                std::chrono::milliseconds timeout) {
  http_reply out;
  bool reused = false;
  if (impl_->attempt(method, target, headers, body, timeout, out, reused))
    return out;
  // A kept-alive connection may have been closed by the server meanwhile: one fresh try.
  if (reused && impl_->attempt(method, target, headers, body, timeout, out, reused))
    return out;
  out.status = 0;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Load generator

namespace {

struct load_state {
  const load_spec& spec;
  tcp::endpoint ep;
  std::string prefix;  // request line and headers up to "Content-Length: "
  int64_t t0 = 0;
  int64_t window_start = 0;
  int64_t window_end = 0;
  int64_t send_end = 0;
  std::atomic<uint64_t> seq{0};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> ok{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> units{0};
  std::atomic<bool> stopping{false};
  std::atomic<int> active{0};
  std::atomic<int64_t> last_response{0};
  std::mutex error_mu;
  std::string first_error;

  explicit load_state(const load_spec& s) : spec(s) {}

  void note_error(std::string text) {
    std::lock_guard lock{error_mu};
    if (first_error.empty())
      first_error = std::move(text);
  }
};

class load_connection : public std::enable_shared_from_this<load_connection> {
public:
  load_connection(asio::io_context& ioc, load_state& st, int index)
      : st_(st), index_(index), socket_(ioc), timer_(ioc) {}

  void start() { connect(); }

  // Results, read after the io threads stopped.
  histogram latency;
  uint64_t status_503 = 0;
  uint64_t transport_errors = 0;
  uint64_t request_errors = 0;
  uint64_t ok_in_window = 0;
  uint64_t units_in_window = 0;

private:
  void connect() {
    socket_.async_connect(st_.ep, [self = shared_from_this()](error_code ec) {
      if (ec) {
        ++self->transport_errors;
        self->st_.note_error("connect: " + ec.message());
        return self->retry_later();
      }
      error_code ignored;
      self->socket_.set_option(tcp::no_delay{true}, ignored);
      self->next();
    });
  }

  void retry_later() {
    error_code ignored;
    socket_.close(ignored);
    if (stopped())
      return finish();
    timer_.expires_after(std::chrono::milliseconds{20});
    timer_.async_wait([self = shared_from_this()](error_code) {
      if (self->stopped())
        return self->finish();
      self->connect();
    });
  }

  bool stopped() const { return st_.stopping.load(std::memory_order_relaxed) || g_interrupted.load(); }

  void wait_until(int64_t ns, void (load_connection::*then)()) {
    timer_.expires_at(std::chrono::steady_clock::time_point{std::chrono::nanoseconds{ns}});
    timer_.async_wait([self = shared_from_this(), then](error_code) { ((*self).*then)(); });
  }

  void next() {
    if (stopped())
      return finish();
    const auto& spec = st_.spec;
    int64_t now = now_ns();
    if (spec.rate > 0) {
      auto intended = st_.t0 + static_cast<int64_t>(
                                   (static_cast<double>(index_) +
                                    static_cast<double>(j_) * spec.connections) * 1e9 / spec.rate);
      if (intended >= st_.send_end)
        return finish();
      if (intended > now)
        return wait_until(intended, &load_connection::next_due);
      ++j_;
      return send(intended);
    }
    if (now >= st_.send_end)
      return finish();
    if (spec.may_send && !spec.may_send(st_.units.load(std::memory_order_relaxed)))
      return wait_until(now + 2'000'000, &load_connection::next);
    send(now);
  }

  void next_due() {
    if (stopped())
      return finish();
    auto intended = st_.t0 + static_cast<int64_t>(
                                 (static_cast<double>(index_) +
                                  static_cast<double>(j_) * st_.spec.connections) * 1e9 / st_.spec.rate);
    ++j_;
    send(intended);
  }

  void send(int64_t intended) {
    const auto& spec = st_.spec;
    uint64_t seq = st_.seq.fetch_add(1, std::memory_order_relaxed);
    if (spec.max_requests && seq >= spec.max_requests)
      return finish();
    body_.clear();
    if (spec.make_body)
      spec.make_body(seq, intended, body_);
    request_.clear();
    request_.append(st_.prefix);
    request_.append(std::to_string(body_.size()));
    request_.append("\r\n\r\n");
    request_.append(body_);
    start_ns_ = intended;
    st_.sent.fetch_add(1, std::memory_order_relaxed);
    asio::async_write(socket_, asio::buffer(request_),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (ec)
                          return self->on_request_error(ec);
                        self->read();
                      });
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(max_body_bytes);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, std::size_t) {
                       if (ec)
                         return self->on_request_error(ec);
                       self->on_response();
                     });
  }

  void on_request_error(error_code ec) {
    ++transport_errors;
    ++request_errors;
    st_.note_error("request: " + ec.message());
    buffer_.clear();
    retry_later();
  }

  void on_response() {
    int64_t end = now_ns();
    st_.last_response.store(end, std::memory_order_relaxed);
    auto& res = parser_->get();
    int status = static_cast<int>(res.result_int());
    const auto& spec = st_.spec;
    int64_t units = spec.on_response ? spec.on_response(status, res.body())
                                     : (status >= 200 && status < 300 ? 1 : -1);
    if (status == 503)
      ++status_503;
    if (units >= 0) {
      st_.ok.fetch_add(1, std::memory_order_relaxed);
      st_.units.fetch_add(static_cast<uint64_t>(units), std::memory_order_relaxed);
      if (end >= st_.window_start && end < st_.window_end) {
        ++ok_in_window;
        units_in_window += static_cast<uint64_t>(units);
        latency.record(end - start_ns_);
      }
    } else {
      st_.failed.fetch_add(1, std::memory_order_relaxed);
      st_.note_error("HTTP " + std::to_string(status) + ": " + res.body().substr(0, 300));
    }
    bool keep = res.keep_alive();
    parser_.reset();
    if (!keep) {
      buffer_.clear();
      return retry_later();
    }
    next();
  }

  void finish() {
    if (finished_)
      return;
    finished_ = true;
    timer_.cancel();
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    --st_.active;
  }

  load_state& st_;
  int index_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::string body_;
  std::string request_;
  int64_t start_ns_ = 0;
  uint64_t j_ = 0;
  bool finished_ = false;
};

} // namespace

load_result run_load(const load_spec& spec) {
  load_state st{spec};
  st.ep = to_tcp(spec.ep);
  st.prefix = "POST " + spec.target + " HTTP/1.1\r\nHost: " + spec.ep.host + ":" +
              std::to_string(spec.ep.port) + "\r\n";
  for (const auto& [k, v] : spec.headers)
    st.prefix += k + ": " + v + "\r\n";
  st.prefix += "Content-Length: ";

  int threads = std::max(1, spec.threads);
  int connections = std::max(1, spec.connections);
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  for (int i = 0; i < threads; ++i)
    iocs.push_back(std::make_unique<asio::io_context>(1));

  constexpr int64_t sec = 1'000'000'000;
  st.t0 = now_ns();
  st.window_start = st.t0 + static_cast<int64_t>(spec.warmup_s * sec);
  if (spec.duration_s > 0) {
    st.window_end = st.window_start + static_cast<int64_t>(spec.duration_s * sec);
    st.send_end = st.window_end;
  } else {
    st.window_end = INT64_MAX;
    st.send_end = INT64_MAX;
  }
  if (spec.max_seconds > 0)
    st.send_end = std::min(st.send_end, st.t0 + static_cast<int64_t>(spec.max_seconds * sec));
  // After sending stops, answers to requests in flight get this long.
  constexpr int64_t grace = 15 * sec;

  std::vector<std::shared_ptr<load_connection>> conns;
  for (int i = 0; i < connections; ++i) {
    auto& ioc = *iocs[static_cast<size_t>(i % threads)];
    auto c = std::make_shared<load_connection>(ioc, st, i);
    conns.push_back(c);
    asio::post(ioc, [c] { c->start(); });
  }
  // Counted before any can finish, so active reaching 0 means "all done".
  st.active = connections;
  std::vector<std::thread> pool;
  for (auto& ioc : iocs)
    pool.emplace_back([&ioc] { ioc->run(); });

  bool window_started = false;
  bool window_ended = spec.duration_s <= 0;
  int64_t next_progress = st.t0 + sec;
  auto progress = [&] {
    if (!spec.on_progress)
      return;
    load_progress p;
    p.elapsed_s = static_cast<double>(now_ns() - st.t0) / sec;
    p.sent = st.sent.load();
    p.ok = st.ok.load();
    p.units = st.units.load();
    p.failed = st.failed.load();
    spec.on_progress(p);
  };
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
    int64_t now = now_ns();
    if (!window_started && now >= st.window_start) {
      window_started = true;
      if (spec.on_window_start)
        spec.on_window_start();
    }
    if (!window_ended && now >= st.window_end) {
      window_ended = true;
      if (spec.on_window_end)
        spec.on_window_end();
    }
    if (now >= next_progress) {
      next_progress += sec;
      progress();
    }
    if (g_interrupted.load() || now >= st.send_end)
      st.stopping = true;
    if (st.active.load() <= 0)
      break;
    if (st.send_end != INT64_MAX && now > st.send_end + grace)
      break;
  }
  if (!window_ended && spec.on_window_end)
    spec.on_window_end();
  progress();
  for (auto& ioc : iocs)
    ioc->stop();
  for (auto& t : pool)
    t.join();

  load_result r;
  r.sent = st.sent.load();
  r.ok = st.ok.load();
  r.failed = st.failed.load();
  r.units = st.units.load();
  uint64_t request_errors = 0;
  for (auto& c : conns) {
    r.latency.merge(c->latency);
    r.status_503 += c->status_503;
    r.transport_errors += c->transport_errors;
    request_errors += c->request_errors;
    r.ok_in_window += c->ok_in_window;
    r.units_in_window += c->units_in_window;
  }
  uint64_t settled = r.ok + r.failed + request_errors;
  r.unanswered = r.sent > settled ? r.sent - settled : 0;
  int64_t last = st.last_response.load();
  r.elapsed_s = last > st.t0 ? static_cast<double>(last - st.t0) / sec : 0;
  r.window_start_ns = st.window_start;
  if (spec.duration_s > 0) {
    r.window_end_ns = st.window_end;
    r.window_s = spec.duration_s;
  } else {
    r.window_end_ns = std::max(last, st.window_start);
    r.window_s = static_cast<double>(r.window_end_ns - st.window_start) / sec;
  }
  r.first_error = st.first_error;
  conns.clear();
  return r;
}

} // namespace hookwerk::bench
