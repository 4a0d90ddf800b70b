#include "api/views.hpp"

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

void write_hook(support::json_writer& w, const hook_view& view) {
  const auto& r = view.record;
  w.begin_object();
  w.key("id");
  w.value(r.id);
  w.key("app");
  w.value(r.app);
  w.key("event");
  w.value(r.event);
  w.key("url");
  w.value(r.url);
  w.key("active");
  w.value(r.active);
  w.key("created_at");
  write_time_or_null(w, r.created_at_ms);
  w.key("deactivated_at");
  write_time_or_null(w, r.deactivated_at_ms);
  w.key("consecutive_failures");
  w.value(r.consecutive_failures);
  w.key("last_error");
  if (r.last_error)
    w.value(*r.last_error);
  else
    w.null();
  w.key("buffered_events");
  w.value(view.buffered_events);
  w.key("pending_events");
  w.value(view.pending_events);
  w.key("secret");
  w.value(r.secret);
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
    w.key("at");
    w.value(support::format_rfc3339(a.at_ms));
    w.key("http_status");
    if (a.http_status == 0)
      w.null();
    else
      w.value(a.http_status);
    w.key("error");
    if (a.error)
      w.value(*a.error);
    else
      w.null();
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
    w.key("created_at");
    w.value(support::format_rfc3339(n.created_at_ms));
    w.member("reason", n.reason);
    w.key("activate_url");
    if (n.token.empty()) {
      w.null();  // used up
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
  w.key("id");
  w.value(result.id);
  w.key("active");
  w.value(result.active);
  w.key("replayed");
  w.value(result.replayed);
  w.key("discarded");
  w.value(result.discarded);
  w.end_object();
  return w.take();
}

} // namespace hookwerk::api
