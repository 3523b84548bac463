// RequestLimits: the bounds every request on either listener is read under, and
// the answers for a request that breaks them.
//
// Set on Beast's parser before the first byte is read (applyLimits), they stop a
// request line or header block at --max-header-bytes even when no newline ever
// comes, and a body at --max-body whether it is sent with a Content-Length
// (refused from the header alone) or chunked (refused as the chunks pass the
// limit). The header count (--max-headers) and the target length
// (--max-request-line) are checked on the parsed head (checkRequestHead), which
// --max-header-bytes has already bounded. --request-timeout bounds the time to
// read a head and its body (gateway/http/ReadDeadline.h).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "gateway/config/Config.h"
#include "gateway/http/HttpAnswer.h"

namespace herald {

struct RequestLimits {
  std::size_t maxHeaderBytes = 0;  // request line and headers together
  std::size_t maxHeaders = 0;
  std::size_t maxRequestLine = 0;  // the request target
  std::size_t maxBody = 0;
  std::chrono::milliseconds timeout{0};

  static RequestLimits fromConfig(const Config& config);
  // What a connection's read buffer may hold: one head and one read beyond it.
  std::size_t bufferBytes() const;
};

template <class Body>
void applyLimits(boost::beast::http::request_parser<Body>& parser, const RequestLimits& limits) {
  parser.header_limit(static_cast<std::uint32_t>(limits.maxHeaderBytes));
  parser.body_limit(static_cast<std::uint64_t>(limits.maxBody));
}

// 414 for a target over --max-request-line, 431 for more than --max-headers headers; nullopt if within.
std::optional<HttpAnswer> checkRequestHead(const boost::beast::http::request_header<>& head,
                                           const RequestLimits& limits);

// The answer to a request Beast could not read: 431 over --max-header-bytes, 413 over
// --max-body, 400 malformed. nullopt when there is nobody to answer (the peer closed,
// sent nothing, or the deadline closed the socket): close without writing.
std::optional<HttpAnswer> answerForReadError(const boost::system::error_code& error,
                                             const RequestLimits& limits);

// Whether a request declared a body (a non-zero Content-Length or chunked): one that is
// answered without reading it must close the connection, the rest cannot be skipped.
bool declaresBody(const boost::beast::http::request_header<>& head);

}  // namespace herald
