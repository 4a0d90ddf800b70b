#include "system/harness.hpp"

#include "common/time_scale.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

extern char** environ;

#ifndef HOOKWERK_BINARY
#error "HOOKWERK_BINARY must be defined"
#endif

namespace hookwerk::system_test {

namespace {

std::string errno_text(std::string_view what) {
  return std::string(what) + ": " + std::strerror(errno);
}

int remaining_ms(clock_type::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1000 * 60 * 60));
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// ---- HTTP response parsing ---------------------------------------------------------------

enum class body_mode { none, length, chunked, until_close };

struct response_parser {
  http_response response;
  bool head_done = false;
  std::size_t body_start = 0;
  body_mode mode = body_mode::until_close;
  std::size_t content_length = 0;

  // Returns true when the response is complete given `data` (not at EOF).
  bool feed(const std::string& data, bool head_request) {
    if (!head_done) {
      const auto end = data.find("\r\n\r\n");
      if (end == std::string::npos) return false;
      parse_head(std::string_view(data).substr(0, end));
      head_done = true;
      body_start = end + 4;
      if (head_request || response.status == 204 || response.status == 304 ||
          (response.status >= 100 && response.status < 200)) {
        mode = body_mode::none;
      } else if (auto te = response.header("Transfer-Encoding");
                 te && std::string(*te).find("chunked") != std::string::npos) {
        mode = body_mode::chunked;
      } else if (auto cl = response.header("Content-Length")) {
        mode = body_mode::length;
        try {
          content_length = std::stoull(*cl);
        } catch (const std::exception&) {
          throw std::runtime_error("invalid Content-Length: " + *cl);
        }
      } else {
        mode = body_mode::until_close;
      }
    }
    switch (mode) {
      case body_mode::none:
        return true;
      case body_mode::length:
        if (data.size() - body_start >= content_length) {
          response.body = data.substr(body_start, content_length);
          return true;
        }
        return false;
      case body_mode::chunked:
        return decode_chunked(std::string_view(data).substr(body_start));
      case body_mode::until_close:
        return false;
    }
    return false;
  }

  void finish_at_eof(const std::string& data) {
    if (!head_done) throw std::runtime_error("connection closed before a complete response head: '" + data + "'");
    if (mode == body_mode::until_close) {
      response.body = data.substr(body_start);
      return;
    }
    throw std::runtime_error("connection closed before the complete response body (status " +
                             std::to_string(response.status) + ", have " +
                             std::to_string(data.size() - body_start) + " body bytes)");
  }

