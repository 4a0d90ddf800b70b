// SPEC §1 (running it): the listening line, health/readiness, signals, flags, tokens and the
// data-dir lock.
#include "system/harness.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <cctype>
#include <regex>
#include <string>
#include <vector>

namespace hookwerk::system_test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// An admin request that needs the token but no password hashing: deleting an account that does
// not exist answers 404 with the right token and 401 without it.
int probe_admin_token(const server_process& server, const std::string& token) {
  return server.request("DELETE", "/admin/accounts/" + unique_name("nobody"), {{"Authorization", "Bearer " + token}})
      .status;
}

std::optional<std::string> find_token(const std::string& log, const std::string& label) {
  const std::regex pattern(label + R"(: (\S+))");
  std::smatch m;
  if (!std::regex_search(log, m, pattern)) return std::nullopt;
  return m[1].str();
}

std::size_t count_occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
  return n;
}

TEST(Startup, PrintsOnlyTheListeningLineAndAnswersHealthAndReadiness) {
  server_process server;
  ASSERT_GT(server.port(), 0);

  const auto health = server.get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok");

  const auto ready = server.get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;

  EXPECT_EQ(server.terminate(), 0);
  EXPECT_EQ(server.stdout_text(), "listening on http://127.0.0.1:" + std::to_string(server.port()) + "\n")
      << "stdout must hold exactly the one listening line";
  EXPECT_FALSE(server.stderr_text().empty()) << "the start is logged on stderr";
}

TEST(Startup, SigtermExitsZeroPromptlyEvenWithAnIdleClientConnected) {
  server_process server;
  tcp_connection idle(server.port());  // connected, never sends a byte
  ASSERT_EQ(server.get("/healthz").status, 200) << "serves other clients while one is idle";

  EXPECT_EQ(server.terminate(15s, SIGTERM), 0);
  EXPECT_LT(server.last_exit_wait(), 15s);
}

TEST(Startup, SigintExitsZero) {
  server_process server;
  ASSERT_EQ(server.get("/healthz").status, 200);
  EXPECT_EQ(server.terminate(15s, SIGINT), 0);
}

TEST(Startup, CreatesAMissingDataDirAndKeepsItsStateThere) {
  temp_dir parent;
  const auto nested = parent.path() / "not" / "there" / "yet";
  server_options options;
  options.data_dir = nested.string();
  {
    server_process server(options);
    EXPECT_TRUE(std::filesystem::is_directory(nested));
    EXPECT_FALSE(std::filesystem::is_empty(nested));
    EXPECT_EQ(server.create_account("in-nested-dir", "pw-nested").status, 201);
    EXPECT_EQ(server.terminate(), 0);
  }
  server_process again(options);
  EXPECT_TRUE(is_error_body(again.create_account("in-nested-dir", "pw-nested"), 409))
      << "the account was stored in the given data dir";
}

TEST(Startup, VersionPrintsNameAndVersion) {
  const auto r = run_hookwerk({"--version"}, {}, 10s);
  ASSERT_TRUE(r.exited) << "did not exit within 10 s";
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::MatchesRegex(R"(hookwerk [0-9]+\.[0-9]+\.[0-9]+[^ \n]*\n?)"));
}

TEST(Startup, ServeHelpListsEveryFlag) {
  const auto r = run_hookwerk({"serve", "--help"}, {}, 10s);
  ASSERT_TRUE(r.exited) << "did not exit within 10 s";
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* flag : {"--listen", "--data-dir", "--admin-token", "--ingest-token", "--events",
                           "--retry-schedule", "--failure-threshold", "--delivery-timeout", "--max-in-flight",
                           "--buffer-retention", "--buffer-limit", "--buffer-max-age", "--max-event-age",
                           "--max-body", "--allow-private-targets", "--public-url", "--workers"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << "`serve --help` on stdout does not mention " << flag;
  }
  EXPECT_EQ(r.out.find("listening on"), std::string::npos) << "--help must not start the server";
}

