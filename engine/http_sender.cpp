#include "engine/http_sender.hpp"

#include <utility>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "actors/support/log.hpp"
#include "actors/support/resolver.hpp"
#include "actors/support/url.hpp"
#include "engine/dns_resolver.hpp"

namespace hookwerk::engine {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
using error_code = boost::system::error_code;
using strand_type = asio::strand<asio::io_context::executor_type>;

constexpr std::string_view shutting_down = "shutting down";
/// Largest response header accepted.
constexpr std::uint32_t max_response_header = 16 * 1024;
/// Longer attempt timeouts are cut to this (and keep the deadline arithmetic in range).
constexpr std::chrono::milliseconds max_attempt_timeout = std::chrono::hours{24};
/// Retry-After values beyond this (about 31 years) are clamped.
constexpr std::uint64_t max_retry_after_seconds = 1'000'000'000;

/// One TCP connection of one hook, plain or TLS. Used by one attempt at a time; in between
/// it waits in its hook's pool.
struct connection {
  explicit connection(tcp::socket socket) : plain(std::move(socket)) {}

  tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }

  void close() {
    error_code ignored;
    socket().close(ignored);
  }

  /// Set for http (and until the TLS handshake starts).
  std::optional<tcp::socket> plain;
  /// Set for https.
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  /// Bytes read beyond the last response (normally none).
  beast::flat_buffer buffer;
  /// scheme://host:port of the endpoint it is connected to.
  std::string key;
  clock::time_point idle_since;
};

/// Whether an idle connection may still be usable: not closed by the peer, no reset, and
/// (for plain HTTP) no unexpected bytes waiting. Does not block.
bool looks_alive(connection& c) {
  tcp::socket& socket = c.socket();
  if (!socket.is_open())
    return false;
  char byte = 0;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0)
    return false;
  if (n > 0) // TLS may legitimately have records waiting (e.g. session tickets)
    return c.tls != nullptr;
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

/// Idle keep-alive connections, per hook. Thread-safe.
///
/// Each hook's entry counts the attempts in flight and carries a generation that `forget`
/// increments, so a connection of an attempt that began before a `forget` is never pooled.
/// An entry exists while it has idle connections or attempts in flight.
class connection_pool {
public:
  connection_pool(size_t max_idle_per_hook, clock::duration idle_timeout)
      : max_idle_(max_idle_per_hook), idle_timeout_(idle_timeout) {}

  /// An attempt of `hook` begins; returns the generation to pass to `put`.
  uint64_t enter(uint64_t hook) {
    std::lock_guard<std::mutex> guard{mtx_};
    hook_pool& pool = hooks_[hook];
    ++pool.in_flight;
    return pool.generation;
  }

