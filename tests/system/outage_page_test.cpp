// SPEC §6 notification link: GET /notifications/<id>/activate?token=… answers an HTML page about
// the hook with two forms; submitting one (as a browser does) reactivates the hook with or without
// replay. The token works once; a wrong one gets 404 and changes nothing.
#include "system/outage_support.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace hookwerk::system_test {
namespace {

using namespace outage;

const std::string event = "optin_finalized";
const std::string key = "subscriber-7";

class OutagePage : public shared_server_suite<OutagePage> {
public:
  static server_options options() { return outage_server_options(); }

protected:
  // Creates a hook (with this app, on `on_event`) pointing at `rx` (answering 503), posts event 0
  // with `key`, waits until the hook is inactive, posts events 1 … extra while inactive, and
  // returns the hook's notification and its link.
  static ::testing::AssertionResult deactivated_hook(const credentials& who, hook_cleanup& cleanup, receiver& rx,
                                                     std::string_view app, std::string_view path, int extra,
                                                     webhook& hook, notification& note, activate_link& link,
                                                     const std::string& on_event = event) {
    rx.set_default_status(503);
    if (auto r = create_webhook(server(), who, app, on_event, rx.url(path), hook); !r) return r;
    cleanup.add(who, hook.id);
    accepted_event ev;
    for (int seq = 0; seq <= extra; ++seq) {
      if (auto r = post_seq(server(), who.username, on_event, seq, key, 1, ev); !r) return r;
      if (seq == 0) {
        webhook state;
        if (auto r = wait_inactive(server(), who, hook.id, state); !r) return r;
      }
    }
    webhook state;
    const auto expected = extra + 1;
    if (auto r = wait_hook(
            server(), who, hook.id, [&](const webhook& h) { return h.buffered_events == expected; }, state,
            std::to_string(expected) + " buffered events");
        !r)
      return r;
    std::vector<notification> notes;
    if (auto r = get_notifications(server(), who, notes); !r) return r;
    const auto mine = for_webhook(notes, hook.id);
    if (mine.size() != 1)
      return ::testing::AssertionFailure() << "expected one notification for hook " << hook.id << "; "
                                           << describe(notes);
    note = mine.front();
    if (!note.activate_url) return ::testing::AssertionFailure() << "no activate_url: " << note;
    return parse_activate_url(*note.activate_url, link);
  }

