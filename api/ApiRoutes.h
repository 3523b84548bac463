// ApiRoutes: every route the api listener serves, as (method, OpenAPI path).
//
// api/openapi.yaml documents exactly these; tests/integration/api_OpenApi_test.cpp
// checks the spec against this table and probes each route on a real server, so
// a route added to the server without its documentation (or the reverse) fails
// the build's tests. HEAD and OPTIONS (CORS preflight) are implied for each path.
#pragma once

#include <array>
#include <string_view>

namespace herald {

struct ApiRoute {
  std::string_view method;  // lower case, as OpenAPI spells it
  std::string_view path;    // OpenAPI template, e.g. /v1/channels/{channel}/notifications
};

inline constexpr std::array<ApiRoute, 14> kApiRoutes = {{
    {"post", "/v1/notifications"},
    {"post", "/v1/notifications/batch"},
    {"get", "/v1/channels/{channel}/notifications"},
    {"get", "/healthz"},
    {"get", "/readyz"},
    {"get", "/metrics"},
    {"get", "/v1/stats"},
    {"get", "/v1/config"},
    {"get", "/"},
    {"get", "/status"},
    {"get", "/assets/demo.js"},
    {"get", "/assets/status.js"},
    {"get", "/assets/herald.css"},
    {"get", "/favicon.ico"},
}};

}  // namespace herald