  /// An attempt of `hook` ended (after its `put`, if any).
  void leave(uint64_t hook) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = hooks_.find(hook);
    if (it == hooks_.end())
      return;
    if (it->second.in_flight > 0)
      --it->second.in_flight;
    if (it->second.in_flight == 0 && it->second.idle.empty())
      hooks_.erase(it);
  }

  /// The most recently used idle connection of `hook` to `key` that still looks usable,
  /// or null. Stale ones met on the way are closed.
  std::unique_ptr<connection> take(uint64_t hook, const std::string& key) {
    std::vector<std::unique_ptr<connection>> dropped; // closed after the lock is released
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = hooks_.find(hook);
    if (it == hooks_.end())
      return nullptr;
    auto& idle = it->second.idle;
    const auto now = clock::now();
    for (size_t i = idle.size(); i-- > 0;) {
      if (idle[i]->key != key)
        continue;
      std::unique_ptr<connection> c = std::move(idle[i]);
      idle.erase(idle.begin() + static_cast<std::ptrdiff_t>(i));
      if (now - c->idle_since < idle_timeout_ && looks_alive(*c))
        return c;
      dropped.push_back(std::move(c));
    }
    return nullptr;
  }

  /// Returns a connection after a complete keep-alive response. Dropped (closed) when the
  /// hook was forgotten since `generation`; the oldest idle one goes when the hook already
  /// has `max_idle_per_hook`.
  void put(uint64_t hook, uint64_t generation, std::unique_ptr<connection> c) {
    std::vector<std::unique_ptr<connection>> dropped;
    dropped.push_back(std::move(c));
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = hooks_.find(hook);
    if (max_idle_ == 0 || it == hooks_.end() || it->second.generation != generation)
      return;
    auto& idle = it->second.idle;
    dropped.back()->idle_since = clock::now();
    idle.push_back(std::move(dropped.back()));
    dropped.pop_back();
    while (idle.size() > max_idle_) {
      dropped.push_back(std::move(idle.front()));
      idle.pop_front();
    }
  }

  void forget(uint64_t hook) {
    std::vector<std::unique_ptr<connection>> dropped;
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = hooks_.find(hook);
    if (it == hooks_.end())
      return;
    ++it->second.generation;
    for (auto& c : it->second.idle)
      dropped.push_back(std::move(c));
    it->second.idle.clear();
    if (it->second.in_flight == 0)
      hooks_.erase(it);
  }

  /// Closes idle connections older than the idle timeout.
  void sweep() {
    std::vector<std::unique_ptr<connection>> dropped;
    std::lock_guard<std::mutex> guard{mtx_};
    const auto now = clock::now();
    for (auto it = hooks_.begin(); it != hooks_.end();) {
      auto& idle = it->second.idle;
      while (!idle.empty() && now - idle.front()->idle_since >= idle_timeout_) {
        dropped.push_back(std::move(idle.front()));
        idle.pop_front();
      }
      if (it->second.in_flight == 0 && idle.empty())
        it = hooks_.erase(it);
      else
        ++it;
    }
  }

  void clear() {
    std::unordered_map<uint64_t, hook_pool> dropped;
    std::lock_guard<std::mutex> guard{mtx_};
    dropped.swap(hooks_);
  }

  size_t idle() const {
    std::lock_guard<std::mutex> guard{mtx_};
    size_t n = 0;
    for (const auto& entry : hooks_)
      n += entry.second.idle.size();
    return n;
  }

private:
  struct hook_pool {
    uint64_t generation = 0;
    size_t in_flight = 0;
    /// Oldest first.
    std::deque<std::unique_ptr<connection>> idle;
  };

  const size_t max_idle_;
  const clock::duration idle_timeout_;
  mutable std::mutex mtx_;
  std::unordered_map<uint64_t, hook_pool> hooks_;
};

asio::ip::address to_asio(const support::ip_address& address) {
  if (address.v6) {
    asio::ip::address_v6::bytes_type bytes{};
    std::copy(address.bytes.begin(), address.bytes.end(), bytes.begin());
    return asio::ip::address_v6(bytes);
  }
  const asio::ip::address_v4::bytes_type bytes{address.bytes[0], address.bytes[1],
                                               address.bytes[2], address.bytes[3]};
  return asio::ip::address_v4(bytes);
}

std::string_view without_trailing_dot(std::string_view host) {
  if (!host.empty() && host.back() == '.')
    host.remove_suffix(1);
  return host;
}

