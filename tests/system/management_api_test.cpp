// SPEC §3: the Mailingwork-compatible management API (CreateWebHook, GetWebHooks,
// ActivateWebHook, DeleteWebHookById), its envelope, error codes and order of checks.
#include "system/harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace hookwerk::system_test {
namespace {

constexpr const char* management_path = "/webservice/webservice/json/";

class ManagementApi : public shared_server_suite<ManagementApi> {
public:
  static ::testing::AssertionResult prepare(const server_process& server) {
    for (const auto* who : {&alice, &bob}) {
      const auto r = server.create_account(who->username, who->password);
      if (r.status != 201)
        return ::testing::AssertionFailure()
               << "creating account " << who->username << ": HTTP " << r.status << " " << r.body;
    }
    return ::testing::AssertionSuccess();
  }

protected:
  static envelope create(const credentials& who, const param_list& params, encoding enc = encoding::form) {
    return server().call_as(who, "CreateWebHook", params, enc);
  }

  static std::vector<std::int64_t> ids_of(const std::vector<webhook>& hooks) {
    std::vector<std::int64_t> ids;
    for (const auto& h : hooks) ids.push_back(h.id);
    return ids;
  }

  static std::vector<webhook> list(const credentials& who, const param_list& filters = {}) {
    std::vector<webhook> hooks;
    EXPECT_TRUE(list_webhooks(server(), who, hooks, filters));
    return hooks;
  }

  static inline const credentials alice{"alice", "alice-pw-Qx7"};
  static inline const credentials bob{"bob", "bob-pw-Lm3"};
};

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// ---- CreateWebHook ------------------------------------------------------------------------

TEST_F(ManagementApi, CreateWebHookReturnsTheCompleteWebhookObjectInBothEncodings) {
  std::set<std::string> secrets;
  for (const auto enc : {encoding::form, encoding::json}) {
    SCOPED_TRACE(to_string(enc));
    const auto app = unique_name("zapier");
    const auto before = now_unix();
    const auto e = create(alice, {{"app", app}, {"event", "optin_finalized"}, {"url", "https://192.0.2.10/hook"}}, enc);
    const auto after = now_unix();
    ASSERT_TRUE(is_success(e));
    webhook hook;
    ASSERT_TRUE(parse_webhook(e.result, hook));
    EXPECT_TRUE(is_fresh_webhook(hook));
    EXPECT_EQ(hook.app, app);
    EXPECT_EQ(hook.event, "optin_finalized");
    EXPECT_EQ(hook.url, "https://192.0.2.10/hook");
    const auto created = parse_rfc3339_utc(hook.created_at);
    ASSERT_TRUE(created.has_value()) << hook.created_at;
    EXPECT_GE(*created, before - 2) << "created_at is the creation time (UTC): " << hook.created_at;
    EXPECT_LE(*created, after + 2) << "created_at is the creation time (UTC): " << hook.created_at;
    secrets.insert(hook.secret);

    const auto listed = list(alice, {{"app", app}});
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0], hook) << "GetWebHooks shows the same object, secret included";
  }
  EXPECT_EQ(secrets.size(), 2u) << "every webhook gets its own secret";
}

TEST_F(ManagementApi, FunctionNamesAreMatchedCaseInsensitively) {
  const auto app = unique_name("case");
  webhook hook;
  for (const char* fn : {"createwebhook", "CREATEWEBHOOK", "cReAtEwEbHoOk"}) {
    SCOPED_TRACE(fn);
    const auto e = server().call_as(alice, fn, {{"app", app}, {"event", "optout_finalized"}, {"url", "https://192.0.2.10/c"}});
    ASSERT_TRUE(is_success(e));
    ASSERT_TRUE(parse_webhook(e.result, hook));
  }
  const auto e = server().call_as(alice, "getwebhooks", {{"app", app}});
  ASSERT_TRUE(is_success(e));
  std::vector<webhook> hooks;
  ASSERT_TRUE(parse_webhook_list(e.result, hooks));
  EXPECT_EQ(hooks.size(), 3u);
  EXPECT_TRUE(is_success(server().call_as(alice, "ACTIVATEWEBHOOK", {{"id", std::to_string(hook.id)}})));
  EXPECT_TRUE(is_success(server().call_as(alice, "deletewebhookbyid", {{"id", std::to_string(hook.id)}})));
  EXPECT_EQ(list(alice, {{"app", app}}).size(), 2u);
}

TEST_F(ManagementApi, CreateWebHookAcceptsEveryConfiguredEventAndPublicOrUnresolvableUrls) {
  const auto app = unique_name("targets");
  const std::vector<std::pair<std::string, std::string>> ok{
      {"optin_finalized", "https://192.0.2.10/hook"},
      {"optout_finalized", "http://203.0.113.7:8080/x?y=1"},
      {"profilemanager_finalized", "https://hooks.example.invalid/zap"},
      {"optin_finalized", "https://198.51.100.20/Some/Path?q=a%20b&r=1"},
  };
  for (const auto& [event, url] : ok) {
    SCOPED_TRACE(url);
    webhook hook;
    ASSERT_TRUE(create_webhook(server(), alice, app, event, url, hook));
    EXPECT_EQ(hook.event, event);
    EXPECT_EQ(hook.url, url) << "the URL is stored as given";
  }
  EXPECT_EQ(list(alice, {{"app", app}}).size(), ok.size());
}

