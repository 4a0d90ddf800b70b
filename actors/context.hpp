#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace hookwerk {

namespace storage {
class store;
class writer;
} // namespace storage

/// What every actor shares: the database, the writer and the settings that
/// shape their behaviour. Created once by the engine before any actor starts
/// and outlives all of them; the pointers are never null.
struct actor_context {
  storage::store* store = nullptr;
  storage::writer* writer = nullptr;

  /// Event names hooks may subscribe to (`--events`).
  std::vector<std::string> events;

  /// Number of hook actors currently alive (for logs and metrics).
  std::atomic<int64_t> hook_actors{0};
};

} // namespace hookwerk
