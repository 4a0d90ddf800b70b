#include "system/delivery_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

#ifndef HOOKWERK_SOURCE_DIR
#error "HOOKWERK_SOURCE_DIR must be defined"
#endif

namespace hookwerk::system_test {

namespace {

std::string shorten(std::string_view s, std::size_t n) {
  return s.size() <= n ? std::string(s) : std::string(s.substr(0, n)) + "…";
}

std::atomic<int> event_counter{0};
constexpr int default_extra_events = 60;

}  // namespace

// ---- server set-up ------------------------------------------------------------------------

std::string delivery_events_list(int extra) {
  std::string list = "optin_finalized,optout_finalized,profilemanager_finalized";
  for (int i = 1; i <= extra; ++i) list += ",ev" + std::to_string(i);
  return list;
}

std::string fresh_event() {
  const int n = ++event_counter;
  if (n > default_extra_events) throw std::runtime_error("fresh_event: the --events list is exhausted");
  return "ev" + std::to_string(n);
}

server_options delivery_server_options(std::string_view retry_schedule, std::vector<std::string> extra) {
  server_options o;
  o.extra_args = {"--allow-private-targets", "--retry-schedule", std::string(retry_schedule),
                  "--failure-threshold", "1000",  "--events",          delivery_events_list(default_extra_events),
                  "--self-check-interval", std::string(self_check_interval)};
  o.extra_args.insert(o.extra_args.end(), extra.begin(), extra.end());
  return o;
}

::testing::AssertionResult make_account(const server_process& server, std::string_view prefix, credentials& out) {
  credentials c{unique_name(prefix), ""};
  c.password = "pw-" + c.username;
  const auto r = server.create_account(c.username, c.password);
  if (r.status != 201)
    return ::testing::AssertionFailure() << "creating account " << c.username << ": HTTP " << r.status << " "
                                         << r.body;
  out = std::move(c);
  return ::testing::AssertionSuccess();
}

hook_cleanup::~hook_cleanup() {
  for (const auto& [who, id] : hooks_) {
    try {
      server_.call_as(who, "DeleteWebHookById", {{"id", std::to_string(id)}}, encoding::form, 5s);
    } catch (const std::exception&) {
      // The server may be gone already (a crash test); nothing to clean up then.
    }
  }
}

::testing::AssertionResult add_hook(const server_process& server, hook_cleanup& cleanup, const credentials& who,
                                    std::string_view event, std::string_view url, webhook& out) {
  auto r = create_webhook(server, who, unique_name("app"), event, url, out);
  if (r) cleanup.add(who, out.id);
  return r;
}

// ---- ingestion ------------------------------------------------------------------------------

header_list ingest_auth(std::string_view token) { return {{"Authorization", "Bearer " + std::string(token)}}; }

http_response ingest(std::uint16_t port, std::string_view body, std::string_view content_type,
                     std::optional<std::string> token, std::chrono::milliseconds timeout) {
  header_list h{{"Content-Type", std::string(content_type)}};
  if (token) h.emplace_back("Authorization", "Bearer " + *token);
  return http_request(port, "POST", "/v1/events", h, body, timeout);
}

std::string event_json(std::string_view account, std::string_view event, std::string_view payload,
                       const std::optional<std::string>& id, const std::optional<std::string>& key) {
  std::string out = "{\"account\":" + json_quote(account) + ",\"event\":" + json_quote(event) +
                    ",\"payload\":" + std::string(payload);
  if (id) out += ",\"id\":" + json_quote(*id);
  if (key) out += ",\"key\":" + json_quote(*key);
  out += "}";
  return out;
}

::testing::AssertionResult parse_accepted(const http_response& r, accepted_event& out) {
  if (r.status != 202)
    return ::testing::AssertionFailure() << "HTTP " << r.status << ", expected 202; body: " << shorten(r.body, 400);
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(simdjson::padded_string(r.body)).get(obj))
    return ::testing::AssertionFailure() << "202 body is not a JSON object: " << shorten(r.body, 400);
  std::multiset<std::string> keys;
  for (auto field : obj) keys.insert(std::string(field.key));
  if (keys != std::multiset<std::string>{"id", "webhooks"})
    return ::testing::AssertionFailure() << "202 body must be exactly {\"id\":…,\"webhooks\":…}: " << r.body;
  std::string_view id;
  std::int64_t webhooks = -1;
  if (obj["id"].get(id) || id.empty())
    return ::testing::AssertionFailure() << "`id` must be a non-empty string: " << r.body;
  if (obj["webhooks"].get(webhooks) || webhooks < 0)
    return ::testing::AssertionFailure() << "`webhooks` must be an integer ≥ 0: " << r.body;
  out.id = std::string(id);
  out.webhooks = webhooks;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult parse_accepted_batch(const http_response& r, std::size_t expected_count,
                                                std::vector<std::string>& ids) {
  if (r.status != 202)
    return ::testing::AssertionFailure() << "HTTP " << r.status << ", expected 202; body: " << shorten(r.body, 400);
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(simdjson::padded_string(r.body)).get(obj))
    return ::testing::AssertionFailure() << "202 body is not a JSON object: " << shorten(r.body, 400);
  std::size_t keys = 0;
  for ([[maybe_unused]] auto field : obj) ++keys;
  simdjson::dom::array arr;
  if (keys != 1 || obj["ids"].get(arr))
    return ::testing::AssertionFailure() << "batch 202 body must be exactly {\"ids\":[…]}: " << shorten(r.body, 400);
  std::vector<std::string> got;
  for (auto element : arr) {
    std::string_view id;
    if (element.get(id) || id.empty())
      return ::testing::AssertionFailure() << "every entry of `ids` must be a non-empty string: "
                                           << shorten(r.body, 400);
    got.emplace_back(id);
  }
  if (got.size() != expected_count)
    return ::testing::AssertionFailure() << got.size() << " ids for " << expected_count
                                         << " inputs: " << shorten(r.body, 400);
  ids = std::move(got);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult post_event(const server_process& server, std::string_view account, std::string_view event,
                                      std::string_view payload, accepted_event& out,
                                      const std::optional<std::string>& id, const std::optional<std::string>& key) {
  const auto body = event_json(account, event, payload, id, key);
  auto r = parse_accepted(ingest(server, body), out);
  if (!r) r << " (posting " << shorten(body, 200) << ")";
  return r;
}

// ---- what a receiver got --------------------------------------------------------------------

std::vector<received_request> with_webhook_id(const std::vector<received_request>& all, std::string_view id) {
  std::vector<received_request> out;
  for (const auto& r : all)
    if (r.header("webhook-id") == std::optional<std::string>(std::string(id))) out.push_back(r);
  return out;
}

std::size_t count_with_webhook_id(const std::vector<received_request>& all, std::string_view id) {
  std::size_t n = 0;
  for (const auto& r : all)
    if (r.header("webhook-id") == std::optional<std::string>(std::string(id))) ++n;
  return n;
}

std::map<std::string, std::size_t> webhook_id_counts(const std::vector<received_request>& all) {
  std::map<std::string, std::size_t> counts;
  for (const auto& r : all) ++counts[r.header_or_empty("webhook-id")];
  return counts;
}

std::set<std::string> delivered_ids(const std::vector<received_request>& all) {
  std::set<std::string> ids;
  for (const auto& r : all)
    if (r.succeeded()) ids.insert(r.header_or_empty("webhook-id"));
  return ids;
}

bool all_delivered(const std::vector<received_request>& all, const std::vector<std::string>& ids) {
  const auto got = delivered_ids(all);
  for (const auto& id : ids)
    if (!got.count(id)) return false;
  return true;
}

std::string describe(const std::vector<received_request>& all, std::size_t max_lines) {
  std::ostringstream os;
  os << all.size() << " request(s):";
  std::size_t shown = 0;
  for (const auto& r : all) {
    if (shown++ == max_lines) {
      os << "\n  …";
      break;
    }
    os << "\n  " << r.method << " " << r.target << " webhook-id=" << r.header_or_empty("webhook-id")
       << " attempt=" << r.header_or_empty("X-Hookwerk-Attempt") << " hook=" << r.header_or_empty("X-Hookwerk-Webhook-Id")
       << " conn=" << r.connection << " answered=" << r.answered << " body=" << shorten(r.body, 80);
  }
  return os.str();
}

long payload_seq(const received_request& r) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(simdjson::padded_string(r.body)).get(obj)) return -1;
  std::int64_t seq = -1;
  if (obj["seq"].get(seq)) return -1;
  return static_cast<long>(seq);
}

