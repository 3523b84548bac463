// StreamRequest: what the stream listener answers to one HTTP request, decided
// without sockets. Pure apart from reading the clock for token expiry.
//
// StreamSession reads the request with Beast and hands it here; the decision is
// either a subscription to start (StreamAdmission) or the complete HTTP answer
// to write before closing (StreamRefusal). In order: size limits (431/414),
// the per-address connection cap (429), path (404), CORS preflight (OPTIONS ->
// 204), method (405), the query (400), the token (401: missing or invalid) and
// the channels it grants (403). Every answer carries the CORS headers of an
// allowed origin, errors too, so a page can read why it was refused.
//
// answerRequestBytes() runs the whole path from raw bytes, parser included: it
// is what the fuzzer drives, and it must never crash on any input.
#pragma once

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "gateway/auth/TokenVerifier.h"
#include "gateway/config/Config.h"
#include "gateway/core/CorsPolicy.h"
#include "gateway/stream/SubscribeRequest.h"

namespace herald {

// The rules every request of one listener is judged by; built once, shared by its sessions.
struct StreamPolicy {
  explicit StreamPolicy(const Config& config);
  StreamPolicy(const Config& config, std::unique_ptr<TokenVerifier> verifier);

  const Config& config;
  CorsPolicy cors;
  std::unique_ptr<TokenVerifier> verifier;  // nullptr: subscribing is open
};

struct StreamAdmission {
  SubscribeRequest request;
  // The --cors-origin entry that admits the request's Origin (lives in the policy), or
  // nullptr: a pointer, not the header text, so an open stream stays small.
  const std::string* corsOrigin = nullptr;
  // When the token stops being valid (exp + leeway, seconds since the epoch); the
  // stream is ended then. nullopt: no token, or a token without exp.
  std::optional<std::int64_t> validUntil;
};

struct StreamRefusal {
  std::string response;  // the complete HTTP answer
  int status;
  std::string code;    // the error code of the body ("" for the 204 preflight)
  std::string reason;  // for the log; never holds the token
};

using StreamDecision = std::variant<StreamAdmission, StreamRefusal>;
using StreamHttpRequest = boost::beast::http::request<boost::beast::http::empty_body>;

// `overConnectionLimit`: this client's address already has --max-connections-per-ip open.
StreamDecision decideStreamRequest(const StreamHttpRequest& request, const StreamPolicy& policy,
                                   bool overConnectionLimit = false);

// The answer to a request Beast could not parse, or nullopt when there is nobody to
// answer (the peer closed or sent nothing): close without writing.
std::optional<StreamRefusal> refusalForParseError(const boost::system::error_code& error,
                                                  const StreamPolicy& policy);

// Raw request bytes -> the bytes the listener writes before starting a stream or
// closing: the SSE head for an admission, the error answer otherwise, "" when it would
// wait for more bytes or close silently.
std::string answerRequestBytes(std::string_view bytes, const StreamPolicy& policy);

}  // namespace herald
