#include "gateway/auth/TokenVerifier.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cmath>
#include <fstream>
#include <jwt/jwt.hpp>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace herald {

namespace {

constexpr const char* kHmacAlgorithm = "HS256";
constexpr const char* kRsaAlgorithm = "RS256";
constexpr const char* kEcAlgorithm = "ES256";
// ES256 is ECDSA over P-256 (RFC 7518 3.4); another curve would need another algorithm.
constexpr std::string_view kP256GroupName = "prime256v1";
// JWTs are small; anything much larger is not a token, and parsing it only costs us.
constexpr std::size_t kMaxTokenBytes = 8 * 1024;
constexpr std::size_t kCompactJwsDots = 2;

bool isBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// The JWS compact form (RFC 7515 7.1): three base64url segments (no padding) joined by
// dots, header and payload not empty. Checked before cpp-jwt sees the token: its
// base64 decoder indexes a 256-entry table with a signed char, so a byte >= 0x80 reads
// outside the table (found by tests/fuzz/stream_request).
bool hasCompactJwsShape(std::string_view token) {
  std::size_t dots = 0;
  for (char c : token) {
    if (c == '.') {
      ++dots;
    } else if (!isBase64UrlChar(c)) {
      return false;
    }
  }
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  return dots == kCompactJwsDots && first > 0 && second > first + 1;
}

std::string readWholeFile(const std::string& setting, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw std::runtime_error(setting + ": cannot read " + path);
  }
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// Trailing blanks and newlines of a secret file are not part of the secret (editors add them).
std::string trimTrailingSpace(std::string text) {
  while (!text.empty() &&
         (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) {
    text.pop_back();
  }
  return text;
}

// The algorithm a PEM public key verifies: RS256 for RSA, ES256 for a P-256 EC key.
std::string algorithmForPublicKey(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                &BIO_free);
  if (!bio) {
    throw std::invalid_argument("out of memory reading the public key");
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) {
    throw std::invalid_argument("not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  }
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_RSA:
      return kRsaAlgorithm;
    case EVP_PKEY_EC: {
      char group[64] = {};
      std::size_t length = 0;
      if (EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &length) != 1 ||
          std::string_view(group, length) != kP256GroupName) {
        throw std::invalid_argument("an EC public key must be on P-256 (prime256v1) for ES256");
      }
      return kEcAlgorithm;
    }
    default:
      throw std::invalid_argument("the public key must be RSA (RS256) or EC P-256 (ES256)");
  }
}

// `exp` / `nbf` as whole seconds; nullopt when absent, a rejection reason when malformed.
std::variant<std::optional<std::int64_t>, TokenRejection> timeClaim(const nlohmann::json& payload,
                                                                    const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) {
    return std::optional<std::int64_t>{};
  }
  if (!it->is_number()) {
    return TokenRejection{std::string(name) + " is not a number"};
  }
  double value = it->get<double>();
  // Beyond this a time claim is nonsense, and converting it would overflow.
  constexpr double kLimit = static_cast<double>(std::numeric_limits<std::int32_t>::max()) * 1000;
  if (!std::isfinite(value) || value < 0 || value > kLimit) {
    return TokenRejection{std::string(name) + " is out of range"};
  }
  return std::optional<std::int64_t>{static_cast<std::int64_t>(std::floor(value))};
}

bool audienceMatches(const nlohmann::json& payload, const std::string& audience) {
  auto it = payload.find("aud");
  if (it == payload.end()) {
    return false;
  }
  if (it->is_string()) {
    return it->get<std::string>() == audience;
  }
  if (it->is_array()) {
    for (const auto& item : *it) {
      if (item.is_string() && item.get<std::string>() == audience) {
        return true;
      }
    }
  }
  return false;
}

