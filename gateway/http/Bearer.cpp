#include "gateway/http/Bearer.h"

#include <cctype>

namespace herald {

namespace {
constexpr std::string_view kBlanks = " \t\r";
constexpr std::string_view kScheme = "bearer ";

std::string_view trim(std::string_view text) {
  auto first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(kBlanks) - first + 1);
}
}  // namespace

std::optional<std::string_view> bearerToken(std::string_view authorization) {
  authorization = trim(authorization);
  if (authorization.size() <= kScheme.size()) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) {
      return std::nullopt;
    }
  }
  auto token = trim(authorization.substr(kScheme.size()));
  if (token.empty()) {
    return std::nullopt;
  }
  return token;
}

}  // namespace herald
