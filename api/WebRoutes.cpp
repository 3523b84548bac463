#include "api/WebRoutes.h"

#include <nlohmann/json.hpp>

#include "api/ApiServer.h"
#include "gateway/core/HttpStatus.h"
#include "herald/WebFiles.h"

namespace herald {

using namespace http_status;
namespace http = boost::beast::http;

namespace {

constexpr const char* kHtml = "text/html; charset=utf-8";
constexpr const char* kJavaScript = "text/javascript; charset=utf-8";
constexpr const char* kCss = "text/css; charset=utf-8";

struct Page {
  const char* path;
  std::string_view content;
  const char* type;
};

HttpAnswer pageAnswer(const Page& page) {
  HttpAnswer answer;
  answer.contentType = page.type;
  answer.body = std::string(page.content);
  // The pages change with the binary; revalidating each load keeps a restarted node's page fresh.
  answer.header("Cache-Control", "no-cache");
  answer.header("X-Content-Type-Options", "nosniff");
  return answer;
}

}  // namespace

void ApiServer::installWebRoutes() {
  routes_.add(http::verb::get, "/v1/stats",
              Route{[this](const HttpRequest& req) {
                      if (auto refusal = rejectedPublisher(req)) {
                        return std::move(*refusal);
                      }
                      if (metrics_ == nullptr) {
                        return errorAnswer(ErrorCode::notFound, "metrics are not enabled");
                      }
                      return jsonAnswer(metrics_->statsJson());
                    },
                    false, false});
  routes_.add(http::verb::get, "/v1/config",
              Route{[this](const HttpRequest&) {
                      nlohmann::json config = {{"streamPort", streamPort_}, {"version", HERALD_VERSION}};
                      return jsonAnswer(config.dump());
                    },
                    false, false});
  const std::array<Page, 5> pages = {{
      {"/", embedded::kIndexHtml, kHtml},
      {"/status", embedded::kStatusHtml, kHtml},
      {"/assets/demo.js", embedded::kDemoJs, kJavaScript},
      {"/assets/status.js", embedded::kStatusJs, kJavaScript},
      {"/assets/herald.css", embedded::kHeraldCss, kCss},
  }};
  for (const Page& page : pages) {
    routes_.add(http::verb::get, page.path,
                Route{[page](const HttpRequest&) { return pageAnswer(page); }, false, false});
  }
  routes_.add(http::verb::get, "/favicon.ico",
              Route{[](const HttpRequest&) {
                      HttpAnswer answer;
                      answer.status = kNoContent;
                      return answer;
                    },
                    false, false});
}

}  // namespace herald