// ---- signatures ---------------------------------------------------------------------------

verify_outcome verify_signature(std::string_view secret, const received_request& request,
                                const std::optional<std::string>& body) {
  verify_outcome outcome;
  temp_dir io("hookwerk-systest-verify-");
  const auto in_path = (io.path() / "in.json").string();
  const auto out_path = (io.path() / "out.txt").string();
  {
    std::ofstream in(in_path, std::ios::binary);
    in << "{\"secret\":" << json_quote(secret) << ",\"headers\":{"
       << "\"webhook-id\":" << json_quote(request.header_or_empty("webhook-id"))
       << ",\"webhook-timestamp\":" << json_quote(request.header_or_empty("webhook-timestamp"))
       << ",\"webhook-signature\":" << json_quote(request.header_or_empty("webhook-signature"))
       << "},\"body\":" << json_quote(body.value_or(request.body)) << "}";
  }
  const std::string script = std::string(HOOKWERK_SOURCE_DIR) + "/tests/system/js/verify.js";

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::string arg0 = "node", arg1 = script;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, "node", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    outcome.exit_code = 127;
    outcome.output = std::string("cannot run node: ") + std::strerror(rc);
    return outcome;
  }
  int status = 0;
  const auto deadline = clock_type::now() + 60s;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    if (clock_type::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      outcome.exit_code = 124;
      outcome.output = "node verify.js did not finish within 60 s";
      return outcome;
    }
    std::this_thread::sleep_for(5ms);
  }
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  outcome.output = read_file(out_path);
  return outcome;
}

