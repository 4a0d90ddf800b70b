#include <gtest/gtest.h>

#include "api/error_table.hpp"
#include "api/server.hpp"

namespace hookwerk::api {
namespace {

TEST(connection_cap, keeps_a_quarter_of_the_descriptors_at_least_64_at_most_half) {
  EXPECT_EQ(connection_cap(10'000, 256), 192u);
  EXPECT_EQ(connection_cap(10'000, 1024), 768u);
  EXPECT_EQ(connection_cap(10'000, 100), 50u);
  EXPECT_EQ(connection_cap(10'000, 1'048'576), 10'000u);
  EXPECT_EQ(connection_cap(8, 256), 8u);
  EXPECT_EQ(connection_cap(10'000, 1), 1u);
  EXPECT_EQ(connection_cap(10'000, 0), 1u);
}

TEST(outbound_cap, takes_half_of_the_reserve) {
  EXPECT_EQ(outbound_cap(4'096, 256), 32u);
  EXPECT_EQ(outbound_cap(4'096, 1024), 128u);
  EXPECT_EQ(outbound_cap(4'096, 20'000), 2'500u);
  EXPECT_EQ(outbound_cap(4'096, 1'048'576), 4'096u);
  EXPECT_EQ(outbound_cap(10, 1024), 10u);
  EXPECT_EQ(outbound_cap(4'096, 0), 1u);
}

TEST(timeout_response, management_gets_the_envelope_with_error_9_others_503) {
  auto mgmt = timeout_response("/webservice/webservice/json/GetWebHooks");
  EXPECT_EQ(mgmt.status, 200u);
  EXPECT_EQ(mgmt.body, R"({"error":9,"message":"internal error","result":null})");
  auto ingest = timeout_response("/v1/events");
  EXPECT_EQ(ingest.status, 503u);
  EXPECT_EQ(ingest.body, R"({"error":"request timed out, retry later"})");
  for (const auto& res : {mgmt, ingest}) {
    ASSERT_EQ(res.headers.size(), 1u);
    EXPECT_EQ(res.headers[0].first, "Retry-After");
    EXPECT_EQ(res.headers[0].second, "1");
  }
}

} // namespace
} // namespace hookwerk::api
