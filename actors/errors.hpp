#pragma once

#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

#include "storage/status.hpp"

/// Bridges hookwerk::errc into CAF's error type, so actors can answer a
/// request with `caf::result<T>` carrying one of our codes and a detail text.
namespace hookwerk {

/// The CAF error category of hookwerk::errc.
constexpr caf::atom_value errc_category = caf::atom("hookwerk");

caf::error make_error(errc code, std::string detail = {});
caf::error make_error(const status& st);

/// The code of an error produced by make_error; errc::internal for any other
/// CAF error (a dead actor, a timeout, ...).
errc code_of(const caf::error& err);

/// The detail text given to make_error, or CAF's rendering of a foreign error.
std::string detail_of(const caf::error& err);

} // namespace hookwerk
