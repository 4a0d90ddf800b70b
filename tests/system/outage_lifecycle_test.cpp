// SPEC §3 ActivateWebHook / GetNotifications, §5 410, §6: a hook whose receiver keeps failing is
// deactivated after --failure-threshold attempts (at once on 410), the account gets exactly one
// notification, nothing is attempted while it is inactive, what arrives meanwhile is buffered, and
// ActivateWebHook replays the buffer in order ahead of newer events, or discards it.
#include "system/outage_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hookwerk::system_test {
namespace {

using namespace outage;

class OutageLifecycle : public shared_server_suite<OutageLifecycle> {
public:
  static server_options options() { return outage_server_options(); }
};

const std::string event = "optin_finalized";
const std::string key = "subscriber-42";

TEST_F(OutageLifecycle, ThresholdFailuresDeactivateOnceWithOneNotificationAndNoAttemptWhileInactive) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "thr", who));
  receiver failing;
  failing.set_default_status(503);
  receiver healthy;
  hook_cleanup cleanup(server());
  webhook hook, marker;
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, failing.url("/down"), hook));
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, healthy.url("/up"), marker));

  const auto before_ms = unix_now_ms();
  accepted_event first;
  ASSERT_TRUE(post_seq(server(), who.username, event, 0, key, 2, first));

  webhook state;
  ASSERT_TRUE(wait_inactive(server(), who, hook.id, state));
  const auto after_ms = unix_now_ms();
  EXPECT_FALSE(state.active);
  ASSERT_TRUE(state.deactivated_at.has_value()) << "an inactive hook has deactivated_at: " << state;
  const auto deactivated_ms = parse_rfc3339_ms(*state.deactivated_at);
  ASSERT_TRUE(deactivated_ms.has_value()) << "deactivated_at is RFC 3339: " << state;
  EXPECT_GE(*deactivated_ms, before_ms - 1000) << state;  // second resolution allowed
  EXPECT_LE(*deactivated_ms, after_ms + 1000) << state;
  EXPECT_EQ(state.consecutive_failures, failure_threshold) << state;
  EXPECT_EQ(state.last_error, std::optional<std::string>("HTTP 503")) << state;
  EXPECT_EQ(state.pending_events, 0) << "the failing event left the queue: " << state;
  EXPECT_EQ(state.buffered_events, 1) << "the failing event moved to the buffer: " << state;

  // Exactly the threshold's attempts reached the receiver, all for the one event.
  {
    const auto all = failing.requests();
    ASSERT_EQ(all.size(), static_cast<std::size_t>(failure_threshold)) << describe(all);
    for (std::size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].header("webhook-id"), first.id) << describe(all);
      EXPECT_EQ(all[i].header("X-Hookwerk-Attempt"), std::to_string(i + 1)) << describe(all);
    }
  }

  const std::string log_line = "webhook " + std::to_string(hook.id) + " deactivated";
  EXPECT_TRUE(eventually([&] { return server().stderr_text().find(log_line) != std::string::npos; }, 10s))
      << "stderr has a line containing \"" << log_line << "\"; stderr:\n" << server().stderr_text();

  std::vector<notification> notes;
  ASSERT_TRUE(get_notifications(server(), who, notes));
  ASSERT_EQ(notes.size(), 1u) << "exactly one notification for one deactivation; " << describe(notes);
  const auto note = notes.front();
  EXPECT_EQ(note.kind, "webhook_deactivated") << note;
  EXPECT_EQ(note.webhook_id, hook.id) << note;
  EXPECT_EQ(note.reason, "HTTP 503") << "the reason is the last error; " << note;
  EXPECT_FALSE(note.read) << note;
  const auto created_ms = parse_rfc3339_ms(note.created_at);
  ASSERT_TRUE(created_ms.has_value());
  EXPECT_GE(*created_ms, before_ms - 1000) << note;
  EXPECT_LE(*created_ms, unix_now_ms() + 1000) << note;
  ASSERT_TRUE(note.activate_url.has_value()) << note;
  activate_link link;
  ASSERT_TRUE(parse_activate_url(*note.activate_url, link));
  EXPECT_EQ(link.base, "http://127.0.0.1:" + std::to_string(server().port()))
      << "without --public-url the links point at the bound address";
  EXPECT_EQ(link.notification_id, note.id);
  EXPECT_GE(link.token.size(), 22u) << "a token of at least 128 bits: " << link.token;

  // The link works: it answers the activation page of this hook.
  const auto page = server().get(link.path_and_query);
  EXPECT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.header("Content-Type").value_or("").rfind("text/html", 0), 0u)
      << "Content-Type: " << page.header("Content-Type").value_or("(none)");
  EXPECT_NE(visible_text(page.body).find(std::to_string(hook.id)), std::string::npos) << page.body;

  // While inactive: events are buffered (the 202 counts the hook), and none reaches the receiver.
  accepted_event second, third;
  ASSERT_TRUE(post_seq(server(), who.username, event, 1, key, 2, second));
  ASSERT_TRUE(post_seq(server(), who.username, event, 2, key, 2, third));
  ASSERT_TRUE(healthy.wait_until([&](const auto& all) { return all_delivered(all, {first.id, second.id, third.id}); },
                                 arrival_timeout))
      << "the healthy hook on the same event gets all three; " << describe(healthy.requests());
  ASSERT_TRUE(wait_hook(
      server(), who, hook.id, [](const webhook& h) { return h.buffered_events == 3; }, state, "3 buffered events"));
  EXPECT_FALSE(state.active) << state;
  EXPECT_EQ(state.pending_events, 0) << state;
  EXPECT_EQ(failing.count(), static_cast<std::size_t>(failure_threshold))
      << "no attempt while inactive; " << describe(failing.requests());
  std::vector<attempt_record> attempts;
  ASSERT_TRUE(get_attempts(server(), who, hook.id, attempts));
  EXPECT_EQ(attempts.size(), static_cast<std::size_t>(failure_threshold))
      << "the attempt log has only the attempts before the deactivation";
  const auto buffered = metric_sum(server(), "hookwerk_buffered_events");
  ASSERT_TRUE(buffered.has_value()) << "hookwerk_buffered_events is exported";
  EXPECT_GE(*buffered, 3.0) << "hookwerk_buffered_events includes this hook's buffer";

  ASSERT_TRUE(get_notifications(server(), who, notes));
  EXPECT_EQ(notes.size(), 1u) << "still exactly one notification; " << describe(notes);
  EXPECT_EQ(failing.count(), static_cast<std::size_t>(failure_threshold)) << describe(failing.requests());
  EXPECT_TRUE(nothing_was_stuck(server()));
}

