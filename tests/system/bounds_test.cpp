// Bounds that keep one account's growth from stalling or exhausting the server
// (docs/decisions.md, "Bounds"): --max-hooks-per-account, --max-fanout-bytes, GetNotifications
// in pages, and notification links that expire with the buffer (--buffer-max-age).
#include "system/outage_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace hookwerk::system_test {
namespace {

using namespace outage;

constexpr int hook_limit = 3;
constexpr int fanout_limit = 1024;
const std::string limit_message = "invalid parameter: webhook limit of 3 per account reached";

// A JSON object payload of exactly `bytes` bytes.
std::string payload_of(std::size_t bytes) { return "{\"pad\":\"" + std::string(bytes - 10, 'x') + "\"}"; }

class Bounds : public shared_server_suite<Bounds> {
public:
  static server_options options() {
    return outage_server_options({"--failure-window", "0s", "--max-hooks-per-account", std::to_string(hook_limit),
                                  "--max-fanout-bytes", std::to_string(fanout_limit)});
  }

protected:
  static envelope create(const credentials& who, std::string_view url, encoding enc = encoding::form) {
    return server().call_as(who, "CreateWebHook",
                            {{"app", unique_name("app")}, {"event", "optin_finalized"}, {"url", std::string(url)}}, enc);
  }

  static envelope notifications(const credentials& who, const param_list& params, encoding enc = encoding::form) {
    return server().call_as(who, "GetNotifications", params, enc);
  }

  // The ids of a successful GetNotifications answer, in its order.
  static ::testing::AssertionResult note_ids(const envelope& e, std::vector<std::int64_t>& out) {
    if (auto ok = is_success(e); !ok) return ok;
    std::vector<notification> notes;
    if (auto ok = parse_notifications(e.result, notes); !ok) return ok;
    out.clear();
    for (const auto& n : notes) out.push_back(n.id);
    return ::testing::AssertionSuccess();
  }
};

// ---- --max-hooks-per-account ----------------------------------------------------------------

TEST_F(Bounds, CreateWebHookPastTheAccountLimitAnswersError3AndCreatesNothing) {
  credentials who, other;
  ASSERT_TRUE(make_account(server(), "limit", who));
  ASSERT_TRUE(make_account(server(), "limit2", other));
  std::vector<std::int64_t> ids;
  for (int i = 0; i < hook_limit; ++i) {
    const auto e = create(who, "https://192.0.2.10/h" + std::to_string(i));
    ASSERT_TRUE(is_success(e)) << "hook " << i + 1 << " of " << hook_limit;
    webhook hook;
    ASSERT_TRUE(parse_webhook(e.result, hook));
    ids.push_back(hook.id);
  }
  for (const auto enc : {encoding::form, encoding::json}) {
    SCOPED_TRACE(to_string(enc));
    EXPECT_TRUE(is_error(create(who, "https://192.0.2.10/over", enc), 3, limit_message));
  }
  // Parameters are checked first, in their order; the limit only applies to a valid call.
  EXPECT_TRUE(is_error(create(who, "ftp://192.0.2.10/"), 3, "invalid parameter: url"));
  EXPECT_TRUE(is_error(server().call_as(who, "CreateWebHook", {{"event", "optin_finalized"}, {"url", "https://x.test/"}}),
                       2, "missing parameter: app"));
  std::vector<webhook> listed;
  ASSERT_TRUE(list_webhooks(server(), who, listed));
  ASSERT_EQ(listed.size(), static_cast<std::size_t>(hook_limit)) << "the refused calls created nothing";

  EXPECT_TRUE(is_success(create(other, "https://192.0.2.10/other"))) << "the limit is per account";

  ASSERT_TRUE(is_success(server().call_as(who, "DeleteWebHookById", {{"id", std::to_string(ids.front())}})));
  EXPECT_TRUE(is_success(create(who, "https://192.0.2.10/again"))) << "a deleted hook frees its place";
  EXPECT_TRUE(is_error(create(who, "https://192.0.2.10/over-again"), 3, limit_message));
}

TEST_F(Bounds, ConcurrentCreationsNeverPassTheLimit) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "race", who));
  constexpr int callers = 8;
  std::vector<envelope> answers(callers);
  std::vector<std::thread> threads;
  for (int i = 0; i < callers; ++i)
    threads.emplace_back([&, i] { answers[i] = create(who, "https://192.0.2.10/r" + std::to_string(i)); });
  for (auto& t : threads) t.join();
  int created = 0;
  for (const auto& e : answers) {
    if (e.error == 0) {
      ++created;
      continue;
    }
    EXPECT_TRUE(is_error(e, 3, limit_message));
  }
  EXPECT_EQ(created, hook_limit);
  std::vector<webhook> listed;
  ASSERT_TRUE(list_webhooks(server(), who, listed));
  EXPECT_EQ(listed.size(), static_cast<std::size_t>(hook_limit));
}

