#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// application/x-www-form-urlencoded decoding and percent-encoding. Pure functions; safe from any
/// thread; none throws.
namespace hookwerk::support {

/// Name/value pairs in the order they appear, duplicates kept.
using form_fields = std::vector<std::pair<std::string, std::string>>;

/// Decodes `%XX` escapes (hex digits in either case) and, if `plus_as_space`, '+' as a space.
/// A '%' not followed by two hex digits makes the whole text malformed: nullopt. The result is
/// raw bytes and is not checked to be UTF-8.
std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space);

/// Splits a form body on '&' (empty segments are skipped), each segment into name and value at
/// the first '=' (a segment without '=' is a name with an empty value), and decodes both with
/// percent_decode(…, true). nullopt if any escape is malformed. An empty body gives no fields.
std::optional<form_fields> parse_form_urlencoded(std::string_view body);

/// Percent-encodes every byte except the RFC 3986 unreserved characters (A–Z a–z 0–9 - . _ ~),
/// with upper-case hex; a space becomes "%20". The result is safe in both query strings and
/// form bodies.
std::string url_encode(std::string_view text);

/// Builds a form body "n1=v1&n2=v2…" with url_encode applied to every name and value.
std::string form_encode(const form_fields& fields);

} // namespace hookwerk::support
