#include "actors/support/crypto.hpp"

#include "actors/support/base64.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

namespace hookwerk::support {

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    size_t chunk = n - done;
    if (chunk > static_cast<size_t>(INT_MAX))
      chunk = static_cast<size_t>(INT_MAX);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data() + done), static_cast<int>(chunk)) != 1) {
      std::fputs("fatal: RAND_bytes failed; no secure randomness available\n", stderr);
      std::abort();
    }
    done += chunk;
  }
  return out;
}

std::string random_token(size_t bytes) {
  return base64url_encode(random_bytes(bytes));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  // An empty key is legal; pass a valid pointer so OpenSSL does not treat it as "no key".
  static const unsigned char empty_key = 0;
  const void* key_ptr = key.empty() ? static_cast<const void*>(&empty_key) : key.data();
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &mac_len) == nullptr)
    return {};
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &digest_len, EVP_sha256(), nullptr) != 1)
    return {};
  return std::string(reinterpret_cast<const char*>(digest), digest_len);
}

std::string pbkdf2_sha256(std::string_view password, std::string_view salt, uint32_t iterations,
                          size_t length) {
  if (iterations == 0 || iterations > static_cast<uint32_t>(INT_MAX) || length == 0
      || length > static_cast<size_t>(INT_MAX) || password.size() > static_cast<size_t>(INT_MAX)
      || salt.size() > static_cast<size_t>(INT_MAX))
    return {};
  std::string out(length, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(length), reinterpret_cast<unsigned char*>(out.data()))
      != 1)
    return {};
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  if (a.empty())
    return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string to_hex(std::string_view data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (char c : data) {
    auto byte = static_cast<unsigned char>(c);
    out += digits[byte >> 4];
    out += digits[byte & 0x0f];
  }
  return out;
}

std::string make_webhook_secret() {
  return "whsec_" + base64_encode(random_bytes(24));
}

namespace {

/// The HMAC key of a webhook secret: the base64-decoded part after "whsec_", or that
/// part's raw bytes when it is not valid base64.
std::string webhook_key(std::string_view secret) {
  constexpr std::string_view prefix = "whsec_";
  std::string_view encoded = secret;
  if (encoded.substr(0, prefix.size()) == prefix)
    encoded.remove_prefix(prefix.size());
  auto key = base64_decode(encoded);
  return key ? std::move(*key) : std::string{encoded};
}

} // namespace

std::string sign_webhook(std::string_view secret, std::string_view msg_id, int64_t timestamp,
                         std::string_view body) {
  const std::string key = webhook_key(secret);
  std::string ts = std::to_string(timestamp);
  std::string message;
  message.reserve(msg_id.size() + ts.size() + body.size() + 2);
  message.append(msg_id).append(1, '.').append(ts).append(1, '.').append(body);
  return "v1," + base64_encode(hmac_sha256(key, message));
}

void webhook_signer::free_ctx::operator()(evp_mac_ctx_st* ctx) const noexcept {
  EVP_MAC_CTX_free(ctx);
}

webhook_signer::webhook_signer(std::string_view secret) : secret_(secret) {
  // Fetched once for the process; the algorithm object is shared and read-only.
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac == nullptr)
    return;
  std::unique_ptr<evp_mac_ctx_st, free_ctx> ctx{EVP_MAC_CTX_new(hmac)};
  if (!ctx)
    return;
  std::string key = webhook_key(secret);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  // An empty key is legal; pass a valid pointer so OpenSSL does not treat it as "no key".
  static const unsigned char empty_key = 0;
  const auto* key_ptr =
    key.empty() ? &empty_key : reinterpret_cast<const unsigned char*>(key.data());
  const bool keyed = EVP_MAC_init(ctx.get(), key_ptr, key.size(), params) == 1;
  OPENSSL_cleanse(key.data(), key.size());
  if (keyed)
    ctx_ = std::move(ctx);
}

std::string webhook_signer::sign(std::string_view msg_id, int64_t timestamp,
                                 std::string_view body) {
  if (!ctx_)
    return sign_webhook(secret_, msg_id, timestamp, body);
  // A null key starts a new MAC under the key given at construction.
  if (EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr) != 1)
    return sign_webhook(secret_, msg_id, timestamp, body);
  const std::string ts = std::to_string(timestamp);
  bool ok = true;
  for (std::string_view part : {msg_id, std::string_view{"."}, std::string_view{ts},
                                std::string_view{"."}, body})
    ok = ok && EVP_MAC_update(ctx_.get(), reinterpret_cast<const unsigned char*>(part.data()),
                              part.size()) == 1;
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  if (!ok || EVP_MAC_final(ctx_.get(), mac, &mac_len, sizeof mac) != 1)
    return sign_webhook(secret_, msg_id, timestamp, body);
  return "v1," + base64_encode(std::string_view{reinterpret_cast<const char*>(mac), mac_len});
}

} // namespace hookwerk::support
