// SIGHUP (a closing terminal, a reflexive `kill -HUP`) must not stop the server: it logs one line
// and goes on serving; SIGTERM still stops it cleanly.
#include "system/harness.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <string>

namespace hookwerk::system_test {
namespace {

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(Sighup, IsLoggedAndIgnored) {
  server_process server;
  const std::string line = "received SIGHUP, ignored";
  for (int i = 1; i <= 2; ++i) {
    ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
    ASSERT_TRUE(eventually([&] { return count_of(server.stderr_text(), line) == static_cast<std::size_t>(i); }, 10s))
        << "stderr:\n" << server.stderr_text();
    ASSERT_TRUE(server.running()) << "SIGHUP stopped the server; stderr:\n" << server.stderr_text();
    const auto health = server.get("/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.body, "ok");
    EXPECT_EQ(server.get("/readyz").status, 200);
  }
  EXPECT_EQ(server.terminate(), 0);
}

}  // namespace
}  // namespace hookwerk::system_test
