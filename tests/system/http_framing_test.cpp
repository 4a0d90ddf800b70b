// HTTP/1.1 framing on one keep-alive connection, as a client that pipelines sees it.
#include "system/harness.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>

#include <string>

namespace hookwerk::system_test {
namespace {

// Sends `requests` on one connection, half-closes it and returns all the server wrote until
// it closed (at most 10 s).
std::string exchange_all(std::uint16_t port, const std::string& requests) {
  tcp_connection c{port};
  EXPECT_EQ(::send(c.fd(), requests.data(), requests.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(requests.size()));
  ::shutdown(c.fd(), SHUT_WR);
  std::string out;
  const auto deadline = clock_type::now() + 10s;
  while (clock_type::now() < deadline) {
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ADD_FAILURE() << "the server did not close the connection within 10 s";
  return out;
}

// RFC 9110 §9.3.2: the answer to HEAD carries GET's Content-Length but no content, so the next
// response on the connection starts right after its header.
TEST(HttpFraming, AnswerToHeadHasTheLengthButNoBodyAndTheNextResponseFollowsDirectly) {
  server_process server;
  const std::string text = exchange_all(
      server.port(),
      "HEAD /healthz HTTP/1.1\r\nHost: h\r\n\r\n"
      "HEAD /no-such-path HTTP/1.1\r\nHost: h\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");

  const auto first_end = text.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos) << text;
  const std::string first = text.substr(0, first_end);
  EXPECT_TRUE(first.starts_with("HTTP/1.1 200")) << text;
  EXPECT_NE(first.find("Content-Length: 2"), std::string::npos) << text;

  const auto second_start = first_end + 4;
  ASSERT_TRUE(text.compare(second_start, 12, "HTTP/1.1 404") == 0) << "a body after HEAD's header:\n" << text;
  const auto second_end = text.find("\r\n\r\n", second_start);
  ASSERT_NE(second_end, std::string::npos) << text;
  const std::string second = text.substr(second_start, second_end - second_start);
  EXPECT_EQ(second.find("Content-Length: 0\r\n"), std::string::npos) << "HEAD keeps GET's length:\n" << text;

  const auto third_start = second_end + 4;
  ASSERT_TRUE(text.compare(third_start, 12, "HTTP/1.1 200") == 0) << "a body after HEAD's header:\n" << text;
  EXPECT_TRUE(text.ends_with("\r\n\r\nok")) << text;
}

}  // namespace
}  // namespace hookwerk::system_test
