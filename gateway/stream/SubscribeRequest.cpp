#include "gateway/stream/SubscribeRequest.h"

#include <algorithm>

#include "gateway/core/Channel.h"
#include "gateway/core/PercentDecode.h"
#include "gateway/core/StreamCursor.h"

namespace herald {

namespace {

SubscribeError badRequest(std::string code, std::string message) {
  return SubscribeError{400, std::move(code), std::move(message)};
}

// Applies the client's resume id to each channel of the stream.
void applyResume(SubscribeRequest& request) {
  if (request.resumeText.empty()) {
    return;
  }
  const std::string& text = request.resumeText;
  auto cursor = StreamCursor::parse(text);
  auto plain = NotificationId::parse(text);
  for (auto& start : request.channels) {
    if (cursor) {
      start.resumeFrom = cursor->positionOf(start.channel);
    } else if (plain && request.channels.size() == 1) {
      start.resumeFrom = plain;
    }
    start.invalidCursor = !start.resumeFrom.has_value();
  }
}
}  // namespace

std::optional<std::vector<QueryParam>> parseQuery(std::string_view query) {
  std::vector<QueryParam> params;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    auto eq = pair.find('=');
    auto name = percentDecode(pair.substr(0, eq), true);
    auto value = percentDecode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!name || !value) {
      return std::nullopt;
    }
    params.push_back({std::move(*name), std::move(*value)});
  }
  return params;
}

std::variant<SubscribeRequest, SubscribeError> parseSubscribeRequest(
    std::string_view target, std::optional<std::string_view> lastEventIdHeader, std::size_t maxChannels) {
  auto question = target.find('?');
  std::string_view query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  auto params = parseQuery(query);
  if (!params) {
    return badRequest("invalid_request", "malformed query string");
  }
  SubscribeRequest request;
  std::optional<std::string> lastEventIdParam;
  for (auto& param : *params) {
    // Plain references, not a structured binding: clang 14 (the fuzz build) cannot
    // capture bindings in the lambda below.
    const std::string& name = param.name;
    std::string& value = param.value;
    if (name == "channel") {
      if (!isValidChannelName(value)) {
        return badRequest("invalid_channel", "channel names are 1-200 bytes of A-Z a-z 0-9 _ - . : @ =");
      }
      bool seen = std::any_of(request.channels.begin(), request.channels.end(),
                              [&](const ChannelStart& c) { return c.channel == value; });
      if (!seen) {
        if (request.channels.size() == maxChannels) {
          return badRequest("too_many_channels",
                            "a stream subscribes to at most " + std::to_string(maxChannels) + " channels");
        }
        request.channels.push_back({value, std::nullopt, false});
      }
    } else if (name == "envelope") {
      request.envelope = value == "1" || value == "true";
    } else if (name == "lastEventId") {
      lastEventIdParam = value;
    }
    // Other parameters (e.g. `token`, read by the auth layer) are not ours to refuse.
  }
  if (lastEventIdHeader) {
    request.resumeText = std::string(*lastEventIdHeader);
  } else if (lastEventIdParam) {
    request.resumeText = *lastEventIdParam;
  }
  applyResume(request);
  return request;
}

void addChannel(SubscribeRequest& request, std::string channel) {
  request.channels.push_back({std::move(channel), std::nullopt, false});
  applyResume(request);
}

}  // namespace herald
