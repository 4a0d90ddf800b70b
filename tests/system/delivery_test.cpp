// SPEC §5 (and §3 GetWebHookAttempts): what a receiver gets — the request format and the
// Standard Webhooks signature, routing to the right hooks, batches, retries with their attempt
// log and failure counters, and Retry-After.
#include "system/delivery_support.hpp"
#include "system/harness.hpp"
#include "system/receiver.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace hookwerk::system_test {
namespace {

constexpr auto arrival_timeout = 30s;

std::chrono::milliseconds ms_between(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from);
}

class Delivery : public two_account_suite<Delivery> {
public:
  static server_options options() { return delivery_server_options("100ms,200ms,300ms"); }
};

// ---- format -------------------------------------------------------------------------------------

TEST_F(Delivery, AnEventArrivesByteForByteWithTheStandardWebhooksHeadersAndAValidSignature) {
  receiver rx;
  hook_cleanup cleanup(server());
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, "optin_finalized", rx.url("/in/hook?x=1&y=a%20b"), hook));

  // Odd whitespace, escapes, raw UTF-8, nesting and a number beyond 64 bits: all must survive.
  const std::string payload =
      "{ \"subscriber_id\" :\t7 ,\n  \"name\":\"J\\u00fcrgen \\u2603 \\ud83d\\ude00\",\r\n"
      "  \"nested\" : [ [1, [2, [3, []]]], {\"a\" : [ ] , \"b\":{}}, [ ] ],\n"
      "  \"big\": 12345678901234567890, \"float\": -1.5E+300, \"neg\": -0.0,\n"
      "  \"text\":\"tab\\tquote\\\" backslash\\\\ slash\\/ \xc3\x9c\x62\x65r \xe2\x82\xac\",  \"t\":true,\"n\":null   }";

  const auto before = unix_now();
  accepted_event ev;
  ASSERT_TRUE(post_event(server(), acme.username, "optin_finalized", payload, ev));
  EXPECT_EQ(ev.webhooks, 1);
  ASSERT_TRUE(rx.wait_for_count(1, arrival_timeout)) << "nothing arrived";
  const auto r = rx.requests().front();
  const auto after = unix_now();

  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/in/hook?x=1&y=a%20b") << "the hook URL's path and query";
  EXPECT_EQ(r.body, payload) << "the payload byte for byte";
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_TRUE(std::regex_match(r.header_or_empty("User-Agent"), std::regex(R"(Hookwerk/\S+)")))
      << "User-Agent: " << r.header_or_empty("User-Agent");
  EXPECT_EQ(r.header("webhook-id"), ev.id) << "webhook-id is the event id from the 202";
  const auto ts_text = r.header_or_empty("webhook-timestamp");
  ASSERT_TRUE(std::regex_match(ts_text, std::regex("[0-9]{1,12}"))) << "webhook-timestamp: " << ts_text;
  const auto ts = std::stoll(ts_text);
  EXPECT_GE(ts, before - 60) << "unix seconds of the attempt";
  EXPECT_LE(ts, after + 60) << "unix seconds of the attempt";
  EXPECT_TRUE(std::regex_match(r.header_or_empty("webhook-signature"), std::regex("v1,[A-Za-z0-9+/]{43}=")))
      << "webhook-signature: " << r.header_or_empty("webhook-signature");
  EXPECT_EQ(r.header("X-Hookwerk-Event"), "optin_finalized");
  EXPECT_EQ(r.header("X-Hookwerk-Webhook-Id"), std::to_string(hook.id));
  EXPECT_EQ(r.header("X-Hookwerk-Attempt"), "1");

  EXPECT_TRUE(signature_valid(hook.secret, r));
  std::string tampered = r.body;
  tampered.replace(tampered.find("12345678901234567890"), 20, "12345678901234567891");
  EXPECT_TRUE(signature_rejects(hook.secret, r, tampered)) << "the check itself can fail";
  webhook other_hook;
  ASSERT_TRUE(add_hook(server(), cleanup, other, "optout_finalized", rx.url("/unused"), other_hook));
  const auto with_other_secret = verify_signature(other_hook.secret, r);
  EXPECT_EQ(with_other_secret.exit_code, 1) << "another hook's secret does not verify it: "
                                            << with_other_secret.output;
}

