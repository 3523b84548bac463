// ApiServer, one connection: read requests under the shared limits, route them,
// answer in order. Kept apart from the routes and handlers (ApiServer.cpp).
//
// A connection is one coroutine on its loop thread. Requests are read one after
// another from one buffer, so pipelined requests are answered in the order they
// came; each answer is written before the next request is parsed. Every phase
// is bounded: the wait for the next keep-alive request by kKeepAliveIdle, a
// request's head and body together by --request-timeout, an answer's write by
// kWriteTimeout. A request answered without reading its body (404, 405, 401 on
// a route that reads one only after the head) closes the connection afterwards:
// the body is never read, so nothing an unrouted request sends is buffered.
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <optional>

#include "api/ApiServer.h"
#include "api/ErrorBody.h"
#include "api/Idempotency.h"
#include "api/PublishRequest.h"
#include "gateway/core/HttpStatus.h"
#include "gateway/http/ReadDeadline.h"

namespace herald {

using namespace http_status;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// How long an idle keep-alive connection is kept (backends' pools reuse theirs far sooner).
constexpr auto kKeepAliveIdle = std::chrono::seconds(60);
// A client that stops reading its answers is cut off after this.
constexpr auto kWriteTimeout = std::chrono::seconds(10);
constexpr int kFirstErrorStatus = 400;
// What a connection closed after an answer may still read and drop, at most.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 256 * 1024;
constexpr const char* kRetryAfterSeconds = "1";

// Runs a handler so every failure becomes the contract's answer, never a crash.
HttpAnswer guarded(const ApiServer::Route& route, const HttpRequest& request) {
  try {
    return route.handle(request);
  } catch (const ApiErrorException& e) {
    return answerFor(e.error());
  } catch (const IdempotencyConflict&) {
    return errorAnswer(ErrorCode::idempotencyConflict);
  } catch (const BrokerUnavailable& e) {
    spdlog::warn("api: {} {}: broker unavailable: {}", request.method(), request.path(), e.what());
    return errorAnswer(ErrorCode::brokerUnavailable).header("Retry-After", kRetryAfterSeconds);
  } catch (const std::exception& e) {
    spdlog::error("api: {} {} failed: {}", request.method(), request.path(), e.what());
    return errorAnswer(ErrorCode::internalError);
  }
}

}  // namespace

asio::awaitable<HttpAnswer> ApiServer::answer(const Route& route, HttpRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  if (!route.usesBroker || !brokerBlocks_) {
    HttpAnswer answer = guarded(route, request);
    if (metrics_ != nullptr && route.readsBody && answer.status == kOk) {
      metrics_->observePublishDuration(std::chrono::steady_clock::now() - started);
    }
    co_return answer;
  }
  auto answer = co_await workers_.run([&route, &request] { return guarded(route, request); });
  if (!answer) {
    co_return errorAnswer(ErrorCode::overloaded, "too many publish and history calls under way, retry later")
        .header("Retry-After", kRetryAfterSeconds);
  }
  if (metrics_ != nullptr && route.readsBody && answer->status == kOk) {
    metrics_->observePublishDuration(std::chrono::steady_clock::now() - started);
  }
  co_return std::move(*answer);
}

void ApiServer::finish(const HttpRequest& request, HttpAnswer& answer) const {
  auto origin = request.header("Origin");
  if (!origin.empty()) {
    for (auto& header : cors_.responseHeaders(origin)) {
      answer.headers.push_back(std::move(header));
    }
  }
  if (answer.status >= kFirstErrorStatus && metrics_ != nullptr) {
    metrics_->addRejected(answer.error ? errorCodeName(*answer.error) : std::string_view("other"));
  }
  // Method, path and status only: the query, headers and body may carry keys or payloads.
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("api: {} {} from {} -> {}", request.method(), request.path(), request.remoteAddress,
                  answer.status);
  }
}

