#include "storage/store.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/table.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/write_batch.h>

#include "storage/keys.hpp"
#include "storage/records.hpp"

namespace hookwerk::storage {

namespace {

// RocksDB reports a held LOCK file as an IOError: "While lock file: …:
// Resource temporarily unavailable" when another process holds it, "lock
// hold by current process …" when this process does.
bool is_lock_error(const rocksdb::Status& s) {
  if (!s.IsIOError())
    return false;
  const std::string text = s.ToString();
  return text.find("While lock file") != std::string::npos
         || text.find("lock hold by current process") != std::string::npos;
}

status failed(const rocksdb::Status& s) {
  return {errc::storage_failed, s.ToString()};
}

/// A write RocksDB refused: the database failed (errc::storage_failed) or the
/// batch itself is invalid (errc::internal).
status write_failed(const rocksdb::Status& s) {
  if (s.IsInvalidArgument() || s.IsNotSupported())
    return {errc::internal, "batch rejected: " + s.ToString()};
  return failed(s);
}

/// RocksDB's info log as a plain file whose write errors are ignored.
/// RocksDB's own file logger asserts that it never writes after an error, so
/// with a full disk the Debian build (assertions on) aborts the process.
class file_logger : public rocksdb::Logger {
public:
  explicit file_logger(const std::string& path)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), file_(std::fopen(path.c_str(), "w")) {}

  ~file_logger() override {
    if (file_ != nullptr)
      std::fclose(file_);
  }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    if (file_ == nullptr)
      return;
    char stamp[32];
    auto now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ ", &utc);
    std::lock_guard lock{mutex_};
    std::fputs(stamp, file_);
    std::vfprintf(file_, format, ap);
    std::fputc('\n', file_);
    std::fflush(file_);
  }

private:
  std::mutex mutex_;
  std::FILE* file_;
};

/// Turns off RocksDB's automatic recovery from background errors: for a full
/// disk it waits for as much free space as the largest memtable (64 MiB) and
/// answers DB::Resume() with Busy meanwhile. The writer resumes instead.
class manual_recovery : public rocksdb::EventListener {
public:
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }
};

/// Number of the write-ahead log RocksDB writes to now; 0 if unknown.
uint64_t current_wal(rocksdb::DB* db) {
  std::unique_ptr<rocksdb::LogFile> file;
  if (db->GetCurrentWalFile(&file).ok() && file)
    return file->LogNumber();
  return 0;
}

rocksdb::Slice slice(std::string_view s) {
  return {s.data(), s.size()};
}

/// RocksDB counts every key comparison (a memtable insert makes dozens) in a thread-local
/// perf context unless the thread says otherwise; nothing here reads those counts. Once per
/// thread that uses the store: the writer, the CAF workers, the blocking pool.
void without_perf_counts() {
  thread_local const bool quiet = [] {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    return true;
  }();
  (void)quiet;
}

/// Drops idempotency records older than the window during compaction, so the
/// family does not grow without bound. Lookups ignore expired records anyway;
/// this only reclaims their space.
class expired_idempotency_filter : public rocksdb::CompactionFilter {
public:
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    auto rec = idempotency_record::decode({value.data(), value.size()});
    if (!rec)
      return false;
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
    return now - rec->created_at_ms > idempotency_window_ms;
  }

  const char* Name() const override { return "hookwerk.expired_idempotency"; }
};

const expired_idempotency_filter idempotency_filter;

/// Drops an event record (events family) during compaction once none of the hooks it
/// was routed to has an entry of it in its queue or buffer: the last one was delivered,
/// given up, dropped or its hook deleted. Entries of an event are only written with it
/// or moved between a hook's queue and buffer in one batch, so once none is left none
/// comes back. (Except where a crash of the machine loses unsynced outcome writes that
/// the check saw; the hook then finds the entry without its event and removes it.) The
/// check reads queue and buffer through one snapshot, so an entry moving between them
/// is seen in one of them. A record it cannot read, or a failed read, is kept.
class unreferenced_event_filter : public rocksdb::CompactionFilter {
public:
  /// From now on records are checked against `db`'s queue and buffer.
  void attach(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* queue,
              rocksdb::ColumnFamilyHandle* buffer) {
    std::unique_lock lock{mutex_};
    db_ = db;
    queue_ = queue;
    buffer_ = buffer;
  }

