// ErrorCode: the contract's closed list of error codes, each with its HTTP status
// and a default message, in one table.
//
// Both listeners answer errors with `{"error":{"code":"…","message":"…"}}`
// (gateway/http/HttpAnswer.h writes it). Carrying the code as this enum, not as
// text inside a JSON body, lets the request log and herald_rejected_requests_total
// take it from the value; the names are kErrorCodes' (gateway/metrics/ErrorCodes.h),
// in the same order, so an ErrorCode is also its metric label index.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace herald {

enum class ErrorCode : unsigned char {
  invalidChannel,
  tooManyChannels,
  invalidJson,
  invalidRequest,
  unauthorized,
  forbidden,
  notFound,
  methodNotAllowed,
  idempotencyConflict,
  payloadTooLarge,
  unsupportedMediaType,
  overloaded,
  brokerUnavailable,
  draining,
  internalError,
};

struct ErrorCodeInfo {
  std::string_view name;  // the contract's spelling, e.g. "invalid_request"
  int status;             // the HTTP status it is answered with by default
  std::string_view message;
};

const ErrorCodeInfo& errorCodeInfo(ErrorCode code);
inline std::string_view errorCodeName(ErrorCode code) {
  return errorCodeInfo(code).name;
}
// The enum value of a contract code name; nullopt for any other text.
std::optional<ErrorCode> errorCodeNamed(std::string_view name);
// The metric label index (kErrorCodes) of a code.
inline std::size_t errorCodeLabel(ErrorCode code) {
  return static_cast<std::size_t>(code);
}

}  // namespace herald
