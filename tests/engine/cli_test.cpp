#include "engine/cli.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hookwerk::engine {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using action = cli_result::action;

using environment = std::map<std::string, std::string>;

/// Runs `hookwerk <args…>` with the given environment.
cli_result run(const std::vector<std::string>& args, const environment& env = {}) {
  std::vector<const char*> argv{"hookwerk"};
  for (const auto& a : args)
    argv.push_back(a.c_str());
  argv.push_back(nullptr);
  getenv_function getenv = [&env](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end())
      return std::nullopt;
    return it->second;
  };
  return parse_command_line(static_cast<int>(argv.size() - 1), argv.data(), getenv);
}

/// Runs `hookwerk serve <args…>` and expects it to succeed.
serve_config serve(std::vector<std::string> args, const environment& env = {}) {
  args.insert(args.begin(), "serve");
  auto r = run(args, env);
  EXPECT_EQ(r.what, action::serve) << r.message;
  return r.config;
}

const std::vector<std::string> all_flags{
  "--listen",           "--data-dir",         "--admin-token",    "--ingest-token",
  "--events",           "--retry-schedule",   "--failure-threshold", "--delivery-timeout",
  "--max-in-flight",    "--buffer-retention", "--buffer-limit",   "--buffer-max-age",
  "--max-event-age",    "--passivate-after",  "--max-body",         "--allow-private-targets", "--public-url",
  "--ca-file",          "--workers",          "--failure-window",   "--request-timeout",
  "--max-connections",  "--max-outbound",     "--max-idle-per-origin", "--max-hooks-per-account",
  "--max-fanout-bytes", "--max-failed-logins",
};

