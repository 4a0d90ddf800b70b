// SPEC §2/§3: password guessing against one account costs others nothing, is limited per client
// address and username, and does not tell known usernames from unknown ones.
#include "system/harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace hookwerk::system_test {
namespace {

using seconds_d = std::chrono::duration<double>;

struct timed_envelope {
  envelope answer;
  double seconds = 0;
};

// GetWebHooks as `who`, sent from the local address `source` (empty: 127.0.0.1).
timed_envelope get_webhooks_from(const server_process& server, std::string_view source,
                                 const credentials& who) {
  const header_list h{{"Content-Type", "application/x-www-form-urlencoded"}};
  const auto body = form_encode({{"username", who.username}, {"password", who.password}});
  const auto started = clock_type::now();
  auto r = http_request_from(source, server.port(), "POST", "/webservice/webservice/json/GetWebHooks",
                             h, body, 60s);
  timed_envelope out;
  out.seconds = seconds_d(clock_type::now() - started).count();
  out.answer = parse_envelope(r.status, std::move(r.body));
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

server_options options_with(std::vector<std::string> extra) {
  server_options o;
  // Two scheduler threads, so one hashing thread: the setting where a flood hurts most.
  o.extra_args = {"--workers", "2"};
  o.extra_args.insert(o.extra_args.end(), extra.begin(), extra.end());
  return o;
}

// Guesses passwords of `target` from 20 threads until stopped or a minute passed.
class password_flood {
public:
  password_flood(const server_process& server, credentials target) {
    const auto until = clock_type::now() + 60s;
    for (int i = 0; i < 20; ++i)
      threads_.emplace_back([this, &server, target, until, i] {
        credentials guess = target;
        for (int n = 0; !stop_.load() && clock_type::now() < until; ++n) {
          guess.password = "wrong-" + std::to_string(i) + "-" + std::to_string(n);
          try {
            auto r = get_webhooks_from(server, {}, guess);
            if (r.answer.error == 1 && r.answer.message == "login failed")
              ++failed_;
            else if (r.answer.error == 9 && r.answer.message == "try again")
              ++try_again_;
            else
              ++other_;
          } catch (const std::exception&) {
            ++other_;
          }
        }
      });
  }

  ~password_flood() { stop(); }

  void stop() {
    stop_.store(true);
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  int answered() const { return failed_.load() + try_again_.load() + other_.load(); }
  int failed() const { return failed_.load(); }
  int try_again() const { return try_again_.load(); }
  int other() const { return other_.load(); }

private:
  std::atomic<bool> stop_{false};
  std::atomic<int> failed_{0}, try_again_{0}, other_{0};
  std::vector<std::thread> threads_;
};

TEST(LoginFlood, AFloodOnOneUsernameLeavesAnotherAccountsFirstLoginUnderOneSecond) {
  // No failed-login limit: the hash queue alone has to keep the flood from the other account.
  server_process server{options_with({"--max-failed-logins", "0"})};
  const credentials victim{unique_name("victim"), "victim-password"};
  const credentials other{unique_name("other"), "other-password"};
  ASSERT_EQ(server.create_account(victim.username, victim.password).status, 201);
  ASSERT_EQ(server.create_account(other.username, other.password).status, 201);

  password_flood flood{server, {victim.username, "x"}};
  // The flood is under way once its first guesses were answered (each took a hash or was refused).
  ASSERT_TRUE(eventually([&] { return flood.failed() >= 2 && flood.answered() >= 20; }, 60s));

  const auto login = get_webhooks_from(server, {}, other);
  // CreateWebHook's address check runs on the same pool (the login is remembered by now).
  const auto create_started = clock_type::now();
  const auto created = server.call_as(other, "CreateWebHook",
                                      {{"app", "a"}, {"event", "optin_finalized"}, {"url", "https://192.0.2.10/h"}},
                                      encoding::form, 60s);
  const double create_seconds = seconds_d(clock_type::now() - create_started).count();
  flood.stop();
  std::cout << "during the flood: first login of another account " << login.seconds << " s, CreateWebHook "
            << create_seconds << " s (flood: " << flood.failed() << " failed, " << flood.try_again()
            << " try again, " << flood.other() << " other)\n";
  RecordProperty("first_login_ms", static_cast<int>(login.seconds * 1000));
  EXPECT_TRUE(is_success(login.answer));
  EXPECT_LT(login.seconds, 1.0 * time_scale());
  EXPECT_TRUE(is_success(created));
  EXPECT_LT(create_seconds, 1.0 * time_scale());
  // Guesses beyond the bounded queue are refused at once rather than queued.
  EXPECT_GT(flood.try_again(), 0);
  EXPECT_EQ(flood.other(), 0);
}

TEST(LoginFlood, ShutdownDoesNotRunTheQueuedPasswordChecks) {
  server_process server{options_with({"--max-failed-logins", "0"})};
  const credentials victim{unique_name("victim"), "victim-password"};
  ASSERT_EQ(server.create_account(victim.username, victim.password).status, 201);
  password_flood flood{server, {victim.username, "x"}};
  // Twenty guesses outstanding: the hash queue of that username is as full as it gets.
  ASSERT_TRUE(eventually([&] { return flood.failed() >= 2 && flood.answered() >= 20; }, 60s));
  EXPECT_EQ(server.terminate(30s), 0);
  flood.stop();
  const double waited = seconds_d(server.last_exit_wait()).count();
  std::cout << "exit " << waited << " s after SIGTERM during the flood\n";
  // Running what is queued would take several hashes of ~0.1-0.4 s each.
  EXPECT_LT(waited, 1.5 * time_scale());
}

TEST(LoginFlood, AccountCreationsBeyondTheQueueAreRefusedWith503AndRetryAfter) {
  server_process server{options_with({})};
  const auto name = unique_name("dup");
  // Twenty creations of one name at once: more than the name's share of the hash queue.
  std::vector<http_response> answers(20);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < answers.size(); ++i)
    threads.emplace_back([&, i] { answers[i] = server.create_account(name, "pw-" + std::to_string(i)); });
  for (auto& t : threads) t.join();
  int created = 0, exists = 0, try_again = 0;
  for (const auto& r : answers) {
    if (r.status == 201) {
      ++created;
    } else if (r.status == 409) {
      ++exists;
    } else {
      EXPECT_EQ(r.status, 503) << r.body;
      EXPECT_EQ(r.body, R"({"error":"try again"})");
      EXPECT_EQ(r.header("Retry-After").value_or(""), "1");
      ++try_again;
    }
  }
  std::cout << created << " created, " << exists << " exists, " << try_again << " try again\n";
  EXPECT_EQ(created, 1);
  EXPECT_GT(try_again, 0);
  EXPECT_EQ(created + exists + try_again, 20);
}

TEST(LoginFlood, PastTheLimitThePairIsRefusedFastAndTheOwnerLogsInFromAnotherAddress) {
  server_process server{options_with({"--max-failed-logins", "3"})};
  const credentials victim{unique_name("victim"), "victim-password"};
  const credentials neighbour{unique_name("neighbour"), "neighbour-password"};
  ASSERT_EQ(server.create_account(victim.username, victim.password).status, 201);
  ASSERT_EQ(server.create_account(neighbour.username, neighbour.password).status, 201);
  const credentials guess{victim.username, "wrong"};

  std::vector<double> hashed, refused;
  for (int i = 0; i < 3; ++i) {
    auto r = get_webhooks_from(server, "127.0.0.1", guess);
    EXPECT_TRUE(is_error(r.answer, 1, "login failed"));
    hashed.push_back(r.seconds);
  }
  for (int i = 0; i < 5; ++i) {
    auto r = get_webhooks_from(server, "127.0.0.1", guess);
    EXPECT_TRUE(is_error(r.answer, 1, "login failed"));
    refused.push_back(r.seconds);
  }
  std::cout << "wrong password: " << median(hashed) << " s hashed, " << median(refused)
            << " s past the limit (medians)\n";
  // Past the limit nothing is hashed: far faster than a guess that was.
  EXPECT_LT(median(refused), median(hashed) / 4);

  // The pair is refused even with the right password; the account itself is not locked.
  EXPECT_TRUE(is_error(get_webhooks_from(server, "127.0.0.1", victim).answer, 1, "login failed"));
  EXPECT_TRUE(is_success(get_webhooks_from(server, "127.0.0.2", victim).answer));
  // Nor is the address: another username from it still logs in.
  EXPECT_TRUE(is_success(get_webhooks_from(server, "127.0.0.1", neighbour).answer));
}

TEST(LoginFlood, AnUnknownUsernameTakesAboutAsLongAsAWrongPassword) {
  server_process server{options_with({"--max-failed-logins", "0"})};
  const credentials known{unique_name("known"), "known-password"};
  ASSERT_EQ(server.create_account(known.username, known.password).status, 201);

  std::vector<double> wrong_password, unknown_user;
  for (int i = 0; i < 7; ++i) {
    auto a = get_webhooks_from(server, {}, {known.username, "wrong-" + std::to_string(i)});
    EXPECT_TRUE(is_error(a.answer, 1, "login failed"));
    wrong_password.push_back(a.seconds);
    auto b = get_webhooks_from(server, {}, {unique_name("nobody"), "whatever"});
    EXPECT_TRUE(is_error(b.answer, 1, "login failed"));
    unknown_user.push_back(b.seconds);
  }
  const double ratio = median(unknown_user) / median(wrong_password);
  std::cout << "login failed after " << median(wrong_password) << " s (wrong password) and "
            << median(unknown_user) << " s (unknown username), ratio " << ratio << "\n";
  EXPECT_GT(ratio, 0.5);
}

}  // namespace
}  // namespace hookwerk::system_test