/// RFC 9110 token characters.
bool is_token(std::string_view name) {
  if (name.empty())
    return false;
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return std::all_of(name.begin(), name.end(), [extra](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

bool is_header_value(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

/// The delta-seconds form of Retry-After; nullopt for anything else (e.g. an HTTP-date).
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  if (value.empty())
    return std::nullopt;
  std::uint64_t seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9')
      return std::nullopt;
    seconds = std::min<std::uint64_t>(seconds * 10 + static_cast<unsigned>(c - '0'),
                                      max_retry_after_seconds);
  }
  return std::chrono::seconds{static_cast<std::chrono::seconds::rep>(seconds)};
}

/// The short text of a network error.
std::string describe(const error_code& ec) {
  if (ec == asio::error::connection_refused)
    return "connection refused";
  if (ec == asio::error::eof || ec == http::error::end_of_stream ||
      ec == http::error::partial_message || ec == asio::error::connection_reset ||
      ec == asio::error::connection_aborted || ec == asio::error::broken_pipe ||
      ec == ssl::error::stream_truncated)
    return "connection closed";
  if (ec.category() == asio::error::get_ssl_category())
    return "tls: " + ec.message();
  return ec.message();
}

/// Whose side a network error is on. Ours: no descriptors (EMFILE, ENFILE), no local port
/// (EADDRNOTAVAIL), no buffers or memory, no route out of this host at all (ENETUNREACH is
/// reported at once only when our routing table has none), and operations aborted by our
/// own shutdown. Everything else (refused, reset, host unreachable, TLS, protocol errors)
/// is the receiver's.
fault fault_of(const error_code& ec) {
  if (ec == asio::error::operation_aborted || ec == asio::error::no_descriptors ||
      ec == asio::error::no_buffer_space || ec == asio::error::no_memory ||
      ec == asio::error::network_unreachable)
    return fault::local;
  if (ec.category() == boost::system::system_category()) {
    switch (ec.value()) {
      case ENFILE:
      case EADDRNOTAVAIL:
        return fault::local;
      default:
        break;
    }
  }
  return fault::receiver;
}

} // namespace

namespace detail {
class http_sender_core;
} // namespace detail

namespace {

/// One delivery attempt. Lives in shared_ptrs held by its pending handlers and by the
/// core's list of attempts in flight; everything it does runs on its own strand.
class attempt : public std::enable_shared_from_this<attempt> {
public:
  attempt(detail::http_sender_core& core, delivery_request request, sender::callback done,
          clock::time_point started);

  const strand_type& strand() const { return strand_; }

  /// Runs the attempt. On the strand.
  void start();
  /// Ends it now with `reason`, unless it has ended. On the strand.
  void abort(std::string_view reason) { fail(std::string(reason), fault::local); }
  /// Answers without running (the sender is stopping). Instead of `start`.
  void reject(std::string_view reason);

private:
  template <class Handler>
  auto bind(Handler&& handler) {
    return asio::bind_executor(strand_, std::forward<Handler>(handler));
  }

  bool build_request();
  void resolve();
  void on_resolved(dns_answer answer);
  void connect(const std::vector<support::ip_address>& addresses);
  void on_connected(const error_code& ec);
  void start_tls();
  void on_handshake(const error_code& ec);
  void write();
  void on_written(const error_code& ec);
  void read();
  void on_header(const error_code& ec);
  void on_body(const error_code& ec);
  bool retry_on_fresh_connection();
  void finish_with_status(bool reusable);
  void fail(std::string error, fault at_fault = fault::receiver);
  void finish(delivery_result result, bool reusable);

  detail::http_sender_core& core_;
  delivery_request request_;
  sender::callback done_;
  const clock::time_point started_;
  const clock::time_point deadline_;
  strand_type strand_;
  asio::steady_timer deadline_timer_;
  /// The target's parsed URL (checked to be valid in start()).
  const support::parsed_url& url() const { return *request_.target->parts; }

  uint64_t pool_generation_ = 0;
  bool entered_pool_ = false;
  std::unique_ptr<connection> conn_;
  /// The connection came from the pool (and may have been closed by the server meanwhile).
  bool reused_ = false;
  /// The one transparent retry on a fresh connection was used.
  bool retried_ = false;
  /// Some response (an interim one, at least) arrived on the current connection.
  bool response_started_ = false;
  bool finished_ = false;
  /// Waiting for the resolver: a deadline reached now is the server's own failure.
  bool resolving_ = false;
  std::vector<tcp::endpoint> endpoints_;
  /// The request line and headers, serialised once; the body is written from
  /// the shared payload after it without a copy.
  std::string request_head_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

} // namespace

namespace detail {

/// Everything behind `http_sender`: the io_context and its threads, TLS settings, the
/// resolver, the connection pool and the attempts in flight.
class http_sender_core {
public:
  explicit http_sender_core(http_sender_options options)
      : options_(std::move(options)),
        tls_(ssl::context::tls_client),
        work_(asio::make_work_guard(io_)),
        pool_(options_.max_idle_per_hook, options_.idle_timeout),
        resolver_(io_, resolver_options(options_)),
        sweep_strand_(asio::make_strand(io_)),
        sweep_timer_(sweep_strand_) {
    configure_tls();
    schedule_sweep();
    const size_t threads = std::max<size_t>(options_.io_threads, 1);
    threads_.reserve(threads);
    for (size_t i = 0; i < threads; ++i)
      threads_.emplace_back([this] { run_io(); });
  }

  ~http_sender_core() { stop(); }

  http_sender_core(const http_sender_core&) = delete;
  http_sender_core& operator=(const http_sender_core&) = delete;

  void send(delivery_request request, sender::callback done) {
    auto a = std::make_shared<attempt>(*this, std::move(request), std::move(done), clock::now());
    bool accepted = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!stopping_) {
        active_.emplace(a.get(), a);
        accepted = true;
      }
    }
    if (!accepted) {
      a->reject(shutting_down);
      return;
    }
    asio::post(a->strand(), [a] { a->start(); });
  }

  void forget(uint64_t hook_id) { pool_.forget(hook_id); }

  void stop() {
    std::lock_guard<std::mutex> stop_guard{stop_mtx_};
    std::vector<std::shared_ptr<attempt>> in_flight;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopped_)
        return;
      stopping_ = true;
      in_flight.reserve(active_.size());
      for (const auto& entry : active_)
        in_flight.push_back(entry.second);
    }
    for (auto& a : in_flight)
      asio::post(a->strand(), [a] { a->abort(shutting_down); });
    in_flight.clear();
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [this] { return active_.empty(); });
    }
    work_.reset();
    io_.stop();
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
    pool_.clear();
    std::lock_guard<std::mutex> guard{mtx_};
    stopped_ = true;
  }

  size_t idle_connections() const { return pool_.idle(); }

  // For attempts.
  const http_sender_options& options() const { return options_; }
  asio::io_context& io() { return io_; }
  ssl::context& tls() { return tls_; }
  dns_resolver& resolver() { return resolver_; }
  connection_pool& pool() { return pool_; }

  /// An attempt has called its callback.
  void finished(const attempt* a) {
    std::lock_guard<std::mutex> guard{mtx_};
    active_.erase(a);
    if (active_.empty())
      cv_.notify_all();
  }