TEST_F(OutageLifecycle, ReplayDeliversTheBufferOldestFirstInKeyOrderBeforeANewerEvent) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "replay", who));
  receiver rx;
  rx.set_default_status(503);
  hook_cleanup cleanup(server());
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, rx.url("/replay"), hook));

  accepted_event ev;
  ASSERT_TRUE(post_seq(server(), who.username, event, 0, key, 1, ev));
  webhook state;
  ASSERT_TRUE(wait_inactive(server(), who, hook.id, state));
  for (int seq = 1; seq <= 5; ++seq)
    ASSERT_TRUE(post_seq(server(), who.username, event, seq, key, 1, ev)) << "posted while inactive";
  ASSERT_TRUE(wait_hook(
      server(), who, hook.id, [](const webhook& h) { return h.buffered_events == 6; }, state,
      "6 buffered events (5 posted while inactive plus the one that failed)"));
  EXPECT_EQ(state.pending_events, 0) << state;
  EXPECT_FALSE(state.active) << state;

  const std::size_t before_activation = rx.count();
  {
    const auto all = rx.requests();
    EXPECT_EQ(all.size(), static_cast<std::size_t>(failure_threshold)) << describe(all);
    for (const auto& r : all) EXPECT_EQ(payload_seq(r), 0) << "only the first event was attempted; " << describe(all);
  }

  rx.set_default_status(200);
  std::string result;
  ASSERT_TRUE(activate(server(), who, hook.id, param_value("1"), result));
  EXPECT_TRUE(same_json_object(result, activate_result(hook.id, 6, 0)));
  accepted_event newer;
  ASSERT_TRUE(post_seq(server(), who.username, event, 6, key, 1, newer)) << "posted right after the activation";

  ASSERT_TRUE(rx.wait_until([](const auto& all) { return delivered_seqs(all).size() >= 7; }, arrival_timeout))
      << describe(rx.requests());
  const auto after = requests_after(rx.requests(), before_activation);
  EXPECT_TRUE(delivered_in_sequence(after, {0, 1, 2, 3, 4, 5, 6}));

  ASSERT_TRUE(wait_hook(
      server(), who, hook.id, [](const webhook& h) { return h.pending_events == 0; }, state, "without pending events"));
  EXPECT_TRUE(state.active) << state;
  EXPECT_FALSE(state.deactivated_at.has_value()) << state;
  EXPECT_EQ(state.consecutive_failures, 0) << state;
  EXPECT_EQ(state.buffered_events, 0) << state;

  std::vector<notification> notes;
  ASSERT_TRUE(get_notifications(server(), who, notes));
  ASSERT_EQ(notes.size(), 1u) << describe(notes);
  EXPECT_TRUE(notes.front().read) << "read once the hook is reactivated; " << notes.front();
  ASSERT_TRUE(get_notifications(server(), who, notes, param_value("1")));
  EXPECT_TRUE(notes.empty()) << "unreadOnly=1 hides read notifications; " << describe(notes);
  EXPECT_TRUE(nothing_was_stuck(server()));
}