// ---- --max-fanout-bytes ---------------------------------------------------------------------

TEST_F(Bounds, AnIngestionOverTheFanoutBoundAnswers413AndQueuesNothing) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "fanout", who));
  receiver rx;
  hook_cleanup cleanup(server());
  for (int i = 0; i < hook_limit; ++i) {
    webhook hook;
    ASSERT_TRUE(add_hook(server(), cleanup, who, "optin_finalized", rx.url("/f" + std::to_string(i)), hook));
  }
  // 3 hooks x 342 bytes = 1026 > 1024.
  const auto over = ingest(server(), event_json(who.username, "optin_finalized", payload_of(342), "once"));
  ASSERT_TRUE(is_error_body(over, 413));
  EXPECT_NE(over.body.find("--max-fanout-bytes"), std::string::npos) << over.body;
  EXPECT_NE(over.body.find("1024"), std::string::npos) << over.body;

  // A batch of two events of 3 x 200 bytes each: each would fit, together they do not.
  const std::string batch = "[" + event_json(who.username, "optin_finalized", payload_of(200), "b1") + "," +
                            event_json(who.username, "optin_finalized", payload_of(200), "b2") + "]";
  const auto over_batch = ingest(server(), batch);
  ASSERT_TRUE(is_error_body(over_batch, 413));
  EXPECT_NE(over_batch.body.find("--max-fanout-bytes"), std::string::npos) << over_batch.body;
  const std::string ndjson = event_json(who.username, "optin_finalized", payload_of(200), "n1") + "\n" +
                             event_json(who.username, "optin_finalized", payload_of(200), "n2") + "\n";
  EXPECT_TRUE(is_error_body(ingest(server(), ndjson, ndjson_type), 413));

  // Exactly at the bound (3 x 341 = 1023 ≤ 1024) and with the id of the refused event: it is
  // queued for all three hooks, so the refusal kept no idempotency record.
  accepted_event fits;
  ASSERT_TRUE(post_event(server(), who.username, "optin_finalized", payload_of(341), fits, "once"));
  EXPECT_EQ(fits.webhooks, hook_limit);
  accepted_event first_of_batch;
  ASSERT_TRUE(post_event(server(), who.username, "optin_finalized", payload_of(200), first_of_batch, "b1"));
  EXPECT_EQ(first_of_batch.webhooks, hook_limit) << "the refused batch kept no idempotency record";

  ASSERT_TRUE(rx.wait_for_count(2 * hook_limit, arrival_timeout)) << rx.count() << " deliveries";
  // A short quiet period: a refused event, had it been queued, would have arrived by now.
  rx.wait_until([](const std::vector<received_request>& all) { return all.size() > 2 * hook_limit; }, 500ms);
  const auto all = rx.requests();
  EXPECT_EQ(all.size(), static_cast<std::size_t>(2 * hook_limit));
  EXPECT_EQ(count_with_webhook_id(all, fits.id), static_cast<std::size_t>(hook_limit));
  EXPECT_EQ(count_with_webhook_id(all, first_of_batch.id), static_cast<std::size_t>(hook_limit));
}

