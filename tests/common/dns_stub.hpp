#pragma once

#include "common/ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace hookwerk::test {

/// A name server on a UDP port of 127.0.0.1 that answers every question with the response
/// code its rule picks for the name (no records ever), or not at all: for tests of how the
/// server treats its resolver failing (SERVFAIL, REFUSED, silence) versus a name that does
/// not exist (NXDOMAIN). Give `address()` to the resolver (`dns_servers`,
/// HOOKWERK_DNS_SERVERS). Counts the questions it got. Stops in its destructor.
class dns_stub {
public:
  enum rcode : uint8_t { noerror = 0, servfail = 2, nxdomain = 3, refused = 5 };

  /// The answer for a (lower-cased) name; nullopt = never answer.
  using rule = std::function<std::optional<rcode>(const std::string& name)>;

  explicit dns_stub(rule answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
      throw std::runtime_error("dns_stub: socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd_);
      throw std::runtime_error("dns_stub: bind failed");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~dns_stub() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  dns_stub(const dns_stub&) = delete;
  dns_stub& operator=(const dns_stub&) = delete;

  /// "127.0.0.1:<port>".
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  /// Questions received so far (any name, any type).
  uint64_t questions() const { return questions_.load(); }

  /// "127.0.0.1:<port>" of a UDP port nothing listens on (bound, then closed again): a
  /// resolver pointed there gets "port unreachable" at once.
  static std::string unreachable_address() {
    return "127.0.0.1:" + std::to_string(unused_port(SOCK_DGRAM));
  }

private:
  void serve() {
    char buffer[1500];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_, buffer, sizeof buffer, 0,
                                   reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12)
        continue;
      ++questions_;
      const std::string query(buffer, static_cast<size_t>(n));
      std::string name;
      size_t pos = 12;
      while (pos < query.size() && query[pos] != 0) {
        const size_t length = static_cast<unsigned char>(query[pos]);
        if (pos + 1 + length > query.size())
          break;
        if (!name.empty())
          name += '.';
        name.append(query, pos + 1, length);
        pos += 1 + length;
      }
      pos += 1 + 4; // the root label, type and class
      if (pos > query.size())
        continue;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      const auto code = answer_(name);
      if (!code)
        continue;
      std::string out = query.substr(0, 2);            // id
      out += static_cast<char>(0x81);                  // response, recursion desired
      out += static_cast<char>(0x80 | *code);          // recursion available, rcode
      out += std::string("\0\1\0\0\0\0\0\0", 8);       // 1 question, no records
      out += query.substr(12, pos - 12);               // the question
      ::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }

  rule answer_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> questions_{0};
  std::thread thread_;
};

} // namespace hookwerk::test
