#include "actors/delivery_queue.hpp"

#include <string_view>
#include <unordered_set>

namespace hookwerk {

void delivery_queue::insert(storage::queue_entry e, std::shared_ptr<const std::string> payload) {
  auto seq = e.seq;
  if (seq > last_seq_)
    last_seq_ = seq;
  e.payload.clear();
  item it;
  it.entry = std::move(e);
  it.payload = std::move(payload);
  items_.emplace(seq, std::move(it));
}

void delivery_queue::load(storage::queue_entry e) {
  auto payload = std::make_shared<const std::string>(std::move(e.payload));
  insert(std::move(e), std::move(payload));
}

void delivery_queue::add(storage::queue_entry e, std::shared_ptr<const std::string> payload) {
  if (backlog_ > 0 || items_.size() >= capacity_) {
    ++backlog_;
    return;
  }
  insert(std::move(e), std::move(payload));
}

std::vector<delivery_queue::item*> delivery_queue::take_ready(int64_t now_ms, size_t limit) {
  std::vector<item*> out;
  if (limit == 0)
    return out;
  std::unordered_set<std::string_view> blocked;
  for (auto& [seq, it] : items_) {
    if (it.entry.key) {
      // Only the earliest pending entry of a key may go.
      if (!blocked.insert(*it.entry.key).second)
        continue;
    }
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
  std::unordered_set<std::string_view> blocked;
  for (const auto& [seq, it] : items_) {
    if (it.entry.key && !blocked.insert(*it.entry.key).second)
      continue;
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
  items_.erase(i);
}

void delivery_queue::reset_keep_in_flight() {
  for (auto i = items_.begin(); i != items_.end();)
    i = i->second.in_flight ? std::next(i) : items_.erase(i);
  waiting_ = 0;
  backlog_ = 0;
  last_seq_ = 0;
}

void delivery_queue::reset() {
  items_.clear();
  backlog_ = 0;
  in_flight_ = 0;
  waiting_ = 0;
  last_seq_ = 0;
}

} // namespace hookwerk
