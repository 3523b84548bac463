#include "gateway/broker/RedisUrl.h"

#include <charconv>
#include <stdexcept>
#include <tuple>

namespace herald {

namespace {

constexpr std::string_view kPlainScheme = "redis://";
constexpr std::string_view kTlsScheme = "rediss://";
constexpr std::string_view kPlainClusterScheme = "redis+cluster://";
constexpr std::string_view kTlsClusterScheme = "rediss+cluster://";
constexpr std::string_view kRedacted = "***";
constexpr int kMaxPort = 65535;
constexpr int kMaxDb = 1 << 20;  // far above any real `databases` setting; guards against overflow
constexpr int kHexBase = 16;

[[noreturn]] void fail(std::string_view url, const std::string& why) {
  throw std::invalid_argument(
      "invalid Redis URL '" + redactRedisUrl(url) + "': " + why +
      " (expected redis://[user[:password]@]host[:port][/db], rediss://…, "
      "redis+cluster://[user[:password]@]host:port[,host:port…] or rediss+cluster://…)");
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

// Decodes %XX escapes; false when one is malformed.
bool percentDecode(std::string_view text, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    int value = 0;
    if (i + 2 >= text.size()) {
      return false;
    }
    auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, kHexBase);
    if (ec != std::errc{} || end != text.data() + i + 3) {
      return false;
    }
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return true;
}

// The scheme's length (0 when `url` has none of the four), whether it is TLS and cluster mode.
std::size_t schemeLength(std::string_view url, bool& tls, bool& cluster) {
  for (auto [scheme, isTls, isCluster] :
       {std::tuple{kPlainScheme, false, false}, std::tuple{kTlsScheme, true, false},
        std::tuple{kPlainClusterScheme, false, true}, std::tuple{kTlsClusterScheme, true, true}}) {
    if (url.starts_with(scheme)) {
      tls = isTls;
      cluster = isCluster;
      return scheme.size();
    }
  }
  tls = cluster = false;
  return 0;
}

// `host[:port]` or `[ipv6][:port]`.
RedisHostPort parseHostPort(std::string_view url, std::string_view authority) {
  RedisHostPort out;
  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      fail(url, "unclosed '[' in the host");
    }
    out.host = std::string(authority.substr(1, close - 1));
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
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) {
        fail(url, "empty port");
      }
    }
  }
  if (out.host.empty()) {
    fail(url, "the host is missing");
  }
  if (!port.empty() && !parseNumber(port, 1, kMaxPort, out.port)) {
    fail(url, "the port must be a number from 1 to 65535");
  }
  return out;
}

std::string hostPortText(const RedisHostPort& node) {
  const bool ipv6 = node.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + node.host + "]" : node.host) + ":" + std::to_string(node.port);
}

}  // namespace

std::string redactRedisUrl(std::string_view url) {
  bool tls = false;
  bool cluster = false;
  const std::size_t start = schemeLength(url, tls, cluster);
  const auto at = url.rfind('@');
  if (start == 0 || at == std::string_view::npos || at < start) {
    return std::string(url);
  }
  const std::string_view userinfo = url.substr(start, at - start);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) {
    return std::string(url);  // a user name alone is not secret
  }
  return std::string(url.substr(0, start + colon + 1)) + std::string(kRedacted) + std::string(url.substr(at));
}

std::string RedisAddress::str() const {
  std::string credentials;
  if (!user.empty() || !password.empty()) {
    // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive) on
    // `":" + std::string(...)` here.
    credentials = user;
    if (!password.empty()) {
      credentials += ':';
      credentials += kRedacted;
    }
    credentials += '@';
  }
  if (cluster) {
    std::string nodes;
    for (const RedisHostPort& seed : seeds) {
      if (!nodes.empty()) {
        nodes += ',';
      }
      nodes += hostPortText(seed);
    }
    return std::string(tls ? kTlsClusterScheme : kPlainClusterScheme) + credentials + nodes;
  }
  return std::string(tls ? kTlsScheme : kPlainScheme) + credentials + hostPortText({host, port}) + "/" +
         std::to_string(db);
}

RedisAddress parseRedisUrl(std::string_view url) {
  RedisAddress address;
  const std::size_t start = schemeLength(url, address.tls, address.cluster);
  if (start == 0) {
    fail(url, "it must start with redis://, rediss://, redis+cluster:// or rediss+cluster://");
  }
  std::string_view rest = url.substr(start);

  // Credentials end at the last '@' (an unencoded '@' in a password still works).
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    const std::string_view user = userinfo.substr(0, colon);
    const std::string_view password = colon == std::string_view::npos ? "" : userinfo.substr(colon + 1);
    if (!percentDecode(user, address.user) || !percentDecode(password, address.password)) {
      fail(url, "malformed %-escape in the credentials");
    }
  }

  std::string_view authority = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !parseNumber(db, 0, kMaxDb, address.db)) {
      fail(url, "the database must be a number");
    }
  }
  if (!address.cluster) {
    const RedisHostPort node = parseHostPort(url, authority);
    address.host = node.host;
    address.port = node.port;
    return address;
  }

  // Redis Cluster has database 0 only.
  if (address.db != 0) {
    fail(url, "Redis Cluster has database 0 only");
  }
  while (true) {
    const auto comma = authority.find(',');
    address.seeds.push_back(parseHostPort(url, authority.substr(0, comma)));
    if (comma == std::string_view::npos) {
      break;
    }
    authority = authority.substr(comma + 1);
  }
  address.host = address.seeds.front().host;
  address.port = address.seeds.front().port;
  return address;
}

}  // namespace herald