// An event answered 202 while the hook is inactive is in the buffer: ActivateWebHook with replay
// right after the 202 must replay it too. Repeated, because a lost event would depend on timing.
TEST_F(OutageLifecycle, AnEventBufferedJustBeforeTheReplayIsReplayed) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "race", who));
  std::atomic<bool> failing{true};
  receiver rx;
  rx.set_responder([&failing](const received_request&) -> std::optional<reply> {
    return reply::status_only(failing.load() ? 503 : 200);
  });
  hook_cleanup cleanup(server());
  webhook hook, state;
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, rx.url("/race"), hook));

  constexpr int rounds = 12;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round + 1) + " of " + std::to_string(rounds));
    failing = true;
    accepted_event failed, buffered;
    ASSERT_TRUE(post_seq(server(), who.username, event, 2 * round, key, 1, failed));
    ASSERT_TRUE(wait_inactive(server(), who, hook.id, state));
    ASSERT_TRUE(post_seq(server(), who.username, event, 2 * round + 1, key, 1, buffered)) << "posted while inactive";
    std::string result;
    ASSERT_TRUE(activate(server(), who, hook.id, param_value("1"), result));
    failing = false;
    const bool both = rx.wait_until([&](const auto& all) { return all_delivered(all, {failed.id, buffered.id}); },
                                    arrival_timeout);
    ASSERT_TRUE(same_json_object(result, activate_result(hook.id, 2, 0)))
        << "the event answered 202 just before the activation: " << buffered.id << " was "
        << (both ? "delivered anyway" : "never delivered") << "; " << describe(rx.requests());
    ASSERT_TRUE(both) << describe(rx.requests());
    ASSERT_TRUE(wait_hook(
        server(), who, hook.id, [](const webhook& h) { return h.pending_events == 0; }, state,
        "without pending events"));
  }
}

TEST_F(OutageLifecycle, ReplayOfKeylessEventsDeliversEachBufferedEventOnce) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "keyless", who));
  receiver rx;
  rx.set_default_status(503);
  hook_cleanup cleanup(server());
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, rx.url("/keyless"), hook));

  std::vector<std::string> ids;
  accepted_event ev;
  ASSERT_TRUE(post_seq(server(), who.username, event, 0, std::nullopt, 1, ev));
  ids.push_back(ev.id);
  webhook state;
  ASSERT_TRUE(wait_inactive(server(), who, hook.id, state));
  for (int seq = 1; seq <= 4; ++seq) {
    ASSERT_TRUE(post_seq(server(), who.username, event, seq, std::nullopt, 1, ev));
    ids.push_back(ev.id);
  }
  ASSERT_TRUE(wait_hook(
      server(), who, hook.id, [](const webhook& h) { return h.buffered_events == 5; }, state, "5 buffered events"));
  const std::size_t before_activation = rx.count();

  rx.set_default_status(200);
  std::string result;
  ASSERT_TRUE(activate(server(), who, hook.id, param_value::raw("true"), result));
  EXPECT_TRUE(same_json_object(result, activate_result(hook.id, 5, 0)));
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, ids); }, arrival_timeout))
      << describe(rx.requests());
  ASSERT_TRUE(wait_hook(
      server(), who, hook.id, [](const webhook& h) { return h.pending_events == 0; }, state, "without pending events"));
  const auto after = requests_after(rx.requests(), before_activation);
  EXPECT_EQ(after.size(), ids.size()) << "one request per buffered event; " << describe(after);
  for (const auto& [id, n] : webhook_id_counts(after)) EXPECT_EQ(n, 1u) << id << "; " << describe(after);
}