// ---- routing ------------------------------------------------------------------------------------

TEST_F(Delivery, OnlyTheHooksOfThatAccountAndEventReceiveIt) {
  receiver rx_a1, rx_a2, rx_a_other_event, rx_b;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  const auto other_event = fresh_event();
  webhook a1, a2, a_other_event, b;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx_a1.url("/a1"), a1));
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx_a2.url("/a2"), a2));
  ASSERT_TRUE(add_hook(server(), cleanup, acme, other_event, rx_a_other_event.url("/a3"), a_other_event));
  ASSERT_TRUE(add_hook(server(), cleanup, other, event, rx_b.url("/b"), b));
  // One ordering key for everything: a misrouted copy of the first event would have to reach a
  // hook before that hook's marker.
  const std::string key = "routing";

  accepted_event ev;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"seq":1})", ev, std::nullopt, key));
  EXPECT_EQ(ev.webhooks, 2);

  accepted_event marker_a, marker_a_other_event, marker_b;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"marker":"a"})", marker_a, std::nullopt, key));
  ASSERT_TRUE(post_event(server(), acme.username, other_event, R"({"marker":"a3"})", marker_a_other_event,
                         std::nullopt, key));
  ASSERT_TRUE(post_event(server(), other.username, event, R"({"marker":"b"})", marker_b, std::nullopt, key));

  const std::vector<std::pair<receiver*, std::vector<std::string>>> expected{
      {&rx_a1, {ev.id, marker_a.id}},
      {&rx_a2, {ev.id, marker_a.id}},
      {&rx_a_other_event, {marker_a_other_event.id}},
      {&rx_b, {marker_b.id}},
  };
  for (const auto& [rx, ids] : expected) {
    ASSERT_TRUE(rx->wait_until([&](const auto& all) { return all_delivered(all, ids); }, arrival_timeout))
        << "at " << rx->url() << ": " << describe(rx->requests());
    std::vector<std::string> got;
    for (const auto& r : rx->requests()) got.push_back(r.header_or_empty("webhook-id"));
    EXPECT_EQ(got, ids) << "exactly these events, in this order, at " << rx->url();
  }

  // Each of the two hooks gets its own copy, signed with its own secret.
  const auto at_a1 = with_webhook_id(rx_a1.requests(), ev.id);
  const auto at_a2 = with_webhook_id(rx_a2.requests(), ev.id);
  ASSERT_EQ(at_a1.size(), 1u);
  ASSERT_EQ(at_a2.size(), 1u);
  EXPECT_EQ(at_a1[0].header("X-Hookwerk-Webhook-Id"), std::to_string(a1.id));
  EXPECT_EQ(at_a2[0].header("X-Hookwerk-Webhook-Id"), std::to_string(a2.id));
  EXPECT_EQ(at_a1[0].target, "/a1");
  EXPECT_EQ(at_a2[0].target, "/a2");
  EXPECT_TRUE(signature_valid(a1.secret, at_a1[0]));
  EXPECT_TRUE(signature_valid(a2.secret, at_a2[0]));
}

TEST_F(Delivery, BatchesOfFiftyAllArrive) {
  receiver rx;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url(), hook));

  std::map<std::string, std::string> payload_of;  // event id -> payload
  for (const bool as_ndjson : {false, true}) {
    SCOPED_TRACE(as_ndjson ? "NDJSON" : "JSON array");
    std::vector<std::string> payloads;
    std::string body = as_ndjson ? "" : "[";
    for (int i = 0; i < 50; ++i) {
      payloads.push_back("{\"seq\":" + std::to_string(i) + ",\"batch\":\"" + (as_ndjson ? "ndjson" : "array") +
                         "\",\"subscriber_id\":" + std::to_string(1000 + i) + "}");
      const auto line = event_json(acme.username, event, payloads.back());
      body += as_ndjson ? line + "\n" : (i ? "," : "") + line;
    }
    if (!as_ndjson) body += "]";
    std::vector<std::string> ids;
    ASSERT_TRUE(parse_accepted_batch(ingest(server(), body, as_ndjson ? ndjson_type : json_type), 50, ids));
    for (std::size_t i = 0; i < ids.size(); ++i) payload_of[ids[i]] = payloads[i];
  }
  ASSERT_EQ(payload_of.size(), 100u) << "100 distinct event ids";

  std::vector<std::string> all_ids;
  for (const auto& [id, _] : payload_of) all_ids.push_back(id);
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, all_ids); }, arrival_timeout))
      << delivered_ids(rx.requests()).size() << " of 100 delivered; " << describe(rx.requests());
  for (const auto& r : rx.requests()) {
    const auto id = r.header_or_empty("webhook-id");
    ASSERT_TRUE(payload_of.count(id)) << "an unknown webhook-id arrived: " << id;
    EXPECT_EQ(r.body, payload_of[id]) << "the payload of " << id;
  }
}

