#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace hookwerk::test {

/// A loopback port nothing listens on: bound with `socket_type` (SOCK_STREAM:
/// connections to it are refused; SOCK_DGRAM: datagrams get "port unreachable"),
/// then closed again.
inline std::uint16_t unused_port(int socket_type = SOCK_STREAM) {
  const int fd = ::socket(AF_INET, socket_type | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

} // namespace hookwerk::test
