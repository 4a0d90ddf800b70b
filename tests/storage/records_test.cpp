#include "storage/records.hpp"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/codec.hpp"

namespace hookwerk::storage {
namespace {

account_record sample_account() {
  return {"alice", std::string("s\0lt", 4), std::string(32, '\x9c'), 600000, 1700000000123};
}

hook_record sample_hook() {
  hook_record h;
  h.id = 42;
  h.account = "alice";
  h.app = "shop";
  h.event = "order.created";
  h.url = "https://example.test/hook";
  h.secret = "s3cr3t";
  h.active = false;
  h.created_at_ms = 1700000000000;
  h.deactivated_at_ms = 1700000999000;
  h.consecutive_failures = 17;
  h.last_error = "connect timeout";
  h.failures_since_ms = 1700000900000;
  return h;
}

// Group 1 of a hook record as version `version` writes it.
encoder hook_group1(const hook_record& h, uint8_t version) {
  encoder e;
  e.u8(version);
  e.u64(h.id);
  e.str(h.account);
  e.str(h.app);
  e.str(h.event);
  e.str(h.url);
  e.str(h.secret);
  e.boolean(h.active);
  e.i64(h.created_at_ms);
  return e;
}

// Groups 1 and 2 of a hook record, as version 1 wrote it (no group 3).
encoder hook_version1(const hook_record& h) {
  encoder e = hook_group1(h, 1);
  e.i64(h.deactivated_at_ms);
  e.u32(h.consecutive_failures);
  e.boolean(h.last_error.has_value());
  if (h.last_error)
    e.str(*h.last_error);
  return e;
}

encoder account_group1(const account_record& a, uint8_t version) {
  encoder e;
  e.u8(version);
  e.str(a.username);
  e.str(a.salt);
  e.str(a.password_hash);
  e.u32(a.iterations);
  return e;
}

TEST(storage_records, account_round_trip) {
  auto a = sample_account();
  auto data = a.encode();
  EXPECT_EQ(static_cast<uint8_t>(data[0]), record_version);
  auto back = account_record::decode(data);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, a);
  EXPECT_EQ(account_record::decode(account_record{}.encode()), account_record{});
}

TEST(storage_records, hook_round_trip) {
  auto h = sample_hook();
  auto back = hook_record::decode(h.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, h);

  h.last_error.reset();
  h.active = true;
  back = hook_record::decode(h.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, h);

  h.last_error = "";
  back = hook_record::decode(h.encode());
  ASSERT_TRUE(back);
  ASSERT_TRUE(back->last_error.has_value());
  EXPECT_EQ(*back->last_error, "");
}

TEST(storage_records, record_ending_at_group_boundary_decodes_with_defaults) {
  auto h = sample_hook();
  auto hook = hook_record::decode(hook_group1(h, record_version).data());
  ASSERT_TRUE(hook);
  EXPECT_EQ(hook->id, h.id);
  EXPECT_EQ(hook->url, h.url);
  EXPECT_EQ(hook->secret, h.secret);
  EXPECT_FALSE(hook->active);
  EXPECT_EQ(hook->created_at_ms, h.created_at_ms);
  EXPECT_EQ(hook->deactivated_at_ms, 0);
  EXPECT_EQ(hook->consecutive_failures, 0u);
  EXPECT_FALSE(hook->last_error);

  auto a = sample_account();
  auto account = account_record::decode(account_group1(a, record_version).data());
  ASSERT_TRUE(account);
  EXPECT_EQ(account->password_hash, a.password_hash);
  EXPECT_EQ(account->iterations, a.iterations);
  EXPECT_EQ(account->created_at_ms, 0);
}

TEST(storage_records, only_group_boundaries_are_valid_ends) {
  {
    auto full = sample_hook().encode();
    std::set<std::size_t> valid{hook_group1(sample_hook(), record_version).data().size(),
                                full.size() - 8,  // without group 3
                                full.size()};
    for (std::size_t n = 0; n <= full.size(); ++n)
      EXPECT_EQ(hook_record::decode(full.substr(0, n)).has_value(), valid.count(n) == 1)
        << "hook prefix length " << n;
  }
  {
    auto full = sample_account().encode();
    std::set<std::size_t> valid{account_group1(sample_account(), record_version).data().size(),
                                full.size()};
    for (std::size_t n = 0; n <= full.size(); ++n)
      EXPECT_EQ(account_record::decode(full.substr(0, n)).has_value(), valid.count(n) == 1)
        << "account prefix length " << n;
  }
}

TEST(storage_records, version1_hook_decodes_without_failure_streak_start) {
  auto h = sample_hook();
  auto old = hook_version1(h).data();
  auto back = hook_record::decode(old);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->consecutive_failures, h.consecutive_failures);
  EXPECT_EQ(back->last_error, h.last_error);
  EXPECT_EQ(back->failures_since_ms, 0);
  // Version 1 had no group 3: eight more bytes are not one.
  encoder longer = hook_version1(h);
  longer.i64(42);
  EXPECT_FALSE(hook_record::decode(longer.data()));
  // The same bytes as version 2 are group 3.
  std::string v2 = longer.data();
  v2[0] = 2;
  back = hook_record::decode(v2);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->failures_since_ms, 42);
}