private:
  static dns_resolver_options resolver_options(const http_sender_options& options) {
    dns_resolver_options result;
    result.servers = options.dns_servers;
    return result;
  }

  void configure_tls() {
    SSL_CTX* ctx = tls_.native_handle();
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
      throw std::runtime_error("http sender: cannot require TLS 1.2");
    tls_.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    error_code ec;
    tls_.set_default_verify_paths(ec);
    if (ec)
      log::warn("http sender: cannot load the system trust store: " + ec.message());
    if (!options_.ca_file.empty()) {
      tls_.load_verify_file(options_.ca_file, ec);
      if (ec)
        throw std::runtime_error("http sender: cannot load CA file " + options_.ca_file + ": " +
                                 ec.message());
    }
    tls_.set_verify_mode(ssl::verify_peer);
  }

  void schedule_sweep() {
    const auto period = std::clamp<std::chrono::seconds>(
        options_.idle_timeout / 2, std::chrono::seconds{1}, std::chrono::seconds{5});
    sweep_timer_.expires_after(period);
    sweep_timer_.async_wait(
        asio::bind_executor(sweep_strand_, [this](const error_code& ec) {
          if (ec)
            return;
          pool_.sweep();
          schedule_sweep();
        }));
  }

  void run_io() {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        log::error(std::string("http sender: unexpected exception: ") + e.what());
      }
    }
  }

  // Destroyed in reverse order: the io_context outlives what uses it, the TLS context
  // outlives every stream.
  const http_sender_options options_;
  ssl::context tls_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  connection_pool pool_;
  dns_resolver resolver_;
  strand_type sweep_strand_;
  asio::steady_timer sweep_timer_;

  std::mutex stop_mtx_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::unordered_map<const attempt*, std::shared_ptr<attempt>> active_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::vector<std::thread> threads_;
};

} // namespace detail

