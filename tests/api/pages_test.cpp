#include <gtest/gtest.h>

#include "api/error_table.hpp"
#include "api/pages.hpp"
#include "api/views.hpp"

namespace hookwerk::api {
namespace {

TEST(html, escapes_everything_that_could_break_out) {
  EXPECT_EQ(html_escape(R"(<script>alert("x" & 'y')</script>)"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;");
  EXPECT_EQ(html_escape("plain"), "plain");
}

TEST(html, activation_page_escapes_user_values_and_has_both_buttons) {
  notification_page page;
  page.note.id = 5;
  page.note.reason = "HTTP 503";
  page.hook.record.id = 17;
  page.hook.record.app = "<b>app</b>";
  page.hook.record.url = "https://x.invalid/?a=1&b=\"2\"";
  page.hook.record.last_error = "<img src=x onerror=alert(1)>";
  page.hook.record.active = false;
  page.hook.buffered_events = 4;
  auto res = activation_page(page, "tok\"en");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(res.body.find("<b>app</b>"), std::string::npos);
  EXPECT_EQ(res.body.find("<img"), std::string::npos);
  EXPECT_NE(res.body.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(res.body.find("https://x.invalid/?a=1&amp;b=&quot;2&quot;"), std::string::npos);
  EXPECT_NE(res.body.find(">Reactivate</button>"), std::string::npos);
  EXPECT_NE(res.body.find(">Reactivate and deliver 4 buffered events</button>"), std::string::npos);
  EXPECT_NE(res.body.find("action=\"/notifications/5/activate\""), std::string::npos);
  EXPECT_NE(res.body.find("value=\"tok&quot;en\""), std::string::npos);
}

TEST(html, expired_link_page_is_a_410_that_says_so) {
  auto res = activation_expired_page();
  EXPECT_EQ(res.status, 410u);
  EXPECT_EQ(res.content_type, "text/html; charset=utf-8");
  EXPECT_NE(res.body.find("<h1>This link has expired</h1>"), std::string::npos);
  EXPECT_EQ(res.body.find("<form"), std::string::npos);
  bool no_store = false;
  for (const auto& [name, value] : res.headers)
    no_store = no_store || (name == "Cache-Control" && value == "no-store");
  EXPECT_TRUE(no_store);
}

TEST(error_table, bounds_map_to_error_3_and_to_413_or_410) {
  EXPECT_EQ(envelope_error(errc::limit_exceeded), mw_error::invalid_parameter);
  EXPECT_EQ(http_status(errc::limit_exceeded), 413u);
  EXPECT_EQ(http_status(errc::expired), 410u);
}

TEST(error_table, maps_codes_to_envelope_numbers_and_http_statuses) {
  EXPECT_EQ(envelope_error(errc::login_failed), mw_error::login_failed);
  EXPECT_EQ(envelope_error(errc::missing_parameter), mw_error::missing_parameter);
  EXPECT_EQ(envelope_error(errc::invalid_parameter), mw_error::invalid_parameter);
  EXPECT_EQ(envelope_error(errc::not_found), mw_error::webhook_not_found);
  EXPECT_EQ(envelope_error(errc::target_not_allowed), mw_error::target_not_allowed);
  EXPECT_EQ(envelope_error(errc::storage_failed), mw_error::internal);
  EXPECT_EQ(envelope_message(mw_error::missing_parameter, "url"), "missing parameter: url");
  EXPECT_EQ(envelope_message(mw_error::invalid_parameter, "id"), "invalid parameter: id");
  EXPECT_EQ(envelope_message(mw_error::ok), "successfully executed");
  EXPECT_EQ(envelope_message(mw_error::webhook_not_found), "webhook not found");
  EXPECT_EQ(http_status(errc::already_exists), 409u);
  EXPECT_EQ(http_status(errc::login_failed), 401u);
  EXPECT_EQ(http_status(errc::overloaded), 503u);
  EXPECT_EQ(http_status(errc::storage_unavailable), 503u);
  EXPECT_EQ(envelope_error(errc::storage_unavailable), mw_error::internal);
  EXPECT_EQ(http_status(errc::internal), 500u);
}

TEST(error_table, rejections_use_the_envelope_under_the_management_prefix) {
  auto mgmt = rejection("/webservice/webservice/json/CreateWebHook", 413, "too large");
  EXPECT_EQ(mgmt.status, 413u);
  EXPECT_EQ(mgmt.body, R"({"error":3,"message":"too large","result":null})");
  auto other = rejection("/v1/events", 413, "too large");
  EXPECT_EQ(other.body, R"({"error":"too large"})");
}

TEST(views, webhook_object_has_every_field_in_order) {
  hook_view v;
  v.record.id = 17;
  v.record.app = "zapier";
  v.record.event = "optin_finalized";
  v.record.url = "https://x.invalid/";
  v.record.created_at_ms = 1795766400000;  // 2026-11-27T08:00:00Z
  v.record.secret = "whsec_abc";
  EXPECT_EQ(hook_json(v),
            R"({"id":17,"app":"zapier","event":"optin_finalized","url":"https://x.invalid/",)"
            R"("active":true,"created_at":"2026-11-27T08:00:00Z","deactivated_at":null,)"
            R"("consecutive_failures":0,"last_error":null,"buffered_events":0,)"
            R"("pending_events":0,"secret":"whsec_abc"})");
}

TEST(views, used_notification_links_are_null) {
  storage::notification_record n;
  n.id = 5;
  n.kind = "webhook_deactivated";
  n.webhook_id = 17;
  n.token = "abc";
  auto with = notifications_json({n}, "http://h:1");
  EXPECT_NE(with.find(R"("activate_url":"http://h:1/notifications/5/activate?token=abc")"),
            std::string::npos);
  n.token.clear();
  EXPECT_NE(notifications_json({n}, "http://h:1").find(R"("activate_url":null)"), std::string::npos);
}

} // namespace
} // namespace hookwerk::api
