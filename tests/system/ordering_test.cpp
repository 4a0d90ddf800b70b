// SPEC §4/§5 ordering: events of one hook with the same ordering key (`key`, else
// payload.subscriber_id compared as text) are delivered in ingestion order, each only after the
// previous one succeeded; events with other keys go on meanwhile.
#include "system/delivery_support.hpp"
#include "system/harness.hpp"
#include "system/outage_support.hpp"
#include "system/receiver.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace hookwerk::system_test {
namespace {

constexpr auto arrival_timeout = 30s;

// The requests for sequence number `seq` (payload member "seq").
std::vector<std::size_t> positions_of(const std::vector<received_request>& all, long seq) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (payload_seq(all[i]) == seq) out.push_back(i);
  return out;
}

// Checks, over everything the receiver got, that the successful answers are for 1 … n in this
// order, each once, and that no request for k+1 came before k had been answered with success.
::testing::AssertionResult delivered_in_order(const std::vector<received_request>& all, long n) {
  std::vector<long> successes;
  for (const auto& r : all)
    if (r.succeeded()) successes.push_back(payload_seq(r));
  std::vector<long> expected;
  for (long k = 1; k <= n; ++k) expected.push_back(k);
  if (successes != expected)
    return ::testing::AssertionFailure() << "successful deliveries in this order: "
                                         << ::testing::PrintToString(successes) << "; " << describe(all, 100);
  for (long k = 1; k < n; ++k) {
    std::size_t success_of_k = all.size();
    for (std::size_t i = 0; i < all.size(); ++i)
      if (payload_seq(all[i]) == k && all[i].succeeded()) {
        success_of_k = i;
        break;
      }
    const auto next = positions_of(all, k + 1);
    if (!next.empty() && next.front() < success_of_k)
      return ::testing::AssertionFailure() << "event " << k + 1 << " was sent (request #" << next.front() + 1
                                           << ") before event " << k << " succeeded (request #" << success_of_k + 1
                                           << "); " << describe(all, 100);
  }
  return ::testing::AssertionSuccess();
}

class Ordering : public two_account_suite<Ordering> {
public:
  static server_options options() { return delivery_server_options("100ms,200ms,300ms"); }

protected:
  // Posts events seq 1 … 20 one at a time (payload made by `payload_for`, optional `key`) to a
  // hook whose receiver fails event 5 until all 20 were accepted and 5 had failed at least once,
  // then checks the order of what arrived.
  static void run_ordering_scenario(const std::function<std::string(int)>& payload_for,
                                    const std::optional<std::string>& key) {
    constexpr int n = 20;
    constexpr int failing = 5;
    std::atomic<bool> hold{true};  // outlives the receiver, whose threads read it
    receiver rx;
    rx.set_responder([&hold](const received_request& r) -> std::optional<reply> {
      if (hold.load() && payload_seq(r) == failing) return reply::status_only(500);
      return std::nullopt;
    });
    hook_cleanup cleanup(server());
    const auto event = fresh_event();
    webhook hook;
    ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url(), hook));

    std::vector<std::string> ids;
    for (int seq = 1; seq <= n; ++seq) {
      accepted_event ev;
      ASSERT_TRUE(post_event(server(), acme.username, event, payload_for(seq), ev, std::nullopt, key));
      ids.push_back(ev.id);
    }
    ASSERT_TRUE(rx.wait_until(
        [&](const auto& all) {
          for (const auto& r : all)
            if (payload_seq(r) == failing && r.answered == 500) return true;
          return false;
        },
        arrival_timeout))
        << "event " << failing << " was never attempted; " << describe(rx.requests());
    hold = false;

    ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, ids); }, arrival_timeout))
        << delivered_ids(rx.requests()).size() << " of " << n << " delivered; " << describe(rx.requests(), 100);
    const auto all = rx.requests();
    EXPECT_TRUE(delivered_in_order(all, n));
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto seq = payload_seq(all[i]);
      ASSERT_GE(seq, 1) << describe(all);
      EXPECT_EQ(all[i].header("webhook-id"), ids[static_cast<std::size_t>(seq - 1)]) << "request #" << i + 1;
    }
  }
};

TEST_F(Ordering, EventsWithTheSameKeyArriveInIngestionOrderAcrossAFailure) {
  run_ordering_scenario([](int seq) { return "{\"seq\":" + std::to_string(seq) + ",\"subscriber_id\":" +
                                             std::to_string(900 + seq) + "}"; },
                        std::string("customer-7"));
  EXPECT_TRUE(outage::nothing_was_stuck(server()));
}

TEST_F(Ordering, SubscriberIdIsTheKeyWithoutKeyAndNumberAndStringCompareEqual) {
  // Odd events carry the number 42, even ones the string "42": one key.
  run_ordering_scenario(
      [](int seq) {
        return "{\"seq\":" + std::to_string(seq) + ",\"subscriber_id\":" + (seq % 2 ? "42" : "\"42\"") + "}";
      },
      std::nullopt);
  EXPECT_TRUE(outage::nothing_was_stuck(server()));
}

