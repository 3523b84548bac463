#include "api/ApiServer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "api/ApiRoutes.h"
#include "api/HistoryRequest.h"
#include "api/HttpRules.h"
#include "api/Idempotency.h"
#include "api/PublishRequest.h"
#include "gateway/core/HttpStatus.h"
#include "gateway/http/BindListener.h"

namespace herald {

using namespace http_status;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

namespace {

constexpr auto kAcceptBackoff = std::chrono::milliseconds(50);
constexpr const char* kRetryAfterSeconds = "1";
constexpr const char* kPrometheusType = "text/plain; version=0.0.4";
// Request headers that say a request came through a proxy: with no API key configured
// the api is for this host's own processes, and a proxy in front would let anyone in.
constexpr std::array<std::string_view, 3> kProxyHeaders = {"Forwarded", "X-Forwarded-For", "Via"};

}  // namespace

ApiServer::ApiServer(const Config& config, Broker& broker)
    : config_(config),
      broker_(broker),
      cors_(config.corsOrigins),
      keys_(config),
      limits_(RequestLimits::fromConfig(config)),
      brokerBlocks_(config.broker != "memory"),
      // One idle thread for the memory broker, whose calls run on the loop.
      workers_(brokerBlocks_ ? config.apiWorkers : 1, config.apiQueue) {
  installRoutes();
}

ApiServer::~ApiServer() {
  stop();
}

bool ApiServer::reloadApiKeys() {
  return keys_.reload();
}

std::optional<HttpAnswer> ApiServer::rejectedPublisher(const HttpRequest& req) const {
  if (keys_.configured()) {
    if (keys_.accepts(req.header("Authorization"))) {
      return std::nullopt;
    }
    spdlog::info("api: 401 for {}: {}", req.remoteAddress,
                 req.hasHeader("Authorization") ? "API key not accepted" : "no Authorization header");
    return errorAnswer(ErrorCode::unauthorized).header("WWW-Authenticate", "Bearer");
  }
  // No key configured: the api is meant for the node's own host (a sidecar or local backend).
  std::string_view why;
  if (!isLoopbackAddress(req.remoteAddress)) {
    why = "not loopback";
  } else if (std::any_of(kProxyHeaders.begin(), kProxyHeaders.end(),
                         [&req](std::string_view name) { return req.hasHeader(name); })) {
    why = "came through a proxy (Forwarded, X-Forwarded-For or Via)";
  } else if (auto hosts = req.message.equal_range(http::field::host);
             std::any_of(hosts.first, hosts.second,
                         [](const auto& field) { return !isLoopbackHost(field.value()); })) {
    why = "Host is not a loopback name";
  } else {
    return std::nullopt;
  }
  spdlog::info("api: 403 for {}: {} and no API key configured", req.remoteAddress, why);
  return errorAnswer(ErrorCode::forbidden,
                     "no API key is configured: only loopback clients, not through a proxy, may use this");
}

void ApiServer::installRoutes() {
  auto onLoop = [](auto handle) { return Route{std::move(handle), false, false}; };
  routes_.add(http::verb::post, "/v1/notifications",
              Route{[this](const HttpRequest& req) { return publish(req, false); }, true, true});
  routes_.add(http::verb::post, "/v1/notifications/batch",
              Route{[this](const HttpRequest& req) { return publish(req, true); }, true, true});
  routes_.add(http::verb::get, "/v1/channels/{channel}/notifications",
              Route{[this](const HttpRequest& req) { return history(req); }, true, false});
  routes_.add(http::verb::get, "/healthz",
              onLoop([](const HttpRequest&) { return jsonAnswer(R"({"status":"ok"})"); }));
  routes_.add(http::verb::get, "/readyz", onLoop([this](const HttpRequest&) { return ready(); }));
  routes_.add(http::verb::get, "/metrics", onLoop([this](const HttpRequest&) {
                HttpAnswer answer;
                answer.contentType = kPrometheusType;
                if (metrics_ != nullptr) {
                  answer.body = metrics_->scrape();
                } else if (metricsSource_) {
                  answer.body = metricsSource_();
                } else {
                  return errorAnswer(ErrorCode::notFound, "metrics are not enabled");
                }
                return answer;
              }));
  installWebRoutes();

  // The table and the documented routes (api/ApiRoutes.h, checked against openapi.yaml) are one list.
  auto served = routes();
  std::vector<std::pair<std::string, std::string>> documented;
  for (const auto& route : kApiRoutes) {
    documented.emplace_back(route.method, route.path);
  }
  std::sort(served.begin(), served.end());
  std::sort(documented.begin(), documented.end());
  if (served != documented) {
    throw std::logic_error("api routes differ from kApiRoutes (api/ApiRoutes.h)");
  }
}

std::vector<std::pair<std::string, std::string>> ApiServer::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [method, path] : routes_.routes()) {
    std::string name(http::to_string(method));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.emplace_back(std::move(name), path);
  }
  return out;
}

