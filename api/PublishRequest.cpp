#include "api/PublishRequest.h"

#include <nlohmann/json.hpp>

#include "gateway/core/Channel.h"
#include "gateway/core/HttpStatus.h"

namespace herald {

using namespace http_status;

namespace {

using nlohmann::json;

// Thrown from inside the JSON parser when nesting passes kMaxJsonDepth.
struct TooDeep {};

ApiError badRequest(std::string code, std::string message) {
  return ApiError{kBadRequest, std::move(code), std::move(message)};
}

[[noreturn]] void fail(std::string code, std::string message) {
  throw ApiErrorException(badRequest(std::move(code), std::move(message)));
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the client needs only the rest.
std::string withoutExceptionTag(const std::string& what) {
  auto close = what.find("] ");
  return close == std::string::npos ? what : what.substr(close + 2);
}

json parseBody(std::string_view body) {
  auto limitDepth = [](int depth, json::parse_event_t event, json&) {
    // `depth` is the number of enclosing containers of the one being opened.
    bool opens = event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
    if (opens && depth >= kMaxJsonDepth) {
      throw TooDeep{};
    }
    return true;
  };
  try {
    return json::parse(body.begin(), body.end(), limitDepth);
  } catch (const TooDeep&) {
    fail("invalid_json", "body nests JSON deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number too large for a double (`1e999`; found
    // by tests/fuzz/publish_json): both are bad input, never a 500.
    fail("invalid_json", "body is not valid JSON: " + withoutExceptionTag(e.what()));
  }
}

std::string channelName(const json& value, const std::string& where) {
  if (!value.is_string()) {
    fail("invalid_request", where + " must be a string");
  }
  const auto& name = value.get_ref<const std::string&>();
  if (!isValidChannelName(name)) {
    fail("invalid_channel", where + " is not a valid channel name (1-" +
                                std::to_string(kMaxChannelNameBytes) + " bytes of A-Z a-z 0-9 _ - . : @ =)");
  }
  return name;
}

std::string eventType(const json& object) {
  auto it = object.find("event");
  if (it == object.end() || it->is_null()) {
    return {};
  }
  if (!it->is_string()) {
    fail("invalid_request", "event must be a string");
  }
  const auto& event = it->get_ref<const std::string&>();
  if (event.empty() || event.size() > kMaxEventBytes) {
    fail("invalid_request", "event must be 1-" + std::to_string(kMaxEventBytes) + " bytes");
  }
  // An SSE field ends at a line break, so a CR or LF would let the event type inject fields.
  if (event.find_first_of("\r\n") != std::string::npos) {
    fail("invalid_request", "event must not contain CR or LF");
  }
  // herald.* types are the gateway's own (herald.reset): a publisher must not forge them.
  if (event.starts_with(kReservedEventPrefix)) {
    fail("invalid_request",
         "event types starting with '" + std::string(kReservedEventPrefix) + "' are reserved");
  }
  return event;
}

// Appends the items of one notification object to `plan`.
void addNotification(const json& object, PublishPlan& plan) {
  if (!object.is_object()) {
    fail("invalid_request", "a notification must be a JSON object");
  }
  for (const auto& [key, value] : object.items()) {
    if (key != "channel" && key != "channels" && key != "event" && key != "data") {
      fail("invalid_request", "unknown field '" + key + "' (expected channel, channels, event, data)");
    }
  }
  auto channel = object.find("channel");
  auto channels = object.find("channels");
  bool hasChannel = channel != object.end();
  bool hasChannels = channels != object.end();
  if (hasChannel == hasChannels) {
    fail("invalid_request", "give exactly one of channel or channels");
  }

  std::vector<std::string> names;
  if (hasChannel) {
    names.push_back(channelName(*channel, "channel"));
  } else {
    if (!channels->is_array()) {
      fail("invalid_request", "channels must be an array of channel names");
    }
    if (channels->empty()) {
      fail("invalid_request", "channels must not be empty");
    }
    if (channels->size() > kMaxPublishChannels) {
      throw ApiErrorException(badRequest(
          "too_many_channels", "channels has " + std::to_string(channels->size()) + " names, at most " +
                                   std::to_string(kMaxPublishChannels) + " are allowed"));
    }
    for (std::size_t i = 0; i < channels->size(); ++i) {
      names.push_back(channelName((*channels)[i], "channels[" + std::to_string(i) + "]"));
    }
  }

  std::string event = eventType(object);
  auto data = object.find("data");
  std::string dataText = data == object.end() ? "null" : data->dump();

  PublishPlan::Entry entry{plan.items.size(), names.size(), hasChannels};
  for (auto& name : names) {
    plan.items.push_back(PublishItem{std::move(name), event, dataText});
  }
  plan.entries.push_back(entry);
}

json entryAnswer(const PublishPlan& plan, const PublishPlan::Entry& entry,
                 const std::vector<NotificationId>& ids) {
  auto one = [&](std::size_t index) {
    return json{{"channel", plan.items[index].channel}, {"id", ids[index].str()}};
  };
  if (!entry.multiChannel) {
    return one(entry.first);
  }
  json results = json::array();
  for (std::size_t i = entry.first; i < entry.first + entry.count; ++i) {
    results.push_back(one(i));
  }
  return json{{"results", std::move(results)}};
}

}  // namespace

PublishPlan parsePublishBody(std::string_view body) {
  json document = parseBody(body);
  PublishPlan plan;
  addNotification(document, plan);
  return plan;
}

PublishPlan parseBatchBody(std::string_view body) {
  json document = parseBody(body);
  if (!document.is_object()) {
    fail("invalid_request", "body must be a JSON object with a notifications array");
  }
  for (const auto& [key, value] : document.items()) {
    if (key != "notifications") {
      fail("invalid_request", "unknown field '" + key + "' (expected notifications)");
    }
  }
  auto notifications = document.find("notifications");
  if (notifications == document.end() || !notifications->is_array()) {
    fail("invalid_request", "notifications must be an array");
  }
  if (notifications->size() > kMaxBatchNotifications) {
    fail("invalid_request", "a batch has at most " + std::to_string(kMaxBatchNotifications) +
                                " notifications, got " + std::to_string(notifications->size()));
  }
  PublishPlan plan;
  plan.batch = true;
  for (std::size_t i = 0; i < notifications->size(); ++i) {
    try {
      addNotification((*notifications)[i], plan);
    } catch (const ApiErrorException& e) {
      // The whole batch is refused; the index tells the publisher which item to fix.
      ApiError error = e.error();
      error.message = "notifications[" + std::to_string(i) + "]: " + error.message;
      throw ApiErrorException(std::move(error));
    }
  }
  return plan;
}

std::string makePublishAnswer(const PublishPlan& plan, const std::vector<NotificationId>& ids) {
  if (ids.size() != plan.items.size()) {
    throw std::logic_error("broker returned " + std::to_string(ids.size()) + " ids for " +
                           std::to_string(plan.items.size()) + " items");
  }
  if (!plan.batch) {
    return entryAnswer(plan, plan.entries.at(0), ids).dump();
  }
  json results = json::array();
  for (const auto& entry : plan.entries) {
    results.push_back(entryAnswer(plan, entry, ids));
  }
  return json{{"results", std::move(results)}}.dump();
}

}  // namespace herald
