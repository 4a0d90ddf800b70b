// SPEC §1 --failure-threshold / --failure-window, §6: only the receiver's failures count toward
// deactivating a hook. The server's own — its resolver failing (SERVFAIL) or unreachable — are
// retried without counting, logged in the attempt log and counted in
// hookwerk_delivery_local_failures_total; a name that does not exist and a refused port are the
// receiver's and do deactivate. With a window, the count alone is not enough: the first failure
// of the streak must be at least that old.
#include "system/outage_support.hpp"
#include "common/ports.hpp"

#include "common/dns_stub.hpp"

#include <gtest/gtest.h>


#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace hookwerk::system_test {
namespace {

using namespace outage;
using test::dns_stub;

constexpr std::string_view local_failures = "hookwerk_delivery_local_failures_total";

/// NXDOMAIN for names starting with "nx.", SERVFAIL for every other name.
std::optional<dns_stub::rcode> servfail_but_nx(const std::string& name) {
  return name.rfind("nx.", 0) == 0 ? dns_stub::nxdomain : dns_stub::servfail;
}

server_options accounting_options(std::string dns_servers, std::vector<std::string> extra) {
  server_options o;
  o.extra_args = {"--allow-private-targets", "--retry-schedule", "100ms", "--failure-threshold", "2"};
  o.extra_args.insert(o.extra_args.end(), extra.begin(), extra.end());
  o.env = {{"HOOKWERK_DNS_SERVERS", std::move(dns_servers)}};
  return o;
}

/// Posts `n` events of `event` for `who` (no key, so they are attempted side by side).
::testing::AssertionResult post_many(const server_process& server, const credentials& who,
                                     std::string_view event, int n, std::int64_t hooks) {
  for (int i = 0; i < n; ++i) {
    accepted_event accepted;
    if (auto ok = post_seq(server, who.username, event, i, std::nullopt, hooks, accepted); !ok)
      return ok;
  }
  return ::testing::AssertionSuccess();
}

std::string attempts_text(const std::vector<attempt_record>& attempts) {
  std::ostringstream out;
  for (const auto& a : attempts) out << a << "\n";
  return out.str();
}

// ---- a failing resolver -----------------------------------------------------------------

class FailingResolver : public shared_server_suite<FailingResolver> {
public:
  static server_options options() {
    dns = std::make_unique<dns_stub>(&servfail_but_nx);
    return accounting_options(dns->address(), {"--failure-window", "0s"});
  }

  static inline std::unique_ptr<dns_stub> dns;
};

TEST_F(FailingResolver, ItsFailuresNeverDeactivateWhileTheReceiversDo) {
  credentials who;
  ASSERT_TRUE(make_account(server(), "dnsfail", who));
  hook_cleanup cleanup(server());
  const std::string event = "optin_finalized";
  webhook on_name, nonexistent, refused;
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, "http://receiver.hookwerk.test:9/hook", on_name));
  ASSERT_TRUE(add_hook(server(), cleanup, who, event, "http://nx.hookwerk.test:9/hook", nonexistent));
  ASSERT_TRUE(add_hook(server(), cleanup, who, event,
                       "http://127.0.0.1:" + std::to_string(test::unused_port()) + "/hook", refused));

  const double before = metric_sum(server(), local_failures).value_or(-1);
  ASSERT_GE(before, 0) << local_failures << " is exported";
  ASSERT_TRUE(post_many(server(), who, event, 10, 3));

  // The receiver's failures: a name that does not exist, a refused port (the control). Both
  // deactivate after --failure-threshold 2 (--failure-window 0s: the count alone).
  webhook state;
  ASSERT_TRUE(wait_inactive(server(), who, refused.id, state));
  EXPECT_EQ(state.last_error, std::optional<std::string>("connection refused")) << state;
  ASSERT_TRUE(wait_inactive(server(), who, nonexistent.id, state));
  EXPECT_EQ(state.last_error, std::optional<std::string>("dns: Domain name not found")) << state;

  // Our resolver's failures (SERVFAIL): retried again and again (10 events, every ~100 ms),
  // far beyond the threshold of 2, without counting.
  ASSERT_TRUE(eventually([&] { return metric_sum(server(), local_failures).value_or(0) >= before + 60; }, 30s))
      << local_failures << " = " << metric_sum(server(), local_failures).value_or(-1);
  ASSERT_TRUE(get_webhook(server(), who, on_name.id, state));
  EXPECT_TRUE(state.active) << state;
  EXPECT_EQ(state.consecutive_failures, 0) << state;
  EXPECT_EQ(state.deactivated_at, std::nullopt) << state;
  EXPECT_EQ(state.last_error, std::nullopt) << "only the receiver's failures set last_error: " << state;
  EXPECT_GT(state.pending_events, 0) << "its events wait for the next try: " << state;

  // Every attempt is in its log, with the resolver's error and no HTTP status.
  std::vector<attempt_record> attempts;
  ASSERT_TRUE(get_attempts(server(), who, on_name.id, attempts, std::string("1000")));
  ASSERT_GE(attempts.size(), 20u) << attempts_text(attempts);
  // (c-ares 1.18 reports a SERVFAIL from the only server as "Could not contact DNS servers".)
  for (const auto& a : attempts) {
    ASSERT_TRUE(a.error.has_value()) << a;
    EXPECT_TRUE(a.error->starts_with("dns: ")) << a;
    EXPECT_NE(*a.error, "dns: Domain name not found") << a;
    EXPECT_EQ(a.http_status, std::nullopt) << a;
  }
  // Attempt numbers go on (X-Hookwerk-Attempt would say so), though nothing was counted.
  EXPECT_GE(attempts.front().attempt, 2) << attempts_text(attempts);
  EXPECT_GT(dns->questions(), 0u);

  // One notification each for the two deactivated hooks, none for the one on a failing resolver.
  std::vector<notification> notes;
  ASSERT_TRUE(get_notifications(server(), who, notes));
  EXPECT_EQ(for_webhook(notes, refused.id).size(), 1u) << describe(notes);
  EXPECT_EQ(for_webhook(notes, nonexistent.id).size(), 1u) << describe(notes);
  EXPECT_TRUE(for_webhook(notes, on_name.id).empty()) << describe(notes);

  // Still active well after: the metric keeps growing, the hook stays as it was.
  const double later = metric_sum(server(), local_failures).value_or(0);
  ASSERT_TRUE(eventually([&] { return metric_sum(server(), local_failures).value_or(0) >= later + 20; }, 30s));
  ASSERT_TRUE(get_webhook(server(), who, on_name.id, state));
  EXPECT_TRUE(state.active) << state;
  EXPECT_EQ(state.consecutive_failures, 0) << state;
}

