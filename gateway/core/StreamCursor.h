// StreamCursor: the SSE `id:` of a stream subscribed to several channels.
//
// One id must resume every channel of the stream, so it lists a position per
// channel. Channel names can be 200 bytes each and a stream has up to 32, so
// the cursor names each channel by a 48-bit hash of its name instead (the low
// 48 bits of its 64-bit FNV-1a hash):
//
//   c1.<hash>~<ms>-<seq>.<hash>~<ms>-<seq>...      (hash: 12 lowercase hex digits)
//
// The stream that resumes knows its channel names, so it recomputes each hash
// and looks it up. A channel the cursor does not cover resumes with an
// `invalid_cursor` reset. A one-channel stream uses the plain notification id.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gateway/core/NotificationId.h"

namespace herald {

class StreamCursor {
 public:
  // Decodes a cursor; nullopt when it is not one (malformed, or not `c1.`).
  static std::optional<StreamCursor> parse(std::string_view text);
  static std::string channelHash(std::string_view channel);
  static std::string encode(const std::vector<std::pair<std::string_view, NotificationId>>& positions);

  // The position recorded for `channel`, if the cursor covers it.
  std::optional<NotificationId> positionOf(std::string_view channel) const;

 private:
  std::unordered_map<std::string, NotificationId> byHash_;
};

}  // namespace herald
