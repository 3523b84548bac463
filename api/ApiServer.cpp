#include "api/ApiServer.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cctype>

#include "api/ErrorBody.h"
#include "api/HistoryRequest.h"
#include "api/HttpRules.h"
#include "api/Idempotency.h"
#include "api/PublishRequest.h"
#include "gateway/core/BindRetry.h"
#include "gateway/core/HttpStatus.h"
#include "gateway/core/ListenAddress.h"

namespace herald {

using namespace http_status;

namespace {

// Publishes block on the broker for up to --publish-timeout, and httplib holds a
// worker for each keep-alive connection, so the pool is sized for the
// publishers' connection pools (wrk -c32 starved 24 of 32 connections with 8).
constexpr std::size_t kWorkerThreads = 64;
constexpr std::size_t kKeepAliveMaxRequests = 1000;
constexpr std::chrono::seconds kKeepAliveTimeout{5};
constexpr std::chrono::seconds kWriteTimeout{5};
constexpr std::chrono::milliseconds kStartWait{5000};
constexpr std::chrono::milliseconds kStartPoll{5};
constexpr const char* kRetryAfterSeconds = "1";
constexpr const char* kJson = "application/json";

constexpr const char* kPublishPath = "/v1/notifications";
constexpr const char* kBatchPath = "/v1/notifications/batch";
constexpr const char* kHistoryPath = R"(/v1/channels/([^/]+)/notifications)";

// Why httplib could not bind `address`: the error a plain socket gets binding it the same
// way (SO_REUSEADDR). A host that is not an IP literal is "invalid argument"; a probe that
// succeeds means the address was freed in between, so it counts as "in use" (try again).
boost::system::error_code whyBindFails(const ListenAddress& address) {
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(address.host, ec);
  if (ec) {
    return ec;
  }
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(io);
  boost::asio::ip::tcp::endpoint endpoint(ip, address.port);
  probe.open(endpoint.protocol(), ec);
  if (!ec) {
    probe.set_option(boost::asio::ip::tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    probe.bind(endpoint, ec);
  }
  if (!ec) {
    probe.listen(boost::asio::socket_base::max_listen_connections, ec);
  }
  return ec ? ec : boost::system::errc::make_error_code(boost::system::errc::address_in_use);
}

void sendError(httplib::Response& res, const ApiError& error) {
  res.status = error.status;
  res.set_content(error.body(), kJson);
}

void sendError(httplib::Response& res, int status, const char* code, const std::string& message) {
  sendError(res, ApiError{status, code, message});
}

// The body of an answer httplib made itself (unknown path, malformed request, too large).
ApiError errorForStatus(int status, std::size_t maxBody) {
  switch (status) {
    case kNotFound:
      return {status, "not_found", "no such resource"};
    case kMethodNotAllowed:
      return {status, "method_not_allowed", "method not allowed on this resource"};
    case kPayloadTooLarge:
      return {status, "payload_too_large", "the body exceeds " + std::to_string(maxBody) + " bytes"};
    case kUnsupportedMediaType:
      return {status, "unsupported_media_type", "unsupported content encoding or type"};
    case kServiceUnavailable:
      return {status, "overloaded", "the server is overloaded, retry later"};
    default:
      if (status >= kInternalError) {
        return {status, "internal_error", "internal error"};
      }
      return {status, "invalid_request", "malformed HTTP request"};
  }
}

std::optional<std::string> queryParam(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) {
    return std::nullopt;
  }
  return req.get_param_value(name);
}

// A request carries a body when it says so: a Content-Length or a chunked Transfer-Encoding.
bool declaresBody(const httplib::Request& req) {
  auto encoding = req.get_header_value("Transfer-Encoding");
  std::transform(encoding.begin(), encoding.end(), encoding.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return req.has_header("Content-Length") || encoding.find("chunked") != std::string::npos;
}

// Runs a handler's work so every failure becomes the contract's answer, never a crash.
void runGuarded(const httplib::Request& req, httplib::Response& res, const std::function<void()>& work) {
  try {
    work();
  } catch (const ApiErrorException& e) {
    sendError(res, e.error());
  } catch (const IdempotencyConflict&) {
    sendError(res, kConflict, "idempotency_conflict", "this Idempotency-Key was used with a different body");
  } catch (const BrokerUnavailable& e) {
    spdlog::warn("api: {} {}: broker unavailable: {}", req.method, req.path, e.what());
    res.set_header("Retry-After", kRetryAfterSeconds);
    sendError(res, kServiceUnavailable, "broker_unavailable", "the broker is unavailable, retry later");
  } catch (const std::exception& e) {
    spdlog::error("api: {} {} failed: {}", req.method, req.path, e.what());
    sendError(res, kInternalError, "internal_error", "internal error");
  }
}

}  // namespace

ApiServer::ApiServer(const Config& config, Broker& broker)
    : config_(config),
      broker_(broker),
      cors_(config.corsOrigins),
      keys_(config),
      server_(std::make_unique<httplib::Server>()) {
  installRoutes();
}

bool ApiServer::reloadApiKeys() {
  return keys_.reload();
}

ApiServer::~ApiServer() {
  stop();
}

bool ApiServer::isAuthorizedPublisher(const httplib::Request& req) const {
  if (!keys_.configured()) {
    // No key configured: the api is meant for the node's own host (a sidecar or local backend).
    return isLoopbackAddress(req.remote_addr);
  }
  return keys_.accepts(req.get_header_value("Authorization"));
}

bool ApiServer::rejectedPublisher(const httplib::Request& req, httplib::Response& res) const {
  if (isAuthorizedPublisher(req)) {
    return false;
  }
  if (!keys_.configured()) {
    spdlog::info("api: 403 for {}: not loopback and no API key configured", req.remote_addr);
    sendError(res, kForbidden, "forbidden", "no API key is configured: only loopback clients may use this");
  } else {
    spdlog::info("api: 401 for {}: {}", req.remote_addr,
                 req.has_header("Authorization") ? "API key not accepted" : "no Authorization header");
    res.set_header("WWW-Authenticate", "Bearer");
    sendError(res, kUnauthorized, "unauthorized", "a valid Authorization: Bearer <api-key> is required");
  }
  return true;
}

void ApiServer::applyCors(const httplib::Request& req, httplib::Response& res) const {
  for (const auto& [name, value] : cors_.responseHeaders(req.get_header_value("Origin"))) {
    res.set_header(name, value);
  }
}

void ApiServer::installRoutes() {
  auto& server = *server_;
  server.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server.set_keep_alive_max_count(kKeepAliveMaxRequests);
  server.set_keep_alive_timeout(kKeepAliveTimeout.count());
  // httplib writes an answer's head and body separately; without TCP_NODELAY
  // Nagle holds the body until the client's delayed ACK (~40 ms on Linux), which
  // capped a keep-alive connection at ~25 publishes/s (bench/ssebench, wrk).
  server.set_tcp_nodelay(true);
  server.set_read_timeout(config_.requestTimeout);
  server.set_write_timeout(kWriteTimeout);
  // Requests with a Content-Length are refused by httplib itself; chunked ones by readBody below.
  server.set_payload_max_length(config_.maxBodyBytes);
  // httplib's default adds SO_REUSEPORT, which would let a second process bind the same port
  // silently; SO_REUSEADDR alone still allows a quick restart.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    applyCors(req, res);  // before anything can fail, so errors carry CORS headers too
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
        if (res.body.empty()) {
          sendError(res, errorForStatus(res.status, config_.maxBodyBytes));
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("api: {} {} failed: {}", req.method, req.path, what);
        sendError(res, kInternalError, "internal_error", "internal error");
      });

