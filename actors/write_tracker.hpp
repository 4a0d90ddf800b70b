#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>

#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "storage/store.hpp"
#include "storage/writer.hpp"

namespace hookwerk {

/// Lets an actor wait for its writes without blocking: the batch goes to the
/// group-commit writer, whose completion comes back to the actor as a
/// `persisted_atom` message, and the actor then runs the continuation.
/// Lives in an actor's state; not thread-safe (only the actor touches it).
class write_tracker {
public:
  using continuation = std::function<void(const status&)>;

  /// Submits `b`; `k` runs inside the actor once the batch is durable (or
  /// failed). `mode` says what a failure of the storage does to it (see
  /// storage::on_failure): with `retain`, `k` waits for the storage to recover.
  template <class Handle>
  void submit(storage::writer& w, const Handle& self, storage::batch b, continuation k,
              storage::on_failure mode = storage::on_failure::retain) {
    auto token = next_token_++;
    pending_.emplace(token, std::move(k));
    w.submit(
      std::move(b),
      [self, token](status st) { caf::anon_send(self, persisted_atom::value, token, std::move(st)); },
      mode);
  }

  /// Handles the `persisted_atom` message for `token`.
  void complete(uint64_t token, const status& st) {
    auto i = pending_.find(token);
    if (i == pending_.end())
      return;
    auto k = std::move(i->second);
    pending_.erase(i);
    k(st);
  }

  size_t pending() const noexcept { return pending_.size(); }

private:
  uint64_t next_token_ = 1;
  std::unordered_map<uint64_t, continuation> pending_;
};

} // namespace hookwerk