TEST(Startup, AcceptsEveryDocumentedFlagAndAppliesTheEventList) {
  server_options options;
  options.extra_args = {"--events",           "alpha_done,beta_done",
                        "--retry-schedule",   "500ms,1s,2m,1h,1d",
                        "--failure-threshold", "3",
                        "--delivery-timeout", "2s",
                        "--max-in-flight",    "2",
                        "--buffer-retention", "5d",
                        "--buffer-limit",     "100",
                        "--buffer-max-age",   "30d",
                        "--max-event-age",    "3d",
                        "--max-body",         "100000",
                        "--allow-private-targets",
                        "--public-url",       "https://hookwerk.example.invalid",
                        "--workers",          "2"};
  server_process server(options);
  ASSERT_EQ(server.create_account("flags-user", "flags-pass").status, 201);
  const credentials who{"flags-user", "flags-pass"};

  EXPECT_TRUE(is_success(server.call_as(who, "GetWebHooks", {{"event", "alpha_done"}})));
  EXPECT_TRUE(is_error(server.call_as(who, "GetWebHooks", {{"event", "optin_finalized"}}), 3,
                       "invalid parameter: event"))
      << "--events replaces the default event list";
  webhook hook;
  EXPECT_TRUE(create_webhook(server, who, "flags", "beta_done", "https://192.0.2.10/hook", hook));
  EXPECT_EQ(server.terminate(), 0);
}

struct bad_flag_case {
  std::vector<std::string> args;
  std::string flag_name;  // must appear in the message on stderr
};

void PrintTo(const bad_flag_case& c, std::ostream* os) {
  for (const auto& a : c.args) *os << a << ' ';
}

class BadFlag : public ::testing::TestWithParam<bad_flag_case> {};

