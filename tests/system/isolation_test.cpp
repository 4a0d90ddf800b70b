// SPEC §5 isolation: a hook whose endpoint hangs never delays another hook's deliveries.
#include "system/delivery_support.hpp"
#include "system/harness.hpp"
#include "system/receiver.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hookwerk::system_test {
namespace {

TEST(Isolation, AHangingHookDoesNotDelayAnotherHookOfTheSameEvent) {
  // A long delivery timeout: the hanging hook's attempts stay stuck for the whole test, filling
  // its --max-in-flight slots.
  server_process server(delivery_server_options("100ms,200ms,300ms", {"--delivery-timeout", "60s"}));
  credentials acme;
  ASSERT_TRUE(make_account(server, "acme", acme));

  receiver hanging, healthy;
  hanging.set_blackhole();
  hook_cleanup cleanup(server);
  const auto event = fresh_event();
  webhook h1, h2;
  ASSERT_TRUE(add_hook(server, cleanup, acme, event, hanging.url("/hangs"), h1));
  ASSERT_TRUE(add_hook(server, cleanup, acme, event, healthy.url("/fine"), h2));

  std::vector<long long> latencies_ms;
  for (int i = 1; i <= 10; ++i) {
    SCOPED_TRACE("event " + std::to_string(i));
    accepted_event ev;
    ASSERT_TRUE(post_event(server, acme.username, event, "{\"seq\":" + std::to_string(i) + "}", ev));
    const auto accepted_at = clock_type::now();
    EXPECT_EQ(ev.webhooks, 2);
    ASSERT_TRUE(healthy.wait_until([&](const auto& all) { return all_delivered(all, {ev.id}); }, 20s))
        << "the healthy hook never got it; " << describe(healthy.requests());
    const auto got = with_webhook_id(healthy.requests(), ev.id);
    const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(got.front().arrived - accepted_at);
    latencies_ms.push_back(std::max<long long>(0, latency.count()));
    EXPECT_LE(latency.count(), 1000) << "from the 202 to the arrival at the healthy hook";
  }
  RecordProperty("healthy_hook_latencies_ms", ::testing::PrintToString(latencies_ms));

  // The hanging hook really was being delivered to, and never got an answer.
  EXPECT_TRUE(hanging.wait_for_count(1, 20s)) << "the hanging hook was never attempted";
  for (const auto& r : hanging.requests()) EXPECT_EQ(r.answered, 0);
  EXPECT_GE(hanging.connections_accepted(), 1u);
}

}  // namespace
}  // namespace hookwerk::system_test
