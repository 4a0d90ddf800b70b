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
#include <pthread.h>
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
/// Every handler of the sender runs on its one io thread, so an attempt needs no strand
/// of its own: its handlers are bound to the io_context's executor, which already runs
/// them one after another.
using executor_type = asio::io_context::executor_type;
/// A socket bound to that executor rather than to a type-erased one.
using socket_type = asio::basic_stream_socket<tcp, executor_type>;

constexpr std::string_view shutting_down = "shutting down";
/// Largest response header accepted.
constexpr std::uint32_t max_response_header = 16 * 1024;
/// Longer attempt timeouts are cut to this (and keep the deadline arithmetic in range).
constexpr std::chrono::milliseconds max_attempt_timeout = std::chrono::hours{24};
/// Retry-After values beyond this (about 31 years) are clamped.
constexpr std::uint64_t max_retry_after_seconds = 1'000'000'000;

/// One TCP connection to one origin, plain or TLS. Used by one attempt at a time; in between
/// it waits in its origin's pool.
struct connection {
  explicit connection(asio::io_context& io) : plain(std::in_place, io) {}

  socket_type& socket() { return tls ? tls->next_layer() : *plain; }

  void close() {
    error_code ignored;
    socket().close(ignored);
  }

  /// Set for http (and until the TLS handshake starts).
  std::optional<socket_type> plain;
  /// Set for https.
  std::unique_ptr<ssl::stream<socket_type>> tls;
  /// Bytes read beyond the last response (normally none).
  beast::flat_buffer buffer;
  /// scheme://host:port of the URL it was opened for (TLS: the name it verified).
  std::string key;
  /// The checked address it is connected to.
  asio::ip::address address;
  clock::time_point idle_since;
  /// Neighbours in the pool's list of idle connections (oldest first); set while idle.
  connection* older = nullptr;
  connection* newer = nullptr;
};

