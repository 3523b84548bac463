#include "gateway/core/CorsPolicy.h"

#include <algorithm>

namespace herald {

namespace {
constexpr std::string_view kAnyOrigin = "*";
// Browsers cap this themselves (Chrome: 2 h); 10 minutes keeps preflights rare
// without pinning a changed allow-list in browsers for long.
constexpr std::string_view kPreflightMaxAgeSeconds = "600";
// Asked for when the browser names no headers: what Herald's clients send.
constexpr std::string_view kDefaultAllowedHeaders =
    "Authorization, Content-Type, Idempotency-Key, Last-Event-ID";

// A header value echoed back must not smuggle a line break into our answer.
bool isSafeHeaderValue(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}
}  // namespace

CorsPolicy::CorsPolicy(std::vector<std::string> allowedOrigins) {
  for (auto& origin : allowedOrigins) {
    if (origin == kAnyOrigin) {
      anyOrigin_ = true;
    } else {
      exactOrigins_.push_back(std::move(origin));
    }
  }
}

const std::string* CorsPolicy::match(std::string_view origin) const {
  if (origin.empty() || !isSafeHeaderValue(origin)) {
    return nullptr;
  }
  auto exact = std::find(exactOrigins_.begin(), exactOrigins_.end(), origin);
  if (exact != exactOrigins_.end()) {
    return &*exact;
  }
  return anyOrigin_ ? &anyOriginEntry_ : nullptr;
}

HeaderList CorsPolicy::headersFor(const std::string& entry) {
  if (entry == kAnyOrigin) {
    return {{"Access-Control-Allow-Origin", std::string(kAnyOrigin)}};
  }
  return {{"Access-Control-Allow-Origin", entry},
          {"Access-Control-Allow-Credentials", "true"},
          {"Vary", "Origin"}};
}

HeaderList CorsPolicy::responseHeaders(std::string_view origin) const {
  const std::string* entry = match(origin);
  return entry == nullptr ? HeaderList{} : headersFor(*entry);
}

HeaderList CorsPolicy::preflightHeaders(std::string_view origin, std::string_view allowMethods,
                                        std::string_view requestedHeaders) const {
  HeaderList headers = responseHeaders(origin);
  if (headers.empty()) {
    return headers;
  }
  bool echoRequested = !requestedHeaders.empty() && isSafeHeaderValue(requestedHeaders);
  headers.emplace_back("Access-Control-Allow-Methods", std::string(allowMethods));
  headers.emplace_back("Access-Control-Allow-Headers",
                       std::string(echoRequested ? requestedHeaders : kDefaultAllowedHeaders));
  headers.emplace_back("Access-Control-Max-Age", std::string(kPreflightMaxAgeSeconds));
  return headers;
}

std::string CorsPolicy::asHeaderLines(const HeaderList& headers) {
  std::string lines;
  for (const auto& [name, value] : headers) {
    lines += name;
    lines += ": ";
    lines += value;
    lines += "\r\n";
  }
  return lines;
}

}  // namespace herald
