// The webhook receiver of the benchmark. One of the two translation units that include Beast.
#include <utility>

#include "benchmarks/bench_http.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

namespace hookwerk::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::string_view ok_keep_alive = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
constexpr std::string_view ok_close =
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// The send time the generator put first into every payload: {"t":<ns>,…}.
int64_t sent_time_of(std::string_view body) {
  auto pos = body.substr(0, 64).find("\"t\":");
  if (pos == std::string_view::npos)
    return 0;
  auto digits = body.substr(pos + 4);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  (void)p;
  return ec == std::errc{} ? v : 0;
}

uint32_t number_of(std::string_view text) {
  uint32_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

} // namespace

struct sink::impl {
  options opts;
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::optional<tcp::acceptor> acceptor;
  uint16_t port = 0;
  size_t next_context = 0;
  bool stopped = false;
  std::mutex stop_mu;

  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> deliveries{0};
  std::atomic<uint64_t> distinct{0};
  mutable std::mutex mu;
  std::vector<delivery_record> records;
  std::unordered_set<uint64_t> seen;

  void accept();
  void record(const http::request<http::string_body>& req, int64_t arrived);
};

namespace {

class sink_session : public std::enable_shared_from_this<sink_session> {
public:
  sink_session(tcp::socket socket, sink::impl& owner)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), owner_(owner) {}

  tcp::socket::executor_type executor() { return socket_.get_executor(); }

  void read() {
    parser_.emplace();
    parser_->body_limit(256ull << 20);
    parser_->header_limit(64 * 1024);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

private:
  void on_read(error_code ec) {
    if (ec)
      return close();
    int64_t arrived = now_ns();
    auto& req = parser_->get();
    owner_.record(req, arrived);
    keep_alive_ = req.keep_alive();
    switch (owner_.opts.mode) {
    case sink_mode::normal:
      return write();
    case sink_mode::slow:
      timer_.expires_after(owner_.opts.delay);
      return timer_.async_wait([self = shared_from_this()](error_code) { self->write(); });
    case sink_mode::blackhole:
      return read();
    }
  }

  void write() {
    auto text = keep_alive_ ? ok_keep_alive : ok_close;
    asio::async_write(socket_, asio::buffer(text.data(), text.size()),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (ec || !self->keep_alive_)
                          return self->close();
                        self->read();
                      });
  }

  void close() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  sink::impl& owner_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
};

} // namespace

void sink::impl::record(const http::request<http::string_body>& req, int64_t arrived) {
  requests.fetch_add(1, std::memory_order_relaxed);
  auto id = req.find("webhook-id");
  if (id == req.end())
    return;
  delivery_record rec;
  rec.arrived_ns = arrived;
  rec.sent_ns = sent_time_of(req.body());
  auto idv = id->value();
  rec.event_hash = std::hash<std::string_view>{}(std::string_view{idv.data(), idv.size()});
  if (auto hook = req.find("X-Hookwerk-Webhook-Id"); hook != req.end())
    rec.hook_id = number_of(std::string_view{hook->value().data(), hook->value().size()});
  uint64_t key = rec.event_hash ^ (static_cast<uint64_t>(rec.hook_id) * 0x9E3779B97F4A7C15ull);
  std::lock_guard lock{mu};
  bool fresh = seen.insert(key).second;
  rec.duplicate = fresh ? 0 : 1;
  records.push_back(rec);
  deliveries.fetch_add(1, std::memory_order_relaxed);
  if (fresh)
    distinct.fetch_add(1, std::memory_order_relaxed);
}

void sink::impl::accept() {
  auto& target = *iocs[next_context++ % iocs.size()];
  acceptor->async_accept(target, [this](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open())
      return;
    if (!ec) {
      error_code ignored;
      socket.set_option(tcp::no_delay{true}, ignored);
      auto session = std::make_shared<sink_session>(std::move(socket), *this);
      asio::post(session->executor(), [session] { session->read(); });
    }
    accept();
  });
}

sink::sink(options opts) : impl_(std::make_unique<impl>()) {
  impl_->opts = opts;
  int n = std::max(1, opts.threads);
  for (int i = 0; i < n; ++i) {
    impl_->iocs.push_back(std::make_unique<asio::io_context>(1));
    impl_->guards.push_back(asio::make_work_guard(*impl_->iocs.back()));
  }
  impl_->records.reserve(1 << 16);
  impl_->acceptor.emplace(*impl_->iocs[0]);
  tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
  impl_->acceptor->open(ep.protocol());
  impl_->acceptor->set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor->bind(ep);
  impl_->acceptor->listen(asio::socket_base::max_listen_connections);
  impl_->port = impl_->acceptor->local_endpoint().port();
  impl_->accept();
  for (auto& ioc : impl_->iocs)
    impl_->threads.emplace_back([p = ioc.get()] { p->run(); });
}

sink::~sink() { stop(); }

void sink::stop() {
  std::lock_guard lock{impl_->stop_mu};
  if (impl_->stopped)
    return;
  impl_->stopped = true;
  asio::post(*impl_->iocs[0], [p = impl_.get()] {
    error_code ignored;
    p->acceptor->close(ignored);
  });
  impl_->guards.clear();
  for (auto& ioc : impl_->iocs)
    ioc->stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
  impl_->acceptor.reset();
  // Destroying the contexts destroys the sessions waiting in them, closing their sockets.
  impl_->iocs.clear();
}

uint16_t sink::port() const { return impl_->port; }
std::string sink::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + std::string{path};
}
uint64_t sink::requests() const { return impl_->requests.load(); }
uint64_t sink::deliveries() const { return impl_->deliveries.load(); }
uint64_t sink::distinct() const { return impl_->distinct.load(); }
std::vector<delivery_record> sink::records() const {
  std::lock_guard lock{impl_->mu};
  return impl_->records;
}

} // namespace hookwerk::bench