/// Whether an idle connection may still be usable: not closed by the peer, no reset, and
/// (for plain HTTP) no unexpected bytes waiting. Does not block.
bool looks_alive(connection& c) {
  socket_type& socket = c.socket();
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

/// What the pool knows of an attempt that asks it for a connection. The attempt derives
/// from it; the pool keeps waiting ones by shared_ptr.
class pool_client {
public:
  virtual ~pool_client() = default;

  /// The pool has granted a connection or a slot (see `connection_pool::claim`). Must not
  /// block or call into the pool; called with the pool's lock held.
  virtual void granted() = 0;

  /// Set before `acquire` and unchanged while waiting.
  uint64_t hook = 0;
  const std::string* key = nullptr;
  std::vector<tcp::endpoint> endpoints;

private:
  friend class connection_pool;
  // Guarded by the pool's mutex.
  bool queued_ = false;
  bool granted_ = false;
  std::unique_ptr<connection> handed_;
};

/// Idle keep-alive connections per origin, and the budget of open connections. Thread-safe.
///
/// An origin is the URL's scheme://host:port plus the address connected to. Every open
/// connection holds one of `max_outbound` slots from `acquire` (or a grant) until `release`.
/// Attempts that find no slot wait in per-origin, per-hook queues, served round-robin:
/// origins take turns, and within an origin its hooks take turns. While any attempt waits,
/// no connection goes idle (each released one is handed to the next waiter, or closed and
/// its slot handed over), so a waiter never waits while an idle connection exists.
class connection_pool {
public:
  enum class outcome { reused, slot, queued };

  struct acquired {
    outcome kind = outcome::queued;
    /// For `reused`.
    std::unique_ptr<connection> conn;
  };

  connection_pool(size_t max_idle_per_origin, size_t max_outbound, clock::duration idle_timeout,
                  clock::duration surplus_linger)
      : max_idle_(max_idle_per_origin),
        max_open_(std::max<size_t>(max_outbound, 1)),
        idle_timeout_(idle_timeout),
        surplus_linger_(surplus_linger) {}

  ~connection_pool() { clear(); }

  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  /// An idle connection of the client's origin to one of its endpoints (most recently used
  /// first), else a slot to open one, else the client is queued and `granted` is called
  /// later. Queued while others wait, so no one overtakes a waiter.
  acquired acquire(const std::shared_ptr<pool_client>& client) {
    std::vector<std::unique_ptr<connection>> dropped; // closed after the lock is released
    acquired result;
    size_t stale = 0;
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = origins_.find(*client->key);
    if (it != origins_.end()) {
      origin& o = it->second;
      const auto now = clock::now();
      for (const auto& endpoint : client->endpoints) {
        for (auto g = o.groups.begin(); g != o.groups.end() && !result.conn; ++g) {
          if (g->address != endpoint.address())
            continue;
          while (!g->idle.empty()) {
            std::unique_ptr<connection> c = std::move(g->idle.back());
            g->idle.pop_back();
            unlink(*c);
            if (now - c->idle_since < idle_timeout_ && looks_alive(*c)) {
              result.conn = std::move(c);
              break;
            }
            dropped.push_back(std::move(c));
            ++stale;
          }
        }
        if (result.conn)
          break;
      }
      tidy(o);
    }
    for (; stale > 0; --stale)
      free_slot();
    if (result.conn) {
      result.kind = outcome::reused;
      return result;
    }
    if (waiting_ == 0 && open_ < max_open_) {
      ++open_;
      result.kind = outcome::slot;
      return result;
    }
    if (waiting_ == 0 && oldest_ != nullptr) {
      dropped.push_back(take_idle(*oldest_)); // its slot passes to the client
      result.kind = outcome::slot;
      return result;
    }
    enqueue(client);
    result.kind = outcome::queued;
    return result;
  }

  /// A queued client takes what it was granted: the connection handed to it, or null for a
  /// slot to open one. nullopt when nothing was granted (or it was taken already).
  std::optional<std::unique_ptr<connection>> claim(pool_client& client) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!client.granted_)
      return std::nullopt;
    client.granted_ = false;
    return std::move(client.handed_);
  }

  /// A client gives up (it ended while queued): leaves the queue, or, when it was granted
  /// meanwhile, gives the grant back.
  void withdraw(pool_client& client) {
    std::vector<std::unique_ptr<connection>> dropped;
    std::lock_guard<std::mutex> guard{mtx_};
    if (client.queued_) {
      dequeue(client);
      return;
    }
    if (!client.granted_)
      return;
    client.granted_ = false;
    if (client.handed_)
      dropped.push_back(std::move(client.handed_));
    free_slot();
  }

  /// Gives back a slot with its connection (null when it has none any more). A `reusable`
  /// one goes to the next waiter if that one may use it, else to the idle pool (`sweep`
  /// trims it); otherwise it is closed and its slot goes to the next waiter.
  void release(std::unique_ptr<connection> c, bool reusable) {
    std::vector<std::unique_ptr<connection>> dropped;
    std::lock_guard<std::mutex> guard{mtx_};
    if (!c || !reusable || max_idle_ == 0) {
      if (c)
        dropped.push_back(std::move(c));
      free_slot();
      return;
    }
    if (waiting_ > 0) {
      std::shared_ptr<pool_client> next = pop_next();
      if (*next->key == c->key &&
          std::any_of(next->endpoints.begin(), next->endpoints.end(),
                      [&c](const tcp::endpoint& e) { return e.address() == c->address; }))
        next->handed_ = std::move(c);
      else
        dropped.push_back(std::move(c));
      next->granted_ = true;
      next->granted();
      return;
    }
    origin& o = origin_of(c->key);
    auto g = std::find_if(o.groups.begin(), o.groups.end(),
                          [&c](const idle_group& x) { return x.address == c->address; });
    if (g == o.groups.end()) {
      o.groups.push_back(idle_group{c->address, {}});
      g = std::prev(o.groups.end());
    }
    c->idle_since = clock::now();
    link(*c);
    g->idle.push_back(std::move(c));
  }

  /// Closes idle connections older than the idle timeout, and those beyond
  /// `max_idle_per_origin` of an origin (oldest first) once idle for the surplus linger.
  void sweep() {
    std::vector<std::unique_ptr<connection>> dropped;
    std::lock_guard<std::mutex> guard{mtx_};
    const auto now = clock::now();
    while (oldest_ != nullptr && now - oldest_->idle_since >= idle_timeout_) {
      dropped.push_back(take_idle(*oldest_));
      free_slot();
    }
    size_t freed = 0;
    for (auto it = origins_.begin(); it != origins_.end();) {
      origin& o = it->second;
      for (auto& g : o.groups) {
        while (g.idle.size() > max_idle_ && now - g.idle.front()->idle_since >= surplus_linger_) {
          unlink(*g.idle.front());
          dropped.push_back(std::move(g.idle.front()));
          g.idle.pop_front();
          ++freed;
        }
      }
      std::erase_if(o.groups, [](const idle_group& g) { return g.idle.empty(); });
      if (o.groups.empty() && o.waiting.empty() && !o.has_turn)
        it = origins_.erase(it);
      else
        ++it;
    }
    for (; freed > 0; --freed)
      free_slot();
  }

  /// Closes every idle connection and forgets the waiters. Only when no attempt runs.
  void clear() {
    std::unordered_map<std::string, origin> dropped;
    std::lock_guard<std::mutex> guard{mtx_};
    dropped.swap(origins_);
    turns_.clear();
    oldest_ = newest_ = nullptr;
    idle_ = waiting_ = open_ = 0;
  }

  size_t idle() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return idle_;
  }
  size_t open() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return open_;
  }
  size_t waiting() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return waiting_;
  }

