// Outbound connections are pooled per receiver origin, not per webhook: a thousand webhooks of
// one receiver host leave the server with a few dozen connections to it, not thousands.
#include "system/delivery_support.hpp"
#include "system/harness.hpp"
#include "system/receiver.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace hookwerk::system_test {
namespace {

constexpr int account_count = 5;
constexpr int events_per_account = 200;  // one webhook per account and event: 1 000 webhooks
constexpr int hook_count = account_count * events_per_account;
constexpr int event_count = 40000;
constexpr int batch_size = 1000;
constexpr std::size_t max_descriptors = 100;

std::string event_name(int i) { return "pool" + std::to_string(i); }

std::string event_list() {
  std::string list = "optin_finalized";
  for (int i = 0; i < events_per_account; ++i) list += "," + event_name(i);
  return list;
}

// Inodes of the TCP sockets (IPv4 and IPv6, any state) whose remote port is `port`.
std::set<std::string> sockets_to_port(std::uint16_t port) {
  std::set<std::string> inodes;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode))
        continue;
      const auto colon = remote.rfind(':');
      if (colon == std::string::npos) continue;
      if (std::stoul(remote.substr(colon + 1), nullptr, 16) == port) inodes.insert(inode);
    }
  }
  return inodes;
}

// Descriptors of process `pid` that are sockets connected to `port` on this host.
std::size_t descriptors_to_port(pid_t pid, std::uint16_t port) {
  const auto inodes = sockets_to_port(port);
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    const auto target = std::filesystem::read_symlink(entry.path(), link_ec).string();
    // "socket:[12345]"
    if (link_ec || !target.starts_with("socket:[")) continue;
    if (inodes.count(target.substr(8, target.size() - 9)) > 0) ++n;
  }
  return n;
}

TEST(OutboundPool, AThousandWebhooksOfOneReceiverHostShareAFewConnections) {
  const auto started = clock_type::now();
  server_process server(delivery_server_options("100ms,200ms,300ms", {"--events", event_list()}));
  receiver sink;

  std::vector<credentials> accounts(account_count);
  for (auto& who : accounts) ASSERT_TRUE(make_account(server, "pool", who));

  // 1 000 webhooks, all on the one receiver (different paths), created concurrently.
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  std::atomic<int> next{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < hook_count; i = next++) {
        const auto& who = accounts[i % account_count];
        webhook w;
        auto made = create_webhook(server, who, "pool", event_name(i / account_count),
                                   sink.url("/pool/" + std::to_string(i)), w);
        if (!made) {
          std::lock_guard lock(mutex);
          failures.push_back("#" + std::to_string(i) + ": " + made.message());
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(failures.empty()) << failures.size() << " failures, first: " << failures.front();
  const auto hooks_made = clock_type::now();

  // 40 000 events, each for exactly one webhook, 40 per webhook, in batches.
  for (int first = 0; first < event_count; first += batch_size) {
    std::string body;
    for (int i = first; i < first + batch_size; ++i) {
      const int hook = i % hook_count;
      body += event_json(accounts[hook % account_count].username, event_name(hook / account_count),
                         "{\"seq\":" + std::to_string(i) + "}");
      body += '\n';
    }
    std::vector<std::string> ids;
    ASSERT_TRUE(parse_accepted_batch(ingest(server, body, ndjson_type), batch_size, ids))
        << "batch starting at " << first;
  }

  ASSERT_TRUE(sink.wait_for_count(event_count, 120s))
      << "only " << sink.count() << " of " << event_count << " deliveries arrived";
  std::size_t distinct = 0;
  EXPECT_TRUE(eventually(
      [&] {
        distinct = delivered_ids(sink.requests()).size();
        return distinct == static_cast<std::size_t>(event_count);
      },
      30s, 250ms))
      << distinct << " distinct events delivered";
  const auto delivered_at = clock_type::now();

  // Idle connections beyond --max-idle-per-origin (32) close about a second after their
  // attempts end, long before the idle timeout (30 s). Per-webhook pools kept ~8 per webhook.
  std::size_t held = 0;
  const bool bounded = eventually(
      [&] {
        held = descriptors_to_port(server.pid(), sink.port());
        return held <= max_descriptors;
      },
      10s, 50ms);
  EXPECT_TRUE(bounded) << "the server still holds " << held << " descriptors connected to the receiver";
  RecordProperty("descriptors_to_receiver", static_cast<int>(held));
  RecordProperty("connections_accepted_by_receiver", static_cast<int>(sink.connections_accepted()));
  RecordProperty("seconds_creating_hooks",
                 static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(hooks_made - started).count()));
  RecordProperty("seconds_until_delivered",
                 static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(delivered_at - hooks_made).count()));
  EXPECT_EQ(server.terminate(30s), 0);
}

}  // namespace
}  // namespace hookwerk::system_test
