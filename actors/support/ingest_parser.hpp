#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// Parsing of POST /v1/events bodies (SPEC §4) into events.
namespace hookwerk::support {

/// One event as posted. String members hold the JSON strings' values (escapes decoded).
struct ingest_item {
  std::string account;
  std::string event;
  /// The payload's JSON text exactly as received, byte for byte from its `{` to its `}`.
  std::string payload;
  /// Idempotency key: the string's value, or a number's JSON text. Non-empty, at most 255 bytes.
  std::optional<std::string> id;
  /// Ordering key: "key" if present and not null, else payload.subscriber_id if it is a string or
  /// a number. A string contributes its (unescaped) value, a number its JSON text, so 42 and "42"
  /// give the same key.
  std::optional<std::string> key;
};

/// The outcome of one parse: either all items (in input order) or one error.
struct ingest_parse_result {
  std::vector<ingest_item> items;
  /// True for a JSON array or an NDJSON body (even with one line); false for a single object.
  bool batch = false;
  /// Empty on success; otherwise a short message for the client, naming the failing item of a
  /// batch (`item 3: missing field "event"`, `line 2: payload must be a JSON object`). Items and
  /// lines are counted from 1; lines are physical lines of the body, blank ones included.
  std::string error;

  bool ok() const { return error.empty(); }
};

/// Turns an ingest request body into events.
///
/// Accepted forms: one JSON object; a JSON array of objects (a batch); with a Content-Type whose
/// media type is application/x-ndjson (case-insensitive, parameters ignored), one object per
/// non-blank line (a batch; `\r\n` line ends and blank lines are fine). Any other Content-Type,
/// or none, means JSON. A batch is all or nothing: one bad item fails the whole body.
///
/// Each object needs `account` and `event` (non-empty strings) and `payload` (a JSON object);
/// `id` (string or number, or null for none) and `key` (string or number, or null for none) are
/// optional; other members are ignored. If a member name repeats, the last occurrence wins.
///
/// The whole body (each line, for NDJSON) is validated by a full parse: structure, literals,
/// numbers, string escapes and UTF-8; nesting deeper than 1024 levels is rejected. Numbers of any
/// magnitude and precision are accepted (they are kept as text, never converted). A UTF-8 byte
/// order mark is not accepted.
///
/// Thread-compatible: use one parser per thread (or per actor) and reuse it; it keeps its buffers
/// between calls, sized for the largest body it has seen. The result owns all its data. A
/// moved-from parser may only be destroyed or assigned to.
class ingest_parser {
public:
  /// Bytes that must be readable after the body for the parser to read it in place.
  static constexpr std::size_t padding = 64;

  ingest_parser();
  ~ingest_parser();
  ingest_parser(ingest_parser&&) noexcept;
  ingest_parser& operator=(ingest_parser&&) noexcept;
  ingest_parser(const ingest_parser&) = delete;
  ingest_parser& operator=(const ingest_parser&) = delete;

  /// Parses `body`; copies it into the parser's padded buffer first.
  ingest_parse_result parse(std::string_view content_type, std::string_view body);

  /// Same, but `readable` is how many bytes starting at body.data() may be read (for a
  /// std::string: its capacity()). When readable >= body.size() + padding the body is parsed
  /// where it lies, without a copy; otherwise it is copied as above.
  ingest_parse_result parse(std::string_view content_type, std::string_view body,
                            std::size_t readable);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// True if `content_type`'s media type is application/x-ndjson (case-insensitive, parameters
/// and surrounding whitespace ignored).
bool is_ndjson_content_type(std::string_view content_type);

} // namespace hookwerk::support
