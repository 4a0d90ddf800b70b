#pragma once

#include <string>
#include <vector>

#include "actors/messages.hpp"

/// JSON renderings of the objects the management API returns (SPEC §3).
namespace hookwerk::api {

/// The webhook object.
std::string hook_json(const hook_view& view);

/// A JSON array of webhook objects, in the given order.
std::string hooks_json(const std::vector<hook_view>& views);

/// The result of GetWebHookAttempts: an array, in the given order.
std::string attempts_json(const std::vector<storage::attempt_record>& attempts);

/// The result of GetNotifications; links are built on `public_url`.
std::string notifications_json(const std::vector<storage::notification_record>& notes,
                               std::string_view public_url);

/// The result of ActivateWebHook.
std::string activate_json(const activate_result& result);

} // namespace hookwerk::api
