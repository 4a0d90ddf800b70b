#include "storage/batch.hpp"

#include "storage/keys.hpp"

#include <iterator>

namespace hookwerk::storage {

void batch::put(cf family, std::string key, std::string value) {
  bytes_ += key.size() + value.size();
  ops_.push_back({op::kind::put, family, std::move(key), std::move(value)});
}

void batch::erase(cf family, std::string key) {
  bytes_ += key.size();
  ops_.push_back({op::kind::erase, family, std::move(key), {}});
}

void batch::erase_range(cf family, std::string begin, std::string end) {
  if (begin >= end)
    return;
  bytes_ += begin.size() + end.size();
  ops_.push_back({op::kind::erase_range, family, std::move(begin), std::move(end)});
}

void batch::append(batch&& other) {
  if (ops_.empty()) {
    ops_ = std::move(other.ops_);
  } else {
    ops_.insert(ops_.end(), std::make_move_iterator(other.ops_.begin()),
                std::make_move_iterator(other.ops_.end()));
  }
  bytes_ += other.bytes_;
  if (other.durability_ == durability::synced)
    durability_ = durability::synced;
  other.clear();
}

void batch::clear() noexcept {
  ops_.clear();
  bytes_ = 0;
  durability_ = durability::synced;
}

void erase_hook(batch& b, uint64_t hook_id) {
  b.erase(cf::hooks, hook_key(hook_id));
  auto [lo, hi] = hook_range(hook_id);
  for (auto family : {cf::queue, cf::buffer, cf::attempts})
    b.erase_range(family, lo, hi);
}

} // namespace hookwerk::storage
