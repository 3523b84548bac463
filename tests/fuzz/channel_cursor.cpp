// Fuzz target: channel names, notification ids, multi-channel cursors and the
// subscribe query. Parsers must not crash, and what they accept must print back
// to something they accept again as the same value.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/core/Channel.h"
#include "gateway/core/NotificationId.h"
#include "gateway/core/StreamCursor.h"
#include "gateway/stream/SubscribeRequest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (herald::isValidChannelName(text) && (text.empty() || text.size() > 200)) {
    std::abort();
  }
  if (auto id = herald::NotificationId::parse(text)) {
    auto again = herald::NotificationId::parse(id->str());
    if (!again || !(*again == *id)) {
      std::abort();
    }
  }
  if (auto cursor = herald::StreamCursor::parse(text)) {
    (void)cursor->positionOf("user:1");
  }
  std::size_t split = text.find('\n');
  std::string_view target = text.substr(0, split);
  std::optional<std::string_view> header;
  if (split != std::string_view::npos) {
    header = text.substr(split + 1);
  }
  auto parsed = herald::parseSubscribeRequest(target, header);
  if (auto* request = std::get_if<herald::SubscribeRequest>(&parsed)) {
    if (request->channels.size() > herald::kMaxChannelsPerStream) {
      std::abort();
    }
    for (const auto& start : request->channels) {
      if (!herald::isValidChannelName(start.channel)) {
        std::abort();
      }
    }
  }
  return 0;
}
