#pragma once

#include "engine/config.hpp"

#include <functional>
#include <optional>
#include <string>

/// The `hookwerk` command line: `hookwerk serve [flags]`, `hookwerk --help` (also `-h`,
/// `help`, `hookwerk serve --help`) and `hookwerk --version`. Pure functions: they read the
/// environment only through the callback they are given, print nothing and never throw
/// (except `std::bad_alloc`).
namespace hookwerk::engine {

/// Reads one environment variable; nothing if it is unset.
using getenv_function = std::function<std::optional<std::string>(const char*)>;

/// What the command line asks for.
struct cli_result {
  enum class action {
    serve,   ///< run the server with `config`
    help,    ///< print `message` (the help text) to stdout, exit 0
    version, ///< print `message` (the version text) to stdout, exit 0
    error,   ///< print `message` to stderr, exit 2
  };
  action what = action::error;
  /// Meaningful only when `what == action::serve`; holds the defaults otherwise.
  serve_config config;
  /// The help text, the version text, or the error (which names the flag and the bad value).
  /// Has no trailing newline.
  std::string message;
};

/// Parses `argv[0..argc)` (`argv[0]` is the program name and is ignored). Flags take
/// `--flag VALUE` or `--flag=VALUE`; a VALUE that itself starts with `--` needs the `=` form.
/// `--allow-private-targets` is a switch (or `--allow-private-targets=true|false`). A flag
/// given twice: the last one wins. Unknown flags and stray arguments are errors.
/// Without `--admin-token` / `--ingest-token`, `getenv("HOOKWERK_ADMIN_TOKEN")` /
/// `getenv("HOOKWERK_INGEST_TOKEN")` is used if set and not empty; an empty `getenv` callback
/// means "no environment". `getenv("HOOKWERK_DNS_SERVERS")` fills `serve_config::dns_servers`.
/// The first problem found is reported; nothing is thrown.
cli_result parse_command_line(int argc, const char* const* argv, const getenv_function& getenv);

/// `std::getenv` as a `getenv_function`, for `main`. Not safe against a concurrent `setenv`;
/// call it at start-up only.
std::optional<std::string> process_getenv(const char* name);

/// The help text: usage, then every flag of `hookwerk serve` with its argument, a one-line
/// meaning and its default, aligned. No trailing newline.
std::string help_text();

/// `hookwerk <version>`, e.g. `hookwerk 0.1.0`. No trailing newline.
std::string version_text();

} // namespace hookwerk::engine
