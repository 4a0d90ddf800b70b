// SPEC §4: POST /v1/events — single events, JSON-array and NDJSON batches, idempotency keys,
// and the rejections (400, 401, 405, 413), each checked against what a real receiver gets.
#include "system/delivery_support.hpp"
#include "system/harness.hpp"
#include "system/outage_support.hpp"
#include "system/receiver.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace hookwerk::system_test {
namespace {

constexpr auto arrival_timeout = 30s;

class Ingest : public two_account_suite<Ingest> {
public:
  static server_options options() {
    return delivery_server_options("100ms,200ms,300ms", {"--max-body", "2048"});
  }

protected:
  // Posts a marker event with this key and waits until `rx` answered it with 2xx; the marker's
  // id goes to `marker_id`.
  static ::testing::AssertionResult deliver_marker(const receiver& rx, std::string_view account,
                                                   std::string_view event, const std::string& key,
                                                   std::string& marker_id) {
    accepted_event marker;
    if (auto ok = post_event(server(), account, event, R"({"marker":true})", marker, std::nullopt, key); !ok)
      return ok;
    marker_id = marker.id;
    if (!rx.wait_until([&](const auto& all) { return all_delivered(all, {marker.id}); }, arrival_timeout))
      return ::testing::AssertionFailure() << "the marker event " << marker.id << " did not arrive; "
                                           << describe(rx.requests());
    return ::testing::AssertionSuccess();
  }

};

// ---- accepted input ---------------------------------------------------------------------------

TEST_F(Ingest, ASingleEventIsAnsweredWithItsIdAndTheNumberOfHooksItWasQueuedFor) {
  receiver rx1, rx2, rx_other;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();

  accepted_event none;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"seq":0})", none));
  EXPECT_EQ(none.webhooks, 0) << "no hook is subscribed yet";

  webhook h1, h2, h_other;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx1.url("/one"), h1));
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx2.url("/two"), h2));
  ASSERT_TRUE(add_hook(server(), cleanup, other, event, rx_other.url("/other"), h_other));

  accepted_event a;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"seq":1})", a));
  EXPECT_EQ(a.webhooks, 2) << "the two hooks of this account on this event, not the other account's";
  EXPECT_NE(a.id, none.id) << "every event gets its own id";

  for (auto* rx : {&rx1, &rx2}) {
    ASSERT_TRUE(rx->wait_until([&](const auto& all) { return all_delivered(all, {a.id}); }, arrival_timeout))
        << describe(rx->requests());
    const auto got = with_webhook_id(rx->requests(), a.id);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.front().body, R"({"seq":1})");
  }
  EXPECT_EQ(count_with_webhook_id(rx1.requests(), none.id), 0u)
      << "the event accepted before the hook existed is not delivered to it";
}

// The 202 comes after the event's write, so by then the log has taken at least its payload.
TEST_F(Ingest, AnAcceptedEventIsCountedInTheBytesWrittenToTheLog) {
  receiver rx;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url("/log"), hook));

  const auto before = outage::metric_sum(server(), "hookwerk_storage_written_bytes_total");
  ASSERT_TRUE(before) << "no hookwerk_storage_written_bytes_total in /metrics";
  const std::string payload = R"({"pad":")" + std::string(1000, 'x') + R"("})";
  accepted_event a;
  ASSERT_TRUE(post_event(server(), acme.username, event, payload, a));
  const auto after = outage::metric_sum(server(), "hookwerk_storage_written_bytes_total");
  ASSERT_TRUE(after);
  EXPECT_GE(*after - *before, static_cast<double>(payload.size()));
}

TEST_F(Ingest, AJsonArrayIsABatchWithOneIdPerInputInInputOrder) {
  receiver rx;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url(), hook));

  std::vector<std::string> payloads;
  std::string batch = "[";
  for (int i = 1; i <= 4; ++i) {
    payloads.push_back("{\"seq\":" + std::to_string(i) + ",\"tag\":\"array-" + std::to_string(i) + "\"}");
    if (i > 1) batch += ",\n ";
    batch += event_json(acme.username, event, payloads.back());
  }
  batch += "]";

  std::vector<std::string> ids;
  ASSERT_TRUE(parse_accepted_batch(ingest(server(), batch), payloads.size(), ids));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << "distinct inputs, distinct ids";

  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, ids); }, arrival_timeout))
      << describe(rx.requests());
  const auto all = rx.requests();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    SCOPED_TRACE("input " + std::to_string(i));
    const auto got = with_webhook_id(all, ids[i]);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.front().body, payloads[i]) << "ids[" << i << "] is the id of input " << i;
  }
}

