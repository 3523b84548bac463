#include "gateway/core/StreamCursor.h"

#include <cstdint>

namespace herald {

namespace {
constexpr std::string_view kPrefix = "c1";
constexpr std::size_t kHashHexDigits = 12;  // 48 bits: collisions among <= 32 channels are negligible
constexpr char kEntrySeparator = '.';
constexpr char kPositionSeparator = '~';
// A cursor of 32 channels is about 32 * 48 bytes; anything far longer is not ours.
constexpr std::size_t kMaxCursorBytes = 4096;

std::uint64_t fnv1a64(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

bool isLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}
}  // namespace

std::string StreamCursor::channelHash(std::string_view channel) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t hash = fnv1a64(channel);
  std::string out(kHashHexDigits, '0');
  for (std::size_t i = 0; i < kHashHexDigits; ++i) {
    out[kHashHexDigits - 1 - i] = kHex[hash & 0xf];
    hash >>= 4;
  }
  return out;
}

std::string StreamCursor::encode(const std::vector<std::pair<std::string_view, NotificationId>>& positions) {
  std::string out(kPrefix);
  for (const auto& [channel, id] : positions) {
    out.push_back(kEntrySeparator);
    out.append(channelHash(channel)).push_back(kPositionSeparator);
    out.append(id.str());
  }
  return out;
}

std::optional<StreamCursor> StreamCursor::parse(std::string_view text) {
  if (text.size() > kMaxCursorBytes || text.substr(0, kPrefix.size()) != kPrefix) {
    return std::nullopt;
  }
  StreamCursor cursor;
  std::string_view rest = text.substr(kPrefix.size());
  while (!rest.empty()) {
    if (rest.front() != kEntrySeparator) {
      return std::nullopt;
    }
    rest.remove_prefix(1);
    auto end = rest.find(kEntrySeparator);
    std::string_view entry = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    auto sep = entry.find(kPositionSeparator);
    if (sep != kHashHexDigits || !isLowerHex(entry.substr(0, sep))) {
      return std::nullopt;
    }
    auto id = NotificationId::parse(entry.substr(sep + 1));
    if (!id) {
      return std::nullopt;
    }
    cursor.byHash_[std::string(entry.substr(0, sep))] = *id;
  }
  if (cursor.byHash_.empty()) {
    return std::nullopt;
  }
  return cursor;
}

std::optional<NotificationId> StreamCursor::positionOf(std::string_view channel) const {
  auto it = byHash_.find(channelHash(channel));
  if (it == byHash_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace herald