  /// Waits for checks under way; from then on every record is kept.
  void detach() {
    std::unique_lock lock{mutex_};
    db_ = nullptr;
  }

  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    if (key.size() != 8)
      return false;
    auto rec = event_record::decode({value.data(), value.size()});
    if (!rec)
      return false;
    auto seq = get_be64({key.data(), key.size()});
    without_perf_counts();
    std::shared_lock lock{mutex_};
    if (db_ == nullptr)
      return false;
    rocksdb::ReadOptions read;
    read.snapshot = db_->GetSnapshot();
    bool referenced = false;
    for (auto hook : rec->hooks) {
      auto entry = hook_seq_key(hook, seq);
      for (auto* family : {queue_, buffer_}) {
        rocksdb::PinnableSlice found;
        if (!db_->Get(read, family, slice(entry), &found).IsNotFound()) {
          referenced = true;
          break;
        }
      }
      if (referenced)
        break;
    }
    db_->ReleaseSnapshot(read.snapshot);
    return !referenced;
  }

  const char* Name() const override { return "hookwerk.unreferenced_event"; }

private:
  mutable std::shared_mutex mutex_;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* queue_ = nullptr;
  rocksdb::ColumnFamilyHandle* buffer_ = nullptr;
};

rocksdb::ColumnFamilyOptions family_options(cf family, const rocksdb::CompactionFilter* events_filter) {
  rocksdb::ColumnFamilyOptions opts;
  if (family == cf::idempotency || family == cf::hooks) {
    // Looked up by key on actor threads (an ingested event's idempotency key,
    // a passive hook's record): a Bloom filter per file answers most misses
    // without reading a data block from disk.
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  }
  if (family == cf::idempotency) {
    opts.compaction_filter = &idempotency_filter;
    // Compact every file at least daily, so expired records go even when
    // little is written.
    opts.periodic_compaction_seconds = 24 * 3600;
  }
  if (family == cf::queue || family == cf::attempts) {
    // Every delivery inserts into these (an entry removed, an attempt logged) at keys spread
    // over all hooks, so each insert searches the whole skip list: in one of 8 MiB instead of
    // the default 64 MiB the search is shorter and stays in cache (docs/performance.md).
    opts.write_buffer_size = 8 << 20;
  }
  if (family == cf::events) {
    opts.compaction_filter = events_filter;
    // Records of delivered events are dropped only by compaction: a smaller memtable
    // than the default 64 MiB gets them there sooner, and a daily pass reaches them
    // when little is written.
    opts.write_buffer_size = 16 << 20;
    opts.periodic_compaction_seconds = 24 * 3600;
  }
  return opts;
}

} // namespace

struct store::impl {
  std::string path;
  /// Must outlive the database (its family options point to it).
  unreferenced_event_filter events_filter;
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  ///< Indexed by cf, then unknown families.
  /// The write-ahead log in use when a write last failed (0: none failed).
  std::atomic<uint64_t> failed_wal{0};

  ~impl() {
    if (db == nullptr)
      return;
    events_filter.detach();
    for (auto* h : handles)
      db->DestroyColumnFamilyHandle(h);
    handles.clear();
    db->Close();
    delete db;
  }

  rocksdb::ColumnFamilyHandle* handle(cf family) const {
    return handles[static_cast<std::size_t>(family)];
  }
};