TEST_F(ManagementApi, CreateWebHookNamesTheFirstMissingParameter) {
  for (const auto enc : {encoding::form, encoding::json}) {
    SCOPED_TRACE(to_string(enc));
    EXPECT_TRUE(is_error(create(alice, {}, enc), 2, "missing parameter: app"));
    EXPECT_TRUE(is_error(create(alice, {{"event", "optin_finalized"}, {"url", "https://192.0.2.10/m"}}, enc), 2,
                         "missing parameter: app"));
    EXPECT_TRUE(is_error(create(alice, {{"app", "m"}}, enc), 2, "missing parameter: event"));
    EXPECT_TRUE(is_error(create(alice, {{"app", "m"}, {"url", "https://192.0.2.10/m"}}, enc), 2,
                         "missing parameter: event"));
    EXPECT_TRUE(is_error(create(alice, {{"app", "m"}, {"event", "optin_finalized"}}, enc), 2,
                         "missing parameter: url"));
  }
}

TEST_F(ManagementApi, CreateWebHookChecksParametersInOrderAppEventUrl) {
  const std::string long_app(256, 'a');
  EXPECT_TRUE(is_error(create(alice, {{"app", ""}}), 3, "invalid parameter: app"));
  EXPECT_TRUE(is_error(create(alice, {{"app", long_app}, {"event", "nope"}, {"url", "nope"}}), 3,
                       "invalid parameter: app"));
  EXPECT_TRUE(is_error(create(alice, {{"app", "ordered"}, {"event", "nope"}}), 3, "invalid parameter: event"));
  EXPECT_TRUE(is_error(create(alice, {{"app", "ordered"}, {"event", "nope"}, {"url", "not a url"}}), 3,
                       "invalid parameter: event"));
  EXPECT_TRUE(is_error(create(alice, {{"app", "ordered"}, {"event", "optin_finalized"}, {"url", "ftp://x.invalid/"}}),
                       3, "invalid parameter: url"));
  EXPECT_TRUE(list(alice, {{"app", "ordered"}}).empty()) << "a failed call creates nothing";
}

TEST_F(ManagementApi, CreateWebHookAppMustBe1To255Bytes) {
  const auto prefix = unique_name("len");
  const std::string app255 = prefix + std::string(255 - prefix.size(), 'x');
  const std::string app256 = app255 + "x";
  const std::string url = "https://192.0.2.10/len";
  for (const auto enc : {encoding::form, encoding::json}) {
    SCOPED_TRACE(to_string(enc));
    EXPECT_TRUE(is_error(create(alice, {{"app", ""}, {"event", "optin_finalized"}, {"url", url}}, enc), 3,
                         "invalid parameter: app"));
    EXPECT_TRUE(is_error(create(alice, {{"app", app256}, {"event", "optin_finalized"}, {"url", url}}, enc), 3,
                         "invalid parameter: app"));
  }
  webhook hook;
  ASSERT_TRUE(create_webhook(server(), alice, app255, "optin_finalized", url, hook));
  EXPECT_EQ(hook.app, app255);
}

TEST_F(ManagementApi, CreateWebHookRejectsUnknownEvents) {
  for (const char* event : {"nope", "", "optin_finalized ", "optin", "optin_finalized,optout_finalized"}) {
    SCOPED_TRACE(std::string("event \"") + event + "\"");
    EXPECT_TRUE(is_error(create(alice, {{"app", "events"}, {"event", event}, {"url", "https://192.0.2.10/e"}}), 3,
                         "invalid parameter: event"));
  }
  EXPECT_TRUE(list(alice, {{"app", "events"}}).empty());
}

TEST_F(ManagementApi, CreateWebHookRejectsMalformedNonHttpAndOverlongUrls) {
  const std::string base = "https://192.0.2.10/";
  const std::string url2048 = base + std::string(2048 - base.size(), 'u');
  const std::string url2049 = url2048 + "u";
  const auto app = unique_name("urls");
  for (const std::string& url : {std::string("ftp://files.example.invalid/x"), std::string("http://"),
                                 std::string("https://"), std::string("not a url"), std::string(""),
                                 std::string("mailto:someone@example.invalid"), std::string("//192.0.2.10/x"),
                                 std::string("192.0.2.10/x"), url2049}) {
    SCOPED_TRACE("url \"" + url.substr(0, 80) + "\" (" + std::to_string(url.size()) + " bytes)");
    for (const auto enc : {encoding::form, encoding::json})
      EXPECT_TRUE(is_error(create(alice, {{"app", app}, {"event", "optin_finalized"}, {"url", url}}, enc), 3,
                           "invalid parameter: url"));
  }
  EXPECT_TRUE(list(alice, {{"app", app}}).empty());

  webhook hook;
  ASSERT_TRUE(create_webhook(server(), alice, app, "optin_finalized", url2048, hook)) << "2048 bytes is allowed";
  EXPECT_EQ(hook.url, url2048);
}

