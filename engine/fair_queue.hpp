#pragma once

#include <cstddef>
#include <iterator>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hookwerk::engine {

/// Whether fair_queue::push took an item.
enum class admission {
  accepted,
  key_full,   ///< the key already has its maximum of queued items
  total_full, ///< the queue holds its maximum of items
};

/// A bounded queue that serves keys in turn: one FIFO per key, and pop()
/// takes the next item of the key whose turn it is. Service goes in rounds,
/// one item per busy key each; a key whose first item arrives joins the
/// current round behind the keys not yet served in it, so many items under
/// one key delay an item under another by at most one item per busy key (and
/// not at all when the flooded key had its turn in this round). A key leaves
/// the rotation when its last item is taken. Bounds: `max_total` items in
/// all, `max_per_key` per key. Plain value type; not thread-safe
/// (blocking_pool locks around it).
template <class T>
class fair_queue {
public:
  fair_queue(size_t max_total, size_t max_per_key)
    : max_total_(max_total), max_per_key_(max_per_key) {}

  /// Queues `item` under `key`; on a refusal `item` is left untouched.
  admission push(std::string_view key, T&& item) {
    if (size_ >= max_total_)
      return admission::total_full;
    auto i = lanes_.find(std::string{key});
    if (i == lanes_.end()) {
      if (max_per_key_ == 0)
        return admission::key_full;
      i = lanes_.emplace(std::string{key}, std::deque<T>{}).first;
      turn_.insert(turn_.end() - static_cast<std::ptrdiff_t>(served_in_round_), i->first);
    } else if (i->second.size() >= max_per_key_) {
      return admission::key_full;
    }
    i->second.push_back(std::move(item));
    ++size_;
    return admission::accepted;
  }

  /// The oldest item of the key whose turn it is; that key moves to the end
  /// of the rotation (or leaves it when it has nothing more).
  std::optional<T> pop() {
    auto taken = pop_if([](std::string_view) { return true; });
    if (!taken)
      return std::nullopt;
    return std::move(taken->second);
  }

  /// Like pop(), but passes over keys for which `eligible(key)` is false
  /// (they keep their place); returns the key with the item.
  template <class Pred>
  std::optional<std::pair<std::string, T>> pop_if(Pred eligible) {
    if (served_in_round_ >= turn_.size())
      served_in_round_ = 0;
    const size_t due = turn_.size() - served_in_round_;
    for (size_t at = 0; at < turn_.size(); ++at) {
      if (!eligible(std::string_view{turn_[at]}))
        continue;
      std::string key = std::move(turn_[at]);
      turn_.erase(turn_.begin() + static_cast<std::ptrdiff_t>(at));
      if (at >= due)
        --served_in_round_;
      auto i = lanes_.find(key);
      T item = std::move(i->second.front());
      i->second.pop_front();
      --size_;
      if (i->second.empty()) {
        lanes_.erase(i);
      } else {
        turn_.push_back(key);
        ++served_in_round_;
      }
      return std::make_pair(std::move(key), std::move(item));
    }
    return std::nullopt;
  }

  /// True when some key with items satisfies `eligible`.
  template <class Pred>
  bool any_of(Pred eligible) const {
    for (const auto& key : turn_)
      if (eligible(std::string_view{key}))
        return true;
    return false;
  }

  /// Removes and returns every queued item, in the order pop() would have.
  std::vector<T> take_all() {
    std::vector<T> out;
    out.reserve(size_);
    while (auto item = pop())
      out.push_back(std::move(*item));
    return out;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  /// Items queued under `key`.
  size_t size(std::string_view key) const {
    auto i = lanes_.find(std::string{key});
    return i == lanes_.end() ? 0 : i->second.size();
  }

private:
  size_t max_total_;
  size_t max_per_key_;
  size_t size_ = 0;
  std::unordered_map<std::string, std::deque<T>> lanes_;
  /// Keys in serving order: those still due in this round, then those
  /// served in it (the last `served_in_round_`).
  std::deque<std::string> turn_;
  size_t served_in_round_ = 0;
};

} // namespace hookwerk::engine
