// Black-box harness for the system tests: starts the real `hookwerk` binary as a child
// process and talks to it over plain HTTP/1.1 on loopback.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>

#include <sys/types.h>

#include <csignal>

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace hookwerk::system_test {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Temporary directories

// A fresh directory from mkdtemp, removed recursively on destruction.
class temp_dir {
public:
  explicit temp_dir(std::string_view prefix = "hookwerk-systest-");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& file);

// ---------------------------------------------------------------------------------------------
// HTTP client (one request per connection)

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_response {
  int status = 0;
  std::string reason;
  header_list headers;
  std::string body;

  // Case-insensitive lookup of the first header with this name.
  std::optional<std::string> header(std::string_view name) const;
};

inline constexpr std::chrono::milliseconds default_request_timeout = 30s;

// Sends one HTTP/1.1 request with `Connection: close` to 127.0.0.1:port and reads the whole
// response (Content-Length, chunked, or until close). Adds Host, Connection and Content-Length
// (for a non-empty body or a POST/PUT/PATCH) unless given in `headers`.
// Throws std::runtime_error on connection failure, timeout or an unparseable response.
http_response http_request(std::uint16_t port, std::string_view method, std::string_view target,
                           const header_list& headers = {}, std::string_view body = {},
                           std::chrono::milliseconds timeout = default_request_timeout);

// The same from the local IPv4 address `source` (any 127.0.0.0/8 address works on Linux), so a
// test can be a second client address; empty: the system's choice.
http_response http_request_from(std::string_view source, std::uint16_t port, std::string_view method,
                                std::string_view target, const header_list& headers = {},
                                std::string_view body = {},
                                std::chrono::milliseconds timeout = default_request_timeout);

// A connected loopback TCP socket, closed on destruction.
class tcp_connection {
public:
  explicit tcp_connection(std::uint16_t port);
  ~tcp_connection();
  tcp_connection(const tcp_connection&) = delete;
  tcp_connection& operator=(const tcp_connection&) = delete;
  int fd() const { return fd_; }

private:
  int fd_ = -1;
};

// ---------------------------------------------------------------------------------------------
// Encoding helpers

std::string percent_encode(std::string_view text);  // form style: space -> '+'
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);
std::string json_quote(std::string_view text);  // a JSON string literal, quotes included
bool iequals(std::string_view a, std::string_view b);  // ASCII case-insensitive equality
std::string trim(std::string_view s);  // without leading blanks and trailing blanks and CR

// A management-API parameter value: a string (in JSON: a JSON string), or raw JSON text that is
// put verbatim into a JSON body (a number, true, null …) and as its text into a form body.
struct param_value {
  std::string text;
  bool raw_json = false;

  param_value(std::string s) : text(std::move(s)) {}
  param_value(const char* s) : text(s) {}
  static param_value raw(std::string json) {
    param_value v{std::move(json)};
    v.raw_json = true;
    return v;
  }
};
using param_list = std::vector<std::pair<std::string, param_value>>;

enum class encoding { form, json };
const char* to_string(encoding e);

std::string encode_params(const param_list& params, encoding enc);

// ---------------------------------------------------------------------------------------------
// JSON helpers (simdjson DOM)

// Minified JSON text of an element.
std::string minified(simdjson::dom::element element);

// The management API envelope {"error": int, "message": string, "result": any}.
struct envelope {
  int http_status = 0;
  std::string body;     // raw response body
  std::string problem;  // empty if the body is a well-formed envelope with exactly those keys
  std::int64_t error = -1;
  std::string message;
  std::string result = "null";  // minified JSON of `result`

  bool well_formed() const { return problem.empty(); }
  bool result_is_null() const { return result == "null"; }
};
envelope parse_envelope(int http_status, std::string body);

// HTTP 200, a well-formed envelope with this error and message, and result null (for error != 0).
::testing::AssertionResult is_error(const envelope& e, std::int64_t error, std::string_view message,
                                    int http_status = 200);
// HTTP 200, error 0, message "successfully executed".
::testing::AssertionResult is_success(const envelope& e);

// Admin API error: this HTTP status and a body of exactly {"error":"<non-empty text>"}.
::testing::AssertionResult is_error_body(const http_response& r, int status);

