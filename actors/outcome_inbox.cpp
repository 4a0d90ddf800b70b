#include "actors/outcome_inbox.hpp"

#include <utility>

namespace hookwerk {

bool outcome_inbox::add(attempt_outcome outcome) {
  std::lock_guard<std::mutex> guard{mtx_};
  items_.push_back(std::move(outcome));
  return items_.size() == 1;
}

void outcome_inbox::take(std::vector<attempt_outcome>& out) {
  out.clear();
  std::lock_guard<std::mutex> guard{mtx_};
  out.swap(items_);
}

} // namespace hookwerk
