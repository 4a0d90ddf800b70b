// SPEC §4/§5 durability: every event answered 202 is delivered, across kill -9; a clean restart
// delivers what was pending and nothing that had been delivered already.
#include "system/delivery_support.hpp"
#include "system/harness.hpp"
#include "system/receiver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace hookwerk::system_test {
namespace {

constexpr auto arrival_timeout = 30s;

TEST(Crash, EveryEventAnswered202IsDeliveredAfterAKill9) {
  temp_dir data;
  auto options = delivery_server_options("100ms,200ms,300ms", {"--delivery-timeout", "5s"});
  options.data_dir = data.str();
  // Until the crash, every other event fails, so that at the kill there are delivered events,
  // events waiting for a retry and events in flight.
  std::atomic<bool> crashed{false};
  receiver rx;
  rx.set_responder([&crashed](const received_request& r) -> std::optional<reply> {
    if (!crashed.load() && payload_seq(r) % 2 == 0) return reply::status_only(503);
    return std::nullopt;
  });

  credentials acme;
  webhook hook;
  std::vector<std::string> accepted;  // every event id that got a 202
  std::mutex accepted_mutex;
  std::string event;
  std::string stop_reason;
  {
    server_process server(options);
    ASSERT_TRUE(make_account(server, "acme", acme));
    event = fresh_event();
    ASSERT_TRUE(create_webhook(server, acme, "crash", event, rx.url("/crash"), hook));

    // Post events one by one until the server is gone.
    const auto port = server.port();
    const auto account = acme.username;
    std::thread poster([&, port, account] {
      for (int i = 1; i <= 5000; ++i) {
        const auto body = event_json(account, event, "{\"seq\":" + std::to_string(i) + "}");
        try {
          const auto r = ingest(port, body, json_type, std::string(default_ingest_token), 10s);
          accepted_event ev;
          if (!parse_accepted(r, ev)) {
            stop_reason = "answer " + std::to_string(r.status) + ": " + r.body;
            return;
          }
          std::lock_guard lock(accepted_mutex);
          accepted.push_back(ev.id);
        } catch (const std::exception& e) {
          stop_reason = e.what();  // the server was killed
          return;
        }
      }
      stop_reason = "all events posted before the kill";
    });
    const bool enough = eventually(
        [&] {
          std::lock_guard lock(accepted_mutex);
          return accepted.size() >= 200;
        },
        60s);
    server.kill9();
    crashed = true;
    poster.join();
    ASSERT_TRUE(enough) << "fewer than 200 events accepted in 60 s: " << accepted.size() << "; " << stop_reason;
  }
  ASSERT_GE(accepted.size(), 200u);
  ASSERT_LT(accepted.size(), 5000u) << "the kill did not interrupt the stream: " << stop_reason;
  const std::size_t delivered_before_restart = delivered_ids(rx.requests()).size();
  EXPECT_LT(delivered_before_restart, accepted.size()) << "events were pending at the kill";

  server_process restarted(options);
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, accepted); }, arrival_timeout))
      << [&] {
           const auto got = delivered_ids(rx.requests());
           std::vector<std::string> missing;
           for (const auto& id : accepted)
             if (!got.count(id)) missing.push_back(id);
           return std::to_string(missing.size()) + " of " + std::to_string(accepted.size()) +
                  " accepted events never delivered, e.g. " +
                  ::testing::PrintToString(std::vector<std::string>(
                      missing.begin(), missing.begin() + static_cast<long>(std::min<std::size_t>(missing.size(), 5))));
         }();
  RecordProperty("accepted", static_cast<int>(accepted.size()));
  RecordProperty("delivered_before_restart", static_cast<int>(delivered_before_restart));

  // The restarted server still works.
  accepted_event after;
  ASSERT_TRUE(post_event(restarted, acme.username, event, R"({"after":"restart"})", after));
  EXPECT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, {after.id}); }, arrival_timeout));
  const auto e = restarted.call_as(acme, "DeleteWebHookById", {{"id", std::to_string(hook.id)}});
  EXPECT_TRUE(is_success(e));
}

