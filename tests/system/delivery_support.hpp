// Helpers for the ingestion and delivery system tests (SPEC §4, §5): posting events, reading the
// 202 answers, GetWebHookAttempts, signature verification with the Standard Webhooks reference
// library (tests/system/js/verify.js), and filters over what a receiver got.
#pragma once

#include "system/harness.hpp"
#include "system/receiver.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hookwerk::system_test {

inline constexpr std::string_view ndjson_type = "application/x-ndjson";
inline constexpr std::string_view json_type = "application/json";

// ---- server set-up ------------------------------------------------------------------------

// The --events list of the delivery tests: the three standard events plus ev1 … ev<n>, so that
// every test can subscribe to events no other test uses.
std::string delivery_events_list(int extra = 60);
// A fresh event name (ev1, ev2, …) from that list, unique in this test process.
std::string fresh_event();

// Options for a server that delivers to loopback receivers quickly:
// --allow-private-targets, --retry-schedule <schedule>, --failure-threshold 1000 (hooks stay
// active), --events <delivery_events_list()>, plus `extra`.
server_options delivery_server_options(std::string_view retry_schedule = "100ms,200ms,300ms",
                                       std::vector<std::string> extra = {});

// Creates an account with a unique name; the password is derived from it.
::testing::AssertionResult make_account(const server_process& server, std::string_view prefix, credentials& out);

/// A test suite sharing one server with two accounts, `acme` and `other`.
/// `Derived` says how the server is started: `static server_options options();`.
template <class Derived>
class two_account_suite : public shared_server_suite<Derived> {
public:
  static ::testing::AssertionResult prepare(const server_process& server) {
    if (!make_account(server, "acme", acme) || !make_account(server, "other", other))
      return ::testing::AssertionFailure() << "creating the accounts failed";
    return ::testing::AssertionSuccess();
  }

protected:
  static inline credentials acme;
  static inline credentials other;
};

// Deletes the registered webhooks when it goes out of scope, so that nothing keeps delivering
// to a port a later test might get. Declare it after the receivers it points to.
class hook_cleanup {
public:
  explicit hook_cleanup(const server_process& server) : server_(server) {}
  ~hook_cleanup();
  hook_cleanup(const hook_cleanup&) = delete;
  hook_cleanup& operator=(const hook_cleanup&) = delete;
  void add(const credentials& who, std::int64_t id) { hooks_.emplace_back(who, id); }

private:
  const server_process& server_;
  std::vector<std::pair<credentials, std::int64_t>> hooks_;
};

// CreateWebHook(app = unique name, event, url) as `who`; registers the hook with `cleanup`.
::testing::AssertionResult add_hook(const server_process& server, hook_cleanup& cleanup, const credentials& who,
                                    std::string_view event, std::string_view url, webhook& out);

// ---- ingestion ------------------------------------------------------------------------------

header_list ingest_auth(std::string_view token = default_ingest_token);

// POST /v1/events with this body, Content-Type and (if set) `Authorization: Bearer <token>`.
http_response ingest(std::uint16_t port, std::string_view body, std::string_view content_type = json_type,
                     std::optional<std::string> token = std::string(default_ingest_token),
                     std::chrono::milliseconds timeout = default_request_timeout);
inline http_response ingest(const server_process& server, std::string_view body,
                            std::string_view content_type = json_type,
                            std::optional<std::string> token = std::string(default_ingest_token)) {
  return ingest(server.port(), body, content_type, std::move(token));
}

// {"account":…,"event":…,"payload":<payload verbatim>[,"id":…][,"key":…]}
std::string event_json(std::string_view account, std::string_view event, std::string_view payload,
                       const std::optional<std::string>& id = std::nullopt,
                       const std::optional<std::string>& key = std::nullopt);

struct accepted_event {
  std::string id;
  std::int64_t webhooks = -1;
};

// 202 with a body of exactly {"id":"<non-empty>","webhooks":<integer ≥ 0>}.
::testing::AssertionResult parse_accepted(const http_response& r, accepted_event& out);
// 202 with a body of exactly {"ids":[<non-empty string>…]} with `expected_count` entries.
::testing::AssertionResult parse_accepted_batch(const http_response& r, std::size_t expected_count,
                                                std::vector<std::string>& ids);

// Posts one event (application/json) and expects it accepted.
::testing::AssertionResult post_event(const server_process& server, std::string_view account, std::string_view event,
                                      std::string_view payload, accepted_event& out,
                                      const std::optional<std::string>& id = std::nullopt,
                                      const std::optional<std::string>& key = std::nullopt);

// ---- what a receiver got --------------------------------------------------------------------

std::vector<received_request> with_webhook_id(const std::vector<received_request>& all, std::string_view id);
std::size_t count_with_webhook_id(const std::vector<received_request>& all, std::string_view id);
// webhook-id → number of requests carrying it.
std::map<std::string, std::size_t> webhook_id_counts(const std::vector<received_request>& all);
// The distinct webhook-ids of the requests answered with 2xx.
std::set<std::string> delivered_ids(const std::vector<received_request>& all);
// True if every id has at least one request answered with 2xx.
bool all_delivered(const std::vector<received_request>& all, const std::vector<std::string>& ids);
// One line per request (method, target, webhook-id, attempt, answer, body prefix) for messages.
std::string describe(const std::vector<received_request>& all, std::size_t max_lines = 60);

// The number in the payload member "seq" (payloads built as {"seq":N,…}); -1 if absent.
long payload_seq(const received_request& r);

// ---- signatures ---------------------------------------------------------------------------

struct verify_outcome {
  int exit_code = -1;  // 0 valid, 1 invalid, 2 broken input or set-up, other: could not run node
  std::string output;  // what verify.js printed
};

// Runs `node tests/system/js/verify.js` with the request's webhook-* headers and `body` (the
// request's own body unless given).
verify_outcome verify_signature(std::string_view secret, const received_request& request,
                                const std::optional<std::string>& body = std::nullopt);
// Exit code 0; the message carries verify.js's output otherwise.
::testing::AssertionResult signature_valid(std::string_view secret, const received_request& request);
// Exit code 1 (a verification failure, not a broken set-up) for this other body.
::testing::AssertionResult signature_rejects(std::string_view secret, const received_request& request,
                                             const std::string& other_body);

// ---- GetWebHookAttempts ---------------------------------------------------------------------

struct attempt_record {
  std::string event_id;
  std::int64_t attempt = 0;
  std::string at;
  std::optional<std::int64_t> http_status;
  std::optional<std::string> error;
  std::int64_t duration_ms = -1;
};
std::ostream& operator<<(std::ostream& os, const attempt_record& a);

// Parses a GetWebHookAttempts result: an array of objects with exactly the fields of SPEC §3.
::testing::AssertionResult parse_attempts(std::string_view json, std::vector<attempt_record>& out);
// Calls GetWebHookAttempts(id[, limit]) and expects success.
::testing::AssertionResult get_attempts(const server_process& server, const credentials& who, std::int64_t hook_id,
                                        std::vector<attempt_record>& out,
                                        const std::optional<std::string>& limit = std::nullopt);

// GetWebHooks and the one hook with this id.
::testing::AssertionResult get_webhook(const server_process& server, const credentials& who, std::int64_t id,
                                       webhook& out);

std::int64_t unix_now();

}  // namespace hookwerk::system_test
