#include "gateway/core/Channel.h"

namespace herald {

bool isValidChannelName(std::string_view name) {
  if (name.empty() || name.size() > kMaxChannelNameBytes) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.' || c == ':' || c == '@' || c == '=';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace herald
