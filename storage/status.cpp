#include "storage/status.hpp"

namespace hookwerk {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::storage_failed: return "storage_failed";
    case errc::storage_locked: return "storage_locked";
    case errc::not_found: return "not_found";
    case errc::already_exists: return "already_exists";
    case errc::login_failed: return "login_failed";
    case errc::missing_parameter: return "missing_parameter";
    case errc::invalid_parameter: return "invalid_parameter";
    case errc::target_not_allowed: return "target_not_allowed";
    case errc::overloaded: return "overloaded";
    case errc::shutting_down: return "shutting_down";
    case errc::internal: return "internal";
    case errc::limit_exceeded: return "limit_exceeded";
    case errc::expired: return "expired";
    case errc::storage_unavailable: return "storage_unavailable";
  }
  return "unknown";
}

} // namespace hookwerk
