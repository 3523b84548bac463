// StreamSession, its first phase: reading the request, answering refusals, and
// ending the stream when the subscriber's token expires. Kept apart from the
// relay half (StreamSession.cpp); the decisions themselves are in StreamRequest.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "gateway/core/HttpStatus.h"
#include "gateway/metrics/ErrorCodes.h"
#include "gateway/sse/SseEncoder.h"
#include "gateway/stream/StreamResponses.h"
#include "gateway/stream/StreamSession.h"

namespace herald {

using namespace http_status;

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {
constexpr std::chrono::hours kLongestExpiryWait{24 * 365 * 10};
constexpr std::string_view kTokenExpiredComment = "token expired, reconnect with a fresh one";
}  // namespace

asio::awaitable<void> StreamSession::readRequest() {
  auto self = shared_from_this();
  // The header phase is bounded in time (slow clients must not hold a socket
  // forever); the timer closes the socket, which fails the pending read.
  asio::steady_timer deadline(socket_.get_executor());
  deadline.expires_after(config_.requestTimeout);
  deadline.async_wait([self](const boost::system::error_code& ec) {
    if (!ec && self->state_ == State::reading) {
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    }
  });

  boost::beast::flat_buffer buffer;
  http::request_parser<http::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(config_.maxHeaderBytes));
  auto [ec, bytes] = co_await http::async_read(socket_, buffer, parser, asio::as_tuple(asio::use_awaitable));
  deadline.cancel();
  (void)bytes;
  if (ec) {
    auto refusal = socket_.is_open() ? refusalForParseError(ec, policy_) : std::nullopt;
    if (refusal) {
      reject(*refusal);
    } else {
      close();
    }
    co_return;
  }
  auto decision = decideStreamRequest(parser.get(), policy_, !slot_.admitted());
  if (auto* refusal = std::get_if<StreamRefusal>(&decision)) {
    reject(*refusal);
    co_return;
  }
  auto& admission = std::get<StreamAdmission>(decision);
  corsOrigin_ = admission.corsOrigin;
  join(std::move(admission.request));
  if (admission.validUntil) {
    endAt(*admission.validUntil);
  }
}

void StreamSession::endAt(std::int64_t validUntilEpochSeconds) {
  auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  // A far-future exp must not overflow the timer's clock; no stream lives this long anyway.
  auto remaining =
      std::clamp(std::chrono::seconds(validUntilEpochSeconds) - now, std::chrono::seconds::zero(),
                 std::chrono::duration_cast<std::chrono::seconds>(kLongestExpiryWait));
  expiryTimer_ = std::make_unique<asio::steady_timer>(socket_.get_executor());
  expiryTimer_->expires_after(remaining);
  expiryTimer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) {
      self->endOnTokenExpiry();
    }
  });
}

void StreamSession::endOnTokenExpiry() {
  if (state_ == State::joining || state_ == State::live) {
    spdlog::debug("stream: token expired, ending the stream");
    endStream(kTokenExpiredComment);
  }
}

void StreamSession::reject(const StreamRefusal& refusal) {
  if (!refusal.code.empty()) {
    ShardStats::bump(hub_.stats().rejected[errorCodeIndex(refusal.code)]);
  }
  // Auth refusals at info (operators look for them); the rest is client noise.
  auto level = refusal.status == kUnauthorized || refusal.status == kForbidden ? spdlog::level::info
                                                                               : spdlog::level::debug;
  spdlog::log(level, "stream: {} for {}: {}", refusal.status, peer(), refusal.reason);
  respondAndClose(refusal.response);
}

void StreamSession::respondAndClose(std::string response) {
  state_ = State::closed;
  auto frame = std::make_shared<const std::string>(std::move(response));
  asio::async_write(socket_, asio::buffer(*frame),
                    [self = shared_from_this(), frame](const boost::system::error_code&, std::size_t) {
                      boost::system::error_code ignored;
                      self->socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                      self->socket_.close(ignored);
                    });
}

}  // namespace herald
