// The server's own threads carry names, so `top -H`, `ps -L` and `perf` tell them apart.
#include "system/harness.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

namespace hookwerk::system_test {
namespace {

std::multiset<std::string> thread_names(int pid) {
  std::multiset<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    auto name = read_file(task.path() / "comm");
    while (!name.empty() && name.back() == '\n') name.pop_back();
    names.insert(name);
  }
  return names;
}

TEST(ThreadNames, TheListenerSenderWriterAndBlockingPoolAreNamed) {
  server_process server;
  const auto names = thread_names(server.pid());
  std::string all;
  for (const auto& n : names) all += n + " ";
  EXPECT_EQ(names.count("hw-http"), 1u) << all;
  EXPECT_GE(names.count("hw-sender"), 1u) << all;
  EXPECT_EQ(names.count("hw-writer"), 1u) << all;
  EXPECT_GE(names.count("hw-blocking"), 1u) << all;
}

}  // namespace
}  // namespace hookwerk::system_test