TEST_F(ManagementApi, CreateWebHookRefusesLoopbackPrivateLinkLocalAndMulticastTargets) {
  const auto app = unique_name("ssrf");
  for (const char* url : {"http://127.0.0.1:9/x", "http://localhost/", "http://10.0.0.1/", "http://[::1]/",
                          "http://169.254.169.254/latest", "http://0x7f000001/", "http://2130706433/",
                          "http://127.1/", "http://192.168.1.1/", "http://172.16.0.1/", "https://172.31.255.254/",
                          "http://[fe80::1]/", "http://[fc00::1]/", "http://[::ffff:127.0.0.1]/",
                          "http://224.0.0.1/", "http://[ff02::1]/"}) {
    SCOPED_TRACE(url);
    EXPECT_TRUE(is_error(create(alice, {{"app", app}, {"event", "optin_finalized"}, {"url", url}}), 5,
                         "target not allowed"));
  }
  EXPECT_TRUE(list(alice, {{"app", app}}).empty()) << "a refused target creates nothing";
}

TEST_F(ManagementApi, FormAndJsonValuesAreDecodedExactly) {
  const std::string tricky = unique_name("app") + " a+b c&d=e%f/\xc3\xbc\xe2\x82\xac \"q\" \\ ;";
  webhook via_form, via_json;
  ASSERT_TRUE(create_webhook(server(), alice, tricky, "optin_finalized", "https://192.0.2.10/f", via_form,
                             encoding::form));
  ASSERT_TRUE(create_webhook(server(), alice, tricky, "optin_finalized", "https://192.0.2.10/f", via_json,
                             encoding::json));
  EXPECT_EQ(via_form.app, tricky);
  EXPECT_EQ(via_json.app, tricky);

  // JSON \u escapes are decoded.
  const auto raw_app = unique_name("esc");
  const auto e = server().call("CreateWebHook",
                               {{"username", alice.username},
                                {"password", alice.password},
                                {"app", param_value::raw(json_quote(raw_app).insert(1, "\\u00fc\\u20ac"))},
                                {"event", "optin_finalized"},
                                {"url", "https://192.0.2.10/u"}},
                               encoding::json);
  ASSERT_TRUE(is_success(e));
  webhook escaped;
  ASSERT_TRUE(parse_webhook(e.result, escaped));
  EXPECT_EQ(escaped.app, "\xc3\xbc\xe2\x82\xac" + raw_app);

  const auto listed = list(alice, {{"app", tricky}});
  EXPECT_EQ(ids_of(listed), (std::vector<std::int64_t>{via_form.id, via_json.id})) << "filtering by a decoded value";
}

TEST_F(ManagementApi, JsonWithACharsetParameterIsAccepted) {
  const std::string body = "{\"username\":" + json_quote(alice.username) + ",\"password\":" +
                           json_quote(alice.password) + "}";
  const auto r = server().request("POST", std::string(management_path) + "GetWebHooks",
                                  {{"Content-Type", "application/json; charset=utf-8"}}, body);
  EXPECT_TRUE(is_success(parse_envelope(r.status, r.body)));
}

// ---- credentials ----------------------------------------------------------------------------

TEST_F(ManagementApi, MissingOrWrongCredentialsGiveLoginFailedBeforeAnyParameterCheck) {
  const param_list create_params{{"app", "x"}, {"event", "optin_finalized"}, {"url", "https://192.0.2.10/l"}};
  // No hashing needed: nothing or half of the credentials.
  for (const char* fn : {"CreateWebHook", "GetWebHooks", "ActivateWebHook", "DeleteWebHookById"}) {
    SCOPED_TRACE(fn);
    for (const auto enc : {encoding::form, encoding::json}) {
      EXPECT_TRUE(is_error(server().call(fn, {}, enc), 1, "login failed"));
      EXPECT_TRUE(is_error(server().call(fn, {{"username", alice.username}}, enc), 1, "login failed"));
      EXPECT_TRUE(is_error(server().call(fn, {{"password", alice.password}}, enc), 1, "login failed"));
    }
  }
  EXPECT_TRUE(is_error(server().call("CreateWebHook", {{"username", alice.username}, {"password", ""}}), 1,
                       "login failed"));
  EXPECT_TRUE(is_error(server().call("CreateWebHook", {{"username", ""}, {"password", alice.password}}), 1,
                       "login failed"));

  // Wrong passwords and unknown users (each costs one hash).
  EXPECT_TRUE(is_error(server().call_as({alice.username, alice.password + "!"}, "CreateWebHook"), 1, "login failed"))
      << "the login is checked before the parameters";
  EXPECT_TRUE(is_error(server().call_as({alice.username, bob.password}, "GetWebHooks"), 1, "login failed"));
  EXPECT_TRUE(is_error(server().call_as({"Alice", alice.password}, "GetWebHooks"), 1, "login failed"))
      << "usernames are case-sensitive";
  EXPECT_TRUE(is_error(server().call_as({"nobody-here", "whatever"}, "DeleteWebHookById", {{"id", "1"}}), 1,
                       "login failed"));

  // Failed attempts do not lock the account or poison anything.
  EXPECT_TRUE(is_success(server().call_as(alice, "GetWebHooks")));
  EXPECT_TRUE(is_error(server().call_as({alice.username, alice.password + "!"}, "GetWebHooks"), 1, "login failed"))
      << "a failed login is never remembered, a successful one is not reused for another password";
}