TEST_P(BadFlag, ExitsWithCode2AndNamesTheFlag) {
  const auto& c = GetParam();
  temp_dir data;
  std::vector<std::string> args{"serve", "--data-dir", data.str(), "--admin-token", "a-token", "--ingest-token",
                                "i-token"};
  if (std::find(c.args.begin(), c.args.end(), "--listen") == c.args.end()) {
    args.emplace_back("--listen");
    args.emplace_back("127.0.0.1:0");
  }
  args.insert(args.end(), c.args.begin(), c.args.end());

  const auto r = run_hookwerk(args, {}, 10s);
  ASSERT_FALSE(r.timed_out) << "still running after 10 s (stdout: " << r.out << ")";
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.term_signal, 0) << "killed by a signal instead of exiting";
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(c.flag_name), std::string::npos) << "stderr does not name " << c.flag_name << ": " << r.err;
  EXPECT_EQ(r.out.find("listening on"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    Startup, BadFlag,
    ::testing::Values(bad_flag_case{{"--no-such-flag"}, "no-such-flag"},
                      bad_flag_case{{"--retry-schedule", "10x"}, "retry-schedule"},
                      bad_flag_case{{"--listen", "nope"}, "listen"},
                      bad_flag_case{{"--listen", "127.0.0.1:99999"}, "listen"},
                      bad_flag_case{{"--delivery-timeout", "soon"}, "delivery-timeout"},
                      bad_flag_case{{"--buffer-retention", "5 days"}, "buffer-retention"},
                      bad_flag_case{{"--failure-threshold", "ten"}, "failure-threshold"},
                      bad_flag_case{{"--max-body", "lots"}, "max-body"},
                      bad_flag_case{{"--max-body"}, "max-body"}),
    [](const ::testing::TestParamInfo<bad_flag_case>& info) {
      std::string name;
      for (const auto& a : info.param.args)
        for (char ch : a)
          if (std::isalnum(static_cast<unsigned char>(ch))) name.push_back(ch);
      return name + "_" + std::to_string(info.index);
    });

TEST(Tokens, GeneratedOnFirstStartPrintedOnceAndKeptAcrossRestarts) {
  temp_dir data;
  server_options options;
  options.data_dir = data.str();
  options.admin_token.reset();
  options.ingest_token.reset();

  std::string admin, ingest;
  {
    server_process server(options);
    ASSERT_TRUE(eventually([&] {
      const auto log = server.stderr_text();
      return find_token(log, "admin token").has_value() && find_token(log, "ingest token").has_value();
    }, 10s)) << "no `admin token: …` / `ingest token: …` on stderr:\n" << server.stderr_text();
    const auto log = server.stderr_text();
    admin = *find_token(log, "admin token");
    ingest = *find_token(log, "ingest token");
    EXPECT_EQ(count_occurrences(log, "admin token: "), 1u);
    EXPECT_EQ(count_occurrences(log, "ingest token: "), 1u);
    EXPECT_NE(admin, ingest);

    EXPECT_EQ(probe_admin_token(server, admin), 404) << "the printed admin token must work";
    EXPECT_EQ(probe_admin_token(server, admin + "x"), 401);
    EXPECT_EQ(probe_admin_token(server, ingest), 401) << "the ingest token is not an admin token";
    EXPECT_EQ(server.terminate(), 0);
  }
  {
    server_process server(options);
    // The tokens are settled before the server listens; by now it has listened and answered.
    EXPECT_EQ(probe_admin_token(server, admin), 404) << "the stored admin token must still work";
    EXPECT_EQ(probe_admin_token(server, "wrong-" + admin), 401);
    EXPECT_EQ(probe_admin_token(server, ingest), 401);
    const auto log = server.stderr_text();
    EXPECT_EQ(log.find("admin token:"), std::string::npos) << "printed again on restart:\n" << log;
    EXPECT_EQ(log.find("ingest token:"), std::string::npos) << "printed again on restart:\n" << log;
    EXPECT_EQ(log.find(admin), std::string::npos) << "the admin token must not be logged again";
    EXPECT_EQ(server.terminate(), 0);
  }
}

TEST(Tokens, EnvironmentAdminTokenWorksLikeTheFlag) {
  server_options options;
  options.admin_token.reset();
  options.env = {{"HOOKWERK_ADMIN_TOKEN", "env-admin-token-7c21"}};
  server_process server(options);
  EXPECT_EQ(probe_admin_token(server, "env-admin-token-7c21"), 404);
  EXPECT_EQ(probe_admin_token(server, "env-admin-token-7c2"), 401);
  EXPECT_EQ(probe_admin_token(server, std::string(default_ingest_token)), 401);
  EXPECT_EQ(server.stderr_text().find("admin token:"), std::string::npos)
      << "no token is generated when the environment provides one";
}

TEST(Tokens, FlagTakesPrecedenceOverTheEnvironment) {
  server_options options;
  options.admin_token = "flag-admin-token-19af";
  options.env = {{"HOOKWERK_ADMIN_TOKEN", "env-admin-token-88d0"}};
  server_process server(options);
  EXPECT_EQ(probe_admin_token(server, "flag-admin-token-19af"), 404);
  EXPECT_EQ(probe_admin_token(server, "env-admin-token-88d0"), 401);
}

TEST(DataDirLock, SecondServerOnTheSameDataDirFailsAndTheFirstKeepsServing) {
  temp_dir data;
  server_options options;
  options.data_dir = data.str();
  server_process first(options);

  const auto second = run_hookwerk({"serve", "--listen", "127.0.0.1:0", "--data-dir", data.str(), "--admin-token",
                                    "other-admin", "--ingest-token", "other-ingest"},
                                   {}, 10s);
  ASSERT_FALSE(second.timed_out) << "the second server is still running after 10 s: " << second.out;
  EXPECT_EQ(second.term_signal, 0) << "killed by a signal instead of exiting";
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(lower(second.err).find("locked"), std::string::npos) << "stderr: " << second.err;
  EXPECT_EQ(second.out.find("listening on"), std::string::npos) << second.out;

  ASSERT_TRUE(first.running());
  EXPECT_EQ(first.get("/healthz").status, 200);
  EXPECT_EQ(first.create_account("after-lock", "pass-after-lock").status, 201)
      << "the first server still writes to its database";
  EXPECT_EQ(first.terminate(), 0);
}

}  // namespace
}  // namespace hookwerk::system_test
