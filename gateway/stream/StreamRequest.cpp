#include "gateway/stream/StreamRequest.h"

#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/http/parser.hpp>
#include <cctype>
#include <iterator>

#include "gateway/auth/ChannelGrants.h"
#include "gateway/core/Channel.h"
#include "gateway/core/HttpStatus.h"
#include "gateway/http/Bearer.h"
#include "gateway/stream/StreamResponses.h"

namespace herald {

using namespace http_status;

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kEventsPath = "/v1/events";
constexpr std::string_view kAllowedMethods = "GET, OPTIONS";
constexpr std::string_view kTokenParam = "token";
constexpr std::string_view kTokenCookie = "herald_token";
// A client over --max-connections-per-ip is asked to wait about as long as a stream
// usually lives before it frees a slot; EventSource ignores it, other clients may not.
constexpr std::string_view kConnectionLimitRetryAfter = "Retry-After: 10\r\n";

std::string_view trim(std::string_view text) {
  auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// The token from, in order, `Authorization: Bearer`, the `token` query parameter (all
// that EventSource can send) and the `herald_token` cookie (sent by EventSource with
// withCredentials). nullopt when none carries one.
std::optional<std::string> findToken(const StreamHttpRequest& request) {
  if (auto it = request.find(http::field::authorization); it != request.end()) {
    if (auto token = bearerToken(it->value())) {
      return std::string(*token);
    }
  }
  std::string_view target = request.target();
  if (auto question = target.find('?'); question != std::string_view::npos) {
    if (auto params = parseQuery(target.substr(question + 1))) {
      for (auto& param : *params) {
        if (param.name == kTokenParam) {
          return std::move(param.value);
        }
      }
    }
  }
  for (auto it = request.find(http::field::cookie); it != request.end() && it->name() == http::field::cookie;
       ++it) {
    std::string_view cookies = it->value();
    while (!cookies.empty()) {
      auto semicolon = cookies.find(';');
      std::string_view pair = trim(cookies.substr(0, semicolon));
      cookies = semicolon == std::string_view::npos ? std::string_view{} : cookies.substr(semicolon + 1);
      auto eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == kTokenCookie) {
        return std::string(pair.substr(eq + 1));
      }
    }
  }
  return std::nullopt;
}

class Decider {
 public:
  Decider(const StreamHttpRequest& request, const StreamPolicy& policy) : request_(request), policy_(policy) {
    if (auto it = request.find(http::field::origin); it != request.end()) {
      origin_ = it->value();
    }
    corsOrigin_ = policy.cors.match(origin_);
    if (corsOrigin_ != nullptr) {
      corsLines_ = CorsPolicy::asHeaderLines(CorsPolicy::headersFor(*corsOrigin_));
    }
  }

  StreamDecision decide(bool overConnectionLimit) {
    const Config& config = policy_.config;
    if (request_.target().size() > config.maxRequestLine) {
      return refuse(kUriTooLong, "invalid_request",
                    "the request target exceeds " + std::to_string(config.maxRequestLine) + " bytes");
    }
    if (static_cast<std::size_t>(std::distance(request_.begin(), request_.end())) > config.maxHeaders) {
      return refuse(kHeadersTooLarge, "invalid_request",
                    "more than " + std::to_string(config.maxHeaders) + " request headers");
    }
    std::string_view target = request_.target();
    if (target.substr(0, target.find('?')) != kEventsPath) {
      return refuse(kNotFound, "not_found", "no such resource; subscribe at GET /v1/events");
    }
    if (request_.method() == http::verb::options) {
      return preflight();
    }
    if (request_.method() != http::verb::get) {
      return refuse(kMethodNotAllowed, "method_not_allowed", "use GET",
                    "Allow: " + std::string(kAllowedMethods) + "\r\n");
    }
    // Only the head is read, so a body is refused here, after the method (POST: 405).
    if (request_.chunked() ||
        (request_.has_content_length() && request_[http::field::content_length] != "0")) {
      return refuse(kBadRequest, "invalid_request", "GET /v1/events takes no body");
    }
    if (overConnectionLimit) {
      return refuse(kTooManyRequests, "overloaded",
                    "too many open streams from this address (--max-connections-per-ip " +
                        std::to_string(config.maxConnectionsPerIp) + ")",
                    std::string(kConnectionLimitRetryAfter));
    }
    std::optional<std::string_view> lastEventId;
    if (auto it = request_.find("Last-Event-ID"); it != request_.end()) {
      lastEventId = it->value();
    }
    auto parsed = parseSubscribeRequest(target, lastEventId, config.maxChannelsPerStream);
    if (auto* error = std::get_if<SubscribeError>(&parsed)) {
      return refuse(error->status, error->code, error->message);
    }
    StreamAdmission admission{std::move(std::get<SubscribeRequest>(parsed)), corsOrigin_, std::nullopt};
    if (policy_.verifier) {
      if (auto refusal = authorize(admission)) {
        return std::move(*refusal);
      }
    } else if (admission.request.channels.empty()) {
      return refuse(kBadRequest, "invalid_request", "name at least one channel: /v1/events?channel=<name>");
    }
    return admission;
  }

