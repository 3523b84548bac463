// SubscribeRequest: what a `GET /v1/events` asks for, parsed and validated. Pure: no I/O.
//
// It turns the request target and the Last-Event-ID header into the channels
// to subscribe, where each one resumes from (a plain id for a one-channel
// stream, a StreamCursor for several) and whether events carry the envelope.
// Invalid input becomes a SubscribeError with the contract's status and code;
// naming no channel is not decided here (with a token, `sub` picks the channel;
// see StreamRequest), so `channels` may come back empty;
// a resume id that cannot be understood is not an error (EventSource would
// give up for good) but an `invalid_cursor` reset for the channels it misses.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/core/NotificationId.h"

namespace herald {

// The contract's cap, and the default of --max-channels-per-stream.
inline constexpr std::size_t kMaxChannelsPerStream = 32;

// How one channel of a stream starts.
struct ChannelStart {
  std::string channel;
  // nullopt: live from now (no resume id); otherwise replay after this id.
  std::optional<NotificationId> resumeFrom;
  // The resume id did not cover this channel: reset(invalid_cursor), then live.
  bool invalidCursor = false;
};

struct SubscribeRequest {
  std::vector<ChannelStart> channels;  // in the order first named, without repeats
  bool envelope = false;
  std::string resumeText;  // the raw resume id the client sent ("" when none)
};

struct SubscribeError {
  int status;
  std::string code;
  std::string message;
};

// Splits `/path?query` and percent-decodes query values ('+' is a space).
struct QueryParam {
  std::string name;
  std::string value;
};
std::optional<std::vector<QueryParam>> parseQuery(std::string_view query);

// `target` is the request target (path and query); `lastEventIdHeader` the
// Last-Event-ID header value, if any (it wins over the lastEventId parameter).
std::variant<SubscribeRequest, SubscribeError> parseSubscribeRequest(
    std::string_view target, std::optional<std::string_view> lastEventIdHeader,
    std::size_t maxChannels = kMaxChannelsPerStream);

// Adds `channel` (when a token's `sub` chose it) and applies the resume id to it.
void addChannel(SubscribeRequest& request, std::string channel);

}  // namespace herald
