#include "actors/errors.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace hookwerk {

caf::error make_error(errc code, std::string detail) {
  return caf::error{static_cast<uint8_t>(code), errc_category,
                    caf::make_message(std::move(detail))};
}

caf::error make_error(const status& st) {
  return make_error(st.code(), st.message());
}

errc code_of(const caf::error& err) {
  if (err.category() != errc_category || err.code() == 0)
    return errc::internal;
  return static_cast<errc>(err.code());
}

std::string detail_of(const caf::error& err) {
  if (err.category() == errc_category) {
    const auto& ctx = err.context();
    if (ctx.match_elements<std::string>())
      return ctx.get_as<std::string>(0);
    return {};
  }
  return caf::to_string(err);
}

} // namespace hookwerk
