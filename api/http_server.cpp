#include <utility> // before Asio: g++ 12 + Asio 1.74 in C++20 need it first

#include "api/http_server.hpp"

#include <optional>
#include <pthread.h>
#include <thread>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "actors/support/log.hpp"

namespace hookwerk::api {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

/// Each connection runs on its own strand. Naming the strand's type, instead
/// of Beast's default type-erased `any_io_executor`, spares every read, write
/// and timer operation the heap copy of the executor that type erasure makes.
using strand_executor = net::strand<net::io_context::executor_type>;
using stream_type = beast::basic_stream<tcp, strand_executor>;
using socket_type = tcp::socket::rebind_executor<strand_executor>::other;

struct shared_settings {
  http_server_options opts;
  request_handler handler;
  rejection_builder reject;
  std::atomic<bool> ready{false};
};

class session;

/// Every open connection is counted here; the idle ones (from accept or their
/// last response until their next request header is complete) are also kept
/// in a list, longest-idle first. Only the io thread touches the list (a
/// session is linked only while a read of its own is pending, so it cannot be
/// destroyed elsewhere meanwhile); the count is atomic because the last owner
/// of a session that was never closed may be an actor thread.
class connection_table {
public:
  explicit connection_table(size_t limit) : limit_(std::max<size_t>(limit, 1)) {}

  bool full() const { return open_.load(std::memory_order_relaxed) >= limit_; }
  void opened() { open_.fetch_add(1, std::memory_order_relaxed); }
  void released() { open_.fetch_sub(1, std::memory_order_relaxed); }
  size_t open() const { return open_.load(std::memory_order_relaxed); }

  inline void link(session* s);
  inline void unlink(session* s);

  /// Closes the longest-idle connection; false when none is idle.
  inline bool evict_oldest();

private:
  size_t limit_;
  std::atomic<size_t> open_{0};
  session* head_ = nullptr;
  session* tail_ = nullptr;
};

class session : public std::enable_shared_from_this<session> {
public:
  session(socket_type&& socket, std::shared_ptr<shared_settings> settings,
          std::shared_ptr<connection_table> table)
    : stream_(std::move(socket)), settings_(std::move(settings)), table_(std::move(table)) {
    table_->opened();
  }

  ~session() {
    if (!released_)
      table_->released();
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

  /// Called on the strand with the response for the current request.
  void write(http_response response, bool keep_alive) {
    if (released_)
      return;
    auto& res = res_.emplace(static_cast<http::status>(response.status), version_);
    res.set(http::field::server, "hookwerk");
    res.set(http::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers)
      res.set(name, value);
    res.keep_alive(keep_alive);
    res.body() = std::move(response.body);
    res.prepare_payload();
    // The answer to HEAD is that of GET without its content (RFC 9110 §9.3.2): the
    // Content-Length stays, the body goes.
    if (head_)
      res.body().clear();
    stream_.expires_after(settings_->opts.idle_timeout);
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&session::on_write, shared_from_this(),
                                                res_->need_eof()));
  }

  strand_executor executor() { return stream_.get_executor(); }

