#include "api/pages.hpp"

#include "actors/support/time_format.hpp"

namespace hookwerk::api {

namespace {

constexpr std::string_view style = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:40rem;margin:3rem auto;background:#fff;border-radius:10px;padding:2rem 2.5rem;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin:0 0 1.2rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.5rem 1.2rem;margin:0 0 1.8rem}
dt{color:#5b6475}dd{margin:0;overflow-wrap:anywhere}
.buttons{display:flex;gap:.8rem;flex-wrap:wrap}
button{font:inherit;border:0;border-radius:6px;padding:.65rem 1.2rem;cursor:pointer;
background:#e4e7ec;color:#1d2330}
button.primary{background:#2457d6;color:#fff}
p.note{color:#5b6475;font-size:.9rem;margin-top:1.5rem}
)";

http_response html(unsigned status, std::string_view title, const std::string& body) {
  http_response res;
  res.status = status;
  res.content_type = "text/html; charset=utf-8";
  res.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'");
  res.headers.emplace_back("X-Frame-Options", "DENY");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Referrer-Policy", "no-referrer");
  res.headers.emplace_back("Cache-Control", "no-store");
  res.body.reserve(2048 + body.size());
  res.body += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>";
  res.body += html_escape(title);
  res.body += " · Hookwerk</title><style>";
  res.body += style;
  res.body += "</style></head><body><main>\n";
  res.body += body;
  res.body += "\n</main></body></html>\n";
  return res;
}

void row(std::string& out, std::string_view label, std::string_view value) {
  out += "<dt>";
  out += label;
  out += "</dt><dd>";
  out += html_escape(value);
  out += "</dd>";
}

std::string button_form(uint64_t note_id, std::string_view token, bool replay,
                        std::string_view label, bool primary) {
  std::string out = "<form method=\"post\" action=\"/notifications/" + std::to_string(note_id)
                    + "/activate\"><input type=\"hidden\" name=\"token\" value=\""
                    + html_escape(token) + "\"><input type=\"hidden\" name=\"replay\" value=\""
                    + (replay ? "1" : "0") + "\"><button type=\"submit\""
                    + (primary ? " class=\"primary\"" : "") + ">";
  out += html_escape(label);
  out += "</button></form>";
  return out;
}

} // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(ch);
    }
  }
  return out;
}

http_response activation_page(const notification_page& page, std::string_view token) {
  const auto& hook = page.hook.record;
  auto buffered = page.hook.buffered_events;
  std::string body;
  auto id = std::to_string(hook.id);
  body += hook.active ? "<h1>Webhook " + id + " is active</h1>"
                      : "<h1>Webhook " + id + " was deactivated</h1>";
  body += "<dl>";
  row(body, "Webhook", id);
  row(body, "App", hook.app);
  row(body, "Event", hook.event);
  row(body, "URL", hook.url);
  row(body, "Last error", hook.last_error.value_or(page.note.reason));
  if (hook.deactivated_at_ms != 0)
    row(body, "Deactivated at", support::format_rfc3339(hook.deactivated_at_ms));
  row(body, "Buffered events", std::to_string(buffered));
  body += "</dl><div class=\"buttons\">";
  body += button_form(page.note.id, token, false, "Reactivate", false);
  body += button_form(page.note.id, token, true,
                      "Reactivate and deliver " + std::to_string(buffered) + " buffered events",
                      true);
  body += "</div><p class=\"note\">\"Reactivate\" discards the buffered events. This link works once.</p>";
  return html(200, "Reactivate webhook " + id, body);
}

http_response activation_done_page(const activate_result& result, bool replay) {
  auto id = std::to_string(result.id);
  std::string body = "<h1>Webhook " + id + " is active again</h1><p>";
  if (replay)
    body += std::to_string(result.replayed) + " buffered event(s) queued for delivery.";
  else
    body += std::to_string(result.discarded) + " buffered event(s) discarded.";
  body += "</p>";
  return html(200, "Webhook " + id + " reactivated", body);
}

http_response activation_expired_page() {
  std::string body = "<h1>This link has expired</h1><p>The events buffered while the webhook was "
                     "inactive have been discarded, and this link no longer reactivates it. "
                     "The webhook can still be reactivated through the API "
                     "(ActivateWebHook).</p>";
  return html(410, "Link expired", body);
}

http_response activation_error_page(unsigned status, std::string_view text) {
  std::string body = "<h1>";
  body += html_escape(text);
  body += "</h1>";
  return html(status, text, body);
}

} // namespace hookwerk::api
