#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace hookwerk {

/// Every error condition Hookwerk distinguishes. Starts at 1 so that a
/// value-initialised code never looks like an error. The mapping to
/// Mailingwork error numbers and HTTP statuses lives in api/error_table.
enum class errc : uint8_t {
  storage_failed = 1,  ///< RocksDB reported an error (I/O, corruption).
  storage_locked,      ///< Another process holds the data directory.
  not_found,           ///< A looked-up entity does not exist.
  already_exists,      ///< A create collided with an existing entity.
  login_failed,        ///< Missing or wrong credentials.
  missing_parameter,   ///< A required parameter is absent.
  invalid_parameter,   ///< A parameter is present but malformed.
  target_not_allowed,  ///< A hook URL resolves to a forbidden address.
  overloaded,          ///< The server sheds load; retry later.
  shutting_down,       ///< The server is stopping.
  internal,            ///< Anything else; logged with detail.
  limit_exceeded,      ///< A bound of an account or of one request was reached.
  expired,             ///< It existed, but its time has passed (a notification link).
  storage_unavailable, ///< The database refuses writes until it recovers; retry later.
};

/// Short, stable name of a code, for logs.
const char* to_string(errc code) noexcept;

/// The outcome of an operation that returns nothing: success, or a code with
/// a human-readable detail.
class status {
public:
  status() = default;
  status(errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static status ok() { return {}; }

  bool is_ok() const noexcept { return !code_; }
  explicit operator bool() const noexcept { return is_ok(); }

  /// The error code; only meaningful when !is_ok().
  errc code() const noexcept { return code_ ? *code_ : errc::internal; }
  const std::string& message() const noexcept { return message_; }

private:
  std::optional<errc> code_;
  std::string message_;
};

/// A value or the status explaining why there is none (std::expected is C++23).
template <class T>
class expected {
public:
  expected(T value) : data_(std::move(value)) {}
  expected(status err) : data_(std::move(err)) {}
  expected(errc code, std::string message) : data_(status{code, std::move(message)}) {}

  bool has_value() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The error; only valid when !has_value().
  const status& error() const { return std::get<1>(data_); }

private:
  std::variant<T, status> data_;
};

} // namespace hookwerk
