#include "api/HistoryRequest.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "api/PublishRequest.h"
#include "gateway/core/Channel.h"
#include "gateway/core/HttpStatus.h"

namespace herald {

using namespace http_status;

namespace {
// Longer than any uint64 in decimal; anything longer is rejected before conversion.
constexpr std::size_t kMaxLimitDigits = 19;
}  // namespace

HistoryQuery parseHistoryQuery(std::string_view channel, const std::optional<std::string>& after,
                               const std::optional<std::string>& limit) {
  if (!isValidChannelName(channel)) {
    throw ApiErrorException(ApiError{kBadRequest, "invalid_channel",
                                     "not a valid channel name (1-" + std::to_string(kMaxChannelNameBytes) +
                                         " bytes of A-Z a-z 0-9 _ - . : @ =)"});
  }
  HistoryQuery query;
  query.channel = std::string(channel);
  if (after) {
    query.after = NotificationId::parse(*after);
    if (!query.after) {
      throw ApiErrorException(
          ApiError{kBadRequest, "invalid_request", "after must be a notification id like 1700000000000-0"});
    }
  }
  if (limit) {
    std::uint64_t value = 0;
    const char* end = limit->data() + limit->size();
    auto [stop, ec] = std::from_chars(limit->data(), end, value);
    bool ok =
        !limit->empty() && limit->size() <= kMaxLimitDigits && ec == std::errc{} && stop == end && value >= 1;
    if (!ok) {
      throw ApiErrorException(
          ApiError{kBadRequest, "invalid_request", "limit must be a whole number from 1"});
    }
    // Above the maximum is clamped rather than refused (contract v1.2).
    query.limit = std::min<std::uint64_t>(value, kMaxHistoryLimit);
  }
  return query;
}

std::string makeHistoryAnswer(const HistoryQuery& query, const HistoryPage& page) {
  // Stored data is already compact JSON text, so it is spliced in rather than parsed again.
  auto quoted = [](const std::string& text) { return nlohmann::json(text).dump(); };
  std::string out = "{\"channel\":" + quoted(query.channel) + ",\"notifications\":[";
  for (std::size_t i = 0; i < page.items.size(); ++i) {
    const Notification& item = *page.items[i];
    out += i == 0 ? "{" : ",{";
    out += "\"id\":" + quoted(item.id.str());
    if (!item.event.empty()) {
      out += ",\"event\":" + quoted(item.event);
    }
    out += ",\"data\":" + item.data + "}";
  }
  out += "],\"next\":";
  // A full page may have more after it; a short page is the end.
  bool full = !page.items.empty() && page.items.size() >= query.limit;
  out += full ? quoted(page.items.back()->id.str()) : "null";
  out += "}";
  return out;
}

}  // namespace herald
