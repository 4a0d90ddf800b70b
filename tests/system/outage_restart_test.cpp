// SPEC §6 across restarts: an inactive hook stays inactive with its buffer, its failure state and
// its notification (whose link keeps working) after SIGTERM + start and after kill -9 + start,
// nothing is attempted for it, and replay after the restart (API or link) delivers the buffer.
#include "system/outage_support.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace hookwerk::system_test {
namespace {

using namespace outage;

const std::string key = "subscriber-3";

enum class stop_mode { sigterm, kill9 };

void inactive_state_survives(stop_mode mode) {
  temp_dir data;
  auto options = outage_server_options();
  options.data_dir = data.str();

  receiver rx_api;   // hook A: reactivated through ActivateWebHook after the restart
  receiver rx_link;  // hook C: reactivated through the notification link after the restart
  receiver healthy;  // hook B: on A's event, active throughout
  rx_api.set_default_status(503);
  rx_link.set_default_status(503);

  credentials who;
  webhook a, b, c, a_before, c_before;
  std::vector<notification> notes_before;
  std::vector<std::string> a_ids;  // event ids for hook A, seq 0, 1, 2
  {
    server_process server(options);
    ASSERT_TRUE(make_account(server, "restart", who));
    ASSERT_TRUE(create_webhook(server, who, "api", "optin_finalized", rx_api.url("/api"), a));
    ASSERT_TRUE(create_webhook(server, who, "healthy", "optin_finalized", healthy.url("/healthy"), b));
    ASSERT_TRUE(create_webhook(server, who, "link", "optout_finalized", rx_link.url("/link"), c));

    accepted_event ev;
    ASSERT_TRUE(post_seq(server, who.username, "optin_finalized", 0, key, 2, ev));
    a_ids.push_back(ev.id);
    ASSERT_TRUE(post_seq(server, who.username, "optout_finalized", 0, key, 1, ev));
    webhook state;
    ASSERT_TRUE(wait_inactive(server, who, a.id, state));
    ASSERT_TRUE(wait_inactive(server, who, c.id, state));
    for (int seq = 1; seq <= 2; ++seq) {
      ASSERT_TRUE(post_seq(server, who.username, "optin_finalized", seq, key, 2, ev));
      a_ids.push_back(ev.id);
    }
    ASSERT_TRUE(post_seq(server, who.username, "optout_finalized", 1, key, 1, ev));
    ASSERT_TRUE(wait_hook(
        server, who, a.id, [](const webhook& h) { return h.buffered_events == 3; }, a_before, "3 buffered events"));
    ASSERT_TRUE(wait_hook(
        server, who, c.id, [](const webhook& h) { return h.buffered_events == 2; }, c_before, "2 buffered events"));
    ASSERT_TRUE(healthy.wait_until([&](const auto& all) { return all_delivered(all, a_ids); }, arrival_timeout))
        << describe(healthy.requests());
    ASSERT_TRUE(get_notifications(server, who, notes_before));
    ASSERT_EQ(notes_before.size(), 2u) << describe(notes_before);

    if (mode == stop_mode::sigterm) {
      ASSERT_EQ(server.terminate(), 0) << "SIGTERM: a clean exit; stderr:\n" << server.stderr_text();
    } else {
      server.kill9();
    }
  }
  ASSERT_EQ(rx_api.count(), static_cast<std::size_t>(failure_threshold)) << describe(rx_api.requests());
  ASSERT_EQ(rx_link.count(), static_cast<std::size_t>(failure_threshold)) << describe(rx_link.requests());

  // From now on the receivers accept: anything attempted for the inactive hooks would show.
  rx_api.set_default_status(200);
  rx_link.set_default_status(200);

  server_process server(options);
  hook_cleanup cleanup(server);
  cleanup.add(who, a.id);
  cleanup.add(who, b.id);
  cleanup.add(who, c.id);

  // An event after the restart: buffered for A, delivered to B (the marker).
  accepted_event marker;
  ASSERT_TRUE(post_seq(server, who.username, "optin_finalized", 3, key, 2, marker))
      << "the inactive hook still buffers after the restart";
  a_ids.push_back(marker.id);
  ASSERT_TRUE(healthy.wait_until([&](const auto& all) { return all_delivered(all, {marker.id}); }, arrival_timeout))
      << describe(healthy.requests());

  webhook a_after, c_after;
  ASSERT_TRUE(wait_hook(
      server, who, a.id, [](const webhook& h) { return h.buffered_events == 4; }, a_after,
      "4 buffered events (3 from before the restart, 1 after)"));
  EXPECT_FALSE(a_after.active) << a_after;
  EXPECT_EQ(a_after.deactivated_at, a_before.deactivated_at) << a_after;
  EXPECT_EQ(a_after.consecutive_failures, a_before.consecutive_failures) << a_after;
  EXPECT_EQ(a_after.last_error, a_before.last_error) << a_after;
  EXPECT_EQ(a_after.pending_events, 0) << a_after;
  ASSERT_TRUE(get_webhook(server, who, c.id, c_after));
  EXPECT_EQ(c_after, c_before) << "hook C is exactly as before the restart";
  EXPECT_EQ(rx_api.count(), static_cast<std::size_t>(failure_threshold))
      << "no attempt for an inactive hook after the restart; " << describe(rx_api.requests());
  EXPECT_EQ(rx_link.count(), static_cast<std::size_t>(failure_threshold))
      << "no attempt for an inactive hook after the restart; " << describe(rx_link.requests());

  std::vector<notification> notes_after;
  ASSERT_TRUE(get_notifications(server, who, notes_after));
  ASSERT_EQ(notes_after.size(), notes_before.size()) << describe(notes_after);
  activate_link link_c;
  for (std::size_t i = 0; i < notes_before.size(); ++i) {
    const auto& before = notes_before[i];
    const auto& after = notes_after[i];
    EXPECT_EQ(after.id, before.id) << describe(notes_after);
    EXPECT_EQ(after.kind, before.kind);
    EXPECT_EQ(after.webhook_id, before.webhook_id);
    EXPECT_EQ(after.created_at, before.created_at);
    EXPECT_EQ(after.reason, before.reason);
    EXPECT_FALSE(after.read) << after;
    activate_link lb, la;
    ASSERT_TRUE(parse_activate_url(before.activate_url.value_or(""), lb));
    ASSERT_TRUE(parse_activate_url(after.activate_url.value_or(""), la));
    EXPECT_EQ(la.path_and_query, lb.path_and_query) << "the same link (path and token) after the restart";
    EXPECT_EQ(la.base, "http://127.0.0.1:" + std::to_string(server.port())) << "the base is the new bound address";
    if (after.webhook_id == c.id) link_c = la;
  }
  ASSERT_EQ(for_webhook(notes_after, c.id).size(), 1u) << describe(notes_after);

  // Replay through the API.
  std::string result;
  ASSERT_TRUE(activate(server, who, a.id, param_value("1"), result));
  EXPECT_TRUE(same_json_object(result, activate_result(a.id, 4, 0)));
  ASSERT_TRUE(rx_api.wait_until([&](const auto& all) { return all_delivered(all, a_ids); }, arrival_timeout))
      << describe(rx_api.requests());
  EXPECT_TRUE(delivered_in_sequence(requests_after(rx_api.requests(), failure_threshold), {0, 1, 2, 3}));

  // Replay through the link kept from before the restart.
  const auto page = server.get(link_c.path_and_query);
  ASSERT_EQ(page.status, 200) << page.body;
  html_form replay;
  bool found = false;
  for (const auto& f : parse_forms(page.body))
    if (form_field(f, "replay") == std::optional<std::string>("1")) {
      replay = f;
      found = true;
    }
  ASSERT_TRUE(found) << page.body;
  EXPECT_EQ(replay.button_text, "Reactivate and deliver 2 buffered events");
  const auto done = submit_form(server, replay);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_NE(visible_text(done.body).find("is active again"), std::string::npos) << done.body;
  ASSERT_TRUE(rx_link.wait_until([](const auto& all) { return delivered_seqs(all).size() >= 2; }, arrival_timeout))
      << describe(rx_link.requests());
  EXPECT_TRUE(delivered_in_sequence(requests_after(rx_link.requests(), failure_threshold), {0, 1}));

  webhook state;
  ASSERT_TRUE(wait_hook(
      server, who, c.id, [](const webhook& h) { return h.active && h.pending_events == 0; }, state,
      "active without pending events"));
  EXPECT_EQ(state.buffered_events, 0) << state;
  ASSERT_TRUE(get_notifications(server, who, notes_after, param_value("1")));
  EXPECT_TRUE(notes_after.empty()) << "both reactivated: nothing unread; " << describe(notes_after);
}

TEST(OutageRestart, InactiveHookBufferAndNotificationSurviveACleanRestart) {
  inactive_state_survives(stop_mode::sigterm);
}

TEST(OutageRestart, InactiveHookBufferAndNotificationSurviveAKill9) { inactive_state_survives(stop_mode::kill9); }

}  // namespace
}  // namespace hookwerk::system_test
