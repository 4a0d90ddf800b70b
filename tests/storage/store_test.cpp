#include "storage/store.hpp"
#include "storage/records.hpp"
#include "storage/keys.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "storage/keys.hpp"
#include "common/temp_dir.hpp"

namespace hookwerk::storage {
namespace {

using test::temp_dir;

std::unique_ptr<store> open_ok(const std::string& dir) {
  auto db = store::open(dir);
  EXPECT_TRUE(db) << (db ? "" : db.error().message());
  return db ? std::move(db).value() : nullptr;
}

void put(store& db, cf family, std::string key, std::string value) {
  batch b;
  b.put(family, std::move(key), std::move(value));
  ASSERT_TRUE(db.write(std::move(b), false));
}

std::vector<std::pair<std::string, std::string>> scan_all(const store& db, cf family,
                                                          std::string_view lower,
                                                          std::string_view upper) {
  std::vector<std::pair<std::string, std::string>> out;
  auto st = db.scan(family, lower, upper, [&](std::string_view k, std::string_view v) {
    out.emplace_back(k, v);
    return true;
  });
  EXPECT_TRUE(st) << st.message();
  return out;
}

TEST(storage_store, get_distinguishes_found_and_not_found) {
  temp_dir tmp;
  auto db = open_ok(tmp.sub("db"));
  ASSERT_TRUE(db);
  auto missing = db->get(cf::accounts, "nobody");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());

  put(*db, cf::accounts, "alice", "record");
  auto found = db->get(cf::accounts, "alice");
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, "record");

  // Families are separate key spaces.
  auto other = db->get(cf::hooks, "alice");
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->has_value());
}

TEST(storage_store, a_group_written_together_keeps_each_keys_order_and_its_range_deletions) {
  // write_all hands RocksDB the group's point writes sorted by key; what each
  // batch meant in sequence must hold all the same.
  temp_dir tmp;
  auto db = open_ok(tmp.sub("db"));
  ASSERT_TRUE(db);
  put(*db, cf::queue, "b1", "old");
  put(*db, cf::queue, "c1", "old");

  batch first;  // later keys first, and a key written twice
  first.put(cf::queue, "z1", "first");
  first.put(cf::queue, "a1", "first");
  first.put(cf::queue, "a1", "again");
  first.erase(cf::queue, "b1");
  batch second;  // the same keys again: the later batch wins
  second.put(cf::queue, "a1", "second");
  second.put(cf::queue, "b1", "second");
  second.put(cf::attempts, "a1", "other family");
  batch third;  // a range deletion sees what came before it, not what follows
  third.put(cf::queue, "c2", "before the range");
  third.erase_range(cf::queue, "c", "d");
  third.put(cf::queue, "c3", "after the range");
  third.erase(cf::queue, "z1");
  third.put(cf::queue, "z1", "third");

  std::vector<uint64_t> sizes;
  auto written = db->write_all({&first, &second, &third}, false, &sizes);
  ASSERT_TRUE(written) << written.error().message();
  ASSERT_EQ(sizes.size(), 3u);
  EXPECT_GT(sizes[0], 0u);
  EXPECT_GT(sizes[1], 0u);
  EXPECT_GT(sizes[2], 0u);
  EXPECT_LE(sizes[0] + sizes[1] + sizes[2], *written);  // plus the WriteBatch header

  using kv = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(scan_all(*db, cf::queue, "", ""),
            (kv{{"a1", "second"}, {"b1", "second"}, {"c3", "after the range"}, {"z1", "third"}}));
  EXPECT_EQ(scan_all(*db, cf::attempts, "", ""), (kv{{"a1", "other family"}}));
}

TEST(storage_store, writes_schema_version_on_first_open) {
  temp_dir tmp;
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  auto v = db->get(cf::meta, meta_key::schema_version);
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, std::string("\0\0\0\x02", 4));
  EXPECT_EQ(db->path(), tmp.path());
}