namespace {

attempt::attempt(detail::http_sender_core& core, delivery_request request,
                 sender::callback done, clock::time_point started)
    : core_(core),
      request_(std::move(request)),
      done_(std::move(done)),
      started_(started),
      deadline_(started + std::clamp<std::chrono::milliseconds>(
                              request_.timeout, std::chrono::milliseconds::zero(),
                              max_attempt_timeout)),
      strand_(asio::make_strand(core.io())),
      deadline_timer_(strand_) {}

void attempt::reject(std::string_view reason) {
  finished_ = true;
  delivery_result result;
  result.error = std::string(reason);
  result.at_fault = fault::local;
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started_);
  if (auto done = std::move(done_))
    done(std::move(result));
}

void attempt::start() {
  if (finished_)
    return;
  if (!request_.target || !request_.target->parts) {
    fail("invalid url");
    return;
  }
  if (!build_request()) {
    fail("invalid header", fault::local); // the headers are ours
    return;
  }
  if (clock::now() >= deadline_) {
    fail("timeout", fault::local); // it waited on our side only
    return;
  }
  deadline_timer_.expires_at(deadline_);
  deadline_timer_.async_wait(bind([self = shared_from_this()](const error_code& ec) {
    if (ec)
      return;
    if (self->resolving_)
      self->fail("dns: timeout", fault::local); // our resolver did not answer in time
    else
      self->fail("timeout");
  }));

  pool_generation_ = core_.pool().enter(request_.hook_id);
  entered_pool_ = true;
  conn_ = core_.pool().take(request_.hook_id, request_.target->pool_key);
  if (conn_) {
    reused_ = true;
    write();
    return;
  }
  resolve();
}

bool attempt::build_request() {
  bool has_user_agent = false;
  size_t header_bytes = 0;
  for (const auto& [name, value] : request_.headers) {
    if (!is_token(name) || !is_header_value(value))
      return false;
    if (beast::iequals(name, "user-agent"))
      has_user_agent = true;
    header_bytes += name.size() + value.size() + 4;
  }
  const auto& user_agent = core_.options().user_agent;
  const std::string& target = url().target;
  const std::string* body = request_.body.get();
  const auto length = std::to_string(body != nullptr ? body->size() : 0);

  // Written by hand rather than through Beast's fields, which allocate a node
  // per header: one string, sized up front.
  auto& head = request_head_;
  head.clear();
  head.reserve(32 + target.size() + request_.target->host_header.size() + user_agent.size()
               + header_bytes + length.size());
  auto line = [&head](std::string_view name, std::string_view value) {
    head.append(name).append(": ").append(value).append("\r\n");
  };
  head.append("POST ").append(target).append(" HTTP/1.1\r\n");
  line("Host", request_.target->host_header);
  if (!has_user_agent && !user_agent.empty())
    line("User-Agent", user_agent);
  for (const auto& [name, value] : request_.headers) {
    // Framing headers are the sender's.
    if (beast::iequals(name, "host") || beast::iequals(name, "content-length") ||
        beast::iequals(name, "connection") || beast::iequals(name, "transfer-encoding"))
      continue;
    line(name, value);
  }
  line("Content-Length", length);
  head.append("\r\n");
  return true;
}

void attempt::resolve() {
  if (url().host_is_ip_literal) {
    const auto address = support::ip_address::parse(url().host);
    if (!address) {
      fail("invalid url");
      return;
    }
    connect({*address});
    return;
  }
  resolving_ = true;
  core_.resolver().resolve(url().host, [self = shared_from_this()](dns_answer answer) {
    asio::post(self->strand_, [self, answer = std::move(answer)]() mutable {
      self->on_resolved(std::move(answer));
    });
  });
}

