#include "gateway/stream/StreamResponses.h"

#include <random>

#include "gateway/core/ErrorBody.h"

namespace herald {

namespace {
// The jitter is up to this fraction of --retry on top of it.
constexpr double kRetryJitterFraction = 0.5;
}  // namespace

std::chrono::milliseconds jitteredRetry(std::chrono::milliseconds retry) {
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<long long> extra(
      0, static_cast<long long>(retry.count() * kRetryJitterFraction));
  return retry + std::chrono::milliseconds(extra(rng));
}

std::string sseResponseHead(std::string_view extraHeaders) {
  std::string head =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\n"
      "X-Accel-Buffering: no\r\n"
      "Connection: close\r\n";
  head += extraHeaders;
  head += "\r\n";
  return head;
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
