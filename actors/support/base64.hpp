#pragma once

#include <optional>
#include <string>
#include <string_view>

/// Base64 (RFC 4648) encoding and decoding. Pure functions; safe from any thread.
namespace hookwerk::support {

/// Encodes with the standard alphabet (`+`, `/`) and `=` padding.
std::string base64_encode(std::string_view data);

/// Decodes the standard alphabet with padding, strictly: the length must be a multiple
/// of 4, padding may only close the text, and unused trailing bits must be zero.
/// Returns nullopt for anything else (including whitespace and URL-safe characters).
std::optional<std::string> base64_decode(std::string_view text);

/// Encodes with the URL-safe alphabet (`-`, `_`) and no padding; for tokens in URLs and headers.
std::string base64url_encode(std::string_view data);

} // namespace hookwerk::support
