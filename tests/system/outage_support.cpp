#include "system/outage_support.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <regex>
#include <set>
#include <sstream>

namespace hookwerk::system_test::outage {

namespace {

std::string shorten(std::string_view s, std::size_t n) {
  return s.size() <= n ? std::string(s) : std::string(s.substr(0, n)) + "…";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

server_options outage_server_options(std::vector<std::string> extra) {
  server_options o;
  o.extra_args = {"--allow-private-targets", "--retry-schedule", "100ms", "--failure-threshold",
                  std::to_string(failure_threshold), "--failure-window", "0s",
                  "--self-check-interval", std::string(self_check_interval)};
  o.extra_args.insert(o.extra_args.end(), extra.begin(), extra.end());
  return o;
}

// ---- time -----------------------------------------------------------------------------------

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text) {
  static const std::regex pattern(
      R"(^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(text.begin(), text.end(), m, pattern)) return std::nullopt;
  const int y = std::stoi(m[1].str()), mo = std::stoi(m[2].str()), d = std::stoi(m[3].str());
  const int h = std::stoi(m[4].str()), mi = std::stoi(m[5].str()), s = std::stoi(m[6].str());
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::int64_t ms = 0;
  if (m[7].matched) {
    std::string frac = m[7].str().substr(1);
    frac.resize(3, '0');
    ms = std::stoi(frac.substr(0, 3));
  }
  std::int64_t offset_s = 0;
  if (m[9].matched) {
    const int oh = std::stoi(m[10].str()), om = std::stoi(m[11].str());
    if (oh > 23 || om > 59) return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (m[9].str() == "-" ? -1 : 1);
  }
  const auto days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  const std::int64_t seconds = static_cast<std::int64_t>(days) * 86400 + h * 3600 + mi * 60 + s - offset_s;
  return seconds * 1000 + ms;
}

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- notifications --------------------------------------------------------------------------

std::ostream& operator<<(std::ostream& os, const notification& n) {
  return os << "{id " << n.id << ", kind " << n.kind << ", webhook_id " << n.webhook_id << ", created_at "
            << n.created_at << ", reason \"" << n.reason << "\", activate_url "
            << (n.activate_url ? *n.activate_url : std::string("null")) << ", read " << (n.read ? "true" : "false")
            << "}";
}

std::string describe(const std::vector<notification>& list) {
  std::ostringstream os;
  os << list.size() << " notification(s):";
  for (const auto& n : list) os << "\n  " << n;
  return os.str();
}

::testing::AssertionResult parse_notifications(std::string_view json, std::vector<notification>& out) {
  simdjson::dom::parser parser;
  simdjson::dom::array arr;
  if (parser.parse(simdjson::padded_string(json)).get(arr))
    return ::testing::AssertionFailure() << "GetNotifications result is not a JSON array: " << shorten(json, 400);
  const std::multiset<std::string> expected{"id",         "kind",         "webhook_id", "created_at",
                                            "reason",     "activate_url", "read"};
  std::vector<notification> list;
  for (auto element : arr) {
    const auto text = minified(element);
    simdjson::dom::object obj;
    if (element.get(obj)) return ::testing::AssertionFailure() << "a notification is not an object: " << text;
    std::multiset<std::string> keys;
    for (auto field : obj) keys.insert(std::string(field.key));
    if (keys != expected)
      return ::testing::AssertionFailure()
             << "a notification must have exactly id, kind, webhook_id, created_at, reason, activate_url, read: "
             << text;
    notification n;
    std::string_view s;
    if (obj["id"].get(n.id) || n.id <= 0)
      return ::testing::AssertionFailure() << "`id` is not a positive integer: " << text;
    if (obj["kind"].get(s)) return ::testing::AssertionFailure() << "`kind` is not a string: " << text;
    n.kind = std::string(s);
    if (obj["webhook_id"].get(n.webhook_id) || n.webhook_id <= 0)
      return ::testing::AssertionFailure() << "`webhook_id` is not a positive integer: " << text;
    if (obj["created_at"].get(s)) return ::testing::AssertionFailure() << "`created_at` is not a string: " << text;
    n.created_at = std::string(s);
    if (!parse_rfc3339_ms(n.created_at))
      return ::testing::AssertionFailure() << "`created_at` is not an RFC 3339 date-time: " << text;
    if (obj["reason"].get(s)) return ::testing::AssertionFailure() << "`reason` is not a string: " << text;
    n.reason = std::string(s);
    auto url = obj["activate_url"].value_unsafe();
    if (!url.is_null()) {
      if (url.get(s)) return ::testing::AssertionFailure() << "`activate_url` is neither null nor a string: " << text;
      n.activate_url = std::string(s);
    }
    if (obj["read"].get(n.read)) return ::testing::AssertionFailure() << "`read` is not a boolean: " << text;
    list.push_back(std::move(n));
  }
  out = std::move(list);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult get_notifications(const server_process& server, const credentials& who,
                                             std::vector<notification>& out,
                                             const std::optional<param_value>& unread_only) {
  param_list params;
  if (unread_only) params.emplace_back("unreadOnly", *unread_only);
  const auto e = server.call_as(who, "GetNotifications", params);
  if (auto ok = is_success(e); !ok) return ok << " (GetNotifications)";
  return parse_notifications(e.result, out);
}

std::vector<notification> for_webhook(const std::vector<notification>& all, std::int64_t webhook_id) {
  std::vector<notification> out;
  for (const auto& n : all)
    if (n.webhook_id == webhook_id) out.push_back(n);
  return out;
}

::testing::AssertionResult parse_activate_url(std::string_view url, activate_link& out) {
  static const std::regex pattern(R"(^(https?://[^/?#]+(?:/[^?#]*?)?)(/notifications/(\d+)/activate)\?token=([^&#]+)$)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(url.begin(), url.end(), m, pattern))
    return ::testing::AssertionFailure() << "activate_url is not <public-url>/notifications/<id>/activate?token=<token>: "
                                         << url;
  activate_link link;
  link.base = m[1].str();
  link.path = m[2].str();
  link.notification_id = std::stoll(m[3].str());
  link.token = m[4].str();
  link.path_and_query = link.path + "?token=" + link.token;
  out = std::move(link);
  return ::testing::AssertionSuccess();
}

// ---- hook state -----------------------------------------------------------------------------

::testing::AssertionResult wait_hook(const server_process& server, const credentials& who, std::int64_t id,
                                     const std::function<bool(const webhook&)>& predicate, webhook& out,
                                     std::string_view what, std::chrono::milliseconds timeout) {
  std::string last_problem = "never listed";
  webhook last;
  const bool ok = eventually(
      [&] {
        webhook h;
        auto r = get_webhook(server, who, id, h);
        if (!r) {
          last_problem = r.message();
          return false;
        }
        last = h;
        last_problem.clear();
        return predicate(h);
      },
      timeout, 25ms);
  out = last;
  if (ok) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure() << "hook " << id << " did not become " << what << " within "
                                               << std::chrono::duration_cast<std::chrono::seconds>(timeout).count()
                                               << " s; last state: " << last;
  if (!last_problem.empty()) failure << " (" << last_problem << ")";
  return failure;
}

::testing::AssertionResult wait_inactive(const server_process& server, const credentials& who, std::int64_t id,
                                         webhook& out, std::chrono::milliseconds timeout) {
  return wait_hook(server, who, id, [](const webhook& h) { return !h.active; }, out, "inactive", timeout);
}

::testing::AssertionResult activate(const server_process& server, const credentials& who, std::int64_t id,
                                    const std::optional<param_value>& replay, std::string& result) {
  param_list params{{"id", std::to_string(id)}};
  if (replay) params.emplace_back("replayEvents", *replay);
  const auto e = server.call_as(who, "ActivateWebHook", params);
  if (auto ok = is_success(e); !ok) return ok << " (ActivateWebHook id=" << id << ")";
  result = e.result;
  return ::testing::AssertionSuccess();
}

std::string activate_result(std::int64_t id, std::int64_t replayed, std::int64_t discarded) {
  return "{\"id\":" + std::to_string(id) + ",\"active\":true,\"replayed\":" + std::to_string(replayed) +
         ",\"discarded\":" + std::to_string(discarded) + "}";
}

::testing::AssertionResult post_seq(const server_process& server, std::string_view account, std::string_view event,
                                    int seq, const std::optional<std::string>& key, std::int64_t expected_webhooks,
                                    accepted_event& out) {
  accepted_event ev;
  auto r = post_event(server, account, event, "{\"seq\":" + std::to_string(seq) + "}", ev, std::nullopt, key);
  if (!r) return r;
  if (ev.webhooks != expected_webhooks)
    return ::testing::AssertionFailure() << "event seq " << seq << " was queued for " << ev.webhooks
                                         << " webhook(s), expected " << expected_webhooks;
  out = ev;
  return ::testing::AssertionSuccess();
}

std::vector<long> delivered_seqs(const std::vector<received_request>& all) {
  std::vector<long> out;
  for (const auto& r : all)
    if (r.succeeded()) out.push_back(payload_seq(r));
  return out;
}

::testing::AssertionResult delivered_in_sequence(const std::vector<received_request>& all,
                                                 const std::vector<long>& expected) {
  const auto got = delivered_seqs(all);
  if (got != expected)
    return ::testing::AssertionFailure() << "successful deliveries (payload seq) " << ::testing::PrintToString(got)
                                         << ", expected " << ::testing::PrintToString(expected) << "; "
                                         << system_test::describe(all, 100);
  for (std::size_t k = 0; k + 1 < expected.size(); ++k) {
    std::size_t success_of_k = all.size();
    for (std::size_t i = 0; i < all.size(); ++i)
      if (payload_seq(all[i]) == expected[k] && all[i].succeeded()) {
        success_of_k = i;
        break;
      }
    for (std::size_t i = 0; i < success_of_k; ++i)
      if (payload_seq(all[i]) == expected[k + 1])
        return ::testing::AssertionFailure() << "event seq " << expected[k + 1] << " was sent (request #" << i + 1
                                             << ") before event seq " << expected[k] << " succeeded (request #"
                                             << success_of_k + 1 << "); " << system_test::describe(all, 100);
  }
  return ::testing::AssertionSuccess();
}

std::vector<received_request> requests_after(const std::vector<received_request>& all, std::size_t first) {
  if (first >= all.size()) return {};
  return {all.begin() + static_cast<long>(first), all.end()};
}

// ---- HTML -----------------------------------------------------------------------------------

std::string html_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] != '&') {
      out.push_back(text[i++]);
      continue;
    }
    const auto semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out.push_back(text[i++]);
      continue;
    }
    const std::string entity(text.substr(i + 1, semi - i - 1));
    std::optional<unsigned long> code;
    if (entity == "amp") code = '&';
    else if (entity == "lt") code = '<';
    else if (entity == "gt") code = '>';
    else if (entity == "quot") code = '"';
    else if (entity == "apos") code = '\'';
    else if (entity == "nbsp") code = ' ';
    else if (entity.size() > 1 && entity[0] == '#') {
      try {
        code = (entity[1] == 'x' || entity[1] == 'X') ? std::stoul(entity.substr(2), nullptr, 16)
                                                      : std::stoul(entity.substr(1));
      } catch (const std::exception&) {
      }
    }
    if (!code || *code > 0x10FFFF) {
      out.push_back(text[i++]);
      continue;
    }
    const unsigned long c = *code;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
    i = semi + 1;
  }
  return out;
}

