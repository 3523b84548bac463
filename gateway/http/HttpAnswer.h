// HttpAnswer: what a handler returns (status, headers, body) and the one writer
// of error answers, shared by both listeners.
//
// Handlers are pure: a request in, an HttpAnswer out; the session serialises it
// (serializeAnswer) with the framing headers it owns (Content-Length,
// Connection). An error answer is made only by errorAnswer(), so every error
// has the contract's JSON body and carries its ErrorCode as a value for the
// request log and the rejected-requests counter.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gateway/core/CorsPolicy.h"
#include "gateway/http/ErrorCode.h"

namespace herald {

struct HttpAnswer {
  int status = 200;
  std::string contentType;  // "" with an empty body: no Content-Type line
  std::string body;
  HeaderList headers;  // besides Content-Type, Content-Length and Connection
  std::optional<ErrorCode> error;
  bool close = false;  // close the connection after this answer (e.g. a body left unread)

  HttpAnswer& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// A JSON answer with `status`.
HttpAnswer jsonAnswer(std::string body, int status = 200);
// The contract's error answer for `code`: its status, `{"error":{...}}`, `message` or
// the code's default message when empty. `status` overrides the table's (0: the table's).
HttpAnswer errorAnswer(ErrorCode code, std::string_view message = {}, int status = 0);

// The complete HTTP/1.1 bytes of `answer`. `headOnly` (a HEAD request) keeps the
// Content-Length of the body but not the body; `keepAlive` false adds Connection: close.
std::string serializeAnswer(const HttpAnswer& answer, bool keepAlive, bool headOnly = false);

}  // namespace herald