TEST(storage_store, a_directory_of_layout_1_is_opened_and_marked_as_layout_2) {
  temp_dir tmp;
  queue_entry own;
  own.seq = 3;
  own.event_id = "evt_3";
  own.event = "optin_finalized";
  own.payload = "{}";
  {
    auto db = open_ok(tmp.path());
    ASSERT_TRUE(db);
    batch b;
    b.put(cf::meta, std::string(meta_key::schema_version), std::string("\0\0\0\x01", 4));
    b.put(cf::queue, hook_seq_key(1, 3), own.encode());
    ASSERT_TRUE(db->write(std::move(b), true));
  }
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  auto v = db->get(cf::meta, meta_key::schema_version);
  ASSERT_TRUE(v && v->has_value());
  EXPECT_EQ(**v, std::string("\0\0\0\x02", 4));
  auto entry = db->get(cf::queue, hook_seq_key(1, 3));
  ASSERT_TRUE(entry && entry->has_value());
  EXPECT_EQ(queue_entry::decode(**entry), own);
}

TEST(storage_store, a_directory_of_a_newer_layout_is_refused) {
  temp_dir tmp;
  {
    auto db = open_ok(tmp.path());
    ASSERT_TRUE(db);
    put(*db, cf::meta, std::string(meta_key::schema_version), std::string("\0\0\0\x03", 4));
  }
  auto refused = store::open(tmp.path());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), errc::storage_failed);
  EXPECT_NE(refused.error().message().find("schema version 3, written by a newer release"),
            std::string::npos)
    << refused.error().message();
}

TEST(storage_store, compaction_drops_an_event_record_once_no_entry_refers_to_it) {
  temp_dir tmp;
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  auto event = [](uint64_t seq) {
    return event_record{"evt_" + std::to_string(seq), "optin_finalized", "{}", {1, 2}}.encode();
  };
  queue_entry ref;
  ref.shared = true;
  batch b;
  for (uint64_t seq = 10; seq < 14; ++seq) {
    b.put(cf::events, event_key(seq), event(seq));
    ref.seq = seq;
    b.put(cf::queue, hook_seq_key(1, seq), ref.encode());
    b.put(cf::queue, hook_seq_key(2, seq), ref.encode());
  }
  b.put(cf::events, event_key(20), "unreadable");
  ASSERT_TRUE(db->write(std::move(b), true));

  // 10: both entries gone. 11: hook 2's moved to its buffer. 12: hook 1's gone only.
  // 13: untouched.
  batch done;
  for (uint64_t hook : {1, 2})
    done.erase(cf::queue, hook_seq_key(hook, 10));
  done.erase(cf::queue, hook_seq_key(1, 11));
  done.erase(cf::queue, hook_seq_key(2, 11));
  ref.seq = 11;
  done.put(cf::buffer, hook_seq_key(2, 11), ref.encode());
  done.erase(cf::queue, hook_seq_key(1, 12));
  ASSERT_TRUE(db->write(std::move(done), false));
  ASSERT_TRUE(db->compact(cf::events));
  auto left = scan_all(*db, cf::events, {}, {});
  std::vector<std::string> keys;
  for (const auto& [k, v] : left)
    keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{event_key(11), event_key(12), event_key(13),
                                            event_key(20)}))
    << "an unreadable record is kept";

  // Deleting the hooks (range deletes) lets the rest go.
  batch gone;
  erase_hook(gone, 1);
  erase_hook(gone, 2);
  ASSERT_TRUE(db->write(std::move(gone), false));
  ASSERT_TRUE(db->compact(cf::events));
  left = scan_all(*db, cf::events, {}, {});
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].first, event_key(20));
}

TEST(storage_store, batch_erase_and_erase_range) {
  temp_dir tmp;
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  batch b;
  for (uint64_t hook = 1; hook <= 3; ++hook)
    for (uint64_t seq = 0; seq < 5; ++seq)
      b.put(cf::queue, hook_seq_key(hook, seq), "entry");
  b.put(cf::hooks, hook_key(1), "h1");
  EXPECT_EQ(b.size(), 16u);
  ASSERT_TRUE(db->write(std::move(b), true));

  batch del;
  auto [begin, end] = hook_range(2);
  del.erase_range(cf::queue, begin, end);
  del.erase(cf::hooks, hook_key(1));
  del.erase_range(cf::queue, end, begin);  // inverted: ignored
  EXPECT_EQ(del.size(), 2u);
  ASSERT_TRUE(db->write(std::move(del), true));

  auto rest = scan_all(*db, cf::queue, "", "");
  ASSERT_EQ(rest.size(), 10u);
  for (const auto& [k, v] : rest)
    EXPECT_NE(get_be64(k), 2u);
  auto h = db->get(cf::hooks, hook_key(1));
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->has_value());

  // The store still accepts writes after the ignored inverted range.
  put(*db, cf::hooks, hook_key(5), "h5");
}