// ---- GetNotifications in pages --------------------------------------------------------------

TEST_F(Bounds, GetNotificationsValidatesUnreadOnlyThenLimitThenOffset) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "pagebad", who));
  for (const char* bad : {"0", "-1", "abc", "1.5", ""}) {
    SCOPED_TRACE(std::string("limit=") + bad);
    EXPECT_TRUE(is_error(notifications(who, {{"limit", bad}}), 3, "invalid parameter: limit"));
  }
  for (const char* bad : {"-1", "abc", "1.5", ""}) {
    SCOPED_TRACE(std::string("offset=") + bad);
    EXPECT_TRUE(is_error(notifications(who, {{"offset", bad}}), 3, "invalid parameter: offset"));
  }
  EXPECT_TRUE(is_error(notifications(who, {{"offset", param_value::raw("true")}}, encoding::json), 3,
                       "invalid parameter: offset"));
  EXPECT_TRUE(is_error(notifications(who, {{"limit", param_value::raw("0")}}, encoding::json), 3,
                       "invalid parameter: limit"));
  EXPECT_TRUE(is_error(notifications(who, {{"unreadOnly", "maybe"}, {"limit", "0"}, {"offset", "-1"}}), 3,
                       "invalid parameter: unreadOnly"));
  EXPECT_TRUE(is_error(notifications(who, {{"unreadOnly", "1"}, {"limit", "0"}, {"offset", "-1"}}), 3,
                       "invalid parameter: limit"));
  EXPECT_TRUE(is_error(notifications(who, {{"limit", "5"}, {"offset", "-1"}}), 3, "invalid parameter: offset"));
  std::vector<std::int64_t> ids;
  ASSERT_TRUE(note_ids(notifications(who, {{"limit", "5000"}, {"offset", "0"}}), ids)) << "limit is clamped";
  EXPECT_TRUE(ids.empty());
}

TEST_F(Bounds, GetNotificationsPagesNewestFirstAfterTheUnreadFilter) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "pages", who));
  receiver rx;
  rx.set_default_status(410);  // deactivates at once
  hook_cleanup cleanup(server());
  std::vector<webhook> hooks(hook_limit);
  for (auto& hook : hooks) {
    ASSERT_TRUE(add_hook(server(), cleanup, who, "optin_finalized", rx.url("/p"), hook));
  }
  accepted_event ev;
  ASSERT_TRUE(post_event(server(), who.username, "optin_finalized", "{}", ev));
  std::vector<notification> all;
  ASSERT_TRUE(eventually([&] { return get_notifications(server(), who, all) && all.size() == 3; }, arrival_timeout))
      << describe(all);
  const std::vector<std::int64_t> newest_first{all[0].id, all[1].id, all[2].id};
  ASSERT_GT(newest_first[0], newest_first[1]);
  ASSERT_GT(newest_first[1], newest_first[2]);

  struct page_case {
    param_list params;
    encoding enc;
    std::vector<std::int64_t> expected;
  };
  const std::vector<page_case> cases{
      {{}, encoding::form, newest_first},
      {{{"limit", "2"}}, encoding::form, {newest_first[0], newest_first[1]}},
      {{{"limit", "2"}, {"offset", "2"}}, encoding::form, {newest_first[2]}},
      {{{"offset", "1"}}, encoding::form, {newest_first[1], newest_first[2]}},
      {{{"offset", "3"}}, encoding::form, {}},
      {{{"offset", "99999999999999999999999"}}, encoding::form, {}},
      {{{"limit", "5000"}}, encoding::form, newest_first},
      {{{"limit", param_value::raw("1")}, {"offset", param_value::raw("1")}}, encoding::json, {newest_first[1]}},
      {{{"limit", "1"}, {"offset", "0"}}, encoding::json, {newest_first[0]}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(encode_params(c.params, c.enc));
    std::vector<std::int64_t> ids;
    ASSERT_TRUE(note_ids(notifications(who, c.params, c.enc), ids));
    EXPECT_EQ(ids, c.expected);
  }

  // Reactivating the hook of the middle notification marks it read: unreadOnly pages skip it.
  std::int64_t middle_hook = all[1].webhook_id;
  std::string result;
  ASSERT_TRUE(activate(server(), who, middle_hook, std::nullopt, result));
  std::vector<std::int64_t> ids;
  ASSERT_TRUE(note_ids(notifications(who, {{"unreadOnly", "1"}}), ids));
  EXPECT_EQ(ids, (std::vector<std::int64_t>{newest_first[0], newest_first[2]}));
  ASSERT_TRUE(note_ids(notifications(who, {{"unreadOnly", "1"}, {"offset", "1"}, {"limit", "1"}}), ids));
  EXPECT_EQ(ids, (std::vector<std::int64_t>{newest_first[2]}));
}

