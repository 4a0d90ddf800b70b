// A clean restart (SIGTERM, then start on the same data dir) keeps accounts, webhooks and the
// id sequence.
#include "system/harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace hookwerk::system_test {
namespace {

TEST(Restart, AccountsWebhooksAndTheIdSequenceSurviveACleanRestart) {
  temp_dir data;
  server_options options;
  options.data_dir = data.str();
  const credentials acme{"acme", "acme-restart-pw"};
  const credentials other{"other.co", "other-restart-pw"};

  std::vector<webhook> acme_before, other_before;
  std::int64_t highest_id = 0;
  webhook deleted_newest;
  {
    server_process server(options);
    ASSERT_EQ(server.create_account(acme.username, acme.password).status, 201);
    ASSERT_EQ(server.create_account(other.username, other.password).status, 201);
    ASSERT_EQ(server.create_account("short-lived", "short-lived-pw").status, 201);
    ASSERT_EQ(server.delete_account("short-lived").status, 204);

    webhook h;
    ASSERT_TRUE(create_webhook(server, acme, "zapier", "optin_finalized", "https://192.0.2.10/one", h));
    ASSERT_TRUE(create_webhook(server, other, "php script", "optout_finalized", "http://203.0.113.7:8080/x?y=1", h,
                               encoding::json));
    ASSERT_TRUE(create_webhook(server, acme, "crm \xc3\xbc", "profilemanager_finalized",
                               "https://hooks.example.invalid/zap", h));
    ASSERT_TRUE(create_webhook(server, acme, "zapier", "optout_finalized", "https://192.0.2.10/two", h));
    ASSERT_TRUE(create_webhook(server, acme, "zapier", "optin_finalized", "https://192.0.2.10/newest",
                               deleted_newest));
    highest_id = deleted_newest.id;
    const auto del = server.call_as(acme, "DeleteWebHookById", {{"id", std::to_string(deleted_newest.id)}});
    ASSERT_TRUE(is_success(del));

    ASSERT_TRUE(list_webhooks(server, acme, acme_before));
    ASSERT_TRUE(list_webhooks(server, other, other_before));
    ASSERT_EQ(acme_before.size(), 3u);
    ASSERT_EQ(other_before.size(), 1u);
    for (const auto& w : acme_before) EXPECT_LT(w.id, highest_id);

    ASSERT_EQ(server.terminate(), 0);
  }
  {
    server_process server(options);
    std::vector<webhook> acme_after, other_after;
    ASSERT_TRUE(list_webhooks(server, acme, acme_after)) << "the account and its password survive";
    ASSERT_TRUE(list_webhooks(server, other, other_after));
    EXPECT_EQ(acme_after, acme_before) << "every field, secret and created_at included, survives";
    EXPECT_EQ(other_after, other_before);
    EXPECT_TRUE(std::none_of(acme_after.begin(), acme_after.end(),
                             [&](const webhook& w) { return w.id == deleted_newest.id; }))
        << "a deleted hook stays deleted";
    EXPECT_TRUE(is_error(server.call_as(acme, "ActivateWebHook", {{"id", std::to_string(deleted_newest.id)}}), 4,
                         "webhook not found"));

    EXPECT_TRUE(is_error_body(server.delete_account("short-lived"), 404)) << "a deleted account stays deleted";
    EXPECT_TRUE(is_error_body(server.create_account(acme.username, "x"), 409)) << "accounts survive";
    EXPECT_TRUE(is_error(server.call_as({acme.username, other.password}, "GetWebHooks"), 1, "login failed"));

    webhook after;
    ASSERT_TRUE(create_webhook(server, other, "after restart", "optin_finalized", "https://192.0.2.10/after", after));
    EXPECT_GT(after.id, highest_id) << "ids are never reused, not even the deleted newest one";
    EXPECT_TRUE(is_fresh_webhook(after));

    // Activation still works on a recovered hook.
    const auto e = server.call_as(acme, "ActivateWebHook", {{"id", std::to_string(acme_before.front().id)}});
    ASSERT_TRUE(is_success(e));
    EXPECT_TRUE(same_json_object(e.result, "{\"id\":" + std::to_string(acme_before.front().id) +
                                               ",\"active\":true,\"replayed\":0,\"discarded\":0}"));
    ASSERT_EQ(server.terminate(), 0);
  }
  {
    // A second restart: the id handed out after the first restart is not reused either.
    server_process server(options);
    webhook again;
    std::vector<webhook> other_now;
    ASSERT_TRUE(list_webhooks(server, other, other_now));
    ASSERT_EQ(other_now.size(), 2u);
    const auto previous_max = std::max(other_now.back().id, highest_id);
    ASSERT_TRUE(create_webhook(server, other, "after second restart", "optin_finalized", "https://192.0.2.10/again",
                               again));
    EXPECT_GT(again.id, previous_max);
    EXPECT_EQ(server.terminate(), 0);
  }
}

}  // namespace
}  // namespace hookwerk::system_test
