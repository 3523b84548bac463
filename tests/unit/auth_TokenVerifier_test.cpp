// TokenVerifier and ChannelGrants: every kind of token the front door must refuse,
// the ones it must accept, and what they grant.
#include <gtest/gtest.h>

#include "gateway/auth/ChannelGrants.h"
#include "gateway/auth/TokenVerifier.h"
#include "tests/support/TestTokens.h"

namespace herald {
namespace {

using nlohmann::json;
using test::hmacToken;
using test::nowSeconds;

constexpr const char* kSecret = "test-secret-of-reasonable-length";

TokenVerifier hmacVerifier(std::string audience = {}, std::string issuer = {}) {
  TokenVerifier::Settings settings;
  settings.hmacSecret = kSecret;
  settings.audience = std::move(audience);
  settings.issuer = std::move(issuer);
  return TokenVerifier(settings);
}

TokenVerifier publicKeyVerifier(const std::string& pem) {
  TokenVerifier::Settings settings;
  settings.publicKeyPem = pem;
  return TokenVerifier(settings);
}

TokenClaims accepted(const TokenVerifier& verifier, const std::string& token) {
  auto result = verifier.verify(token);
  if (auto* rejection = std::get_if<TokenRejection>(&result)) {
    ADD_FAILURE() << "refused: " << rejection->reason;
    return {};
  }
  return std::get<TokenClaims>(result);
}

std::string refused(const TokenVerifier& verifier, const std::string& token) {
  auto result = verifier.verify(token);
  EXPECT_TRUE(std::holds_alternative<TokenRejection>(result)) << "accepted: " << token;
  auto* rejection = std::get_if<TokenRejection>(&result);
  if (rejection != nullptr && token.size() > 8) {
    EXPECT_EQ(rejection->reason.find(token), std::string::npos) << "a reason must not quote the token";
  }
  return rejection ? rejection->reason : "";
}

TEST(TokenVerifier, AcceptsAValidHs256Token) {
  auto claims = accepted(hmacVerifier(), hmacToken({{"sub", "42"}, {"exp", nowSeconds() + 60}}, kSecret));
  EXPECT_EQ(claims.subject, "42");
  EXPECT_TRUE(claims.expiresAt);
}

TEST(TokenVerifier, NumericSubIsItsDecimalText) {
  auto claims = accepted(hmacVerifier(), hmacToken({{"sub", 1234567890123}}, kSecret));
  EXPECT_EQ(claims.subject, "1234567890123");
}

TEST(TokenVerifier, RefusesAlgNone) {
  refused(hmacVerifier(), test::unsignedToken({{"sub", "42"}}));
}

TEST(TokenVerifier, RefusesAnotherAlgorithmEvenWithTheRightSecret) {
  refused(hmacVerifier(), hmacToken({{"sub", "42"}}, kSecret, "HS384"));
  refused(hmacVerifier(), hmacToken({{"sub", "42"}}, kSecret, "HS512"));
}

TEST(TokenVerifier, RefusesTheWrongKey) {
  refused(hmacVerifier(), hmacToken({{"sub", "42"}}, "another-secret"));
}

TEST(TokenVerifier, RefusesExpiredAndNotYetValidBeyondTheLeeway) {
  refused(hmacVerifier(), hmacToken({{"sub", "42"}, {"exp", nowSeconds() - 60}}, kSecret));
  refused(hmacVerifier(), hmacToken({{"sub", "42"}, {"nbf", nowSeconds() + 60}}, kSecret));
  // Within the 5 s leeway both are still fine (clock skew between backend and gateway).
  accepted(hmacVerifier(), hmacToken({{"sub", "42"}, {"exp", nowSeconds() - 2}}, kSecret));
  accepted(hmacVerifier(), hmacToken({{"sub", "42"}, {"nbf", nowSeconds() + 2}}, kSecret));
}

TEST(TokenVerifier, RefusesMalformedTimeClaims) {
  refused(hmacVerifier(), hmacToken({{"sub", "42"}, {"exp", "tomorrow"}}, kSecret));
}

TEST(TokenVerifier, ChecksAudienceAndIssuerWhenConfigured) {
  auto verifier = hmacVerifier("herald", "https://auth.example");
  refused(verifier, hmacToken({{"sub", "1"}, {"aud", "other"}, {"iss", "https://auth.example"}}, kSecret));
  refused(verifier, hmacToken({{"sub", "1"}, {"iss", "https://auth.example"}}, kSecret));
  refused(verifier, hmacToken({{"sub", "1"}, {"aud", "herald"}, {"iss", "https://evil.example"}}, kSecret));
  accepted(verifier, hmacToken({{"sub", "1"}, {"aud", "herald"}, {"iss", "https://auth.example"}}, kSecret));
  accepted(verifier,
           hmacToken({{"sub", "1"}, {"aud", json::array({"x", "herald"})}, {"iss", "https://auth.example"}},
                     kSecret));
}

TEST(TokenVerifier, RefusesATamperedPayload) {
  std::string token = hmacToken({{"sub", "1"}}, kSecret);
  auto firstDot = token.find('.');
  auto secondDot = token.find('.', firstDot + 1);
  std::string forged =
      token.substr(0, firstDot + 1) + test::base64Url(R"({"sub":"2"})") + token.substr(secondDot);
  refused(hmacVerifier(), forged);
}

TEST(TokenVerifier, RefusesGarbage) {
  for (const std::string& token :
       std::vector<std::string>{"", ".", "..", "a.b.c", "eyJhbGciOiJIUzI1NiJ9..", "eyJhbGciOjF9.e30.c2ln",
                                std::string(10000, 'a')}) {
    refused(hmacVerifier(), token);
  }
}

TEST(TokenVerifier, Rs256KeyAcceptsRs256Only) {
  auto key = test::makeRsaKey();
  auto verifier = publicKeyVerifier(key.publicPem);
  EXPECT_EQ(verifier.algorithm(), "RS256");
  EXPECT_EQ(accepted(verifier, test::rs256Token({{"sub", "7"}}, key)).subject, "7");
  refused(verifier, test::rs256Token({{"sub", "7"}}, test::makeRsaKey()));  // another key
  // Key confusion: HS256 "signed" with the public key as the secret.
  refused(verifier, hmacToken({{"sub", "7"}}, key.publicPem));
  refused(verifier, test::unsignedToken({{"sub", "7"}}));
}

TEST(TokenVerifier, Es256KeyAcceptsEs256Only) {
  auto key = test::makeEcKey();
  auto verifier = publicKeyVerifier(key.publicPem);
  EXPECT_EQ(verifier.algorithm(), "ES256");
  EXPECT_EQ(accepted(verifier, test::es256Token({{"sub", "7"}}, key)).subject, "7");
  refused(verifier, hmacToken({{"sub", "7"}}, key.publicPem));
  refused(verifier, test::es256Token({{"sub", "7"}}, test::makeEcKey()));
}

TEST(TokenVerifier, ABadPublicKeyIsAnError) {
  EXPECT_THROW(publicKeyVerifier("not a key"), std::invalid_argument);
  EXPECT_THROW(TokenVerifier(TokenVerifier::Settings{}), std::invalid_argument);
}

TEST(ChannelGrants, SubGrantsItsUserChannelOnly) {
  TokenClaims claims{"1", {}, std::nullopt};
  EXPECT_TRUE(grantsChannel(claims, "user:1"));
  EXPECT_FALSE(grantsChannel(claims, "user:10"));
  EXPECT_FALSE(grantsChannel(claims, "user:"));
  EXPECT_FALSE(grantsChannel(TokenClaims{}, "user:1"));  // no sub, no channels
}

TEST(ChannelGrants, ExactNamesAndPrefixes) {
  TokenClaims claims{std::nullopt, {"news", "user:1*"}, std::nullopt};
  EXPECT_TRUE(grantsChannel(claims, "news"));
  EXPECT_FALSE(grantsChannel(claims, "news2"));
  EXPECT_TRUE(grantsChannel(claims, "user:1"));
  EXPECT_TRUE(grantsChannel(claims, "user:10"));  // a prefix is a prefix: grant user:1 to mean one user
  EXPECT_FALSE(grantsChannel(claims, "user:2"));
  EXPECT_FALSE(grantsChannel(claims, "user:"));
  EXPECT_TRUE(grantsChannel(TokenClaims{std::nullopt, {"*"}, std::nullopt}, "anything"));
}

}  // namespace
}  // namespace herald
