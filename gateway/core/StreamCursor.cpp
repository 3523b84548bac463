#include "gateway/core/StreamCursor.h"

#include <algorithm>
#include <cstdint>
#include <string>

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

constexpr std::string_view kCompactPrefix = "c2.";
constexpr std::size_t kCompactHashDigits = 10;  // 36^10 > 2^48
constexpr std::string_view kBase36 = "0123456789abcdefghijklmnopqrstuvwxyz";

std::uint64_t hashValue(std::string_view channel) {
  return std::stoull(StreamCursor::channelHash(channel), nullptr, 16);
}

void appendBase36(std::string& out, std::uint64_t value, std::size_t minDigits = 1) {
  char digits[16];
  std::size_t n = 0;
  do {
    digits[n++] = kBase36[value % 36];
    value /= 36;
  } while (value != 0);
  for (; n < minDigits; ++n) {
    digits[n] = '0';
  }
  while (n > 0) {
    out.push_back(digits[--n]);
  }
}

// Base 36 digits (0-9a-z) to a number; nullopt when empty, not base 36, or too long.
std::optional<std::uint64_t> parseBase36(std::string_view text) {
  if (text.empty() || text.size() > 12) {  // 36^12 > 2^62: no overflow
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (char c : text) {
    std::uint64_t digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'z') {
      digit = static_cast<std::uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    value = value * 36 + digit;
  }
  return value;
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

std::string StreamCursor::encodeCompact(
    const std::vector<std::pair<std::string_view, NotificationId>>& positions) {
  std::uint64_t base = 0;
  for (const auto& entry : positions) {
    base = std::max(base, entry.second.ms);
  }
  std::string out(kCompactPrefix);
  appendBase36(out, base);
  for (const auto& [channel, id] : positions) {
    out.push_back(kEntrySeparator);
    appendBase36(out, hashValue(channel), kCompactHashDigits);
    out.push_back(kPositionSeparator);
    appendBase36(out, base - id.ms);
    if (id.seq != 0) {
      out.push_back('-');
      appendBase36(out, id.seq);
    }
  }
  return out;
}

std::optional<StreamCursor> StreamCursor::parseCompact(std::string_view text) {
  std::string_view rest = text.substr(kCompactPrefix.size());
  auto end = rest.find(kEntrySeparator);
  auto base = parseBase36(rest.substr(0, end));
  if (!base || end == std::string_view::npos) {
    return std::nullopt;
  }
  rest = rest.substr(end);
  StreamCursor cursor;
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the separator
    end = rest.find(kEntrySeparator);
    std::string_view entry = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    if (entry.size() < kCompactHashDigits + 2 || entry[kCompactHashDigits] != kPositionSeparator) {
      return std::nullopt;
    }
    auto hash = parseBase36(entry.substr(0, kCompactHashDigits));
    std::string_view position = entry.substr(kCompactHashDigits + 1);
    auto dash = position.find('-');
    auto delta = parseBase36(position.substr(0, dash));
    std::optional<std::uint64_t> seq = std::uint64_t{0};
    if (dash != std::string_view::npos) {
      seq = parseBase36(position.substr(dash + 1));
    }
    if (!hash || *hash >> 48 != 0 || !delta || *delta > *base || !seq) {
      return std::nullopt;
    }
    cursor.byHash_[*hash] = NotificationId{*base - *delta, *seq};
  }
  if (cursor.byHash_.empty()) {
    return std::nullopt;
  }
  return cursor;
}

std::optional<StreamCursor> StreamCursor::parse(std::string_view text) {
  if (text.size() > kMaxCursorBytes) {
    return std::nullopt;
  }
  if (text.substr(0, kCompactPrefix.size()) == kCompactPrefix) {
    return parseCompact(text);
  }
  if (text.substr(0, kPrefix.size()) != kPrefix) {
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
    cursor.byHash_[std::stoull(std::string(entry.substr(0, sep)), nullptr, 16)] = *id;
  }
  if (cursor.byHash_.empty()) {
    return std::nullopt;
  }
  return cursor;
}

std::optional<NotificationId> StreamCursor::positionOf(std::string_view channel) const {
  auto it = byHash_.find(hashValue(channel));
  if (it == byHash_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace herald
