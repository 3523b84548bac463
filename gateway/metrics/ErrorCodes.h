// ErrorCodes: the closed set of error codes of the contract, used as the
// `code` label of herald_rejected_requests_total.
//
// A label must have a bounded set of values, so counters are kept per known
// code and anything else (which would be a bug) is counted as "other".
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace herald {

inline constexpr std::array<std::string_view, 16> kErrorCodes = {"invalid_channel",
                                                                 "too_many_channels",
                                                                 "invalid_json",
                                                                 "invalid_request",
                                                                 "unauthorized",
                                                                 "forbidden",
                                                                 "not_found",
                                                                 "method_not_allowed",
                                                                 "idempotency_conflict",
                                                                 "payload_too_large",
                                                                 "unsupported_media_type",
                                                                 "overloaded",
                                                                 "broker_unavailable",
                                                                 "draining",
                                                                 "internal_error",
                                                                 "other"};

// The index of `code` in kErrorCodes ("other" when unknown).
constexpr std::size_t errorCodeIndex(std::string_view code) {
  for (std::size_t i = 0; i + 1 < kErrorCodes.size(); ++i) {
    if (kErrorCodes[i] == code) {
      return i;
    }
  }
  return kErrorCodes.size() - 1;
}

}  // namespace herald