std::variant<TokenClaims, TokenRejection> readClaims(const nlohmann::json& payload,
                                                     const TokenVerifier::Settings& settings) {
  TokenClaims claims;
  if (!payload.is_object()) {
    return TokenRejection{"payload is not a JSON object"};
  }
  auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto exp = timeClaim(payload, "exp");
  if (auto* rejected = std::get_if<TokenRejection>(&exp)) {
    return *rejected;
  }
  claims.expiresAt = std::get<std::optional<std::int64_t>>(exp);
  if (claims.expiresAt && now > *claims.expiresAt + settings.leeway.count()) {
    return TokenRejection{"expired"};
  }
  auto nbf = timeClaim(payload, "nbf");
  if (auto* rejected = std::get_if<TokenRejection>(&nbf)) {
    return *rejected;
  }
  if (auto notBefore = std::get<std::optional<std::int64_t>>(nbf);
      notBefore && now + settings.leeway.count() < *notBefore) {
    return TokenRejection{"not yet valid (nbf)"};
  }
  if (!settings.audience.empty() && !audienceMatches(payload, settings.audience)) {
    return TokenRejection{"audience (aud) does not match"};
  }
  if (!settings.issuer.empty()) {
    auto iss = payload.find("iss");
    if (iss == payload.end() || !iss->is_string() || iss->get<std::string>() != settings.issuer) {
      return TokenRejection{"issuer (iss) does not match"};
    }
  }
  if (auto sub = payload.find("sub"); sub != payload.end()) {
    if (sub->is_string()) {
      claims.subject = sub->get<std::string>();
    } else if (sub->is_number_integer()) {
      // A numeric user id is used as its decimal text: {"sub": 42} grants user:42.
      claims.subject = sub->dump();
    } else {
      return TokenRejection{"sub is neither a string nor an integer"};
    }
  }
  if (auto channels = payload.find("channels"); channels != payload.end()) {
    if (!channels->is_array()) {
      return TokenRejection{"channels is not an array"};
    }
    for (const auto& item : *channels) {
      if (!item.is_string()) {
        return TokenRejection{"channels holds a non-string"};
      }
      claims.channels.push_back(item.get<std::string>());
    }
  }
  return claims;
}

}  // namespace

TokenVerifier::TokenVerifier(Settings settings) : settings_(std::move(settings)) {
  if (settings_.hmacSecret.empty() == settings_.publicKeyPem.empty()) {
    throw std::invalid_argument("set exactly one of an HMAC secret and a public key");
  }
  algorithm_ = settings_.hmacSecret.empty() ? algorithmForPublicKey(settings_.publicKeyPem) : kHmacAlgorithm;
}

std::unique_ptr<TokenVerifier> TokenVerifier::fromConfig(const Config& config) {
  Settings settings;
  settings.leeway = std::chrono::duration_cast<std::chrono::seconds>(config.jwtLeeway);
  settings.audience = config.jwtAudience;
  settings.issuer = config.jwtIssuer;
  int sources = 0;
  if (!config.jwtSecret.empty()) {
    settings.hmacSecret = config.jwtSecret;
    ++sources;
  }
  if (!config.jwtSecretFile.empty()) {
    settings.hmacSecret = trimTrailingSpace(readWholeFile("--jwt-secret-file", config.jwtSecretFile));
    if (settings.hmacSecret.empty()) {
      throw std::runtime_error("--jwt-secret-file: " + config.jwtSecretFile + " is empty");
    }
    ++sources;
  }
  if (!config.jwtPublicKey.empty()) {
    settings.publicKeyPem = readWholeFile("--jwt-public-key", config.jwtPublicKey);
    ++sources;
  }
  if (sources == 0) {
    return nullptr;
  }
  if (sources > 1) {
    throw std::runtime_error("use one of --jwt-secret, --jwt-secret-file and --jwt-public-key");
  }
  try {
    return std::make_unique<TokenVerifier>(std::move(settings));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("--jwt-public-key " + config.jwtPublicKey + ": " + e.what());
  }
}

const std::string& TokenVerifier::key() const {
  return settings_.hmacSecret.empty() ? settings_.publicKeyPem : settings_.hmacSecret;
}

std::variant<TokenClaims, TokenRejection> TokenVerifier::verify(std::string_view token) const {
  if (token.empty()) {
    return TokenRejection{"empty token"};
  }
  if (token.size() > kMaxTokenBytes) {
    return TokenRejection{"token longer than " + std::to_string(kMaxTokenBytes) + " bytes"};
  }
  if (!hasCompactJwsShape(token)) {
    return TokenRejection{"not a compact JWS (three base64url parts)"};
  }
  std::error_code ec;
  try {
    // Only the configured algorithm is in the list: cpp-jwt refuses every other `alg`
    // (none included) before it checks a signature. Claims are then read by us, so the
    // rules for exp/nbf/aud/iss/sub/channels are the ones documented in one place.
    auto decoded =
        jwt::decode(jwt::string_view(token.data(), token.size()), jwt::params::algorithms({algorithm_}), ec,
                    jwt::params::secret(key()), jwt::params::verify(true),
                    jwt::params::leeway(static_cast<std::uint32_t>(settings_.leeway.count())));
    if (ec) {
      if (ec == jwt::VerificationErrc::InvalidAlgorithm) {
        return TokenRejection{"algorithm not accepted (only " + algorithm_ + ")"};
      }
      return TokenRejection{ec.message()};
    }
    return readClaims(decoded.payload().create_json_obj(), settings_);
  } catch (const std::exception& e) {
    // The library throws on some malformed input (e.g. a non-string `alg`); that is a bad token.
    return TokenRejection{std::string("malformed token: ") + e.what()};
  }
}

}  // namespace herald
