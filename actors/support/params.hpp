#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

/// The parameters of one management API call (SPEC §3), decoded from a form or JSON body, and
/// their typed accessors. A params object owns copies of all names and values; it is immutable
/// after decoding, so concurrent reads are safe.
namespace hookwerk::support {

/// One parameter as it arrived.
struct param_value {
  enum class kind { string, number, boolean, null, other };
  kind type = kind::string;
  /// For a string: its (decoded) value. For a number: its JSON text; integers are plain decimal
  /// ("17", "-1"), other numbers always contain '.' or 'e' ("17.5", "100.0", "1e+300").
  /// For a boolean: "true" or "false". Empty for null and for objects/arrays (kind other).
  std::string text;
};

/// The outcome of reading one typed parameter: absent (not sent, or JSON null), invalid (sent
/// but not acceptable for the type), or ok with a value. `value` is value-initialised unless ok.
template <class T>
struct param_result {
  enum class state { absent, invalid, ok };
  state st = state::absent;
  T value{};

  bool absent() const { return st == state::absent; }
  bool invalid() const { return st == state::invalid; }
  bool ok() const { return st == state::ok; }

  static param_result make_absent() { return {state::absent, T{}}; }
  static param_result make_invalid() { return {state::invalid, T{}}; }
  static param_result make_ok(T v) { return {state::ok, std::move(v)}; }
};

/// Decoded call parameters. Names are case-sensitive; when a name occurs more than once, the
/// last occurrence wins (both encodings).
class params {
public:
  /// Decodes an application/x-www-form-urlencoded body (see parse_form_urlencoded); every value
  /// is a string. nullopt: not valid form data (a malformed %-escape).
  static std::optional<params> from_form(std::string_view body);

  /// Decodes a JSON body, validated in full (syntax and UTF-8); the top level must be an object.
  /// nullopt otherwise, including integers beyond the 64-bit range, which the parser rejects.
  static std::optional<params> from_json(std::string_view body);

  /// Chooses the decoder from the media type of `content_type` (parameters after ';' ignored,
  /// case-insensitive): JSON for application/json or any type ending in "+json", form for
  /// application/x-www-form-urlencoded; for a missing or any other type, JSON if the first
  /// non-whitespace byte of `body` is '{', else form.
  static std::optional<params> decode(std::string_view content_type, std::string_view body);

  /// True if `name` was sent with a value other than JSON null.
  bool has(std::string_view name) const;

  /// The parameter as it arrived (JSON null included), or nullptr. Valid while this object lives.
  const param_value* find(std::string_view name) const;

  /// Number of distinct names.
  size_t size() const { return values_.size(); }

  /// A text parameter. Form: the decoded value (possibly empty). JSON: strings only; numbers,
  /// booleans, objects and arrays are invalid.
  param_result<std::string> get_string(std::string_view name) const;

  /// An id: a positive integer 1 … 2^63-1. Accepted: a form value or JSON string of ASCII digits
  /// only (no sign, no whitespace; leading zeros allowed, "007" is 7), or a JSON integer number.
  /// Invalid: 0, anything out of range, fractions/exponents ("17.5", 1e2, 17.0), negative
  /// numbers, empty text, booleans, objects, arrays.
  param_result<uint64_t> get_positive_id(std::string_view name) const;

  /// A count such as `limit`: the same syntax as get_positive_id (0 is invalid), but a digit
  /// string too large for 2^63-1 saturates to UINT64_MAX instead of being invalid, since
  /// oversized limits are clamped by the caller.
  param_result<uint64_t> get_limit(std::string_view name) const;

  /// A position such as `offset`: a non-negative integer in the syntax of get_limit, so 0 is
  /// valid; a digit string too large for 2^63-1 saturates to UINT64_MAX (past every item).
  /// Invalid: negative numbers, fractions/exponents, empty text, booleans, objects, arrays.
  param_result<uint64_t> get_offset(std::string_view name) const;

  /// A flag: 1, "1", true, "true" are true; 0, "0", false, "false" are false (exact spelling,
  /// lower case). Anything else, including "", "yes", 2 and 1.0, is invalid. Absent (or JSON null)
  /// gives state absent with value false.
  param_result<bool> get_bool(std::string_view name) const;

private:
  std::map<std::string, param_value, std::less<>> values_;
};

} // namespace hookwerk::support
