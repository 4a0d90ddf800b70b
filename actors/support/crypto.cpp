#include "actors/support/crypto.hpp"

#include "actors/support/base64.hpp"

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

std::string sign_webhook(std::string_view secret, std::string_view msg_id, int64_t timestamp,
                         std::string_view body) {
  constexpr std::string_view prefix = "whsec_";
  std::string_view encoded = secret;
  if (encoded.substr(0, prefix.size()) == prefix)
    encoded.remove_prefix(prefix.size());
  auto key = base64_decode(encoded);
  std::string ts = std::to_string(timestamp);
  std::string message;
  message.reserve(msg_id.size() + ts.size() + body.size() + 2);
  message.append(msg_id).append(1, '.').append(ts).append(1, '.').append(body);
  std::string mac = key ? hmac_sha256(*key, message) : hmac_sha256(encoded, message);
  return "v1," + base64_encode(mac);
}

} // namespace hookwerk::support
