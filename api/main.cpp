#include <cstdio>

#include "api/server.hpp"
#include "engine/cli.hpp"

int main(int argc, char** argv) {
  using hookwerk::engine::cli_result;
  auto parsed = hookwerk::engine::parse_command_line(argc, argv, hookwerk::engine::process_getenv);
  switch (parsed.what) {
    case cli_result::action::help:
    case cli_result::action::version:
      std::fputs(parsed.message.c_str(), stdout);
      if (!parsed.message.empty() && parsed.message.back() != '\n')
        std::fputc('\n', stdout);
      return 0;
    case cli_result::action::error:
      std::fprintf(stderr, "hookwerk: %s\n", parsed.message.c_str());
      return 2;
    case cli_result::action::serve:
      break;
  }
  return hookwerk::api::run_server(parsed.config);
}
