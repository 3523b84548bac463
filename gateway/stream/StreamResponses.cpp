#include "gateway/stream/StreamResponses.h"

#include "gateway/core/ErrorBody.h"

namespace herald {

std::string sseResponseHead(std::string_view allowedOrigin) {
  std::string out =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\n"
      "X-Accel-Buffering: no\r\n"
      "Connection: close\r\n";
  out += corsHeaders(allowedOrigin);
  out += "\r\n";
  return out;
}

std::string corsHeaders(std::string_view allowedOrigin) {
  if (allowedOrigin.empty()) {
    return {};
  }
  std::string out = "Access-Control-Allow-Origin: ";
  out += allowedOrigin;
  out += "\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n";
  return out;
}

std::string errorResponse(int status, std::string_view code, std::string_view message,
                          std::string_view extraHeaders) {
  std::string body = errorBody(code, message);
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
  out += "Content-Type: application/json\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\n";
  out += "Connection: close\r\n";
  out += extraHeaders;
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace herald
