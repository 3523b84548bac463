#include "gateway/http/ErrorCode.h"

#include <array>

#include "gateway/core/HttpStatus.h"
#include "gateway/metrics/ErrorCodes.h"

namespace herald {

using namespace http_status;

namespace {

constexpr std::array<ErrorCodeInfo, 15> kTable = {{
    {"invalid_channel", kBadRequest, "invalid channel name"},
    {"too_many_channels", kBadRequest, "too many channels"},
    {"invalid_json", kBadRequest, "the body is not valid JSON"},
    {"invalid_request", kBadRequest, "malformed HTTP request"},
    {"unauthorized", kUnauthorized, "a valid Authorization: Bearer <api-key> is required"},
    {"forbidden", kForbidden, "forbidden"},
    {"not_found", kNotFound, "no such resource"},
    {"method_not_allowed", kMethodNotAllowed, "method not allowed on this resource"},
    {"idempotency_conflict", kConflict, "this Idempotency-Key was used with a different body"},
    {"payload_too_large", kPayloadTooLarge, "the body is too large"},
    {"unsupported_media_type", kUnsupportedMediaType, "the body must be application/json"},
    {"overloaded", kServiceUnavailable, "the server is overloaded, retry later"},
    {"broker_unavailable", kServiceUnavailable, "the broker is unavailable, retry later"},
    {"draining", kServiceUnavailable, "this node is shutting down"},
    {"internal_error", kInternalError, "internal error"},
}};

// The enum, this table and the metric labels are one list: a code added to one only fails here.
constexpr bool sameAsMetricLabels() {
  if (kTable.size() + 1 != kErrorCodes.size()) {
    return false;
  }
  for (std::size_t i = 0; i < kTable.size(); ++i) {
    if (kTable[i].name != kErrorCodes[i]) {
      return false;
    }
  }
  return true;
}
static_assert(sameAsMetricLabels(), "ErrorCode, its table and kErrorCodes must list the same codes in order");
static_assert(static_cast<std::size_t>(ErrorCode::internalError) + 1 == kTable.size());

}  // namespace

const ErrorCodeInfo& errorCodeInfo(ErrorCode code) {
  return kTable[static_cast<std::size_t>(code)];
}

std::optional<ErrorCode> errorCodeNamed(std::string_view name) {
  for (std::size_t i = 0; i < kTable.size(); ++i) {
    if (kTable[i].name == name) {
      return static_cast<ErrorCode>(i);
    }
  }
  return std::nullopt;
}

}  // namespace herald
