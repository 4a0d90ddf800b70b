#include "system/receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace hookwerk::system_test {

namespace {

constexpr int poll_slice_ms = 100;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 410: return "Gone";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

// Reads from a connection into a buffer, in slices, until the receiver stops.
class connection_reader {
public:
  connection_reader(int fd, const std::function<bool()>& stopping) : fd_(fd), stopping_(stopping) {}

  // Appends at least one byte to `buffer`; false on EOF, error or stop.
  bool read_more(std::string& buffer) {
    char chunk[16384];
    for (;;) {
      if (stopping_()) return false;
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, poll_slice_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return false;
      if (ready == 0) continue;
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        buffer.append(chunk, static_cast<std::size_t>(n));
        return true;
      }
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      return false;
    }
  }

private:
  int fd_;
  const std::function<bool()>& stopping_;
};

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> received_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

receiver::receiver() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error(std::string("receiver socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 128) != 0) {
    const std::string text = std::strerror(errno);
    ::close(listen_fd_);
    throw std::runtime_error("receiver bind/listen: " + text);
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

receiver::~receiver() { stop(); }

std::string receiver::url(std::string_view path_and_query) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path_and_query);
}

void receiver::set_responder(responder_fn fn) {
  std::lock_guard lock(mutex_);
  responder_ = std::move(fn);
}

void receiver::enqueue(reply r) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(r));
}

void receiver::enqueue_statuses(std::initializer_list<int> statuses) {
  std::lock_guard lock(mutex_);
  for (const int s : statuses) queue_.push_back(reply::status_only(s));
}

void receiver::set_default(reply r) {
  std::lock_guard lock(mutex_);
  default_reply_ = std::move(r);
}

void receiver::set_default_status(int status) { set_default(reply::status_only(status)); }

void receiver::set_blackhole() {
  reply r;
  r.blackhole = true;
  set_default(std::move(r));
}

void receiver::set_keep_requests(bool keep) {
  std::lock_guard lock(mutex_);
  keep_requests_ = keep;
}

void receiver::set_delay(std::chrono::milliseconds delay) {
  reply r;
  r.delay = delay;
  set_default(std::move(r));
}

std::vector<received_request> receiver::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t receiver::count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

std::size_t receiver::connections_accepted() const {
  std::lock_guard lock(mutex_);
  return accepted_;
}

bool receiver::wait_for_count(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return count_ >= n; });
}

bool receiver::wait_until(const std::function<bool(const std::vector<received_request>&)>& predicate,
                          std::chrono::milliseconds timeout) const {
  const auto deadline = clock_type::now() + timeout;
  std::unique_lock lock(mutex_);
  for (;;) {
    if (predicate(requests_)) return true;
    const auto now = clock_type::now();
    if (now >= deadline) return false;
    changed_.wait_for(lock, std::min<clock_type::duration>(deadline - now, 50ms));
  }
}

bool receiver::wait_stopped_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, d, [&] { return stopping_; });
}

void receiver::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    for (const int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  changed_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(threads_mutex_);
    threads.swap(connection_threads_);
  }
  for (auto& t : threads)
    if (t.joinable()) t.join();
}

void receiver::accept_loop() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    pollfd p{listen_fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, poll_slice_ms);
    if (ready <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::size_t number = 0;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      open_fds_.insert(fd);
      number = ++accepted_;
    }
    std::lock_guard lock(threads_mutex_);
    connection_threads_.emplace_back([this, fd, number] { serve_connection(fd, number); });
  }
}

reply receiver::decide(const received_request& request) {
  // Called with mutex_ held.
  if (responder_) {
    if (auto r = responder_(request)) return *r;
  }
  if (!queue_.empty()) {
    reply r = std::move(queue_.front());
    queue_.pop_front();
    return r;
  }
  return default_reply_;
}

