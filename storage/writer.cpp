#include "storage/writer.hpp"

#include <algorithm>
#include <vector>

#include "storage/store.hpp"

namespace hookwerk::storage {

writer::writer(store& db, writer_options options) : store_(db), options_(options) {
  thread_ = std::thread([this] { run(); });
}

writer::~writer() {
  stop();
}

void writer::submit(batch b, callback done) {
  {
    std::lock_guard lock{mutex_};
    if (!stopping_) {
      largest_batch_ops_ = std::max<uint64_t>(largest_batch_ops_, b.size());
      largest_batch_bytes_ = std::max<uint64_t>(largest_batch_bytes_, b.byte_size());
      queue_.push_back({std::move(b), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  if (done)
    done(status{errc::shutting_down, "storage writer is stopped"});
}

void writer::stop() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_one();
  std::call_once(join_once_, [this] { thread_.join(); });
}

writer_stats writer::stats() const {
  std::lock_guard lock{mutex_};
  return {groups_.load(), batches_.load(), failed_groups_.load(), largest_batch_ops_,
          largest_batch_bytes_};
}

void writer::run() {
  std::vector<pending> group;
  for (;;) {
    {
      std::unique_lock lock{mutex_};
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;
      std::size_t bytes = 0;
      while (!queue_.empty()) {
        auto next = queue_.front().work.byte_size();
        if (!group.empty() && bytes + next > options_.max_group_bytes)
          break;
        bytes += next;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    batch merged;
    for (auto& p : group)
      merged.append(std::move(p.work));
    auto result = store_.write(std::move(merged), true);
    if (result) {
      groups_.fetch_add(1);
      batches_.fetch_add(group.size());
    } else {
      failed_groups_.fetch_add(1);
    }
    for (auto& p : group)
      if (p.done)
        p.done(result);
    group.clear();
  }
}

} // namespace hookwerk::storage