void attempt::on_resolved(dns_answer answer) {
  resolving_ = false;
  if (finished_)
    return;
  if (!answer.error.empty()) {
    fail("dns: " + answer.error, answer.local_failure ? fault::local : fault::receiver);
    return;
  }
  connect(answer.addresses);
}

void attempt::connect(const std::vector<support::ip_address>& addresses) {
  const support::target_check check =
      support::check_addresses(addresses, core_.options().allow_private_targets);
  if (check.verdict == support::target_verdict::forbidden) {
    fail("target not allowed: " +
         (url().host_is_ip_literal ? check.detail : url().host + " resolves to " + check.detail));
    return;
  }
  // Only the addresses just checked are connected to; nothing is looked up again.
  endpoints_.clear();
  for (const auto& address : addresses)
    endpoints_.emplace_back(to_asio(address), url().port);
  conn_ = std::make_unique<connection>(tcp::socket(core_.io()));
  conn_->key = request_.target->pool_key;
  asio::async_connect(conn_->socket(), endpoints_,
                      bind([self = shared_from_this()](const error_code& ec,
                                                       const tcp::endpoint&) {
                        self->on_connected(ec);
                      }));
}

void attempt::on_connected(const error_code& ec) {
  if (finished_)
    return;
  if (ec) {
    fail(describe(ec), fault_of(ec));
    return;
  }
  error_code ignored;
  conn_->socket().set_option(tcp::no_delay(true), ignored);
  if (url().scheme == "https") {
    start_tls();
    return;
  }
  write();
}

