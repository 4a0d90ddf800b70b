// A data directory written by the release before shared event records (schema version 1: every
// queue and buffer entry with its own copy of the event; tests/system/fixtures/make-schema1-data.sh)
// opens in this one: its pending entries are delivered, its buffer replayed, its attempt records
// listed, and the directory is marked as schema version 2.
#include "system/delivery_support.hpp"
#include "system/outage_support.hpp"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "storage/column_families.hpp"
#include "storage/keys.hpp"
#include "storage/records.hpp"

namespace hookwerk::system_test {
namespace {

const credentials legacy{"legacy", "legacy-pass"};

/// The directory's database opened as RocksDB itself, with every family it has.
class raw_db {
public:
  raw_db(const std::string& dir, bool read_only) {
    std::vector<std::string> names;
    rocksdb::DBOptions options;
    auto s = rocksdb::DB::ListColumnFamilies(options, dir, &names);
    if (!s.ok())
      throw std::runtime_error(s.ToString());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& name : names)
      families.emplace_back(name, rocksdb::ColumnFamilyOptions{});
    rocksdb::DB* db = nullptr;
    s = read_only ? rocksdb::DB::OpenForReadOnly(options, dir, families, &handles_, &db)
                  : rocksdb::DB::Open(options, dir, families, &handles_, &db);
    if (!s.ok())
      throw std::runtime_error(s.ToString());
    db_.reset(db);
    for (std::size_t i = 0; i < names.size(); ++i)
      by_name_[names[i]] = handles_[i];
  }
  ~raw_db() {
    for (auto* h : handles_)
      db_->DestroyColumnFamilyHandle(h);
  }

  std::optional<std::string> get(const std::string& family, const std::string& key) {
    std::string value;
    auto s = db_->Get({}, by_name_.at(family), key, &value);
    if (s.IsNotFound())
      return std::nullopt;
    if (!s.ok())
      throw std::runtime_error(s.ToString());
    return value;
  }
  void put(const std::string& family, const std::string& key, const std::string& value) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    auto s = db_->Put(sync, by_name_.at(family), key, value);
    if (!s.ok())
      throw std::runtime_error(s.ToString());
  }
  std::vector<std::string> values(const std::string& family) {
    std::vector<std::string> out;
    std::unique_ptr<rocksdb::Iterator> it{db_->NewIterator({}, by_name_.at(family))};
    for (it->SeekToFirst(); it->Valid(); it->Next())
      out.push_back(it->value().ToString());
    return out;
  }
  bool has_family(const std::string& family) const { return by_name_.count(family) > 0; }

private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name_;
};

std::string version_text(const std::optional<std::string>& stored) {
  if (!stored || stored->size() != 4)
    return "(absent)";
  uint32_t v = 0;
  for (char c : *stored)
    v = (v << 8) | static_cast<uint8_t>(c);
  return std::to_string(v);
}

/// The payload "n" of a delivered request, -1 if it has none.
long payload_n(const received_request& r) {
  auto at = r.body.find("\"n\":");
  return at == std::string::npos ? -1 : std::strtol(r.body.c_str() + at + 4, nullptr, 10);
}

/// The successful requests to `path`, by payload "n".
std::map<long, received_request> delivered_to(const receiver& rx, const std::string& path) {
  std::map<long, received_request> out;
  for (const auto& r : rx.requests())
    if (r.target == path && r.succeeded())
      out.emplace(payload_n(r), r);
  return out;
}

