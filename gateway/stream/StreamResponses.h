// StreamResponses: the fixed HTTP bytes the stream listener writes: the head of
// an SSE response and complete JSON error responses. Pure: no I/O.
#pragma once

#include <string>
#include <string_view>

namespace herald {

// `HTTP/1.1 200 OK` with the SSE headers of the contract. The body runs until
// the connection closes (no Content-Length, no chunking: nothing to frame).
// `allowedOrigin` (one of --cors-origin, already checked) adds the CORS headers.
std::string sseResponseHead(std::string_view allowedOrigin = {});

// The CORS header lines for an allowed origin ("" for none).
std::string corsHeaders(std::string_view allowedOrigin);

// A complete response with the JSON error body; `extraHeaders` are full lines
// ending in CRLF (e.g. "Allow: GET\r\n").
std::string errorResponse(int status, std::string_view code, std::string_view message,
                          std::string_view extraHeaders = {});

}  // namespace herald