void expect_spec_defaults(const serve_config& c) {
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.data_dir, "./hookwerk-data");
  EXPECT_FALSE(c.admin_token);
  EXPECT_FALSE(c.ingest_token);
  EXPECT_EQ(c.events, (std::vector<std::string>{"optin_finalized", "optout_finalized",
                                                "profilemanager_finalized"}));
  EXPECT_EQ(c.retry_schedule,
            (std::vector<milliseconds>{10s, 30s, 2min, 5min, 15min, 30min, 1h, 2h, 4h, 8h}));
  EXPECT_EQ(c.failure_threshold, 10u);
  EXPECT_EQ(c.failure_window, 5min);
  EXPECT_EQ(c.delivery_timeout, 10s);
  EXPECT_EQ(c.request_timeout, 30s);
  EXPECT_EQ(c.max_connections, 10'000u);
  EXPECT_EQ(c.max_outbound, 4'096u);
  EXPECT_EQ(c.max_idle_per_origin, 32u);
  EXPECT_EQ(c.max_hooks_per_account, 10'000u);
  EXPECT_EQ(c.max_fanout_bytes, 256ull * 1024 * 1024);
  EXPECT_EQ(c.max_failed_logins, 20u);
  EXPECT_EQ(c.max_in_flight, 8u);
  EXPECT_EQ(c.buffer_retention, std::chrono::days{5});
  EXPECT_EQ(c.buffer_limit, 100'000u);
  EXPECT_EQ(c.buffer_max_age, std::chrono::days{30});
  EXPECT_EQ(c.max_event_age, std::chrono::days{3});
  EXPECT_EQ(c.passivate_after, std::chrono::minutes{1});
  EXPECT_EQ(c.max_body, 262'144u);
  EXPECT_FALSE(c.allow_private_targets);
  EXPECT_FALSE(c.public_url);
  unsigned cores = std::thread::hardware_concurrency();
  EXPECT_EQ(c.workers, cores == 0 ? 1u : std::min(cores, 256u));
  EXPECT_GE(c.workers, 1u);
}

TEST(serve_config, defaults_match_the_spec) { expect_spec_defaults(serve_config{}); }

TEST(parse_command_line, serve_without_flags_gives_the_defaults) {
  auto r = run({"serve"});
  ASSERT_EQ(r.what, action::serve) << r.message;
  expect_spec_defaults(r.config);
}

// ---- every flag, in both forms -------------------------------------------------------------

struct flag_case {
  std::string flag;
  std::string value;
  std::function<void(const serve_config&)> check;
};

const std::vector<flag_case> flag_cases{
  {"--listen", "0.0.0.0:9000",
   [](const serve_config& c) {
     EXPECT_EQ(c.listen_host, "0.0.0.0");
     EXPECT_EQ(c.listen_port, 9000);
   }},
  {"--data-dir", "/var/lib/hookwerk", [](const serve_config& c) {
     EXPECT_EQ(c.data_dir, "/var/lib/hookwerk");
   }},
  {"--admin-token", "adm1n-T0ken_!", [](const serve_config& c) {
     EXPECT_EQ(c.admin_token, "adm1n-T0ken_!");
   }},
  {"--ingest-token", "ingest=secret", [](const serve_config& c) {
     EXPECT_EQ(c.ingest_token, "ingest=secret");
   }},
  {"--events", "a,b.c,d-e_f", [](const serve_config& c) {
     EXPECT_EQ(c.events, (std::vector<std::string>{"a", "b.c", "d-e_f"}));
   }},
  {"--retry-schedule", "100ms,1s,5m,2h,1d", [](const serve_config& c) {
     EXPECT_EQ(c.retry_schedule,
               (std::vector<milliseconds>{100ms, 1s, 5min, 2h, std::chrono::days{1}}));
   }},
  {"--failure-threshold", "3", [](const serve_config& c) { EXPECT_EQ(c.failure_threshold, 3u); }},
  {"--failure-window", "0s", [](const serve_config& c) { EXPECT_EQ(c.failure_window, 0ms); }},
  {"--request-timeout", "1500ms", [](const serve_config& c) {
     EXPECT_EQ(c.request_timeout, 1500ms);
   }},
  {"--max-connections", "64", [](const serve_config& c) { EXPECT_EQ(c.max_connections, 64u); }},
  {"--max-outbound", "100", [](const serve_config& c) { EXPECT_EQ(c.max_outbound, 100u); }},
  {"--max-idle-per-origin", "0", [](const serve_config& c) {
     EXPECT_EQ(c.max_idle_per_origin, 0u);
   }},
  {"--max-hooks-per-account", "2000000", [](const serve_config& c) {
     EXPECT_EQ(c.max_hooks_per_account, 2'000'000u);
   }},
  {"--max-fanout-bytes", "1048576", [](const serve_config& c) {
     EXPECT_EQ(c.max_fanout_bytes, 1'048'576u);
   }},
  {"--max-failed-logins", "0", [](const serve_config& c) { EXPECT_EQ(c.max_failed_logins, 0u); }},
  {"--delivery-timeout", "2500ms", [](const serve_config& c) {
     EXPECT_EQ(c.delivery_timeout, 2500ms);
   }},
  {"--max-in-flight", "1000", [](const serve_config& c) { EXPECT_EQ(c.max_in_flight, 1000u); }},
  {"--buffer-retention", "0s", [](const serve_config& c) { EXPECT_EQ(c.buffer_retention, 0ms); }},
  {"--buffer-limit", "0", [](const serve_config& c) { EXPECT_EQ(c.buffer_limit, 0u); }},
  {"--buffer-max-age", "1s", [](const serve_config& c) { EXPECT_EQ(c.buffer_max_age, 1s); }},
  {"--max-event-age", "12h", [](const serve_config& c) { EXPECT_EQ(c.max_event_age, 12h); }},
  {"--passivate-after", "250ms", [](const serve_config& c) { EXPECT_EQ(c.passivate_after, 250ms); }},
  {"--max-body", "1048576", [](const serve_config& c) { EXPECT_EQ(c.max_body, 1'048'576u); }},
  {"--public-url", "https://hooks.example.com/base/", [](const serve_config& c) {
     EXPECT_EQ(c.public_url, "https://hooks.example.com/base");
   }},
  {"--ca-file", "/etc/ssl/certs/ca.pem", [](const serve_config& c) {
     EXPECT_EQ(c.ca_file, "/etc/ssl/certs/ca.pem");
   }},
  {"--workers", "3", [](const serve_config& c) { EXPECT_EQ(c.workers, 3u); }},
};

TEST(parse_command_line, every_valued_flag_in_both_forms) {
  std::vector<std::string> covered;
  for (const auto& fc : flag_cases) {
    SCOPED_TRACE(fc.flag);
    fc.check(serve({fc.flag, fc.value}));
    fc.check(serve({fc.flag + "=" + fc.value}));
    covered.push_back(fc.flag);
  }
  covered.push_back("--allow-private-targets"); // a switch, tested below
  std::sort(covered.begin(), covered.end());
  auto expected = all_flags;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(covered, expected);
}

TEST(parse_command_line, allow_private_targets_is_a_switch) {
  EXPECT_TRUE(serve({"--allow-private-targets"}).allow_private_targets);
  EXPECT_TRUE(serve({"--allow-private-targets=true"}).allow_private_targets);
  EXPECT_FALSE(serve({"--allow-private-targets=false"}).allow_private_targets);
  EXPECT_FALSE(
    serve({"--allow-private-targets", "--allow-private-targets=false"}).allow_private_targets);
  // The switch takes no separate value: the next argument is a flag of its own.
  auto c = serve({"--allow-private-targets", "--workers", "2"});
  EXPECT_TRUE(c.allow_private_targets);
  EXPECT_EQ(c.workers, 2u);
}

TEST(parse_command_line, all_flags_together) {
  auto c = serve({"--listen", "[::1]:0", "--data-dir=/tmp/x", "--events", "e1",
                  "--allow-private-targets", "--workers=1", "--max-body", "1024"});
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 0);
  EXPECT_EQ(c.data_dir, "/tmp/x");
  EXPECT_EQ(c.events, std::vector<std::string>{"e1"});
  EXPECT_TRUE(c.allow_private_targets);
  EXPECT_EQ(c.workers, 1u);
  EXPECT_EQ(c.max_body, 1024u);
  EXPECT_EQ(c.delivery_timeout, 10s); // untouched flags keep their defaults
}

TEST(parse_command_line, the_last_of_a_repeated_flag_wins) {
  auto c = serve({"--workers", "2", "--workers=5", "--listen", "a:1", "--listen=b:2"});
  EXPECT_EQ(c.workers, 5u);
  EXPECT_EQ(c.listen_host, "b");
  EXPECT_EQ(c.listen_port, 2);
}

TEST(parse_command_line, value_may_contain_equals_and_start_with_dash_in_equals_form) {
  EXPECT_EQ(serve({"--admin-token=a=b"}).admin_token, "a=b");
  EXPECT_EQ(serve({"--admin-token=--x"}).admin_token, "--x");
}

TEST(parse_command_line, listen_forms) {
  struct {
    const char* value;
    const char* host;
    std::uint16_t port;
  } cases[] = {
    {"127.0.0.1:8080", "127.0.0.1", 8080}, {"localhost:0", "localhost", 0},
    {"my-host.example.com:65535", "my-host.example.com", 65535}, {"[::]:80", "::", 80},
    {"[2001:db8::1]:443", "2001:db8::1", 443}, {"0.0.0.0:00080", "0.0.0.0", 80},
  };
  for (const auto& tc : cases) {
    auto c = serve({"--listen", tc.value});
    EXPECT_EQ(c.listen_host, tc.host) << tc.value;
    EXPECT_EQ(c.listen_port, tc.port) << tc.value;
  }
}

TEST(parse_command_line, public_url_forms) {
  EXPECT_EQ(serve({"--public-url", "http://h:1"}).public_url, "http://h:1");
  EXPECT_EQ(serve({"--public-url", "https://h/"}).public_url, "https://h");
  EXPECT_EQ(serve({"--public-url", "HTTPS://H/a/"}).public_url, "HTTPS://H/a");
  // Only one trailing slash is removed.
  EXPECT_EQ(serve({"--public-url", "https://h/a//"}).public_url, "https://h/a/");
}

// ---- errors --------------------------------------------------------------------------------

struct error_case {
  std::vector<std::string> args; // after "serve"
  std::vector<std::string> wanted; // substrings of the message
};

void expect_error(const error_case& ec) {
  std::vector<std::string> args{"serve"};
  args.insert(args.end(), ec.args.begin(), ec.args.end());
  auto r = run(args);
  std::string joined;
  for (const auto& a : ec.args)
    joined += a + " ";
  EXPECT_EQ(r.what, action::error) << joined;
  for (const auto& w : ec.wanted)
    EXPECT_NE(r.message.find(w), std::string::npos)
      << "args: " << joined << "\nmessage: " << r.message << "\nwanted: " << w;
}

TEST(parse_command_line, rejects_bad_values_naming_flag_and_value) {
  const std::vector<error_case> cases{
    // --listen
    {{"--listen", "8080"}, {"--listen:", "\"8080\"", "HOST:PORT"}},
    {{"--listen", ":8080"}, {"--listen:", "\":8080\"", "no host"}},
    {{"--listen", "host:"}, {"--listen:", "\"host:\"", "0..65535"}},
    {{"--listen", "host:65536"}, {"--listen:", "\"65536\"", "0..65535"}},
    {{"--listen", "host:-1"}, {"--listen:", "\"-1\""}},
    {{"--listen", "host:80x"}, {"--listen:", "\"80x\""}},
    {{"--listen", "host:123456"}, {"--listen:", "\"123456\""}},
    {{"--listen", "::1:8080"}, {"--listen:", "\"::1:8080\"", "brackets"}},
    {{"--listen", "[::1]8080"}, {"--listen:", "\"[::1]8080\""}},
    {{"--listen", "[::1]"}, {"--listen:", "\"[::1]\""}},
    {{"--listen", "[::1:8080"}, {"--listen:", "\"[::1:8080\""}},
    {{"--listen", "[nothex]:80"}, {"--listen:", "\"nothex\"", "IPv6"}},
    {{"--listen", "256.1.1.1:80"}, {"--listen:", "\"256.1.1.1\""}},
    {{"--listen", "1.2.3:80"}, {"--listen:", "\"1.2.3\""}},
    {{"--listen", "bad_host:80"}, {"--listen:", "\"bad_host\""}},
    {{"--listen", "-host:80"}, {"--listen:", "\"-host\""}},
    {{"--listen", "a..b:80"}, {"--listen:", "\"a..b\""}},
    {{"--listen", "host :80"}, {"--listen:", "\"host \""}},
    {{"--listen="}, {"--listen:", "\"\""}},
    // --data-dir
    {{"--data-dir="}, {"--data-dir:", "empty"}},
    // --events
    {{"--events="}, {"--events:", "empty"}},
    {{"--events", "a,,b"}, {"--events:", "\"a,,b\"", "empty element"}},
    {{"--events", "a,"}, {"--events:", "\"a,\"", "empty element"}},
    {{"--events", "a b"}, {"--events:", "\"a b\"", "event name"}},
    {{"--events", "a,b/c"}, {"--events:", "\"b/c\""}},
    {{"--events", "x,y,x"}, {"--events:", "\"x\"", "twice"}},
    // --retry-schedule
    {{"--retry-schedule", "10x"},
     {"--retry-schedule: \"10x\" is not a duration (use e.g. 500ms, 10s, 2m, 1h, 5d)"}},
    {{"--retry-schedule", "10s,0s"}, {"--retry-schedule:", "\"0s\"", "greater than 0"}},
    {{"--retry-schedule", "10s,,1m"}, {"--retry-schedule:", "\"10s,,1m\"", "empty element"}},
    {{"--retry-schedule="}, {"--retry-schedule:", "empty"}},
    {{"--retry-schedule", "10"}, {"--retry-schedule:", "\"10\"", "not a duration"}},
    {{"--retry-schedule", "1.5s"}, {"--retry-schedule:", "\"1.5s\""}},
    {{"--retry-schedule", "36501d"}, {"--retry-schedule:", "\"36501d\"", "maximum"}},
    // --failure-threshold
    {{"--failure-threshold", "0"}, {"--failure-threshold:", "\"0\"", "between 1 and"}},
    {{"--failure-threshold", "-1"}, {"--failure-threshold:", "\"-1\"", "whole number"}},
    {{"--failure-threshold", "ten"}, {"--failure-threshold:", "\"ten\""}},
    {{"--failure-threshold", "1000001"}, {"--failure-threshold:", "\"1000001\""}},
    {{"--failure-threshold", "99999999999999999999999"}, {"--failure-threshold:", "between"}},
    // --delivery-timeout
    {{"--delivery-timeout", "0s"}, {"--delivery-timeout:", "\"0s\"", "greater than 0"}},
    {{"--delivery-timeout", "0ms"}, {"--delivery-timeout:", "\"0ms\""}},
    {{"--delivery-timeout", "10"}, {"--delivery-timeout:", "\"10\"", "not a duration"}},
    {{"--delivery-timeout", "-5s"}, {"--delivery-timeout:", "\"-5s\""}},
    {{"--delivery-timeout", "5 s"}, {"--delivery-timeout:", "\"5 s\""}},
    {{"--delivery-timeout", "5w"}, {"--delivery-timeout:", "\"5w\""}},
    // --max-in-flight
    {{"--max-in-flight", "0"}, {"--max-in-flight:", "\"0\"", "between 1 and 1000"}},
    {{"--max-in-flight", "1001"}, {"--max-in-flight:", "\"1001\"", "between 1 and 1000"}},
    {{"--max-in-flight", "+5"}, {"--max-in-flight:", "\"+5\""}},
    {{"--max-in-flight", " 5"}, {"--max-in-flight:", "\" 5\""}},
    // --buffer-retention
    {{"--buffer-retention", "-1s"}, {"--buffer-retention:", "\"-1s\""}},
    {{"--buffer-retention", "5"}, {"--buffer-retention:", "\"5\""}},
    // --buffer-limit
    {{"--buffer-limit", "-1"}, {"--buffer-limit:", "\"-1\""}},
    {{"--buffer-limit", "1e5"}, {"--buffer-limit:", "\"1e5\""}},
    {{"--buffer-limit", "1000000001"}, {"--buffer-limit:", "\"1000000001\""}},
    // --buffer-max-age, --max-event-age
    {{"--buffer-max-age", "999ms"}, {"--buffer-max-age:", "\"999ms\"", "at least 1s"}},
    {{"--buffer-max-age", "0s"}, {"--buffer-max-age:", "\"0s\""}},
    {{"--max-event-age", "500ms"}, {"--max-event-age:", "\"500ms\"", "at least 1s"}},
    {{"--max-event-age", "3days"}, {"--max-event-age:", "\"3days\""}},
    // --failure-window, --request-timeout
    {{"--failure-window", "-1s"}, {"--failure-window:", "\"-1s\""}},
    {{"--failure-window", "5"}, {"--failure-window:", "\"5\""}},
    {{"--request-timeout", "0s"}, {"--request-timeout:", "\"0s\""}},
    // the connection and size bounds
    {{"--max-connections", "0"}, {"--max-connections:", "between 1 and"}},
    {{"--max-connections", "1000001"}, {"--max-connections:", "\"1000001\""}},
    {{"--max-outbound", "0"}, {"--max-outbound:", "between 1 and"}},
    {{"--max-idle-per-origin", "-1"}, {"--max-idle-per-origin:", "whole number"}},
    {{"--max-hooks-per-account", "0"}, {"--max-hooks-per-account:", "between 1 and"}},
    {{"--max-fanout-bytes", "1023"}, {"--max-fanout-bytes:", "between 1024 and"}},
    {{"--max-failed-logins", "many"}, {"--max-failed-logins:", "\"many\""}},
    // --passivate-after
    {{"--passivate-after", "-1s"}, {"--passivate-after:", "\"-1s\""}},
    {{"--passivate-after", "60"}, {"--passivate-after:", "\"60\""}},
    // --max-body
    {{"--max-body", "1023"}, {"--max-body:", "\"1023\"", "between 1024 and 67108864"}},
    {{"--max-body", "67108865"}, {"--max-body:", "\"67108865\""}},
    {{"--max-body", "256k"}, {"--max-body:", "\"256k\""}},
    // --allow-private-targets
    {{"--allow-private-targets=yes"}, {"--allow-private-targets:", "\"yes\""}},
    {{"--allow-private-targets="}, {"--allow-private-targets:", "\"\""}},
    {{"--allow-private-targets", "true"}, {"unexpected argument", "\"true\""}},
    // --public-url
    {{"--public-url", "ftp://x"}, {"--public-url:", "\"ftp://x\"", "http:// or https://"}},
    {{"--public-url", "example.com"}, {"--public-url:", "\"example.com\""}},
    {{"--public-url", "http://"}, {"--public-url:", "\"http://\"", "no host"}},
    {{"--public-url", "https:///path"}, {"--public-url:", "\"https:///path\"", "no host"}},
    {{"--public-url", "http://a b"}, {"--public-url:", "\"http://a b\""}},
    {{"--public-url", "http://h/?x=1"}, {"--public-url:", "\"http://h/?x=1\"", "query"}},
    {{"--public-url", "http://h/#f"}, {"--public-url:", "\"http://h/#f\""}},
    // --workers
    {{"--workers", "0"}, {"--workers:", "\"0\"", "between 1 and 256"}},
    {{"--workers", "257"}, {"--workers:", "\"257\"", "between 1 and 256"}},
    {{"--workers", "2.5"}, {"--workers:", "\"2.5\""}},
    // tokens: the value is a secret and is not echoed
    {{"--admin-token="}, {"--admin-token:", "empty"}},
    {{"--admin-token", "has space"}, {"--admin-token:", "space"}},
    {{"--ingest-token="}, {"--ingest-token:", "empty"}},
    {{"--ingest-token", "tab\there"}, {"--ingest-token:", "control"}},
    {{"--ingest-token", "caf\xc3\xa9"}, {"--ingest-token:", "non-ASCII"}},
  };
  for (const auto& ec : cases)
    expect_error(ec);
}

TEST(parse_command_line, passivate_after_zero_keeps_hook_actors) {
  EXPECT_EQ(serve({"--passivate-after", "0s"}).passivate_after, 0ms);
}

TEST(parse_command_line, self_check_interval_is_parsed_but_hidden_from_the_help) {
  EXPECT_EQ(serve_config{}.self_check_interval, 1min);
  EXPECT_EQ(serve({"--self-check-interval", "200ms"}).self_check_interval, 200ms);
  EXPECT_EQ(serve({"--self-check-interval=0s"}).self_check_interval, 0ms);
  auto r = run({"serve", "--self-check-interval", "soon"});
  EXPECT_NE(r.message.find("--self-check-interval:"), std::string::npos) << r.message;
  EXPECT_EQ(help_text().find("--self-check-interval"), std::string::npos);
}

TEST(parse_command_line, idle_timeout_is_parsed_but_hidden_from_the_help) {
  EXPECT_EQ(serve_config{}.idle_timeout, 30s);
  EXPECT_EQ(serve({"--idle-timeout", "1500ms"}).idle_timeout, 1500ms);
  EXPECT_EQ(serve({"--idle-timeout=2s"}).idle_timeout, 2s);
  auto r = run({"serve", "--idle-timeout", "0s"});
  ASSERT_EQ(r.what, action::error);
  EXPECT_NE(r.message.find("--idle-timeout:"), std::string::npos) << r.message;
  EXPECT_EQ(help_text().find("--idle-timeout"), std::string::npos);
}

TEST(parse_command_line, token_errors_do_not_echo_the_token) {
  auto r = run({"serve", "--admin-token", "s3cret value"});
  ASSERT_EQ(r.what, action::error);
  EXPECT_EQ(r.message.find("s3cret"), std::string::npos) << r.message;
}

TEST(parse_command_line, missing_value) {
  for (const auto& flag : all_flags) {
    if (flag == "--allow-private-targets")
      continue;
    SCOPED_TRACE(flag);
    auto at_end = run({"serve", flag});
    EXPECT_EQ(at_end.what, action::error);
    EXPECT_NE(at_end.message.find(flag + ": missing value"), std::string::npos)
      << at_end.message;
    auto before_flag = run({"serve", flag, "--allow-private-targets"});
    EXPECT_EQ(before_flag.what, action::error);
    EXPECT_NE(before_flag.message.find(flag + ": missing value"), std::string::npos)
      << before_flag.message;
  }
}

TEST(parse_command_line, unknown_flags_and_stray_arguments) {
  auto r = run({"serve", "--foo"});
  EXPECT_EQ(r.what, action::error);
  EXPECT_EQ(r.message, "unknown flag: --foo (see hookwerk serve --help)");

  r = run({"serve", "--foo=bar"});
  EXPECT_EQ(r.what, action::error);
  EXPECT_EQ(r.message, "unknown flag: --foo (see hookwerk serve --help)");

  r = run({"serve", "-x"});
  EXPECT_EQ(r.what, action::error);
  EXPECT_NE(r.message.find("unknown flag: -x"), std::string::npos) << r.message;

  r = run({"serve", "--LISTEN", "a:1"}); // names are case-sensitive
  EXPECT_EQ(r.what, action::error);
  EXPECT_NE(r.message.find("unknown flag: --LISTEN"), std::string::npos) << r.message;

  r = run({"serve", "extra"});
  EXPECT_EQ(r.what, action::error);
  EXPECT_NE(r.message.find("unexpected argument: \"extra\""), std::string::npos) << r.message;

  r = run({"serve", "--"});
  EXPECT_EQ(r.what, action::error);

  // An error after a valid flag is still an error.
  r = run({"serve", "--workers", "2", "--bogus"});
  EXPECT_EQ(r.what, action::error);
}

TEST(parse_command_line, commands) {
  auto r = run({});
  EXPECT_EQ(r.what, action::error);
  EXPECT_NE(r.message.find("missing command"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("hookwerk serve [flags]"), std::string::npos) << r.message;

  r = run({"launch"});
  EXPECT_EQ(r.what, action::error);
  EXPECT_NE(r.message.find("unknown command: \"launch\""), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("hookwerk serve [flags]"), std::string::npos) << r.message;

  r = run({"--listen", "a:1"});
  EXPECT_EQ(r.what, action::error);
  EXPECT_NE(r.message.find("missing command"), std::string::npos) << r.message;

  for (std::vector<std::string> help : std::vector<std::vector<std::string>>{
         {"--help"}, {"-h"}, {"help"}, {"serve", "--help"}, {"serve", "-h"},
         {"serve", "--workers", "2", "--help"}}) {
    r = run(help);
    EXPECT_EQ(r.what, action::help) << help.back();
    EXPECT_EQ(r.message, help_text());
  }

  r = run({"--version"});
  EXPECT_EQ(r.what, action::version);
  EXPECT_EQ(r.message, version_text());
}

TEST(parse_command_line, a_null_getenv_means_no_environment) {
  const char* argv[] = {"hookwerk", "serve", nullptr};
  auto r = parse_command_line(2, argv, getenv_function{});
  ASSERT_EQ(r.what, action::serve) << r.message;
  EXPECT_FALSE(r.config.admin_token);
}

// ---- environment ---------------------------------------------------------------------------

TEST(parse_command_line, tokens_from_the_environment) {
  environment env{{"HOOKWERK_ADMIN_TOKEN", "env-admin"}, {"HOOKWERK_INGEST_TOKEN", "env-ingest"}};
  auto c = serve({}, env);
  EXPECT_EQ(c.admin_token, "env-admin");
  EXPECT_EQ(c.ingest_token, "env-ingest");
}

TEST(parse_command_line, the_flag_wins_over_the_environment) {
  environment env{{"HOOKWERK_ADMIN_TOKEN", "env-admin"}, {"HOOKWERK_INGEST_TOKEN", "env-ingest"}};
  auto c = serve({"--admin-token", "flag-admin"}, env);
  EXPECT_EQ(c.admin_token, "flag-admin");
  EXPECT_EQ(c.ingest_token, "env-ingest");
  c = serve({"--ingest-token=flag-ingest"}, env);
  EXPECT_EQ(c.admin_token, "env-admin");
  EXPECT_EQ(c.ingest_token, "flag-ingest");
}

TEST(parse_command_line, an_empty_environment_variable_counts_as_absent) {
  environment env{{"HOOKWERK_ADMIN_TOKEN", ""}, {"HOOKWERK_INGEST_TOKEN", ""}};
  auto c = serve({}, env);
  EXPECT_FALSE(c.admin_token);
  EXPECT_FALSE(c.ingest_token);
}

TEST(parse_command_line, dns_servers_come_from_the_environment_only) {
  EXPECT_EQ(serve({}, {}).dns_servers, "");
  EXPECT_EQ(serve({}, {{"HOOKWERK_DNS_SERVERS", "127.0.0.1:5353,[::1]:53"}}).dns_servers,
            "127.0.0.1:5353,[::1]:53");
  EXPECT_EQ(run({"serve", "--dns-servers", "127.0.0.1"}, {}).what, action::error);
}

TEST(parse_command_line, a_bad_environment_token_is_an_error_naming_the_variable) {
  auto r = run({"serve"}, {{"HOOKWERK_ADMIN_TOKEN", "two words"}});
  EXPECT_EQ(r.what, action::error);
  EXPECT_NE(r.message.find("HOOKWERK_ADMIN_TOKEN:"), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("two words"), std::string::npos) << r.message;

  r = run({"serve"}, {{"HOOKWERK_INGEST_TOKEN", "line\nbreak"}});
  EXPECT_EQ(r.what, action::error);
  EXPECT_NE(r.message.find("HOOKWERK_INGEST_TOKEN:"), std::string::npos) << r.message;

  // A flag makes the variable irrelevant, even a bad one.
  EXPECT_EQ(serve({"--admin-token", "ok"}, {{"HOOKWERK_ADMIN_TOKEN", "two words"}}).admin_token,
            "ok");
}

// ---- help and version ----------------------------------------------------------------------

TEST(help_text, lists_every_flag_with_its_default) {
  std::string help = help_text();
  for (const auto& flag : all_flags)
    EXPECT_NE(help.find("  " + flag), std::string::npos) << flag;
  for (const char* value :
       {"127.0.0.1:8080", "./hookwerk-data", "HOOKWERK_ADMIN_TOKEN", "HOOKWERK_INGEST_TOKEN",
        "optin_finalized,optout_finalized,profilemanager_finalized",
        "10s,30s,2m,5m,15m,30m,1h,2h,4h,8h", "default: 10\n", "default: 10s\n", "default: 8\n",
        "default: 5d\n", "default: 100000\n", "default: 30d\n", "default: 3d\n",
        "default: 262144\n", "default: off\n", "number of cores", "hookwerk serve [flags]"})
    EXPECT_NE(help.find(value), std::string::npos) << value;
  EXPECT_NE(help.back(), '\n');
}

TEST(help_text, meanings_are_aligned) {
  std::string help = help_text();
  std::size_t column = std::string::npos;
  std::size_t pos = 0;
  int rows = 0;
  while ((pos = help.find("\n  --", pos)) != std::string::npos) {
    std::size_t line_end = help.find('\n', pos + 1);
    std::string line = help.substr(pos + 1, line_end - pos - 1);
    std::size_t gap = line.find("  ", 2);
    ASSERT_NE(gap, std::string::npos) << line;
    std::size_t meaning = line.find_first_not_of(' ', gap);
    if (column == std::string::npos)
      column = meaning;
    EXPECT_EQ(meaning, column) << line;
    // The default sits on the next line, starting in the same column.
    std::string next = help.substr(line_end + 1, help.find('\n', line_end + 1) - line_end - 1);
    EXPECT_EQ(next.find("default: "), column) << next;
    ++rows;
    pos = line_end;
  }
  EXPECT_EQ(rows, static_cast<int>(all_flags.size()));
}

TEST(version_text, names_the_program_and_version) {
  std::string v = version_text();
  EXPECT_EQ(v.rfind("hookwerk ", 0), 0u);
  EXPECT_GT(v.size(), std::string{"hookwerk "}.size());
  EXPECT_EQ(v, std::string{"hookwerk "} + HOOKWERK_VERSION);
}

} // namespace
} // namespace hookwerk::engine
