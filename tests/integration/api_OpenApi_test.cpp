// api/openapi.yaml and the server agree: every route the server serves
// (api/ApiRoutes.h) is in the spec and every route of the spec is served, and a
// real herald answers each of them (not 404) and refuses other methods (405).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "api/ApiRoutes.h"
#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

constexpr int kNotFound = 404;
constexpr int kMethodNotAllowed = 405;
const std::set<std::string> kMethods = {"get", "post", "put", "patch", "delete"};

using Route = std::pair<std::string, std::string>;  // method, path template

// The (method, path) pairs under `paths:`: paths are the keys indented by two
// spaces, methods the keys indented by four below them (the layout of the file).
std::set<Route> specRoutes() {
  std::ifstream file(std::string(HERALD_SOURCE_DIR) + "/api/openapi.yaml");
  EXPECT_TRUE(file) << "cannot read api/openapi.yaml";
  std::set<Route> out;
  std::string line, path;
  bool inPaths = false;
  while (std::getline(file, line)) {
    if (!line.empty() && line[0] != ' ') {
      inPaths = line == "paths:";
      continue;
    }
    if (!inPaths) {
      continue;
    }
    if (line.rfind("  /", 0) == 0 && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
    } else if (line.rfind("    ", 0) == 0 && line[4] != ' ') {
      std::string key = line.substr(4, line.find(':') - 4);
      if (kMethods.count(key)) {
        out.emplace(key, path);
      }
    }
  }
  return out;
}

std::set<Route> serverRoutes() {
  std::set<Route> out;
  for (const auto& route : kApiRoutes) {
    out.emplace(route.method, route.path);
  }
  return out;
}

std::string concrete(std::string path) {
  auto open = path.find('{');
  if (open != std::string::npos) {
    path.replace(open, path.find('}') - open + 1, "user:1");
  }
  return path;
}

std::string upper(std::string text) {
  for (auto& c : text) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return text;
}

TEST(OpenApi, SpecListsExactlyTheServedRoutes) {
  auto spec = specRoutes();
  auto served = serverRoutes();
  EXPECT_FALSE(spec.empty());
  for (const auto& [method, path] : served) {
    EXPECT_TRUE(spec.count({method, path}))
        << "served but not in api/openapi.yaml: " << method << " " << path;
  }
  for (const auto& [method, path] : spec) {
    EXPECT_TRUE(served.count({method, path}))
        << "in api/openapi.yaml but not served: " << method << " " << path;
  }
}

TEST(OpenApi, EverySpecRouteIsAnsweredAndOtherMethodsAreRefused) {
  HeraldProcess herald;
  std::set<std::string> paths;
  for (const auto& [method, path] : specRoutes()) {
    paths.insert(path);
    std::string body = method == "post" ? R"({"channel":"user:1","data":1})" : "";
    if (path == "/v1/notifications/batch") {
      body = R"({"notifications":[{"channel":"user:1","data":1}]})";
    }
    auto response = httpRequest(herald.apiPort(), upper(method), concrete(path), body,
                                {{"Content-Type", "application/json"}});
    EXPECT_LT(response.status, 300) << method << " " << path << ": " << response.body;
  }
  auto spec = specRoutes();
  for (const auto& path : paths) {
    for (const auto& method : kMethods) {
      if (spec.count({method, path})) {
        continue;
      }
      auto response = httpRequest(herald.apiPort(), upper(method), concrete(path), "",
                                  {{"Content-Type", "application/json"}});
      EXPECT_EQ(response.status, kMethodNotAllowed) << method << " " << path << " is not in the spec";
    }
  }
  EXPECT_EQ(httpRequest(herald.apiPort(), "GET", "/v1/not-a-route").status, kNotFound);
}

}  // namespace
}  // namespace herald::test