private:
  /// Idle connections to one address of an origin, oldest first.
  struct idle_group {
    asio::ip::address address;
    std::deque<std::unique_ptr<connection>> idle;
  };

  struct origin {
    /// Its key in `origins_`.
    const std::string* key = nullptr;
    std::deque<idle_group> groups;
    /// Queued clients per hook, in arrival order.
    std::unordered_map<uint64_t, std::deque<std::shared_ptr<pool_client>>> waiting;
    /// Hooks with queued clients, whose turn is next first.
    std::deque<uint64_t> hook_turns;
    /// Whether the origin is in `turns_`.
    bool has_turn = false;
  };

  origin& origin_of(const std::string& key) {
    auto it = origins_.try_emplace(key).first;
    it->second.key = &it->first;
    return it->second;
  }

  void link(connection& c) {
    c.older = newest_;
    c.newer = nullptr;
    (newest_ != nullptr ? newest_->newer : oldest_) = &c;
    newest_ = &c;
    ++idle_;
  }

  void unlink(connection& c) {
    (c.older != nullptr ? c.older->newer : oldest_) = c.newer;
    (c.newer != nullptr ? c.newer->older : newest_) = c.older;
    c.older = c.newer = nullptr;
    --idle_;
  }

  /// Removes an idle connection from its origin (it is the oldest of its group, as the
  /// global order and each group's order are both by idle time).
  std::unique_ptr<connection> take_idle(connection& c) {
    origin& o = origins_.find(c.key)->second;
    std::unique_ptr<connection> result;
    for (auto& g : o.groups) {
      if (g.address == c.address && !g.idle.empty() && g.idle.front().get() == &c) {
        result = std::move(g.idle.front());
        g.idle.pop_front();
        break;
      }
    }
    unlink(c);
    tidy(o);
    return result;
  }

  /// A slot is free: the next waiter gets it, else the count of open connections drops.
  void free_slot() {
    if (waiting_ == 0) {
      --open_;
      return;
    }
    std::shared_ptr<pool_client> next = pop_next();
    next->granted_ = true;
    next->granted();
  }

  void enqueue(const std::shared_ptr<pool_client>& client) {
    origin& o = origin_of(*client->key);
    auto& queue = o.waiting[client->hook];
    if (queue.empty())
      o.hook_turns.push_back(client->hook);
    queue.push_back(client);
    if (!o.has_turn) {
      o.has_turn = true;
      turns_.push_back(&o);
    }
    client->queued_ = true;
    ++waiting_;
  }

  /// The next waiter, round-robin over origins and, within its origin, over hooks.
  /// Only when `waiting_ > 0`.
  std::shared_ptr<pool_client> pop_next() {
    origin& o = *turns_.front();
    turns_.pop_front();
    const uint64_t hook = o.hook_turns.front();
    o.hook_turns.pop_front();
    auto queue = o.waiting.find(hook);
    std::shared_ptr<pool_client> next = std::move(queue->second.front());
    queue->second.pop_front();
    if (queue->second.empty())
      o.waiting.erase(queue);
    else
      o.hook_turns.push_back(hook);
    if (o.hook_turns.empty())
      o.has_turn = false;
    else
      turns_.push_back(&o);
    next->queued_ = false;
    --waiting_;
    tidy(o);
    return next;
  }

  void dequeue(pool_client& client) {
    origin& o = origins_.find(*client.key)->second;
    auto queue = o.waiting.find(client.hook);
    auto& q = queue->second;
    q.erase(std::find_if(q.begin(), q.end(), [&client](const auto& x) { return x.get() == &client; }));
    if (q.empty()) {
      o.waiting.erase(queue);
      o.hook_turns.erase(std::find(o.hook_turns.begin(), o.hook_turns.end(), client.hook));
      if (o.hook_turns.empty()) {
        o.has_turn = false;
        turns_.erase(std::find(turns_.begin(), turns_.end(), &o));
      }
    }
    client.queued_ = false;
    --waiting_;
    tidy(o);
  }

  /// Forgets empty groups, and the origin when nothing is left of it.
  void tidy(origin& o) {
    std::erase_if(o.groups, [](const idle_group& g) { return g.idle.empty(); });
    if (o.groups.empty() && o.waiting.empty() && !o.has_turn)
      origins_.erase(origins_.find(*o.key));
  }

  const size_t max_idle_;
  const size_t max_open_;
  const clock::duration idle_timeout_;
  const clock::duration surplus_linger_;
  mutable std::mutex mtx_;
  /// Elements stay in place (unordered_map nodes), so `turns_` may point at them.
  std::unordered_map<std::string, origin> origins_;
  /// Origins with waiters, whose turn is next first.
  std::deque<origin*> turns_;
  /// Every idle connection, by idle time (intrusive list through the connections).
  connection* oldest_ = nullptr;
  connection* newest_ = nullptr;
  size_t idle_ = 0;
  size_t waiting_ = 0;
  size_t open_ = 0;
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
/// core's list of attempts in flight; everything it does runs on the sender's io thread.
class attempt final : public pool_client, public std::enable_shared_from_this<attempt> {
public:
  attempt(detail::http_sender_core& core, delivery_request request, sender::callback done,
          clock::time_point started);

