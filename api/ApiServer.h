// ApiServer: the internal REST listener ("api") that backends publish through.
//
// It serves `POST /v1/notifications`, `POST /v1/notifications/batch`,
// `GET /v1/channels/<channel>/notifications`, `/healthz`, `/readyz` and
// `/metrics` (plus the pages and JSON of api/WebRoutes.h) with cpp-httplib on
// its own thread pool, and answers only after the Broker has stored what was published. Parsing and validation live in pure
// functions (PublishRequest, HistoryRequest, HttpRules, Idempotency); this class
// maps them to HTTP, makes every error the contract's JSON error body, and
// guards the publishers: with no API key configured only loopback clients may
// publish or read history, otherwise an `Authorization: Bearer <key>` is needed.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/ApiKeyRing.h"
#include "gateway/broker/Broker.h"
#include "gateway/config/Config.h"
#include "gateway/core/CorsPolicy.h"
#include "gateway/metrics/Metrics.h"

namespace httplib {
class Server;
struct Request;
struct Response;
class ContentReader;
}  // namespace httplib

namespace herald {

class ApiServer {
 public:
  // Reads --api-key-file now (throws std::runtime_error naming the file if it cannot).
  ApiServer(const Config& config, Broker& broker);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds config.apiListen (port 0: any free port; retried for --bind-retry while the
  // address is in use) and serves on a background thread. Throws std::runtime_error
  // with the address and the reason when it cannot bind.
  void start();
  // The bound port (after start()).
  int port() const { return port_; }
  // Stops accepting, finishes in-flight requests and joins the thread. Idempotent.
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

 private:
  void installRoutes();
  void readAndPublish(const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader, bool batch);
  void handlePublish(const httplib::Request& req, httplib::Response& res, const std::string& body,
                     bool batch);
  void handleHistory(const httplib::Request& req, httplib::Response& res);
  void handleReady(httplib::Response& res);
  // May this client publish or read history?
  bool isAuthorizedPublisher(const httplib::Request& req) const;
  // Answers 403/401 and returns true when the client may not publish or read history.
  bool rejectedPublisher(const httplib::Request& req, httplib::Response& res) const;
  void applyCors(const httplib::Request& req, httplib::Response& res) const;
  void installWebRoutes();  // in api/WebRoutes.cpp

  const Config& config_;
  Broker& broker_;
  CorsPolicy cors_;
  ApiKeyRing keys_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> draining_{false};
  int port_ = 0;
  std::function<std::string()> metricsSource_;
  Metrics* metrics_ = nullptr;
  int streamPort_ = 0;
};

}  // namespace herald
