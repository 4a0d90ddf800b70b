#pragma once

#include <memory>

#include "api/http.hpp"

namespace caf {
class actor;
}

namespace hookwerk::engine {
class runtime;
}

namespace hookwerk::api {

/// Spawns the front actor: it receives every HTTP request the server does not
/// answer itself, authenticates it, translates it into messages for the
/// registry and hook actors, and turns their answers into HTTP responses.
/// Slow work (password hashing, DNS) goes to the runtime's blocking pool and
/// comes back as messages. `rt` must outlive the actor.
caf::actor spawn_front(engine::runtime& rt);

/// Hands one exchange to the front actor (thread-safe).
void send_to_front(const caf::actor& front, std::shared_ptr<http_exchange> ex);

/// Stops the front actor.
void stop_front(const caf::actor& front);

} // namespace hookwerk::api
