#include "api/WebRoutes.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "api/ApiServer.h"
#include "api/ErrorBody.h"
#include "gateway/core/HttpStatus.h"
#include "herald/WebFiles.h"

namespace herald {

using namespace http_status;

namespace {

constexpr int kFirstErrorStatus = 400;
constexpr const char* kHtml = "text/html; charset=utf-8";
constexpr const char* kJavaScript = "text/javascript; charset=utf-8";
constexpr const char* kCss = "text/css; charset=utf-8";
constexpr const char* kJson = "application/json";
constexpr const char* kGetOnly = "GET, HEAD, OPTIONS";
constexpr std::string_view kCodeKey = R"("code":")";

struct Page {
  const char* path;
  std::string_view content;
  const char* type;
};

void sendPage(httplib::Response& res, const Page& page) {
  res.set_content(page.content.data(), page.content.size(), page.type);
  // The pages change with the binary; revalidating each load keeps a restarted node's page fresh.
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
}

}  // namespace

std::string_view errorCodeOf(std::string_view body) {
  auto start = body.find(kCodeKey);
  if (start == std::string_view::npos) {
    return {};
  }
  start += kCodeKey.size();
  auto end = body.find('"', start);
  return end == std::string_view::npos ? std::string_view{} : body.substr(start, end - start);
}

void ApiServer::installWebRoutes() {
  auto& server = *server_;
  const std::array<Page, 5> pages = {{
      {"/", embedded::kIndexHtml, kHtml},
      {"/status", embedded::kStatusHtml, kHtml},
      {"/assets/demo.js", embedded::kDemoJs, kJavaScript},
      {"/assets/status.js", embedded::kStatusJs, kJavaScript},
      {"/assets/herald.css", embedded::kHeraldCss, kCss},
  }};
  std::vector<const char*> getOnlyPaths = {"/v1/stats", "/v1/config", "/favicon.ico"};
  for (const Page& page : pages) {
    server.Get(page.path, [page](const httplib::Request&, httplib::Response& res) { sendPage(res, page); });
    getOnlyPaths.push_back(page.path);
  }
  server.Get("/favicon.ico",
             [](const httplib::Request&, httplib::Response& res) { res.status = kNoContent; });

  server.Get("/v1/config", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json config = {{"streamPort", streamPort_}, {"version", HERALD_VERSION}};
    res.set_content(config.dump(), kJson);
  });
  server.Get("/v1/stats", [this](const httplib::Request& req, httplib::Response& res) {
    if (rejectedPublisher(req, res)) {
      return;
    }
    if (metrics_ == nullptr) {
      res.status = 404;
      res.set_content(errorBody("not_found", "metrics are not enabled"), kJson);
      return;
    }
    res.set_content(metrics_->statsJson(), kJson);
  });

  for (const char* path : getOnlyPaths) {
    // With a content reader httplib does not wait for a body that is never read (it would
    // for a PUT without Content-Length); one that was declared closes the connection.
    httplib::Server::HandlerWithContentReader refuse = [](const httplib::Request& req, httplib::Response& res,
                                                          const httplib::ContentReader&) {
      if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
        res.set_header("Connection", "close");
      }
      res.set_header("Allow", kGetOnly);
      res.status = kMethodNotAllowed;
      res.set_content(errorBody("method_not_allowed", req.method + " is not allowed here; use " + kGetOnly),
                      kJson);
    };
    server.Post(path, refuse);
    server.Put(path, refuse);
    server.Patch(path, refuse);
    server.Delete(path, refuse);
    server.Options(path, [](const httplib::Request&, httplib::Response& res) {
      res.status = kNoContent;
      res.set_header("Allow", kGetOnly);
    });
  }

  // Called once per answered request, errors included: counts rejections by their
  // contract code and logs the request at debug (method, path and status only: the
  // query, headers and body may carry keys or payloads).
  server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    if (res.status >= kFirstErrorStatus && metrics_ != nullptr) {
      metrics_->addRejected(errorCodeOf(res.body));
    }
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("api: {} {} from {} -> {}", req.method, req.path, req.remote_addr, res.status);
    }
  });
}

}  // namespace herald
