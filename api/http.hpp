#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// Plain HTTP request/response types shared by the Beast server and the front
/// actor, so neither the actors nor most of api/ include Beast.
namespace hookwerk::api {

struct http_request {
  std::string method;        ///< "GET", "POST", ... as sent
  std::string path;          ///< the target up to '?', not decoded
  std::string query;         ///< the target after '?', not decoded
  std::string content_type;  ///< Content-Type header or empty
  std::string authorization; ///< Authorization header or empty
  std::string remote_address; ///< the client's IP address as text, or empty if unknown
  std::string body;
};

struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// One request in flight. Whoever handles it calls respond() exactly once, from
/// any thread; the response is written on the connection's own strand. A
/// second call is ignored.
class http_exchange {
public:
  http_request request;

  virtual ~http_exchange() = default;

  void respond(http_response response) {
    if (responded_.exchange(true))
      return;
    do_respond(std::move(response));
  }

protected:
  virtual void do_respond(http_response response) = 0;

private:
  std::atomic<bool> responded_{false};
};

} // namespace hookwerk::api
