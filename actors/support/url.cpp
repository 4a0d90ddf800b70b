#include "actors/support/url.hpp"

#include <uriparser/Uri.h>

namespace hookwerk::support {
namespace {

class uri_holder {
public:
  uri_holder() = default;
  uri_holder(const uri_holder&) = delete;
  uri_holder& operator=(const uri_holder&) = delete;
  ~uri_holder() {
    if (parsed_)
      uriFreeUriMembersA(&uri_);
  }

  bool parse(std::string_view text) {
    const char* error_pos = nullptr;
    parsed_ = uriParseSingleUriExA(&uri_, text.data(), text.data() + text.size(),
                                   &error_pos) == URI_SUCCESS;
    return parsed_;
  }

  const UriUriA& get() const { return uri_; }

private:
  UriUriA uri_{};
  bool parsed_ = false;
};

bool present(const UriTextRangeA& r) { return r.first != nullptr; }

std::string_view view(const UriTextRangeA& r) {
  if (r.first == nullptr || r.afterLast < r.first)
    return {};
  return {r.first, static_cast<std::size_t>(r.afterLast - r.first)};
}

char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = to_lower(c);
  return out;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty())
    return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > 65535)
      return std::nullopt;
  }
  if (value == 0)
    return std::nullopt;
  return static_cast<uint16_t>(value);
}

} // namespace

std::optional<parsed_url> parse_hook_url(std::string_view url) {
  if (url.empty() || url.size() > max_hook_url_length)
    return std::nullopt;
  for (char c : url) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f)
      return std::nullopt;
  }

  uri_holder holder;
  if (!holder.parse(url))
    return std::nullopt;
  const UriUriA& uri = holder.get();

  if (!present(uri.scheme) || !present(uri.hostText) || present(uri.userInfo) ||
      present(uri.hostData.ipFuture))
    return std::nullopt;

  parsed_url out;
  out.scheme = lowered(view(uri.scheme));
  if (out.scheme != "http" && out.scheme != "https")
    return std::nullopt;

  out.host = lowered(view(uri.hostText));
  if (out.host.empty())
    return std::nullopt;
  out.host_is_ip_literal = uri.hostData.ip4 != nullptr || uri.hostData.ip6 != nullptr;
  if (!out.host_is_ip_literal) {
    for (char c : out.host)
      if (!is_name_char(c))
        return std::nullopt;
  }

  const char* authority_end = uri.hostText.afterLast;
  if (uri.hostData.ip6 != nullptr) {
    if (authority_end >= url.data() + url.size() || *authority_end != ']')
      return std::nullopt;
    ++authority_end;
  }
  if (present(uri.portText)) {
    const auto port = parse_port(view(uri.portText));
    if (!port)
      return std::nullopt;
    out.port = *port;
    authority_end = uri.portText.afterLast;
  } else {
    out.port = out.scheme == "https" ? 443 : 80;
  }

  const char* target_end =
      present(uri.fragment) ? uri.fragment.first - 1 : url.data() + url.size();
  if (target_end < authority_end)
    return std::nullopt;
  std::string_view target(authority_end, static_cast<std::size_t>(target_end - authority_end));
  if (!target.empty() && target.front() != '/' && target.front() != '?')
    return std::nullopt;
  if (target.empty() || target.front() == '?')
    out.target.push_back('/');
  out.target.append(target);
  return out;
}

} // namespace hookwerk::support
