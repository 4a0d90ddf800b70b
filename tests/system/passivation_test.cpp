// Hook actors are started when a hook has work and stopped after --passivate-after without any
// (docs/decisions.md): what a customer sees must not change with that — deliveries, failure
// counts, attempt logs, activation and deletion work on a passive hook as on a running one.
#include "system/delivery_support.hpp"
#include "system/harness.hpp"
#include "system/outage_support.hpp"
#include "system/receiver.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace hookwerk::system_test {
namespace {

using outage::metric_sum;

constexpr auto arrival_timeout = 30s;

class Passivation : public two_account_suite<Passivation> {
public:
  static server_options options() {
    return delivery_server_options("100ms", {"--passivate-after", "300ms", "--failure-threshold", "1"});
  }

  // Polls /metrics until no hook actor runs.
  static ::testing::AssertionResult all_passive() {
    std::optional<double> actors;
    if (eventually(
            [&] {
              actors = metric_sum(server(), "hookwerk_hook_actors");
              return actors && *actors == 0;
            },
            arrival_timeout))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "hookwerk_hook_actors is still "
                                         << (actors ? std::to_string(*actors) : "missing");
  }
};

TEST_F(Passivation, AHookDeliversFailsAndIsReactivatedAcrossPassivations) {
  receiver rx;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url(), hook));
  ASSERT_TRUE(all_passive()) << "a new hook has no actor until it has work";

  // Delivered by an actor started for it, which then goes passive again.
  accepted_event first;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"seq":1})", first));
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, {first.id}); }, arrival_timeout));
  ASSERT_TRUE(all_passive());

  // A 410 deactivates at once (threshold 1); the next event is buffered by a fresh actor.
  rx.enqueue_statuses({410});
  accepted_event gone;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"seq":2})", gone));
  webhook inactive;
  ASSERT_TRUE(outage::wait_inactive(server(), acme, hook.id, inactive));
  EXPECT_EQ(inactive.last_error, std::optional<std::string>("HTTP 410"));
  accepted_event buffered;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"seq":3})", buffered));
  webhook state;
  ASSERT_TRUE(outage::wait_hook(
      server(), acme, hook.id, [](const webhook& w) { return w.buffered_events == 2; }, state,
      "two buffered events"));

  // Reactivation with replay delivers the buffer; then the idle hook goes passive and
  // GetWebHooks shows, from the database, exactly what the actor had.
  std::string result;
  ASSERT_TRUE(outage::activate(server(), acme, hook.id, param_value::raw("true"), result));
  EXPECT_EQ(result, outage::activate_result(hook.id, 2, 0));
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, {gone.id, buffered.id}); },
                            arrival_timeout))
      << describe(rx.requests());
  ASSERT_TRUE(all_passive());
  webhook passive;
  ASSERT_TRUE(get_webhook(server(), acme, hook.id, passive));
  EXPECT_TRUE(passive.active);
  EXPECT_EQ(passive.consecutive_failures, 0);
  EXPECT_EQ(passive.last_error, std::optional<std::string>("HTTP 410"));
  EXPECT_EQ(passive.pending_events, 0);
  EXPECT_EQ(passive.buffered_events, 0);
  EXPECT_EQ(passive.url, hook.url);
  EXPECT_EQ(passive.secret, hook.secret);

  // The attempt log survives passivation: 1 (200), then the 410, then the two replays.
  std::vector<attempt_record> attempts;
  ASSERT_TRUE(get_attempts(server(), acme, hook.id, attempts));
  ASSERT_EQ(attempts.size(), 4u);
  EXPECT_EQ(attempts[3].event_id, first.id);
  EXPECT_EQ(attempts[2].event_id, gone.id);
  EXPECT_EQ(attempts[2].http_status, std::optional<std::int64_t>(410));
  // The replays run side by side (no ordering key), so their records come in either order.
  EXPECT_EQ((std::set<std::string>{attempts[0].event_id, attempts[1].event_id}),
            (std::set<std::string>{gone.id, buffered.id}));

  // Deleting a passive hook removes it; an event for its event name reaches no hook.
  ASSERT_TRUE(all_passive());
  const auto deleted = server().call_as(acme, "DeleteWebHookById", {{"id", std::to_string(hook.id)}});
  ASSERT_TRUE(is_success(deleted));
  std::vector<webhook> left;
  ASSERT_TRUE(list_webhooks(server(), acme, left, {}));
  for (const auto& w : left) EXPECT_NE(w.id, hook.id);
  accepted_event after;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"seq":4})", after));
  EXPECT_EQ(after.webhooks, 0);
}

}  // namespace
}  // namespace hookwerk::system_test