// ---- an unreachable resolver ------------------------------------------------------------

TEST(UnreachableResolver, ItsFailuresAreRetriedUncountedAndLogged) {
  server_process server(accounting_options(dns_stub::unreachable_address(), {"--failure-window", "0s"}));
  credentials who;
  ASSERT_TRUE(make_account(server, "dnsgone", who));
  hook_cleanup cleanup(server);
  webhook hook;
  ASSERT_TRUE(add_hook(server, cleanup, who, "optin_finalized", "http://receiver.hookwerk.test/in", hook));
  ASSERT_TRUE(post_many(server, who, "optin_finalized", 5, 1));

  ASSERT_TRUE(eventually([&] { return metric_sum(server, local_failures).value_or(0) >= 25; }, 30s))
      << local_failures << " = " << metric_sum(server, local_failures).value_or(-1);
  webhook state;
  ASSERT_TRUE(get_webhook(server, who, hook.id, state));
  EXPECT_TRUE(state.active) << state;
  EXPECT_EQ(state.consecutive_failures, 0) << state;
  std::vector<attempt_record> attempts;
  ASSERT_TRUE(get_attempts(server, who, hook.id, attempts));
  ASSERT_FALSE(attempts.empty());
  for (const auto& a : attempts) {
    ASSERT_TRUE(a.error.has_value()) << a;
    EXPECT_TRUE(a.error->starts_with("dns: ")) << a;
  }
  // Every failed attempt counts as outcome="failure" too (SPEC §7: one count per attempt).
  const double local = metric_sum(server, local_failures).value_or(0);
  EXPECT_GE(metric_sum(server, "hookwerk_deliveries_total").value_or(0), local);
}

TEST(UnreachableResolver, AnInvalidServerListStopsTheStartWithAMessage) {
  temp_dir data;
  const auto r = run_hookwerk({"serve", "--listen", "127.0.0.1:0", "--data-dir", data.str()},
                              {{"HOOKWERK_DNS_SERVERS", "not an address"}});
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("invalid DNS servers"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("listening on"), std::string::npos) << r.out;
}

// ---- the failure window -----------------------------------------------------------------

TEST(FailureWindow, ARefusedReceiverIsDeactivatedOnlyOnceItsFirstFailureIsOldEnough) {
  server_process server(accounting_options(dns_stub::unreachable_address(),
                                           {"--failure-window", "3s", "--retry-schedule", "200ms"}));
  credentials who;
  ASSERT_TRUE(make_account(server, "window", who));
  hook_cleanup cleanup(server);
  webhook hook;
  ASSERT_TRUE(add_hook(server, cleanup, who, "optin_finalized",
                       "http://127.0.0.1:" + std::to_string(test::unused_port()) + "/hook", hook));

  const auto posted = clock_type::now();
  ASSERT_TRUE(post_many(server, who, "optin_finalized", 1, 1));

  // The threshold (2) is passed within a second, the window (3 s) is not: still active.
  webhook state;
  ASSERT_TRUE(wait_hook(
      server, who, hook.id, [](const webhook& w) { return w.consecutive_failures >= 3; }, state,
      "failing 3 times", 10s));
  EXPECT_TRUE(state.active) << state;
  while (clock_type::now() < posted + 2500ms) {
    ASSERT_TRUE(get_webhook(server, who, hook.id, state));
    ASSERT_TRUE(state.active) << "deactivated before --failure-window: " << state << " after "
                              << std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - posted).count()
                              << " ms";
    std::this_thread::sleep_for(100ms);
  }

  // Once the first failure is 3 s old, the next failure deactivates it.
  ASSERT_TRUE(wait_inactive(server, who, hook.id, state, 15s));
  const auto took = clock_type::now() - posted;
  EXPECT_GE(took, 3s);
  EXPECT_GT(state.consecutive_failures, 3) << state;
  EXPECT_EQ(state.last_error, std::optional<std::string>("connection refused")) << state;

  // deactivated_at is at least the window after the first attempt (both with second resolution).
  std::vector<attempt_record> attempts;
  ASSERT_TRUE(get_attempts(server, who, hook.id, attempts, std::string("1000")));
  ASSERT_FALSE(attempts.empty());
  const auto first_at = parse_rfc3339_ms(attempts.back().at);
  const auto deactivated = parse_rfc3339_ms(state.deactivated_at.value_or(""));
  ASSERT_TRUE(first_at && deactivated) << state;
  EXPECT_GE(*deactivated - *first_at, 2000) << state << "\n" << attempts_text(attempts);

  std::vector<notification> notes;
  ASSERT_TRUE(get_notifications(server, who, notes));
  EXPECT_EQ(for_webhook(notes, hook.id).size(), 1u) << describe(notes);
}

}  // namespace
}  // namespace hookwerk::system_test