// `actual` is a JSON object with exactly the members of `expected` (any order, values compared
// as minified JSON).
::testing::AssertionResult same_json_object(std::string_view actual, std::string_view expected);

// A webhook object as returned by CreateWebHook / GetWebHooks.
struct webhook {
  std::int64_t id = 0;
  std::string app, event, url;
  bool active = false;
  std::string created_at;
  std::optional<std::string> deactivated_at;
  std::int64_t consecutive_failures = -1;
  std::optional<std::string> last_error;
  std::int64_t buffered_events = -1;
  std::int64_t pending_events = -1;
  std::string secret;

  bool operator==(const webhook&) const = default;
};
std::ostream& operator<<(std::ostream& os, const webhook& w);

// Checks that the element has exactly the fields of the webhook object with the right types.
::testing::AssertionResult parse_webhook(simdjson::dom::element element, webhook& out);
::testing::AssertionResult parse_webhook(std::string_view json, webhook& out);
::testing::AssertionResult parse_webhook_list(std::string_view json, std::vector<webhook>& out);

// A freshly created hook: active, no failures, nothing buffered or pending, well-formed
// created_at and secret.
::testing::AssertionResult is_fresh_webhook(const webhook& w);

// Parses "YYYY-MM-DDTHH:MM:SSZ" into seconds since the epoch.
std::optional<std::int64_t> parse_rfc3339_utc(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Processes

// The environment of this process without any HOOKWERK_* variable, plus `extra`.
std::vector<std::string> child_environment(const std::vector<std::pair<std::string, std::string>>& extra);

struct process_result {
  bool exited = false;     // exited or was killed by a signal before the deadline
  bool timed_out = false;  // still running at the deadline (then killed with SIGKILL)
  int exit_code = -1;      // valid if it exited normally
  int term_signal = 0;     // valid if killed by a signal
  std::string out, err;
  clock_type::duration elapsed{};
};

// Runs HOOKWERK_BINARY with `args` (without the program name) and the environment from
// child_environment(env), waits for it to end (SIGKILL at the deadline).
process_result run_hookwerk(const std::vector<std::string>& args,
                            const std::vector<std::pair<std::string, std::string>>& env = {},
                            std::chrono::milliseconds timeout = 30s);

inline constexpr std::string_view default_admin_token = "systest-admin-4f1c2a";
inline constexpr std::string_view default_ingest_token = "systest-ingest-9d7e3b";
// `--self-check-interval` of the outage and delivery tests: frequent, so every test's end can
// assert that no check ever found a stuck delivery (outage::expect_nothing_was_stuck).
inline constexpr std::string_view self_check_interval = "100ms";

struct server_options {
  // Empty: the server gets a fresh temporary data dir of its own, removed afterwards.
  std::string data_dir;
  std::optional<std::string> admin_token = std::string(default_admin_token);
  std::optional<std::string> ingest_token = std::string(default_ingest_token);
  std::vector<std::string> extra_args;
  std::vector<std::pair<std::string, std::string>> env;
  std::chrono::milliseconds startup_timeout = 30s;
  // If > 0: the server's soft and hard limit on open descriptors (RLIMIT_NOFILE), so it
  // cannot raise it.
  std::uint64_t descriptor_limit = 0;
};

struct credentials {
  std::string username;
  std::string password;
};

// `hookwerk serve --listen 127.0.0.1:0 --data-dir D [--admin-token T] [--ingest-token T] …`
// The constructor waits for the `listening on http://127.0.0.1:PORT` line and throws
// std::runtime_error (with the server's stderr) if it does not come in time.
class server_process {
public:
  explicit server_process(server_options options = {});
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& listening_line() const { return listening_line_; }
  std::string admin_token() const { return options_.admin_token.value_or(""); }

  // Everything the server wrote to stderr so far.
  std::string stderr_text() const;
  // Everything read from stdout so far (after exit: everything it wrote).
  std::string stdout_text();

  bool running();
  // Sends `signal` and waits for the exit; returns the exit code, or -1 if it did not exit
  // normally in time (it is then killed). The wait time is recorded in last_exit_wait().
  int terminate(std::chrono::milliseconds timeout = 15s, int signal = SIGTERM);
  void kill9();
  clock_type::duration last_exit_wait() const { return last_exit_wait_; }

  // HTTP
  http_response request(std::string_view method, std::string_view path, const header_list& headers = {},
                        std::string_view body = {},
                        std::chrono::milliseconds timeout = default_request_timeout) const;
  http_response get(std::string_view path) const { return request("GET", path); }
  http_response post_form(std::string_view path, const std::vector<std::pair<std::string, std::string>>& fields,
                          const header_list& headers = {}) const;
  http_response post_json(std::string_view path, std::string_view json, const header_list& headers = {}) const;

  // POST /webservice/webservice/json/<function> with the given parameters.
  envelope call(std::string_view function, const param_list& params, encoding enc = encoding::form,
                std::chrono::milliseconds timeout = default_request_timeout) const;
  // The same with username and password prepended.
  envelope call_as(const credentials& who, std::string_view function, const param_list& params = {},
                   encoding enc = encoding::form,
                   std::chrono::milliseconds timeout = default_request_timeout) const;

  // Admin API with the configured admin token.
  header_list admin_auth() const;
  http_response create_account(std::string_view username, std::string_view password) const;
  http_response delete_account(std::string_view username) const;

private:
  void read_stdout_until(clock_type::time_point deadline, bool until_eof);
  bool reap(bool block_until, clock_type::time_point deadline);

  server_options options_;
  std::optional<temp_dir> own_data_dir_;
  temp_dir log_dir_;
  std::string data_dir_;
  std::filesystem::path stderr_path_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string stdout_buffer_;
  std::string listening_line_;
  std::uint16_t port_ = 0;
  bool exited_ = false;
  int wait_status_ = 0;
  clock_type::duration last_exit_wait_{};
};

// Polls `predicate` until it returns true or the deadline passes; returns its last value.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = 30s,
                std::chrono::milliseconds interval = 20ms) {
  const auto deadline = clock_type::now() + timeout;
  for (;;) {
    if (predicate()) return true;
    if (clock_type::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

// Creates a webhook and returns it (ASSERT-style failures are reported via the result).
::testing::AssertionResult create_webhook(const server_process& server, const credentials& who,
                                          std::string_view app, std::string_view event, std::string_view url,
                                          webhook& out, encoding enc = encoding::form);

// GetWebHooks with optional filters; fails unless error 0 and a well-formed list.
::testing::AssertionResult list_webhooks(const server_process& server, const credentials& who,
                                         std::vector<webhook>& out, const param_list& filters = {},
                                         std::chrono::milliseconds timeout = default_request_timeout);

// A name unique within this test run (prefix, test name, counter), made of username characters
// only and at most 64 characters long when the prefix is short.
std::string unique_name(std::string_view prefix);

// How much slower than a plain build the server under test may be: latency and CPU bounds are
// multiplied by it. Env HOOKWERK_TEST_TIME_SCALE (a number >= 1, default 1); scripts/test.sh
// sets it for the sanitizer builds, whose instrumentation makes the same work take longer.
double time_scale();

// A test suite whose tests share one server, started once for the suite. `Derived` may declare
// `static server_options options();` (how the server starts; default: the defaults) and
// `static ::testing::AssertionResult prepare(const server_process&);` (what every test needs
// once the server runs, such as accounts). When either fails, every test of the suite fails.
template <class Derived>
class shared_server_suite : public ::testing::Test {
public:
  static server_options options() { return {}; }
  static ::testing::AssertionResult prepare(const server_process&) { return ::testing::AssertionSuccess(); }

protected:
  static void SetUpTestSuite() {
    try {
      server_ = std::make_unique<server_process>(Derived::options());
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      return;
    }
    if (auto ready = Derived::prepare(*server_); !ready) {
      ADD_FAILURE() << ready.message();
      server_.reset();
    }
  }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override { ASSERT_NE(server_, nullptr) << "the server did not start"; }

  static const server_process& server() { return *server_; }

  static inline std::unique_ptr<server_process> server_;
};

}  // namespace hookwerk::system_test