TEST_F(Ingest, NdjsonIsABatchWithOneIdPerLineEvenForASingleLine) {
  receiver rx;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url(), hook));

  std::vector<std::string> payloads;
  std::string body;
  for (int i = 1; i <= 3; ++i) {
    payloads.push_back("{\"seq\":" + std::to_string(i) + ",\"tag\":\"ndjson-" + std::to_string(i) + "\"}");
    body += event_json(acme.username, event, payloads.back()) + "\n";
  }
  std::vector<std::string> ids;
  ASSERT_TRUE(parse_accepted_batch(ingest(server(), body, ndjson_type), payloads.size(), ids));

  const std::string single_payload = R"({"seq":4,"tag":"ndjson-single"})";
  std::vector<std::string> single;
  ASSERT_TRUE(parse_accepted_batch(ingest(server(), event_json(acme.username, event, single_payload), ndjson_type),
                                   1, single))
      << "a single NDJSON line is still a batch: {\"ids\":[…]}";
  payloads.push_back(single_payload);
  ids.push_back(single.front());
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());

  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, ids); }, arrival_timeout))
      << describe(rx.requests());
  const auto all = rx.requests();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    SCOPED_TRACE("line " + std::to_string(i));
    const auto got = with_webhook_id(all, ids[i]);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.front().body, payloads[i]);
  }
}

TEST_F(Ingest, ARepeatedIdInsideOneBatchIsOneEventDeliveredOnce) {
  receiver rx;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url(), hook));
  const std::string key = "same-key";  // one ordering key: a second delivery would precede the marker

  for (const bool as_ndjson : {false, true}) {
    SCOPED_TRACE(as_ndjson ? "NDJSON" : "JSON array");
    const std::string dup_id = unique_name("dup");
    const auto dup = event_json(acme.username, event, R"({"seq":1,"dup":true})", dup_id, key);
    const auto single = event_json(acme.username, event, R"({"seq":2})", std::nullopt, key);
    const std::string body = as_ndjson ? dup + "\n" + single + "\n" + dup + "\n" : "[" + dup + "," + single + "," + dup + "]";
    std::vector<std::string> ids;
    ASSERT_TRUE(parse_accepted_batch(ingest(server(), body, as_ndjson ? ndjson_type : json_type), 3, ids));
    EXPECT_EQ(ids[0], ids[2]) << "a repeated id inside one batch is one event";
    EXPECT_NE(ids[0], ids[1]);

    std::string marker;
    ASSERT_TRUE(deliver_marker(rx, acme.username, event, key, marker));
    const auto all = rx.requests();
    EXPECT_EQ(count_with_webhook_id(all, ids[0]), 1u) << "delivered once; " << describe(all);
    EXPECT_EQ(count_with_webhook_id(all, ids[1]), 1u) << describe(all);
  }
}

TEST_F(Ingest, TheSameIdLaterGetsTheSameEventIdAndNoSecondDelivery) {
  receiver rx, rx_other;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  webhook hook, hook_other;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url(), hook));
  ASSERT_TRUE(add_hook(server(), cleanup, other, event, rx_other.url(), hook_other));
  const std::string key = "idem-key";
  const std::string idem = unique_name("order");

  accepted_event first;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"seq":1})", first, idem, key));
  ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, {first.id}); }, arrival_timeout))
      << describe(rx.requests());

  accepted_event again;
  ASSERT_TRUE(post_event(server(), acme.username, event, R"({"seq":1})", again, idem, key));
  EXPECT_EQ(again.id, first.id) << "the same id for the same account is the same event";

  std::vector<std::string> batch_ids;
  const auto batch = "[" + event_json(acme.username, event, R"({"seq":1})", idem, key) + "," +
                     event_json(acme.username, event, R"({"seq":2})", std::nullopt, key) + "]";
  ASSERT_TRUE(parse_accepted_batch(ingest(server(), batch), 2, batch_ids));
  EXPECT_EQ(batch_ids[0], first.id) << "inside a later batch too";

  accepted_event other_account;
  ASSERT_TRUE(post_event(server(), other.username, event, R"({"seq":1})", other_account, idem, key));
  EXPECT_NE(other_account.id, first.id) << "the idempotency key is per account";
  EXPECT_TRUE(rx_other.wait_until([&](const auto& all) { return all_delivered(all, {other_account.id}); },
                                  arrival_timeout))
      << "the other account's event with the same id is delivered to its hook; " << describe(rx_other.requests());

  std::string marker;
  ASSERT_TRUE(deliver_marker(rx, acme.username, event, key, marker));
  const auto all = rx.requests();
  EXPECT_EQ(count_with_webhook_id(all, first.id), 1u) << "no second delivery; " << describe(all);
  EXPECT_TRUE(all_delivered(all, {batch_ids[1]})) << "the new event of the batch is delivered; " << describe(all);
  EXPECT_EQ(count_with_webhook_id(all, other_account.id), 0u) << describe(all);
}