asio::awaitable<void> ApiServer::serve(tcp::socket socket) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  auto peer = socket.remote_endpoint(ec);
  if (ec) {
    co_return;  // already gone
  }
  const std::string remoteAddress = peer.address().to_string();
  ReadDeadline deadline(socket);
  beast::flat_buffer buffer(limits_.bufferBytes());

  for (;;) {
    if (buffer.size() == 0) {
      // Idle between requests: hold no read buffer, wait for the next request's first byte.
      buffer.shrink_to_fit();
      deadline.arm(kKeepAliveIdle);
      auto [waitError] =
          co_await socket.async_wait(tcp::socket::wait_read, asio::as_tuple(asio::use_awaitable));
      if (waitError) {
        break;
      }
    }
    deadline.arm(limits_.timeout);
    std::optional<http::request_parser<http::string_body>> parser(std::in_place);
    applyLimits(*parser, limits_);
    auto [readError, headBytes] =
        co_await http::async_read_header(socket, buffer, *parser, asio::as_tuple(asio::use_awaitable));
    (void)headBytes;

    HttpRequest request;
    request.remoteAddress = remoteAddress;
    std::optional<HttpAnswer> reply;
    bool keepAlive = false;
    bool headOnly = false;
    if (readError) {
      if (deadline.expired() || !socket.is_open()) {
        break;
      }
      reply = answerForReadError(readError, limits_);
      if (!reply) {
        break;
      }
      reply->close = true;
    } else if (auto tooBig = checkRequestHead(parser->get(), limits_)) {
      reply = std::move(tooBig);
      reply->close = true;
    } else {
      const auto& head = parser->get();
      keepAlive = head.keep_alive();
      headOnly = head.method() == http::verb::head;
      auto lookup = routes_.find(head.method(), head.target());
      using Kind = RouteTable<Route>::Kind;
      if (lookup.kind == Kind::found && lookup.handler->readsBody) {
        if (beast::iequals(head[http::field::expect], "100-continue")) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          co_await asio::async_write(socket, asio::buffer(kContinue.data(), kContinue.size()),
                                     asio::as_tuple(asio::use_awaitable));
        }
        auto [bodyError, bodyBytes] =
            co_await http::async_read(socket, buffer, *parser, asio::as_tuple(asio::use_awaitable));
        (void)bodyBytes;
        if (bodyError) {
          if (deadline.expired() || !socket.is_open()) {
            break;
          }
          reply = answerForReadError(bodyError, limits_);
          if (!reply) {
            break;
          }
          reply->close = true;  // the rest of the body is left unread
        }
      }
      request.message = parser->release();
      request.params = std::move(lookup.params);
      bool bodyUnread =
          !(lookup.kind == Kind::found && lookup.handler->readsBody) && declaresBody(request.message);
      if (reply) {
        // a body that could not be read
      } else if (lookup.kind == Kind::notFound) {
        reply = errorAnswer(ErrorCode::notFound);
      } else if (lookup.kind == Kind::methodNotAllowed) {
        reply = errorAnswer(
                    ErrorCode::methodNotAllowed,
                    std::string(request.method()) + " is not allowed here; use " + std::string(lookup.allow))
                    .header("Allow", std::string(lookup.allow));
      } else if (lookup.kind == Kind::preflight) {
        reply = HttpAnswer{};
        reply->status = kNoContent;
        reply->header("Allow", std::string(lookup.allow));
        for (auto& header : cors_.preflightHeaders(request.header("Origin"), lookup.allow,
                                                   request.header("Access-Control-Request-Headers"))) {
          reply->headers.push_back(std::move(header));
        }
      } else {
        deadline.disarm();
        reply = co_await answer(*lookup.handler, request);
      }
      if (bodyUnread) {
        reply->close = true;
      }
      if (lookup.kind == Kind::preflight) {
        // preflightHeaders already carries the CORS headers of an allowed origin
        request.message.erase(http::field::origin);
      }
    }
    deadline.disarm();
    finish(request, *reply);

    auto bytes = serializeAnswer(*reply, keepAlive, headOnly);
    deadline.arm(kWriteTimeout);
    auto [writeError, written] =
        co_await asio::async_write(socket, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
    (void)written;
    deadline.disarm();
    if (writeError) {
      break;
    }
    if (reply->close || !keepAlive) {
      co_await lingerAndClose(socket, deadline);
      co_return;
    }
  }
  boost::system::error_code ignored;
  socket.close(ignored);
}

asio::awaitable<void> ApiServer::lingerAndClose(tcp::socket& socket, ReadDeadline& deadline) {
  // Closing with unread bytes would reset the connection, and the peer could lose the
  // answer just written; read (and drop) a bounded amount first, as nginx's lingering close.
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  std::array<char, kLingerChunk> sink;
  std::size_t drained = 0;
  deadline.arm(kLingerTime);
  while (drained < kLingerBytes) {
    auto [error, n] =
        co_await socket.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
    if (error) {
      break;
    }
    drained += n;
  }
  deadline.disarm();
  socket.close(ignored);
}

}  // namespace herald