TEST(Upgrade, ADataDirectoryOfSchemaVersion1IsReadDeliveredAndReplayed) {
  temp_dir data;
  const std::string fixture = HOOKWERK_SOURCE_DIR "/tests/system/fixtures/schema1-data.tar.gz";
  ASSERT_EQ(std::system(("tar -xzf '" + fixture + "' -C '" + data.str() + "'").c_str()), 0);
  receiver rx;  // answers 200

  // As the old release left it: schema version 1, no events family, entries with their payload.
  // Its hooks point at a port that refused; they are pointed at this test's receiver instead.
  {
    raw_db db{data.str(), false};
    ASSERT_EQ(version_text(db.get("default", "schema_version")), "1");
    EXPECT_FALSE(db.has_family("events"));
    auto queued = db.values("queue");
    ASSERT_EQ(queued.size(), 10u);  // 5 events x hooks 2 and 3
    for (const auto& v : queued) {
      auto e = storage::queue_entry::decode(v);
      ASSERT_TRUE(e.has_value());
      EXPECT_FALSE(e->shared);
      EXPECT_NE(e->payload.find("legacy payload"), std::string::npos);
    }
    EXPECT_EQ(db.values("buffer").size(), 4u);
    for (uint64_t id = 1; id <= 3; ++id) {
      auto stored = db.get("hooks", storage::hook_key(id));
      ASSERT_TRUE(stored.has_value());
      auto hook = storage::hook_record::decode(*stored);
      ASSERT_TRUE(hook.has_value());
      hook->url = rx.url(hook->url.substr(hook->url.find('/', 7)));
      db.put("hooks", storage::hook_key(id), hook->encode());
    }
  }

  server_options options;
  options.data_dir = data.str();
  options.admin_token = "legacy-admin-token";
  options.ingest_token = "legacy-ingest-token";
  options.extra_args = {"--allow-private-targets", "--retry-schedule", "100ms"};
  std::vector<webhook> before;
  {
    server_process server{options};
    // The state the old release recorded, as GetWebHooks shows it.
    ASSERT_TRUE(list_webhooks(server, legacy, before));
    ASSERT_EQ(before.size(), 3u);
    EXPECT_FALSE(before[0].active);
    EXPECT_EQ(before[0].buffered_events, 4);
    EXPECT_EQ(before[0].consecutive_failures, 2);

    // Pending entries: each event delivered to hooks 2 and 3, signed with the hook's secret,
    // its attempt count going on from the stored one (11-14 had failed once; 15 waited behind
    // 14, its key's head); key "k" in order.
    ASSERT_TRUE(eventually([&] {
      return delivered_to(rx, "/optout-a").size() == 5 && delivered_to(rx, "/optout-b").size() == 5;
    })) << describe(rx.requests());
    for (auto [path, hook] : {std::pair{"/optout-a", 1}, std::pair{"/optout-b", 2}}) {
      auto got = delivered_to(rx, path);
      std::set<long> ns;
      for (const auto& [n, r] : got)
        ns.insert(n);
      EXPECT_EQ(ns, (std::set<long>{11, 12, 13, 14, 15}));
      for (const auto& [n, r] : got) {
        EXPECT_NE(r.body.find("\"text\":\"legacy payload " + std::to_string(n) + "\""),
                  std::string::npos)
          << r.body;
        EXPECT_TRUE(signature_valid(before[hook].secret, r));
        EXPECT_EQ(r.header_or_empty("X-Hookwerk-Attempt"), n == 15 ? "1" : "2") << "event " << n;
      }
      EXPECT_LT(got.at(14).arrived, got.at(15).arrived) << "key k in order";
      EXPECT_EQ(got.at(11).header_or_empty("webhook-id"),
                delivered_to(rx, "/optout-b").at(11).header_or_empty("webhook-id"))
        << "one event, one webhook-id for every hook";
    }
    // The attempts the old release recorded are listed with the new ones.
    std::vector<attempt_record> attempts;
    ASSERT_TRUE(get_attempts(server, legacy, before[1].id, attempts));
    size_t refused = 0, succeeded = 0;
    for (const auto& a : attempts) {
      refused += a.error == "connection refused";
      succeeded += a.http_status == 200;
    }
    EXPECT_EQ(refused, 4u);
    EXPECT_EQ(succeeded, 5u);

    // The buffer of the inactive hook is replayed.
    std::string result;
    ASSERT_TRUE(outage::activate(server, legacy, before[0].id, param_value::raw("true"), result));
    EXPECT_EQ(result, outage::activate_result(before[0].id, 4, 0));
    ASSERT_TRUE(eventually([&] { return delivered_to(rx, "/optin").size() == 4; }))
      << describe(rx.requests());
    auto replayed = delivered_to(rx, "/optin");
    for (long n = 1; n <= 4; ++n) {
      ASSERT_TRUE(replayed.count(n)) << "event " << n;
      EXPECT_TRUE(signature_valid(before[0].secret, replayed.at(n)));
    }

    // A new event for hooks 2 and 3 is stored in the new layout and delivered too.
    auto accepted = ingest(server, R"({"account":"legacy","event":"optout_finalized","payload":{"n":99}})",
                           json_type, "legacy-ingest-token");
    ASSERT_EQ(accepted.status, 202) << accepted.body;
    ASSERT_TRUE(eventually([&] {
      return delivered_to(rx, "/optout-a").count(99) && delivered_to(rx, "/optout-b").count(99);
    }));
    webhook after;
    ASSERT_TRUE(outage::wait_hook(
      server, legacy, before[1].id, [](const webhook& h) { return h.pending_events == 0; }, after,
      "nothing pending"));
    EXPECT_EQ(after.consecutive_failures, 0);
    EXPECT_EQ(server.terminate(), 0);
  }
  raw_db db{data.str(), true};
  EXPECT_EQ(version_text(db.get("default", "schema_version")), "2");
  EXPECT_TRUE(db.has_family("events"));
}

} // namespace
} // namespace hookwerk::system_test