// ---- links expire with the buffer -----------------------------------------------------------

TEST(BoundsLinks, ALinkAnswers410OnceTheBufferMaxAgeHasPassedAndIsNoLongerListed) {
  temp_dir data;
  auto opts = outage_server_options({"--failure-window", "0s"});
  opts.data_dir = data.str();
  credentials who;
  webhook hook;
  activate_link link;
  receiver rx;
  rx.set_default_status(410);
  {
    server_process first(opts);
    ASSERT_TRUE(make_account(first, "expiry", who));
    ASSERT_TRUE(create_webhook(first, who, "app", "optin_finalized", rx.url("/gone"), hook));
    accepted_event ev;
    ASSERT_TRUE(post_event(first, who.username, "optin_finalized", "{}", ev));
    webhook state;
    ASSERT_TRUE(wait_inactive(first, who, hook.id, state));
    std::vector<notification> notes;
    ASSERT_TRUE(eventually([&] { return get_notifications(first, who, notes) && notes.size() == 1; }, arrival_timeout));
    ASSERT_TRUE(notes[0].activate_url.has_value()) << notes[0];
    ASSERT_TRUE(parse_activate_url(*notes[0].activate_url, link));
    EXPECT_EQ(first.get(link.path_and_query).status, 200) << "the link works before its time";
    ASSERT_EQ(first.terminate(), 0);
  }
  // The same database with a buffer max age that has passed since the deactivation.
  opts.extra_args.insert(opts.extra_args.end(), {"--buffer-max-age", "1s"});
  server_process second(opts);
  http_response page;
  ASSERT_TRUE(eventually([&] {
    page = second.get(link.path_and_query);
    return page.status == 410;
  })) << "HTTP " << page.status << "\n" << page.body;
  EXPECT_EQ(page.header("Content-Type").value_or("").rfind("text/html", 0), 0u);
  EXPECT_NE(visible_text(page.body).find("expired"), std::string::npos) << page.body;
  EXPECT_EQ(page.body.find(link.token), std::string::npos) << "no form carries the token any more";

  const auto post = second.request("POST", link.path, {{"Content-Type", "application/x-www-form-urlencoded"}},
                                   form_encode({{"token", link.token}, {"replay", "1"}}));
  EXPECT_EQ(post.status, 410) << post.body;
  EXPECT_EQ(second.get(link.path + "?token=wrong" + link.token).status, 404) << "a wrong token stays a 404";
  std::vector<webhook> hooks;
  ASSERT_TRUE(list_webhooks(second, who, hooks));
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_FALSE(hooks[0].active) << "the expired link reactivated nothing";

  std::vector<notification> notes;
  ASSERT_TRUE(get_notifications(second, who, notes));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].activate_url, std::nullopt) << notes[0];
  EXPECT_FALSE(notes[0].read);
}

}  // namespace
}  // namespace hookwerk::system_test
