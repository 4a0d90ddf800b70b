// A webhook receiver inside the test process: an HTTP/1.1 server on 127.0.0.1 with keep-alive
// that records every request it reads and answers as the test scripts it to.
#pragma once

#include "system/harness.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace hookwerk::system_test {

// One request as the receiver read it.
struct received_request {
  std::string method;
  std::string target;  // as on the request line: path and query
  header_list headers;
  std::string body;    // the decoded body bytes (Content-Length or chunked)
  clock_type::time_point arrived{};                   // when the request was completely read
  std::chrono::system_clock::time_point arrived_wall{};
  std::size_t connection = 0;  // which accepted connection carried it (1, 2, …)
  int answered = 0;            // the status it was (or will be) answered with; 0: never answered

  // Case-insensitive lookup of the first header with this name.
  std::optional<std::string> header(std::string_view name) const;
  // The header, or "" if absent.
  std::string header_or_empty(std::string_view name) const { return header(name).value_or(""); }
  bool succeeded() const { return answered >= 200 && answered < 300; }
};

// What to answer to one request.
struct reply {
  int status = 200;
  header_list headers;  // extra response headers, e.g. {"Retry-After", "1"}
  std::string body;
  // Wait this long before answering (the connection stays open meanwhile).
  std::chrono::milliseconds delay{0};
  // Never answer: keep the connection open (reading and discarding) until the peer closes it or
  // the receiver stops.
  bool blackhole = false;

  static reply status_only(int status) {
    reply r;
    r.status = status;
    return r;
  }
};

class receiver {
public:
  // Listens on 127.0.0.1 on a free port and starts serving at once.
  receiver();
  ~receiver();
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port>" + path_and_query (which must start with '/').
  std::string url(std::string_view path_and_query = "/hook") const;

  // ---- script: the first rule that applies decides ---------------------------------------
  // 1. the responder, if set and it returns a reply;
  // 2. the next queued reply;
  // 3. the default reply (200 unless changed).
  using responder_fn = std::function<std::optional<reply>(const received_request&)>;
  void set_responder(responder_fn fn);
  void enqueue(reply r);
  void enqueue_statuses(std::initializer_list<int> statuses);
  void set_default(reply r);
  void set_default_status(int status);
  void set_blackhole();                                // default: never answer
  void set_delay(std::chrono::milliseconds delay);     // default: 200 after a delay

  /// Whether requests() keeps what arrived (default: yes). A long-running test that records what
  /// it needs in its responder turns this off so memory stays flat; count() still counts.
  void set_keep_requests(bool keep);

  // ---- what arrived ------------------------------------------------------------------------
  std::vector<received_request> requests() const;
  std::size_t count() const;
  std::size_t connections_accepted() const;
  // Waits until at least n requests arrived; false at the deadline.
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout) const;
  // Waits until the predicate over all requests so far holds (evaluated on every arrival and
  // at least every 50 ms); false at the deadline.
  bool wait_until(const std::function<bool(const std::vector<received_request>&)>& predicate,
                  std::chrono::milliseconds timeout) const;

  // Closes the listener and every connection (unanswered ones included), joins all threads.
  // Idempotent; called by the destructor.
  void stop();

private:
  void accept_loop();
  void serve_connection(int fd, std::size_t number);
  reply decide(const received_request& request);
  // Waits on the condition until stopped or the duration passed; true if stopped.
  bool wait_stopped_for(std::chrono::milliseconds d);

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  std::vector<received_request> requests_;
  bool keep_requests_ = true;
  std::size_t count_ = 0;
  std::deque<reply> queue_;
  reply default_reply_;
  responder_fn responder_;
  std::set<int> open_fds_;
  std::size_t accepted_ = 0;

  std::thread acceptor_;
  std::mutex threads_mutex_;
  std::vector<std::thread> connection_threads_;
  bool stopped_ = false;
};

}  // namespace hookwerk::system_test