TEST_F(OutageLifecycle, WithoutReplayTheBufferIsDiscardedAndNeverDeliveredWhileNewEventsAre) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "discard", who));
  receiver rx;
  rx.set_default_status(503);
  hook_cleanup cleanup(server());
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, rx.url("/discard"), hook));

  accepted_event ev;
  std::vector<std::string> discarded_ids;
  ASSERT_TRUE(post_seq(server(), who.username, event, 0, key, 1, ev));
  discarded_ids.push_back(ev.id);
  webhook state;
  ASSERT_TRUE(wait_inactive(server(), who, hook.id, state));
  for (int seq = 1; seq <= 3; ++seq) {
    ASSERT_TRUE(post_seq(server(), who.username, event, seq, key, 1, ev));
    discarded_ids.push_back(ev.id);
  }
  ASSERT_TRUE(wait_hook(
      server(), who, hook.id, [](const webhook& h) { return h.buffered_events == 4; }, state, "4 buffered events"));
  const std::size_t before_activation = rx.count();

  rx.set_default_status(200);
  std::string result;
  ASSERT_TRUE(activate(server(), who, hook.id, std::nullopt, result));
  EXPECT_TRUE(same_json_object(result, activate_result(hook.id, 0, 4)));
  ASSERT_TRUE(get_webhook(server(), who, hook.id, state));
  EXPECT_TRUE(state.active) << state;
  EXPECT_EQ(state.buffered_events, 0) << state;
  EXPECT_EQ(state.consecutive_failures, 0) << state;
  EXPECT_FALSE(state.deactivated_at.has_value()) << state;

  // A new event with the same key: had the discarded events been queued, they would come first.
  accepted_event fresh, fresher;
  ASSERT_TRUE(post_seq(server(), who.username, event, 4, key, 1, fresh));
  ASSERT_TRUE(post_seq(server(), who.username, event, 5, key, 1, fresher));
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, {fresh.id, fresher.id}); },
                            arrival_timeout))
      << describe(rx.requests());
  ASSERT_TRUE(wait_hook(
      server(), who, hook.id, [](const webhook& h) { return h.pending_events == 0; }, state, "without pending events"));
  EXPECT_EQ(state.buffered_events, 0) << state;
  const auto after = requests_after(rx.requests(), before_activation);
  EXPECT_TRUE(delivered_in_sequence(after, {4, 5}));
  for (const auto& id : discarded_ids)
    EXPECT_EQ(count_with_webhook_id(rx.requests(), id), static_cast<std::size_t>(id == discarded_ids.front() ? 3 : 0))
        << "a discarded event is never delivered: " << id << "; " << describe(rx.requests());
  EXPECT_TRUE(nothing_was_stuck(server()));
}

