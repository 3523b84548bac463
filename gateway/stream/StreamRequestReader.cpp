#include "gateway/stream/StreamRequestReader.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "gateway/core/HttpStatus.h"
#include "gateway/metrics/ErrorCodes.h"
#include "gateway/stream/StreamSession.h"

namespace herald {

using namespace http_status;

namespace asio = boost::asio;
namespace http = boost::beast::http;

StreamRequestReader::StreamRequestReader(asio::ip::tcp::socket socket, ShardHub& hub, Broker& broker,
                                         const StreamPolicy& policy, ConnectionLimiter::Slot slot)
    : socket_(std::move(socket)), hub_(hub), broker_(broker), policy_(policy), slot_(std::move(slot)) {}

void StreamRequestReader::start() {
  asio::co_spawn(
      socket_.get_executor(), [self = shared_from_this()] { return self->readRequest(); }, asio::detached);
}

asio::awaitable<void> StreamRequestReader::readRequest() {
  auto self = shared_from_this();
  const Config& config = policy_.config;
  // The header phase is bounded in time (slow clients must not hold a socket
  // forever); the timer closes the socket, which fails the pending read.
  asio::steady_timer deadline(socket_.get_executor());
  deadline.expires_after(config.requestTimeout);
  deadline.async_wait([self](const boost::system::error_code& ec) {
    if (!ec && !self->done_) {
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    }
  });

  boost::beast::flat_buffer buffer;
  http::request_parser<http::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(config.maxHeaderBytes));
  // The head only: a body is refused by the decision, after the method (POST is 405).
  auto [ec, bytes] =
      co_await http::async_read_header(socket_, buffer, parser, asio::as_tuple(asio::use_awaitable));
  done_ = true;
  deadline.cancel();
  (void)bytes;
  if (ec) {
    auto refusal = socket_.is_open() ? refusalForParseError(ec, policy_) : std::nullopt;
    if (refusal) {
      reject(*refusal);
    } else {
      boost::system::error_code ignored;
      socket_.close(ignored);
    }
    co_return;
  }
  auto decision = decideStreamRequest(parser.get(), policy_, !slot_.admitted());
  if (auto* refusal = std::get_if<StreamRefusal>(&decision)) {
    reject(*refusal);
    co_return;
  }
  if (buffer.size() > 0) {
    // An SSE client sends nothing after its request (the contract closes such a stream).
    spdlog::debug("stream: {} sent bytes after its request, closing", peer());
    boost::system::error_code ignored;
    socket_.close(ignored);
    co_return;
  }
  auto& admission = std::get<StreamAdmission>(decision);
  auto session = std::make_shared<StreamSession>(std::move(socket_), hub_, broker_, policy_, std::move(slot_),
                                                 admission.corsOrigin);
  session->start(std::move(admission.request), admission.validUntil);
}

void StreamRequestReader::reject(const StreamRefusal& refusal) {
  if (!refusal.code.empty()) {
    ShardStats::bump(hub_.stats().rejected[errorCodeIndex(refusal.code)]);
  }
  // Auth refusals at info (operators look for them); the rest is client noise.
  auto level = refusal.status == kUnauthorized || refusal.status == kForbidden ? spdlog::level::info
                                                                               : spdlog::level::debug;
  spdlog::log(level, "stream: {} for {}: {}", refusal.status, peer(), refusal.reason);
  respondAndClose(refusal.response);
}

void StreamRequestReader::respondAndClose(std::string response) {
  auto frame = std::make_shared<const std::string>(std::move(response));
  asio::async_write(socket_, asio::buffer(*frame),
                    [self = shared_from_this(), frame](const boost::system::error_code&, std::size_t) {
                      boost::system::error_code ignored;
                      self->socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                      self->socket_.close(ignored);
                    });
}

std::string StreamRequestReader::peer() const {
  boost::system::error_code ec;
  auto endpoint = socket_.remote_endpoint(ec);
  return ec ? std::string("unknown") : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace herald