TEST_F(Ingest, ARecreatedAccountDoesNotInheritTheIdempotencyIdsOfTheDeletedOne) {
  receiver rx_old, rx_new;
  const auto event = fresh_event();
  credentials who;
  ASSERT_TRUE(make_account(server(), "recreated", who));
  const std::string idem = unique_name("order");

  webhook old_hook;
  {
    hook_cleanup unused(server());  // the hook goes with its account
    ASSERT_TRUE(create_webhook(server(), who, "old", event, rx_old.url(), old_hook));
  }
  accepted_event before;
  ASSERT_TRUE(post_event(server(), who.username, event, R"({"seq":1})", before, idem));
  ASSERT_TRUE(rx_old.wait_until([&](const auto& all) { return all_delivered(all, {before.id}); }, arrival_timeout))
      << describe(rx_old.requests());

  ASSERT_EQ(server().delete_account(who.username).status, 204);
  ASSERT_EQ(server().create_account(who.username, who.password).status, 201);
  hook_cleanup cleanup(server());
  webhook new_hook;
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, rx_new.url(), new_hook));

  accepted_event after;
  ASSERT_TRUE(post_event(server(), who.username, event, R"({"seq":2})", after, idem));
  EXPECT_NE(after.id, before.id) << "the deleted account's id must not answer for the new one";
  EXPECT_EQ(after.webhooks, 1) << "the event is queued for the new account's hook";
  EXPECT_TRUE(rx_new.wait_until([&](const auto& all) { return all_delivered(all, {after.id}); }, arrival_timeout))
      << describe(rx_new.requests());

  accepted_event again;
  ASSERT_TRUE(post_event(server(), who.username, event, R"({"seq":2})", again, idem));
  EXPECT_EQ(again.id, after.id) << "the new account's own id is remembered as usual";
}

// ---- rejected input ---------------------------------------------------------------------------

TEST_F(Ingest, BadInputIsRejectedWith400AndNothingOfItIsDelivered) {
  receiver rx;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url(), hook));
  const std::string key = "bad-input";
  const auto& a = acme.username;
  const auto good = [&](int seq) {
    return event_json(a, event, "{\"seq\":" + std::to_string(seq) + "}", std::nullopt, key);
  };

  struct bad_case {
    std::string what;
    std::string body;
    std::string_view type = json_type;
  };
  const std::vector<bad_case> cases{
      {"empty body", ""},
      {"truncated JSON", R"({"account":")" + a + R"(","event":")" + event + R"(","payload":{"seq":1})"},
      {"not JSON", "account=" + a + "&event=" + event},
      {"garbage after the object", good(2) + " x"},
      {"invalid literal inside the payload",
       R"({"account":")" + a + R"(","event":")" + event + R"(","payload":{"seq":3,"a": tru},"key":")" + key + "\"}"},
      {"unterminated string inside the payload",
       R"({"account":")" + a + R"(","event":")" + event + R"(","payload":{"seq":4,"a":"x},"key":")" + key + "\"}"},
      {"payload is an array", event_json(a, event, "[1,2]", std::nullopt, key)},
      {"payload is a string", event_json(a, event, R"("text")", std::nullopt, key)},
      {"payload is a number", event_json(a, event, "42", std::nullopt, key)},
      {"payload is null", event_json(a, event, "null", std::nullopt, key)},
      {"missing account", R"({"event":")" + event + R"(","payload":{"seq":5},"key":")" + key + "\"}"},
      {"missing event", R"({"account":")" + a + R"(","payload":{"seq":6},"key":")" + key + "\"}"},
      {"missing payload", R"({"account":")" + a + R"(","event":")" + event + R"(","key":")" + key + "\"}"},
      {"unknown account", event_json("no-such-account-" + a, event, R"({"seq":7})", std::nullopt, key)},
      {"unknown event", event_json(a, "no_such_event", R"({"seq":8})", std::nullopt, key)},
      {"top level is not an object or array", R"("event")"},
      {"array batch with one bad item",
       "[" + good(9) + "," + event_json(a, event, R"({"seq":10,"a": tru})", std::nullopt, key) + "," + good(11) + "]"},
      {"array batch with an item missing its event",
       "[" + good(12) + R"(,{"account":")" + a + R"(","payload":{"seq":13}}])"},
      {"array batch with an item of an unknown account",
       "[" + good(14) + "," + event_json("no-such-account-" + a, event, R"({"seq":15})") + "]"},
      {"NDJSON batch with one malformed line", good(16) + "\n{\"account\":\n" + good(17) + "\n", ndjson_type},
      {"NDJSON batch with a line whose payload is not an object",
       good(18) + "\n" + event_json(a, event, "[18]", std::nullopt, key) + "\n", ndjson_type},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const auto r = ingest(server(), c.body, c.type);
    EXPECT_TRUE(is_error_body(r, 400)) << "body: " << c.body;
  }

  std::string marker;
  ASSERT_TRUE(deliver_marker(rx, a, event, key, marker));
  const auto all = rx.requests();
  ASSERT_EQ(all.size(), 1u) << "only the marker is delivered, nothing of the rejected requests; " << describe(all);
  EXPECT_EQ(all.front().header("webhook-id"), marker);
}

