// 10 000 webhooks: created in parallel, recovered after a restart without starting their
// actors, listed in one response.
#include "system/harness.hpp"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace hookwerk::system_test {
namespace {

constexpr int hook_count = 10000;
constexpr int client_threads = 8;

bool has_line_matching(const std::string& text, const std::string& pattern) {
  return std::regex_search(text, std::regex(pattern, std::regex::multiline));
}

TEST(Scale, TenThousandWebhooksSurviveARestartAndAreListedInFull) {
  temp_dir data;
  server_options options;
  options.data_dir = data.str();
  const credentials who{"scale", "scale-pw-4d9"};
  const char* events[] = {"optin_finalized", "optout_finalized", "profilemanager_finalized"};

  using spec = std::tuple<std::string, std::string, std::string>;  // app, event, url
  auto spec_of = [&](int i) {
    return spec{"app-" + std::to_string(i % 17), events[i % 3],
                "https://192.0.2." + std::to_string(1 + i % 250) + "/hook/" + std::to_string(i)};
  };

  std::map<std::int64_t, spec> created;
  {
    server_process server(options);
    ASSERT_EQ(server.create_account(who.username, who.password).status, 201);
    ASSERT_TRUE(is_success(server.call_as(who, "GetWebHooks")));  // the login is now remembered

    std::mutex mutex;
    std::vector<std::string> failures;
    std::vector<std::thread> threads;
    for (int t = 0; t < client_threads; ++t) {
      threads.emplace_back([&, t] {
        std::vector<std::pair<std::int64_t, spec>> mine;
        std::vector<std::string> my_failures;
        for (int i = t; i < hook_count; i += client_threads) {
          const auto s = spec_of(i);
          try {
            const auto e = server.call_as(
                who, "CreateWebHook",
                {{"app", std::get<0>(s)}, {"event", std::get<1>(s)}, {"url", std::get<2>(s)}});
            webhook w;
            if (auto ok = is_success(e); !ok) {
              my_failures.push_back("#" + std::to_string(i) + ": " + ok.message());
            } else if (auto parsed = parse_webhook(e.result, w); !parsed) {
              my_failures.push_back("#" + std::to_string(i) + ": " + parsed.message());
            } else {
              mine.emplace_back(w.id, s);
            }
          } catch (const std::exception& ex) {
            my_failures.push_back("#" + std::to_string(i) + ": " + ex.what());
          }
          if (my_failures.size() > 5) break;  // the server is broken; do not hammer it
        }
        std::lock_guard lock(mutex);
        for (auto& [id, s] : mine) {
          if (!created.emplace(id, s).second) failures.push_back("id " + std::to_string(id) + " handed out twice");
        }
        failures.insert(failures.end(), my_failures.begin(), my_failures.end());
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_TRUE(failures.empty()) << failures.size() << " failures, first: " << failures.front();
    ASSERT_EQ(created.size(), static_cast<std::size_t>(hook_count));
    ASSERT_EQ(server.terminate(30s), 0);
  }

  server_process server(options);
  // Recovery finishes before the server listens; stderr is polled in case it is flushed late.
  EXPECT_TRUE(eventually(
      [&] {
        return has_line_matching(server.stderr_text(),
                                 "recovery finished: " + std::to_string(hook_count) +
                                     " webhooks, 0 hook actors");
      },
      10s))
      << "no `recovery finished: 10000 webhooks, 0 hook actors` line on stderr (hooks without "
         "stored events start passive)";

  const auto metrics = server.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_TRUE(has_line_matching(metrics.body, "^hookwerk_hook_actors 0$")) << metrics.body.substr(0, 4000);
  EXPECT_TRUE(has_line_matching(metrics.body, "^hookwerk_webhooks\\{state=\"active\"\\} " +
                                                  std::to_string(hook_count) + "(\\.0+)?$"))
      << metrics.body.substr(0, 4000);

  std::vector<webhook> listed;
  ASSERT_TRUE(list_webhooks(server, who, listed, {}, 120s));
  ASSERT_EQ(listed.size(), static_cast<std::size_t>(hook_count));
  std::int64_t previous = 0;
  std::size_t mismatches = 0;
  for (const auto& w : listed) {
    EXPECT_GT(w.id, previous) << "ordered by id, no duplicates";
    previous = w.id;
    const auto it = created.find(w.id);
    if (it == created.end() || it->second != spec{w.app, w.event, w.url} || !is_fresh_webhook(w)) {
      if (++mismatches <= 5) ADD_FAILURE() << "listed hook does not match what was created: " << w;
    }
  }
  EXPECT_EQ(mismatches, 0u);
  // Listing reads passive hooks from the database; it starts no actor.
  EXPECT_TRUE(has_line_matching(server.get("/metrics").body, "^hookwerk_hook_actors 0$"));
  EXPECT_EQ(server.terminate(30s), 0);
}

}  // namespace
}  // namespace hookwerk::system_test