TEST(storage_store, scan_respects_bounds_order_and_early_stop) {
  temp_dir tmp;
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  for (uint64_t hook : {1, 2, 3})
    for (uint64_t seq : {0ull, 1ull, 255ull, 256ull, 1ull << 40})
      put(*db, cf::buffer, hook_seq_key(hook, seq), std::to_string(hook) + ":" + std::to_string(seq));

  auto [begin, end] = hook_range(2);
  auto hook2 = scan_all(*db, cf::buffer, begin, end);
  ASSERT_EQ(hook2.size(), 5u);
  uint64_t previous = 0;
  for (std::size_t i = 0; i < hook2.size(); ++i) {
    EXPECT_EQ(get_be64(hook2[i].first), 2u);
    auto seq = get_be64(std::string_view(hook2[i].first).substr(8));
    if (i > 0) {
      EXPECT_GT(seq, previous);
    }
    previous = seq;
  }
  EXPECT_EQ(hook2.front().second, "2:0");
  EXPECT_EQ(hook2.back().second, "2:" + std::to_string(1ull << 40));

  // Lower bound inside the hook's range, empty upper bound = to the end.
  auto tail = scan_all(*db, cf::buffer, hook_seq_key(2, 256), "");
  ASSERT_EQ(tail.size(), 2u + 5u);
  EXPECT_EQ(tail.front().second, "2:256");
  EXPECT_EQ(tail.back().second, "3:" + std::to_string(1ull << 40));

  EXPECT_EQ(scan_all(*db, cf::buffer, "", "").size(), 15u);
  EXPECT_TRUE(scan_all(*db, cf::buffer, hook_range(7).first, hook_range(7).second).empty());
  EXPECT_TRUE(scan_all(*db, cf::queue, "", "").empty());

  int seen = 0;
  auto st = db->scan(cf::buffer, "", "", [&](std::string_view, std::string_view) {
    return ++seen < 3;
  });
  EXPECT_TRUE(st);
  EXPECT_EQ(seen, 3);
}

TEST(storage_store, read_counter_defaults_and_reads_be64) {
  temp_dir tmp;
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  auto initial = db->read_counter(meta_key::next_hook_id, 1);
  ASSERT_TRUE(initial);
  EXPECT_EQ(*initial, 1u);

  batch b;
  put_counter(b, meta_key::next_hook_id, 1ull << 33);
  ASSERT_TRUE(db->write(std::move(b), true));
  auto next = db->read_counter(meta_key::next_hook_id, 1);
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, 1ull << 33);

  put(*db, cf::meta, std::string(meta_key::next_event_seq), "short");
  auto bad = db->read_counter(meta_key::next_event_seq, 1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), errc::storage_failed);
}

TEST(storage_store, data_and_families_survive_reopen) {
  temp_dir tmp;
  const auto dir = tmp.sub("nested/data");
  {
    auto db = open_ok(dir);
    ASSERT_TRUE(db);
    batch b;
    for (std::size_t i = 0; i < cf_count; ++i)
      b.put(static_cast<cf>(i), "key", cf_name(static_cast<cf>(i)));
    ASSERT_TRUE(db->write(std::move(b), true));
  }
  std::vector<std::string> families;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, dir, &families).ok());
  EXPECT_EQ(families.size(), cf_count);
  for (int round = 0; round < 2; ++round) {
    auto db = open_ok(dir);
    ASSERT_TRUE(db);
    for (std::size_t i = 0; i < cf_count; ++i) {
      auto v = db->get(static_cast<cf>(i), "key");
      ASSERT_TRUE(v);
      ASSERT_TRUE(v->has_value()) << cf_name(static_cast<cf>(i));
      EXPECT_EQ(**v, cf_name(static_cast<cf>(i)));
    }
  }
}

