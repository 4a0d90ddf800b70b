#include <gtest/gtest.h>

#include <string>

#include "api/metrics_text.hpp"

namespace hookwerk::api {
namespace {

TEST(metrics_text, exports_the_bytes_written_to_the_log_as_a_counter) {
  registry_stats registry;
  metrics m;
  storage::writer_stats storage;
  storage.written_bytes = 123456789012;
  const auto text = metrics_text(registry, m, 0, storage);
  EXPECT_NE(text.find("\n# HELP hookwerk_storage_written_bytes_total "), std::string::npos) << text;
  EXPECT_NE(text.find("\n# TYPE hookwerk_storage_written_bytes_total counter\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\nhookwerk_storage_written_bytes_total 123456789012\n"), std::string::npos)
      << text;
}

TEST(metrics_text, exports_the_synced_part_of_the_bytes_written_as_a_counter) {
  registry_stats registry;
  metrics m;
  storage::writer_stats storage;
  storage.written_bytes = 1000;
  storage.synced_written_bytes = 400;
  const auto text = metrics_text(registry, m, 0, storage);
  EXPECT_NE(text.find("\n# TYPE hookwerk_storage_synced_written_bytes_total counter\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nhookwerk_storage_synced_written_bytes_total 400\n"), std::string::npos)
      << text;
}

} // namespace
} // namespace hookwerk::api
