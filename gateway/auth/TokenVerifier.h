// TokenVerifier: the subscriber's front door. Checks a JWT and returns what it
// grants, or why it was refused. No I/O after construction.
//
// The key decides the algorithm, never the token: `--jwt-secret` accepts HS256
// only; `--jwt-public-key` accepts RS256 for an RSA key and ES256 for a P-256 EC
// key. So `alg: none`, an HS256 token "signed" with the public key as its secret
// (the classic key-confusion forgery) and any other algorithm are refused before
// a signature is even looked at. `exp` and `nbf` are enforced with a leeway for
// clock skew; `aud` and `iss` when configured. Signatures are checked by
// cpp-jwt over OpenSSL: no cryptography is written here.
//
// A refusal carries a short reason for the log; the token itself is never put
// into a reason (tokens are credentials).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/config/Config.h"

namespace herald {

// What a valid token says about its holder.
struct TokenClaims {
  std::optional<std::string> subject;     // `sub`, a number as its decimal text
  std::vector<std::string> channels;      // `channels`: names, or prefixes ending in `*`
  std::optional<std::int64_t> expiresAt;  // `exp` in seconds since the epoch, when present
};

struct TokenRejection {
  std::string reason;  // for the log, e.g. "expired", "algorithm HS256 not accepted"
};

class TokenVerifier {
 public:
  struct Settings {
    std::string hmacSecret;    // HS256; or
    std::string publicKeyPem;  // RS256 / ES256, decided by the key's type
    std::chrono::seconds leeway{5};
    std::string audience;  // "" = not checked
    std::string issuer;    // "" = not checked
  };

  // Throws std::invalid_argument when neither or both keys are set, or the PEM is not
  // an RSA or P-256 public key.
  explicit TokenVerifier(Settings settings);

  // The verifier --jwt-secret / --jwt-secret-file / --jwt-public-key ask for, or
  // nullptr when none is set (open subscribing). Throws std::runtime_error naming the
  // setting when a file cannot be read or the key is unusable.
  static std::unique_ptr<TokenVerifier> fromConfig(const Config& config);

  std::variant<TokenClaims, TokenRejection> verify(std::string_view token) const;

  // "HS256", "RS256" or "ES256": the one algorithm accepted.
  const std::string& algorithm() const { return algorithm_; }
  std::chrono::seconds leeway() const { return settings_.leeway; }

 private:
  Settings settings_;
  std::string algorithm_;
  const std::string& key() const;
};

}  // namespace herald
