#include "actors/sender.hpp"

namespace hookwerk {

std::shared_ptr<const delivery_target> delivery_target::make(std::string url) {
  auto target = std::make_shared<delivery_target>();
  target->parts = support::parse_hook_url(url);
  target->url = std::move(url);
  if (const auto& p = target->parts) {
    auto port = std::to_string(p->port);
    target->pool_key = p->scheme + "://" + p->host + ":" + port;
    bool ipv6 = p->host.find(':') != std::string::npos;
    target->host_header = ipv6 ? "[" + p->host + "]" : p->host;
    bool default_port = (p->scheme == "http" && p->port == 80) || (p->scheme == "https" && p->port == 443);
    if (!default_port)
      target->host_header += ":" + port;
  }
  return target;
}

} // namespace hookwerk