  void parse_head(std::string_view head) {
    auto line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    // HTTP/1.1 200 OK
    if (status_line.substr(0, 5) != "HTTP/") throw std::runtime_error("bad status line: " + std::string(status_line));
    const auto sp1 = status_line.find(' ');
    if (sp1 == std::string_view::npos || status_line.size() < sp1 + 4)
      throw std::runtime_error("bad status line: " + std::string(status_line));
    const std::string code(status_line.substr(sp1 + 1, 3));
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
      throw std::runtime_error("bad status code: " + std::string(status_line));
    response.status = std::stoi(code);
    response.reason = status_line.size() > sp1 + 5 ? std::string(status_line.substr(sp1 + 5)) : "";
    while (line_end != std::string_view::npos) {
      const auto start = line_end + 2;
      line_end = head.find("\r\n", start);
      const auto line = head.substr(start, line_end == std::string_view::npos ? std::string_view::npos : line_end - start);
      if (line.empty()) continue;
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) throw std::runtime_error("bad header line: " + std::string(line));
      response.headers.emplace_back(std::string(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
  }

  bool decode_chunked(std::string_view in) {
    std::string out;
    std::size_t pos = 0;
    for (;;) {
      const auto eol = in.find("\r\n", pos);
      if (eol == std::string_view::npos) return false;
      std::string size_text(in.substr(pos, eol - pos));
      if (auto semi = size_text.find(';'); semi != std::string::npos) size_text.resize(semi);
      std::size_t size = 0;
      try {
        size = std::stoull(size_text, nullptr, 16);
      } catch (const std::exception&) {
        throw std::runtime_error("bad chunk size: " + size_text);
      }
      pos = eol + 2;
      if (size == 0) {
        // trailers until an empty line
        for (;;) {
          const auto t = in.find("\r\n", pos);
          if (t == std::string_view::npos) return false;
          if (t == pos) {
            response.body = std::move(out);
            return true;
          }
          pos = t + 2;
        }
      }
      if (in.size() < pos + size + 2) return false;
      out.append(in.substr(pos, size));
      pos += size + 2;
    }
  }
};

int connect_loopback(std::uint16_t port, clock_type::time_point deadline, std::string_view source = {}) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw std::runtime_error(errno_text("socket"));
  if (!source.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (::inet_pton(AF_INET, std::string(source).c_str(), &local.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
      const auto text = errno_text("bind to " + std::string(source));
      ::close(fd);
      throw std::runtime_error(text);
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      const auto text = errno_text("connect to 127.0.0.1:" + std::to_string(port));
      ::close(fd);
      throw std::runtime_error(text);
    }
    pollfd p{fd, POLLOUT, 0};
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " timed out");
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      ::close(fd);
      throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(err));
    }
  }
  return fd;
}

struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

// ---- processes ----------------------------------------------------------------------------

struct spawn_io {
  int stdout_fd = -1;           // dup2'ed to 1 if >= 0
  std::string stdout_file;      // else opened as 1 if not empty
  std::string stderr_file;      // opened as 2
  std::string cwd;              // working directory of the child
  std::uint64_t descriptor_limit = 0;  // if > 0: the child's soft and hard RLIMIT_NOFILE
};

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// fork/exec of HOOKWERK_BINARY. The child is killed if the spawning thread ends (a crashed or
// aborted test run leaves no server behind).
pid_t spawn_hookwerk(std::vector<std::string> args, std::vector<std::string> env, const spawn_io& io) {
  args.insert(args.begin(), HOOKWERK_BINARY);
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(errno_text("fork"));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    ::sigaction(SIGTERM, &dfl, nullptr);
    ::sigaction(SIGINT, &dfl, nullptr);
    if (!io.cwd.empty() && ::chdir(io.cwd.c_str()) != 0) ::_exit(125);
    if (io.descriptor_limit > 0) {
      const rlimit lim{io.descriptor_limit, io.descriptor_limit};
      if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) ::_exit(124);
    }
    const int in = ::open("/dev/null", O_RDONLY);
    if (in >= 0) ::dup2(in, 0);
    if (io.stdout_fd >= 0) {
      ::dup2(io.stdout_fd, 1);
    } else if (!io.stdout_file.empty()) {
      const int out = ::open(io.stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out >= 0) ::dup2(out, 1);
    }
    const int err = ::open(io.stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) ::dup2(err, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + ::strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::string tail(const std::string& text, std::size_t n) {
  return text.size() <= n ? text : "…" + text.substr(text.size() - n);
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

// ---- temp_dir -------------------------------------------------------------------------------

temp_dir::temp_dir(std::string_view prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error(errno_text("mkdtemp"));
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- HTTP -----------------------------------------------------------------------------------

std::optional<std::string> http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

http_response http_request(std::uint16_t port, std::string_view method, std::string_view target,
                           const header_list& headers, std::string_view body, std::chrono::milliseconds timeout) {
  return http_request_from({}, port, method, target, headers, body, timeout);
}

http_response http_request_from(std::string_view source, std::uint16_t port, std::string_view method,
                                std::string_view target, const header_list& headers, std::string_view body,
                                std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  fd_closer sock{connect_loopback(port, deadline, source)};

  auto has = [&](std::string_view name) {
    return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); });
  };
  std::string req;
  req.reserve(256 + body.size());
  req.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  if (!has("Host")) req.append("Host: 127.0.0.1:").append(std::to_string(port)).append("\r\n");
  if (!has("Connection")) req.append("Connection: close\r\n");
  const bool body_method = method == "POST" || method == "PUT" || method == "PATCH";
  if (!has("Content-Length") && !has("Transfer-Encoding") && (!body.empty() || body_method))
    req.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  for (const auto& [k, v] : headers) req.append(k).append(": ").append(v).append("\r\n");
  req.append("\r\n");
  req.append(body);

  // Send; if the peer stops reading (e.g. answers early and closes), go on to read its answer.
  std::size_t sent = 0;
  while (sent < req.size()) {
    const ssize_t n = ::send(sock.fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{sock.fd, POLLOUT | POLLIN, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0)
        throw std::runtime_error("timeout sending " + std::string(method) + " " + std::string(target));
      if ((p.revents & POLLIN) && !(p.revents & POLLOUT)) break;  // an early answer
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // EPIPE / ECONNRESET: read whatever answer there is
  }

  std::string data;
  response_parser parser;
  char buf[65536];
  const bool head_request = method == "HEAD";
  for (;;) {
    if (parser.feed(data, head_request)) return std::move(parser.response);
    pollfd p{sock.fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0)
      throw std::runtime_error("timeout (" + std::to_string(timeout.count()) + " ms) waiting for the response to " +
                               std::string(method) + " " + std::string(target) + "; received so far: " +
                               tail(data, 500));
    const ssize_t n = ::recv(sock.fd, buf, sizeof buf, 0);
    if (n > 0) {
      data.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0 && errno != ECONNRESET) throw std::runtime_error(errno_text("recv"));
    parser.finish_at_eof(data);
    return std::move(parser.response);
  }
}

tcp_connection::tcp_connection(std::uint16_t port) {
  fd_ = connect_loopback(port, clock_type::now() + 10s);
}

tcp_connection::~tcp_connection() {
  if (fd_ >= 0) ::close(fd_);
}

// ---- encoding -------------------------------------------------------------------------------

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out.push_back('&');
    out += percent_encode(k);
    out.push_back('=');
    out += percent_encode(v);
  }
  return out;
}

