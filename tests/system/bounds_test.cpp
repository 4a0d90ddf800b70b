// Bounds that keep one account's growth from stalling or exhausting the server
// (docs/decisions.md, "Bounds"): --max-hooks-per-account and --max-fanout-bytes.
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

}  // namespace
}  // namespace hookwerk::system_test