TEST_F(OutageLifecycle, A410DeactivatesAfterOneAttempt) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "gone", who));
  receiver gone;
  gone.set_default_status(410);
  receiver healthy;
  hook_cleanup cleanup(server());
  webhook hook, marker;
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, gone.url("/gone"), hook));
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, healthy.url("/up"), marker));

  accepted_event first;
  ASSERT_TRUE(post_seq(server(), who.username, event, 0, key, 2, first));
  webhook state;
  ASSERT_TRUE(wait_inactive(server(), who, hook.id, state));
  EXPECT_EQ(state.consecutive_failures, 1) << state;
  EXPECT_EQ(state.last_error, std::optional<std::string>("HTTP 410")) << state;
  ASSERT_TRUE(state.deactivated_at.has_value()) << state;
  EXPECT_TRUE(parse_rfc3339_ms(*state.deactivated_at).has_value()) << state;
  EXPECT_EQ(state.buffered_events, 1) << "the event that got the 410 is buffered; " << state;
  EXPECT_EQ(state.pending_events, 0) << state;

  std::vector<notification> notes;
  ASSERT_TRUE(get_notifications(server(), who, notes));
  ASSERT_EQ(notes.size(), 1u) << describe(notes);
  EXPECT_EQ(notes.front().webhook_id, hook.id);
  EXPECT_EQ(notes.front().kind, "webhook_deactivated");
  EXPECT_EQ(notes.front().reason, state.last_error.value_or("")) << notes.front();
  EXPECT_TRUE(eventually(
      [&] {
        return server().stderr_text().find("webhook " + std::to_string(hook.id) + " deactivated") != std::string::npos;
      },
      10s))
      << server().stderr_text();

  // A later event reaches the healthy hook; the gone one is not tried again.
  accepted_event later;
  ASSERT_TRUE(post_seq(server(), who.username, event, 1, key, 2, later));
  ASSERT_TRUE(healthy.wait_until([&](const auto& all) { return all_delivered(all, {first.id, later.id}); },
                                 arrival_timeout))
      << describe(healthy.requests());
  ASSERT_TRUE(wait_hook(
      server(), who, hook.id, [](const webhook& h) { return h.buffered_events == 2; }, state, "2 buffered events"));
  EXPECT_EQ(gone.count(), 1u) << "one attempt, then inactive; " << describe(gone.requests());

  // The receiver subscribes again: replay delivers both, in order.
  gone.set_default_status(200);
  std::string result;
  ASSERT_TRUE(activate(server(), who, hook.id, param_value("true"), result));
  EXPECT_TRUE(same_json_object(result, activate_result(hook.id, 2, 0)));
  ASSERT_TRUE(gone.wait_until([&](const auto& all) { return all_delivered(all, {first.id, later.id}); },
                              arrival_timeout))
      << describe(gone.requests());
  EXPECT_TRUE(delivered_in_sequence(requests_after(gone.requests(), 1), {0, 1}));
}

