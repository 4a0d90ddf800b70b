#include "api/views.hpp"

#include <optional>
#include <string_view>

#include "actors/support/json_writer.hpp"
#include "actors/support/time_format.hpp"

namespace hookwerk::api {

namespace {

void write_time_or_null(support::json_writer& w, int64_t unix_ms) {
  if (unix_ms == 0)
    w.null();
  else
    w.value(support::format_rfc3339(unix_ms));
}

void member_or_null(support::json_writer& w, std::string_view name,
                    const std::optional<std::string>& value) {
  w.key(name);
  if (value)
    w.value(*value);
  else
    w.null();
}

void write_hook(support::json_writer& w, const hook_view& view) {
  const auto& r = view.record;
  w.begin_object();
  w.member("id", r.id);
  w.member("app", r.app);
  w.member("event", r.event);
  w.member("url", r.url);
  w.member("active", r.active);
  w.key("created_at");
  write_time_or_null(w, r.created_at_ms);
  w.key("deactivated_at");
  write_time_or_null(w, r.deactivated_at_ms);
  w.member("consecutive_failures", r.consecutive_failures);
  member_or_null(w, "last_error", r.last_error);
  w.member("buffered_events", view.buffered_events);
  w.member("pending_events", view.pending_events);
  w.member("secret", r.secret);
  w.end_object();
}

} // namespace

std::string hook_json(const hook_view& view) {
  support::json_writer w;
  write_hook(w, view);
  return w.take();
}

std::string hooks_json(const std::vector<hook_view>& views) {
  support::json_writer w;
  w.begin_array();
  for (const auto& v : views)
    write_hook(w, v);
  w.end_array();
  return w.take();
}

std::string attempts_json(const std::vector<storage::attempt_record>& attempts) {
  support::json_writer w;
  w.begin_array();
  for (const auto& a : attempts) {
    w.begin_object();
    w.member("event_id", a.event_id);
    w.member("attempt", a.attempt);
    w.member("at", support::format_rfc3339(a.at_ms));
    w.key("http_status");
    if (a.http_status == 0)
      w.null();
    else
      w.value(a.http_status);
    member_or_null(w, "error", a.error);
    w.member("duration_ms", a.duration_ms);
    w.end_object();
  }
  w.end_array();
  return w.take();
}

std::string notifications_json(const std::vector<storage::notification_record>& notes,
                               std::string_view public_url) {
  support::json_writer w;
  w.begin_array();
  for (const auto& n : notes) {
    w.begin_object();
    w.member("id", n.id);
    w.member("kind", n.kind);
    w.member("webhook_id", n.webhook_id);
    w.member("created_at", support::format_rfc3339(n.created_at_ms));
    w.member("reason", n.reason);
    w.key("activate_url");
    if (n.token.empty()) {
      w.null();  // used up, or expired with the buffer
    } else {
      std::string url{public_url};
      url += "/notifications/" + std::to_string(n.id) + "/activate?token=" + n.token;
      w.value(url);
    }
    w.member("read", n.read);
    w.end_object();
  }
  w.end_array();
  return w.take();
}

std::string activate_json(const activate_result& result) {
  support::json_writer w;
  w.begin_object();
  w.member("id", result.id);
  w.member("active", result.active);
  w.member("replayed", result.replayed);
  w.member("discarded", result.discarded);
  w.end_object();
  return w.take();
}

} // namespace hookwerk::api
