#include "gateway/broker/RedisUrl.h"

#include <charconv>
#include <stdexcept>

namespace herald {

namespace {

constexpr std::string_view kScheme = "redis://";
constexpr int kMaxPort = 65535;
constexpr int kMaxDb = 1 << 20;  // far above any real `databases` setting; guards against overflow

[[noreturn]] void fail(std::string_view url, const std::string& why) {
  throw std::invalid_argument("invalid Redis URL '" + std::string(url) + "': " + why +
                              " (expected redis://host:port[/db])");
}

// A decimal number that fills `text` exactly and lies in [min, max].
bool parseNumber(std::string_view text, int min, int max, int& out) {
  if (text.empty()) {
    return false;
  }
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  out = value;
  return true;
}

}  // namespace

std::string RedisAddress::str() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return std::string(kScheme) + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" +
         std::to_string(db);
}

RedisAddress parseRedisUrl(std::string_view url) {
  if (!url.starts_with(kScheme)) {
    fail(url, "it must start with redis://");
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisAddress address;

  std::string_view authority = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !parseNumber(db, 0, kMaxDb, address.db)) {
      fail(url, "the database must be a number");
    }
  }
  if (authority.find('@') != std::string_view::npos) {
    fail(url, "credentials are not supported");
  }

  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      fail(url, "unclosed '[' in the host");
    }
    address.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) {
        fail(url, "unexpected text after the host");
      }
      port = after.substr(1);
      if (port.empty()) {
        fail(url, "empty port");
      }
    }
  } else {
    auto colon = authority.find(':');
    address.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) {
        fail(url, "empty port");
      }
    }
  }
  if (address.host.empty()) {
    fail(url, "the host is missing");
  }
  if (!port.empty() && !parseNumber(port, 1, kMaxPort, address.port)) {
    fail(url, "the port must be a number from 1 to 65535");
  }
  return address;
}

}  // namespace herald