// With a 2 s retry delay, a key stuck on a failing event must not hold up the other keys.
TEST(OrderingKeys, OtherKeysAreDeliveredWhileOneKeyIsRetrying) {
  server_process server(delivery_server_options("2s"));
  credentials acme;
  ASSERT_TRUE(make_account(server, "acme", acme));
  std::atomic<bool> hold{true};  // outlives the receiver, whose threads read it
  receiver rx;
  rx.set_responder([&hold](const received_request& r) -> std::optional<reply> {
    if (hold.load() && r.body.find("\"group\":\"A\"") != std::string::npos) return reply::status_only(500);
    return std::nullopt;
  });
  hook_cleanup cleanup(server);
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(add_hook(server, cleanup, acme, event, rx.url(), hook));

  accepted_event a1, a2;
  ASSERT_TRUE(post_event(server, acme.username, event, R"({"seq":1,"group":"A"})", a1, std::nullopt, "A"));
  ASSERT_TRUE(post_event(server, acme.username, event, R"({"seq":2,"group":"A"})", a2, std::nullopt, "A"));
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return count_with_webhook_id(all, a1.id) >= 1; }, arrival_timeout))
      << describe(rx.requests());

  std::vector<std::string> b_ids;
  for (int i = 1; i <= 5; ++i) {
    accepted_event b;
    ASSERT_TRUE(post_event(server, acme.username, event,
                           "{\"seq\":" + std::to_string(10 + i) + ",\"group\":\"B\"}", b, std::nullopt, "B"));
    b_ids.push_back(b.id);
  }
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, b_ids); }, arrival_timeout))
      << "key B must not wait for key A; " << describe(rx.requests());
  {
    const auto all = rx.requests();
    EXPECT_TRUE(delivered_ids(all).count(a1.id) == 0) << "A1 still failing";
    EXPECT_EQ(count_with_webhook_id(all, a2.id), 0u) << "A2 waits for A1; " << describe(all);
    std::vector<long> b_order;
    for (const auto& r : all)
      if (r.succeeded()) b_order.push_back(payload_seq(r));
    EXPECT_EQ(b_order, (std::vector<long>{11, 12, 13, 14, 15})) << "key B in its own order";
  }

  hold = false;
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, {a1.id, a2.id}); }, arrival_timeout))
      << describe(rx.requests());
  const auto all = rx.requests();
  std::size_t a1_success = all.size(), a2_first = all.size();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].header("webhook-id") == a1.id && all[i].succeeded() && a1_success == all.size()) a1_success = i;
    if (all[i].header("webhook-id") == a2.id && a2_first == all.size()) a2_first = i;
  }
  EXPECT_LT(a1_success, a2_first) << "A2 only after A1 succeeded; " << describe(all);
  EXPECT_TRUE(outage::nothing_was_stuck(server));
}

// A hook keeps a bounded window of its queue in memory. 1 000 events of one key whose receiver
// keeps answering 500 are far more than that window; events of another key posted afterwards
// must still go out at once, in their own order, while the failing key's later events wait.
TEST(OrderingKeys, AThousandEventsOfAFailingKeyDoNotHoldUpAnotherKey) {
  server_process server(delivery_server_options("100ms"));
  credentials acme;
  ASSERT_TRUE(make_account(server, "acme", acme));
  receiver rx;
  rx.set_responder([](const received_request& r) -> std::optional<reply> {
    if (r.body.find("\"group\":\"A\"") != std::string::npos) return reply::status_only(500);
    return std::nullopt;
  });
  hook_cleanup cleanup(server);
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(add_hook(server, cleanup, acme, event, rx.url(), hook));

  auto batch_of = [&](std::string_view group, int first, int n) {
    std::string body;
    for (int i = 0; i < n; ++i)
      body += event_json(acme.username, event,
                         "{\"seq\":" + std::to_string(first + i) + ",\"group\":\"" + std::string(group) + "\"}",
                         std::nullopt, std::string(group)) +
              "\n";
    return body;
  };
  std::vector<std::string> a_ids;
  ASSERT_TRUE(parse_accepted_batch(ingest(server, batch_of("A", 1, 1000), ndjson_type), 1000, a_ids));
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return count_with_webhook_id(all, a_ids[0]) >= 2; },
                            arrival_timeout))
      << "the first event of A was not retried; " << describe(rx.requests());

  const auto posted = clock_type::now();
  std::vector<std::string> b_ids;
  ASSERT_TRUE(parse_accepted_batch(ingest(server, batch_of("B", 2001, 10), ndjson_type), 10, b_ids));
  const bool delivered =
      rx.wait_until([&](const auto& all) { return all_delivered(all, b_ids); }, 10s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - posted);
  ASSERT_TRUE(delivered) << "key B waits behind 1000 events of key A; " << describe(rx.requests(), 30);
  RecordProperty("other_key_delivered_ms", static_cast<int>(took.count()));
  std::cout << "10 events of key B delivered " << took.count() << " ms after posting them\n";
  EXPECT_LE(took, 1s) << "10 events of another key took " << took.count() << " ms";

  const auto all = rx.requests();
  std::vector<long> b_order;
  for (const auto& r : all)
    if (r.succeeded())
      b_order.push_back(payload_seq(r));
  std::vector<long> expected;
  for (long i = 2001; i <= 2010; ++i) expected.push_back(i);
  EXPECT_EQ(b_order, expected) << "key B in its own order";
  for (const auto& r : all) {
    if (r.body.find("\"group\":\"A\"") != std::string::npos) {
      ASSERT_EQ(payload_seq(r), 1) << "a later event of A went before the first succeeded";
    }
  }
  EXPECT_TRUE(outage::nothing_was_stuck(server));
}

}  // namespace
}  // namespace hookwerk::system_test