TEST(storage_records, newer_version_decodes_known_prefix) {
  auto h = sample_hook();
  auto newer = h.encode();
  newer[0] = static_cast<char>(record_version + 1);
  newer += std::string("\x01\x02\x03 a future group", 19);
  auto back = hook_record::decode(newer);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, h);

  auto a = sample_account();
  auto newer_account = a.encode();
  newer_account[0] = static_cast<char>(200);
  newer_account += "more";
  auto account = account_record::decode(newer_account);
  ASSERT_TRUE(account);
  EXPECT_EQ(*account, a);

  // A newer record that stops after group 1 still decodes.
  EXPECT_TRUE(hook_record::decode(hook_group1(h, 9).data()));
}

TEST(storage_records, garbage_is_rejected) {
  EXPECT_FALSE(hook_record::decode(""));
  EXPECT_FALSE(account_record::decode(""));
  EXPECT_FALSE(hook_record::decode(std::string(1, '\x01')));
  EXPECT_FALSE(account_record::decode(std::string(1, '\x01')));

  auto version0 = sample_hook().encode();
  version0[0] = 0;
  EXPECT_FALSE(hook_record::decode(version0));

  auto trailing = sample_hook().encode() + "x";
  EXPECT_FALSE(hook_record::decode(trailing));
  EXPECT_FALSE(account_record::decode(sample_account().encode() + "x"));

  EXPECT_FALSE(hook_record::decode("this is not a record at all"));
  EXPECT_FALSE(account_record::decode(std::string(64, '\xff')));

  auto bad_bool = hook_group1(sample_hook(), 1).data();
  bad_bool[bad_bool.size() - 9] = 2;  // the `active` byte
  EXPECT_FALSE(hook_record::decode(bad_bool));
}

} // namespace
} // namespace hookwerk::storage

namespace hookwerk::storage {
namespace {

TEST(storage_records_delivery, queue_entry_attempt_idempotency_notification_round_trip) {
  queue_entry q;
  q.seq = 42;
  q.event_id = "evt_1";
  q.event = "optin_finalized";
  q.payload = R"({"a": [1, 2]})";
  q.key = "42";
  q.ingested_at_ms = 1000;
  q.first_attempt_ms = 2000;
  q.attempts = 3;
  EXPECT_EQ(queue_entry::decode(q.encode()), q);

  attempt_record a;
  a.event_id = "evt_1";
  a.attempt = 2;
  a.at_ms = 5;
  a.http_status = 503;
  a.error = "HTTP 503";
  a.duration_ms = 12;
  EXPECT_EQ(attempt_record::decode(a.encode()), a);

  idempotency_record i{"evt_9", 77};
  EXPECT_EQ(idempotency_record::decode(i.encode()), i);

  notification_record n;
  n.id = 5;
  n.account = "acme";
  n.kind = "webhook_deactivated";
  n.webhook_id = 17;
  n.created_at_ms = 99;
  n.reason = "HTTP 503";
  n.token = "tok";
  n.read = true;
  EXPECT_EQ(notification_record::decode(n.encode()), n);

  EXPECT_FALSE(queue_entry::decode("\x01\x02").has_value());
  EXPECT_FALSE(notification_record::decode("").has_value());
}

TEST(storage_records_delivery, peek_reads_seq_and_key_without_the_rest) {
  queue_entry e;
  e.seq = 77;
  e.event_id = "evt_1";
  e.event = "optin_finalized";
  e.payload = std::string(1000, 'x');
  e.key = "customer-7";
  auto encoded = e.encode();
  auto head = queue_entry::peek(encoded);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->seq, 77u);
  EXPECT_EQ(head->key, std::optional<std::string_view>{"customer-7"});
  e.key.reset();
  auto keyless = e.encode();
  head = queue_entry::peek(keyless);
  ASSERT_TRUE(head.has_value());
  EXPECT_FALSE(head->key.has_value());
  // Cut inside the payload, or inside the key: not readable.
  EXPECT_FALSE(queue_entry::peek(std::string_view{encoded}.substr(0, 500)).has_value());
  EXPECT_FALSE(queue_entry::peek(std::string_view{encoded}.substr(0, encoded.size() - 30)).has_value());
  EXPECT_FALSE(queue_entry::peek("").has_value());
}


TEST(storage_records_delivery, a_shared_entry_keeps_only_its_own_part_and_round_trips) {
  queue_entry q;
  q.seq = 1'000'000;
  q.event_id = "evt_1";  // in the event record, not in the entry
  q.event = "optin_finalized";
  q.payload = R"({"a":1})";
  q.key = "customer-7";
  q.ingested_at_ms = 1'765'000'000'000;
  q.first_attempt_ms = 1'765'000'000'500;
  q.attempts = 4;
  q.shared = true;
  auto encoded = q.encode();
  EXPECT_EQ(static_cast<uint8_t>(encoded[0]), shared_entry_tag);
  auto back = queue_entry::decode(encoded);
  ASSERT_TRUE(back.has_value());
  auto expected = q;
  expected.event_id.clear();
  expected.event.clear();
  expected.payload.clear();
  EXPECT_EQ(*back, expected);
  auto head = queue_entry::peek(encoded);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->seq, q.seq);
  EXPECT_EQ(head->key, std::optional<std::string_view>{"customer-7"});