// ---- GetWebHooks ----------------------------------------------------------------------------

TEST_F(ManagementApi, GetWebHooksListsByIdAndFiltersByAppAndEventExactly) {
  const auto app_a = unique_name("Filter-A");
  const auto app_b = unique_name("Filter-B");
  webhook a1, a2, a3, b1;
  ASSERT_TRUE(create_webhook(server(), alice, app_a, "optin_finalized", "https://192.0.2.10/a1", a1));
  ASSERT_TRUE(create_webhook(server(), alice, app_a, "optout_finalized", "https://192.0.2.10/a2", a2));
  ASSERT_TRUE(create_webhook(server(), alice, app_a, "optin_finalized", "https://192.0.2.10/a3", a3));
  ASSERT_TRUE(create_webhook(server(), alice, app_b, "optin_finalized", "https://192.0.2.10/b1", b1));

  EXPECT_EQ(list(alice, {{"app", app_a}}), (std::vector<webhook>{a1, a2, a3}));
  EXPECT_EQ(list(alice, {{"app", app_a}, {"event", "optin_finalized"}}), (std::vector<webhook>{a1, a3}));
  EXPECT_EQ(list(alice, {{"app", app_a}, {"event", "profilemanager_finalized"}}), std::vector<webhook>{});
  EXPECT_EQ(list(alice, {{"app", app_b}}), std::vector<webhook>{b1});
  EXPECT_TRUE(list(alice, {{"app", "filter-a" + app_a.substr(8)}}).empty()) << "app matches case-sensitively";
  EXPECT_TRUE(list(alice, {{"app", app_a.substr(0, app_a.size() - 1)}}).empty()) << "no prefix match";
  EXPECT_TRUE(list(alice, {{"app", unique_name("no-such-app")}}).empty());

  const auto all = list(alice);
  const auto all_ids = ids_of(all);
  EXPECT_TRUE(std::is_sorted(all_ids.begin(), all_ids.end()));
  EXPECT_EQ(std::set<std::int64_t>(all_ids.begin(), all_ids.end()).size(), all_ids.size()) << "ids are unique";
  for (const auto& h : {a1, a2, a3, b1}) EXPECT_NE(std::find(all.begin(), all.end(), h), all.end()) << h;

  const auto optout = list(alice, {{"event", "optout_finalized"}});
  EXPECT_TRUE(std::all_of(optout.begin(), optout.end(), [](const webhook& h) { return h.event == "optout_finalized"; }));
  EXPECT_NE(std::find(optout.begin(), optout.end(), a2), optout.end());
  const auto optout_ids = ids_of(optout);
  EXPECT_TRUE(std::is_sorted(optout_ids.begin(), optout_ids.end()));

  // Empty filter values mean no filter.
  EXPECT_EQ(ids_of(list(alice, {{"app", ""}})), all_ids);
  EXPECT_EQ(ids_of(list(alice, {{"event", ""}})), all_ids);
  EXPECT_EQ(list(alice, {{"app", app_a}, {"event", ""}}), (std::vector<webhook>{a1, a2, a3}));

  // The same through JSON.
  const auto e = server().call_as(alice, "GetWebHooks", {{"app", app_a}, {"event", "optout_finalized"}}, encoding::json);
  ASSERT_TRUE(is_success(e));
  std::vector<webhook> via_json;
  ASSERT_TRUE(parse_webhook_list(e.result, via_json));
  EXPECT_EQ(via_json, std::vector<webhook>{a2});
}

TEST_F(ManagementApi, GetWebHooksRejectsAnEventThatIsNotConfigured) {
  EXPECT_TRUE(is_error(server().call_as(alice, "GetWebHooks", {{"event", "nope"}}), 3, "invalid parameter: event"));
  EXPECT_TRUE(is_error(server().call_as(alice, "GetWebHooks", {{"event", "nope"}}, encoding::json), 3,
                       "invalid parameter: event"));
}