  const executor_type& executor() const { return executor_; }

  /// Runs the attempt. On the io thread.
  void start();
  /// Ends it now with `reason`, unless it has ended. On the io thread.
  void abort(std::string_view reason) { fail(std::string(reason), fault::local); }
  /// Answers without running (the sender is stopping). Instead of `start`.
  void reject(std::string_view reason);

  /// From the pool, under its lock: continues on the io thread.
  void granted() override;

private:
  template <class Handler>
  auto bind(Handler&& handler) {
    return asio::bind_executor(executor_, std::forward<Handler>(handler));
  }

  bool build_request();
  void resolve();
  void on_resolved(dns_answer answer);
  void connect(const std::vector<support::ip_address>& addresses);
  void acquire();
  void on_granted();
  void open_connection();
  void on_connected(const error_code& ec, const tcp::endpoint& endpoint);
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
  /// Moves later by the time spent waiting for a connection.
  clock::time_point deadline_;
  executor_type executor_;
  asio::steady_timer deadline_timer_;
  /// The target's parsed URL (checked to be valid in start()).
  const support::parsed_url& url() const { return *request_.target->parts; }

  void arm_deadline();

  /// Holds one of the pool's slots (with `conn_`, or about to open it).
  bool holds_slot_ = false;
  /// Queued in the pool for a slot; the deadline does not run meanwhile.
  bool waiting_ = false;
  clock::time_point waiting_since_;
  clock::duration waited_{};
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
        pool_(options_.max_idle_per_origin, options_.max_outbound, options_.idle_timeout,
              options_.idle_surplus_linger),
        resolver_(io_, resolver_options(options_)),
        sweep_timer_(io_) {
    configure_tls();
    schedule_sweep();
    thread_ = std::thread([this] { run_io(); });
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
    asio::post(a->executor(), [a] { a->start(); });
  }


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
      asio::post(a->executor(), [a] { a->abort(shutting_down); });
    in_flight.clear();
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [this] { return active_.empty(); });
    }
    work_.reset();
    io_.stop();
    if (thread_.joinable())
      thread_.join();
    pool_.clear();
    std::lock_guard<std::mutex> guard{mtx_};
    stopped_ = true;
  }

  size_t idle_connections() const { return pool_.idle(); }
  size_t open_connections() const { return pool_.open(); }
  size_t waiting_attempts() const { return pool_.waiting(); }

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
    const auto period = std::clamp<std::chrono::milliseconds>(
        std::min(options_.idle_timeout, options_.idle_surplus_linger) / 2,
        std::chrono::milliseconds{50}, std::chrono::seconds{5});
    sweep_timer_.expires_after(period);
    sweep_timer_.async_wait([this](const error_code& ec) {
      if (ec)
        return;
      pool_.sweep();
      schedule_sweep();
    });
  }

  void run_io() {
    ::pthread_setname_np(::pthread_self(), "hw-sender"); // as top -H and perf show it
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
  asio::io_context io_{1};  // run by one thread
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  connection_pool pool_;
  dns_resolver resolver_;
  asio::steady_timer sweep_timer_;

  std::mutex stop_mtx_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::unordered_map<const attempt*, std::shared_ptr<attempt>> active_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;
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
      executor_(core.io().get_executor()),
      deadline_timer_(executor_) {}

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
  hook = request_.hook_id;
  key = &request_.target->pool_key;
  arm_deadline();
  resolve();
}