  /// Closes the socket (pending operations end with operation_aborted) and
  /// gives up the connection's place in the table. Io thread only; idempotent.
  void close() {
    table_->unlink(this);
    if (!released_) {
      released_ = true;
      table_->released();
    }
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

private:
  friend class connection_table;

  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(settings_->opts.max_header));
    parser_->body_limit(settings_->opts.max_body);
    // One deadline for the wait, the header and the body: never extended
    // while bytes trickle in.
    stream_.expires_after(settings_->opts.idle_timeout);
    table_->link(this);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t) {
    table_->unlink(this);
    if (ec || parser_->is_done())
      return on_read(ec, 0);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (released_)
      return;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout
        || ec == net::error::operation_aborted || ec == net::error::connection_reset
        || ec == net::error::eof)
      return close();
    if (ec) {
      unsigned status = 400;
      std::string text = "malformed request";
      if (ec == http::error::body_limit) {
        status = 413;
        text = "request body too large";
      } else if (ec == http::error::header_limit) {
        status = 431;
        text = "request header fields too large";
      } else if (!parser_->is_header_done()) {
        text = "malformed request: " + ec.message();
      }
      // The request line is parsed before any header or body limit applies.
      auto target = parser_->get().target();
      std::string path{target.data(), target.size()};
      if (auto q = path.find('?'); q != std::string::npos)
        path.resize(q);
      version_ = 11;
      head_ = false;
      return write(settings_->reject(path, status, text), false);
    }

    auto req = parser_->release();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    auto target = req.target();
    std::string_view t{target.data(), target.size()};
    auto q = t.find('?');
    auto path = t.substr(0, q);

    if (path == "/healthz" || path == "/readyz") {
      http_response res;
      res.content_type = "text/plain; charset=utf-8";
      if (path == "/healthz" || settings_->ready.load()) {
        res.body = "ok";
      } else {
        res.status = 503;
        res.body = "starting";
      }
      return write(std::move(res), keep_alive_);
    }

    auto ex = std::make_shared<exchange>(shared_from_this(), keep_alive_);
    ex->request.method = std::string{req.method_string()};
    ex->request.path = std::string{path};
    if (q != std::string_view::npos)
      ex->request.query = std::string{t.substr(q + 1)};
    if (auto it = req.find(http::field::content_type); it != req.end())
      ex->request.content_type = std::string{it->value()};
    if (auto it = req.find(http::field::authorization); it != req.end())
      ex->request.authorization = std::string{it->value()};
    ex->request.body = std::move(req.body());
    beast::error_code peer_ec;
    if (auto peer = stream_.socket().remote_endpoint(peer_ec); !peer_ec)
      ex->request.remote_address = peer.address().to_string();
    settings_->handler(std::move(ex));
  }

  void on_write(bool close_after, beast::error_code ec, size_t) {
    res_.reset();
    if (ec || close_after)
      return close();
    do_read();
  }

  /// Hands the response back to the session's strand.
  class exchange : public http_exchange {
  public:
    exchange(std::shared_ptr<session> s, bool keep_alive)
      : session_(std::move(s)), keep_alive_(keep_alive) {}

  protected:
    void do_respond(http_response response) override {
      auto s = std::move(session_);
      auto keep_alive = keep_alive_;
      net::post(s->executor(), [s, keep_alive, r = std::move(response)]() mutable {
        s->write(std::move(r), keep_alive);
      });
    }

  private:
    std::shared_ptr<session> session_;
    bool keep_alive_;
  };

  stream_type stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<shared_settings> settings_;
  std::shared_ptr<connection_table> table_;
  std::optional<http::request_parser<http::string_body>> parser_;
  /// The response being written; kept until its write completes.
  std::optional<http::response<http::string_body>> res_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  /// The current request is a HEAD: its response is written without a body.
  bool head_ = false;
  /// Closed: no longer counted in the table.
  bool released_ = false;
  /// Place in the table's idle list (valid while linked_).
  session* prev_ = nullptr;
  session* next_ = nullptr;
  bool linked_ = false;
};

void connection_table::link(session* s) {
  if (s->linked_)
    return;
  s->linked_ = true;
  s->prev_ = tail_;
  s->next_ = nullptr;
  (tail_ ? tail_->next_ : head_) = s;
  tail_ = s;
}

void connection_table::unlink(session* s) {
  if (!s->linked_)
    return;
  s->linked_ = false;
  (s->prev_ ? s->prev_->next_ : head_) = s->next_;
  (s->next_ ? s->next_->prev_ : tail_) = s->prev_;
  s->prev_ = s->next_ = nullptr;
}

bool connection_table::evict_oldest() {
  if (!head_)
    return false;
  head_->close();
  return true;
}

} // namespace

struct http_server::impl {
  std::shared_ptr<shared_settings> settings = std::make_shared<shared_settings>();
  std::shared_ptr<connection_table> table;
  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  net::steady_timer retry{ioc};
  std::chrono::milliseconds backoff{0};
  /// The last accept failed and was retried at once after closing a connection.
  bool retried = false;
  std::thread thread;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  /// Limit the log lines written under pressure to one each per 10 s.
  std::chrono::steady_clock::time_point refusal_logged{};
  std::chrono::steady_clock::time_point accept_error_logged{};
  uint64_t refused = 0;

  static constexpr std::chrono::milliseconds min_backoff{10};
  static constexpr std::chrono::milliseconds max_backoff{100};