store::store(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

store::~store() = default;

expected<std::unique_ptr<store>> store::open(const std::string& dir,
                                             const store_options& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return status{errc::storage_failed, "cannot create " + dir + ": " + ec.message()};

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = options.max_background_jobs;
  std::error_code ignored;
  std::filesystem::rename(dir + "/LOG", dir + "/LOG.old", ignored);
  db_options.info_log = std::make_shared<file_logger>(dir + "/LOG");
  db_options.listeners.push_back(std::make_shared<manual_recovery>());

  auto state = std::make_unique<impl>();
  state->path = dir;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (std::size_t i = 0; i < cf_count; ++i)
    families.emplace_back(cf_name(static_cast<cf>(i)),
                          family_options(static_cast<cf>(i), &state->events_filter));
  // A new database has no family list yet; Open then creates ours.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, dir, &existing).ok()) {
    for (const auto& name : existing) {
      bool known = false;
      for (const auto& f : families)
        known = known || f.name == name;
      if (!known)
        families.emplace_back(name, rocksdb::ColumnFamilyOptions{});
    }
  }

  auto s = rocksdb::DB::Open(db_options, dir, families, &state->handles, &state->db);
  if (!s.ok()) {
    if (is_lock_error(s))
      return status{errc::storage_locked, s.ToString()};
    return failed(s);
  }
  state->events_filter.attach(state->db, state->handle(cf::queue), state->handle(cf::buffer));

  std::unique_ptr<store> result{new store(std::move(state))};
  auto version = result->get(cf::meta, meta_key::schema_version);
  if (!version)
    return version.error();
  uint32_t found = 0;
  if (version->has_value()) {
    const auto& bytes = **version;
    if (bytes.size() != 4)
      return status{errc::storage_failed, "unreadable schema_version in " + dir};
    for (char c : bytes)
      found = (found << 8) | static_cast<uint8_t>(c);
    if (found > current_schema_version)
      return status{errc::storage_failed,
                    dir + " holds schema version " + std::to_string(found)
                      + ", written by a newer release (this one reads up to "
                      + std::to_string(current_schema_version) + ")"};
  }
  if (found < current_schema_version) {
    // A new directory, or one of layout 1, whose entries are read as they are.
    std::string value;
    for (int shift = 24; shift >= 0; shift -= 8)
      value.push_back(static_cast<char>((current_schema_version >> shift) & 0xff));
    batch b;
    b.put(cf::meta, std::string(meta_key::schema_version), std::move(value));
    if (auto st = result->write(std::move(b), true); !st)
      return st;
  }
  return result;
}

expected<std::optional<std::string>> store::get(cf family, std::string_view key) const {
  without_perf_counts();
  rocksdb::PinnableSlice value;
  auto s = impl_->db->Get(rocksdb::ReadOptions{}, impl_->handle(family), slice(key), &value);
  if (s.IsNotFound())
    return std::optional<std::string>{};
  if (!s.ok())
    return failed(s);
  return std::optional<std::string>{value.ToString()};
}

status store::write(batch&& b, bool sync) {
  auto written = write_all({&b}, sync);
  b.clear();
  return written ? status::ok() : written.error();
}