TEST_F(ManagementApi, IdsArePositiveStrictlyIncreasingAndUnique) {
  const auto app = unique_name("seq");
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    webhook hook;
    ASSERT_TRUE(create_webhook(server(), i % 2 ? alice : bob, app, "optin_finalized",
                               "https://192.0.2.10/seq/" + std::to_string(i), hook));
    ids.push_back(hook.id);
  }
  EXPECT_GT(ids.front(), 0);
  for (std::size_t i = 1; i < ids.size(); ++i)
    EXPECT_GT(ids[i], ids[i - 1]) << "ids increase across accounts too";
}

// ---- ActivateWebHook ------------------------------------------------------------------------

TEST_F(ManagementApi, ActivateWebHookOnAnActiveHookIsANoOpForEveryReplayEventsSpelling) {
  webhook hook;
  ASSERT_TRUE(create_webhook(server(), alice, unique_name("act"), "optin_finalized", "https://192.0.2.10/act", hook));
  const std::string expected = "{\"id\":" + std::to_string(hook.id) +
                               ",\"active\":true,\"replayed\":0,\"discarded\":0}";
  const std::string id = std::to_string(hook.id);

  struct variant {
    encoding enc;
    param_list extra;
  };
  const std::vector<variant> variants{
      {encoding::form, {}},
      {encoding::json, {}},
      {encoding::form, {{"replayEvents", "1"}}},
      {encoding::form, {{"replayEvents", "true"}}},
      {encoding::form, {{"replayEvents", "0"}}},
      {encoding::form, {{"replayEvents", "false"}}},
      {encoding::json, {{"replayEvents", param_value::raw("1")}}},
      {encoding::json, {{"replayEvents", "1"}}},
      {encoding::json, {{"replayEvents", param_value::raw("true")}}},
      {encoding::json, {{"replayEvents", "true"}}},
      {encoding::json, {{"replayEvents", param_value::raw("0")}}},
      {encoding::json, {{"replayEvents", "0"}}},
      {encoding::json, {{"replayEvents", param_value::raw("false")}}},
      {encoding::json, {{"replayEvents", "false"}}},
  };
  for (const auto& v : variants) {
    param_list params{{"id", id}};
    params.insert(params.end(), v.extra.begin(), v.extra.end());
    SCOPED_TRACE(encode_params(params, v.enc));
    const auto e = server().call_as(alice, "ActivateWebHook", params, v.enc);
    ASSERT_TRUE(is_success(e));
    EXPECT_TRUE(same_json_object(e.result, expected));
  }
  const auto listed = list(alice, {{"app", hook.app}});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0], hook) << "activating an active hook changes nothing";
}

TEST_F(ManagementApi, ActivateWebHookRejectsOtherReplayEventsValues) {
  webhook hook;
  ASSERT_TRUE(create_webhook(server(), alice, unique_name("replay"), "optin_finalized", "https://192.0.2.10/r", hook));
  const std::string id = std::to_string(hook.id);
  for (const char* v : {"yes", "2", "", "on", "truee", "-1"}) {
    SCOPED_TRACE(std::string("form replayEvents=\"") + v + "\"");
    EXPECT_TRUE(is_error(server().call_as(alice, "ActivateWebHook", {{"id", id}, {"replayEvents", v}}), 3,
                         "invalid parameter: replayEvents"));
  }
  for (const char* raw : {"2", "\"yes\"", "[]", "{}", "1.5"}) {
    SCOPED_TRACE(std::string("json replayEvents ") + raw);
    EXPECT_TRUE(is_error(server().call_as(alice, "ActivateWebHook", {{"id", id}, {"replayEvents", param_value::raw(raw)}},
                                          encoding::json),
                         3, "invalid parameter: replayEvents"));
  }
  // id comes first.
  EXPECT_TRUE(is_error(server().call_as(alice, "ActivateWebHook", {{"id", "abc"}, {"replayEvents", "yes"}}), 3,
                       "invalid parameter: id"));
  EXPECT_TRUE(is_error(server().call_as(alice, "ActivateWebHook", {{"replayEvents", "yes"}}), 2,
                       "missing parameter: id"));
}

// ---- ids -------------------------------------------------------------------------------------

TEST_F(ManagementApi, IdMustBeAPositiveInteger) {
  webhook hook;
  ASSERT_TRUE(create_webhook(server(), alice, unique_name("ids"), "optin_finalized", "https://192.0.2.10/i", hook));
  for (const char* fn : {"ActivateWebHook", "DeleteWebHookById"}) {
    SCOPED_TRACE(fn);
    EXPECT_TRUE(is_error(server().call_as(alice, fn, {}), 2, "missing parameter: id"));
    EXPECT_TRUE(is_error(server().call_as(alice, fn, {}, encoding::json), 2, "missing parameter: id"));
    for (const char* bad : {"abc", "0", "-3", "1.5", "", "1e3", "0x10", "17abc"}) {
      SCOPED_TRACE(std::string("form id=\"") + bad + "\"");
      EXPECT_TRUE(is_error(server().call_as(alice, fn, {{"id", bad}}), 3, "invalid parameter: id"));
    }
    for (const char* raw : {"0", "-3", "1.5", "\"abc\"", "\"0\"", "\"-3\"", "true", "[1]", "{}"}) {
      SCOPED_TRACE(std::string("json id ") + raw);
      EXPECT_TRUE(is_error(server().call_as(alice, fn, {{"id", param_value::raw(raw)}}, encoding::json), 3,
                           "invalid parameter: id"));
    }
  }
  const auto listed = list(alice, {{"app", hook.app}});
  ASSERT_EQ(listed.size(), 1u) << "invalid calls deleted the hook";
  EXPECT_EQ(listed[0], hook);
}

