#include "storage/writer.hpp"

#include <algorithm>
#include <pthread.h>
#include <vector>

#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace hookwerk::storage {

namespace {

using steady = std::chrono::steady_clock;

std::chrono::milliseconds since(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t);
}

status unavailable(const std::string& why) {
  return {errc::storage_unavailable, "storage refuses writes until it recovers: " + why};
}

} // namespace

writer::writer(store& db, writer_options options) : store_(db), options_(options) {
  thread_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "hw-writer"); // as top -H and perf show it
    run();
  });
}

writer::~writer() {
  stop();
}

void writer::submit(batch b, callback done, on_failure mode) {
  status refused;
  {
    std::lock_guard lock{mutex_};
    if (stopping_) {
      refused = status{errc::shutting_down, "storage writer is stopped"};
    } else if (mode == on_failure::report && !healthy_.load(std::memory_order_relaxed)) {
      refused = unavailable("an earlier write failed");
    } else {
      largest_batch_ops_ = std::max<uint64_t>(largest_batch_ops_, b.size());
      largest_batch_bytes_ = std::max<uint64_t>(largest_batch_bytes_, b.byte_size());
      queue_.push_back({std::move(b), std::move(done), mode});
      wake_.notify_one();
      return;
    }
  }
  if (done)
    done(std::move(refused));
}

void writer::stop() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_one();
  std::call_once(join_once_, [this] { thread_.join(); });
}

void writer::set_listener(listener fn) {
  std::lock_guard lock{listener_mutex_};
  listener_ = std::move(fn);
  if (listener_) {
    storage_event e;
    e.what = storage_event::kind::current;
    e.healthy = healthy();
    listener_(e);
  }
}

writer_stats writer::stats() const {
  writer_stats s;
  s.groups = groups_.load();
  s.synced_groups = synced_groups_.load();
  s.batches = batches_.load();
  s.written_bytes = written_bytes_.load();
  s.synced_written_bytes = synced_written_bytes_.load();
  s.failed_groups = failed_groups_.load();
  s.recoveries = recoveries_.load();
  s.healthy = healthy();
  std::lock_guard lock{mutex_};
  s.largest_batch_ops = largest_batch_ops_;
  s.largest_batch_bytes = largest_batch_bytes_;
  return s;
}

void writer::notify(storage_event e) {
  e.healthy = healthy();
  std::lock_guard lock{listener_mutex_};
  if (listener_)
    listener_(e);
}

void writer::run() {
  std::vector<pending> group;
  std::vector<const batch*> parts;
  std::vector<uint64_t> sizes;  // each batch's bytes in the last group written
  for (;;) {
    std::unique_lock lock{mutex_};
    if (!healthy()) {
      wake_.wait_until(lock, retry_at_, [this] { return stopping_; });
      bool stopping = stopping_;
      lock.unlock();
      if (try_recover())
        continue;
      if (stopping) {
        abandon();
        return;
      }
      continue;
    }
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
    lock.unlock();

    parts.clear();
    bool sync = false;
    for (const auto& p : group) {
      parts.push_back(&p.work);
      sync = sync || p.work.needs() == batch::durability::synced;
    }
    auto written = store_.write_all(parts, sync, &sizes);
    status result = written ? status::ok() : written.error();
    if (written) {
      groups_.fetch_add(1);
      if (sync)
        synced_groups_.fetch_add(1);
      batches_.fetch_add(group.size());
      written_bytes_.fetch_add(*written);
      uint64_t synced_bytes = 0;
      for (std::size_t i = 0; i < group.size() && i < sizes.size(); ++i)
        if (group[i].work.needs() == batch::durability::synced)
          synced_bytes += sizes[i];
      synced_written_bytes_.fetch_add(synced_bytes);
    } else {
      failed_groups_.fetch_add(1);
      if (result.code() == errc::storage_failed) {
        degrade(group, result);
        group.clear();
        continue;
      }
    }
    for (auto& p : group)
      if (p.done)
        p.done(result);
    group.clear();
  }
}

void writer::degrade(std::vector<pending>& group, const status& why) {
  std::vector<pending> refused;
  {
    std::lock_guard lock{mutex_};
    // What must not be lost goes back to the head of the queue, in order;
    // whoever can answer "retry later" is told now, also those still waiting.
    for (auto i = group.rbegin(); i != group.rend(); ++i)
      if (i->mode == on_failure::retain)
        queue_.push_front(std::move(*i));
    for (auto& p : group)
      if (p.mode == on_failure::report)
        refused.push_back(std::move(p));
    for (auto i = queue_.begin(); i != queue_.end();) {
      if (i->mode == on_failure::report) {
        refused.push_back(std::move(*i));
        i = queue_.erase(i);
      } else {
        ++i;
      }
    }
    healthy_.store(false, std::memory_order_release);
    degraded_since_ = steady::now();
    attempts_ = 0;
    retry_delay_ = options_.first_retry;
    retry_at_ = degraded_since_ + retry_delay_;
  }
  storage_event e;
  e.what = storage_event::kind::failed;
  e.error = why;
  e.next_try = retry_delay_;
  notify(std::move(e));
  auto answer = unavailable(why.message());
  for (auto& p : refused)
    if (p.done)
      p.done(answer);
}

bool writer::try_recover() {
  ++attempts_;
  auto result = store_.resume();
  if (result) {
    // A small synced write proves that the log takes writes again before
    // anything that waited is written.
    batch probe;
    probe.put(cf::meta, std::string{meta_key::storage_probe},
              be64(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count())));
    result = store_.write(std::move(probe), true);
  }
  if (result) {
    {
      std::lock_guard lock{mutex_};
      healthy_.store(true, std::memory_order_release);
    }
    recoveries_.fetch_add(1);
    storage_event e;
    e.what = storage_event::kind::recovered;
    e.attempts = attempts_;
    e.degraded_for = since(degraded_since_);
    notify(std::move(e));
    return true;
  }
  retry_delay_ = std::min(retry_delay_ * 2, options_.max_retry);
  {
    std::lock_guard lock{mutex_};
    retry_at_ = steady::now() + retry_delay_;
  }
  storage_event e;
  e.what = storage_event::kind::still_failing;
  e.error = result;
  e.attempts = attempts_;
  e.next_try = retry_delay_;
  notify(std::move(e));
  return false;
}

void writer::abandon() {
  std::deque<pending> left;
  {
    std::lock_guard lock{mutex_};
    left.swap(queue_);
  }
  storage_event e;
  e.what = storage_event::kind::abandoned;
  e.batches = left.size();
  e.attempts = attempts_;
  notify(std::move(e));
  status gone{errc::shutting_down, "not written: the storage failed and did not recover before shutdown"};
  for (auto& p : left)
    if (p.done)
      p.done(gone);
}

} // namespace hookwerk::storage