TEST(storage_store, reopens_database_with_unknown_family) {
  temp_dir tmp;
  open_ok(tmp.path()).reset();
  {
    // A newer version added a family this one does not know.
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (std::size_t i = 0; i < cf_count; ++i)
      descriptors.emplace_back(cf_name(static_cast<cf>(i)), rocksdb::ColumnFamilyOptions{});
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions{}, tmp.path(), descriptors, &handles, &raw).ok());
    rocksdb::ColumnFamilyHandle* future = nullptr;
    ASSERT_TRUE(raw->CreateColumnFamily(rocksdb::ColumnFamilyOptions{}, "future", &future).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions{}, future, "k", "v").ok());
    handles.push_back(future);
    for (auto* h : handles)
      raw->DestroyColumnFamilyHandle(h);
    ASSERT_TRUE(raw->Close().ok());
    delete raw;
  }
  auto db = open_ok(tmp.path());
  ASSERT_TRUE(db);
  put(*db, cf::hooks, "k", "v");
  db.reset();
  std::vector<std::string> families;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, tmp.path(), &families).ok());
  EXPECT_EQ(families.size(), cf_count + 1);
}

TEST(storage_store, open_fails_on_unusable_path) {
  temp_dir tmp;
  const auto file = tmp.sub("file");
  std::ofstream(file) << "not a directory";
  auto db = store::open(file + "/db");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), errc::storage_failed);
  EXPECT_FALSE(db.error().message().empty());
}

TEST(storage_store, second_open_in_same_process_is_locked) {
  temp_dir tmp;
  auto first = open_ok(tmp.path());
  ASSERT_TRUE(first);
  auto second = store::open(tmp.path());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), errc::storage_locked) << second.error().message();
  first.reset();
  EXPECT_TRUE(open_ok(tmp.path()));
}

// Reads one byte from `fd`, waiting at most 30 s; -1 on timeout or error.
int read_byte(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 30'000) != 1)
    return -1;
  unsigned char c = 0;
  return ::read(fd, &c, 1) == 1 ? c : -1;
}

TEST(storage_store, second_open_in_other_process_is_locked) {
  temp_dir tmp;
  int go[2], result[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(result), 0);
  // Fork before this process opens the store, so the child shares none of
  // RocksDB's in-process lock bookkeeping and meets the file lock itself.
  pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    unsigned char answer = 0xff;
    if (read_byte(go[0]) == 'g') {
      auto db = store::open(tmp.path());
      answer = db ? 0 : static_cast<unsigned char>(db.error().code());
    }
    [[maybe_unused]] auto n = ::write(result[1], &answer, 1);
    ::_exit(0);
  }
  ::close(go[0]);
  ::close(result[1]);
  auto db = open_ok(tmp.path());
  const char g = 'g';
  EXPECT_EQ(::write(go[1], &g, 1), 1);
  int answer = read_byte(result[0]);
  int child_status = 0;
  ::waitpid(child, &child_status, 0);
  ::close(go[1]);
  ::close(result[0]);
  ASSERT_TRUE(db);
  EXPECT_EQ(answer, static_cast<int>(errc::storage_locked));
  EXPECT_TRUE(WIFEXITED(child_status));
}

} // namespace
} // namespace hookwerk::storage

namespace hookwerk::storage {
namespace {

TEST(storage_store_idempotency, compaction_drops_records_older_than_the_window) {
  hookwerk::test::temp_dir tmp;
  auto db = store::open(tmp.sub("db"));
  ASSERT_TRUE(db.has_value());
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  batch b;
  b.put(cf::idempotency, idempotency_key("acme", "old"),
        idempotency_record{"evt_old", now - idempotency_window_ms - 60'000}.encode());
  b.put(cf::idempotency, idempotency_key("acme", "new"),
        idempotency_record{"evt_new", now - 60'000}.encode());
  ASSERT_TRUE((*db)->write(std::move(b), true).is_ok());
  ASSERT_TRUE((*db)->compact(cf::idempotency).is_ok());
  auto old_rec = (*db)->get(cf::idempotency, idempotency_key("acme", "old"));
  ASSERT_TRUE(old_rec.has_value());
  EXPECT_FALSE(old_rec->has_value());
  auto new_rec = (*db)->get(cf::idempotency, idempotency_key("acme", "new"));
  ASSERT_TRUE(new_rec.has_value());
  EXPECT_TRUE(new_rec->has_value());
}

} // namespace
} // namespace hookwerk::storage