  auto publishRoute = [this](bool batch) -> httplib::Server::HandlerWithContentReader {
    return [this, batch](const httplib::Request& req, httplib::Response& res,
                         const httplib::ContentReader& reader) {
      const auto started = std::chrono::steady_clock::now();
      runGuarded(req, res, [&] { readAndPublish(req, res, reader, batch); });
      if (metrics_ != nullptr && res.status == kOk) {
        metrics_->observePublishDuration(std::chrono::steady_clock::now() - started);
      }
    };
  };
  server.Post(kPublishPath, publishRoute(false));
  server.Post(kBatchPath, publishRoute(true));
  server.Get(kHistoryPath, [this](const httplib::Request& req, httplib::Response& res) {
    runGuarded(req, res, [&] { handleHistory(req, res); });
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", kJson);
  });
  server.Get("/readyz", [this](const httplib::Request& req, httplib::Response& res) {
    runGuarded(req, res, [&] { handleReady(res); });
  });
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    if (metrics_ != nullptr) {
      res.set_content(metrics_->scrape(), "text/plain; version=0.0.4");
    } else if (metricsSource_) {
      res.set_content(metricsSource_(), "text/plain; version=0.0.4");
    } else {
      sendError(res, kNotFound, "not_found", "metrics are not enabled");
    }
  });
  installWebRoutes();

  // Every other method on a known path is 405 with the methods it does take; OPTIONS is a
  // CORS preflight (204, with CORS headers only for an allowed origin).
  struct KnownPath {
    const char* pattern;
    const char* allow;
    bool post;
  };
  for (auto [pattern, allow, post] :
       {KnownPath{kPublishPath, "POST, OPTIONS", true}, KnownPath{kBatchPath, "POST, OPTIONS", true},
        KnownPath{kHistoryPath, "GET, HEAD, OPTIONS", false},
        KnownPath{"/healthz", "GET, HEAD, OPTIONS", false}, KnownPath{"/readyz", "GET, HEAD, OPTIONS", false},
        KnownPath{"/metrics", "GET, HEAD, OPTIONS", false}}) {
    auto refuse = [allow = allow](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Allow", allow);
      sendError(res, kMethodNotAllowed, "method_not_allowed",
                req.method + " is not allowed here; use " + allow);
    };
    // With a content reader httplib does not read the body first; it is never read, so a
    // request that declared one gets its connection closed instead of read to the end.
    httplib::Server::HandlerWithContentReader refuseUnread =
        [refuse](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader&) {
          if (declaresBody(req)) {
            res.set_header("Connection", "close");
          }
          refuse(req, res);
        };
    if (post) {
      server.Get(pattern, refuse);
    } else {
      server.Post(pattern, refuseUnread);
    }
    server.Put(pattern, refuseUnread);
    server.Patch(pattern, refuseUnread);
    server.Delete(pattern, refuseUnread);
    server.Options(pattern, [this, allow = allow](const httplib::Request& req, httplib::Response& res) {
      res.status = kNoContent;
      res.set_header("Allow", allow);
      // The pre-routing handler already set the plain CORS headers; a preflight adds the rest.
      for (const auto& [name, value] :
           cors_.preflightHeaders(req.get_header_value("Origin"), allow,
                                  req.get_header_value("Access-Control-Request-Headers"))) {
        if (!res.has_header(name)) {
          res.set_header(name, value);
        }
      }
    });
  }
}