expected<uint64_t> store::write_all(const std::vector<const batch*>& batches, bool sync,
                                    std::vector<uint64_t>* sizes) {
  without_perf_counts();
  // The group's point writes go to RocksDB sorted by family and key. A memtable
  // remembers where its last insert went, so an insert next to the previous one
  // skips most of the skip list's search; a group gathers the writes of many
  // hooks in whatever order their actors ran. Writes to different keys commute;
  // the sort is stable, so writes of one key keep their order, and a range
  // deletion stays a barrier that no write crosses.
  struct placed {
    const batch::op* op;
    std::size_t owner;  // index into `batches`
  };
  std::vector<placed> order;
  std::size_t reserve = 64;
  std::size_t count = 0;
  for (const auto* b : batches) {
    reserve += b->byte_size() + 32 * b->size();
    count += b->size();
  }
  order.reserve(count);
  auto by_key = [](const placed& a, const placed& b) {
    if (a.op->family != b.op->family)
      return a.op->family < b.op->family;
    return a.op->key < b.op->key;
  };
  std::size_t run_begin = 0;
  auto sort_run = [&] {
    std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(run_begin), order.end(), by_key);
  };
  for (std::size_t i = 0; i < batches.size(); ++i)
    for (const auto& o : batches[i]->ops()) {
      const bool barrier = o.type == batch::op::kind::erase_range;
      if (barrier)
        sort_run();
      order.push_back({&o, i});
      if (barrier)
        run_begin = order.size();
    }
  sort_run();

  rocksdb::WriteBatch wb(reserve);
  if (sizes)
    sizes->assign(batches.size(), 0);
  for (const auto& [o, owner] : order) {
    auto before = wb.GetDataSize();
    auto* h = impl_->handle(o->family);
    rocksdb::Status s;
    switch (o->type) {
      case batch::op::kind::put: s = wb.Put(h, o->key, o->value); break;
      case batch::op::kind::erase: s = wb.Delete(h, o->key); break;
      case batch::op::kind::erase_range: s = wb.DeleteRange(h, o->key, o->value); break;
    }
    if (!s.ok())
      return write_failed(s);
    if (sizes)
      (*sizes)[owner] += wb.GetDataSize() - before;
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  auto s = impl_->db->Write(write_options, &wb);
  if (s.ok())
    return uint64_t{wb.GetDataSize()};
  auto result = write_failed(s);
  if (result.code() == errc::storage_failed)
    impl_->failed_wal.store(current_wal(impl_->db));
  return result;
}

status store::resume() {
  auto s = impl_->db->Resume();
  if (!s.ok())
    return failed(s);
  auto broken = impl_->failed_wal.load();
  if (broken != 0 && current_wal(impl_->db) == broken)
    return {errc::storage_failed,
            "RocksDB resumed but kept its failed write-ahead log " + std::to_string(broken)
              + "; a restart is needed"};
  return status::ok();
}

status store::scan(
  cf family, std::string_view lower, std::string_view upper,
  const std::function<bool(std::string_view key, std::string_view value)>& fn) const {
  without_perf_counts();
  rocksdb::Slice lower_slice = slice(lower);
  rocksdb::Slice upper_slice = slice(upper);
  rocksdb::ReadOptions read_options;
  if (!lower.empty())
    read_options.iterate_lower_bound = &lower_slice;
  if (!upper.empty())
    read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(read_options, impl_->handle(family))};
  for (it->Seek(lower_slice); it->Valid(); it->Next()) {
    auto k = it->key();
    auto v = it->value();
    if (!fn({k.data(), k.size()}, {v.data(), v.size()}))
      break;
  }
  auto s = it->status();
  if (!s.ok())
    return failed(s);
  return status::ok();
}

status store::compact(cf family) {
  rocksdb::CompactRangeOptions opts;
  opts.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  auto s = impl_->db->CompactRange(opts, impl_->handle(family), nullptr, nullptr);
  if (!s.ok())
    return failed(s);
  return status::ok();
}

expected<std::optional<std::string>> store::last_key(cf family, std::string_view lower,
                                                     std::string_view upper) const {
  without_perf_counts();
  rocksdb::Slice lower_slice = slice(lower);
  rocksdb::Slice upper_slice = slice(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_lower_bound = &lower_slice;
  read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(read_options, impl_->handle(family))};
  it->SeekToLast();
  std::optional<std::string> out;
  if (it->Valid())
    out = it->key().ToString();
  auto s = it->status();
  if (!s.ok())
    return failed(s);
  return out;
}

expected<uint64_t> store::read_counter(std::string_view name, uint64_t initial) const {
  auto value = get(cf::meta, name);
  if (!value)
    return value.error();
  if (!value->has_value())
    return initial;
  if ((*value)->size() != 8)
    return status{errc::storage_failed, "counter " + std::string(name) + " is not 8 bytes"};
  return get_be64(**value);
}

const std::string& store::path() const noexcept {
  return impl_->path;
}

void put_counter(batch& b, std::string_view name, uint64_t next) {
  b.put(cf::meta, std::string(name), be64(next));
}

} // namespace hookwerk::storage
