#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX, kept out of this header

/// Cryptographic primitives on top of OpenSSL 3 (randomness, SHA-256, HMAC, PBKDF2) and the
/// Standard Webhooks signature. All functions are safe to call from any thread; none throws.
/// Byte strings are carried in std::string.
namespace hookwerk::support {

/// `n` bytes from OpenSSL's CSPRNG. Aborts the process with a message on stderr if the
/// generator fails, since no caller could continue safely without randomness.
std::string random_bytes(size_t n);

/// An unguessable token: base64url (no padding) of `bytes` random bytes.
std::string random_token(size_t bytes = 24);

/// HMAC-SHA256 of `data` under `key`; the raw 32-byte MAC.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// SHA-256 of `data`; the raw 32-byte digest.
std::string sha256(std::string_view data);

/// PBKDF2-HMAC-SHA256; `length` raw bytes. Slow by design at high iteration counts: do not
/// call on an actor scheduler thread. Returns an empty string if OpenSSL refuses the parameters
/// (e.g. zero iterations).
std::string pbkdf2_sha256(std::string_view password, std::string_view salt, uint32_t iterations,
                          size_t length = 32);

/// Compares in time independent of the contents. Different lengths compare unequal (the length
/// itself is not hidden).
bool constant_time_equal(std::string_view a, std::string_view b);

/// Lower-case hexadecimal of `data`.
std::string to_hex(std::string_view data);

/// A new webhook signing secret: "whsec_" + base64 of 24 random bytes.
std::string make_webhook_secret();

/// The Standard Webhooks `webhook-signature` value for one delivery:
/// "v1," + base64(HMAC-SHA256(key, "<msg_id>.<timestamp>.<body>")), where key is the
/// base64-decoded part of `secret` after its "whsec_" prefix. A secret without that prefix is
/// decoded whole; a secret whose key part is not valid base64 is used as raw bytes.
std::string sign_webhook(std::string_view secret, std::string_view msg_id, int64_t timestamp,
                         std::string_view body);

/// `sign_webhook` for many deliveries under one secret: the key is decoded and the HMAC
/// keyed once, and each signature hashes the message's parts in place instead of a copy.
/// One signature costs about a third of `sign_webhook`'s. Not thread-safe (one owner, e.g.
/// a hook actor); movable.
class webhook_signer {
public:
  explicit webhook_signer(std::string_view secret);

  /// The secret it was made for.
  const std::string& secret() const noexcept { return secret_; }

  /// The same value as `sign_webhook(secret(), msg_id, timestamp, body)`.
  std::string sign(std::string_view msg_id, int64_t timestamp, std::string_view body);

private:
  struct free_ctx {
    void operator()(evp_mac_ctx_st* ctx) const noexcept;
  };
  std::string secret_;
  /// Keyed once; null if OpenSSL refused, and `sign` then falls back to `sign_webhook`.
  std::unique_ptr<evp_mac_ctx_st, free_ctx> ctx_;
};

} // namespace hookwerk::support
