#include "actors/delivery_queue.hpp"

#include <string_view>
#include <unordered_set>

namespace hookwerk {

void delivery_queue::load(storage::queue_entry e) {
  auto seq = e.seq;
  if (seq > last_seq_)
    last_seq_ = seq;
  item it;
  it.payload = std::make_shared<const std::string>(std::move(e.payload));
  e.payload.clear();
  it.entry = std::move(e);
  items_.emplace(seq, std::move(it));
}

void delivery_queue::add(storage::queue_entry e) {
  if (backlog_ > 0 || items_.size() >= capacity_) {
    ++backlog_;
    return;
  }
  load(std::move(e));
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
  if (i->second.in_flight) {
    i->second.in_flight = false;
    --in_flight_;
  }
  i->second.not_before_ms = not_before_ms;
}

void delivery_queue::remove(uint64_t seq) {
  auto i = items_.find(seq);
  if (i == items_.end())
    return;
  if (i->second.in_flight)
    --in_flight_;
  items_.erase(i);
}

void delivery_queue::reset_keep_in_flight() {
  for (auto i = items_.begin(); i != items_.end();)
    i = i->second.in_flight ? std::next(i) : items_.erase(i);
  backlog_ = 0;
  last_seq_ = 0;
}

void delivery_queue::reset() {
  items_.clear();
  backlog_ = 0;
  in_flight_ = 0;
  last_seq_ = 0;
}

} // namespace hookwerk
