// TestTokens: JWTs for tests, built by hand so a test can make any token a
// backend (or an attacker) could: signed right, signed with the wrong key or
// algorithm, `alg: none`, tampered after signing. Signatures come from OpenSSL
// (HMAC, EVP_DigestSign); keys are generated fresh per test run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace herald::test {

std::string base64Url(std::string_view bytes);

// `header.payload.signature` with an HMAC over SHA-256/384/512 for HS256/HS384/HS512.
std::string hmacToken(const nlohmann::json& payload, std::string_view secret, std::string_view alg = "HS256");

// `alg: none` with an empty signature.
std::string unsignedToken(const nlohmann::json& payload);

struct KeyPair {
  std::string privatePem;
  std::string publicPem;
};
KeyPair makeRsaKey();
KeyPair makeEcKey();  // P-256

// RS256 with an RSA key, ES256 (JWS r||s signature) with an EC key.
std::string rs256Token(const nlohmann::json& payload, const KeyPair& key);
std::string es256Token(const nlohmann::json& payload, const KeyPair& key);

// Seconds since the epoch, for exp/nbf.
long long nowSeconds();

}  // namespace herald::test