  void do_accept() {
    acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, socket_type socket) {
      if (ec == net::error::operation_aborted || !acceptor->is_open())
        return;
      if (ec)
        return back_off(ec);
      backoff = std::chrono::milliseconds{0};
      retried = false;
      admit(std::move(socket));
      do_accept();
    });
  }

  /// At the cap the longest-idle connection makes room; when every connection
  /// is busy the new one is closed at once.
  void admit(socket_type socket) {
    if (table->full() && !table->evict_oldest()) {
      beast::error_code ignored;
      socket.close(ignored);
      ++refused;
      auto now = std::chrono::steady_clock::now();
      if (now - refusal_logged >= std::chrono::seconds{10}) {
        refusal_logged = now;
        log::warn("connection refused: all " + std::to_string(table->open())
                  + " connections are busy (" + std::to_string(refused) + " refused so far)");
      }
      return;
    }
    std::make_shared<session>(std::move(socket), settings, table)->run();
  }

  /// Accepting failed (typically no descriptor left): a pending connection
  /// would make the same call fail again at once. Closing the longest-idle
  /// connection frees a descriptor for one more attempt at once; when that is
  /// not possible or fails too, wait 10 ms, doubling to 100 ms, before the next.
  void back_off(const beast::error_code& ec) {
    bool evicted = table->evict_oldest();
    bool retry_now = evicted && !retried;
    retried = retry_now;
    if (!retry_now)
      backoff = backoff.count() == 0 ? min_backoff : std::min(backoff * 2, max_backoff);
    auto now = std::chrono::steady_clock::now();
    if (now - accept_error_logged >= std::chrono::seconds{10}) {
      accept_error_logged = now;
      log::warn("accepting a connection failed: " + ec.message() + " ("
                + std::to_string(table->open())
                + " connections open); closing the longest-idle one, retrying in up to 100 ms");
    }
    if (retry_now)
      return do_accept();
    retry.expires_after(backoff);
    retry.async_wait([this](beast::error_code wait_ec) {
      if (wait_ec || !acceptor || !acceptor->is_open())
        return;
      do_accept();
    });
  }
};

http_server::http_server(http_server_options opts, request_handler handler,
                         rejection_builder reject)
  : impl_(std::make_unique<impl>()) {
  impl_->settings->opts = std::move(opts);
  impl_->settings->handler = std::move(handler);
  impl_->settings->reject = std::move(reject);
  impl_->table = std::make_shared<connection_table>(impl_->settings->opts.max_connections);
}

http_server::~http_server() { stop(); }

expected<std::string> http_server::start() {
  auto& opts = impl_->settings->opts;
  beast::error_code ec;
  auto address = net::ip::make_address(opts.host, ec);
  if (ec) {
    tcp::resolver resolver{impl_->ioc};
    auto results = resolver.resolve(opts.host, std::to_string(opts.port), ec);
    if (ec || results.empty())
      return status{errc::invalid_parameter, "cannot resolve listen host " + opts.host};
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint{address, opts.port};
  auto& acc = impl_->acceptor.emplace(impl_->ioc);
  acc.open(endpoint.protocol(), ec);
  if (!ec)
    acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    acc.bind(endpoint, ec);
  if (!ec)
    acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return status{errc::internal, "cannot listen on " + opts.host + ":" + std::to_string(opts.port)
                                    + ": " + ec.message()};
  auto bound = acc.local_endpoint(ec);
  impl_->do_accept();
  impl_->work.emplace(impl_->ioc.get_executor());
  impl_->thread = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "hw-http"); // as top -H and perf show it
    impl_->ioc.run();
  });
  auto host = bound.address().to_string();
  if (bound.address().is_v6())
    host = "[" + host + "]";
  return host + ":" + std::to_string(bound.port());
}

void http_server::set_ready(bool ready) { impl_->settings->ready.store(ready); }

void http_server::stop_accepting() {
  if (!impl_->acceptor)
    return;
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    if (impl_->acceptor && impl_->acceptor->is_open())
      impl_->acceptor->close(ec);
    impl_->retry.cancel();
  });
}

void http_server::stop() {
  if (!impl_)
    return;
  impl_->work.reset();
  impl_->ioc.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

} // namespace hookwerk::api