void receiver::serve_connection(int fd, std::size_t number) {
  const std::function<bool()> stopping = [this] {
    std::lock_guard lock(mutex_);
    return stopping_;
  };
  connection_reader reader(fd, stopping);
  std::string buffer;

  auto finish = [&] {
    {
      std::lock_guard lock(mutex_);
      open_fds_.erase(fd);
    }
    ::close(fd);
  };

  for (;;) {
    // ---- head
    std::size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!reader.read_more(buffer)) return finish();
    }
    received_request request;
    request.connection = number;
    const std::string_view head(buffer.data(), head_end);
    auto line_end = head.find("\r\n");
    const std::string_view request_line = head.substr(0, line_end);
    const auto sp1 = request_line.find(' ');
    const auto sp2 = request_line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1) return finish();
    request.method = std::string(request_line.substr(0, sp1));
    request.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
    while (line_end != std::string_view::npos) {
      const auto start = line_end + 2;
      line_end = head.find("\r\n", start);
      const auto line =
          head.substr(start, line_end == std::string_view::npos ? std::string_view::npos : line_end - start);
      if (line.empty()) continue;
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      request.headers.emplace_back(std::string(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    buffer.erase(0, head_end + 4);

    // ---- body
    const auto transfer_encoding = lower(request.header_or_empty("Transfer-Encoding"));
    if (transfer_encoding.find("chunked") != std::string::npos) {
      std::string body;
      for (;;) {
        std::size_t eol;
        while ((eol = buffer.find("\r\n")) == std::string::npos)
          if (!reader.read_more(buffer)) return finish();
        std::string size_text = buffer.substr(0, eol);
        if (const auto semi = size_text.find(';'); semi != std::string::npos) size_text.resize(semi);
        std::size_t size = 0;
        try {
          size = std::stoull(size_text, nullptr, 16);
        } catch (const std::exception&) {
          return finish();
        }
        buffer.erase(0, eol + 2);
        if (size == 0) {
          // Trailers until an empty line.
          for (;;) {
            std::size_t t;
            while ((t = buffer.find("\r\n")) == std::string::npos)
              if (!reader.read_more(buffer)) return finish();
            buffer.erase(0, t + 2);
            if (t == 0) break;
          }
          break;
        }
        while (buffer.size() < size + 2)
          if (!reader.read_more(buffer)) return finish();
        body.append(buffer, 0, size);
        buffer.erase(0, size + 2);
      }
      request.body = std::move(body);
    } else {
      std::size_t length = 0;
      if (const auto cl = request.header("Content-Length")) {
        try {
          length = std::stoull(*cl);
        } catch (const std::exception&) {
          return finish();
        }
      }
      while (buffer.size() < length)
        if (!reader.read_more(buffer)) return finish();
      request.body = buffer.substr(0, length);
      buffer.erase(0, length);
    }
    request.arrived = clock_type::now();
    request.arrived_wall = std::chrono::system_clock::now();

    // ---- record and decide
    reply answer;
    {
      std::lock_guard lock(mutex_);
      answer = decide(request);
      request.answered = answer.blackhole ? 0 : answer.status;
      ++count_;
      if (keep_requests_) requests_.push_back(request);
    }
    changed_.notify_all();

    if (answer.blackhole) {
      // Read and discard until the peer gives up or the receiver stops.
      std::string sink;
      while (reader.read_more(sink)) sink.clear();
      return finish();
    }
    if (answer.delay.count() > 0 && wait_stopped_for(answer.delay)) return finish();

    const bool close_after = lower(request.header_or_empty("Connection")).find("close") != std::string::npos;
    std::string response = "HTTP/1.1 " + std::to_string(answer.status) + " " + reason_phrase(answer.status) + "\r\n";
    response += "Content-Length: " + std::to_string(answer.body.size()) + "\r\n";
    for (const auto& [k, v] : answer.headers) response += k + ": " + v + "\r\n";
    if (close_after) response += "Connection: close\r\n";
    response += "\r\n";
    response += answer.body;
    if (!send_all(fd, response) || close_after) return finish();
  }
}

}  // namespace hookwerk::system_test
