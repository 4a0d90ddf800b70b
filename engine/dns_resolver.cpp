#include "engine/dns_resolver.hpp"

#include <utility>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "actors/support/log.hpp"

namespace hookwerk::engine {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using support::ip_address;

std::string_view without_trailing_dot(std::string_view host) {
  if (!host.empty() && host.back() == '.')
    host.remove_suffix(1);
  return host;
}

/// True when `host` is the domain `zone` or a name under it.
bool is_in_zone(std::string_view host, std::string_view zone) {
  host = without_trailing_dot(host);
  if (host == zone)
    return true;
  return host.size() > zone.size() + 1 && host.substr(host.size() - zone.size()) == zone &&
         host[host.size() - zone.size() - 1] == '.';
}

/// Numeric hosts, including the legacy IPv4 forms getaddrinfo accepts ("127.1",
/// "0x7f000001", "2130706433", "0177.0.0.1").
std::optional<ip_address> numeric_host(const std::string& host) {
  if (auto address = ip_address::parse(host))
    return address;
  in_addr v4{};
  if (::inet_aton(host.c_str(), &v4) != 0) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr = v4;
    return ip_address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin));
  }
  return std::nullopt;
}

std::vector<ip_address> loopback_addresses() {
  return {*ip_address::parse("127.0.0.1"), *ip_address::parse("::1")};
}

