#include "gateway/http/RequestLimits.h"

#include <boost/beast/http/error.hpp>
#include <iterator>
#include <string>

#include "gateway/core/HttpStatus.h"

namespace herald {

using namespace http_status;
namespace http = boost::beast::http;

namespace {
// One socket read may land past a complete head (the next pipelined request).
constexpr std::size_t kReadChunk = 16 * 1024;
}  // namespace

RequestLimits RequestLimits::fromConfig(const Config& config) {
  return RequestLimits{config.maxHeaderBytes, config.maxHeaders, config.maxRequestLine, config.maxBodyBytes,
                       config.requestTimeout};
}

std::size_t RequestLimits::bufferBytes() const {
  return maxHeaderBytes + kReadChunk;
}

std::optional<HttpAnswer> checkRequestHead(const http::request_header<>& head, const RequestLimits& limits) {
  if (head.target().size() > limits.maxRequestLine) {
    return errorAnswer(ErrorCode::invalidRequest,
                       "the request target exceeds " + std::to_string(limits.maxRequestLine) + " bytes",
                       kUriTooLong);
  }
  if (static_cast<std::size_t>(std::distance(head.begin(), head.end())) > limits.maxHeaders) {
    return errorAnswer(ErrorCode::invalidRequest,
                       "more than " + std::to_string(limits.maxHeaders) + " request headers",
                       kHeadersTooLarge);
  }
  return std::nullopt;
}

std::optional<HttpAnswer> answerForReadError(const boost::system::error_code& error,
                                             const RequestLimits& limits) {
  if (error == http::error::header_limit) {
    return errorAnswer(ErrorCode::invalidRequest,
                       "request headers exceed " + std::to_string(limits.maxHeaderBytes) + " bytes",
                       kHeadersTooLarge);
  }
  if (error == http::error::body_limit) {
    return errorAnswer(ErrorCode::payloadTooLarge,
                       "the body exceeds " + std::to_string(limits.maxBody) + " bytes");
  }
  if (error.category() == http::make_error_code(http::error::bad_target).category() &&
      error != http::error::end_of_stream && error != http::error::partial_message &&
      error != http::error::need_more) {
    return errorAnswer(ErrorCode::invalidRequest, "malformed HTTP request");
  }
  return std::nullopt;
}

bool declaresBody(const http::request_header<>& head) {
  if (auto it = head.find(http::field::content_length); it != head.end()) {
    return it->value() != "0";
  }
  return head.find(http::field::transfer_encoding) != head.end();
}

}  // namespace herald
