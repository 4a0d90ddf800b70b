// SPEC §2: the admin API (accounts).
#include "system/harness.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace hookwerk::system_test {
namespace {

class AdminApi : public shared_server_suite<AdminApi> {
protected:
  static http_response post_accounts(std::string_view body, const header_list& auth) {
    header_list h{{"Content-Type", "application/json"}};
    h.insert(h.end(), auth.begin(), auth.end());
    return server().request("POST", "/admin/accounts", h, body);
  }

  static std::string account_json(std::string_view username, std::string_view password) {
    return "{\"username\":" + json_quote(username) + ",\"password\":" + json_quote(password) + "}";
  }
};

::testing::AssertionResult is_created(const http_response& r, std::string_view username) {
  if (r.status != 201)
    return ::testing::AssertionFailure() << "HTTP " << r.status << ", expected 201; body: " << r.body;
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(simdjson::padded_string(r.body)).get(obj))
    return ::testing::AssertionFailure() << "body is not a JSON object: " << r.body;
  std::size_t keys = 0;
  for ([[maybe_unused]] auto field : obj) ++keys;
  std::string_view name;
  if (keys != 1 || obj["username"].get(name) || name != username)
    return ::testing::AssertionFailure() << "body must be {\"username\":\"" << username << "\"}: " << r.body;
  return ::testing::AssertionSuccess();
}

TEST_F(AdminApi, CreatesAnAccountAndRejectsADuplicateWith409) {
  const auto name = unique_name("acme");
  EXPECT_TRUE(is_created(server().create_account(name, "s3cret"), name));
  EXPECT_TRUE(is_error_body(server().create_account(name, "s3cret"), 409));
  EXPECT_TRUE(is_error_body(server().create_account(name, "another-password"), 409));
}

TEST_F(AdminApi, AcceptsTheWholeUsernameAlphabetFromOneTo64Characters) {
  const std::string one = "Z";
  std::string sixty_four = "AZaz09._@-";
  sixty_four += std::string(64 - sixty_four.size(), 'k');
  ASSERT_EQ(sixty_four.size(), 64u);
  EXPECT_TRUE(is_created(server().create_account(one, "pw"), one));
  EXPECT_TRUE(is_created(server().create_account(sixty_four, "pw"), sixty_four));
  EXPECT_EQ(server().delete_account(sixty_four).status, 204);
}

TEST_F(AdminApi, UsernamesAreCaseSensitive) {
  EXPECT_TRUE(is_created(server().create_account("CaseSensitive", "pw1"), "CaseSensitive"));
  EXPECT_TRUE(is_created(server().create_account("casesensitive", "pw2"), "casesensitive"))
      << "a name differing only in case is a different account";
  EXPECT_TRUE(is_error_body(server().create_account("CaseSensitive", "pw3"), 409));
}