::testing::AssertionResult signature_valid(std::string_view secret, const received_request& request) {
  const auto v = verify_signature(secret, request);
  if (v.exit_code == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "standardwebhooks rejects the delivery (verify.js exit " << v.exit_code
                                       << "): " << v.output << "\n  webhook-id: " << request.header_or_empty("webhook-id")
                                       << "\n  webhook-timestamp: " << request.header_or_empty("webhook-timestamp")
                                       << "\n  webhook-signature: " << request.header_or_empty("webhook-signature")
                                       << "\n  secret: " << secret << "\n  body: " << shorten(request.body, 300);
}

::testing::AssertionResult signature_rejects(std::string_view secret, const received_request& request,
                                             const std::string& other_body) {
  const auto v = verify_signature(secret, request, other_body);
  if (v.exit_code == 1) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "verify.js should reject a tampered body with exit code 1, got "
                                       << v.exit_code << ": " << v.output;
}

// ---- GetWebHookAttempts ---------------------------------------------------------------------

std::ostream& operator<<(std::ostream& os, const attempt_record& a) {
  os << "{event_id " << a.event_id << ", attempt " << a.attempt << ", at " << a.at << ", http_status ";
  if (a.http_status)
    os << *a.http_status;
  else
    os << "null";
  return os << ", error " << (a.error ? "\"" + *a.error + "\"" : std::string("null")) << ", duration_ms "
            << a.duration_ms << "}";
}

::testing::AssertionResult parse_attempts(std::string_view json, std::vector<attempt_record>& out) {
  simdjson::dom::parser parser;
  simdjson::dom::array arr;
  if (parser.parse(simdjson::padded_string(json)).get(arr))
    return ::testing::AssertionFailure() << "attempts result is not a JSON array: " << shorten(json, 400);
  const std::multiset<std::string> expected{"event_id", "attempt", "at", "http_status", "error", "duration_ms"};
  std::vector<attempt_record> list;
  for (auto element : arr) {
    const auto text = minified(element);
    simdjson::dom::object obj;
    if (element.get(obj)) return ::testing::AssertionFailure() << "an attempt is not an object: " << text;
    std::multiset<std::string> keys;
    for (auto field : obj) keys.insert(std::string(field.key));
    if (keys != expected)
      return ::testing::AssertionFailure()
             << "an attempt must have exactly event_id, attempt, at, http_status, error, duration_ms: " << text;
    attempt_record a;
    std::string_view s;
    if (obj["event_id"].get(s)) return ::testing::AssertionFailure() << "`event_id` is not a string: " << text;
    a.event_id = std::string(s);
    if (obj["attempt"].get(a.attempt)) return ::testing::AssertionFailure() << "`attempt` is not an integer: " << text;
    if (obj["at"].get(s)) return ::testing::AssertionFailure() << "`at` is not a string: " << text;
    a.at = std::string(s);
    auto status = obj["http_status"].value_unsafe();
    if (!status.is_null()) {
      std::int64_t code = 0;
      if (status.get(code)) return ::testing::AssertionFailure() << "`http_status` is neither null nor an integer: " << text;
      a.http_status = code;
    }
    auto error = obj["error"].value_unsafe();
    if (!error.is_null()) {
      if (error.get(s)) return ::testing::AssertionFailure() << "`error` is neither null nor a string: " << text;
      a.error = std::string(s);
    }
    if (obj["duration_ms"].get(a.duration_ms) || a.duration_ms < 0)
      return ::testing::AssertionFailure() << "`duration_ms` is not an integer ≥ 0: " << text;
    list.push_back(std::move(a));
  }
  out = std::move(list);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult get_attempts(const server_process& server, const credentials& who, std::int64_t hook_id,
                                        std::vector<attempt_record>& out, const std::optional<std::string>& limit) {
  param_list params{{"id", std::to_string(hook_id)}};
  if (limit) params.emplace_back("limit", *limit);
  const auto e = server.call_as(who, "GetWebHookAttempts", params);
  if (auto ok = is_success(e); !ok) return ok << " (GetWebHookAttempts id=" << hook_id << ")";
  return parse_attempts(e.result, out);
}

::testing::AssertionResult get_webhook(const server_process& server, const credentials& who, std::int64_t id,
                                       webhook& out) {
  std::vector<webhook> hooks;
  if (auto ok = list_webhooks(server, who, hooks); !ok) return ok;
  for (const auto& h : hooks)
    if (h.id == id) {
      out = h;
      return ::testing::AssertionSuccess();
    }
  return ::testing::AssertionFailure() << "GetWebHooks does not list hook " << id;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace hookwerk::system_test