namespace {

// Attributes of a start tag's inside (after the tag name), names lower-cased, values decoded.
std::vector<std::pair<std::string, std::string>> attributes(std::string_view tag) {
  static const std::regex attr(R"re(([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?)re");
  std::vector<std::pair<std::string, std::string>> out;
  const std::string s(tag);
  for (auto it = std::sregex_iterator(s.begin(), s.end(), attr); it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    std::string value = m[2].matched ? m[2].str() : m[3].matched ? m[3].str() : m[4].matched ? m[4].str() : "";
    out.emplace_back(lower(m[1].str()), html_unescape(value));
  }
  return out;
}

std::optional<std::string> attribute(const std::vector<std::pair<std::string, std::string>>& attrs,
                                     std::string_view name) {
  for (const auto& [k, v] : attrs)
    if (k == name) return v;
  return std::nullopt;
}

std::string collapse_spaces(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string strip_tags(std::string_view html) {
  std::string out;
  bool in_tag = false;
  for (char c : html) {
    if (c == '<') {
      in_tag = true;
      out.push_back(' ');
    } else if (c == '>' && in_tag) {
      in_tag = false;
    } else if (!in_tag) {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::vector<html_form> parse_forms(std::string_view html) {
  static const std::regex form_re(R"(<form\b([^>]*)>([\s\S]*?)</form\s*>)", std::regex::icase);
  static const std::regex input_re(R"(<input\b([^>]*)>)", std::regex::icase);
  static const std::regex button_re(R"(<button\b([^>]*)>([\s\S]*?)</button\s*>)", std::regex::icase);
  std::vector<html_form> forms;
  const std::string page(html);
  for (auto it = std::sregex_iterator(page.begin(), page.end(), form_re); it != std::sregex_iterator(); ++it) {
    html_form form;
    const auto attrs = attributes((*it)[1].str());
    form.method = attribute(attrs, "method").value_or("get");
    form.action = attribute(attrs, "action").value_or("");
    const std::string inner = (*it)[2].str();
    for (auto in = std::sregex_iterator(inner.begin(), inner.end(), input_re); in != std::sregex_iterator(); ++in) {
      const auto input_attrs = attributes((*in)[1].str());
      const auto type = lower(attribute(input_attrs, "type").value_or("text"));
      form.input_types.push_back(type);
      if (type == "submit") {
        if (form.button_text.empty()) form.button_text = collapse_spaces(attribute(input_attrs, "value").value_or(""));
        continue;
      }
      if (const auto name = attribute(input_attrs, "name"))
        form.inputs.emplace_back(*name, attribute(input_attrs, "value").value_or(""));
    }
    for (auto b = std::sregex_iterator(inner.begin(), inner.end(), button_re); b != std::sregex_iterator(); ++b) {
      const auto button_attrs = attributes((*b)[1].str());
      const auto type = lower(attribute(button_attrs, "type").value_or("submit"));
      if (type != "submit") continue;
      if (form.button_text.empty()) form.button_text = collapse_spaces(html_unescape(strip_tags((*b)[2].str())));
      if (const auto name = attribute(button_attrs, "name"))
        form.inputs.emplace_back(*name, attribute(button_attrs, "value").value_or(""));
    }
    forms.push_back(std::move(form));
  }
  return forms;
}

std::string visible_text(std::string_view html) {
  static const std::regex hidden(R"(<(style|script|head)\b[\s\S]*?</\1\s*>)", std::regex::icase);
  const std::string without = std::regex_replace(std::string(html), hidden, " ");
  return collapse_spaces(html_unescape(strip_tags(without)));
}

std::optional<std::string> form_field(const html_form& form, std::string_view name) {
  for (const auto& [k, v] : form.inputs)
    if (k == name) return v;
  return std::nullopt;
}

http_response submit_form(const server_process& server, const html_form& form) {
  std::string target = form.action;
  // An absolute action URL: keep its path and query (the server is on loopback anyway).
  if (const auto scheme = target.find("://"); scheme != std::string::npos) {
    const auto slash = target.find('/', scheme + 3);
    target = slash == std::string::npos ? "/" : target.substr(slash);
  }
  return server.request(lower(form.method) == "post" ? "POST" : "GET", target,
                        {{"Content-Type", "application/x-www-form-urlencoded"}}, form_encode(form.inputs));
}

// ---- metrics --------------------------------------------------------------------------------

std::optional<double> metric_sum(const server_process& server, std::string_view name) {
  const auto r = server.get("/metrics");
  if (r.status != 200) return std::nullopt;
  std::istringstream in(r.body);
  std::string line;
  std::optional<double> sum;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    if (line.size() <= name.size() || (line[name.size()] != '{' && line[name.size()] != ' ')) continue;
    std::size_t value_start = name.size();
    if (line[name.size()] == '{') {
      const auto close = line.find('}', name.size());
      if (close == std::string::npos) continue;
      value_start = close + 1;
    }
    try {
      sum = sum.value_or(0) + std::stod(line.substr(value_start));
    } catch (const std::exception&) {
    }
  }
  return sum;
}

::testing::AssertionResult nothing_was_stuck(const server_process& server) {
  const auto before = metric_sum(server, "hookwerk_self_checks_total");
  if (!before) return ::testing::AssertionFailure() << "no hookwerk_self_checks_total in /metrics";
  // The check under way may have begun before the call: wait for the one after it.
  std::optional<double> checks;
  if (!eventually([&] {
        checks = metric_sum(server, "hookwerk_self_checks_total");
        return checks && *checks >= *before + 2;
      }))
    return ::testing::AssertionFailure() << "no self-check completed within 30 s";
  const auto repaired = metric_sum(server, "hookwerk_stuck_hooks_repaired_total");
  if (!repaired) return ::testing::AssertionFailure() << "no hookwerk_stuck_hooks_repaired_total";
  if (*repaired != 0)
    return ::testing::AssertionFailure() << *repaired << " stuck webhook(s) found and repaired\n"
                                         << server.stderr_text();
  return ::testing::AssertionSuccess() << *checks << " self-checks, nothing stuck";
}

}  // namespace hookwerk::system_test::outage
