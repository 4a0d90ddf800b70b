// Fuzzes the command line. The input is split at '\n' into arguments after the program name;
// an argument of the form "\x01NAME=VALUE" becomes an environment variable instead. Nothing but
// std::bad_alloc may escape; every outcome carries the text its action promises, and a serve
// configuration keeps the invariants the rest of the server relies on.
#include "engine/cli.hpp"
#include "fuzz/check.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <new>
#include <string>
#include <string_view>
#include <vector>

using namespace hookwerk::engine;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  std::vector<std::string> args{"hookwerk"};
  std::map<std::string, std::string, std::less<>> env;
  while (!text.empty() && args.size() < 64) {
    auto end = text.find('\n');
    std::string_view arg = text.substr(0, end);
    if (!arg.empty() && arg.front() == '\x01') {
      auto eq = arg.find('=');
      if (eq != std::string_view::npos)
        env[std::string(arg.substr(1, eq - 1))] = std::string(arg.substr(eq + 1));
    } else {
      args.emplace_back(arg);
    }
    if (end == std::string_view::npos)
      break;
    text.remove_prefix(end + 1);
  }
  std::vector<const char*> argv;
  for (const auto& a : args)
    argv.push_back(a.c_str());
  argv.push_back(nullptr);

  getenv_function getenv = [&env](const char* name) -> std::optional<std::string> {
    auto it = env.find(std::string_view{name});
    if (it == env.end())
      return std::nullopt;
    return it->second;
  };

  cli_result result;
  try {
    result = parse_command_line(static_cast<int>(args.size()), argv.data(), getenv);
  } catch (const std::bad_alloc&) {
    return 0;
  } catch (...) {
    FUZZ_CHECK(!"parse_command_line threw");
  }

  FUZZ_CHECK(result.message.empty() || result.message.back() != '\n');
  switch (result.what) {
  case cli_result::action::help:
    FUZZ_CHECK(result.message == help_text());
    break;
  case cli_result::action::version:
    FUZZ_CHECK(result.message == version_text());
    break;
  case cli_result::action::error:
    FUZZ_CHECK(!result.message.empty());
    break;
  case cli_result::action::serve: {
    const serve_config& c = result.config;
    FUZZ_CHECK(!c.events.empty());
    for (std::size_t i = 0; i < c.events.size(); ++i)
      for (std::size_t j = i + 1; j < c.events.size(); ++j)
        FUZZ_CHECK(c.events[i] != c.events[j]);
    FUZZ_CHECK(!c.retry_schedule.empty());
    for (auto d : c.retry_schedule)
      FUZZ_CHECK(d.count() > 0);
    FUZZ_CHECK(!c.admin_token || !c.admin_token->empty());
    FUZZ_CHECK(!c.ingest_token || !c.ingest_token->empty());
    break;
  }
  }
  return 0;
}