 private:
  std::optional<StreamRefusal> authorize(StreamAdmission& admission) {
    auto token = findToken(request_);
    if (!token || token->empty()) {
      return refuse(kUnauthorized, "unauthorized",
                    "a token is required (Authorization: Bearer, ?token= or the herald_token cookie)",
                    "WWW-Authenticate: Bearer\r\n", "no token");
    }
    auto verified = policy_.verifier->verify(*token);
    if (auto* rejection = std::get_if<TokenRejection>(&verified)) {
      return refuse(kUnauthorized, "unauthorized", "the token is invalid or expired",
                    "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n",
                    "token refused: " + rejection->reason);
    }
    const TokenClaims& claims = std::get<TokenClaims>(verified);
    SubscribeRequest& request = admission.request;
    if (request.channels.empty()) {
      if (!claims.subject) {
        return refuse(kBadRequest, "invalid_request",
                      "name at least one channel (the token has no sub to default to)");
      }
      std::string channel = userChannel(*claims.subject);
      if (!isValidChannelName(channel)) {
        return refuse(kBadRequest, "invalid_channel", "the token's sub does not make a valid channel name");
      }
      addChannel(request, std::move(channel));
    }
    for (const auto& start : request.channels) {
      if (!grantsChannel(claims, start.channel)) {
        return refuse(
            kForbidden, "forbidden", "the token does not grant channel " + start.channel, {},
            "channel " + start.channel + " not granted to sub " + claims.subject.value_or("(none)"));
      }
    }
    if (claims.expiresAt) {
      admission.validUntil = *claims.expiresAt + policy_.verifier->leeway().count();
    }
    return std::nullopt;
  }

  StreamRefusal preflight() const {
    auto headers = policy_.cors.preflightHeaders(origin_, kAllowedMethods, requestedHeaders());
    std::string out = "HTTP/1.1 204 No Content\r\nAllow: " + std::string(kAllowedMethods) +
                      "\r\nContent-Length: 0\r\nConnection: close\r\n";
    out += CorsPolicy::asHeaderLines(headers);
    out += "\r\n";
    return StreamRefusal{std::move(out), kNoContent, "", "preflight"};
  }

  std::string_view requestedHeaders() const {
    auto it = request_.find(http::field::access_control_request_headers);
    return it == request_.end() ? std::string_view{} : std::string_view(it->value());
  }

  StreamRefusal refuse(int status, std::string_view code, const std::string& message, std::string extra = {},
                       std::string reason = {}) const {
    extra += corsLines_;
    return StreamRefusal{errorResponse(status, code, message, extra), status, std::string(code),
                         reason.empty() ? std::string(code) + ": " + message : std::move(reason)};
  }

  const StreamHttpRequest& request_;
  const StreamPolicy& policy_;
  std::string_view origin_;
  const std::string* corsOrigin_ = nullptr;
  std::string corsLines_;
};

}  // namespace

StreamPolicy::StreamPolicy(const Config& config) : StreamPolicy(config, TokenVerifier::fromConfig(config)) {}

StreamPolicy::StreamPolicy(const Config& config, std::unique_ptr<TokenVerifier> verifier)
    : config(config), cors(config.corsOrigins), verifier(std::move(verifier)) {}

StreamDecision decideStreamRequest(const StreamHttpRequest& request, const StreamPolicy& policy,
                                   bool overConnectionLimit) {
  return Decider(request, policy).decide(overConnectionLimit);
}

std::optional<StreamRefusal> refusalForParseError(const boost::system::error_code& error,
                                                  const StreamPolicy& policy) {
  auto refusal = [](int status, std::string_view message) {
    return StreamRefusal{errorResponse(status, "invalid_request", message), status, "invalid_request",
                         std::string(message)};
  };
  if (error == http::error::header_limit) {
    return refusal(kHeadersTooLarge,
                   "request headers exceed " + std::to_string(policy.config.maxHeaderBytes) + " bytes");
  }
  if (error == http::error::unexpected_body) {
    return refusal(kBadRequest, "GET /v1/events takes no body");
  }
  if (error.category() == http::make_error_code(http::error::bad_target).category() &&
      error != http::error::end_of_stream && error != http::error::partial_message &&
      error != http::error::need_more) {
    return refusal(kBadRequest, "malformed HTTP request");
  }
  return std::nullopt;
}

std::string answerRequestBytes(std::string_view bytes, const StreamPolicy& policy) {
  http::request_parser<http::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(policy.config.maxHeaderBytes));
  boost::system::error_code error;
  std::size_t used = 0;
  while (!parser.is_header_done() && used < bytes.size()) {
    std::size_t consumed =
        parser.put(boost::asio::const_buffer(bytes.data() + used, bytes.size() - used), error);
    used += consumed;
    if (error == http::error::need_more) {
      error = {};
      if (consumed == 0) {
        break;
      }
      continue;
    }
    if (error) {
      break;
    }
  }
  if (!error && !parser.is_header_done()) {
    if (!parser.got_some()) {
      return {};  // nothing of a request: the listener closes without answering
    }
    parser.put_eof(error);  // the peer sent everything it will: what is there is final
  }
  if (error) {
    auto refusal = refusalForParseError(error, policy);
    return refusal ? refusal->response : std::string{};
  }
  auto decision = decideStreamRequest(parser.get(), policy);
  if (auto* refusal = std::get_if<StreamRefusal>(&decision)) {
    return refusal->response;
  }
  const auto& admission = std::get<StreamAdmission>(decision);
  return sseResponseHead(admission.corsOrigin == nullptr
                             ? std::string()
                             : CorsPolicy::asHeaderLines(CorsPolicy::headersFor(*admission.corsOrigin)));
}

}  // namespace herald
