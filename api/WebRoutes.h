// WebRoutes: the api listener's pages and their JSON, kept apart from the
// publishing routes of ApiServer.cpp (both add to the one RouteTable).
//
//   GET /                 the demo page (web/index.html): subscribe, publish, watch
//   GET /status           the status page (web/status.html), fed by /v1/stats
//   GET /assets/<file>    their scripts and style sheet (embedded at build time)
//   GET /v1/stats         live numbers as JSON (docs/api.md)
//   GET /v1/config        what the demo page needs to know (the stream port)
//
// The pages hold no data: they are served to anyone who reaches the api
// listener (internal by default). /v1/stats is guarded like publishing.
// ApiServer::installWebRoutes (api/WebRoutes.cpp) adds them.
#pragma once
