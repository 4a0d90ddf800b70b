#pragma once

#include <string>
#include <string_view>

#include "actors/messages.hpp"
#include "api/http.hpp"

/// The HTML pages behind a notification's activation link (SPEC §6). Every
/// value that came from a user (app, URL, error text) is escaped.
namespace hookwerk::api {

/// `s` with & < > " ' replaced by character references.
std::string html_escape(std::string_view s);

/// The page with the two buttons, for `GET /notifications/<id>/activate`.
http_response activation_page(const notification_page& page, std::string_view token);

/// The confirmation after a button was pressed.
http_response activation_done_page(const activate_result& result, bool replay);

/// The 410 page of a link whose time has passed: --buffer-max-age after the
/// deactivation the buffer was discarded, and the link with it.
http_response activation_expired_page();

/// A page for a wrong or used link (404) or another problem.
http_response activation_error_page(unsigned status, std::string_view text);

} // namespace hookwerk::api
