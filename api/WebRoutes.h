// WebRoutes: the api listener's pages and their JSON, kept apart from the
// publishing routes of ApiServer.cpp.
//
//   GET /                 the demo page (web/index.html): subscribe, publish, watch
//   GET /status           the status page (web/status.html), fed by /v1/stats
//   GET /assets/<file>    their scripts and style sheet (embedded at build time)
//   GET /v1/stats         live numbers as JSON (docs/api.md)
//   GET /v1/config        what the demo page needs to know (the stream port)
//
// The pages hold no data: they are served to anyone who reaches the api
// listener (internal by default). /v1/stats is guarded like publishing. The
// same file installs the request logger that counts rejected requests by code.
#pragma once

#include <string_view>

namespace herald {

// The `code` of a contract error body, or "" when `body` is not one.
std::string_view errorCodeOf(std::string_view body);

}  // namespace herald
