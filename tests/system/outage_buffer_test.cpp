// SPEC §6 buffer bounds: --buffer-limit caps the buffer (later events are dropped, the oldest are
// kept and replayed), --buffer-retention ends buffering (later events are neither buffered nor
// queued, nor ever delivered); §1 --public-url is the base of the notification links.
#include "system/outage_support.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace hookwerk::system_test {
namespace {

using namespace outage;

const std::string event = "optin_finalized";
const std::string key = "subscriber-9";
const std::string public_url = "https://hooks.example.test";

// A server with --buffer-limit 3 and --public-url.
class OutageBufferLimit : public shared_server_suite<OutageBufferLimit> {
public:
  static server_options options() {
    return outage_server_options({"--buffer-limit", "3", "--public-url", public_url});
  }
};

// A server with --buffer-retention 1s.
class OutageBufferRetention : public shared_server_suite<OutageBufferRetention> {
public:
  static server_options options() { return outage_server_options({"--buffer-retention", "1s"}); }
};

TEST_F(OutageBufferLimit, BeyondTheLimitEventsAreDroppedAndExactlyTheLimitIsReplayed) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "limit", who));
  receiver rx;
  rx.set_default_status(503);
  hook_cleanup cleanup(server());
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, rx.url("/limit"), hook));

  accepted_event ev;
  ASSERT_TRUE(post_seq(server(), who.username, event, 0, key, 1, ev));
  webhook state;
  ASSERT_TRUE(wait_inactive(server(), who, hook.id, state));
  EXPECT_EQ(state.buffered_events, 1) << state;
  // Five more while inactive: two fit, three are beyond the limit.
  for (int seq = 1; seq <= 5; ++seq) {
    ASSERT_TRUE(post_event(server(), who.username, event, "{\"seq\":" + std::to_string(seq) + "}", ev, std::nullopt,
                           key));
  }
  // At no moment may the count exceed the limit.
  ASSERT_TRUE(get_webhook(server(), who, hook.id, state));
  EXPECT_LE(state.buffered_events, 3) << state;
  ASSERT_TRUE(wait_hook(
      server(), who, hook.id, [](const webhook& h) { return h.buffered_events == 3; }, state, "3 buffered events"));
  EXPECT_EQ(state.pending_events, 0) << state;
  const auto buffered = metric_sum(server(), "hookwerk_buffered_events");
  ASSERT_TRUE(buffered.has_value()) << "hookwerk_buffered_events is exported";
  EXPECT_EQ(*buffered, 3.0) << "hookwerk_buffered_events (the only buffer on this server)";
  const std::size_t before_activation = rx.count();
  EXPECT_EQ(before_activation, static_cast<std::size_t>(failure_threshold)) << describe(rx.requests());

  rx.set_default_status(200);
  std::string result;
  ASSERT_TRUE(activate(server(), who, hook.id, param_value("1"), result));
  EXPECT_TRUE(same_json_object(result, activate_result(hook.id, 3, 0)));
  accepted_event newer;
  ASSERT_TRUE(post_seq(server(), who.username, event, 6, key, 1, newer));
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, {newer.id}); }, arrival_timeout))
      << describe(rx.requests());
  ASSERT_TRUE(wait_hook(
      server(), who, hook.id, [](const webhook& h) { return h.pending_events == 0; }, state, "without pending events"));
  const auto after = requests_after(rx.requests(), before_activation);
  EXPECT_TRUE(delivered_in_sequence(after, {0, 1, 2, 6}))
      << "the three oldest are replayed; the ones beyond the limit were dropped";
  EXPECT_EQ(after.size(), 4u) << describe(after);
  EXPECT_TRUE(nothing_was_stuck(server()));
}

TEST_F(OutageBufferLimit, NotificationLinksUseThePublicUrl) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "public", who));
  receiver rx;
  rx.set_default_status(503);
  hook_cleanup cleanup(server());
  webhook hook, state;
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, rx.url("/public"), hook));
  accepted_event ev;
  ASSERT_TRUE(post_seq(server(), who.username, event, 0, key, 1, ev));
  ASSERT_TRUE(wait_inactive(server(), who, hook.id, state));

  std::vector<notification> notes;
  ASSERT_TRUE(get_notifications(server(), who, notes));
  ASSERT_EQ(notes.size(), 1u) << describe(notes);
  ASSERT_TRUE(notes[0].activate_url.has_value()) << notes[0];
  activate_link link;
  ASSERT_TRUE(parse_activate_url(*notes[0].activate_url, link));
  EXPECT_EQ(link.base, public_url) << *notes[0].activate_url;
  EXPECT_EQ(link.notification_id, notes[0].id);
  // The path of the public link is served by this server.
  const auto page = server().get(link.path_and_query);
  EXPECT_EQ(page.status, 200) << page.body;
  EXPECT_NE(visible_text(page.body).find(std::to_string(hook.id)), std::string::npos) << page.body;
}

TEST_F(OutageBufferRetention, AnEventPostedAfterTheRetentionIsDroppedAndNeverReplayed) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "retention", who));
  receiver rx;
  rx.set_default_status(503);
  receiver healthy;
  hook_cleanup cleanup(server());
  webhook hook, marker, state;
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, rx.url("/retention"), hook));
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, healthy.url("/healthy"), marker));

  accepted_event first;
  ASSERT_TRUE(post_seq(server(), who.username, event, 0, key, 2, first));
  ASSERT_TRUE(wait_inactive(server(), who, hook.id, state));
  EXPECT_EQ(state.buffered_events, 1) << state;
  // The retention is a span of time to let pass: the deactivation happened before it was seen,
  // so 1.5 s after seeing it is more than 1 s after deactivated_at.
  std::this_thread::sleep_for(1500ms);

  accepted_event late;
  ASSERT_TRUE(post_seq(server(), who.username, event, 1, key, 1, late))
      << "after the retention the inactive hook is not counted in `webhooks`";
  ASSERT_TRUE(healthy.wait_until([&](const auto& all) { return all_delivered(all, {first.id, late.id}); },
                                 arrival_timeout))
      << describe(healthy.requests());
  ASSERT_TRUE(get_webhook(server(), who, hook.id, state));
  EXPECT_FALSE(state.active) << state;
  EXPECT_EQ(state.buffered_events, 1) << "the late event is not buffered; " << state;
  EXPECT_EQ(state.pending_events, 0) << state;
  const std::size_t before_activation = rx.count();
  EXPECT_EQ(before_activation, static_cast<std::size_t>(failure_threshold)) << describe(rx.requests());

  rx.set_default_status(200);
  std::string result;
  ASSERT_TRUE(activate(server(), who, hook.id, param_value("1"), result));
  EXPECT_TRUE(same_json_object(result, activate_result(hook.id, 1, 0)));
  accepted_event newer;
  ASSERT_TRUE(post_seq(server(), who.username, event, 2, key, 2, newer));
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, {newer.id}); }, arrival_timeout))
      << describe(rx.requests());
  ASSERT_TRUE(wait_hook(
      server(), who, hook.id, [](const webhook& h) { return h.pending_events == 0; }, state, "without pending events"));
  const auto after = requests_after(rx.requests(), before_activation);
  EXPECT_TRUE(delivered_in_sequence(after, {0, 2})) << "the late event is never delivered";
  EXPECT_EQ(count_with_webhook_id(rx.requests(), late.id), 0u) << describe(rx.requests());
}

}  // namespace
}  // namespace hookwerk::system_test
