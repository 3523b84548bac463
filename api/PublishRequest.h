// PublishRequest: parsing and validation of publish bodies, and the answers to them.
//
// The api listener's handlers stay thin: these pure functions turn a raw
// `POST /v1/notifications` or `/v1/notifications/batch` body into the list of
// PublishItems to hand to the broker (or an ApiError naming what is wrong), and
// turn the ids the broker returns into the contract's answer. A request is
// validated whole before anything is published, so a bad request never
// publishes part of itself.
//
// Rules beyond the contract's text: an absent `data` publishes `null`; an
// `event` of `null` means no type; unknown keys are rejected (`invalid_request`),
// so a misspelt `evnt` is not silently dropped; `channels` must not be empty;
// an empty batch answers `{"results":[]}` and publishes nothing.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "api/ErrorBody.h"
#include "gateway/core/Notification.h"

namespace herald {

inline constexpr std::size_t kMaxPublishChannels = 1000;
inline constexpr std::size_t kMaxBatchNotifications = 1000;
inline constexpr std::size_t kMaxEventBytes = 64;
// Event types with this prefix are Herald's own (herald.reset) and refused in a publish.
inline constexpr std::string_view kReservedEventPrefix = "herald.";
// Deeper JSON is refused before it is built: it is never a real payload, and
// serialising it again is recursive.
inline constexpr int kMaxJsonDepth = 64;

// A request that cannot be served, carrying the answer to give.
class ApiErrorException : public std::runtime_error {
 public:
  explicit ApiErrorException(ApiError error) : std::runtime_error(error.message), error_(std::move(error)) {}
  const ApiError& error() const { return error_; }

 private:
  ApiError error_;
};

// What one request asks to publish, and how to shape its answer.
struct PublishPlan {
  // One notification object of the request: its items are items[first, first + count).
  struct Entry {
    std::size_t first = 0;
    std::size_t count = 0;
    bool multiChannel = false;  // used `channels`: answered with `results`
  };
  std::vector<PublishItem> items;  // what goes to Broker::publish, in order
  std::vector<Entry> entries;      // one per notification object, in input order
  bool batch = false;
};

// Parses a `POST /v1/notifications` body; throws ApiErrorException (status 400).
PublishPlan parsePublishBody(std::string_view body);
// Parses a `POST /v1/notifications/batch` body; throws ApiErrorException (status 400).
PublishPlan parseBatchBody(std::string_view body);

// The 200 answer for `plan` once the broker returned one id per item.
std::string makePublishAnswer(const PublishPlan& plan, const std::vector<NotificationId>& ids);

}  // namespace herald