// ---- retries ------------------------------------------------------------------------------------

TEST_F(Delivery, AFailedEventIsRetriedWithTheSameWebhookIdUntilItSucceeds) {
  receiver rx;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url(), hook));
  rx.enqueue_statuses({500, 500});  // then the default 200
  const std::string key = "retry";

  accepted_event ev;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"seq":1,"retry":true})", ev, std::nullopt, key));
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, {ev.id}); }, arrival_timeout))
      << describe(rx.requests());

  const auto got = rx.requests();
  ASSERT_EQ(got.size(), 3u) << describe(got);
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i + 1));
    EXPECT_EQ(got[i].header("webhook-id"), ev.id) << "the same webhook-id on every attempt";
    EXPECT_EQ(got[i].header("X-Hookwerk-Attempt"), std::to_string(i + 1));
    EXPECT_EQ(got[i].body, R"({"seq":1,"retry":true})");
    EXPECT_EQ(got[i].answered, i < 2 ? 500 : 200);
  }
  EXPECT_TRUE(signature_valid(hook.secret, got[2])) << "the retry is signed too";

  // The attempt log, newest first.
  std::vector<attempt_record> attempts;
  ASSERT_TRUE(eventually(
      [&] {
        std::vector<attempt_record> now;
        if (!get_attempts(server(), acme, hook.id, now)) return false;
        attempts = now;
        return attempts.size() >= 3;
      },
      arrival_timeout))
      << "GetWebHookAttempts should list the three attempts; it has " << attempts.size();
  ASSERT_EQ(attempts.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& a = attempts[i];
    SCOPED_TRACE(::testing::PrintToString(i) + ": " + ::testing::PrintToString(a.attempt));
    EXPECT_EQ(a.event_id, ev.id);
    EXPECT_EQ(a.attempt, static_cast<std::int64_t>(3 - i)) << "newest first";
    const auto at = parse_rfc3339_utc(a.at);
    EXPECT_TRUE(at.has_value()) << "`at` is YYYY-MM-DDTHH:MM:SSZ: " << a.at;
    if (at) {
      EXPECT_LE(std::abs(*at - unix_now()), 120) << a.at;
    }
    EXPECT_GE(a.duration_ms, 0);
  }
  EXPECT_EQ(attempts[0].http_status, std::optional<std::int64_t>(200));
  EXPECT_EQ(attempts[0].error, std::nullopt);
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(attempts[i].http_status, std::optional<std::int64_t>(500));
    EXPECT_EQ(attempts[i].error, std::optional<std::string>("HTTP 500"));
  }
  if (auto t0 = parse_rfc3339_utc(attempts[0].at), t2 = parse_rfc3339_utc(attempts[2].at); t0 && t2) {
    EXPECT_GE(*t0, *t2) << "newest first";
  }

  webhook now;
  ASSERT_TRUE(eventually([&] { return get_webhook(server(), acme, hook.id, now) && now.consecutive_failures == 0; },
                         arrival_timeout));
  EXPECT_EQ(now.consecutive_failures, 0) << "the success reset the count";
  EXPECT_EQ(now.last_error, std::optional<std::string>("HTTP 500"));
  EXPECT_TRUE(now.active);
  EXPECT_EQ(now.pending_events, 0);

  // No fourth request: a later event with the same key arrives while the first never comes again.
  accepted_event marker;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"marker":true})", marker, std::nullopt, key));
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, {marker.id}); }, arrival_timeout));
  EXPECT_EQ(count_with_webhook_id(rx.requests(), ev.id), 3u) << describe(rx.requests());
}

