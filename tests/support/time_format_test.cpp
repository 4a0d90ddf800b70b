#include "actors/support/time_format.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

using namespace hookwerk::support;

TEST(time_format, formats_utc_with_seconds_precision) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1795766400000), "2026-11-27T08:00:00Z");
  EXPECT_EQ(format_rfc3339(1795766400999), "2026-11-27T08:00:00Z");
  EXPECT_EQ(format_rfc3339(951868799000), "2000-02-29T23:59:59Z");
  EXPECT_EQ(format_rfc3339(951868800000), "2000-03-01T00:00:00Z");
}

TEST(time_format, truncates_negative_times_to_the_earlier_second) {
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(-1000), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(-1001), "1969-12-31T23:59:58Z");
}

TEST(time_format, now_ms_follows_the_system_clock) {
  using namespace std::chrono;
  auto before = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  auto now = now_ms();
  auto after = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
  EXPECT_GT(now, 1600000000000); // after September 2020
}

TEST(time_format, is_safe_from_many_threads) {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < 2000; ++i) {
        int64_t ms = t == 0 ? 0 : 1795766400000;
        auto expected = t == 0 ? "1970-01-01T00:00:00Z" : "2026-11-27T08:00:00Z";
        if (format_rfc3339(ms) != expected)
          ++failures[static_cast<size_t>(t)];
      }
    });
  }
  for (auto& th : threads)
    th.join();
  for (int f : failures)
    EXPECT_EQ(f, 0);
}
