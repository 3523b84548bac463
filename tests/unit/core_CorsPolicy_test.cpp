// CorsPolicy: exact origins with credentials, `*` without, nothing for the rest.
#include <gtest/gtest.h>

#include "gateway/core/CorsPolicy.h"

namespace herald {
namespace {

bool has(const HeaderList& headers, const std::string& name, const std::string& value) {
  for (const auto& [n, v] : headers) {
    if (n == name && v == value) {
      return true;
    }
  }
  return false;
}

TEST(CorsPolicy, ExactOriginGetsCredentials) {
  CorsPolicy policy({"https://a.example"});
  auto headers = policy.responseHeaders("https://a.example");
  EXPECT_TRUE(has(headers, "Access-Control-Allow-Origin", "https://a.example"));
  EXPECT_TRUE(has(headers, "Access-Control-Allow-Credentials", "true"));
  EXPECT_TRUE(has(headers, "Vary", "Origin"));
  EXPECT_TRUE(policy.responseHeaders("https://b.example").empty());
  EXPECT_TRUE(policy.responseHeaders("").empty());
  EXPECT_TRUE(policy.responseHeaders("https://a.example.evil").empty());
}

TEST(CorsPolicy, WildcardNeverCarriesCredentials) {
  CorsPolicy policy({"*", "https://a.example"});
  auto other = policy.responseHeaders("https://b.example");
  EXPECT_TRUE(has(other, "Access-Control-Allow-Origin", "*"));
  EXPECT_FALSE(has(other, "Access-Control-Allow-Credentials", "true"));
  EXPECT_TRUE(has(policy.responseHeaders("https://a.example"), "Access-Control-Allow-Credentials", "true"));
}

TEST(CorsPolicy, PreflightOnlyForAllowedOrigins) {
  CorsPolicy policy({"https://a.example"});
  EXPECT_TRUE(policy.preflightHeaders("https://b.example", "GET", "x").empty());
  auto headers = policy.preflightHeaders("https://a.example", "GET, OPTIONS", "authorization\r\nX: y");
  EXPECT_TRUE(has(headers, "Access-Control-Allow-Methods", "GET, OPTIONS"));
  // A value with a line break is not echoed into our headers.
  for (const auto& [name, value] : headers) {
    EXPECT_EQ(value.find('\n'), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace herald