TEST_F(Delivery, AHookThatKeepsFailingCountsConsecutiveFailuresAndKeepsTheEventPending) {
  receiver rx;
  rx.set_default_status(500);
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url(), hook));

  accepted_event ev;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"seq":1})", ev));

  webhook first;
  ASSERT_TRUE(eventually(
      [&] { return get_webhook(server(), acme, hook.id, first) && first.consecutive_failures >= 2; }, arrival_timeout))
      << first;
  EXPECT_TRUE(first.active) << "far below --failure-threshold 1000";
  EXPECT_EQ(first.pending_events, 1) << first;
  EXPECT_EQ(first.buffered_events, 0) << first;
  EXPECT_EQ(first.last_error, std::optional<std::string>("HTTP 500")) << first;

  webhook later;
  ASSERT_TRUE(eventually(
      [&] {
        return get_webhook(server(), acme, hook.id, later) && later.consecutive_failures >= first.consecutive_failures + 2;
      },
      arrival_timeout))
      << "the count keeps growing: " << first.consecutive_failures << " then " << later.consecutive_failures;
  EXPECT_EQ(later.pending_events, 1) << later;
  EXPECT_TRUE(later.active);

  // Every request was the same event, attempt 1, 2, 3, … in turn.
  const auto got = rx.requests();
  ASSERT_GE(got.size(), 4u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].header("webhook-id"), ev.id);
    EXPECT_EQ(got[i].header("X-Hookwerk-Attempt"), std::to_string(i + 1)) << describe(got);
  }

  std::vector<attempt_record> attempts;
  ASSERT_TRUE(get_attempts(server(), acme, hook.id, attempts));
  ASSERT_GE(attempts.size(), 4u);
  for (std::size_t i = 0; i + 1 < attempts.size(); ++i)
    EXPECT_EQ(attempts[i].attempt, attempts[i + 1].attempt + 1) << "newest first, one per attempt";
  for (const auto& a : attempts) {
    EXPECT_EQ(a.event_id, ev.id);
    EXPECT_EQ(a.http_status, std::optional<std::int64_t>(500)) << a;
    EXPECT_EQ(a.error, std::optional<std::string>("HTTP 500")) << a;
  }
}

// ---- GetWebHookAttempts ---------------------------------------------------------------------------

