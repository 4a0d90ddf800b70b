#include "actors/drop_log.hpp"

namespace hookwerk {

std::optional<std::string> drop_log::add(uint64_t n, std::string_view why, int64_t now) {
  if (n == 0)
    return flush(now);
  bool found = false;
  for (auto& [reason, count] : waiting_) {
    if (reason == why) {
      count += n;
      found = true;
      break;
    }
  }
  if (!found)
    waiting_.emplace_back(std::string{why}, n);
  return flush(now);
}

std::optional<std::string> drop_log::flush(int64_t now, bool force) {
  if (waiting_.empty())
    return std::nullopt;
  if (!force && last_line_ && now - *last_line_ < period_)
    return std::nullopt;
  return take(now);
}

std::optional<int64_t> drop_log::due() const {
  if (waiting_.empty())
    return std::nullopt;
  return last_line_ ? *last_line_ + period_ : 0;
}

uint64_t drop_log::waiting() const {
  uint64_t n = 0;
  for (const auto& entry : waiting_)
    n += entry.second;
  return n;
}

std::string drop_log::take(int64_t now) {
  std::string line = std::to_string(waiting()) + " event(s) dropped (";
  if (waiting_.size() == 1) {
    line += waiting_.front().first;
  } else {
    bool first = true;
    for (const auto& [reason, count] : waiting_) {
      line += (first ? "" : ", ") + reason + ": " + std::to_string(count);
      first = false;
    }
  }
  line += ')';
  waiting_.clear();
  last_line_ = now;
  return line;
}

} // namespace hookwerk
