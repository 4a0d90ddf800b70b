#pragma once

#include "engine/config.hpp"

namespace hookwerk::api {

/// Runs `hookwerk serve` until SIGTERM or SIGINT: listens at once (answering
/// /readyz with 503), recovers the engine, then prints the `listening on` line
/// and serves. Returns the process exit code. Must be called from the main
/// thread before any other thread exists (it blocks the signals it waits for).
int run_server(const engine::serve_config& cfg);

} // namespace hookwerk::api
