// ApiServer: the internal REST listener ("api") that backends publish through.
//
// It serves `POST /v1/notifications`, `POST /v1/notifications/batch`,
// `GET /v1/channels/<channel>/notifications`, `/healthz`, `/readyz` and
// `/metrics` (plus the pages and JSON of api/WebRoutes.h) on the same stack as
// the stream listener: Asio C++20 coroutines, one per connection, on
// --api-threads event-loop threads of its own, Beast's parser under the shared
// request limits (gateway/http/RequestLimits.h), keep-alive and pipelining
// (answers in request order). Calls to a broker that blocks on the network
// (Redis) run on BrokerWorkers, so the loop never waits on the broker and
// /healthz, /readyz, /metrics and /v1/stats are
// answered on the loop whatever the publish load. It answers only after the
// Broker has stored what was published. Parsing and validation live in pure
// functions (PublishRequest, HistoryRequest, HttpRules, Idempotency); the routes
// are one RouteTable, from which 404, 405 and OPTIONS follow. Publishers are
// guarded: with no API key configured only loopback clients that did not come
// through a proxy (no Forwarded, X-Forwarded-For or Via) and name a loopback
// Host may publish or read history, otherwise an `Authorization: Bearer <key>`
// is needed.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/ApiKeyRing.h"
#include "api/BrokerWorkers.h"
#include "gateway/broker/Broker.h"
#include "gateway/config/Config.h"
#include "gateway/core/CorsPolicy.h"
#include "gateway/http/HttpAnswer.h"
#include "gateway/http/HttpRequest.h"
#include "gateway/http/ReadDeadline.h"
#include "gateway/http/RequestLimits.h"
#include "gateway/http/RouteTable.h"
#include "gateway/metrics/Metrics.h"

namespace herald {

class ApiServer {
 public:
  // Reads --api-key-file now (throws std::runtime_error naming the file if it cannot).
  ApiServer(const Config& config, Broker& broker);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds config.apiListen (port 0: any free port) and serves on its own threads.
  // Throws std::runtime_error with the address when it cannot bind.
  void start();
  // The bound port (after start()).
  int port() const { return port_; }
  // Stops accepting and serving, waits for the broker calls under way, joins the threads.
  // Idempotent.
  void stop();
  // While draining, /readyz answers 503 `draining`; publishes and history are still served.
  void setDraining(bool draining) { draining_ = draining; }
  // Re-reads --api-key-file (on SIGHUP): the keys become --api-key plus the file's. When
  // the file cannot be read the old keys stay and the error is logged; returns whether
  // the reload happened.
  bool reloadApiKeys();
  // The Prometheus text /metrics serves; without one, /metrics is 404. Call before start().
  void setMetricsSource(std::function<std::string()> source) { metricsSource_ = std::move(source); }
  // Where publishes, history reads and errors are counted, and what /metrics and /v1/stats
  // serve (it outlives the server). Without it, nothing is counted. Call before start().
  void setMetrics(Metrics* metrics) { metrics_ = metrics; }
  // The stream listener's bound port, for the demo page (GET /v1/config). Call before start().
  void setStreamPort(int port) { streamPort_ = port; }

  // A route's handler: pure, request in, answer out. `usesBroker` ones run on the workers
  // (they block on the broker), the rest on the event loop; `readsBody` ones get the body.
  struct Route {
    std::function<HttpAnswer(const HttpRequest&)> handle;
    bool usesBroker = false;
    bool readsBody = false;
  };
  // Every (method, OpenAPI path) the table serves, for the route-parity test.
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  void installRoutes();
  void installWebRoutes();  // in api/WebRoutes.cpp
  boost::asio::awaitable<void> acceptLoop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);  // in api/ApiConnection.cpp
  boost::asio::awaitable<void> lingerAndClose(boost::asio::ip::tcp::socket& socket, ReadDeadline& deadline);
  // The answer to one complete request (routing done): runs its handler on the loop or a worker.
  boost::asio::awaitable<HttpAnswer> answer(const Route& route, HttpRequest& request);
  // Adds the CORS headers and counts/logs the answer.
  void finish(const HttpRequest& request, HttpAnswer& answer) const;

  HttpAnswer publish(const HttpRequest& req, bool batch);
  HttpAnswer history(const HttpRequest& req);
  HttpAnswer ready() const;
  // The refusal (403/401) when this client may not publish or read history, else nullopt.
  std::optional<HttpAnswer> rejectedPublisher(const HttpRequest& req) const;

  const Config& config_;
  Broker& broker_;
  CorsPolicy cors_;
  ApiKeyRing keys_;
  const RequestLimits limits_;
  RouteTable<Route> routes_;
  std::atomic<bool> draining_{false};
  int port_ = 0;
  std::function<std::string()> metricsSource_;
  Metrics* metrics_ = nullptr;
  int streamPort_ = 0;

  // The memory broker's calls never wait on I/O (a channel lock for microseconds): they run
  // on the loop, since a hand-off to a worker and back costs more than the call (futex
  // wake-ups were most of the CPU under `wrk -c32`). Any other broker blocks on the network.
  const bool brokerBlocks_;
  BrokerWorkers workers_;
  // Destroyed before what their pending handlers reference (declared last).
  std::vector<std::unique_ptr<boost::asio::io_context>> loops_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;
  std::size_t nextLoop_ = 0;
  static constexpr std::size_t kLingerChunk = 4096;
};

}  // namespace herald