TEST_F(ManagementApi, IdIsAcceptedAsJsonNumberJsonStringAndFormString) {
  webhook hook;
  ASSERT_TRUE(create_webhook(server(), alice, unique_name("idform"), "optin_finalized", "https://192.0.2.10/n", hook));
  const std::string id = std::to_string(hook.id);
  const std::string activated = "{\"id\":" + id + ",\"active\":true,\"replayed\":0,\"discarded\":0}";

  auto e = server().call_as(alice, "ActivateWebHook", {{"id", param_value::raw(id)}}, encoding::json);
  ASSERT_TRUE(is_success(e));
  EXPECT_TRUE(same_json_object(e.result, activated));
  e = server().call_as(alice, "ActivateWebHook", {{"id", id}}, encoding::json);
  ASSERT_TRUE(is_success(e));
  EXPECT_TRUE(same_json_object(e.result, activated));
  e = server().call_as(alice, "ActivateWebHook", {{"id", id}}, encoding::form);
  ASSERT_TRUE(is_success(e));
  EXPECT_TRUE(same_json_object(e.result, activated));

  e = server().call_as(alice, "DeleteWebHookById", {{"id", param_value::raw(id)}}, encoding::json);
  ASSERT_TRUE(is_success(e));
  EXPECT_TRUE(same_json_object(e.result, "{\"id\":" + id + ",\"deleted\":true}"));
}

// ---- DeleteWebHookById ------------------------------------------------------------------------

TEST_F(ManagementApi, DeleteWebHookByIdRemovesTheHookOnce) {
  const auto app = unique_name("del");
  webhook keep, gone;
  ASSERT_TRUE(create_webhook(server(), alice, app, "optin_finalized", "https://192.0.2.10/keep", keep));
  ASSERT_TRUE(create_webhook(server(), alice, app, "optin_finalized", "https://192.0.2.10/gone", gone));
  const std::string id = std::to_string(gone.id);

  const auto e = server().call_as(alice, "DeleteWebHookById", {{"id", id}});
  ASSERT_TRUE(is_success(e));
  EXPECT_TRUE(same_json_object(e.result, "{\"id\":" + id + ",\"deleted\":true}"));

  EXPECT_EQ(list(alice, {{"app", app}}), std::vector<webhook>{keep});
  const auto all = list(alice);
  EXPECT_TRUE(std::none_of(all.begin(), all.end(), [&](const webhook& h) { return h.id == gone.id; }));

  EXPECT_TRUE(is_error(server().call_as(alice, "DeleteWebHookById", {{"id", id}}), 4, "webhook not found"));
  EXPECT_TRUE(is_error(server().call_as(alice, "DeleteWebHookById", {{"id", id}}, encoding::json), 4,
                       "webhook not found"));
  EXPECT_TRUE(is_error(server().call_as(alice, "ActivateWebHook", {{"id", id}}), 4, "webhook not found"));
  EXPECT_TRUE(is_error(server().call_as(alice, "DeleteWebHookById", {{"id", std::to_string(gone.id + 1000000)}}), 4,
                       "webhook not found"));
  EXPECT_TRUE(is_error(server().call_as(alice, "ActivateWebHook", {{"id", std::to_string(gone.id + 1000000)}}), 4,
                       "webhook not found"));
}

// ---- isolation ---------------------------------------------------------------------------------

TEST_F(ManagementApi, AccountsCannotSeeActivateOrDeleteEachOthersHooks) {
  const auto app = unique_name("shared-app-name");
  webhook of_alice, of_bob;
  ASSERT_TRUE(create_webhook(server(), alice, app, "optin_finalized", "https://192.0.2.10/alice", of_alice));
  ASSERT_TRUE(create_webhook(server(), bob, app, "optin_finalized", "https://192.0.2.10/bob", of_bob));

  EXPECT_EQ(list(bob, {{"app", app}}), std::vector<webhook>{of_bob});
  EXPECT_EQ(list(alice, {{"app", app}}), std::vector<webhook>{of_alice});
  const auto bobs = list(bob);
  EXPECT_TRUE(std::none_of(bobs.begin(), bobs.end(), [&](const webhook& h) { return h.id == of_alice.id; }));
  const auto alices = list(alice);
  EXPECT_TRUE(std::none_of(alices.begin(), alices.end(), [&](const webhook& h) { return h.id == of_bob.id; }));

  const std::string alice_id = std::to_string(of_alice.id);
  EXPECT_TRUE(is_error(server().call_as(bob, "ActivateWebHook", {{"id", alice_id}}), 4, "webhook not found"));
  EXPECT_TRUE(is_error(server().call_as(bob, "ActivateWebHook", {{"id", alice_id}, {"replayEvents", "1"}}), 4,
                       "webhook not found"));
  EXPECT_TRUE(is_error(server().call_as(bob, "DeleteWebHookById", {{"id", alice_id}}), 4, "webhook not found"));
  EXPECT_EQ(list(alice, {{"app", app}}), std::vector<webhook>{of_alice}) << "bob's attempts changed nothing";
}