TEST(CleanRestart, PendingEventsArriveAndDeliveredOnesAreNotSentAgain) {
  temp_dir data;
  auto options = delivery_server_options("100ms,200ms,300ms", {"--delivery-timeout", "2s"});
  options.data_dir = data.str();
  receiver rx_mixed;  // a hook with delivered and pending events
  receiver rx_done;   // a hook whose events were all delivered

  credentials acme;
  webhook mixed, done;
  std::vector<std::string> delivered_mixed, pending_mixed, delivered_done;
  const auto event_mixed = fresh_event();
  const auto event_done = fresh_event();
  std::size_t mixed_split = 0, done_split = 0;
  {
    server_process server(options);
    ASSERT_TRUE(make_account(server, "acme", acme));
    ASSERT_TRUE(create_webhook(server, acme, "mixed", event_mixed, rx_mixed.url("/mixed"), mixed));
    ASSERT_TRUE(create_webhook(server, acme, "done", event_done, rx_done.url("/done"), done));

    for (int i = 1; i <= 3; ++i) {
      accepted_event ev;
      ASSERT_TRUE(post_event(server, acme.username, event_done, "{\"seq\":" + std::to_string(i) + "}", ev));
      delivered_done.push_back(ev.id);
    }
    for (int i = 1; i <= 2; ++i) {
      accepted_event ev;
      ASSERT_TRUE(post_event(server, acme.username, event_mixed, "{\"seq\":" + std::to_string(i) + "}", ev));
      delivered_mixed.push_back(ev.id);
    }
    ASSERT_TRUE(rx_done.wait_until([&](const auto& all) { return all_delivered(all, delivered_done); },
                                   arrival_timeout))
        << describe(rx_done.requests());
    ASSERT_TRUE(rx_mixed.wait_until([&](const auto& all) { return all_delivered(all, delivered_mixed); },
                                    arrival_timeout))
        << describe(rx_mixed.requests());

    // From now on the mixed hook's receiver fails every attempt.
    rx_mixed.set_default_status(503);
    for (int i = 3; i <= 7; ++i) {
      accepted_event ev;
      ASSERT_TRUE(post_event(server, acme.username, event_mixed, "{\"seq\":" + std::to_string(i) + "}", ev));
      pending_mixed.push_back(ev.id);
    }
    ASSERT_TRUE(rx_mixed.wait_until(
        [&](const auto& all) {
          for (const auto& id : pending_mixed)
            if (count_with_webhook_id(all, id) == 0) return false;
          return true;
        },
        arrival_timeout))
        << "each pending event is attempted (and fails) before the restart; " << describe(rx_mixed.requests());

    ASSERT_EQ(server.terminate(), 0) << "SIGTERM: a clean exit";
    mixed_split = rx_mixed.count();
    done_split = rx_done.count();
    ASSERT_TRUE(delivered_ids(rx_mixed.requests()).size() == delivered_mixed.size())
        << "nothing of the pending events succeeded before the restart; " << describe(rx_mixed.requests());
  }

  rx_mixed.set_default_status(200);
  server_process server(options);
  hook_cleanup cleanup(server);
  cleanup.add(acme, mixed.id);
  cleanup.add(acme, done.id);

  accepted_event marker_mixed, marker_done;
  ASSERT_TRUE(post_event(server, acme.username, event_mixed, R"({"marker":"mixed"})", marker_mixed));
  ASSERT_TRUE(post_event(server, acme.username, event_done, R"({"marker":"done"})", marker_done));

  auto expected_mixed = pending_mixed;
  expected_mixed.push_back(marker_mixed.id);
  ASSERT_TRUE(rx_mixed.wait_until([&](const auto& all) { return all_delivered(all, expected_mixed); }, arrival_timeout))
      << "the pending events arrive after the restart; " << describe(rx_mixed.requests());
  ASSERT_TRUE(rx_done.wait_until([&](const auto& all) { return all_delivered(all, {marker_done.id}); },
                                 arrival_timeout))
      << describe(rx_done.requests());

  const auto mixed_all = rx_mixed.requests();
  const std::vector<received_request> mixed_after(mixed_all.begin() + static_cast<long>(mixed_split), mixed_all.end());
  const auto done_all = rx_done.requests();
  const std::vector<received_request> done_after(done_all.begin() + static_cast<long>(done_split), done_all.end());

  for (const auto& id : delivered_mixed)
    EXPECT_EQ(count_with_webhook_id(mixed_after, id), 0u) << "delivered before the restart: " << id << "; "
                                                          << describe(mixed_after);
  for (const auto& [id, n] : webhook_id_counts(mixed_after))
    EXPECT_EQ(n, 1u) << "one request per event after the restart: " << id << "; " << describe(mixed_after);
  EXPECT_EQ(mixed_after.size(), expected_mixed.size()) << describe(mixed_after);

  ASSERT_EQ(done_after.size(), 1u) << "only the marker; nothing delivered is sent again; " << describe(done_after);
  EXPECT_EQ(done_after.front().header("webhook-id"), marker_done.id);

  webhook now;
  ASSERT_TRUE(eventually([&] { return get_webhook(server, acme, mixed.id, now) && now.pending_events == 0; },
                         arrival_timeout))
      << now;
  EXPECT_EQ(now.consecutive_failures, 0) << now;
}

}  // namespace
}  // namespace hookwerk::system_test
