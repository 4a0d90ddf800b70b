#include "api/error_table.hpp"

#include "actors/support/json_writer.hpp"

namespace hookwerk::api {

mw_error envelope_error(errc code) {
  switch (code) {
    case errc::login_failed: return mw_error::login_failed;
    case errc::missing_parameter: return mw_error::missing_parameter;
    case errc::invalid_parameter:
    case errc::limit_exceeded: return mw_error::invalid_parameter;
    case errc::not_found: return mw_error::webhook_not_found;
    case errc::target_not_allowed: return mw_error::target_not_allowed;
    default: return mw_error::internal;
  }
}

std::string envelope_message(mw_error err, std::string_view param) {
  switch (err) {
    case mw_error::ok: return "successfully executed";
    case mw_error::login_failed: return "login failed";
    case mw_error::missing_parameter: return "missing parameter: " + std::string{param};
    case mw_error::invalid_parameter: return "invalid parameter: " + std::string{param};
    case mw_error::webhook_not_found: return "webhook not found";
    case mw_error::target_not_allowed: return "target not allowed";
    case mw_error::internal: return "internal error";
  }
  return "internal error";
}

unsigned http_status(errc code) {
  switch (code) {
    case errc::missing_parameter:
    case errc::invalid_parameter:
    case errc::target_not_allowed: return 400;
    case errc::login_failed: return 401;
    case errc::not_found: return 404;
    case errc::already_exists: return 409;
    case errc::expired: return 410;
    case errc::limit_exceeded: return 413;
    case errc::overloaded:
    case errc::shutting_down:
    case errc::storage_unavailable: return 503;
    default: return 500;
  }
}

http_response envelope_error_response(mw_error err, std::string_view message, unsigned status) {
  support::json_writer w;
  w.begin_object();
  w.key("error");
  w.value(static_cast<int>(err));
  w.key("message");
  w.value(message);
  w.key("result");
  w.null();
  w.end_object();
  http_response res;
  res.status = status;
  res.body = w.take();
  return res;
}

http_response try_again_envelope() {
  return envelope_error_response(mw_error::internal, "try again");
}

http_response try_again_response() {
  auto res = json_error(503, "try again");
  res.headers.emplace_back("Retry-After", "1");
  return res;
}

http_response envelope_ok(std::string_view result_json) {
  http_response res;
  res.body.reserve(result_json.size() + 64);
  res.body.append(R"({"error":0,"message":"successfully executed","result":)");
  res.body.append(result_json);
  res.body.push_back('}');
  return res;
}

http_response json_error(unsigned status, std::string_view text) {
  support::json_writer w;
  w.begin_object();
  w.key("error");
  w.value(text);
  w.end_object();
  http_response res;
  res.status = status;
  res.body = w.take();
  return res;
}

http_response rejection(std::string_view path, unsigned status, std::string_view text) {
  if (path.substr(0, management_prefix.size()) == management_prefix)
    return envelope_error_response(mw_error::invalid_parameter, text, status);
  return json_error(status, text);
}

http_response timeout_response(std::string_view path) {
  auto res = path.substr(0, management_prefix.size()) == management_prefix
               ? envelope_error_response(mw_error::internal, envelope_message(mw_error::internal))
               : json_error(503, "request timed out, retry later");
  res.headers.emplace_back("Retry-After", "1");
  return res;
}

} // namespace hookwerk::api