void attempt::start_tls() {
  conn_->tls = std::make_unique<ssl::stream<tcp::socket>>(std::move(*conn_->plain), core_.tls());
  conn_->plain.reset();
  SSL* ssl_handle = conn_->tls->native_handle();
  const std::string name(without_trailing_dot(url().host));
  // SNI carries names only, never address literals (RFC 6066).
  if (!url().host_is_ip_literal && SSL_set_tlsext_host_name(ssl_handle, name.c_str()) != 1) {
    fail("tls: cannot set the server name");
    return;
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int expected = url().host_is_ip_literal
                           ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                           : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  if (expected != 1) {
    fail("tls: cannot set the expected host name");
    return;
  }
  conn_->tls->async_handshake(ssl::stream_base::client,
                              bind([self = shared_from_this()](const error_code& ec) {
                                self->on_handshake(ec);
                              }));
}

void attempt::on_handshake(const error_code& ec) {
  if (finished_)
    return;
  if (ec) {
    const long verify = SSL_get_verify_result(conn_->tls->native_handle());
    std::string reason;
    if (verify != X509_V_OK)
      reason = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
    else if (ec.category() == asio::error::get_ssl_category())
      reason = ec.message();
    else
      reason = describe(ec);
    fail("tls: " + reason, verify != X509_V_OK ? fault::receiver : fault_of(ec));
    return;
  }
  write();
}

void attempt::write() {
  auto handler = bind([self = shared_from_this()](const error_code& ec, std::size_t) {
    self->on_written(ec);
  });
  const std::string* body = request_.body.get();
  std::array<asio::const_buffer, 2> buffers{
    asio::buffer(request_head_),
    body != nullptr ? asio::buffer(*body) : asio::const_buffer{}};
  if (conn_->tls)
    asio::async_write(*conn_->tls, buffers, std::move(handler));
  else
    asio::async_write(*conn_->plain, buffers, std::move(handler));
}

void attempt::on_written(const error_code& ec) {
  if (finished_)
    return;
  if (ec) {
    if (!retry_on_fresh_connection())
      fail(describe(ec), fault_of(ec));
    return;
  }
  read();
}

void attempt::read() {
  parser_.emplace();
  parser_->body_limit(core_.options().max_response_body);
  parser_->header_limit(max_response_header);
  auto handler = bind([self = shared_from_this()](const error_code& ec, std::size_t) {
    self->on_header(ec);
  });
  if (conn_->tls)
    http::async_read_header(*conn_->tls, conn_->buffer, *parser_, std::move(handler));
  else
    http::async_read_header(*conn_->plain, conn_->buffer, *parser_, std::move(handler));
}

void attempt::on_header(const error_code& ec) {
  if (finished_)
    return;
  if (ec && !parser_->is_header_done()) {
    if (!response_started_ && !parser_->got_some() && conn_->buffer.size() == 0 &&
        retry_on_fresh_connection())
      return;
    fail(describe(ec), fault_of(ec));
    return;
  }
  response_started_ = true;
  if (ec) {
    finish_with_status(false); // the status arrived; it counts
    return;
  }
  const unsigned status = parser_->get().result_int();
  if (status >= 100 && status < 200 && status != 101) {
    read(); // an interim response; the final one follows
    return;
  }
  // Beast 1.74 does not apply body_limit to a declared Content-Length: check it here.
  // A response too large to read still counts by its status; its connection is closed.
  const auto length = parser_->content_length();
  if (status == 101 || (length && *length > core_.options().max_response_body)) {
    finish_with_status(false);
    return;
  }
  auto handler = bind([self = shared_from_this()](const error_code& ec, std::size_t) {
    self->on_body(ec);
  });
  if (conn_->tls)
    http::async_read(*conn_->tls, conn_->buffer, *parser_, std::move(handler));
  else
    http::async_read(*conn_->plain, conn_->buffer, *parser_, std::move(handler));
}

void attempt::on_body(const error_code& ec) {
  if (finished_)
    return;
  // A body too large or cut off: the status still counts, the connection is not reused.
  finish_with_status(!ec && parser_->is_done() && parser_->get().keep_alive() &&
                     conn_->buffer.size() == 0);
}

/// The classic keep-alive race: the server closed an idle connection just as it was reused.
/// Nothing of a response arrived, so the request is sent once more on a new connection.
bool attempt::retry_on_fresh_connection() {
  if (!reused_ || retried_)
    return false;
  retried_ = true;
  reused_ = false;
  conn_->close();
  conn_.reset();
  resolve();
  return true;
}

void attempt::finish_with_status(bool reusable) {
  const auto& response = parser_->get();
  delivery_result result;
  result.http_status = response.result_int();
  result.at_fault = result.success() ? fault::none : fault::receiver;
  if (result.http_status == 429 || result.http_status == 503) {
    auto it = response.find(http::field::retry_after);
    if (it != response.end()) {
      const auto value = it->value();
      result.retry_after = parse_retry_after(std::string_view(value.data(), value.size()));
    }
  }
  finish(std::move(result), reusable);
}

void attempt::fail(std::string error, fault at_fault) {
  delivery_result result;
  result.error = std::move(error);
  result.at_fault = at_fault;
  finish(std::move(result), false);
}

void attempt::finish(delivery_result result, bool reusable) {
  if (finished_)
    return;
  finished_ = true;
  auto self = shared_from_this();
  deadline_timer_.cancel();
  result.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started_);
  if (conn_) {
    if (reusable)
      core_.pool().put(request_.hook_id, pool_generation_, std::move(conn_));
    else
      conn_->close(); // pending operations end with operation_aborted
  }
  if (entered_pool_)
    core_.pool().leave(request_.hook_id);
  if (auto done = std::move(done_)) {
    try {
      done(std::move(result));
    } catch (const std::exception& e) {
      log::error(std::string("http sender: a delivery callback threw: ") + e.what());
    }
  }
  core_.finished(this);
}

} // namespace

http_sender::http_sender(http_sender_options options)
    : core_(std::make_unique<detail::http_sender_core>(std::move(options))) {}

http_sender::~http_sender() { stop(); }

void http_sender::send(delivery_request request, callback done) {
  core_->send(std::move(request), std::move(done));
}

void http_sender::forget(uint64_t hook_id) { core_->forget(hook_id); }

void http_sender::stop() { core_->stop(); }

size_t http_sender::idle_connections() const { return core_->idle_connections(); }

} // namespace hookwerk::engine
