#include "gateway/auth/ChannelGrants.h"

namespace herald {

namespace {
constexpr char kPrefixWildcard = '*';
}  // namespace

std::string userChannel(std::string_view subject) {
  return std::string(kUserChannelPrefix) + std::string(subject);
}

bool grantsChannel(const TokenClaims& claims, std::string_view channel) {
  if (claims.subject && channel == userChannel(*claims.subject)) {
    return true;
  }
  for (const auto& grant : claims.channels) {
    if (!grant.empty() && grant.back() == kPrefixWildcard) {
      std::string_view prefix(grant.data(), grant.size() - 1);
      if (channel.substr(0, prefix.size()) == prefix) {
        return true;
      }
    } else if (grant == channel) {
      return true;
    }
  }
  return false;
}

}  // namespace herald
