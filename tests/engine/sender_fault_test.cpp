// Whose fault a failed attempt is (delivery_result::at_fault): only the receiver's failures count
// toward deactivating a hook (SPEC §1 --failure-threshold); the server's own (its resolver, its
// descriptors and ports, shutting down) never do.
#include "engine/http_sender.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "common/dns_stub.hpp"
#include "common/ports.hpp"

namespace hookwerk::engine {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using test::dns_stub;

delivery_request request_to(std::string url, std::chrono::milliseconds timeout = 10s) {
  delivery_request request;
  request.hook_id = 1;
  request.target = delivery_target::make(std::move(url));
  request.headers = {{"Content-Type", "application/json"}};
  request.body = std::make_shared<const std::string>("{}");
  request.timeout = timeout;
  return request;
}

delivery_result send_and_wait(http_sender& sender, delivery_request request) {
  auto promise = std::make_shared<std::promise<delivery_result>>();
  auto future = promise->get_future();
  sender.send(std::move(request), [promise](delivery_result r) { promise->set_value(std::move(r)); });
  if (future.wait_for(30s) != std::future_status::ready) {
    ADD_FAILURE() << "no result within 30 s";
    return {};
  }
  return future.get();
}

http_sender_options with_dns(const std::string& servers) {
  http_sender_options options;
  options.allow_private_targets = true;
  options.dns_servers = servers;
  return options;
}

/// NXDOMAIN for names starting with "nx.", REFUSED for "refused.", silence for "silent.",
/// SERVFAIL for everything else.
dns_stub::rule by_prefix() {
  return [](const std::string& name) -> std::optional<dns_stub::rcode> {
    if (name.rfind("nx.", 0) == 0)
      return dns_stub::nxdomain;
    if (name.rfind("refused.", 0) == 0)
      return dns_stub::refused;
    if (name.rfind("silent.", 0) == 0)
      return std::nullopt;
    return dns_stub::servfail;
  };
}

TEST(SenderFault, TheResolversFailuresAreLocal) {
  dns_stub dns(by_prefix());
  http_sender sender(with_dns(dns.address()));

  const auto servfail = send_and_wait(sender, request_to("http://broken.hookwerk.test/"));
  EXPECT_TRUE(servfail.error.starts_with("dns: ")) << servfail.error;
  EXPECT_EQ(servfail.at_fault, fault::local) << servfail.error;
  EXPECT_TRUE(servfail.local_failure());

  const auto refused = send_and_wait(sender, request_to("http://refused.hookwerk.test/"));
  EXPECT_TRUE(refused.error.starts_with("dns: ")) << refused.error;
  EXPECT_EQ(refused.at_fault, fault::local) << refused.error;
  EXPECT_GT(dns.questions(), 0u);
}

TEST(SenderFault, ANameThatDoesNotExistIsTheReceivers) {
  dns_stub dns(by_prefix());
  http_sender sender(with_dns(dns.address()));
  const auto result = send_and_wait(sender, request_to("http://nx.hookwerk.test/"));
  EXPECT_EQ(result.error, "dns: Domain name not found");
  EXPECT_EQ(result.at_fault, fault::receiver);
  EXPECT_FALSE(result.local_failure());

  // Names under .invalid never exist (answered without asking DNS).
  const auto invalid = send_and_wait(sender, request_to("http://nothing.invalid/"));
  EXPECT_EQ(invalid.at_fault, fault::receiver) << invalid.error;
}

TEST(SenderFault, AnUnreachableResolverIsLocal) {
  http_sender sender(with_dns(dns_stub::unreachable_address()));
  const auto result = send_and_wait(sender, request_to("http://receiver.hookwerk.test/"));
  EXPECT_TRUE(result.error.starts_with("dns: ")) << result.error;
  EXPECT_EQ(result.at_fault, fault::local) << result.error;
}

TEST(SenderFault, ADeadlineReachedWhileResolvingIsLocal) {
  dns_stub dns(by_prefix());
  http_sender sender(with_dns(dns.address()));
  const auto result = send_and_wait(sender, request_to("http://silent.hookwerk.test/", 300ms));
  EXPECT_EQ(result.error, "dns: timeout");
  EXPECT_EQ(result.at_fault, fault::local);
  EXPECT_GE(result.duration, 300ms);
}

TEST(SenderFault, TheReceiversFailuresAreTheReceivers) {
  http_sender sender(with_dns(dns_stub::unreachable_address()));
  const auto refused =
      send_and_wait(sender, request_to("http://127.0.0.1:" + std::to_string(test::unused_port()) + "/"));
  EXPECT_EQ(refused.error, "connection refused");
  EXPECT_EQ(refused.at_fault, fault::receiver);

  // A receiver that accepts and never answers: a timeout waiting for it.
  asio::io_context io;
  tcp::acceptor hung(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto timeout = send_and_wait(
      sender, request_to("http://127.0.0.1:" + std::to_string(hung.local_endpoint().port()) + "/",
                         300ms));
  EXPECT_EQ(timeout.error, "timeout");
  EXPECT_EQ(timeout.at_fault, fault::receiver);

  EXPECT_EQ(send_and_wait(sender, request_to("not a url")).at_fault, fault::receiver);
}

TEST(SenderFault, AForbiddenAddressIsTheReceivers) {
  http_sender_options options;  // private targets not allowed
  http_sender sender(options);
  const auto result = send_and_wait(sender, request_to("http://127.0.0.1:9/"));
  EXPECT_TRUE(result.error.starts_with("target not allowed")) << result.error;
  EXPECT_EQ(result.at_fault, fault::receiver);
}

TEST(SenderFault, ShuttingDownIsLocal) {
  dns_stub dns(by_prefix());
  http_sender sender(with_dns(dns.address()));
  auto promise = std::make_shared<std::promise<delivery_result>>();
  auto future = promise->get_future();
  sender.send(request_to("http://silent.hookwerk.test/", 20s),
              [promise](delivery_result r) { promise->set_value(std::move(r)); });
  sender.stop();
  ASSERT_EQ(future.wait_for(0s), std::future_status::ready);
  const auto in_flight = future.get();
  EXPECT_EQ(in_flight.error, "shutting down");
  EXPECT_EQ(in_flight.at_fault, fault::local);

  const auto late = send_and_wait(sender, request_to("http://127.0.0.1:9/"));
  EXPECT_EQ(late.error, "shutting down");
  EXPECT_EQ(late.at_fault, fault::local);
}

} // namespace
} // namespace hookwerk::engine
