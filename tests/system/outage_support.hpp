// Helpers for the outage-lifecycle system tests (SPEC §3 ActivateWebHook / GetNotifications,
// §5 410, §6): notifications, waiting for a hook to become inactive, the activation page and its
// forms, and /metrics samples.
#pragma once

#include "system/delivery_support.hpp"
#include "system/harness.hpp"
#include "system/receiver.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hookwerk::system_test::outage {

inline constexpr auto arrival_timeout = 30s;
inline constexpr int failure_threshold = 3;

// --allow-private-targets --retry-schedule 100ms --failure-threshold 3 --failure-window 0s (the
// count alone), plus `extra`.
server_options outage_server_options(std::vector<std::string> extra = {});

// ---- time -----------------------------------------------------------------------------------

// Any RFC 3339 date-time (fractional seconds, `Z` or a numeric offset) → milliseconds since the
// epoch (UTC).
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);
std::int64_t unix_now_ms();

// ---- notifications --------------------------------------------------------------------------

struct notification {
  std::int64_t id = 0;
  std::string kind;
  std::int64_t webhook_id = 0;
  std::string created_at;
  std::string reason;
  std::optional<std::string> activate_url;
  bool read = false;
};
std::ostream& operator<<(std::ostream& os, const notification& n);
std::string describe(const std::vector<notification>& list);

// A GetNotifications result: an array of objects with exactly the fields of SPEC §3, each of the
// right type, created_at RFC 3339.
::testing::AssertionResult parse_notifications(std::string_view json, std::vector<notification>& out);

// GetNotifications([unreadOnly]) as `who`; expects success and a well-formed result.
::testing::AssertionResult get_notifications(const server_process& server, const credentials& who,
                                             std::vector<notification>& out,
                                             const std::optional<param_value>& unread_only = std::nullopt);

// The notifications of one webhook, in the order the server listed them.
std::vector<notification> for_webhook(const std::vector<notification>& all, std::int64_t webhook_id);

// The parts of an activate_url "<base>/notifications/<id>/activate?token=<token>".
struct activate_link {
  std::string base;            // scheme://host[:port][/path]
  std::string path_and_query;  // /notifications/<id>/activate?token=<token>
  std::string path;            // /notifications/<id>/activate
  std::int64_t notification_id = 0;
  std::string token;
};
::testing::AssertionResult parse_activate_url(std::string_view url, activate_link& out);

// ---- hook state -----------------------------------------------------------------------------

// Polls GetWebHooks until the hook is inactive; `out` is its state then.
::testing::AssertionResult wait_inactive(const server_process& server, const credentials& who, std::int64_t id,
                                         webhook& out, std::chrono::milliseconds timeout = arrival_timeout);
// Polls GetWebHooks until `predicate(hook)` holds; `out` is the last state seen.
::testing::AssertionResult wait_hook(const server_process& server, const credentials& who, std::int64_t id,
                                     const std::function<bool(const webhook&)>& predicate, webhook& out,
                                     std::string_view what, std::chrono::milliseconds timeout = arrival_timeout);

// ActivateWebHook(id[, replayEvents]) as `who`; expects success and returns the result text.
::testing::AssertionResult activate(const server_process& server, const credentials& who, std::int64_t id,
                                    const std::optional<param_value>& replay, std::string& result);
// {"id":id,"active":true,"replayed":replayed,"discarded":discarded}
std::string activate_result(std::int64_t id, std::int64_t replayed, std::int64_t discarded);

// Posts {"seq":seq} with ordering key `key` (if any) and expects 202 with `webhooks` hooks.
::testing::AssertionResult post_seq(const server_process& server, std::string_view account, std::string_view event,
                                    int seq, const std::optional<std::string>& key, std::int64_t expected_webhooks,
                                    accepted_event& out);

// The payload seq of each request answered with 2xx, in arrival order.
std::vector<long> delivered_seqs(const std::vector<received_request>& all);
// The successful deliveries in `all` are exactly `expected` (payload seqs) in this order, each
// once, and no request for expected[i+1] was sent before expected[i] had succeeded.
::testing::AssertionResult delivered_in_sequence(const std::vector<received_request>& all,
                                                 const std::vector<long>& expected);
// The requests from index `first` on (those that arrived after a point the test noted).
std::vector<received_request> requests_after(const std::vector<received_request>& all, std::size_t first);

// ---- HTML -----------------------------------------------------------------------------------

struct html_form {
  std::string method;  // as written (compare case-insensitively)
  std::string action;
  std::vector<std::pair<std::string, std::string>> inputs;  // name → value, entities decoded
  std::vector<std::string> input_types;                      // type attribute of each input
  std::string button_text;                                   // text of the submit button, trimmed
};

// Every <form> of the page with its <input>s and the text of its <button>.
std::vector<html_form> parse_forms(std::string_view html);
std::string html_unescape(std::string_view text);
// The page's text without tags, entities decoded, whitespace collapsed to single spaces.
std::string visible_text(std::string_view html);
std::optional<std::string> form_field(const html_form& form, std::string_view name);

// POSTs the form as a browser does: application/x-www-form-urlencoded with its inputs.
http_response submit_form(const server_process& server, const html_form& form);

// ---- metrics --------------------------------------------------------------------------------

// The sum of all samples of the metric `name` (with or without labels) in GET /metrics; nullopt
// if the server does not expose the metric.
std::optional<double> metric_sum(const server_process& server, std::string_view name);

// Waits (up to 30 s) for a self-check that began after the call to complete, then succeeds if
// no self-check ever found a stuck delivery (hookwerk_stuck_hooks_repaired_total is 0). For
// servers started with --self-check-interval (outage_server_options, delivery_server_options).
::testing::AssertionResult nothing_was_stuck(const server_process& server);

}  // namespace hookwerk::system_test::outage
