#pragma once

#include <cstdint>
#include <string>

#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "storage/writer.hpp"

namespace hookwerk::api {

/// The Prometheus text exposition (format 0.0.4) of the server's metrics.
std::string metrics_text(const registry_stats& registry, const metrics& m, int64_t hook_actors,
                         const storage::writer_stats& storage);

} // namespace hookwerk::api
