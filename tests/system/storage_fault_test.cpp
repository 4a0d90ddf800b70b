// SPEC §4, §7 and the storage decisions: the real server on a tmpfs filled to the brim. A failed
// write turns /readyz to 503, ingestion to 503 with Retry-After and changes to error 9; once space
// is back the server resumes the database by itself, serves again, and every event that got a 202
// (before and after) reaches the receiver.
#include "system/delivery_support.hpp"
#include "system/harness.hpp"
#include "system/receiver.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/tmpfs.hpp"

namespace hookwerk::system_test {
namespace {

constexpr auto arrival_timeout = 60s;
// Resume attempts back off to 10 s; generous on a shared machine.
constexpr auto recovery_timeout = 60s;

bool metric_is(const server_process& server, std::string_view line) {
  const auto r = server.get("/metrics");
  return r.status == 200 && r.body.find(std::string{line} + "\n") != std::string::npos;
}

TEST(StorageFault, AFullDiskIsVisibleRefusedAndRecoveredFromWithoutLosingAcceptedEvents) {
  test::tmpfs_mount disk{48};
  if (!disk.mounted())
    GTEST_SKIP() << disk.why();
  // The receiver refuses until the storage has failed, so that the first events are delivered
  // while it fails: the writes recording those deliveries must wait for the recovery, not vanish.
  std::atomic<bool> storage_failed{false};
  receiver rx;
  rx.set_responder([&storage_failed](const received_request&) -> std::optional<reply> {
    if (!storage_failed.load()) return reply::status_only(503);
    return std::nullopt;
  });
  auto options = delivery_server_options();
  options.data_dir = disk.sub("data");
  server_process server(options);

  credentials acme;
  ASSERT_TRUE(make_account(server, "acme", acme));
  const auto event = fresh_event();
  webhook hook;
  ASSERT_TRUE(create_webhook(server, acme, "disk", event, rx.url("/disk"), hook));
  EXPECT_TRUE(metric_is(server, "hookwerk_storage_healthy 1"));

  std::vector<std::string> accepted;  // every event id answered 202
  int seq = 0;
  auto post = [&](std::string_view padding) {
    ++seq;
    const auto body =
        event_json(acme.username, event, "{\"seq\":" + std::to_string(seq) + ",\"pad\":\"" + std::string{padding} + "\"}");
    return ingest(server, body);
  };
  for (int i = 0; i < 3; ++i) {
    accepted_event ev;
    ASSERT_TRUE(parse_accepted(post(""), ev));
    accepted.push_back(ev.id);
  }

  // Fill the disk; then events (large ones help use up what is left) until one is refused.
  disk.fill("filler");
  const std::string pad(100'000, 'p');
  http_response refused;
  ASSERT_TRUE(eventually([&] {
    const auto r = post(pad);
    accepted_event ev;
    if (r.status == 202 && parse_accepted(r, ev)) {
      accepted.push_back(ev.id);
      return false;
    }
    refused = r;
    return true;
  }, 30s, 1ms)) << "no ingestion was refused on a full disk";
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_TRUE(refused.header("Retry-After").has_value()) << "a refused event says when to retry";
  EXPECT_TRUE(is_error_body(refused, 503));

  EXPECT_TRUE(eventually([&] { return server.get("/readyz").status == 503; }, 10s))
      << "/readyz reports the failing storage";
  storage_failed = true;
  const std::vector<std::string> first(accepted.begin(), accepted.begin() + 3);
  EXPECT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, first); }, arrival_timeout))
      << "deliveries go on while the storage fails; " << describe(rx.requests());
  const auto again = post("");
  EXPECT_EQ(again.status, 503) << again.body;
  EXPECT_TRUE(again.header("Retry-After").has_value());
  EXPECT_TRUE(is_error(server.call_as(acme, "CreateWebHook",
                                      {{"app", "x"}, {"event", event}, {"url", rx.url("/other")}}),
                       9, "internal error"));
  EXPECT_TRUE(is_error(server.call_as(acme, "DeleteWebHookById", {{"id", std::to_string(hook.id)}}), 9,
                       "internal error"));
  EXPECT_TRUE(metric_is(server, "hookwerk_storage_healthy 0"));
  EXPECT_NE(server.stderr_text().find("storage error"), std::string::npos) << server.stderr_text();

  std::filesystem::remove(disk.sub("filler"));
  EXPECT_TRUE(eventually([&] { return server.get("/readyz").status == 200; }, recovery_timeout, 100ms))
      << "the server resumes the database once space is back; " << server.stderr_text();
  EXPECT_NE(server.stderr_text().find("storage recovered"), std::string::npos) << server.stderr_text();
  EXPECT_TRUE(metric_is(server, "hookwerk_storage_healthy 1"));
  EXPECT_TRUE(metric_is(server, "hookwerk_storage_recoveries_total 1"));

  for (int i = 0; i < 3; ++i) {
    accepted_event ev;
    ASSERT_TRUE(parse_accepted(post(""), ev));
    accepted.push_back(ev.id);
  }
  std::vector<webhook> hooks;
  ASSERT_TRUE(list_webhooks(server, acme, hooks));
  EXPECT_EQ(hooks.size(), 1u) << "the refused CreateWebHook and DeleteWebHookById changed nothing";

  EXPECT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, accepted); }, arrival_timeout))
      << accepted.size() << " accepted events; " << describe(rx.requests());

  // What was written while the disk was full (the first events' deliveries among it) was made
  // durable after the recovery: a restart redelivers nothing that was delivered.
  ASSERT_EQ(server.terminate(), 0) << server.stderr_text();
  const auto delivered = rx.count();
  {
    server_process restarted(options);
    accepted_event marker;
    ASSERT_TRUE(post_event(restarted, acme.username, event, R"({"marker":true})", marker));
    ASSERT_TRUE(rx.wait_until([&](const auto& all) { return all_delivered(all, {marker.id}); }, arrival_timeout))
        << describe(rx.requests());
    EXPECT_EQ(rx.count(), delivered + 1) << describe(rx.requests());
  }
}

}  // namespace
}  // namespace hookwerk::system_test
