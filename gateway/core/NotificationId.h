// NotificationId: the `<ms>-<seq>` id of a notification within its channel.
//
// It is the Redis stream entry id (the memory broker makes the same form), so it
// orders notifications of one channel. `0-0` is the position "before anything":
// a subscriber that resumes from it asks for everything from a channel's start.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald {

struct NotificationId {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;

  // Parses `<ms>-<seq>` (decimal, no sign, no spaces); nullopt when malformed.
  static std::optional<NotificationId> parse(std::string_view text);
  std::string str() const;
  bool isZero() const { return ms == 0 && seq == 0; }

  auto operator<=>(const NotificationId&) const = default;
};

}  // namespace herald