  // A fresh keyless entry, as ingestion writes it for each hook: 13 bytes.
  queue_entry fresh;
  fresh.seq = 1'000'000;
  fresh.ingested_at_ms = 1'765'000'000'000;
  fresh.shared = true;
  EXPECT_EQ(fresh.encode().size(), 13u);
  EXPECT_EQ(queue_entry::decode(fresh.encode()), fresh);
  EXPECT_FALSE(queue_entry::peek(fresh.encode())->key.has_value());
}

TEST(storage_records_delivery, a_malformed_shared_entry_is_rejected) {
  queue_entry q;
  q.seq = 9;
  q.key = "k";
  q.shared = true;
  auto good = q.encode();
  ASSERT_TRUE(queue_entry::decode(good).has_value());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(queue_entry::decode(good.substr(0, n)).has_value()) << "cut at " << n;
    EXPECT_FALSE(queue_entry::peek(good.substr(0, n)).has_value()) << "cut at " << n;
  }
  EXPECT_FALSE(queue_entry::decode(good + "x").has_value()) << "nothing may follow";
  auto bad_flags = good;
  bad_flags[2] = 2;  // tag, seq 9, flags
  EXPECT_FALSE(queue_entry::decode(bad_flags).has_value());
  // seq 9, no key, ingested at 1, never attempted, 2^33 - 1 attempts (over 32 bits).
  std::string huge_attempts{static_cast<char>(shared_entry_tag)};
  huge_attempts += std::string("\x09\x00\x01\x00", 4) + "\xff\xff\xff\xff\x1f";
  EXPECT_FALSE(queue_entry::decode(huge_attempts).has_value());
}

TEST(storage_records_delivery, an_event_record_round_trips_with_its_hooks_sorted) {
  event_record r;
  r.event_id = "evt_7";
  r.event = "optout_finalized";
  r.payload = std::string(300, 'p');
  r.hooks = {900, 3, 70000, 4, UINT64_MAX};
  auto encoded = r.encode();
  auto back = event_record::decode(encoded);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->hooks, (std::vector<uint64_t>{3, 4, 900, 70000, UINT64_MAX}));
  EXPECT_EQ(back->payload, r.payload);
  EXPECT_EQ(back->event_id, "evt_7");
  EXPECT_EQ(back->event, "optout_finalized");

  // 100 hooks with neighbouring ids take about a byte each.
  event_record many;
  many.payload = std::string(300, 'p');
  for (uint64_t id = 1000; id < 1100; ++id)
    many.hooks.push_back(id);
  EXPECT_LT(many.encode().size(), 300u + 100u + 16u);

  for (size_t n = 0; n < encoded.size(); ++n)
    EXPECT_FALSE(event_record::decode(encoded.substr(0, n)).has_value()) << "cut at " << n;
  EXPECT_FALSE(event_record::decode(encoded + "x").has_value());
}

} // namespace
} // namespace hookwerk::storage