void init_library() {
  static std::once_flag once;
  static int status = ARES_SUCCESS;
  std::call_once(once, [] { status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (status != ARES_SUCCESS)
    throw std::runtime_error(std::string("cannot initialise c-ares: ") + ares_strerror(status));
}

/// Whether a failed lookup's status is the resolver's fault rather than the name's: only
/// "no such name", "no address" and a malformed name are the name's (SPEC §1
/// --failure-threshold counts those against the hook, never our resolver's troubles).
bool is_resolver_failure(int status) {
  switch (status) {
    case ARES_SUCCESS: // answered, but without an IPv4 or IPv6 address
    case ARES_ENODATA:
    case ARES_ENOTFOUND:
    case ARES_EBADNAME:
    case ARES_ENONAME:
      return false;
    default: // ESERVFAIL, EREFUSED, ETIMEOUT, ECONNREFUSED, ENOMEM, EFILE, EBADRESP, ...
      return true;
  }
}

struct addrinfo_deleter {
  void operator()(ares_addrinfo* info) const { ares_freeaddrinfo(info); }
};

} // namespace

class dns_resolver::impl {
public:
  impl(asio::io_context& io, dns_resolver_options options)
      : options_(options), strand_(asio::make_strand(io)), timer_(strand_) {
    init_library();
    ares_options settings{};
    int mask = 0;
    settings.sock_state_cb = &impl::on_socket_state;
    settings.sock_state_cb_data = this;
    mask |= ARES_OPT_SOCK_STATE_CB;
    settings.timeout = static_cast<int>(std::max<std::chrono::milliseconds::rep>(
        options_.query_timeout.count(), 1));
    mask |= ARES_OPT_TIMEOUTMS;
    settings.tries = std::max(options_.tries, 1);
    mask |= ARES_OPT_TRIES;
    char lookups[] = "fb"; // /etc/hosts first, then DNS
    settings.lookups = lookups;
    mask |= ARES_OPT_LOOKUPS;
    const int status = ares_init_options(&channel_, &settings, mask);
    if (status != ARES_SUCCESS)
      throw std::runtime_error(std::string("cannot initialise c-ares: ") + ares_strerror(status));
    if (!options_.servers.empty()) {
      const int set = ares_set_servers_ports_csv(channel_, options_.servers.c_str());
      if (set != ARES_SUCCESS) {
        ares_destroy(channel_);
        throw std::runtime_error("invalid DNS servers \"" + options_.servers +
                                 "\": " + ares_strerror(set));
      }
    }
  }

  ~impl() {
    // The io_context no longer runs: drop the waits without closing the sockets (c-ares
    // owns and closes them), then let c-ares fail what is still pending.
    for (auto& entry : sockets_)
      entry.second->descriptor.release();
    sockets_.clear();
    ares_destroy(channel_);
  }

  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  void resolve(std::string host, handler done) {
    asio::post(strand_, [this, host = std::move(host), done = std::move(done)]() mutable {
      start(std::move(host), std::move(done));
    });
  }

private:
  struct watched_socket {
    watched_socket(const asio::strand<asio::io_context::executor_type>& strand, int fd)
        : descriptor(strand, fd) {}
    asio::posix::stream_descriptor descriptor;
    bool want_read = false;
    bool want_write = false;
    bool reading = false;
    bool writing = false;
  };

  struct query {
    impl* self;
    std::string host;
  };

  struct cached_answer {
    std::vector<ip_address> addresses;
    clock::time_point expires;
  };

  void start(std::string host, handler done) {
    if (host.empty() || host.find('\0') != std::string::npos) {
      done({{}, "invalid host name", false});
      return;
    }
    if (auto address = numeric_host(host)) {
      done({{*address}, {}, false});
      return;
    }
    if (is_in_zone(host, "invalid")) {
      done({{}, ares_strerror(ARES_ENOTFOUND), false});
      return;
    }
    if (auto it = cache_.find(host); it != cache_.end()) {
      if (clock::now() < it->second.expires) {
        done({it->second.addresses, {}, false});
        return;
      }
      cache_.erase(it);
    }

    auto& waiters = waiting_[host];
    waiters.push_back(std::move(done));
    if (waiters.size() > 1)
      return; // a query for this name is already under way

    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    // May complete (and erase `waiters`) before it returns, e.g. from /etc/hosts.
    ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &impl::on_addrinfo,
                     new query{this, host});
    schedule_timeout();
  }

  static void on_addrinfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
    std::unique_ptr<query> q(static_cast<query*>(arg));
    std::unique_ptr<ares_addrinfo, addrinfo_deleter> owned(result);
    if (status == ARES_EDESTRUCTION)
      return; // the resolver is going away; nobody waits any more
    try {
      q->self->on_answer(q->host, status, result);
    } catch (const std::exception& e) {
      log::error(std::string("dns: ") + e.what());
    }
  }

  void on_answer(const std::string& host, int status, const ares_addrinfo* result) {
    dns_answer answer;
    int ttl = 0;
    if (status == ARES_SUCCESS && result != nullptr) {
      for (const ares_addrinfo_node* node = result->nodes; node != nullptr; node = node->ai_next) {
        if (node->ai_addr == nullptr ||
            (node->ai_family != AF_INET && node->ai_family != AF_INET6))
          continue;
        const ip_address address = ip_address::from_sockaddr(node->ai_addr);
        if (std::find(answer.addresses.begin(), answer.addresses.end(), address) ==
            answer.addresses.end())
          answer.addresses.push_back(address);
        if (node->ai_ttl > 0)
          ttl = ttl == 0 ? node->ai_ttl : std::min(ttl, node->ai_ttl);
      }
    }
    if (answer.addresses.empty() && is_in_zone(host, "localhost"))
      answer.addresses = loopback_addresses();
    if (answer.addresses.empty()) {
      answer.error = status == ARES_SUCCESS ? "no IPv4 or IPv6 address" : ares_strerror(status);
      answer.local_failure = is_resolver_failure(status);
    } else
      remember(host, answer.addresses, ttl);
    complete(host, answer);
  }

  void complete(const std::string& host, const dns_answer& answer) {
    auto node = waiting_.extract(host);
    if (node.empty())
      return;
    for (auto& done : node.mapped())
      done(answer);
  }

  void remember(const std::string& host, const std::vector<ip_address>& addresses, int ttl) {
    if (options_.cache_ttl <= std::chrono::seconds::zero() || options_.cache_entries == 0)
      return;
    const auto now = clock::now();
    std::chrono::seconds life = options_.cache_ttl;
    if (ttl > 0)
      life = std::min(life, std::chrono::seconds{ttl});
    if (cache_.size() >= options_.cache_entries) {
      std::erase_if(cache_, [now](const auto& entry) { return entry.second.expires <= now; });
      if (cache_.size() >= options_.cache_entries)
        cache_.clear();
    }
    cache_[host] = cached_answer{addresses, now + life};
  }

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    try {
      static_cast<impl*>(data)->watch(fd, readable != 0, writable != 0);
    } catch (const std::exception& e) {
      log::error(std::string("dns: cannot watch a socket: ") + e.what());
    }
  }

  void watch(ares_socket_t fd, bool readable, bool writable) {
    if (!readable && !writable) {
      // c-ares is about to close the socket: stop waiting on it, but leave closing to it.
      if (auto it = sockets_.find(fd); it != sockets_.end()) {
        it->second->descriptor.release();
        sockets_.erase(it);
      }
      return;
    }
    auto it = sockets_.find(fd);
    if (it == sockets_.end())
      it = sockets_.emplace(fd, std::make_shared<watched_socket>(strand_, fd)).first;
    const std::shared_ptr<watched_socket> socket = it->second;
    socket->want_read = readable;
    socket->want_write = writable;
    arm(fd, socket);
  }

  bool is_current(ares_socket_t fd, const std::shared_ptr<watched_socket>& socket) const {
    auto it = sockets_.find(fd);
    return it != sockets_.end() && it->second == socket;
  }

  void arm(ares_socket_t fd, const std::shared_ptr<watched_socket>& socket) {
    if (socket->want_read && !socket->reading) {
      socket->reading = true;
      socket->descriptor.async_wait(
          asio::posix::descriptor_base::wait_read,
          asio::bind_executor(strand_, [this, fd, socket](const boost::system::error_code& ec) {
            socket->reading = false;
            if (ec || !is_current(fd, socket))
              return;
            process(fd, ARES_SOCKET_BAD);
            if (is_current(fd, socket))
              arm(fd, socket);
          }));
    }
    if (socket->want_write && !socket->writing) {
      socket->writing = true;
      socket->descriptor.async_wait(
          asio::posix::descriptor_base::wait_write,
          asio::bind_executor(strand_, [this, fd, socket](const boost::system::error_code& ec) {
            socket->writing = false;
            if (ec || !is_current(fd, socket))
              return;
            process(ARES_SOCKET_BAD, fd);
            if (is_current(fd, socket))
              arm(fd, socket);
          }));
    }
  }

  void process(ares_socket_t read_fd, ares_socket_t write_fd) {
    ares_process_fd(channel_, read_fd, write_fd);
    schedule_timeout();
  }

  /// Wakes c-ares when its next query times out (it then retries or fails the query).
  void schedule_timeout() {
    timeval next{};
    if (ares_timeout(channel_, nullptr, &next) == nullptr) {
      timer_.cancel();
      return;
    }
    timer_.expires_after(std::chrono::seconds{next.tv_sec} +
                         std::chrono::microseconds{next.tv_usec});
    timer_.async_wait(asio::bind_executor(strand_, [this](const boost::system::error_code& ec) {
      if (!ec)
        process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }));
  }

  dns_resolver_options options_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;
  ares_channel channel_ = nullptr;
  std::unordered_map<ares_socket_t, std::shared_ptr<watched_socket>> sockets_;
  std::unordered_map<std::string, std::vector<handler>> waiting_;
  std::unordered_map<std::string, cached_answer> cache_;
};

dns_resolver::dns_resolver(asio::io_context& io, dns_resolver_options options)
    : impl_(std::make_unique<impl>(io, options)) {}

dns_resolver::~dns_resolver() = default;

void dns_resolver::resolve(std::string host, handler done) {
  impl_->resolve(std::move(host), std::move(done));
}

} // namespace hookwerk::engine