TEST_F(AdminApi, RejectsBadBodiesWith400AndCreatesNothing) {
  struct bad_case {
    std::string body;
    std::string name_to_check;  // must not exist afterwards ("" = nothing to check)
  };
  const std::string long_name(65, 'n');
  const std::vector<bad_case> cases{
      {"not json", ""},
      {"", ""},
      {"[]", ""},
      {"{}", ""},
      {"{\"username\":\"bad-body-1\"", "bad-body-1"},
      {"{\"username\":\"bad-body-2\"}", "bad-body-2"},
      {"{\"password\":\"pw\"}", ""},
      {account_json("", "pw"), ""},
      {account_json("has space", "pw"), ""},
      {account_json(long_name, "pw"), ""},
      {account_json(long_name.substr(0, 63) + "/x", "pw"), ""},
      {account_json("colon:name", "pw"), ""},
      {account_json("plus+name", "pw"), ""},
      {account_json("\xc3\xbcmlaut", "pw"), ""},
      {account_json("bad-body-3", ""), "bad-body-3"},
      {account_json("bad-body-4", std::string(1025, 'p')), "bad-body-4"},
      {"{\"username\":42,\"password\":\"pw\"}", ""},
      {"{\"username\":\"bad-body-5\",\"password\":12345}", "bad-body-5"},
      {"{\"username\":null,\"password\":\"pw\"}", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("body: " + c.body.substr(0, 120));
    EXPECT_TRUE(is_error_body(post_accounts(c.body, server().admin_auth()), 400));
    if (!c.name_to_check.empty()) {
      EXPECT_EQ(server().delete_account(c.name_to_check).status, 404) << c.name_to_check << " was created";
    }
  }
  EXPECT_EQ(server().get("/healthz").status, 200);
}

TEST_F(AdminApi, PasswordOf1024ArbitraryBytesWorksInFormAndJsonAndIsComparedInFull) {
  // Characters that need escaping in both encodings, UTF-8, then padding to exactly 1024 bytes.
  std::string password = "p\xc3\xa4 ss&=+%\"\\/?#;";
  password += std::string(1024 - password.size() - 1, 'w');
  password += "Z";
  ASSERT_EQ(password.size(), 1024u);
  const auto name = unique_name("longpw");
  ASSERT_TRUE(is_created(server().create_account(name, password), name));

  const credentials who{name, password};
  EXPECT_TRUE(is_success(server().call_as(who, "GetWebHooks", {}, encoding::form)));
  EXPECT_TRUE(is_success(server().call_as(who, "GetWebHooks", {}, encoding::json)));

  std::string last_byte_differs = password;
  last_byte_differs.back() = 'Y';
  EXPECT_TRUE(is_error(server().call_as({name, last_byte_differs}, "GetWebHooks"), 1, "login failed"));
}

TEST_F(AdminApi, RejectsMissingOrWrongTokensWith401AndChangesNothing) {
  const auto victim = unique_name("victim");
  ASSERT_TRUE(is_created(server().create_account(victim, "victim-pw"), victim));
  const auto would_be = unique_name("intruder");
  const std::string admin = server().admin_token();

  const std::vector<header_list> bad_auth{
      {},
      {{"Authorization", ""}},
      {{"Authorization", "Bearer"}},
      {{"Authorization", "Bearer "}},
      {{"Authorization", "Bearer wrong-token"}},
      {{"Authorization", "Bearer " + std::string(default_ingest_token)}},
      {{"Authorization", "Bearer " + admin + "x"}},
      {{"Authorization", "Bearer " + admin.substr(0, admin.size() - 1)}},
      {{"Authorization", "Basic " + admin}},
      {{"Authorization", admin}},
      {{"X-Admin-Token", admin}},
  };
  for (const auto& auth : bad_auth) {
    SCOPED_TRACE(auth.empty() ? std::string("no Authorization header") : auth.front().first + ": " + auth.front().second);
    EXPECT_TRUE(is_error_body(post_accounts(account_json(would_be, "pw"), auth), 401));
    EXPECT_TRUE(is_error_body(server().request("DELETE", "/admin/accounts/" + victim, auth), 401));
    EXPECT_TRUE(is_error_body(post_accounts("not json", auth), 401)) << "the token is checked before the body";
  }
  EXPECT_EQ(server().delete_account(would_be).status, 404) << "an unauthorized POST created the account";
  EXPECT_TRUE(is_error_body(server().create_account(victim, "victim-pw"), 409)) << "an unauthorized DELETE removed it";
}

TEST_F(AdminApi, DeleteAnswers204ThenTheAccountIsGoneWith404) {
  const auto name = unique_name("short-lived");
  ASSERT_TRUE(is_created(server().create_account(name, "pw"), name));
  const auto deleted = server().delete_account(name);
  EXPECT_EQ(deleted.status, 204);
  EXPECT_TRUE(deleted.body.empty()) << deleted.body;
  EXPECT_TRUE(is_error_body(server().delete_account(name), 404));
  EXPECT_TRUE(is_error_body(server().delete_account(unique_name("never-existed")), 404));
}

TEST_F(AdminApi, DeletingAnAccountRemovesItsWebhooksAndItsCredentials) {
  const auto name = unique_name("leaving");
  const credentials old_who{name, "old-password"};
  ASSERT_TRUE(is_created(server().create_account(name, old_who.password), name));

  webhook a, b;
  ASSERT_TRUE(create_webhook(server(), old_who, "leaving-app", "optin_finalized", "https://192.0.2.10/a", a));
  ASSERT_TRUE(create_webhook(server(), old_who, "leaving-app", "optout_finalized", "https://192.0.2.10/b", b));

  ASSERT_EQ(server().delete_account(name).status, 204);
  EXPECT_TRUE(is_error(server().call_as(old_who, "GetWebHooks"), 1, "login failed"))
      << "a remembered login must be forgotten when the account is deleted";

  // The same name again, with a new password: an empty account, the old password does not work.
  const credentials new_who{name, "new-password"};
  ASSERT_TRUE(is_created(server().create_account(name, new_who.password), name));
  EXPECT_TRUE(is_error(server().call_as(old_who, "GetWebHooks"), 1, "login failed"));
  std::vector<webhook> hooks;
  ASSERT_TRUE(list_webhooks(server(), new_who, hooks));
  EXPECT_TRUE(hooks.empty()) << "the deleted account's webhooks are gone";
  EXPECT_TRUE(is_error(server().call_as(new_who, "ActivateWebHook", {{"id", std::to_string(a.id)}}), 4,
                       "webhook not found"));
  EXPECT_TRUE(is_error(server().call_as(new_who, "DeleteWebHookById", {{"id", std::to_string(b.id)}}), 4,
                       "webhook not found"));
}

}  // namespace
}  // namespace hookwerk::system_test