std::string json_quote(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
  return out;
}

const char* to_string(encoding e) { return e == encoding::form ? "form" : "json"; }

std::string encode_params(const param_list& params, encoding enc) {
  if (enc == encoding::form) {
    std::vector<std::pair<std::string, std::string>> fields;
    for (const auto& [k, v] : params) fields.emplace_back(k, v.text);
    return form_encode(fields);
  }
  std::string out = "{";
  for (const auto& [k, v] : params) {
    if (out.size() > 1) out.push_back(',');
    out += json_quote(k);
    out.push_back(':');
    out += v.raw_json ? v.text : json_quote(v.text);
  }
  out.push_back('}');
  return out;
}

// ---- JSON -----------------------------------------------------------------------------------

std::string minified(simdjson::dom::element element) { return simdjson::minify(element); }

envelope parse_envelope(int http_status, std::string body) {
  envelope e;
  e.http_status = http_status;
  e.body = std::move(body);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(simdjson::padded_string(e.body)).get(root)) {
    e.problem = std::string("body is not JSON (") + simdjson::error_message(err) + "): " + tail(e.body, 300);
    return e;
  }
  simdjson::dom::object obj;
  if (root.get(obj)) {
    e.problem = "body is not a JSON object: " + tail(e.body, 300);
    return e;
  }
  std::multiset<std::string> keys;
  for (auto field : obj) keys.insert(std::string(field.key));
  if (keys != std::multiset<std::string>{"error", "message", "result"}) {
    e.problem = "envelope must have exactly the keys error, message, result: " + tail(e.body, 300);
    return e;
  }
  std::int64_t error = 0;
  if (obj["error"].get(error)) {
    e.problem = "`error` is not an integer: " + tail(e.body, 300);
    return e;
  }
  std::string_view message;
  if (obj["message"].get(message)) {
    e.problem = "`message` is not a string: " + tail(e.body, 300);
    return e;
  }
  e.error = error;
  e.message = std::string(message);
  e.result = minified(obj["result"].value_unsafe());
  return e;
}