HttpAnswer ApiServer::publish(const HttpRequest& req, bool batch) {
  if (auto refusal = rejectedPublisher(req)) {
    return std::move(*refusal);
  }
  if (!isJsonContentType(req.header("Content-Type"))) {
    return errorAnswer(ErrorCode::unsupportedMediaType);
  }
  const std::string& body = req.message.body();
  std::optional<IdempotencyToken> idempotency;
  if (req.hasHeader("Idempotency-Key")) {
    std::string key(req.header("Idempotency-Key"));
    if (!isValidIdempotencyKey(key)) {
      return errorAnswer(
          ErrorCode::invalidRequest,
          "Idempotency-Key must be 1-" + std::to_string(kMaxIdempotencyKeyBytes) + " printable ASCII bytes");
    }
    // Scoped by the caller's API key, so two backends' keys cannot collide.
    if (auto scope = keys_.scopeOf(req.header("Authorization"))) {
      key = *scope + ":" + key;
    }
    idempotency = IdempotencyToken{key, bodyDigest(body)};
  }

  PublishPlan plan = batch ? parseBatchBody(body) : parsePublishBody(body);
  if (plan.items.empty()) {
    return jsonAnswer(R"({"results":[]})");  // an empty batch publishes nothing
  }
  PublishOutcome outcome = broker_.publish(plan.items, idempotency);
  if (outcome.replayed) {
    spdlog::debug("api: replayed the answer for an Idempotency-Key");
  } else if (metrics_ != nullptr) {
    metrics_->addPublished(plan.items.size());  // one per channel (CONTRACT: Counting)
  }
  return jsonAnswer(makePublishAnswer(plan, outcome.ids));
}

HttpAnswer ApiServer::history(const HttpRequest& req) {
  if (auto refusal = rejectedPublisher(req)) {
    return std::move(*refusal);
  }
  HistoryQuery query = parseHistoryQuery(req.params.at(0), req.query("after"), req.query("limit"));
  HistoryPage page = broker_.history(query.channel, query.after, query.limit);
  if (metrics_ != nullptr) {
    metrics_->addHistoryRead();
  }
  return jsonAnswer(makeHistoryAnswer(query, page));
}

HttpAnswer ApiServer::ready() const {
  if (draining_) {
    return errorAnswer(ErrorCode::draining).header("Retry-After", kRetryAfterSeconds);
  }
  if (!broker_.ready()) {
    return errorAnswer(ErrorCode::brokerUnavailable, "the broker is unavailable")
        .header("Retry-After", kRetryAfterSeconds);
  }
  return jsonAnswer(R"({"status":"ready"})");
}

void ApiServer::start() {
  for (unsigned i = 0; i < config_.apiThreads; ++i) {
    loops_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*loops_.back()));
  }
  try {
    acceptor_ = bindListener(*loops_.front(), "--api-listen", config_.apiListen);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("api listener: ") + e.what());
  }
  port_ = acceptor_->local_endpoint().port();
  asio::co_spawn(*loops_.front(), acceptLoop(), asio::detached);
  for (auto& loop : loops_) {
    threads_.emplace_back([&loop] { loop->run(); });
  }
  spdlog::info(
      "api listening on {} (port {}), {} loop thread(s), broker calls {}", config_.apiListen, port_,
      config_.apiThreads,
      brokerBlocks_ ? "on " + std::to_string(config_.apiWorkers) + " workers" : std::string("on the loop"));
}

asio::awaitable<void> ApiServer::acceptLoop() {
  asio::steady_timer backoff(co_await asio::this_coro::executor);
  while (acceptor_->is_open()) {
    auto& loop = *loops_[nextLoop_++ % loops_.size()];
    auto [ec, socket] = co_await acceptor_->async_accept(loop, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) {
        co_return;
      }
      spdlog::warn("api listener: accept failed: {}", ec.message());
      backoff.expires_after(kAcceptBackoff);
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    asio::co_spawn(loop, serve(std::move(socket)), asio::detached);
  }
}

void ApiServer::stop() {
  if (threads_.empty()) {
    return;
  }
  asio::post(*loops_.front(), [this] {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
  });
  // Broker calls under way finish first; their answers are not written (the loops stop).
  workers_.stop();
  for (auto& loop : loops_) {
    loop->stop();
  }
  for (auto& thread : threads_) {
    thread.join();
  }
  threads_.clear();
}

}  // namespace herald
