#include "gateway/http/HttpAnswer.h"

#include "gateway/core/ErrorBody.h"

namespace herald {

HttpAnswer jsonAnswer(std::string body, int status) {
  HttpAnswer answer;
  answer.status = status;
  answer.contentType = "application/json";
  answer.body = std::move(body);
  return answer;
}

HttpAnswer errorAnswer(ErrorCode code, std::string_view message, int status) {
  const ErrorCodeInfo& info = errorCodeInfo(code);
  HttpAnswer answer = jsonAnswer(errorBody(info.name, message.empty() ? info.message : message),
                                 status == 0 ? info.status : status);
  answer.error = code;
  return answer;
}

std::string serializeAnswer(const HttpAnswer& answer, bool keepAlive, bool headOnly) {
  std::string out;
  out.reserve(128 + answer.body.size() + answer.headers.size() * 48);
  out += "HTTP/1.1 ";
  out += std::to_string(answer.status);
  out += ' ';
  out += reasonPhrase(answer.status);
  out += "\r\n";
  if (!answer.contentType.empty()) {
    out += "Content-Type: ";
    out += answer.contentType;
    out += "\r\n";
  }
  // 204 and 304 carry no body and no length (RFC 9110 8.6).
  if (answer.status != 204 && answer.status != 304) {
    out += "Content-Length: ";
    out += std::to_string(answer.body.size());
    out += "\r\n";
  }
  for (const auto& [name, value] : answer.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!keepAlive || answer.close) {
    out += "Connection: close\r\n";
  }
  out += "\r\n";
  if (!headOnly) {
    out += answer.body;
  }
  return out;
}

}  // namespace herald