TEST_F(Delivery, GetWebHookAttemptsChecksItsParametersAndHonoursLimit) {
  receiver rx, rx_second;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  webhook hook, second, others;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url(), hook));
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx_second.url(), second));
  ASSERT_TRUE(add_hook(server(), cleanup, other, fresh_event(), rx.url("/other"), others));

  const auto call = [&](const credentials& who, const param_list& params, encoding enc = encoding::form) {
    return server().call_as(who, "GetWebHookAttempts", params, enc);
  };
  const auto id = std::to_string(hook.id);

  // A hook without attempts yet.
  {
    std::vector<attempt_record> none;
    ASSERT_TRUE(get_attempts(server(), other, others.id, none));
    EXPECT_TRUE(none.empty());
  }

  for (const auto enc : {encoding::form, encoding::json}) {
    SCOPED_TRACE(to_string(enc));
    EXPECT_TRUE(is_error(call(acme, {}, enc), 2, "missing parameter: id"));
    EXPECT_TRUE(is_error(call(acme, {{"limit", "5"}}, enc), 2, "missing parameter: id"));
    for (const char* bad : {"abc", "0", "-3", "1.5", "12abc"}) {
      SCOPED_TRACE(bad);
      EXPECT_TRUE(is_error(call(acme, {{"id", bad}}, enc), 3, "invalid parameter: id"));
      EXPECT_TRUE(is_error(call(acme, {{"id", bad}, {"limit", "x"}}, enc), 3, "invalid parameter: id"))
          << "id is checked before limit";
    }
    for (const char* bad : {"abc", "-1", "1.5"}) {
      SCOPED_TRACE(bad);
      EXPECT_TRUE(is_error(call(acme, {{"id", id}, {"limit", bad}}, enc), 3, "invalid parameter: limit"));
    }
    EXPECT_TRUE(is_error(call(acme, {{"id", std::to_string(others.id)}}, enc), 4, "webhook not found"))
        << "another account's hook";
    EXPECT_TRUE(is_error(call(acme, {{"id", "999999999"}}, enc), 4, "webhook not found"));
    EXPECT_TRUE(is_error(call({acme.username, "wrong"}, {{"id", id}}, enc), 1, "login failed"));
  }

  // Three attempts: 500, 500, 200.
  rx.enqueue_statuses({500, 500});
  accepted_event ev;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"seq":1})", ev));
  std::vector<attempt_record> all;
  ASSERT_TRUE(eventually([&] { return get_attempts(server(), acme, hook.id, all) && all.size() >= 3; },
                         arrival_timeout))
      << all.size() << " attempts";
  ASSERT_EQ(all.size(), 3u);

  std::vector<attempt_record> limited;
  ASSERT_TRUE(get_attempts(server(), acme, hook.id, limited, "2"));
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[0].attempt, 3) << "the newest ones";
  EXPECT_EQ(limited[1].attempt, 2);
  ASSERT_TRUE(get_attempts(server(), acme, hook.id, limited, "1"));
  ASSERT_EQ(limited.size(), 1u);
  EXPECT_EQ(limited[0].attempt, 3);
  ASSERT_TRUE(get_attempts(server(), acme, hook.id, limited, "5000"));
  EXPECT_EQ(limited.size(), 3u) << "a limit above the maximum is clamped, not an error";

  const auto json_limit = call(acme, {{"id", param_value::raw(id)}, {"limit", param_value::raw("2")}}, encoding::json);
  ASSERT_TRUE(is_success(json_limit)) << "numbers are accepted for id and limit in JSON";
  ASSERT_TRUE(parse_attempts(json_limit.result, limited));
  EXPECT_EQ(limited.size(), 2u);

  // The second hook on the same event has its own log: one successful attempt.
  ASSERT_TRUE(rx_second.wait_until([&](const auto& got) { return all_delivered(got, {ev.id}); }, arrival_timeout));
  std::vector<attempt_record> second_attempts;
  ASSERT_TRUE(eventually(
      [&] { return get_attempts(server(), acme, second.id, second_attempts) && !second_attempts.empty(); },
      arrival_timeout));
  ASSERT_EQ(second_attempts.size(), 1u);
  EXPECT_EQ(second_attempts[0].event_id, ev.id);
  EXPECT_EQ(second_attempts[0].attempt, 1);
  EXPECT_EQ(second_attempts[0].http_status, std::optional<std::int64_t>(200));
  EXPECT_EQ(second_attempts[0].error, std::nullopt);
}

// ---- delivery timeout -----------------------------------------------------------------------------

