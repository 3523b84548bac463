// ApiError: an api answer that is not a success, carried as a value.
//
// The contract fixes it as `{"error":{"code":"…","message":"…"}}` with a code
// from a closed list; making it in one place keeps every answer identical, and
// ApiError lets pure validation code hand such an answer up as a value.
#pragma once

#include <string>
#include <string_view>

#include "gateway/core/ErrorBody.h"
#include "gateway/http/HttpAnswer.h"

namespace herald {

// An answer that is not a success: the HTTP status, the contract's error code and a human message.
struct ApiError {
  int status = 0;
  std::string code;
  std::string message;

  std::string body() const { return errorBody(code, message); }
};

// The error answer for `error` (its code looked up in the one table; an unknown code is a bug: 500).
inline HttpAnswer answerFor(const ApiError& error) {
  auto code = errorCodeNamed(error.code);
  return code ? errorAnswer(*code, error.message, error.status) : errorAnswer(ErrorCode::internalError);
}

}  // namespace herald