::testing::AssertionResult is_error(const envelope& e, std::int64_t error, std::string_view message,
                                    int http_status) {
  if (e.http_status != http_status)
    return ::testing::AssertionFailure() << "HTTP status " << e.http_status << ", expected " << http_status
                                         << "; body: " << tail(e.body, 400);
  if (!e.well_formed()) return ::testing::AssertionFailure() << e.problem;
  if (e.error != error || e.message != message)
    return ::testing::AssertionFailure() << "envelope error " << e.error << " \"" << e.message << "\", expected "
                                         << error << " \"" << message << "\"; body: " << tail(e.body, 400);
  if (error != 0 && !e.result_is_null())
    return ::testing::AssertionFailure() << "result should be null for error " << error << "; body: "
                                         << tail(e.body, 400);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult is_success(const envelope& e) { return is_error(e, 0, "successfully executed"); }

std::ostream& operator<<(std::ostream& os, const webhook& w) {
  return os << "{id " << w.id << ", app \"" << w.app << "\", event " << w.event << ", url " << w.url
            << ", active " << w.active << ", created_at " << w.created_at << ", deactivated_at "
            << w.deactivated_at.value_or("null") << ", failures " << w.consecutive_failures << ", last_error "
            << w.last_error.value_or("null") << ", buffered " << w.buffered_events << ", pending "
            << w.pending_events << ", secret " << w.secret << "}";
}

::testing::AssertionResult parse_webhook(simdjson::dom::element element, webhook& out) {
  const std::string text = minified(element);
  simdjson::dom::object obj;
  if (element.get(obj)) return ::testing::AssertionFailure() << "webhook is not an object: " << text;
  std::multiset<std::string> keys;
  for (auto field : obj) keys.insert(std::string(field.key));
  const std::multiset<std::string> expected{"id",         "app",          "event",
                                            "url",        "active",       "created_at",
                                            "deactivated_at", "consecutive_failures", "last_error",
                                            "buffered_events", "pending_events", "secret"};
  if (keys != expected)
    return ::testing::AssertionFailure() << "webhook must have exactly the fields of SPEC §3: " << text;

  auto get_string = [&](const char* key, std::string& to) {
    std::string_view v;
    if (obj[key].get(v)) return false;
    to = std::string(v);
    return true;
  };
  auto get_nullable = [&](const char* key, std::optional<std::string>& to) {
    auto v = obj[key].value_unsafe();
    if (v.is_null()) {
      to.reset();
      return true;
    }
    std::string_view s;
    if (v.get(s)) return false;
    to = std::string(s);
    return true;
  };
  auto get_int = [&](const char* key, std::int64_t& to) { return !obj[key].get(to); };

  webhook w;
  if (!get_int("id", w.id)) return ::testing::AssertionFailure() << "`id` is not an integer: " << text;
  if (!get_string("app", w.app)) return ::testing::AssertionFailure() << "`app` is not a string: " << text;
  if (!get_string("event", w.event)) return ::testing::AssertionFailure() << "`event` is not a string: " << text;
  if (!get_string("url", w.url)) return ::testing::AssertionFailure() << "`url` is not a string: " << text;
  if (obj["active"].get(w.active)) return ::testing::AssertionFailure() << "`active` is not a boolean: " << text;
  if (!get_string("created_at", w.created_at))
    return ::testing::AssertionFailure() << "`created_at` is not a string: " << text;
  if (!get_nullable("deactivated_at", w.deactivated_at))
    return ::testing::AssertionFailure() << "`deactivated_at` is neither null nor a string: " << text;
  if (!get_int("consecutive_failures", w.consecutive_failures))
    return ::testing::AssertionFailure() << "`consecutive_failures` is not an integer: " << text;
  if (!get_nullable("last_error", w.last_error))
    return ::testing::AssertionFailure() << "`last_error` is neither null nor a string: " << text;
  if (!get_int("buffered_events", w.buffered_events))
    return ::testing::AssertionFailure() << "`buffered_events` is not an integer: " << text;
  if (!get_int("pending_events", w.pending_events))
    return ::testing::AssertionFailure() << "`pending_events` is not an integer: " << text;
  if (!get_string("secret", w.secret)) return ::testing::AssertionFailure() << "`secret` is not a string: " << text;
  out = std::move(w);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult parse_webhook(std::string_view json, webhook& out) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(simdjson::padded_string(json)).get(root))
    return ::testing::AssertionFailure() << "not JSON (" << simdjson::error_message(err) << "): " << json;
  return parse_webhook(root, out);
}

