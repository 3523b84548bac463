// HistoryRequest: the query and the answer of `GET /v1/channels/<channel>/notifications`.
//
// Pure functions so the paging rules of the contract (v1.1 and v1.2) live in one
// testable place: `after` is exclusive and optional, `limit` defaults to 100 and
// is clamped to 1000, and `next` is the last id of a full page, else null.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "api/ErrorBody.h"
#include "gateway/broker/Broker.h"
#include "gateway/core/NotificationId.h"

namespace herald {

inline constexpr std::size_t kDefaultHistoryLimit = 100;
inline constexpr std::size_t kMaxHistoryLimit = 1000;

struct HistoryQuery {
  std::string channel;
  std::optional<NotificationId> after;
  std::size_t limit = kDefaultHistoryLimit;
};

// Validates the path's channel and the `after` / `limit` query parameters (nullopt: absent);
// throws ApiErrorException (400 invalid_channel or invalid_request).
HistoryQuery parseHistoryQuery(std::string_view channel, const std::optional<std::string>& after,
                               const std::optional<std::string>& limit);

// `{"channel":…,"notifications":[{"id":…,"event":…,"data":…},…],"next":…}`.
std::string makeHistoryAnswer(const HistoryQuery& query, const HistoryPage& page);

}  // namespace herald
