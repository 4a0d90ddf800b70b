#include "actors/delivery_queue.hpp"

#include <algorithm>
#include <limits>

namespace hookwerk {

namespace {
constexpr uint64_t end_of_queue = std::numeric_limits<uint64_t>::max();
} // namespace

void delivery_queue::insert(storage::queue_entry e, std::shared_ptr<const std::string> payload) {
  auto seq = e.seq;
  if (e.key)
    heads_.insert(*e.key);
  e.payload.clear();
  item it;
  it.entry = std::move(e);
  it.payload = std::move(payload);
  items_.emplace(seq, std::move(it));
}

bool delivery_queue::must_defer(std::string_view key) const {
  std::string k{key};
  return heads_.count(k) > 0 || deferred_.count(k) > 0;
}

void delivery_queue::defer(std::string_view key, uint64_t seq) {
  deferred_.try_emplace(std::string{key}, seq);
  ++deferred_count_;
}

void delivery_queue::add(storage::queue_entry e, std::shared_ptr<const std::string> payload) {
  if (e.seq < cursor_ || items_.count(e.seq))
    return;  // already read from disk by page()
  if (unseen_ > 0) {
    ++unseen_;
    return;
  }
  if (e.key && must_defer(*e.key)) {
    defer(*e.key, e.seq);
    cursor_ = e.seq + 1;
    return;
  }
  if (room() == 0) {
    ++unseen_;
    return;
  }
  cursor_ = e.seq + 1;
  insert(std::move(e), std::move(payload));
}

std::shared_ptr<const std::string> delivery_queue::payload_of(storage::queue_entry& e,
                                                              const resolver& resolve,
                                                              page_result& result) {
  if (!e.shared)
    return std::make_shared<const std::string>(std::move(e.payload));
  auto payload = resolve ? resolve(e) : std::nullopt;
  if (!payload) {
    ++result.unreadable;
    return nullptr;
  }
  if (!*payload)
    result.orphaned.push_back(e.seq);
  return std::move(*payload);
}

delivery_queue::page_result delivery_queue::page(const reader& read, size_t budget,
                                                 const resolver& resolve) {
  page_result result;
  size_t visited = 0;
  // The next entry of each key whose head left, looked for where its
  // deferred entries lie: [deferred_[key], cursor_).
  while (!refill_.empty()) {
    const auto& key = refill_.back();
    auto d = deferred_.find(key);
    if (d == deferred_.end()) {
      refill_.pop_back();
      continue;
    }
    std::optional<storage::queue_entry> found;
    std::shared_ptr<const std::string> payload;
    uint64_t resume = d->second;
    bool stopped = false;
    read(d->second, cursor_, [&](std::string_view v) {
      if (visited == budget) {
        stopped = true;
        return false;
      }
      ++visited;
      auto head = storage::queue_entry::peek(v);
      if (!head)
        return true;  // counted when the cursor passed it
      if (!head->key || *head->key != key) {
        resume = head->seq + 1;
        return true;
      }
      resume = head->seq + 1;
      auto entry = storage::queue_entry::decode(v);
      if (!entry) {
        ++result.unreadable;
        return true;
      }
      auto orphans = result.orphaned.size();
      payload = payload_of(*entry, resolve, result);
      if (!payload) {
        if (result.orphaned.size() > orphans && deferred_count_ > 0)
          --deferred_count_;  // orphaned: the owner removes it
        return true;
      }
      found = std::move(entry);
      return false;
    });
    if (stopped) {
      d->second = resume;
      result.more = true;
      return result;
    }
    if (found) {
      // More of the key may follow; the next refill looks from here.
      if (deferred_count_ > 0)
        --deferred_count_;
      d->second = resume;
      insert(std::move(*found), std::move(payload));
    } else {
      deferred_.erase(d);
    }
    refill_.pop_back();
  }
  if (unseen_ == 0 || room() == 0)
    return result;
  bool stopped = false;
  bool full = false;
  read(cursor_, end_of_queue, [&](std::string_view v) {
    if (room() == 0) {
      full = true;
      return false;
    }
    if (visited == budget) {
      stopped = true;
      return false;
    }
    ++visited;
    auto head = storage::queue_entry::peek(v);
    if (!head) {
      ++result.unreadable;
      if (unseen_ > 0)
        --unseen_;
      return true;
    }
    cursor_ = head->seq + 1;
    if (items_.count(head->seq))
      return true;  // in flight since before a reload, so not counted
    if (unseen_ > 0)
      --unseen_;
    if (head->key && must_defer(*head->key)) {
      defer(*head->key, head->seq);
      return true;
    }
    auto entry = storage::queue_entry::decode(v);
    if (!entry) {
      ++result.unreadable;
      return true;
    }
    if (auto payload = payload_of(*entry, resolve, result))
      insert(std::move(*entry), std::move(payload));
    return true;
  });
  if (stopped || full) {
    // The count may be short (an entry read here before the hook heard of
    // it); the entry it stopped at is there, so paging goes on.
    unseen_ = std::max<uint64_t>(unseen_, 1);
    result.more = stopped;
  } else {
    unseen_ = 0;  // read to the end: nothing else waits unseen
  }
  return result;
}

std::vector<delivery_queue::item*> delivery_queue::take_ready(int64_t now_ms, size_t limit) {
  std::vector<item*> out;
  if (limit == 0)
    return out;
  for (auto& [seq, it] : items_) {
    if (it.in_flight || it.not_before_ms > now_ms)
      continue;
    if (waits_for_retry(it))
      --waiting_;
    it.in_flight = true;
    ++in_flight_;
    out.push_back(&it);
    if (out.size() == limit)
      break;
  }
  return out;
}

std::optional<int64_t> delivery_queue::next_due() const {
  std::optional<int64_t> due;
  if (waiting_ == 0)
    return due;  // the common case: no entry waits for a retry time
  for (const auto& [seq, it] : items_) {
    if (it.in_flight || it.not_before_ms == 0)
      continue;
    if (!due || it.not_before_ms < *due)
      due = it.not_before_ms;
  }
  return due;
}

delivery_queue::item* delivery_queue::find(uint64_t seq) {
  auto i = items_.find(seq);
  return i == items_.end() ? nullptr : &i->second;
}

void delivery_queue::release(uint64_t seq, int64_t not_before_ms) {
  auto i = items_.find(seq);
  if (i == items_.end())
    return;
  if (waits_for_retry(i->second))
    --waiting_;
  if (i->second.in_flight) {
    i->second.in_flight = false;
    --in_flight_;
  }
  i->second.not_before_ms = not_before_ms;
  if (waits_for_retry(i->second))
    ++waiting_;
}

void delivery_queue::remove(uint64_t seq) {
  auto i = items_.find(seq);
  if (i == items_.end())
    return;
  if (i->second.in_flight)
    --in_flight_;
  if (waits_for_retry(i->second))
    --waiting_;
  if (const auto& key = i->second.entry.key) {
    heads_.erase(*key);
    if (deferred_.count(*key))
      refill_.push_back(*key);
  }
  items_.erase(i);
}

void delivery_queue::reset_keep_in_flight() {
  heads_.clear();
  for (auto i = items_.begin(); i != items_.end();) {
    if (!i->second.in_flight) {
      i = items_.erase(i);
      continue;
    }
    if (i->second.entry.key)
      heads_.insert(*i->second.entry.key);
    ++i;
  }
  deferred_.clear();
  refill_.clear();
  deferred_count_ = 0;
  waiting_ = 0;
  unseen_ = 0;
  cursor_ = 0;
}

void delivery_queue::reset() {
  items_.clear();
  heads_.clear();
  deferred_.clear();
  refill_.clear();
  deferred_count_ = 0;
  unseen_ = 0;
  in_flight_ = 0;
  waiting_ = 0;
  cursor_ = 0;
}

} // namespace hookwerk
