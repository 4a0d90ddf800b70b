#pragma once

#include <cstdio>
#include <cstdlib>

/// Property check for fuzz targets: on failure prints the condition and aborts, which libFuzzer
/// reports as a crash and saves the input.
#define FUZZ_CHECK(cond)                                                                          \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);           \
      std::abort();                                                                               \
    }                                                                                             \
  } while (false)
