// Dropped events are counted one by one (hookwerk_events_dropped_total) but logged at most once a
// minute per webhook, each line carrying the count since the previous one, so that a burst of
// drops cannot flood stderr. What is held back is written when the server stops.
#include "system/outage_support.hpp"
#include "common/ports.hpp"

#include <gtest/gtest.h>


#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace hookwerk::system_test {
namespace {

using namespace outage;

/// The counts of the "webhook <id>: N event(s) dropped (...)" lines in `text`.
std::vector<long> dropped_counts(const std::string& text, std::int64_t id) {
  const std::regex line("webhook " + std::to_string(id) + ": ([0-9]+) event\\(s\\) dropped \\(");
  std::vector<long> counts;
  for (std::sregex_iterator it(text.begin(), text.end(), line), end; it != end; ++it)
    counts.push_back(std::stol((*it)[1].str()));
  return counts;
}

TEST(DropLog, ABurstOfDroppedEventsIsOneLineWithItsCount) {
  // --buffer-limit 0: every event of an inactive hook is dropped ("buffer full").
  server_process server(outage_server_options({"--buffer-limit", "0"}));
  credentials who;
  ASSERT_TRUE(make_account(server, "drops", who));
  hook_cleanup cleanup(server);
  webhook hook;
  ASSERT_TRUE(add_hook(server, cleanup, who, "optin_finalized",
                       "http://127.0.0.1:" + std::to_string(test::unused_port()) + "/hook", hook));
  accepted_event first;
  ASSERT_TRUE(post_seq(server, who.username, "optin_finalized", 0, std::nullopt, 1, first));
  webhook state;
  ASSERT_TRUE(wait_inactive(server, who, hook.id, state));
  // The failing event could not move to the (zero-sized) buffer: dropped, and logged at once.
  ASSERT_TRUE(eventually([&] { return dropped_counts(server.stderr_text(), hook.id).size() == 1; }, 10s))
      << server.stderr_text();
  const double dropped_before = metric_sum(server, "hookwerk_events_dropped_total").value_or(-1);
  ASSERT_GE(dropped_before, 1);

  // 300 more, in three batches: each dropped and counted, but no line of its own.
  constexpr int burst = 300;
  for (int b = 0; b < 3; ++b) {
    std::string body = "[";
    for (int i = 0; i < burst / 3; ++i) {
      if (i > 0) body += ",";
      body += event_json(who.username, "optin_finalized", "{\"seq\":" + std::to_string(b * 1000 + i) + "}");
    }
    body += "]";
    const auto r = ingest(server, body);
    ASSERT_EQ(r.status, 202) << r.body;
  }
  ASSERT_TRUE(eventually(
      [&] { return metric_sum(server, "hookwerk_events_dropped_total").value_or(0) >= dropped_before + burst; }, 30s))
      << "hookwerk_events_dropped_total = " << metric_sum(server, "hookwerk_events_dropped_total").value_or(-1);
  const auto counts = dropped_counts(server.stderr_text(), hook.id);
  EXPECT_EQ(counts.size(), 1u) << "one line within the minute; stderr:\n" << server.stderr_text();

  // Stopping writes what was held back, with its count: the lines add up to every drop.
  const double dropped = metric_sum(server, "hookwerk_events_dropped_total").value_or(-1);
  EXPECT_EQ(server.terminate(), 0);
  const auto all = dropped_counts(server.stderr_text(), hook.id);
  ASSERT_EQ(all.size(), 2u) << server.stderr_text();
  EXPECT_EQ(all[1], burst) << server.stderr_text();
  EXPECT_EQ(static_cast<double>(all[0] + all[1]), dropped) << server.stderr_text();
}

}  // namespace
}  // namespace hookwerk::system_test
