#include "api/HttpRules.h"

#include <algorithm>
#include <cctype>

#include "gateway/http/Bearer.h"

namespace herald {

namespace {

constexpr std::string_view kBlanks = " \t\r";

std::string_view trim(std::string_view text) {
  auto first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) {
    return {};
  }
  auto last = text.find_last_not_of(kBlanks);
  return text.substr(first, last - first + 1);
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Compares without an early exit, so the time taken does not reveal how much of a key matched.
bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace

bool isJsonContentType(std::string_view contentType) {
  auto semicolon = contentType.find(';');
  if (!equalsIgnoringCase(trim(contentType.substr(0, semicolon)), "application/json")) {
    return false;
  }
  if (semicolon == std::string_view::npos) {
    return true;
  }
  // JSON is UTF-8; any other parameter (another charset) is not a body we can read as sent.
  auto parameter = trim(contentType.substr(semicolon + 1));
  auto equals = parameter.find('=');
  if (equals == std::string_view::npos || !equalsIgnoringCase(trim(parameter.substr(0, equals)), "charset")) {
    return false;
  }
  auto charset = trim(parameter.substr(equals + 1));
  return equalsIgnoringCase(charset, "utf-8") || equalsIgnoringCase(charset, "\"utf-8\"");
}

bool isLoopbackAddress(std::string_view address) {
  constexpr std::string_view kMappedPrefix = "::ffff:";
  if (address.size() > kMappedPrefix.size() &&
      equalsIgnoringCase(address.substr(0, kMappedPrefix.size()), kMappedPrefix)) {
    address.remove_prefix(kMappedPrefix.size());
  }
  return address == "::1" || address.rfind("127.", 0) == 0;
}

const std::string* bearerKey(std::string_view authorization, const std::vector<std::string>& keys) {
  auto presented = bearerToken(authorization);
  if (!presented) {
    return nullptr;
  }
  // Every key is compared, so the time taken does not tell which one matched.
  const std::string* matched = nullptr;
  for (const auto& key : keys) {
    if (!key.empty() && constantTimeEquals(*presented, key) && matched == nullptr) {
      matched = &key;
    }
  }
  return matched;
}

bool bearerMatchesKey(std::string_view authorization, const std::vector<std::string>& keys) {
  return bearerKey(authorization, keys) != nullptr;
}

bool isLoopbackHost(std::string_view host) {
  host = trim(host);
  if (host.empty()) {
    return true;  // HTTP/1.0 without Host: nothing a browser would send
  }
  std::string_view name = host;
  if (name.front() == '[') {
    auto close = name.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    name = name.substr(1, close - 1);
  } else if (auto colon = name.rfind(':'); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  constexpr std::string_view kLocalhost = "localhost";
  constexpr std::string_view kLocalhostSuffix = ".localhost";
  if (equalsIgnoringCase(name, kLocalhost) ||
      (name.size() > kLocalhostSuffix.size() &&
       equalsIgnoringCase(name.substr(name.size() - kLocalhostSuffix.size()), kLocalhostSuffix))) {
    return true;
  }
  bool bracketed = host.front() == '[';
  if (bracketed) {
    return isLoopbackAddress(name);
  }
  return name.rfind("127.", 0) == 0 && name.find_first_not_of("0123456789.") == std::string_view::npos;
}

std::vector<std::string> parseApiKeyFile(std::string_view contents) {
  std::vector<std::string> keys;
  std::size_t start = 0;
  while (start < contents.size()) {
    auto newline = contents.find('\n', start);
    auto end = newline == std::string_view::npos ? contents.size() : newline;
    auto line = trim(contents.substr(start, end - start));
    if (!line.empty() && line.front() != '#') {
      keys.emplace_back(line);
    }
    start = end + 1;
  }
  return keys;
}

}  // namespace herald