void attempt::arm_deadline() {
  deadline_timer_.expires_at(deadline_);
  deadline_timer_.async_wait(bind([self = shared_from_this()](const error_code& ec) {
    // A wait that completed just before the deadline moved is stale.
    if (ec || self->waiting_ || clock::now() < self->deadline_)
      return;
    if (self->resolving_)
      self->fail("dns: timeout", fault::local); // our resolver did not answer in time
    else
      self->fail("timeout");
  }));
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
    asio::post(self->executor_, [self, answer = std::move(answer)]() mutable {
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
  // Only the addresses just checked are connected to (or reused connections to them);
  // nothing is looked up again.
  endpoints.clear();
  for (const auto& address : addresses)
    endpoints.emplace_back(to_asio(address), url().port);
  acquire();
}

void attempt::acquire() {
  auto got = core_.pool().acquire(shared_from_this());
  switch (got.kind) {
  case connection_pool::outcome::reused:
    holds_slot_ = true;
    conn_ = std::move(got.conn);
    reused_ = true;
    write();
    return;
  case connection_pool::outcome::slot:
    holds_slot_ = true;
    open_connection();
    return;
  case connection_pool::outcome::queued:
    waiting_ = true;
    waiting_since_ = clock::now();
    deadline_timer_.cancel();
    return;
  }
}

void attempt::granted() {
  asio::post(executor_, [self = shared_from_this()] { self->on_granted(); });
}

void attempt::on_granted() {
  if (finished_ || !waiting_)
    return;
  auto got = core_.pool().claim(*this);
  if (!got)
    return;
  waiting_ = false;
  holds_slot_ = true;
  const auto waited = clock::now() - waiting_since_;
  waited_ += waited;
  deadline_ += waited;
  arm_deadline();
  if (*got) {
    conn_ = std::move(*got);
    reused_ = true;
    write();
    return;
  }
  open_connection();
}

void attempt::open_connection() {
  conn_ = std::make_unique<connection>(core_.io());
  conn_->key = request_.target->pool_key;
  asio::async_connect(conn_->socket(), endpoints,
                      bind([self = shared_from_this()](const error_code& ec,
                                                       const tcp::endpoint& endpoint) {
                        self->on_connected(ec, endpoint);
                      }));
}

void attempt::on_connected(const error_code& ec, const tcp::endpoint& endpoint) {
  if (finished_)
    return;
  if (ec) {
    fail(describe(ec), fault_of(ec));
    return;
  }
  conn_->address = endpoint.address();
  error_code ignored;
  conn_->socket().set_option(tcp::no_delay(true), ignored);
  if (url().scheme == "https") {
    start_tls();
    return;
  }
  write();
}

void attempt::start_tls() {
  conn_->tls = std::make_unique<ssl::stream<socket_type>>(std::move(*conn_->plain), core_.tls());
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
  open_connection(); // keeps its slot, to the same checked addresses
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
  if (waiting_) {
    waiting_ = false;
    waited_ += clock::now() - waiting_since_;
    core_.pool().withdraw(*this);
  }
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      clock::now() - started_ - waited_);
  if (holds_slot_) {
    holds_slot_ = false;
    if (reusable) {
      core_.pool().release(std::move(conn_), true);
    } else {
      // Kept until the attempt goes: pending operations end with operation_aborted and
      // still use its stream and buffer.
      if (conn_)
        conn_->close();
      core_.pool().release(nullptr, false);
    }
  }
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

void http_sender::forget(uint64_t) {}

void http_sender::stop() { core_->stop(); }

size_t http_sender::idle_connections() const { return core_->idle_connections(); }

size_t http_sender::open_connections() const { return core_->open_connections(); }

size_t http_sender::waiting_attempts() const { return core_->waiting_attempts(); }

} // namespace hookwerk::engine