::testing::AssertionResult parse_webhook_list(std::string_view json, std::vector<webhook>& out) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(simdjson::padded_string(json)).get(root))
    return ::testing::AssertionFailure() << "not JSON (" << simdjson::error_message(err) << "): " << tail(std::string(json), 300);
  simdjson::dom::array arr;
  if (root.get(arr)) return ::testing::AssertionFailure() << "result is not an array: " << tail(std::string(json), 300);
  out.clear();
  out.reserve(arr.size());
  for (auto element : arr) {
    webhook w;
    if (auto r = parse_webhook(element, w); !r) return r;
    out.push_back(std::move(w));
  }
  return ::testing::AssertionSuccess();
}

std::optional<std::int64_t> parse_rfc3339_utc(std::string_view text) {
  static const std::regex pattern(R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(text.begin(), text.end(), m, pattern)) return std::nullopt;
  const int y = std::stoi(m[1].str()), mo = std::stoi(m[2].str()), d = std::stoi(m[3].str());
  const int h = std::stoi(m[4].str()), mi = std::stoi(m[5].str()), s = std::stoi(m[6].str());
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  const auto days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  return static_cast<std::int64_t>(days) * 86400 + h * 3600 + mi * 60 + s;
}

::testing::AssertionResult is_fresh_webhook(const webhook& w) {
  static const std::regex secret_pattern("^whsec_[A-Za-z0-9+/]{32}$");
  if (w.id <= 0) return ::testing::AssertionFailure() << "id must be positive: " << w;
  if (!w.active) return ::testing::AssertionFailure() << "a new webhook must be active: " << w;
  if (!parse_rfc3339_utc(w.created_at))
    return ::testing::AssertionFailure() << "created_at must be YYYY-MM-DDTHH:MM:SSZ: " << w;
  if (w.deactivated_at) return ::testing::AssertionFailure() << "deactivated_at must be null: " << w;
  if (w.consecutive_failures != 0) return ::testing::AssertionFailure() << "consecutive_failures must be 0: " << w;
  if (w.last_error) return ::testing::AssertionFailure() << "last_error must be null: " << w;
  if (w.buffered_events != 0) return ::testing::AssertionFailure() << "buffered_events must be 0: " << w;
  if (w.pending_events != 0) return ::testing::AssertionFailure() << "pending_events must be 0: " << w;
  if (!std::regex_match(w.secret, secret_pattern))
    return ::testing::AssertionFailure() << "secret must be whsec_ + base64 of 24 bytes: " << w;
  return ::testing::AssertionSuccess();
}

// ---- processes ------------------------------------------------------------------------------

std::vector<std::string> child_environment(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.substr(0, 9) == "HOOKWERK_") continue;
    env.emplace_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