  // The form of the page whose hidden `replay` field has this value.
  static ::testing::AssertionResult form_with_replay(const std::vector<html_form>& forms, std::string_view replay,
                                                    html_form& out) {
    for (const auto& f : forms)
      if (form_field(f, "replay") == std::optional<std::string>(std::string(replay))) {
        out = f;
        return ::testing::AssertionSuccess();
      }
    return ::testing::AssertionFailure() << "no form with replay=" << replay << " among " << forms.size() << " form(s)";
  }
};

bool is_html(const http_response& r) { return r.header("Content-Type").value_or("").rfind("text/html", 0) == 0; }

TEST_F(OutagePage, ThePageDescribesTheHookEscapedAndItsReplayFormDeliversTheBuffer) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "page", who));
  receiver rx;
  hook_cleanup cleanup(server());
  webhook hook;
  notification note;
  activate_link link;
  const std::string app = "<script>alert(1)</script>";
  ASSERT_TRUE(deactivated_hook(who, cleanup, rx, app, "/page?x=1&y=2", 2, hook, note, link));

  const auto page = server().get(link.path_and_query);
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_TRUE(is_html(page)) << "Content-Type: " << page.header("Content-Type").value_or("(none)");
  EXPECT_NE(page.body.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos)
      << "the app is HTML-escaped:\n" << page.body;
  EXPECT_EQ(page.body.find("<script>alert"), std::string::npos) << "no raw markup from the app:\n" << page.body;
  EXPECT_NE(page.body.find("/page?x=1&amp;y=2"), std::string::npos) << "the URL is HTML-escaped:\n" << page.body;
  const auto text = visible_text(page.body);
  EXPECT_NE(text.find(std::to_string(hook.id)), std::string::npos) << "names the webhook id: " << text;
  EXPECT_NE(text.find(hook.url), std::string::npos) << "names the URL " << hook.url << ": " << text;
  EXPECT_NE(text.find("HTTP 503"), std::string::npos) << "names the last error: " << text;
  EXPECT_NE(text.find(app), std::string::npos) << "shows the app as text: " << text;

  const auto forms = parse_forms(page.body);
  ASSERT_EQ(forms.size(), 2u) << page.body;
  for (const auto& f : forms) {
    EXPECT_TRUE(f.method == "post" || f.method == "POST") << "method=" << f.method;
    EXPECT_EQ(f.action, link.path) << "the form posts to the link's path";
    EXPECT_EQ(form_field(f, "token"), link.token);
    std::vector<std::string> names;
    for (const auto& [name, value] : f.inputs) names.push_back(name);
    EXPECT_EQ(names, (std::vector<std::string>{"token", "replay"})) << "fields token and replay";
    for (const auto& type : f.input_types) EXPECT_EQ(type, "hidden");
  }
  html_form plain, replay;
  ASSERT_TRUE(form_with_replay(forms, "0", plain));
  ASSERT_TRUE(form_with_replay(forms, "1", replay));
  EXPECT_EQ(plain.button_text, "Reactivate");
  EXPECT_EQ(replay.button_text, "Reactivate and deliver 3 buffered events")
      << "the button names the number of buffered events";

  const std::size_t before_activation = rx.count();
  rx.set_default_status(200);
  const auto done = submit_form(server(), replay);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_TRUE(is_html(done)) << "Content-Type: " << done.header("Content-Type").value_or("(none)");
  const auto done_text = visible_text(done.body);
  EXPECT_NE(done_text.find("is active again"), std::string::npos) << done_text;
  EXPECT_NE(done_text.find("3"), std::string::npos) << "the number queued: " << done_text;
  accepted_event newer;
  ASSERT_TRUE(post_seq(server(), who.username, event, 3, key, 1, newer)) << "posted right after the activation";

  ASSERT_TRUE(rx.wait_until([](const auto& all) { return delivered_seqs(all).size() >= 4; }, arrival_timeout))
      << describe(rx.requests());
  EXPECT_TRUE(delivered_in_sequence(requests_after(rx.requests(), before_activation), {0, 1, 2, 3}))
      << "the buffer, oldest first, before the newer event";

  webhook state;
  ASSERT_TRUE(wait_hook(
      server(), who, hook.id, [](const webhook& h) { return h.pending_events == 0; }, state, "without pending events"));
  EXPECT_TRUE(state.active) << state;
  EXPECT_FALSE(state.deactivated_at.has_value()) << state;
  EXPECT_EQ(state.consecutive_failures, 0) << state;
  EXPECT_EQ(state.buffered_events, 0) << state;

  std::vector<notification> notes;
  ASSERT_TRUE(get_notifications(server(), who, notes));
  ASSERT_EQ(notes.size(), 1u) << describe(notes);
  EXPECT_TRUE(notes[0].read) << notes[0];
  EXPECT_FALSE(notes[0].activate_url.has_value()) << "the used link is gone: " << notes[0];

  // The token was used: the page and both forms now answer 404.
  EXPECT_EQ(server().get(link.path_and_query).status, 404);
  EXPECT_EQ(submit_form(server(), replay).status, 404);
  EXPECT_EQ(submit_form(server(), plain).status, 404);
  ASSERT_TRUE(get_webhook(server(), who, hook.id, state));
  EXPECT_TRUE(state.active) << state;
  EXPECT_TRUE(nothing_was_stuck(server()));
}

TEST_F(OutagePage, ThePlainFormReactivatesAndDiscardsTheBuffer) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "plain", who));
  receiver rx;
  hook_cleanup cleanup(server());
  webhook hook;
  notification note;
  activate_link link;
  ASSERT_TRUE(deactivated_hook(who, cleanup, rx, "plain", "/plain", 1, hook, note, link));

  const auto page = server().get(link.path_and_query);
  ASSERT_EQ(page.status, 200) << page.body;
  const auto forms = parse_forms(page.body);
  html_form plain, replay;
  ASSERT_TRUE(form_with_replay(forms, "0", plain)) << page.body;
  ASSERT_TRUE(form_with_replay(forms, "1", replay)) << page.body;
  EXPECT_EQ(plain.button_text, "Reactivate");
  EXPECT_EQ(replay.button_text, "Reactivate and deliver 2 buffered events");

  const std::size_t before_activation = rx.count();
  rx.set_default_status(200);
  const auto done = submit_form(server(), plain);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_TRUE(is_html(done));
  const auto done_text = visible_text(done.body);
  EXPECT_NE(done_text.find("is active again"), std::string::npos) << done_text;
  EXPECT_NE(done_text.find("2"), std::string::npos) << "the number discarded: " << done_text;

  webhook state;
  ASSERT_TRUE(get_webhook(server(), who, hook.id, state));
  EXPECT_TRUE(state.active) << state;
  EXPECT_EQ(state.buffered_events, 0) << state;

  // A new event with the same key arrives, alone: the discarded ones would have come first.
  accepted_event fresh;
  ASSERT_TRUE(post_seq(server(), who.username, event, 2, key, 1, fresh));
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, {fresh.id}); }, arrival_timeout))
      << describe(rx.requests());
  ASSERT_TRUE(wait_hook(
      server(), who, hook.id, [](const webhook& h) { return h.pending_events == 0; }, state, "without pending events"));
  EXPECT_EQ(state.buffered_events, 0) << state;
  const auto after = requests_after(rx.requests(), before_activation);
  EXPECT_TRUE(delivered_in_sequence(after, {2})) << "the discarded events are never delivered";
  EXPECT_EQ(after.size(), 1u) << describe(after);

  std::vector<notification> notes;
  ASSERT_TRUE(get_notifications(server(), who, notes));
  ASSERT_EQ(notes.size(), 1u) << describe(notes);
  EXPECT_TRUE(notes[0].read) << notes[0];
  EXPECT_FALSE(notes[0].activate_url.has_value()) << notes[0];
  EXPECT_EQ(server().get(link.path_and_query).status, 404) << "the link works once";
  EXPECT_EQ(submit_form(server(), replay).status, 404) << "the link works once";
}

