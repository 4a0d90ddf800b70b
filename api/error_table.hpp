#pragma once

#include <string>
#include <string_view>

#include "api/http.hpp"
#include "storage/status.hpp"

/// The one place that maps Hookwerk's error codes to what clients see: the
/// Mailingwork envelope numbers and messages, and HTTP statuses for the JSON
/// APIs (admin, ingestion).
namespace hookwerk::api {

/// Mailingwork envelope error numbers (SPEC §3).
enum class mw_error : int {
  ok = 0,
  login_failed = 1,
  missing_parameter = 2,
  invalid_parameter = 3,
  webhook_not_found = 4,
  target_not_allowed = 5,
  internal = 9,
};

/// The envelope number for a code. errc values without a Mailingwork
/// counterpart map to `internal`.
mw_error envelope_error(errc code);

/// The envelope message: `missing parameter: <name>` and `invalid parameter:
/// <name>` take the parameter name; the others ignore it.
std::string envelope_message(mw_error err, std::string_view param = {});

/// HTTP status of an error in the JSON APIs (400, 401, 404, 409, 410, 413, 500, 503).
unsigned http_status(errc code);

/// `{"error":<n>,"message":"…","result":null}` with the given HTTP status.
http_response envelope_error_response(mw_error err, std::string_view message, unsigned status = 200);

/// Error 9 with the message `try again`: the server has no room for the
/// call's work right now (docs/decisions.md, "Security").
http_response try_again_envelope();

/// 503 `{"error":"try again"}` with `Retry-After: 1`, the same for the admin API.
http_response try_again_response();

/// `{"error":0,"message":"successfully executed","result":<result_json>}`.
http_response envelope_ok(std::string_view result_json);

/// `{"error":"<text>"}` with the given HTTP status.
http_response json_error(unsigned status, std::string_view text);

/// The answer to a request the HTTP layer rejected before routing it: the
/// Mailingwork envelope under the management prefix, `{"error":…}` elsewhere.
http_response rejection(std::string_view path, unsigned status, std::string_view text);

/// The answer to a request that an actor did not answer within
/// --request-timeout. Under the management prefix: the envelope with error 9
/// and HTTP 200 (a known function always answers 200, SPEC §3); elsewhere: 503
/// `{"error":"request timed out, retry later"}`. Both carry `Retry-After: 1`.
http_response timeout_response(std::string_view path);

/// The path prefix of the management API.
inline constexpr std::string_view management_prefix = "/webservice/webservice/json/";

} // namespace hookwerk::api