process_result run_hookwerk(const std::vector<std::string>& args,
                            const std::vector<std::pair<std::string, std::string>>& env,
                            std::chrono::milliseconds timeout) {
  temp_dir io_dir("hookwerk-systest-io-");
  spawn_io io;
  io.stdout_file = (io_dir.path() / "stdout").string();
  io.stderr_file = (io_dir.path() / "stderr").string();
  io.cwd = io_dir.str();
  const auto start = clock_type::now();
  const auto deadline = start + timeout;
  const pid_t pid = spawn_hookwerk(args, child_environment(env), io);

  process_result result;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      result.exited = true;
      break;
    }
    if (r < 0 && errno != EINTR) throw std::runtime_error(errno_text("waitpid"));
    if (clock_type::now() >= deadline) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  result.elapsed = clock_type::now() - start;
  if (result.exited) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  }
  result.out = read_file(io.stdout_file);
  result.err = read_file(io.stderr_file);
  return result;
}

server_process::server_process(server_options options)
    : options_(std::move(options)), log_dir_("hookwerk-systest-log-") {
  if (options_.data_dir.empty()) {
    own_data_dir_.emplace("hookwerk-systest-data-");
    data_dir_ = own_data_dir_->str();
  } else {
    data_dir_ = options_.data_dir;
  }
  stderr_path_ = log_dir_.path() / "stderr.log";

  std::vector<std::string> args{"serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir_};
  if (options_.admin_token) {
    args.emplace_back("--admin-token");
    args.push_back(*options_.admin_token);
  }
  if (options_.ingest_token) {
    args.emplace_back("--ingest-token");
    args.push_back(*options_.ingest_token);
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe2"));
  spawn_io io;
  io.stdout_fd = fds[1];
  io.stderr_file = stderr_path_.string();
  io.cwd = log_dir_.str();
  io.descriptor_limit = options_.descriptor_limit;
  try {
    pid_ = spawn_hookwerk(args, child_environment(options_.env), io);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  ::close(fds[1]);
  stdout_fd_ = fds[0];
  set_nonblocking(stdout_fd_);

  try {
    const auto deadline = clock_type::now() + options_.startup_timeout;
    read_stdout_until(deadline, false);
    const auto eol = stdout_buffer_.find('\n');
    if (eol == std::string::npos) {
      throw std::runtime_error(std::string(exited_ ? "hookwerk ended (" + describe_wait_status(wait_status_) + ")"
                                                   : "no line on stdout within the start-up deadline") +
                               " before printing `listening on …`; stdout: '" + stdout_buffer_ + "'");
    }
    listening_line_ = stdout_buffer_.substr(0, eol);
    static const std::regex pattern(R"(^listening on http://127\.0\.0\.1:(\d{1,5})$)");
    std::smatch m;
    if (!std::regex_match(listening_line_, m, pattern))
      throw std::runtime_error("first stdout line is not `listening on http://127.0.0.1:PORT`: '" + listening_line_ +
                               "'");
    const int port = std::stoi(m[1].str());
    if (port <= 0 || port > 65535) throw std::runtime_error("bad port in: " + listening_line_);
    port_ = static_cast<std::uint16_t>(port);
  } catch (const std::exception& e) {
    if (!exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &wait_status_, 0);
      exited_ = true;
    }
    ::close(stdout_fd_);
    stdout_fd_ = -1;
    throw std::runtime_error(std::string("starting hookwerk failed: ") + e.what() + "\nstderr:\n" +
                             tail(stderr_text(), 4000));
  }
}

server_process::~server_process() {
  if (!exited_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &wait_status_, 0);
    exited_ = true;
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (::testing::Test::HasFailure())
    std::cerr << "---- stderr of hookwerk (pid " << pid_ << ", port " << port_ << ") ----\n"
              << tail(stderr_text(), 6000) << "\n---- end of stderr ----\n";
}

void server_process::read_stdout_until(clock_type::time_point deadline, bool until_eof) {
  char buf[4096];
  for (;;) {
    if (!until_eof && stdout_buffer_.find('\n') != std::string::npos) return;
    pollfd p{stdout_fd_, POLLIN, 0};
    const int wait = std::min(remaining_ms(deadline), 50);
    const int ready = ::poll(&p, 1, wait);
    if (ready > 0) {
      const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
      if (n > 0) {
        stdout_buffer_.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) {  // EOF: the writer is gone
        if (!until_eof) reap(true, std::min(deadline, clock_type::now() + 2s));
        return;
      }
      if (errno != EAGAIN && errno != EINTR) return;
    }
    if (!until_eof && !exited_) reap(false, deadline);
    if (!until_eof && exited_) {
      // Collect what it wrote before it ended, then report.
      while (true) {
        const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
        if (n <= 0) break;
        stdout_buffer_.append(buf, static_cast<std::size_t>(n));
      }
      return;
    }
    if (clock_type::now() >= deadline) return;
  }
}

bool server_process::reap(bool block_until, clock_type::time_point deadline) {
  if (exited_) return true;
  for (;;) {
    const pid_t r = ::waitpid(pid_, &wait_status_, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      return true;
    }
    if (!block_until || clock_type::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

std::string server_process::stderr_text() const { return read_file(stderr_path_); }

std::string server_process::stdout_text() {
  if (stdout_fd_ >= 0) read_stdout_until(clock_type::now() + (exited_ ? 2000ms : 0ms), true);
  return stdout_buffer_;
}

bool server_process::running() { return !reap(false, clock_type::now()); }

int server_process::terminate(std::chrono::milliseconds timeout, int signal) {
  const auto start = clock_type::now();
  if (!exited_) {
    ::kill(pid_, signal);
    if (!reap(true, start + timeout)) {
      last_exit_wait_ = clock_type::now() - start;
      kill9();
      return -1;
    }
  }
  last_exit_wait_ = clock_type::now() - start;
  stdout_text();
  return WIFEXITED(wait_status_) ? WEXITSTATUS(wait_status_) : -1;
}

void server_process::kill9() {
  if (exited_) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &wait_status_, 0);
  exited_ = true;
}

http_response server_process::request(std::string_view method, std::string_view path, const header_list& headers,
                                      std::string_view body, std::chrono::milliseconds timeout) const {
  return http_request(port_, method, path, headers, body, timeout);
}

http_response server_process::post_form(std::string_view path,
                                        const std::vector<std::pair<std::string, std::string>>& fields,
                                        const header_list& headers) const {
  header_list h{{"Content-Type", "application/x-www-form-urlencoded"}};
  h.insert(h.end(), headers.begin(), headers.end());
  return request("POST", path, h, form_encode(fields));
}

http_response server_process::post_json(std::string_view path, std::string_view json,
                                        const header_list& headers) const {
  header_list h{{"Content-Type", "application/json"}};
  h.insert(h.end(), headers.begin(), headers.end());
  return request("POST", path, h, json);
}

envelope server_process::call(std::string_view function, const param_list& params, encoding enc,
                              std::chrono::milliseconds timeout) const {
  const header_list h{{"Content-Type", enc == encoding::form ? "application/x-www-form-urlencoded" : "application/json"}};
  auto response = request("POST", "/webservice/webservice/json/" + std::string(function), h,
                          encode_params(params, enc), timeout);
  return parse_envelope(response.status, std::move(response.body));
}

envelope server_process::call_as(const credentials& who, std::string_view function, const param_list& params,
                                 encoding enc, std::chrono::milliseconds timeout) const {
  param_list all{{"username", who.username}, {"password", who.password}};
  all.insert(all.end(), params.begin(), params.end());
  return call(function, all, enc, timeout);
}

header_list server_process::admin_auth() const { return {{"Authorization", "Bearer " + admin_token()}}; }

http_response server_process::create_account(std::string_view username, std::string_view password) const {
  return post_json("/admin/accounts",
                   "{\"username\":" + json_quote(username) + ",\"password\":" + json_quote(password) + "}",
                   admin_auth());
}

http_response server_process::delete_account(std::string_view username) const {
  return request("DELETE", "/admin/accounts/" + std::string(username), admin_auth());
}

::testing::AssertionResult is_error_body(const http_response& r, int status) {
  if (r.status != status)
    return ::testing::AssertionFailure() << "HTTP status " << r.status << ", expected " << status << "; body: "
                                         << tail(r.body, 400);
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(simdjson::padded_string(r.body)).get(obj))
    return ::testing::AssertionFailure() << "error body is not a JSON object: " << tail(r.body, 400);
  std::size_t keys = 0;
  for ([[maybe_unused]] auto field : obj) ++keys;
  std::string_view text;
  if (keys != 1 || obj["error"].get(text))
    return ::testing::AssertionFailure() << "error body must be {\"error\":\"<text>\"}: " << tail(r.body, 400);
  if (text.empty()) return ::testing::AssertionFailure() << "error text is empty: " << r.body;
  return ::testing::AssertionSuccess();
}

namespace {
std::optional<std::map<std::string, std::string>> object_members(std::string_view json, std::string& problem) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(simdjson::padded_string(json)).get(obj)) {
    problem = "not a JSON object: " + tail(std::string(json), 400);
    return std::nullopt;
  }
  std::map<std::string, std::string> members;
  for (auto field : obj) {
    if (!members.emplace(std::string(field.key), minified(field.value)).second) {
      problem = "duplicate member " + std::string(field.key) + ": " + tail(std::string(json), 400);
      return std::nullopt;
    }
  }
  return members;
}
}  // namespace

::testing::AssertionResult same_json_object(std::string_view actual, std::string_view expected) {
  std::string problem;
  const auto want = object_members(expected, problem);
  if (!want) return ::testing::AssertionFailure() << "expected value: " << problem;
  const auto have = object_members(actual, problem);
  if (!have) return ::testing::AssertionFailure() << problem;
  if (*have != *want) return ::testing::AssertionFailure() << actual << " is not " << expected;
  return ::testing::AssertionSuccess();
}

// ---- helpers --------------------------------------------------------------------------------

::testing::AssertionResult create_webhook(const server_process& server, const credentials& who, std::string_view app,
                                          std::string_view event, std::string_view url, webhook& out, encoding enc) {
  const auto e = server.call_as(who, "CreateWebHook",
                                {{"app", std::string(app)}, {"event", std::string(event)}, {"url", std::string(url)}},
                                enc);
  if (auto ok = is_success(e); !ok) return ok << " (CreateWebHook app=\"" << app << "\" url=" << url << ")";
  return parse_webhook(e.result, out);
}

::testing::AssertionResult list_webhooks(const server_process& server, const credentials& who,
                                         std::vector<webhook>& out, const param_list& filters,
                                         std::chrono::milliseconds timeout) {
  const auto e = server.call_as(who, "GetWebHooks", filters, encoding::form, timeout);
  if (auto ok = is_success(e); !ok) return ok << " (GetWebHooks)";
  return parse_webhook_list(e.result, out);
}

double time_scale() {
  return test::time_scale();
}

std::string unique_name(std::string_view prefix) {
  static std::atomic<int> counter{0};
  const std::string suffix = "-" + std::to_string(++counter);
  std::string test;
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) test = info->name();
  const std::size_t room = prefix.size() + 1 + suffix.size() < 64 ? 64 - prefix.size() - 1 - suffix.size() : 0;
  std::string name(prefix);
  if (room > 0 && !test.empty()) name += "-" + test.substr(0, room);
  name += suffix;
  for (auto& c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '.' || c == '_' || c == '@' || c == '-')) c = '_';
  }
  return name;
}

}  // namespace hookwerk::system_test