TEST_F(OutagePage, AWrongTokenGets404AndChangesNothing) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "wrong", who));
  receiver rx1, rx2;
  hook_cleanup cleanup(server());
  webhook hook1, hook2;
  notification note1, note2;
  activate_link link1, link2;
  ASSERT_TRUE(deactivated_hook(who, cleanup, rx1, "first", "/first", 1, hook1, note1, link1));
  ASSERT_TRUE(deactivated_hook(who, cleanup, rx2, "second", "/second", 0, hook2, note2, link2, "optout_finalized"));
  const std::size_t attempts1 = rx1.count();

  std::string altered = link1.token;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  const std::string form_type = "application/x-www-form-urlencoded";
  const auto post = [&](const std::string& path, const std::string& token, const std::string& replay) {
    return server().request("POST", path, {{"Content-Type", form_type}},
                            form_encode({{"token", token}, {"replay", replay}}));
  };

  EXPECT_EQ(server().get(link1.path + "?token=" + altered).status, 404) << "a token with one character changed";
  EXPECT_EQ(server().get(link1.path + "?token=" + percent_encode("not-the-token")).status, 404);
  EXPECT_EQ(server().get(link1.path + "?token=" + link2.token).status, 404) << "another notification's token";
  EXPECT_EQ(post(link1.path, altered, "1").status, 404);
  EXPECT_EQ(post(link1.path, altered, "0").status, 404);
  EXPECT_EQ(post(link1.path, link2.token, "1").status, 404) << "another notification's token";
  EXPECT_EQ(post("/notifications/" + std::to_string(link1.notification_id + 1000000) + "/activate", link1.token, "1")
                .status,
            404)
      << "the right token on an unknown notification";

  // Nothing changed: hook 1 is still inactive with its buffer, its notification unread with its link.
  webhook state;
  ASSERT_TRUE(get_webhook(server(), who, hook1.id, state));
  EXPECT_FALSE(state.active) << state;
  EXPECT_EQ(state.buffered_events, 2) << state;
  ASSERT_TRUE(get_webhook(server(), who, hook2.id, state));
  EXPECT_FALSE(state.active) << state;
  EXPECT_EQ(state.buffered_events, 1) << state;
  std::vector<notification> notes;
  ASSERT_TRUE(get_notifications(server(), who, notes));
  const auto mine = for_webhook(notes, hook1.id);
  ASSERT_EQ(mine.size(), 1u) << describe(notes);
  EXPECT_FALSE(mine[0].read) << mine[0];
  EXPECT_EQ(mine[0].activate_url, note1.activate_url) << mine[0];
  EXPECT_EQ(rx1.count(), attempts1) << describe(rx1.requests());

  // The real link still works (it was not used up by the wrong attempts).
  const auto page = server().get(link1.path_and_query);
  ASSERT_EQ(page.status, 200) << page.body;
  html_form replay;
  ASSERT_TRUE(form_with_replay(parse_forms(page.body), "1", replay)) << page.body;
  rx1.set_default_status(200);
  const auto done = submit_form(server(), replay);
  ASSERT_EQ(done.status, 200) << done.body;
  ASSERT_TRUE(rx1.wait_until([](const auto& all) { return delivered_seqs(all).size() >= 2; }, arrival_timeout))
      << describe(rx1.requests());
  EXPECT_TRUE(delivered_in_sequence(requests_after(rx1.requests(), attempts1), {0, 1}));
}

}  // namespace
}  // namespace hookwerk::system_test