void ApiServer::readAndPublish(const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader, bool batch) {
  // Read by hand: httplib's own limit covers Content-Length bodies but not chunked ones.
  std::string body;
  if (!declaresBody(req)) {
    // No Content-Length and not chunked is an empty body (RFC 9112); httplib would otherwise
    // wait for the peer to close.
    handlePublish(req, res, body, batch);
    return;
  }
  bool tooLarge = false;
  bool read = reader([&](const char* data, std::size_t length) {
    if (body.size() + length > config_.maxBodyBytes) {
      tooLarge = true;
      return false;
    }
    body.append(data, length);
    return true;
  });
  if (tooLarge || res.status == kPayloadTooLarge) {
    res.set_header("Connection", "close");  // the rest of a chunked body is left unread
    sendError(res, errorForStatus(kPayloadTooLarge, config_.maxBodyBytes));
    return;
  }
  if (!read) {
    res.set_header("Connection", "close");
    sendError(res, kBadRequest, "invalid_request", "could not read the request body");
    return;
  }
  handlePublish(req, res, body, batch);
}

void ApiServer::handlePublish(const httplib::Request& req, httplib::Response& res, const std::string& body,
                              bool batch) {
  if (rejectedPublisher(req, res)) {
    return;
  }
  if (!isJsonContentType(req.get_header_value("Content-Type"))) {
    sendError(res, kUnsupportedMediaType, "unsupported_media_type", "the body must be application/json");
    return;
  }
  std::optional<IdempotencyToken> idempotency;
  if (req.has_header("Idempotency-Key")) {
    auto key = req.get_header_value("Idempotency-Key");
    if (!isValidIdempotencyKey(key)) {
      sendError(
          res, kBadRequest, "invalid_request",
          "Idempotency-Key must be 1-" + std::to_string(kMaxIdempotencyKeyBytes) + " printable ASCII bytes");
      return;
    }
    idempotency = IdempotencyToken{key, bodyDigest(body)};
  }

  PublishPlan plan = batch ? parseBatchBody(body) : parsePublishBody(body);
  if (plan.items.empty()) {
    res.set_content(R"({"results":[]})", kJson);  // an empty batch publishes nothing
    return;
  }
  PublishOutcome outcome = broker_.publish(plan.items, idempotency);
  if (outcome.replayed) {
    spdlog::debug("api: replayed the answer for an Idempotency-Key");
  } else if (metrics_ != nullptr) {
    metrics_->addPublished(plan.items.size());  // one per channel (CONTRACT: Counting)
  }
  res.status = kOk;
  res.set_content(makePublishAnswer(plan, outcome.ids), kJson);
}