TEST(DeliveryTimeout, AnAnswerLaterThanTheDeliveryTimeoutIsAFailedAttemptAndRetried) {
  server_process server(delivery_server_options("100ms,200ms,300ms", {"--delivery-timeout", "1s"}));
  credentials acme;
  ASSERT_TRUE(make_account(server, "acme", acme));
  receiver rx;
  hook_cleanup cleanup(server);
  webhook hook;
  ASSERT_TRUE(add_hook(server, cleanup, acme, fresh_event(), rx.url(), hook));
  reply slow;
  slow.delay = 4s;  // the first attempt is answered far too late, then 200 at once
  rx.enqueue(slow);

  accepted_event ev;
  ASSERT_TRUE(post_event(server, acme.username, hook.event, R"({"seq":1})", ev));
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all.size() >= 2 && all[1].succeeded(); }, arrival_timeout))
      << describe(rx.requests());
  const auto got = rx.requests();
  EXPECT_EQ(got[0].header("webhook-id"), ev.id);
  EXPECT_EQ(got[1].header("webhook-id"), ev.id) << "the retry of the timed-out attempt";
  EXPECT_EQ(got[1].header("X-Hookwerk-Attempt"), "2");
  const auto gap = ms_between(got[0].arrived, got[1].arrived);
  EXPECT_GE(gap.count(), 900) << "the first attempt is given up after --delivery-timeout 1s, not earlier";
  EXPECT_LT(gap.count(), 3900) << "… and not only when the late answer comes";

  std::vector<attempt_record> attempts;
  ASSERT_TRUE(eventually([&] { return get_attempts(server, acme, hook.id, attempts) && attempts.size() >= 2; },
                         arrival_timeout));
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].attempt, 2);
  EXPECT_EQ(attempts[0].http_status, std::optional<std::int64_t>(200));
  EXPECT_EQ(attempts[1].attempt, 1);
  EXPECT_NE(attempts[1].http_status, std::optional<std::int64_t>(200)) << attempts[1];
  EXPECT_TRUE(attempts[1].error.has_value()) << "a timeout is a failed attempt with an error: " << attempts[1];
  EXPECT_GE(attempts[1].duration_ms, 900) << attempts[1];
}

// ---- Retry-After ----------------------------------------------------------------------------------

// A server whose longest retry delay is 2 s, so that a Retry-After of 1 s is honoured and one of
// an hour is capped.
class RetryAfter : public two_account_suite<RetryAfter> {
public:
  static server_options options() { return delivery_server_options("100ms,200ms,2s"); }

protected:
  // Answers the first attempt with `first`, then 200; returns the time between the two attempts.
  static ::testing::AssertionResult gap_after(const reply& first, std::chrono::milliseconds& gap,
                                              std::chrono::milliseconds timeout = arrival_timeout) {
    receiver rx;
    hook_cleanup cleanup(server());
    webhook hook;
    if (auto ok = add_hook(server(), cleanup, acme, fresh_event(), rx.url(), hook); !ok) return ok;
    rx.enqueue(first);
    accepted_event ev;
    if (auto ok = post_event(server(), acme.username, hook.event, R"({"seq":1})", ev); !ok) return ok;
    if (!rx.wait_for_count(2, timeout))
      return ::testing::AssertionFailure() << "no second attempt within " << timeout.count() << " ms; "
                                           << describe(rx.requests());
    const auto got = rx.requests();
    if (got[0].header("webhook-id") != ev.id || got[1].header("webhook-id") != ev.id)
      return ::testing::AssertionFailure() << describe(got);
    gap = ms_between(got[0].arrived, got[1].arrived);
    return ::testing::AssertionSuccess();
  }
};

reply with_retry_after(int status, std::string seconds) {
  reply r;
  r.status = status;
  r.headers = {{"Retry-After", std::move(seconds)}};
  return r;
}

TEST_F(RetryAfter, A503WithRetryAfterDelaysTheNextAttempt) {
  std::chrono::milliseconds plain{}, delayed{};
  ASSERT_TRUE(gap_after(reply::status_only(503), plain));
  EXPECT_LT(plain.count(), 900) << "without Retry-After the first delay of the schedule (100 ms) applies";
  ASSERT_TRUE(gap_after(with_retry_after(503, "1"), delayed));
  EXPECT_GE(delayed.count(), 950) << "Retry-After: 1 means at least a second";
}

TEST_F(RetryAfter, A429WithRetryAfterDelaysTheNextAttempt) {
  std::chrono::milliseconds delayed{};
  ASSERT_TRUE(gap_after(with_retry_after(429, "1"), delayed));
  EXPECT_GE(delayed.count(), 950) << "Retry-After: 1 means at least a second";
}

TEST_F(RetryAfter, RetryAfterIsCappedAtTheLongestDelayOfTheSchedule) {
  std::chrono::milliseconds capped{};
  ASSERT_TRUE(gap_after(with_retry_after(503, "3600"), capped, 20s))
      << "Retry-After: 3600 is capped at the longest delay of --retry-schedule (2 s)";
  EXPECT_LT(capped.count(), 10000);
}

}  // namespace
}  // namespace hookwerk::system_test