// ---- GetNotifications / GetWebHookAttempts (no events are ever posted here) -------------------

TEST_F(ManagementApi, GetWebHookAttemptsValidatesIdAndLimitAndIsEmptyForANewHook) {
  webhook hook;
  ASSERT_TRUE(create_webhook(server(), alice, unique_name("attempts"), "optin_finalized", "https://192.0.2.10/at", hook));
  const std::string id = std::to_string(hook.id);

  for (const auto& [enc, params] : std::vector<std::pair<encoding, param_list>>{
           {encoding::form, {{"id", id}}},
           {encoding::form, {{"id", id}, {"limit", "10"}}},
           {encoding::form, {{"id", id}, {"limit", "5000"}}},
           {encoding::json, {{"id", param_value::raw(id)}, {"limit", param_value::raw("10")}}},
           {encoding::json, {{"id", id}, {"limit", "1000"}}},
       }) {
    SCOPED_TRACE(encode_params(params, enc));
    const auto e = server().call_as(alice, "GetWebHookAttempts", params, enc);
    ASSERT_TRUE(is_success(e));
    EXPECT_EQ(e.result, "[]");
  }
  EXPECT_TRUE(is_error(server().call_as(alice, "GetWebHookAttempts", {}), 2, "missing parameter: id"));
  EXPECT_TRUE(is_error(server().call_as(alice, "GetWebHookAttempts", {{"id", "abc"}}), 3, "invalid parameter: id"));
  EXPECT_TRUE(is_error(server().call_as(alice, "GetWebHookAttempts", {{"id", "0"}, {"limit", "abc"}}), 3,
                       "invalid parameter: id"));
  for (const char* bad : {"abc", "-5"}) {
    SCOPED_TRACE(std::string("limit=") + bad);
    EXPECT_TRUE(is_error(server().call_as(alice, "GetWebHookAttempts", {{"id", id}, {"limit", bad}}), 3,
                         "invalid parameter: limit"));
  }
  EXPECT_TRUE(is_error(server().call_as(alice, "GetWebHookAttempts", {{"id", id}, {"limit", param_value::raw("true")}},
                                        encoding::json),
                       3, "invalid parameter: limit"));
  EXPECT_TRUE(is_error(server().call_as(bob, "GetWebHookAttempts", {{"id", id}}), 4, "webhook not found"))
      << "another account's hook";
  EXPECT_TRUE(is_success(server().call_as(alice, "DeleteWebHookById", {{"id", id}})));
  EXPECT_TRUE(is_error(server().call_as(alice, "GetWebHookAttempts", {{"id", id}}), 4, "webhook not found"));
  EXPECT_TRUE(is_error(server().call("GetWebHookAttempts", {{"id", id}}), 1, "login failed"));
}

// ---- HTTP level -----------------------------------------------------------------------------

TEST_F(ManagementApi, UnknownFunctionAnswers404WithAnEnvelope) {
  for (const char* fn : {"NoSuchFunction", "CreateWebHooks", "GetWebHook"}) {
    SCOPED_TRACE(fn);
    for (const bool with_credentials : {false, true}) {
      const auto e = with_credentials ? server().call_as(alice, fn, {}) : server().call(fn, {});
      EXPECT_EQ(e.http_status, 404) << e.body;
      ASSERT_TRUE(e.well_formed()) << e.problem;
      EXPECT_EQ(e.error, 3);
      EXPECT_FALSE(e.message.empty());
      EXPECT_TRUE(e.result_is_null()) << e.body;
    }
  }
}

TEST_F(ManagementApi, MethodsOtherThanPostAnswer405WithAnEnvelope) {
  for (const char* method : {"GET", "PUT", "DELETE"}) {
    SCOPED_TRACE(method);
    const auto r = server().request(method, std::string(management_path) + "GetWebHooks",
                                    {{"Content-Type", "application/x-www-form-urlencoded"}},
                                    std::string(method) == "GET" ? "" : form_encode({{"username", alice.username},
                                                                                       {"password", alice.password}}));
    const auto e = parse_envelope(r.status, r.body);
    EXPECT_EQ(e.http_status, 405) << e.body;
    ASSERT_TRUE(e.well_formed()) << e.problem;
    EXPECT_EQ(e.error, 3);
    EXPECT_FALSE(e.message.empty());
    EXPECT_TRUE(e.result_is_null()) << e.body;
    const auto allow = r.header("Allow");
    ASSERT_TRUE(allow.has_value()) << "a 405 names the allowed method";
    EXPECT_NE(allow->find("POST"), std::string::npos) << *allow;
  }
}