void ApiServer::handleHistory(const httplib::Request& req, httplib::Response& res) {
  if (rejectedPublisher(req, res)) {
    return;
  }
  HistoryQuery query =
      parseHistoryQuery(req.matches[1].str(), queryParam(req, "after"), queryParam(req, "limit"));
  HistoryPage page = broker_.history(query.channel, query.after, query.limit);
  res.set_content(makeHistoryAnswer(query, page), kJson);
  if (metrics_ != nullptr) {
    metrics_->addHistoryRead();
  }
}

void ApiServer::handleReady(httplib::Response& res) {
  if (draining_) {
    res.set_header("Retry-After", kRetryAfterSeconds);
    sendError(res, kServiceUnavailable, "draining", "this node is shutting down");
  } else if (!broker_.ready()) {
    res.set_header("Retry-After", kRetryAfterSeconds);
    sendError(res, kServiceUnavailable, "broker_unavailable", "the broker is unavailable");
  } else {
    res.set_content(R"({"status":"ready"})", kJson);
  }
}

void ApiServer::start() {
  auto address = ListenAddress::parse(config_.apiListen);
  if (!address) {
    throw std::runtime_error("api listener: bad address '" + config_.apiListen + "' (expected host:port)");
  }
  // httplib says only that binding failed, so a plain socket tells why: while the
  // address is in use, retry for --bind-retry like the stream listener.
  bindWithRetry(
      [&] {
        port_ = address->port == 0
                    ? server_->bind_to_any_port(address->host)
                    : (server_->bind_to_port(address->host, address->port) ? address->port : -1);
        return port_ > 0 ? boost::system::error_code{} : whyBindFails(*address);
      },
      config_.bindRetry, "--api-listen " + config_.apiListen);
  thread_ = std::thread([this] {
    if (!server_->listen_after_bind()) {
      spdlog::error("api listener on {} stopped with an error", config_.apiListen);
    }
  });
  // stop() only takes effect once the server runs, so wait for it: a stop right after
  // start would otherwise leave the thread listening forever.
  auto deadline = std::chrono::steady_clock::now() + kStartWait;
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kStartPoll);
  }
  spdlog::info("api listening on {}:{}", address->host, port_);
}

void ApiServer::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace herald
