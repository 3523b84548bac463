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
//
// Every event of a many-channel stream carries one, so streams write the compact
// form, about half the size (~16 bytes a channel instead of ~29): the same hash
// in base 36 and each position as its distance below the newest one, in base 36:
//
//   c2.<base>.<hash>~<delta>[-<seq>]...   (base: the highest ms; hash: 10 digits 0-9a-z;
//                                          ms = base - delta; seq omitted when 0)
//
// parse() reads both forms, so ids written before an upgrade still resume.
#pragma once

#include <cstdint>
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
  // The compact `c2` form of the same positions (what streams write).
  static std::string encodeCompact(const std::vector<std::pair<std::string_view, NotificationId>>& positions);

  // The position recorded for `channel`, if the cursor covers it.
  std::optional<NotificationId> positionOf(std::string_view channel) const;

 private:
  static std::optional<StreamCursor> parseCompact(std::string_view text);
  // Keyed by the channel hash's value.
  std::unordered_map<std::uint64_t, NotificationId> byHash_;
};

}  // namespace herald