TEST_F(ManagementApi, AnUndecodableBodyIsInvalidParameterBodyEvenWithoutCredentials) {
  auto raw = [&](std::string_view content_type, std::string_view body) {
    const auto r = server().request("POST", std::string(management_path) + "CreateWebHook",
                                    {{"Content-Type", std::string(content_type)}}, body);
    return parse_envelope(r.status, r.body);
  };
  const std::string creds_json = "\"username\":" + json_quote(alice.username) + ",\"password\":" +
                                 json_quote(alice.password);
  const std::string creds_form = form_encode({{"username", alice.username}, {"password", alice.password}});
  EXPECT_TRUE(is_error(raw("application/json", "{\"username\":"), 3, "invalid parameter: body"));
  EXPECT_TRUE(is_error(raw("application/json", "{" + creds_json + ",\"app\":"), 3, "invalid parameter: body"));
  EXPECT_TRUE(is_error(raw("application/json", "{" + creds_json + ",\"app\":\"x\"} trailing"), 3,
                       "invalid parameter: body"));
  EXPECT_TRUE(is_error(raw("application/json", "{'username':'alice'}"), 3, "invalid parameter: body"));
  EXPECT_TRUE(is_error(raw("application/x-www-form-urlencoded", "username=%zz"), 3, "invalid parameter: body"));
  EXPECT_TRUE(is_error(raw("application/x-www-form-urlencoded", creds_form + "&app=%4"), 3, "invalid parameter: body"));
  EXPECT_TRUE(is_error(raw("application/x-www-form-urlencoded", creds_form + "&app=ok%"), 3,
                       "invalid parameter: body"));
  EXPECT_TRUE(list(alice, {{"app", "ok"}}).empty());
  EXPECT_TRUE(list(alice, {{"app", "x"}}).empty());
}

// A server with a small --max-body of its own.
TEST(ManagementApiLimits, BodyOverMaxBodyAnswers413WithAnEnvelope) {
  server_options options;
  options.extra_args = {"--max-body", "2048"};
  server_process server(options);

  // Bodies without credentials: within the limit they get as far as the login check.
  auto body_of_size = [](std::size_t size) {
    std::string body = "app=";
    body += std::string(size - body.size(), 'a');
    return body;
  };
  auto post = [&](const std::string& body, const char* content_type = "application/x-www-form-urlencoded") {
    const auto r = server.request("POST", std::string(management_path) + "CreateWebHook",
                                  {{"Content-Type", content_type}}, body);
    return parse_envelope(r.status, r.body);
  };

  EXPECT_TRUE(is_error(post(body_of_size(2048)), 1, "login failed")) << "2048 bytes is within --max-body 2048";
  for (const std::size_t size : {std::size_t{2049}, std::size_t{4096}, std::size_t{300000}}) {
    SCOPED_TRACE(std::to_string(size) + " bytes");
    const auto e = post(body_of_size(size));
    EXPECT_EQ(e.http_status, 413) << e.body;
    ASSERT_TRUE(e.well_formed()) << e.problem;
    EXPECT_EQ(e.error, 3);
    EXPECT_FALSE(e.message.empty());
    EXPECT_TRUE(e.result_is_null()) << e.body;
  }
  const std::string json = "{\"app\":\"" + std::string(3000, 'j') + "\"}";
  EXPECT_EQ(post(json, "application/json").http_status, 413);
  EXPECT_TRUE(is_error(post("app=small"), 1, "login failed")) << "the server keeps serving";
  EXPECT_EQ(server.terminate(), 0);
}

TEST(ManagementApiPrivateTargets, AllowPrivateTargetsAcceptsLoopbackUrls) {
  server_options options;
  options.extra_args = {"--allow-private-targets"};
  server_process server(options);
  ASSERT_EQ(server.create_account("local-user", "local-pass").status, 201);
  const credentials who{"local-user", "local-pass"};
  for (const char* url : {"http://127.0.0.1:9/x", "http://localhost:9/y", "http://10.0.0.1/z"}) {
    SCOPED_TRACE(url);
    webhook hook;
    ASSERT_TRUE(create_webhook(server, who, "local", "optin_finalized", url, hook));
    EXPECT_EQ(hook.url, url);
  }
  EXPECT_TRUE(is_error(server.call_as(who, "CreateWebHook",
                                      {{"app", "local"}, {"event", "optin_finalized"}, {"url", "ftp://127.0.0.1/"}}),
                       3, "invalid parameter: url"))
      << "the scheme rule still holds";
  EXPECT_EQ(server.terminate(), 0);
}

}  // namespace
}  // namespace hookwerk::system_test
