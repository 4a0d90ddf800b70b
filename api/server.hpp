#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/config.hpp"

namespace hookwerk::api {

/// The effective `--max-connections`: at most `requested`, and at most the
/// descriptor limit less a reserve for RocksDB's files, outbound deliveries and
/// the process's own descriptors. The reserve is a quarter of the limit, at
/// least 64 and at most half of it. Never below 1.
size_t connection_cap(size_t requested, uint64_t descriptor_limit);

/// The effective `--max-outbound`: at most `requested`, and at most half of the
/// reserve `connection_cap` leaves beside the inbound connections (the other
/// half is RocksDB's and the process's own). Never below 1.
size_t outbound_cap(size_t requested, uint64_t descriptor_limit);

/// Runs `hookwerk serve` until SIGTERM or SIGINT: listens at once (answering
/// /readyz with 503), recovers the engine, then prints the `listening on` line
/// and serves. Returns the process exit code. Must be called from the main
/// thread before any other thread exists (it blocks the signals it waits for).
int run_server(const engine::serve_config& cfg);

} // namespace hookwerk::api
