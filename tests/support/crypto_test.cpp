#include "actors/support/crypto.hpp"

#include "actors/support/base64.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace hookwerk::support;

TEST(crypto, random_bytes_has_requested_length_and_varies) {
  EXPECT_EQ(random_bytes(0).size(), 0u);
  EXPECT_EQ(random_bytes(1).size(), 1u);
  EXPECT_EQ(random_bytes(100).size(), 100u);
  EXPECT_NE(random_bytes(32), random_bytes(32));
}

TEST(crypto, random_token_is_url_safe_and_unique) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto token = random_token();
    EXPECT_EQ(token.size(), 32u); // 24 bytes -> 32 characters
    EXPECT_EQ(token.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos)
      << token;
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(random_token(16).size(), 22u);
}

TEST(crypto, sha256_matches_fips_vectors) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(crypto, hmac_sha256_matches_rfc4231) {
  // Test case 2.
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 1.
  EXPECT_EQ(to_hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 6: key longer than the block size.
  EXPECT_EQ(to_hex(hmac_sha256(std::string(131, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(crypto, hmac_sha256_accepts_empty_key_and_data) {
  EXPECT_EQ(to_hex(hmac_sha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(crypto, pbkdf2_sha256_matches_known_vectors) {
  EXPECT_EQ(to_hex(pbkdf2_sha256("password", "salt", 1)),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
  EXPECT_EQ(to_hex(pbkdf2_sha256("password", "salt", 2)),
            "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43");
  EXPECT_EQ(to_hex(pbkdf2_sha256("password", "salt", 4096)),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
  // RFC 7914 section 11.
  EXPECT_EQ(to_hex(pbkdf2_sha256("passwd", "salt", 1, 64)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
            "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
}

TEST(crypto, pbkdf2_sha256_rejects_zero_iterations_and_length) {
  EXPECT_EQ(pbkdf2_sha256("password", "salt", 0), "");
  EXPECT_EQ(pbkdf2_sha256("password", "salt", 1, 0), "");
}

TEST(crypto, constant_time_equal_compares_contents_and_length) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(crypto, to_hex_is_lower_case) {
  EXPECT_EQ(to_hex(""), "");
  EXPECT_EQ(to_hex(std::string("\x00\x0f\xab\xff", 4)), "000fabff");
}

TEST(crypto, webhook_secret_has_prefix_and_24_random_bytes) {
  auto secret = make_webhook_secret();
  ASSERT_EQ(secret.substr(0, 6), "whsec_");
  EXPECT_EQ(secret.size(), 6u + 32u);
  auto key = base64_decode(secret.substr(6));
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->size(), 24u);
  EXPECT_NE(make_webhook_secret(), secret);
}

TEST(crypto, sign_webhook_matches_standard_webhooks_vector) {
  EXPECT_EQ(sign_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                         1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(crypto, webhook_signer_signs_as_sign_webhook_does) {
  // The Standard Webhooks test vector, then many signatures from one signer.
  webhook_signer vector_signer{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  EXPECT_EQ(vector_signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                               R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  for (std::string secret : {make_webhook_secret(), std::string{"whsec_"}, std::string{"not base64!"},
                             std::string{"whsec_%%%"}}) {
    webhook_signer signer{secret};
    EXPECT_EQ(signer.secret(), secret);
    for (int i = 0; i < 3; ++i) {
      const std::string body(static_cast<size_t>(i) * 700, 'b');
      EXPECT_EQ(signer.sign("msg_" + std::to_string(i), 1000 + i, body),
                sign_webhook(secret, "msg_" + std::to_string(i), 1000 + i, body))
        << secret << " #" << i;
    }
  }
  webhook_signer moved = std::move(vector_signer);
  EXPECT_EQ(moved.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(crypto, sign_webhook_depends_on_every_input) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const auto base = sign_webhook(secret, "msg_1", 1000, "{}");
  EXPECT_NE(sign_webhook(secret, "msg_2", 1000, "{}"), base);
  EXPECT_NE(sign_webhook(secret, "msg_1", 1001, "{}"), base);
  EXPECT_NE(sign_webhook(secret, "msg_1", 1000, "{ }"), base);
  EXPECT_NE(sign_webhook(make_webhook_secret(), "msg_1", 1000, "{}"), base);
  EXPECT_EQ(sign_webhook(secret, "msg_1", 1000, "{}"), base);
}

TEST(crypto, sign_webhook_uses_decoded_key) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  auto key = base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(sign_webhook(secret, "id", 5, "body"),
            "v1," + base64_encode(hmac_sha256(*key, "id.5.body")));
}