TEST_F(Ingest, WithoutTheIngestTokenTheAnswerIs401AndNothingIsDelivered) {
  receiver rx;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url(), hook));
  const std::string key = "auth";
  const auto body = event_json(acme.username, event, R"({"seq":1})", std::nullopt, key);
  const header_list json_header{{"Content-Type", "application/json"}};

  struct auth_case {
    std::string what;
    std::optional<std::string> authorization;
  };
  const std::vector<auth_case> cases{
      {"no Authorization header", std::nullopt},
      {"wrong token", "Bearer wrong-" + std::string(default_ingest_token)},
      {"the admin token is not an ingest token", "Bearer " + std::string(default_admin_token)},
      {"empty bearer token", "Bearer "},
      {"token without the Bearer scheme", std::string(default_ingest_token)},
      {"Basic scheme", "Basic c3lzdGVzdDpzeXN0ZXN0"},
      {"token with a suffix", "Bearer " + std::string(default_ingest_token) + "x"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    header_list h = json_header;
    if (c.authorization) h.emplace_back("Authorization", *c.authorization);
    const auto r = server().request("POST", "/v1/events", h, body);
    EXPECT_EQ(r.status, 401) << r.body;
  }
  // A batch is guarded the same way.
  EXPECT_EQ(ingest(server(), body + "\n", ndjson_type, std::nullopt).status, 401);

  std::string marker;
  ASSERT_TRUE(deliver_marker(rx, acme.username, event, key, marker));
  const auto all = rx.requests();
  ASSERT_EQ(all.size(), 1u) << "only the marker is delivered; " << describe(all);
  EXPECT_EQ(all.front().header("webhook-id"), marker);
}

TEST_F(Ingest, BodiesOverMaxBodyAreRejectedWith413) {
  receiver rx;
  hook_cleanup cleanup(server());
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(add_hook(server(), cleanup, acme, event, rx.url(), hook));
  const std::string key = "max-body";
  const auto padded = [&](int seq, std::size_t pad) {
    return event_json(acme.username, event,
                      "{\"seq\":" + std::to_string(seq) + ",\"pad\":\"" + std::string(pad, 'x') + "\"}", std::nullopt,
                      key);
  };

  // Well within --max-body 2048: accepted.
  const auto small = padded(1, 1000);
  ASSERT_LT(small.size(), 1500u);
  accepted_event accepted;
  ASSERT_TRUE(parse_accepted(ingest(server(), small), accepted));

  const auto big = padded(2, 3000);
  EXPECT_EQ(ingest(server(), big).status, 413) << "a single event of " << big.size() << " bytes";
  const auto huge = padded(3, 200000);
  EXPECT_EQ(ingest(server(), huge).status, 413) << "a single event of " << huge.size() << " bytes";
  const auto batch = padded(4, 900) + "\n" + padded(5, 900) + "\n" + padded(6, 900) + "\n";
  EXPECT_EQ(ingest(server(), batch, ndjson_type).status, 413)
      << "an NDJSON batch of " << batch.size() << " bytes (each line fits, the body does not)";
  const auto array = "[" + padded(7, 900) + "," + padded(8, 900) + "," + padded(9, 900) + "]";
  EXPECT_EQ(ingest(server(), array).status, 413) << "a JSON array of " << array.size() << " bytes";

  std::string marker;
  ASSERT_TRUE(deliver_marker(rx, acme.username, event, key, marker));
  const auto all = rx.requests();
  ASSERT_EQ(all.size(), 2u) << "the small event and the marker, nothing else; " << describe(all);
  EXPECT_EQ(all[0].header("webhook-id"), accepted.id);
  EXPECT_EQ(all[1].header("webhook-id"), marker);
}

TEST_F(Ingest, GetIsNotAllowed) {
  const auto r = server().request("GET", "/v1/events", ingest_auth());
  EXPECT_EQ(r.status, 405) << r.body;
}

}  // namespace
}  // namespace hookwerk::system_test