TEST_F(OutageLifecycle, NotificationsAreNewestFirstPerAccountAndMarkedReadOnReactivation) {
  credentials who, other;
  ASSERT_TRUE(make_account(server(), "notes", who));
  ASSERT_TRUE(make_account(server(), "notes-other", other));
  receiver rx1, rx2;
  rx1.set_default_status(503);
  rx2.set_default_status(503);
  hook_cleanup cleanup(server());
  webhook hook1, hook2, state;
  ASSERT_TRUE(add_hook(server(), cleanup, who, "optin_finalized", rx1.url("/one"), hook1));
  ASSERT_TRUE(add_hook(server(), cleanup, who, "optout_finalized", rx2.url("/two"), hook2));

  accepted_event ev;
  ASSERT_TRUE(post_seq(server(), who.username, "optin_finalized", 0, key, 1, ev));
  ASSERT_TRUE(wait_inactive(server(), who, hook1.id, state));
  ASSERT_TRUE(post_seq(server(), who.username, "optout_finalized", 0, key, 1, ev));
  ASSERT_TRUE(wait_inactive(server(), who, hook2.id, state));

  std::vector<notification> notes;
  ASSERT_TRUE(get_notifications(server(), who, notes));
  ASSERT_EQ(notes.size(), 2u) << describe(notes);
  EXPECT_EQ(notes[0].webhook_id, hook2.id) << "newest first; " << describe(notes);
  EXPECT_EQ(notes[1].webhook_id, hook1.id) << "newest first; " << describe(notes);
  EXPECT_NE(notes[0].id, notes[1].id);
  EXPECT_GE(parse_rfc3339_ms(notes[0].created_at).value_or(0), parse_rfc3339_ms(notes[1].created_at).value_or(0))
      << describe(notes);
  for (const auto& n : notes) {
    EXPECT_FALSE(n.read) << n;
    EXPECT_TRUE(n.activate_url.has_value()) << n;
  }
  const auto note1 = notes[1], note2 = notes[0];
  activate_link link1, link2;
  ASSERT_TRUE(parse_activate_url(note1.activate_url.value_or(""), link1));
  ASSERT_TRUE(parse_activate_url(note2.activate_url.value_or(""), link2));
  EXPECT_NE(link1.token, link2.token) << "every notification has its own token";

  // unreadOnly: every accepted spelling of true and false.
  for (const auto& yes : {param_value("1"), param_value("true")}) {
    ASSERT_TRUE(get_notifications(server(), who, notes, yes));
    EXPECT_EQ(notes.size(), 2u) << "unreadOnly=" << yes.text << "; " << describe(notes);
  }
  {
    const auto e = server().call_as(who, "GetNotifications", {{"unreadOnly", param_value::raw("true")}}, encoding::json);
    ASSERT_TRUE(is_success(e));
    ASSERT_TRUE(parse_notifications(e.result, notes));
    EXPECT_EQ(notes.size(), 2u) << "JSON unreadOnly:true; " << describe(notes);
  }
  for (const auto& bad : {"yes", "2", "-1", "truee"}) {
    const auto e = server().call_as(who, "GetNotifications", {{"unreadOnly", bad}});
    EXPECT_TRUE(is_error(e, 3, "invalid parameter: unreadOnly")) << "unreadOnly=" << bad;
  }
  EXPECT_TRUE(is_error(server().call("GetNotifications", {{"username", who.username}, {"password", "wrong"}}), 1,
                       "login failed"));

  // Another account sees none of them.
  ASSERT_TRUE(get_notifications(server(), other, notes));
  EXPECT_TRUE(notes.empty()) << describe(notes);
  ASSERT_TRUE(get_notifications(server(), other, notes, param_value("0")));
  EXPECT_TRUE(notes.empty()) << describe(notes);

  // Reactivating hook 1 through the API marks its notification read.
  std::string result;
  ASSERT_TRUE(activate(server(), who, hook1.id, param_value("0"), result));
  EXPECT_TRUE(same_json_object(result, activate_result(hook1.id, 0, 1)));
  ASSERT_TRUE(get_notifications(server(), who, notes));
  ASSERT_EQ(notes.size(), 2u) << describe(notes);
  EXPECT_EQ(notes[0].id, note2.id) << describe(notes);
  EXPECT_FALSE(notes[0].read) << notes[0];
  EXPECT_EQ(notes[1].id, note1.id) << describe(notes);
  EXPECT_TRUE(notes[1].read) << notes[1];
  for (const auto& yes : {param_value("1"), param_value("true")}) {
    ASSERT_TRUE(get_notifications(server(), who, notes, yes));
    ASSERT_EQ(notes.size(), 1u) << "unreadOnly=" << yes.text << " hides the read one; " << describe(notes);
    EXPECT_EQ(notes[0].id, note2.id) << describe(notes);
  }
  for (const auto& no : {param_value("0"), param_value("false")}) {
    ASSERT_TRUE(get_notifications(server(), who, notes, no));
    EXPECT_EQ(notes.size(), 2u) << "unreadOnly=" << no.text << "; " << describe(notes);
  }

  // ActivateWebHook on an active hook is a no-op with error 0 and adds no notification.
  ASSERT_TRUE(activate(server(), who, hook1.id, param_value("1"), result));

  // Hook 1 fails again: a second deactivation is a second notification, listed first.
  ASSERT_TRUE(post_seq(server(), who.username, "optin_finalized", 1, key, 1, ev));
  ASSERT_TRUE(wait_inactive(server(), who, hook1.id, state));
  ASSERT_TRUE(get_notifications(server(), who, notes));
  ASSERT_EQ(notes.size(), 3u) << "one notification per deactivation; " << describe(notes);
  EXPECT_EQ(notes[0].webhook_id, hook1.id) << describe(notes);
  EXPECT_FALSE(notes[0].read) << notes[0];
  EXPECT_NE(notes[0].id, note1.id) << describe(notes);
  EXPECT_EQ(notes[1].id, note2.id) << describe(notes);
  EXPECT_EQ(notes[2].id, note1.id) << describe(notes);
  EXPECT_EQ(for_webhook(notes, hook1.id).size(), 2u) << describe(notes);
  ASSERT_TRUE(get_notifications(server(), who, notes, param_value("1")));
  EXPECT_EQ(notes.size(), 2u) << describe(notes);
}

}  // namespace
}  // namespace hookwerk::system_test
